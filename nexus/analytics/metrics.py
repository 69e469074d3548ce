"""Return and risk metrics: the library API a notebook imports.

Pure, vectorised functions; no I/O, no module state. The risk metrics carry the names,
arguments and conventions of empyrical (empyrical-reloaded 0.7) so results agree with it;
the deviations are listed below. The return measures (:func:`daily_returns`, :func:`twr`,
:func:`modified_dietz`, :func:`simple_return`, :func:`xirr`, :func:`portfolio_xirr`) are
not in empyrical and state their own conventions.

Inputs and outputs
------------------
Every metric accepts a numpy 1-D array, a pandas Series, a polars Series, or a frame with
one column per asset: numpy 2-D (rows = periods), pandas DataFrame, or polars DataFrame (a
``date`` column, if present, is the row index and not an asset). A 1-D input gives a
Python ``float``; a frame gives one value per column: ``pd.Series`` indexed by column for
pandas, a 1-D ``ndarray`` for numpy, a one-row ``pl.DataFrame`` with the asset columns for
polars. Series-valued functions (``cum_returns``, ``drawdown_series``, ``roll_*``,
``daily_returns``, ``simple_returns``) answer in the input's kind, index / ``date`` kept.
See :mod:`nexus.analytics._series` for the coercion rules.

Conventions (as empyrical)
--------------------------
* Returns are simple (not log) per-period fractions: ``0.01`` = +1 %.
* ``periods`` is the number of periods per year used to annualise (252 trading days).
  ``risk_free`` and ``required_return`` are **per period**, except in
  :func:`omega_ratio`, whose ``required_return`` is annual (as in empyrical).
* NaN is a missing observation. Means and standard deviations skip NaNs (volatility uses
  ``ddof=1``); compounding treats a NaN return as 0 (so do drawdowns); the "at least two
  observations" rules count rows, NaN rows included, as empyrical does.
* Empty input gives NaN. Metrics defined only from two rows (volatility, Sharpe, Sortino,
  excess Sharpe, alpha, beta, omega, parametric VaR/CVaR) give NaN for a single row.
* Ratios with a zero denominator follow numpy: ``x / 0`` is ``±inf`` and ``0 / 0`` NaN;
  a standard deviation of identical values counts as exactly zero (empyrical's rule).
* Rolling functions return one value per *complete* window, aligned to the window's last
  row (``len - window + 1`` values; a window longer than the data uses all of it). They
  use O(n) running sums; near-constant windows are recomputed two-pass, so results match
  empyrical's per-window computation to ~1e-9 relative (constant windows exactly).
* Calendar functions (:func:`aggregate_returns`, :func:`monthly_returns_table`) and the
  dated return measures take dates from a pandas ``DatetimeIndex`` or a polars ``date``
  column, or from ``dates=`` for input without either.

Deviations from empyrical
-------------------------
* :func:`value_at_risk` skips NaNs, like empyrical's ``conditional_value_at_risk`` and
  ``tail_ratio`` do (empyrical's ``value_at_risk`` returns NaN when any value is NaN); the
  percentile is numpy's linear one on the remaining values.
* Annualisation is one number, ``periods`` (empyrical: ``period=`` name or
  ``annualization=``); :func:`omega_ratio` keeps empyrical's ``annualization``.
* :func:`alpha_beta` returns a tuple ``(alpha, beta)`` (empyrical: a 2-element array) and
  :func:`roll_alpha_beta` a tuple of two series (empyrical: one two-column frame).
* Frames work everywhere. empyrical's ``calmar_ratio``, ``omega_ratio``, ``alpha_beta``,
  ``excess_sharpe``, the VaR family and the ``roll_*`` functions need one column at a time.
* ``drawdown_series`` of an empty input is empty (empyrical returns a NaN scalar).
* Row alignment of a second operand (factor returns, flows) is a left join on the first
  operand's labels; empyrical's outer join adds rows that would be NaN anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import bottleneck as bn
import numpy as np
import pandas as pd
import polars as pl
import pyxirr
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import ndtri

from nexus.analytics._series import (
    DATE_COLUMN,
    Panel,
    align,
    as_panel,
    polars_frame,
    to_datetime64,
)

__all__ = [
    "DrawdownDetails",
    "aggregate_returns",
    "alpha",
    "alpha_beta",
    "annual_return",
    "annual_volatility",
    "beta",
    "calmar_ratio",
    "conditional_value_at_risk",
    "correlation_matrix",
    "cum_returns",
    "cum_returns_final",
    "daily_returns",
    "downside_risk",
    "drawdown_details",
    "drawdown_series",
    "excess_sharpe",
    "max_drawdown",
    "modified_dietz",
    "monthly_returns_table",
    "omega_ratio",
    "parametric_cvar",
    "parametric_var",
    "portfolio_xirr",
    "roll_alpha_beta",
    "roll_annual_volatility",
    "roll_beta",
    "roll_max_drawdown",
    "roll_sharpe_ratio",
    "sharpe_ratio",
    "simple_return",
    "simple_returns",
    "sortino_ratio",
    "tail_ratio",
    "twr",
    "value_at_risk",
    "xirr",
]

#: Trading days per year, the default annualisation.
APPROX_BDAYS_PER_YEAR = 252

Frequency = Literal["weekly", "monthly", "quarterly", "yearly"]

_QUIET = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}
# A rolling standard deviation at or below this fraction of its row's largest |value| is
# recomputed two-pass for its window: running sums cannot tell "all equal" (zero
# dispersion) from rounding residue, and lose relative precision on near-constant windows.
_ROLLING_EXACT_BELOW = 1e-2
# Rows whose two-pass std is at most this fraction of |mean| are checked for being constant.
_CONSTANT_STD = 1e-10
_DRAWDOWN_BLOCK = 128  # periods per block in the bounded max-drawdown scan
_WINDOW_BATCH = 1 << 22  # values gathered per batch when recomputing windows exactly
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- kernels
# All kernels take asset-major arrays: shape (assets, periods), time along the last axis.


def _nan(k: int) -> np.ndarray:
    return np.full(k, np.nan)


def _growth(a: np.ndarray) -> np.ndarray:
    """``1 + a`` with NaN returns counted as 0 (a new, writable array)."""
    g = a + 1.0
    bn.replace(g, np.nan, 1.0)
    return g


def _minus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a - b`` without a copy when ``b`` is the scalar 0."""
    if b.shape == (1, 1) and b[0, 0] == 0:
        return a
    return a - b


def _zero_dispersion(x: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``std`` with 0 where all present values of a row are equal (empyrical's rule)."""
    constant = (bn.nanmax(x, axis=-1) == bn.nanmin(x, axis=-1)) & np.isfinite(std)
    return np.where(constant, 0.0, std)


def _mean_std(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row mean and standard deviation (ddof=1) of the non-NaN values.

    One pass of sums (``Σx``, ``Σx²``) for rows without NaN whose mean is not large next to
    their spread (there the one-pass variance keeps ~1e-12 relative accuracy); two-pass
    bottleneck ``nanmean``/``nanstd`` (as empyrical) for the other rows.
    """
    k, n = a.shape
    total = a.sum(axis=1)
    mean = total / n if n else _nan(k)
    with np.errstate(**_QUIET):
        var = (np.einsum("ij,ij->i", a, a) - total * mean) / (n - 1)
    redo = ~(var * 100.0 >= mean * mean) | (n < 2)  # NaN rows give NaN sums
    std = np.sqrt(np.fmax(var, 0.0))
    if redo.any():
        rows = a[redo]
        mean[redo] = bn.nanmean(rows, axis=1)
        std[redo] = bn.nanstd(rows, axis=1, ddof=1)
    return mean, std


def _mean(a: np.ndarray) -> np.ndarray:
    """Row mean of the non-NaN values (bottleneck's on rows with NaNs)."""
    mean = a.mean(axis=1) if a.shape[1] else _nan(a.shape[0])
    redo = np.isnan(mean)
    if redo.any():
        mean[redo] = bn.nanmean(a[redo], axis=1)
    return mean


def _mean_over_std(x: np.ndarray) -> np.ndarray:
    """Row ``nanmean / nanstd(ddof=1)`` with the zero-dispersion rule (Sharpe-style)."""
    mean, std = _mean_std(x)
    # Only rows whose std is rounding-sized next to the mean can be constant (two-pass std
    # of n equal values is below n * eps * |value|); check just those exactly.
    suspect = std <= _CONSTANT_STD * np.abs(mean)
    if suspect.any():
        std[suspect] = _zero_dispersion(x[suspect], std[suspect])
    return mean / std


def _wealth(a: np.ndarray, size: int | None = None) -> np.ndarray:
    """Compounded wealth ``(assets, periods + 1)`` from 1.0 (column 0 is the start).

    With ``size`` the rows are padded to that length by repeating the final wealth.
    """
    k, n = a.shape
    w = np.empty((k, max(n + 1, size or 0)))
    w[:, 0] = 1.0
    np.add(a, 1.0, out=w[:, 1 : n + 1])
    bn.replace(w, np.nan, 1.0)
    np.multiply.accumulate(w[:, : n + 1], axis=1, out=w[:, : n + 1])
    w[:, n + 1 :] = w[:, n : n + 1]
    return w


def _drawdown(a: np.ndarray) -> np.ndarray:
    """Underwater series ``(wealth - running peak) / running peak`` (≤ 0), per period."""
    w = _wealth(a)
    peak = np.fmax.accumulate(w, axis=1)
    np.subtract(w, peak, out=w)
    np.divide(w, peak, out=w)
    return w[:, 1:]


def _max_drawdown_and_ending(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max drawdown ``min(wealth / running peak) - 1`` and final wealth, per row.

    The running peak is only scanned inside blocks that can hold the minimum: with each
    block's min and max wealth and the peak before it, ``block min / highest possible
    peak`` bounds the block's worst ratio from below and ``block min / peak before it``
    bounds the row's worst ratio from above; blocks whose lower bound exceeds the row's
    best upper bound are skipped. Rows with non-positive or non-finite wealth take the
    full scan. The result is the same float the full scan gives.
    """
    k, n = a.shape
    if n == 0:
        return _nan(k), _nan(k)
    size = -(-(n + 1) // _DRAWDOWN_BLOCK) * _DRAWDOWN_BLOCK
    w = _wealth(a, size)
    ending = w[:, n].copy()
    blocks = w.reshape(k, -1, _DRAWDOWN_BLOCK)
    top, bottom = blocks.max(axis=2), blocks.min(axis=2)
    before = np.empty_like(top)  # the peak before each block (-inf before the first)
    before[:, 0] = -np.inf
    np.maximum.accumulate(top[:, :-1], axis=1, out=before[:, 1:])
    lower = bottom / np.fmax(before, top)
    upper = bottom / np.where(np.isinf(before), blocks[:, :, 0], before)
    candidate = lower <= upper.min(axis=1)[:, None]
    full = ~((bottom.min(axis=1) > 0) & (top.max(axis=1) < np.inf))
    candidate[full] = False
    rows, cols = np.nonzero(candidate)
    segment = blocks[rows, cols]
    peak = np.fmax(np.fmax.accumulate(segment, axis=1), before[rows, cols][:, None])
    worst = (segment / peak).min(axis=1)
    out = np.full(k, np.nan)
    if rows.size:
        firsts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        out[rows[firsts]] = np.minimum.reduceat(worst, firsts)
    if full.any():  # as empyrical: NaN ratios (from ±inf wealth) are skipped
        scan = w[full, : n + 1]
        out[full] = bn.nanmin(scan / np.fmax.accumulate(scan, axis=1), axis=1)
    return out - 1.0, ending


def _cagr(ending: np.ndarray, n: int, periods: float) -> np.ndarray:
    """``ending ** (1 / years) - 1`` with ``years = n / periods`` (empyrical's expression)."""
    if n == 0:
        return _nan(ending.shape[0])
    return ending ** (1 / (n / periods)) - 1


def _downside_risk(a: np.ndarray, required: np.ndarray, periods: float) -> np.ndarray:
    """``sqrt(mean over non-NaN values of min(a - required, 0)²) * sqrt(periods)``."""
    if a.shape[1] == 0:
        return _nan(a.shape[0])
    adj = _minus(a, required)
    below = np.fmin(adj, 0.0)  # a NaN (missing) value gives 0 here and is not counted
    count = _counts(adj)
    return np.sqrt(np.einsum("ij,ij->i", below, below) / count) * np.sqrt(periods)


def _beta(a: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Pairwise-complete ``cov(a, f) / var(f)`` (population moments), empyrical's way."""
    k, n = a.shape
    if n < 2:
        return _nan(k)
    independent = np.where(np.isnan(a), np.nan, f)
    residual = independent - bn.nanmean(independent, axis=-1)[..., None]
    cov = bn.nanmean(residual * a, axis=-1)
    np.square(residual, out=residual)
    var = bn.nanmean(residual, axis=-1)
    var[var < 1.0e-30] = np.nan
    return cov / var


def _alpha(
    a: np.ndarray, f: np.ndarray, rf: np.ndarray, periods: float, beta: np.ndarray
) -> np.ndarray:
    if a.shape[1] < 2:
        return _nan(a.shape[0])
    series = _minus(a, rf) - beta[:, None] * _minus(np.broadcast_to(f, a.shape), rf)
    return (1.0 + bn.nanmean(series, axis=1)) ** periods - 1.0


def _alpha_beta(
    a: np.ndarray, f: np.ndarray, rf: np.ndarray, periods: float
) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta) per row. One factor series and a scalar risk-free rate take a
    matrix-vector route for the rows without NaN (the same sums, formed as dot products);
    other rows, and other shapes, the elementwise route."""
    k, n = a.shape
    if n < 2:
        return _nan(k), _nan(k)
    if f.shape != (1, n) or rf.shape != (1, 1) or k == 0:
        b = _beta(a, f)
        return _alpha(a, f, rf, periods, b), b
    factor = f[0]
    present = ~np.isnan(factor)
    count = int(present.sum())
    if count == 0:
        return _nan(k), _nan(k)
    mean_f = bn.nanmean(factor)
    residual = np.where(present, factor - mean_f, 0.0)
    var = float(residual @ residual) / count
    b = (a @ residual) / count / (var if var >= 1.0e-30 else np.nan)
    mean_a = a.mean(axis=1) if count == n else (a @ present.astype(np.float64)) / count
    r = float(rf[0, 0])
    alpha = (1.0 + (mean_a - r) - b * (mean_f - r)) ** periods - 1.0
    dirty = np.isnan(b) | np.isnan(alpha)  # rows with NaNs (or a degenerate factor)
    if dirty.any():
        b[dirty] = _beta(a[dirty], f)
        alpha[dirty] = _alpha(a[dirty], f, rf, periods, b[dirty])
    return alpha, b


def _counts(a: np.ndarray) -> np.ndarray:
    """Non-NaN values per row."""
    count = np.full(a.shape[0], a.shape[1], dtype=np.int64)
    dirty = np.flatnonzero(np.isnan(a.sum(axis=1)))  # a NaN anywhere makes the sum NaN
    if dirty.size:
        count[dirty] -= np.count_nonzero(np.isnan(a[dirty]), axis=1)
    return count


def _order_statistics(a: np.ndarray, head: int, tail: int = 0) -> np.ndarray:
    """Rows of ``a`` whose first ``head`` and last ``tail`` positions hold the sorted order
    statistics (NaNs sort last). Partition + sort of the ends, or a full sort if cheaper."""
    n = a.shape[1]
    head, tail = max(0, min(head, n)), max(0, min(tail, n))
    if head + tail > n // 4:
        return np.sort(a, axis=1)
    s = np.partition(a, head - 1, axis=1) if head else np.array(a)
    s[:, :head].sort(axis=1)
    if tail:
        rest = s[:, head:]
        rest.partition(rest.shape[1] - tail, axis=1)
        s[:, n - tail :].sort(axis=1)
    return s


def _quantile_positions(count: np.ndarray, q: float) -> tuple[np.ndarray, ...]:
    """numpy's linear ``percentile(x, q)`` as (lower index, upper index, weight) per row."""
    virtual = (count - 1) * np.true_divide(q, 100)
    lo = np.floor(virtual)
    gamma = virtual - lo
    top = np.maximum(count - 1, 0)
    lo_i = np.clip(lo.astype(np.int64), 0, top)
    return lo_i, np.clip(lo_i + 1, 0, top), gamma


def _quantile(s: np.ndarray, count: np.ndarray, positions: tuple[np.ndarray, ...]) -> np.ndarray:
    """Interpolate as numpy's ``_lerp`` does; NaN for rows without values."""
    if s.shape[1] == 0:
        return _nan(s.shape[0])
    lo_i, hi_i, gamma = positions
    rows = np.arange(s.shape[0])
    below, above = s[rows, lo_i], s[rows, hi_i]
    diff = above - below
    out = np.where(gamma >= 0.5, above - diff * (1 - gamma), below + diff * gamma)
    return np.where(count > 0, out, np.nan)


def _percentiles(a: np.ndarray, lower: float, upper: float | None = None) -> list[np.ndarray]:
    """Row percentiles ``lower`` (and ``upper``) of the non-NaN values, numpy-linear."""
    count = _counts(a)
    low = _quantile_positions(count, lower)
    head = int(low[1].max()) + 1 if count.size else 0
    high = _quantile_positions(count, upper) if upper is not None else None
    tail = a.shape[1] - int(high[0].min()) if high is not None and count.size else 0
    s = _order_statistics(a, head, tail)
    out = [_quantile(s, count, low)]
    if high is not None:
        out.append(_quantile(s, count, high))
    return out


def _window(window: int, n: int) -> int:
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    return min(int(window), n)


def _exact_windows(
    arrays: Sequence[np.ndarray],
    w: int,
    mask: np.ndarray,
    fn: Callable[..., np.ndarray],
) -> np.ndarray:
    """``fn(*windows)`` for the windows flagged in ``mask`` (assets, windows), batched.

    ``fn`` gets one ``(batch, w)`` array per input array and returns ``(batch, outputs)``.
    """
    rows, starts = np.nonzero(mask)
    views = [
        sliding_window_view(np.broadcast_to(x, mask.shape[:1] + x.shape[1:]), w, axis=1)
        for x in arrays
    ]
    parts = []
    step = max(1, _WINDOW_BATCH // w)
    for i in range(0, len(rows), step):  # batches of windows bound memory, not per window
        r, s = rows[i : i + step], starts[i : i + step]
        parts.append(fn(*(v[r, s] for v in views)))
    return np.concatenate(parts) if parts else np.empty((0, 1))


def _rolling_var(x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling nan-aware variance (ddof=1) of complete windows, and the windows to redo.

    bottleneck's running ``move_var`` (O(n) per row; a writable view, one fresh array).
    Windows whose variance is at most ``(_ROLLING_EXACT_BELOW * max |x|)²`` of their row -
    where running sums' rounding could matter, and where every constant window falls -
    are flagged for a two-pass recomputation (:func:`_exact_windows`).
    """
    var = bn.move_var(x, w, min_count=2, ddof=1, axis=1)[:, w - 1 :]
    scale = np.fmax(np.abs(bn.nanmax(x, axis=1)), np.abs(bn.nanmin(x, axis=1)))
    suspect = var <= ((_ROLLING_EXACT_BELOW * scale) ** 2)[:, None]
    return var, suspect


def _roll_max_drawdown(a: np.ndarray, w: int) -> np.ndarray:
    """Max drawdown of every complete window (each window starts from its own 1.0)."""
    k, n = a.shape
    g = _growth(a)
    out = np.empty((k, n - w + 1))
    # a loss of 100 % or more (or an infinite return): block ratios would divide by 0
    exact = ~((g > 0) & (g < np.inf)).all(axis=1)
    if (~exact).any():
        out[~exact] = _roll_max_drawdown_blocks(g[~exact], w)
    if exact.any():

        def direct(win: np.ndarray) -> np.ndarray:
            wealth = np.cumprod(win, axis=1)
            peak = np.fmax(np.fmax.accumulate(wealth, axis=1), 1.0)
            return np.fmin(bn.nanmin((wealth - peak) / peak, axis=1), 0.0)[:, None]

        mask = np.zeros((k, n - w + 1), dtype=bool)
        mask[exact] = True
        out[mask] = _exact_windows([g], w, mask, direct)[:, 0]
    return out


def _roll_max_drawdown_blocks(g: np.ndarray, w: int) -> np.ndarray:
    """O(n) rolling max drawdown for positive growth factors ``g`` (assets, periods).

    A window of ``w`` returns spans ``L = w + 1`` wealth points (its start value included).
    Points are cut into blocks of length ``L``, so a window is a suffix of one block plus
    a prefix of the next. Per block, prefix scans give (min ratio, min wealth) and suffix
    scans give (min ratio, max wealth), with wealth relative to the block's start; the
    window's worst ratio ``wealth_t / wealth_u`` (u ≤ t) is the worst of the suffix's, the
    prefix's and (prefix min × block growth) / suffix max.
    """
    k, n = g.shape
    length = w + 1
    points = n + 1
    nb = -(-points // length)
    h = np.ones((k, nb * length))
    h[:, 1:points] = g
    r = np.cumprod(h.reshape(k, nb, length), axis=2)  # wealth relative to the block start
    prefix_max = np.maximum.accumulate(r, axis=2)
    prefix_min = np.minimum.accumulate(r, axis=2)
    prefix_dd = np.minimum.accumulate(r / prefix_max, axis=2)
    rev = r[:, :, ::-1]
    suffix_max = np.maximum.accumulate(rev, axis=2)[:, :, ::-1]
    suffix_min = np.minimum.accumulate(rev, axis=2)[:, :, ::-1]
    suffix_dd = np.minimum.accumulate((suffix_min / r)[:, :, ::-1], axis=2)[:, :, ::-1]
    growth = r[:, :, -1]
    res = np.full((k, nb, length), np.nan)
    res[:, :, 0] = prefix_dd[:, :, -1]
    if nb > 1:
        cross = growth[:, :-1, None] * prefix_min[:, 1:, :-1] / suffix_max[:, :-1, 1:]
        res[:, :-1, 1:] = np.minimum(
            np.minimum(suffix_dd[:, :-1, 1:], prefix_dd[:, 1:, :-1]), cross
        )
    return res.reshape(k, nb * length)[:, : n - w + 1] - 1.0


def _roll_alpha_beta(
    a: np.ndarray, f: np.ndarray, rf: np.ndarray, w: int, periods: float, want_alpha: bool
) -> tuple[np.ndarray | None, np.ndarray]:
    """Rolling (alpha, beta) over complete windows with pairwise-complete moments, O(n)."""
    k, n = a.shape
    m = n - w + 1
    if w < 2:
        return (_nan(k * m).reshape(k, m) if want_alpha else None), _nan(k * m).reshape(k, m)
    fb = np.broadcast_to(f, a.shape)
    valid = ~(np.isnan(a) | np.isnan(fb))
    f_centre = bn.nanmean(f, axis=1)[:, None]
    a_centre = bn.nanmean(a, axis=1)[:, None]
    x = np.where(valid, fb - f_centre, np.nan)  # centring keeps the running sums small
    y = np.where(valid, a - a_centre, np.nan)

    def move(v: np.ndarray) -> np.ndarray:
        return bn.move_mean(v, w, min_count=1, axis=1)[:, w - 1 :]

    mx, my = move(x), move(y)
    var = move(x * x) - mx * mx
    beta = (move(x * y) - mx * my) / var
    beta[var < 1.0e-30] = np.nan
    scale = bn.nanmax(np.abs(x), axis=1)[:, None]
    suspect = var <= (_ROLLING_EXACT_BELOW * scale) ** 2
    if suspect.any():
        exact = _exact_windows([a, f], w, suspect, lambda ra, fa: _beta(ra, fa)[:, None])
        beta[suspect] = exact[:, 0]
    if not want_alpha:
        return None, beta
    mean_a = my + a_centre
    mean_f = mx + f_centre
    if rf.shape == (1, 1):
        mean_rf: np.ndarray | float = float(rf[0, 0])
    else:
        mean_rf = move(np.where(valid, np.broadcast_to(rf, a.shape), np.nan))
    mean_alpha = (mean_a - mean_rf) - beta * (mean_f - mean_rf)
    return (1.0 + mean_alpha) ** periods - 1.0, beta


def _empty_rows(p: Panel) -> Any:
    return p.series(np.empty((p.k, 0)), rows=slice(0, 0))


# --------------------------------------------------------------------------- cumulative


def simple_returns(prices: Any) -> Any:
    """Simple returns ``p_t / p_{t-1} - 1`` from prices; one row fewer (the first is dropped).

    The index / ``date`` of the remaining rows is kept. A missing price gives NaN returns
    on its row and the next.
    """
    p = as_panel(prices, "prices")
    with np.errstate(**_QUIET):
        x = p.data
        r = (x[:, 1:] - x[:, :-1]) / x[:, :-1]
    return p.series(r, rows=slice(1, None))


def cum_returns(returns: Any, starting_value: float = 0) -> Any:
    """Cumulative compounded returns ``prod(1 + r) - 1`` after each period.

    With ``starting_value`` non-zero, the wealth path ``starting_value * prod(1 + r)``
    instead. NaN returns count as 0. Same kind and length as the input.
    """
    p = as_panel(returns)
    g = _growth(p.data)
    np.multiply.accumulate(g, axis=1, out=g)
    if starting_value == 0:
        g -= 1.0
    else:
        g *= starting_value
    return p.series(g)


def cum_returns_final(returns: Any, starting_value: float = 0) -> Any:
    """Total compounded return ``prod(1 + r) - 1`` (or ``starting_value * prod(1 + r)``).

    NaN returns count as 0; empty input gives NaN.
    """
    p = as_panel(returns)
    if p.n == 0:
        return p.scalar(_nan(p.k))
    total = np.prod(_growth(p.data), axis=1)
    return p.scalar(total - 1.0 if starting_value == 0 else total * starting_value)


def annual_return(returns: Any, periods: float = APPROX_BDAYS_PER_YEAR) -> Any:
    """Compound annual growth rate: ``prod(1 + r) ** (periods / n) - 1``.

    ``n`` counts every row (NaN rows too, as empyrical); a total loss below -100 % gives NaN.
    """
    p = as_panel(returns)
    with np.errstate(**_QUIET):
        ending = np.prod(_growth(p.data), axis=1) if p.n else _nan(p.k)
        return p.scalar(_cagr(ending, p.n, periods))


def annual_volatility(returns: Any, periods: float = APPROX_BDAYS_PER_YEAR) -> Any:
    """Annualised volatility ``std(r, ddof=1) * sqrt(periods)``; NaN below two rows."""
    p = as_panel(returns)
    if p.n < 2:
        return p.scalar(_nan(p.k))
    return p.scalar(_mean_std(p.data)[1] * periods ** (1.0 / 2.0))


# --------------------------------------------------------------------------- risk-adjusted


def sharpe_ratio(returns: Any, risk_free: Any = 0.0, periods: float = APPROX_BDAYS_PER_YEAR) -> Any:
    """Annualised Sharpe ratio ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods)``.

    ``risk_free`` is per period (a number or a series aligned like the returns). NaN below
    two rows; ``±inf`` when all excess returns are equal and non-zero.
    """
    p = as_panel(returns)
    if p.n < 2:
        return p.scalar(_nan(p.k))
    adj = _minus(p.data, align(p, risk_free, "risk_free"))
    with np.errstate(**_QUIET):
        return p.scalar(_mean_over_std(adj) * np.sqrt(periods))


def downside_risk(
    returns: Any, required_return: Any = 0.0, periods: float = APPROX_BDAYS_PER_YEAR
) -> Any:
    """Annualised downside deviation ``sqrt(mean(min(r - required, 0) ** 2) * periods)``.

    The mean runs over all non-NaN periods (not just the losing ones); ``required_return``
    is per period.
    """
    p = as_panel(returns)
    return p.scalar(_downside_risk(p.data, align(p, required_return, "required_return"), periods))


def sortino_ratio(
    returns: Any, required_return: Any = 0.0, periods: float = APPROX_BDAYS_PER_YEAR
) -> Any:
    """Sortino ratio ``mean(r - required) * periods / downside_risk(r, required, periods)``.

    NaN below two rows; ``+inf`` when no period falls below ``required_return``.
    """
    p = as_panel(returns)
    if p.n < 2:
        return p.scalar(_nan(p.k))
    required = align(p, required_return, "required_return")
    with np.errstate(**_QUIET):
        mean = _mean(_minus(p.data, required)) * periods
        return p.scalar(mean / _downside_risk(p.data, required, periods))


def excess_sharpe(returns: Any, factor_returns: Any) -> Any:
    """Mean active return over tracking error: ``mean(r - f) / std(r - f, ddof=1)``.

    Not annualised (as empyrical). NaN below two rows.
    """
    p = as_panel(returns)
    if p.n < 2:
        return p.scalar(_nan(p.k))
    active = _minus(p.data, align(p, factor_returns, "factor_returns"))
    with np.errstate(**_QUIET):
        return p.scalar(_mean_over_std(active))


def omega_ratio(
    returns: Any,
    risk_free: float = 0.0,
    required_return: float = 0.0,
    annualization: float = APPROX_BDAYS_PER_YEAR,
) -> Any:
    """Omega ratio: gains over losses relative to a threshold.

    The threshold is ``risk_free`` (per period) plus ``required_return`` (**annual**,
    de-annualised as ``(1 + required_return) ** (1 / annualization) - 1``; taken as-is when
    ``annualization == 1``). Omega = sum of excesses above it / sum of shortfalls below it.
    NaN below two rows, when ``required_return <= -1``, or with no shortfall at all.
    """
    p = as_panel(returns)
    if p.n < 2:
        return p.scalar(_nan(p.k))
    if annualization == 1:
        threshold = required_return
    elif required_return <= -1:
        return p.scalar(_nan(p.k))
    else:
        threshold = (1 + required_return) ** (1.0 / annualization) - 1
    shift = risk_free + threshold
    excess = p.data - shift if shift != 0 else p.data
    gains = np.fmax(excess, 0.0).sum(axis=1)  # fmax/fmin: NaN counts as 0
    losses = gains - excess.sum(axis=1)
    # the difference is exact enough unless losses are tiny next to gains; NaN rows too
    redo = ~(losses > 1e-6 * gains)
    if redo.any():
        losses[redo] = -np.fmin(excess[redo], 0.0).sum(axis=1)
    with np.errstate(**_QUIET):
        return p.scalar(np.where(losses > 0, gains / losses, np.nan))


# --------------------------------------------------------------------------- drawdowns


def drawdown_series(returns: Any) -> Any:
    """Underwater series: wealth over its running peak minus 1 (≤ 0), per period.

    Wealth starts at 1 before the first period, so a first-period loss is already a
    drawdown. NaN returns count as 0. Same kind and length as the input.
    """
    p = as_panel(returns)
    with np.errstate(**_QUIET):
        return p.series(_drawdown(p.data))


def max_drawdown(returns: Any) -> Any:
    """Maximum drawdown: the most negative value of :func:`drawdown_series` (in [-1, 0]
    for returns above -100 %). Empty input gives NaN."""
    p = as_panel(returns)
    with np.errstate(**_QUIET):
        return p.scalar(_max_drawdown_and_ending(p.data)[0])


def calmar_ratio(returns: Any, periods: float = APPROX_BDAYS_PER_YEAR) -> Any:
    """Calmar ratio ``annual_return / |max_drawdown|``; NaN without a drawdown or if infinite."""
    p = as_panel(returns)
    with np.errstate(**_QUIET):
        mdd, ending = _max_drawdown_and_ending(p.data)
        ratio = np.where(mdd < 0, _cagr(ending, p.n, periods) / np.abs(mdd), np.nan)
    return p.scalar(np.where(np.isinf(ratio), np.nan, ratio))


@dataclass(frozen=True)
class DrawdownDetails:
    """The maximum drawdown of one return series and when it happened.

    Positions are 0-based rows of the returns; a label is the row's index label or date
    (the position itself for numpy / polars Series input). Durations are in periods (rows).

    Attributes:
        depth: the maximum drawdown (≤ 0); 0.0 with no drawdown, NaN for empty input.
        peak: label of the high-water mark's row; None when the high-water mark is the
            starting value before the first row (``peak_position == -1``).
        peak_position: row of the high-water mark (-1 = the starting value).
        trough: label of the row with the lowest wealth relative to that peak.
        trough_position: its row.
        recovery: label of the first row after the trough back at or above the peak;
            None if not recovered by the end of the data.
        recovery_position: its row, or None.
        peak_to_trough: ``trough_position - peak_position``.
        peak_to_recovery: ``recovery_position - peak_position``, or None if not recovered.
    """

    depth: float
    peak: Any = None
    peak_position: int | None = None
    trough: Any = None
    trough_position: int | None = None
    recovery: Any = None
    recovery_position: int | None = None
    peak_to_trough: int | None = None
    peak_to_recovery: int | None = None


def drawdown_details(returns: Any) -> DrawdownDetails:
    """Depth, peak, trough and recovery of the maximum drawdown of one series (1-D only).

    Same wealth path as :func:`drawdown_series` (NaN returns count as 0). The trough is the
    first row reaching the maximum drawdown; the peak is the last row at the high-water mark
    before it. With no drawdown (or empty input) only ``depth`` is set.

    Raises:
        ValueError: a frame with more than one asset column.
    """
    p = as_panel(returns)
    if p.k != 1:
        raise ValueError(f"drawdown_details needs one series, got {p.k} columns")
    if p.n == 0:
        return DrawdownDetails(depth=math.nan)
    with np.errstate(**_QUIET):
        dd = _drawdown(p.data)[0]
    trough = int(np.argmin(dd))
    depth = float(dd[trough])
    if not depth < 0:
        return DrawdownDetails(depth=0.0 if depth == 0 else depth)
    at_peak = np.flatnonzero(dd[:trough] == 0)
    peak = int(at_peak[-1]) if at_peak.size else -1
    back = np.flatnonzero(dd[trough + 1 :] == 0)
    recovery = trough + 1 + int(back[0]) if back.size else None
    return DrawdownDetails(
        depth=depth,
        peak=p.label_at(peak) if peak >= 0 else None,
        peak_position=peak,
        trough=p.label_at(trough),
        trough_position=trough,
        recovery=p.label_at(recovery) if recovery is not None else None,
        recovery_position=recovery,
        peak_to_trough=trough - peak,
        peak_to_recovery=recovery - peak if recovery is not None else None,
    )


# --------------------------------------------------------------------------- factor


def beta(returns: Any, factor_returns: Any, risk_free: Any = 0.0) -> Any:
    """Beta ``cov(r, f) / var(f)`` over rows where both are present (population moments).

    ``risk_free`` is accepted for empyrical compatibility and does not change beta. NaN
    below two rows or when the factor's variance is below 1e-30.
    """
    return alpha_beta(returns, factor_returns, risk_free)[1]


def alpha(
    returns: Any,
    factor_returns: Any,
    risk_free: Any = 0.0,
    periods: float = APPROX_BDAYS_PER_YEAR,
) -> Any:
    """Annualised alpha, see :func:`alpha_beta`."""
    return alpha_beta(returns, factor_returns, risk_free, periods)[0]


def alpha_beta(
    returns: Any,
    factor_returns: Any,
    risk_free: Any = 0.0,
    periods: float = APPROX_BDAYS_PER_YEAR,
) -> tuple[Any, Any]:
    """(alpha, beta) of returns against a factor (benchmark), as empyrical computes them.

    beta as :func:`beta`; alpha = ``(1 + mean(r - rf - beta * (f - rf))) ** periods - 1``
    (the per-period mean of the regression residual, compounded over a year). ``risk_free``
    is per period; ``factor_returns`` is one series (applied to every column) or a frame
    with one column per asset; labelled inputs are matched by row label.
    """
    p = as_panel(returns)
    f = align(p, factor_returns, "factor_returns")
    rf = align(p, risk_free, "risk_free")
    with np.errstate(**_QUIET):
        a, b = _alpha_beta(p.data, f, rf, periods)
    return p.scalar(a), p.scalar(b)


# --------------------------------------------------------------------------- tail risk


def value_at_risk(returns: Any, cutoff: float = 0.05) -> Any:
    """Historical VaR: the ``cutoff`` percentile of returns (numpy's linear percentile).

    Sign as empyrical: a return, so a loss is **negative** (``-0.02`` = a 2 % loss at the
    5 % level). NaNs are skipped (empyrical returns NaN instead); empty gives NaN.
    Computed by partial selection (partition) of each column's lower tail.
    """
    p = as_panel(returns)
    return p.scalar(_percentiles(p.data, 100 * cutoff)[0])


def conditional_value_at_risk(returns: Any, cutoff: float = 0.05) -> Any:
    """Historical CVaR (expected shortfall): the mean of the worst returns.

    The worst ``int((m - 1) * cutoff) + 1`` of the ``m`` non-NaN returns are averaged (as
    empyrical). Negative for losses; NaN when there is no value.
    """
    p = as_panel(returns)
    if p.n == 0 or p.k == 0:
        return p.scalar(_nan(p.k))
    count = _counts(p.data)
    cut = np.maximum(((count - 1) * cutoff).astype(np.int64), 0)
    head = int(cut.max()) + 1
    worst = _order_statistics(p.data, head)[:, :head]
    sums = np.cumsum(worst, axis=1)[np.arange(p.k), cut]
    return p.scalar(np.where(count > 0, sums / (cut + 1), np.nan))


def _normal_moments(p: Panel) -> tuple[np.ndarray, np.ndarray]:
    if p.n == 0:
        return _nan(p.k), _nan(p.k)
    return _mean_std(p.data)


def parametric_var(returns: Any, cutoff: float = 0.05) -> Any:
    """Gaussian VaR: ``mean + std * z`` with ``z = Φ⁻¹(cutoff)`` (sample moments, ddof=1).

    Same sign as :func:`value_at_risk`: a return, negative for a loss. NaN with fewer than
    two non-NaN values.
    """
    p = as_panel(returns)
    mean, std = _normal_moments(p)
    return p.scalar(mean + std * ndtri(cutoff))


def parametric_cvar(returns: Any, cutoff: float = 0.05) -> Any:
    """Gaussian CVaR: ``mean - std * φ(z) / cutoff``, the mean of the normal's lower tail.

    ``z = Φ⁻¹(cutoff)``, ``φ`` the standard normal density, sample moments with ddof=1.
    Negative for a loss, like :func:`value_at_risk`.
    """
    p = as_panel(returns)
    mean, std = _normal_moments(p)
    z = ndtri(cutoff)
    density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return p.scalar(mean - std * density / cutoff)


def tail_ratio(returns: Any) -> Any:
    """``|95th percentile| / |5th percentile|`` of returns (NaNs skipped); NaN if empty."""
    p = as_panel(returns)
    left, right = _percentiles(p.data, 5, 95)
    with np.errstate(**_QUIET):
        return p.scalar(np.abs(right) / np.abs(left))


# --------------------------------------------------------------------------- rolling


def roll_annual_volatility(
    returns: Any, window: int, periods: float = APPROX_BDAYS_PER_YEAR
) -> Any:
    """:func:`annual_volatility` of every complete ``window`` (aligned to its last row), O(n)."""
    p = as_panel(returns)
    if p.n == 0:
        return _empty_rows(p)
    w = _window(window, p.n)
    if w < 2:
        return p.series(np.full((p.k, p.n - w + 1), np.nan), rows=slice(w - 1, None))
    with np.errstate(**_QUIET):
        out, suspect = _rolling_var(p.data, w)
        np.multiply(out, periods, out=out)
        np.sqrt(out, out=out)
        if suspect.any():
            out[suspect] = _exact_windows(
                [p.data], w, suspect, lambda win: bn.nanstd(win, axis=1, ddof=1)[:, None]
            )[:, 0] * np.sqrt(periods)
    return p.series(out, rows=slice(w - 1, None))


def roll_sharpe_ratio(
    returns: Any,
    window: int,
    risk_free: Any = 0.0,
    periods: float = APPROX_BDAYS_PER_YEAR,
) -> Any:
    """:func:`sharpe_ratio` of every complete ``window`` (aligned to its last row), O(n)."""
    p = as_panel(returns)
    if p.n == 0:
        return _empty_rows(p)
    w = _window(window, p.n)
    if w < 2:
        return p.series(np.full((p.k, p.n - w + 1), np.nan), rows=slice(w - 1, None))
    with np.errstate(**_QUIET):
        adj = _minus(p.data, align(p, risk_free, "risk_free"))
        mean = bn.move_mean(adj, w, min_count=1, axis=1)[:, w - 1 :]
        out, suspect = _rolling_var(adj, w)
        np.sqrt(out, out=out)
        np.divide(mean, out, out=out)
        out *= np.sqrt(periods)
        if suspect.any():
            out[suspect] = _exact_windows(
                [adj], w, suspect, lambda win: _mean_over_std(win)[:, None]
            )[:, 0] * np.sqrt(periods)
    return p.series(out, rows=slice(w - 1, None))


def roll_max_drawdown(returns: Any, window: int) -> Any:
    """:func:`max_drawdown` of every complete ``window``, each starting from its own 1.0.

    O(n) per column (block prefix/suffix scans); columns with a return ≤ -100 % use a
    direct O(n · window) computation.
    """
    p = as_panel(returns)
    if p.n == 0:
        return _empty_rows(p)
    w = _window(window, p.n)
    with np.errstate(**_QUIET):
        out = _roll_max_drawdown(p.data, w)
    return p.series(out, rows=slice(w - 1, None))


def roll_beta(returns: Any, factor_returns: Any, window: int) -> Any:
    """:func:`beta` of every complete ``window`` (aligned to its last row), O(n)."""
    p = as_panel(returns)
    if p.n == 0:
        return _empty_rows(p)
    w = _window(window, p.n)
    f = align(p, factor_returns, "factor_returns")
    with np.errstate(**_QUIET):
        _, b = _roll_alpha_beta(p.data, f, np.zeros((1, 1)), w, 1.0, want_alpha=False)
    return p.series(b, rows=slice(w - 1, None))


def roll_alpha_beta(
    returns: Any,
    factor_returns: Any,
    window: int,
    risk_free: Any = 0.0,
    periods: float = APPROX_BDAYS_PER_YEAR,
) -> tuple[Any, Any]:
    """(rolling alpha, rolling beta) of every complete ``window``, each in the input's kind.

    empyrical returns one two-column frame for a Series; here each is a series of its own.
    """
    p = as_panel(returns)
    if p.n == 0:
        return _empty_rows(p), _empty_rows(p)
    w = _window(window, p.n)
    f = align(p, factor_returns, "factor_returns")
    rf = align(p, risk_free, "risk_free")
    with np.errstate(**_QUIET):
        a, b = _roll_alpha_beta(p.data, f, rf, w, periods, want_alpha=True)
    assert a is not None
    rows = slice(w - 1, None)
    return p.series(a, rows=rows), p.series(b, rows=rows)


# --------------------------------------------------------------------------- cross-section


def correlation_matrix(returns: Any) -> Any:
    """Pearson correlation of every pair of columns over the rows where both are present.

    As ``pandas.DataFrame.corr()`` (``min_periods=1``): NaN for a pair with fewer than two
    common rows or with no variation over them; the diagonal is 1. Returns a square frame
    of the input kind: ``pd.DataFrame`` labelled by column, 2-D ``ndarray``, or a
    ``pl.DataFrame`` whose rows follow the order of its columns (no label column).
    """
    p = as_panel(returns)
    x = p.data
    k, n = x.shape
    with np.errstate(**_QUIET):
        # Any centre gives the same correlations; one near the mean avoids cancellation.
        centre = np.nan_to_num(bn.nanmean(x[:, :: max(1, n // 256)], axis=1))
        centred = x - centre[:, None]
        total = centred.sum(axis=1)  # NaN marks the columns with missing values
        dirty = np.flatnonzero(np.isnan(total))
        if dirty.size:
            bn.replace(centred, np.nan, 0.0)
            total[dirty] = centred[dirty].sum(axis=1)
        cross = centred @ centred.T  # Σ x_i x_j over common rows (missing values are 0)
        squares = np.diagonal(cross).copy()
        # s[i, j] = Σ x_i and q[i, j] = Σ x_i² over the rows where x_j is present too
        s: np.ndarray = total[:, None]
        q: np.ndarray = squares[:, None]
        pairs: np.ndarray | float = float(n)
        if dirty.size:  # subtract the rows where a column with NaNs is missing
            rows = np.flatnonzero(np.isnan(x[dirty]).any(axis=0))
            holes = np.isnan(x[np.ix_(dirty, rows)]).astype(np.float64)  # (dirty, rows)
            part = centred[:, rows]
            s = np.repeat(s, k, axis=1)
            q = np.repeat(q, k, axis=1)
            s[:, dirty] -= part @ holes.T
            q[:, dirty] -= (part * part) @ holes.T
            missing = holes.sum(axis=1)
            pairs = np.full((k, k), float(n))
            pairs[dirty, :] -= missing[:, None]
            pairs[:, dirty] -= missing[None, :]
            pairs[np.ix_(dirty, dirty)] += holes @ holes.T
        cov = cross
        cov -= s * s.T / pairs
        var = q - s * s / pairs  # var[i, j]: of x_i over the rows shared with x_j
        # a column constant over the common rows leaves only rounding residue
        flat = var <= 1e-12 * squares[:, None]
        flat = flat | flat.T | (np.asarray(pairs) < 2)
        var = np.broadcast_to(var, (k, k))
        denominator = var * var.T
        np.sqrt(denominator, out=denominator)
        corr = np.divide(cov, denominator, out=cov)
        np.clip(corr, -1.0, 1.0, out=corr)
        corr[flat] = np.nan
        diagonal = np.isnan(np.diagonal(corr))
        np.fill_diagonal(corr, np.where(diagonal, np.nan, 1.0))
    return p.matrix(corr)


# --------------------------------------------------------------------------- calendar


def _calendar_keys(days: np.ndarray, convert_to: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integer group code per row and the key columns, for a calendar frequency."""
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    if convert_to == "yearly":
        return year, [year]
    if convert_to == "monthly":
        month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        return year * 100 + month, [year, month]
    if convert_to == "quarterly":
        quarter = (days.astype("datetime64[M]").astype(np.int64) % 12) // 3 + 1
        return year * 10 + quarter, [year, quarter]
    if convert_to == "weekly":
        ordinal = days.astype(np.int64)  # days since 1970-01-01, a Thursday
        thursday = ordinal - (ordinal + 3) % 7 + 3  # the ISO week's Thursday
        iso_year = thursday.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
        jan1 = iso_year.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        week = (thursday - jan1) // 7 + 1
        return (iso_year + 1970) * 100 + week, [iso_year + 1970, week]
    raise ValueError(f"convert_to must be weekly, monthly, quarterly or yearly: {convert_to!r}")


_KEY_NAMES = {
    "yearly": ["year"],
    "monthly": ["year", "month"],
    "quarterly": ["year", "quarter"],
    "weekly": ["year", "week"],
}


def _need_dates(p: Panel, dates: Any, what: str) -> np.ndarray:
    days = p.dates64(dates)
    if days is None:
        raise ValueError(
            f"{what} needs dates: a pandas DatetimeIndex, a polars '{DATE_COLUMN}' column, "
            "or dates="
        )
    return days


def _aggregate(p: Panel, days: np.ndarray, convert_to: str) -> tuple[np.ndarray, list[Any]]:
    """Compounded returns per calendar group (assets, groups) and the group key columns."""
    code, keys = _calendar_keys(days, convert_to)
    order = np.argsort(code, kind="stable")
    code = code[order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if code.size else np.empty(0, int)
    growth = _growth(p.data)[:, order]
    values = np.multiply.reduceat(growth, starts, axis=1) - 1.0 if starts.size else growth[:, :0]
    return values, [key[order][starts] for key in keys]


def aggregate_returns(returns: Any, convert_to: Frequency = "monthly", *, dates: Any = None) -> Any:
    """Compound returns per calendar week (ISO), month, quarter or year.

    Dates come from the input's pandas ``DatetimeIndex`` or polars ``date`` column, or from
    ``dates=`` (required for numpy and polars Series input). NaN returns count as 0. Groups
    come out in calendar order. Output: pandas → a Series / DataFrame indexed by the keys
    (``year`` or ``(year, month|quarter|week)``, empyrical's grouping); polars → a frame of
    the key columns plus one column per asset; numpy → values only (one row per group).
    """
    p = as_panel(returns)
    values, keys = _aggregate(p, _need_dates(p, dates, "aggregate_returns"), convert_to)
    names = _KEY_NAMES[convert_to]
    if p.kind in ("numpy1", "numpy2"):
        return values[0] if p.kind == "numpy1" else values.T
    if p.kind.startswith("pandas"):
        if len(keys) == 1:
            index: pd.Index = pd.Index(keys[0], name=names[0])
        else:
            index = pd.MultiIndex.from_arrays(keys, names=names)
        if p.kind == "pandas_series":
            return pd.Series(values[0], index=index, name=p.name)
        return pd.DataFrame(values.T, index=index, columns=p.columns)
    frame = pl.DataFrame({name: key for name, key in zip(names, keys, strict=True)})
    columns = [p.name or "returns"] if p.kind == "polars_series" else list(p.columns)
    return pl.concat([frame, polars_frame(columns, values)], how="horizontal")


def monthly_returns_table(returns: Any, *, dates: Any = None) -> Any:
    """Year × month table of compounded monthly returns for one series.

    Dates as for :func:`aggregate_returns`. Months without data are NaN; only years with
    data appear, ascending. pandas → DataFrame indexed by ``year`` with columns 1..12;
    polars → frame with a ``year`` column and columns ``Jan`` .. ``Dec``; numpy →
    ``(years, 12)`` array.

    Raises:
        ValueError: no dates, or more than one asset column.
    """
    p = as_panel(returns)
    if p.k != 1:
        raise ValueError(f"monthly_returns_table needs one series, got {p.k} columns")
    values, (year, month) = _aggregate(p, _need_dates(p, dates, "monthly_returns_table"), "monthly")
    years, row = np.unique(year, return_inverse=True)
    table = np.full((years.size, 12), np.nan)
    table[row, month - 1] = values[0]
    if p.kind.startswith("pandas"):
        return pd.DataFrame(
            table,
            index=pd.Index(years, name="year"),
            columns=pd.Index(range(1, 13), name="month"),
        )
    if p.kind.startswith("polars"):
        frame = polars_frame(_MONTHS, table.T)
        return frame.insert_column(0, pl.Series("year", years))
    return table


# --------------------------------------------------------------------------- money-weighted
# The return measures take end-of-day portfolio values V_t and external flows F_t (money
# into the portfolio positive, out negative). ``flows`` is aligned like factor returns;
# None or NaN means no flow.


def _values_flows(values: Any, flows: Any) -> tuple[Panel, np.ndarray]:
    p = as_panel(values, "values")
    if flows is None:
        return p, np.zeros(p.data.shape)
    f = np.broadcast_to(align(p, flows, "flows"), p.data.shape)
    return p, np.where(np.isnan(f), 0.0, f)


def _daily_returns(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    previous = np.zeros_like(v)
    previous[:, 1:] = v[:, :-1]
    base = previous + f
    r = (v - previous - f) / base
    r[base <= 0] = 0.0  # NaN base (missing value) stays NaN
    return r


def daily_returns(values: Any, flows: Any = None) -> Any:
    """Daily time-weighted sub-period returns from values and external flows.

    ``r_t = (V_t - V_{t-1} - F_t) / (V_{t-1} + F_t)``: ``V_t`` is the end-of-day value,
    ``F_t`` the external flow (inflow positive) arriving at the **start** of day t, so it
    is invested for the day. The value before the first row is 0 (the first row's return
    is its gain on its own inflow); a day whose denominator ``V_{t-1} + F_t`` is ≤ 0
    returns 0. This is the app's ``day_change`` / ``day_change_pct``
    (:mod:`nexus.analytics.valuation`). A NaN value makes its day and the next NaN.
    """
    p, f = _values_flows(values, flows)
    with np.errstate(**_QUIET):
        return p.series(_daily_returns(p.data, f))


def twr(values: Any, flows: Any = None) -> Any:
    """Time-weighted return over the whole series: ``prod(1 + r_t) - 1`` of
    :func:`daily_returns` (not annualised). Unaffected by the size and timing of flows.

    A NaN value gives NaN (a gap is not treated as a flat day); empty input gives NaN.
    """
    p, f = _values_flows(values, flows)
    if p.n == 0:
        return p.scalar(_nan(p.k))
    with np.errstate(**_QUIET):
        return p.scalar(np.prod(1.0 + _daily_returns(p.data, f), axis=1) - 1.0)


def modified_dietz(values: Any, flows: Any = None, dates: Any = None) -> Any:
    """Modified Dietz return ``(V_end - V_start - ΣF) / (V_start + Σ w_t F_t)``.

    The first row is the opening valuation: ``V_start`` is its end-of-day value and its
    flow is already in it (ignored). Each later flow arrives at the start of its day t and
    is weighted by the share of the period it was invested:
    ``w_t = (D_end - D_t + 1) / (D_end - D_start)``, ``D`` in calendar days from ``dates=``
    or the input's date index, else in rows (``D_t = t``). Not annualised. NaN with fewer
    than two rows or a denominator ≤ 0.
    """
    p, f = _values_flows(values, flows)
    if p.n < 2:
        return p.scalar(_nan(p.k))
    days64 = p.dates64(dates)
    if days64 is None:
        days = np.arange(p.n, dtype=np.float64)
    else:
        days = (days64 - days64[0]).astype(np.float64)
    span = days[-1] - days[0]
    if span <= 0:
        return p.scalar(_nan(p.k))
    weights = (days[-1] - days[1:] + 1.0) / span
    v = p.data
    later = f[:, 1:]
    with np.errstate(**_QUIET):
        gain = v[:, -1] - v[:, 0] - later.sum(axis=1)
        base = v[:, 0] + later @ weights
        return p.scalar(np.where(base > 0, gain / base, np.nan))


def simple_return(values: Any, flows: Any = None) -> Any:
    """Gain over money put in: ``(V_end - V_start - ΣF) / (V_start + Σ max(F, 0))``.

    The first row is the opening valuation (its flow is in ``V_start``); ``ΣF`` is the net
    of later flows, the denominator adds only later inflows. NaN for empty input or a
    denominator ≤ 0.
    """
    p, f = _values_flows(values, flows)
    if p.n == 0:
        return p.scalar(_nan(p.k))
    v, later = p.data, f[:, 1:]
    with np.errstate(**_QUIET):
        gain = v[:, -1] - v[:, 0] - later.sum(axis=1)
        base = v[:, 0] + np.maximum(later, 0.0).sum(axis=1)
        return p.scalar(np.where(base > 0, gain / base, np.nan))


def xirr(dates: Any, amounts: Any, guess: float | None = None) -> float:
    """Annualised money-weighted return (XIRR, Actual/365) of a dated cash-flow schedule.

    Investor's sign view: money paid in is negative, money received (and a closing value)
    positive. Solved by ``pyxirr.xirr`` (as Excel's XIRR). NaN - not an exception - with
    fewer than two flows, flows all of one sign, a NaN amount, or no solution.

    Raises:
        ValueError: dates and amounts of different lengths.
    """
    days = to_datetime64(dates)
    cash = np.asarray(amounts, dtype=np.float64)
    if days.shape != cash.shape:
        raise ValueError(f"{days.size} dates but {cash.size} amounts")
    if cash.size < 2 or np.isnan(cash).any() or not ((cash > 0).any() and (cash < 0).any()):
        return math.nan
    try:
        rate = pyxirr.xirr(days, cash, guess=guess, silent=True)
    except pyxirr.InvalidPaymentsError:
        return math.nan
    return math.nan if rate is None else float(rate)


def portfolio_xirr(dates: Any, values: Any, flows: Any = None) -> Any:
    """XIRR of a portfolio from its value series and external flows (inflow positive).

    Schedule in the investor's view: ``-V_start`` on the first date (the opening value, its
    day's flow included), ``-F_t`` on each later flow's date, ``+V_end`` on the last date.
    ``dates`` may be None for input with a date index. One root-finding per column.
    """
    p, f = _values_flows(values, flows)
    days = _need_dates(p, dates, "portfolio_xirr")
    out = _nan(p.k)
    if p.n == 0:
        return p.scalar(out)
    for j in range(p.k):  # pyxirr solves one schedule at a time
        later = np.flatnonzero(f[j, 1:]) + 1
        when = np.concatenate([days[:1], days[later], days[-1:]])
        cash = np.concatenate([[-p.data[j, 0]], -f[j, later], [p.data[j, -1]]])
        out[j] = xirr(when, cash)
    return p.scalar(out)
