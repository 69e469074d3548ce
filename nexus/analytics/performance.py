"""Portfolio, account and holding returns over report windows, by every method.

Pure functions over the frames of :mod:`nexus.analytics.valuation` (no I/O, no Streamlit).
The arithmetic is :mod:`nexus.analytics.metrics`; this module picks the rows of a window,
chooses the flows for the return basis and lays results out for pages and notebooks.

Conventions
-----------
* A window opens at the close of ``window.start`` (the opening valuation: the latest
  valuation on or before it) and ends at the close of ``window.end``; see
  :mod:`nexus.analytics.periods`. Flows of the opening day are inside the opening value.
* Every figure is a fraction **over the window** (not annualised), so the four methods
  can be compared side by side: ``twr`` (daily chain-linked, flows at the start of the
  day), ``mwr`` (the money-weighted return: XIRR de-annualised to the window,
  ``(1 + xirr) ** (days / 365) - 1``), ``modified_dietz`` and ``simple``. ``xirr`` is also
  given as the annual rate it is, for windows of a year or more only (annualising a
  shorter period extrapolates noise, as GIPS warns); shorter windows get NaN there.
* Basis: ``"total"`` counts income (dividends, interest, less tax) as return; ``"price"``
  does not, so only price moves remain. Portfolio and account values hold their income
  as cash, so the price basis takes it out; a holding's income leaves the holding, so the
  total basis adds it back. TWR counts income at the **end** of its pay day (it earns
  nothing that day); Modified Dietz, simple and XIRR see it as a flow on that date.
* Money (``gain``, ``start_value``, ``end_value``, ``net_flows``, ``income``) is in the
  base currency of the frames.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import polars as pl

from nexus.analytics import metrics
from nexus.analytics.periods import Range, Window, range_window

Basis = Literal["total", "price"]
BASES: tuple[Basis, ...] = ("total", "price")
#: Ranges of the standard returns table, in display order.
STANDARD_RANGES: tuple[Range, ...] = (
    Range.ONE_DAY,
    Range.ONE_WEEK,
    Range.MTD,
    Range.YTD,
    Range.ONE_YEAR,
    Range.THREE_YEARS,
    Range.FIVE_YEARS,
    Range.MAX,
)
METHOD_LABELS: dict[str, str] = {
    "twr": "Time-weighted (TWR)",
    "mwr": "Money-weighted (XIRR)",
    "modified_dietz": "Modified Dietz",
    "simple": "Simple",
}

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "twr": pl.Float64(),
    "mwr": pl.Float64(),
    "xirr": pl.Float64(),
    "modified_dietz": pl.Float64(),
    "simple": pl.Float64(),
    "gain": pl.Float64(),
    "start_value": pl.Float64(),
    "end_value": pl.Float64(),
    "net_flows": pl.Float64(),
    "income": pl.Float64(),
}


@dataclass(frozen=True)
class WindowReturns:
    """Returns of one series over one window (fractions; money in base currency).

    ``gain`` = end value - start value - net flows (+ income that left a holding on the
    total basis). ``days`` = calendar days from the opening valuation to the end.
    """

    start: dt.date
    end: dt.date
    days: int
    twr: float
    mwr: float
    xirr: float
    modified_dietz: float
    simple: float
    gain: float
    start_value: float
    end_value: float
    net_flows: float
    income: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _income_sign(basis: Basis, *, income_in_value: bool) -> float:
    """+1: income is return but not in the value (holdings, total basis); -1: income is in
    the value but not return (portfolio/accounts, price basis); 0: nothing to adjust."""
    if basis not in BASES:
        raise ValueError(f"basis must be 'total' or 'price', not {basis!r}")
    if basis == "total":
        return 0.0 if income_in_value else 1.0
    return -1.0 if income_in_value else 0.0


def _daily(values: np.ndarray, flows: np.ndarray, income: np.ndarray, sign: float) -> np.ndarray:
    """Daily TWR sub-period returns (rows = days): :func:`metrics.daily_returns` (flows at
    the start of the day) with income counted at the **end** of its day -
    ``(V_t - V_{t-1} - F_t + sign * I_t) / (V_{t-1} + F_t)``."""
    r = np.asarray(metrics.daily_returns(values, flows), dtype=np.float64)
    if sign:
        previous = np.vstack([np.zeros((1, values.shape[1])), values[:-1]])
        base = previous + flows
        with np.errstate(divide="ignore", invalid="ignore"):
            r = r + np.where(base > 0, sign * income / base, 0.0)
    return r


def _deannualise(rate: np.ndarray, days: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(rate), (1.0 + rate) ** (days / 365.0) - 1.0, np.nan)


def slice_series(frame: pl.DataFrame, window: Window, *, inception: bool = True) -> pl.DataFrame:
    """Rows of a daily frame (``date`` column) from the opening valuation through
    ``window.end``: the latest row on or before ``window.start``, then every later row.

    A window opening on or before the frame's first date is measured **since inception**:
    it opens at zero the day before (a copy of the first day's rows with every number 0),
    so the first day's money is a flow of the window and its first-day move counts.
    ``inception=False`` (prices, not portfolio values) opens at the first row instead.
    """
    frame = frame.sort("date")
    if frame.is_empty():
        return frame
    first_day = frame["date"][0]
    if inception and window.start <= first_day:
        numbers = [c for c, t in frame.schema.items() if t.is_numeric()]
        inception = frame.filter(pl.col("date") == first_day).with_columns(
            pl.lit(first_day - dt.timedelta(days=1)).alias("date"),
            *(pl.lit(0, dtype=frame.schema[c]).alias(c) for c in numbers),
        )
        return pl.concat([inception, frame.filter(pl.col("date") <= window.end)])
    opening = frame.filter(pl.col("date") <= window.start)["date"].max() or first_day
    return frame.filter(pl.col("date").is_between(opening, window.end))


def _wide(
    keyed: pl.DataFrame,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[dt.date]]:
    """Keyed daily rows → (keys, values, flows, income) as 2-D arrays (rows = days,
    columns = keys), plus the dates."""

    def pivot(column: str) -> pl.DataFrame:
        return (
            keyed.pivot(on="key", index="date", values=column, aggregate_function="sum")
            .sort("date")
            .fill_null(0.0)
        )

    values = pivot("value")
    keys = [c for c in values.columns if c != "date"]
    flows, income = (pivot(c).select(keys).to_numpy() for c in ("net_flows", "income"))
    return keys, values.select(keys).to_numpy(), flows, income, values["date"].to_list()


def _results(
    keys: list[str],
    values: np.ndarray,
    raw_flows: np.ndarray,
    income: np.ndarray,
    dates: list[dt.date],
    sign: float,
) -> pl.DataFrame:
    """One :data:`RESULT_SCHEMA` row per key (column of the 2-D arrays). TWR counts income
    at the end of its day; the other methods see it as a flow on its date (``-sign * I``:
    income leaving a holding is an outflow, income kept in the value on the price basis
    an inflow)."""
    if len(dates) < 2:
        nan = [math.nan] * len(keys)
        return pl.DataFrame(
            {"key": keys, **{c: nan for c in RESULT_SCHEMA}},
            schema={"key": pl.Utf8(), **RESULT_SCHEMA},
        )
    days = (dates[-1] - dates[0]).days
    flows = raw_flows - sign * income
    rate = np.atleast_1d(metrics.portfolio_xirr(dates, values, flows))
    xirr = rate if days >= 365 else np.full_like(rate, np.nan)
    later_flows = flows[1:].sum(axis=0)
    twr = np.prod(1.0 + _daily(values, raw_flows, income, sign)[1:], axis=0) - 1.0
    return pl.DataFrame(
        {
            "key": keys,
            "twr": twr,
            "mwr": _deannualise(rate, days),
            "xirr": xirr,
            "modified_dietz": np.atleast_1d(metrics.modified_dietz(values, flows, dates)),
            "simple": np.atleast_1d(metrics.simple_return(values, flows)),
            "gain": values[-1] - values[0] - later_flows,
            "start_value": values[0],
            "end_value": values[-1],
            "net_flows": raw_flows[1:].sum(axis=0),
            "income": income[1:].sum(axis=0),
        },
        schema={"key": pl.Utf8(), **RESULT_SCHEMA},
    )


def window_returns(daily: pl.DataFrame, window: Window, *, basis: Basis = "total") -> WindowReturns:
    """Portfolio returns over ``window`` from :func:`~nexus.analytics.valuation.daily_values`
    output (``date, total_value, net_flows, income``); the flows of a business day take
    effect at its start. NaN figures when the window holds fewer than two valuations."""
    rows = slice_series(daily, window).select(
        "date",
        pl.lit("portfolio").alias("key"),
        pl.col("total_value").alias("value"),
        "net_flows",
        "income",
    )
    keys, values, flows, income, dates = _wide(rows)
    if not keys:
        values = flows = income = np.zeros((0, 1))
    sign = _income_sign(basis, income_in_value=True)
    row = _results(["portfolio"], values, flows, income, dates, sign).row(0, named=True)
    del row["key"]
    start = dates[0] if dates else window.start
    end = dates[-1] if dates else window.end
    return WindowReturns(start=start, end=end, days=(end - start).days, **row)


def keyed_returns(
    by_key: pl.DataFrame,
    window: Window,
    *,
    basis: Basis = "total",
    income_in_value: bool,
) -> pl.DataFrame:
    """Returns per key (holding or account) over ``window`` from
    :func:`~nexus.analytics.valuation.daily_values_by` output, all keys at once.

    ``income_in_value``: False for holdings (income leaves the holding), True for accounts.
    Returns ``key`` + :data:`RESULT_SCHEMA`, one row per key that held something in the
    window, largest end value first. A key whose opening value is 0 (bought inside the
    window) gets its TWR from the first day it was funded.
    """
    rows = slice_series(by_key, window)
    active = rows.group_by("key").agg(
        ((pl.col("value").abs() > 0) | (pl.col("net_flows").abs() > 0)).any().alias("_active")
    )
    rows = rows.join(active.filter("_active").select("key"), on="key", how="semi")
    if rows.is_empty():
        return pl.DataFrame(schema={"key": pl.Utf8(), **RESULT_SCHEMA})
    keys, values, flows, income, dates = _wide(rows)
    sign = _income_sign(basis, income_in_value=income_in_value)
    return _results(keys, values, flows, income, dates, sign).sort(
        ["end_value", "key"], descending=[True, False]
    )


def returns_table(
    daily: pl.DataFrame,
    *,
    as_of: dt.date,
    basis: Basis = "total",
    ranges: tuple[Range, ...] = STANDARD_RANGES,
) -> pl.DataFrame:
    """Portfolio returns for each standard range ending at ``as_of``:
    ``range, label, start, end, clamped`` + :data:`RESULT_SCHEMA`. Ranges that would
    start before the first valuation are clamped to it (``clamped``); 1D…5Y ranges longer
    than the whole history repeat MAX and are dropped."""
    if daily.is_empty():
        return pl.DataFrame(
            schema={
                "range": pl.Utf8(),
                "label": pl.Utf8(),
                "start": pl.Date(),
                "end": pl.Date(),
                "clamped": pl.Boolean(),
                **RESULT_SCHEMA,
            }
        )
    first = daily["date"].min()
    records = []
    for code in ranges:  # a handful of ranges, each one vectorised over its days
        window = range_window(code, as_of, first)
        if window.clamped and code is not Range.MAX:
            continue
        result = window_returns(daily, window, basis=basis).as_dict()
        records.append(
            {"range": code.value, "label": window.label, "clamped": window.clamped, **result}
        )
    return pl.DataFrame(records).select("range", "label", "start", "end", "clamped", *RESULT_SCHEMA)


def return_series(daily: pl.DataFrame, window: Window, *, basis: Basis = "total") -> pl.DataFrame:
    """Daily TWR sub-period returns over ``window`` (the opening day excluded):
    ``date, return, cumulative`` (fractions; ``cumulative`` chain-links from the opening
    valuation). The input of the risk metrics and of the cumulative-return chart."""
    rows = slice_series(daily, window)
    if rows.height < 2:
        return pl.DataFrame(
            schema={"date": pl.Date(), "return": pl.Float64(), "cumulative": pl.Float64()}
        )

    def column(name: str) -> np.ndarray:
        return rows[name].to_numpy().reshape(-1, 1)

    sign = _income_sign(basis, income_in_value=True)
    r = _daily(column("total_value"), column("net_flows"), column("income"), sign)[1:, 0]
    return pl.DataFrame(
        {"date": rows["date"][1:], "return": r, "cumulative": np.cumprod(1.0 + r) - 1.0}
    )


def benchmark_series(bars: pl.DataFrame, window: Window, *, basis: Basis = "total") -> pl.DataFrame:
    """A benchmark's daily returns over ``window`` from its bars (``date, close,
    adj_close``): total basis uses the dividend-adjusted close, price basis the close.
    Same layout as :func:`return_series`; the opening close is the last on or before
    ``window.start``."""
    column = "adj_close" if basis == "total" else "close"
    prices = bars.select("date", pl.col(column).alias("price")).drop_nulls()
    rows = slice_series(prices, window, inception=False)
    if rows.height < 2:
        return pl.DataFrame(
            schema={"date": pl.Date(), "return": pl.Float64(), "cumulative": pl.Float64()}
        )
    price = rows["price"]
    return pl.DataFrame(
        {
            "date": rows["date"][1:],
            "return": (price / price.shift(1) - 1.0)[1:],
            "cumulative": (price / price[0] - 1.0)[1:],
        }
    )


def align_returns(portfolio: pl.DataFrame, benchmark: pl.DataFrame) -> pl.DataFrame:
    """Portfolio and benchmark daily returns on the portfolio's days (``date, portfolio,
    benchmark``); a benchmark holiday compounds into its next trading day, and days before
    the benchmark's first price are dropped."""
    if portfolio.is_empty() or benchmark.is_empty():
        return pl.DataFrame(
            schema={"date": pl.Date(), "portfolio": pl.Float64(), "benchmark": pl.Float64()}
        )
    growth = benchmark.select("date", (1.0 + pl.col("cumulative")).alias("_g"))
    joined = (
        portfolio.select("date", pl.col("return").alias("portfolio"))
        .sort("date")
        .join_asof(growth.sort("date"), on="date", strategy="backward")
        .filter(pl.col("_g").is_not_null())
    )
    return joined.select(
        "date",
        "portfolio",
        (pl.col("_g") / pl.col("_g").shift(1).fill_null(1.0) - 1.0).alias("benchmark"),
    )
