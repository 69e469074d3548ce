"""Properties of nexus.analytics.metrics (Hypothesis).

* TWR is unchanged by deposits and withdrawals that buy or sell units at the day's price.
* XIRR recovers the rate of a schedule built to have zero NPV at that rate.
* cum_returns_final of a concatenation compounds the parts.
* max_drawdown lies in [-1, 0] for returns above -100 % and equals the brute-force
  ``min over u ≤ t of wealth_t / wealth_u - 1``; the O(n) rolling max drawdown equals it
  per window; the O(n) rolling Sharpe / volatility and the correlation matrix agree with
  empyrical / pandas on random data with gaps.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus.analytics import metrics as m

ep = pytest.importorskip("empyrical")

returns_ = st.floats(min_value=-0.3, max_value=0.3, allow_nan=False)
returns_or_nan = st.one_of(returns_, st.just(float("nan")))


def running_peak_max_drawdown(r: np.ndarray) -> float:
    """The textbook loop: wealth from 1.0, running peak, worst wealth / peak - 1."""
    wealth = peak = 1.0
    worst = 0.0
    for x in r:
        wealth *= 1.0 + (0.0 if np.isnan(x) else x)
        peak = max(peak, wealth)
        worst = min(worst, wealth / peak - 1.0)
    return worst


def brute_force_max_drawdown(r: np.ndarray) -> float:
    """min over u ≤ t of W_t / W_u - 1, with W_0 = 1 before the first return (O(n²))."""
    wealth = np.concatenate([[1.0], np.cumprod(1 + np.nan_to_num(r))])
    ratios = wealth[None, :] / wealth[:, None]  # [u, t] = W_t / W_u
    return float(np.min(np.where(np.triu(np.ones_like(ratios)) > 0, ratios, np.inf)) - 1)


# --------------------------------------------------------------------------- TWR


@st.composite
def unit_portfolios(
    draw: st.DrawFn, days: int | None = None
) -> tuple[list[float], list[float], float]:
    """A unit price path and a portfolio that buys / sells units with external flows.

    The price starts at p_{-1}; on day t a flow arrives at the start of the day and trades
    units at p_{t-1} (the last close), and the day ends at p_t. Returns (values, flows,
    price return p_N / p_{-1} - 1).
    """
    if days is None:
        days = draw(st.integers(min_value=1, max_value=60))
    price_returns = draw(st.lists(returns_, min_size=days, max_size=days))
    start_price = draw(st.floats(min_value=1.0, max_value=500.0))
    prices = start_price * np.cumprod(1 + np.array(price_returns))
    before = np.r_[start_price, prices[:-1]]  # the price at the start of each day
    units = 0.0
    values, flows = [], []
    for t in range(days):
        if t == 0:
            flow = draw(st.floats(min_value=1.0, max_value=1e6))
        else:
            action = draw(st.sampled_from(["none", "deposit", "withdraw"]))
            holding = units * before[t]
            if action == "deposit":
                flow = draw(st.floats(min_value=0.01, max_value=1e6))
            elif action == "withdraw":
                flow = -holding * draw(st.floats(min_value=0.0, max_value=0.9))
            else:
                flow = 0.0
        units += flow / before[t]
        flows.append(flow)
        values.append(units * prices[t])
    return values, flows, float(prices[-1] / start_price - 1)


@settings(max_examples=300, deadline=None)
@given(unit_portfolios())
def test_twr_is_unchanged_by_deposits_and_withdrawals(
    portfolio: tuple[list[float], list[float], float],
) -> None:
    values, flows, price_return = portfolio
    assert m.twr(values, flows) == pytest.approx(price_return, rel=1e-9, abs=1e-12)
    # the daily returns are the price's own
    assert m.twr(pd.Series(values), pd.Series(flows)) == pytest.approx(price_return, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(min_value=1, max_value=40))
def test_twr_on_a_frame_is_per_column(data: st.DataObject, days: int) -> None:
    portfolios = [data.draw(unit_portfolios(days)) for _ in range(3)]
    values = np.column_stack([p[0] for p in portfolios])
    flows = np.column_stack([p[1] for p in portfolios])
    assert m.twr(values, flows) == pytest.approx([p[2] for p in portfolios], rel=1e-9)


# --------------------------------------------------------------------------- XIRR


@st.composite
def constant_rate_schedules(draw: st.DrawFn) -> tuple[list[dt.date], list[float], float]:
    """Contributions at random dates, all discounted at one annual rate r (Act/365), and a
    closing value making the NPV zero: C = Σ |a_i| (1 + r) ** ((T - d_i) / 365)."""
    rate = draw(st.floats(min_value=-0.5, max_value=1.0))
    offsets = sorted(draw(st.sets(st.integers(1, 3650), max_size=8)))
    offsets = [0, *offsets]
    amounts = [-draw(st.floats(min_value=10.0, max_value=1e5)) for _ in offsets]
    end = offsets[-1] + draw(st.integers(min_value=1, max_value=1500))
    closing = sum(
        -a * (1 + rate) ** ((end - d) / 365) for a, d in zip(amounts, offsets, strict=True)
    )
    start = dt.date(2000, 1, 1) + dt.timedelta(days=draw(st.integers(0, 9000)))
    dates = [start + dt.timedelta(days=d) for d in [*offsets, end]]
    return dates, [*amounts, closing], rate


@settings(max_examples=300, deadline=None)
@given(constant_rate_schedules())
def test_xirr_recovers_the_rate_of_a_constant_rate_schedule(
    schedule: tuple[list[dt.date], list[float], float],
) -> None:
    # one sign change (contributions, then the closing value): the root is unique
    dates, amounts, rate = schedule
    assert m.xirr(dates, amounts) == pytest.approx(rate, abs=1e-6)


# --------------------------------------------------------------------------- compounding


@settings(max_examples=200, deadline=None)
@given(st.lists(returns_or_nan, max_size=40), st.lists(returns_or_nan, max_size=40))
def test_cum_returns_final_of_a_concatenation_compounds_the_parts(a: list, b: list) -> None:
    whole = m.cum_returns_final(np.array(a + b))
    if not a and not b:
        assert np.isnan(whole)
        return
    part_a = m.cum_returns_final(np.array(a)) if a else 0.0
    part_b = m.cum_returns_final(np.array(b)) if b else 0.0
    assert whole == pytest.approx((1 + part_a) * (1 + part_b) - 1, rel=1e-12, abs=1e-12)
    # same on frames: two identical columns
    frame = pd.DataFrame({"x": a + b, "y": a + b})
    assert m.cum_returns_final(frame).to_numpy() == pytest.approx([whole, whole], rel=1e-12)


# --------------------------------------------------------------------------- drawdowns


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(min_value=-0.999, max_value=2.0), st.just(float("nan"))),
        min_size=1,
        max_size=400,
    )
)
def test_max_drawdown_is_between_minus_one_and_zero(r: list) -> None:
    x = np.array(r)
    mdd = m.max_drawdown(x)
    assert -1.0 <= mdd <= 0.0
    assert mdd == pytest.approx(brute_force_max_drawdown(x), rel=1e-12, abs=1e-15)
    assert mdd == pytest.approx(running_peak_max_drawdown(x), rel=1e-12, abs=1e-15)
    assert mdd == pytest.approx(float(np.min(m.drawdown_series(x))), rel=1e-12, abs=1e-15)
    details = m.drawdown_details(x)
    assert details.depth == pytest.approx(mdd, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("lowest", [-0.95, -1.5])  # -1.5: wealth can reach 0 or below
@settings(max_examples=150, deadline=None)
@given(data=st.data(), window=st.integers(min_value=1, max_value=130))
def test_roll_max_drawdown_is_max_drawdown_per_window(
    lowest: float, data: st.DataObject, window: int
) -> None:
    value = st.one_of(st.floats(min_value=lowest, max_value=1.0), st.just(float("nan")))
    x = np.array(data.draw(st.lists(value, min_size=1, max_size=300)))
    w = min(window, len(x))
    expected = [running_peak_max_drawdown(x[i : i + w]) for i in range(len(x) - w + 1)]
    assert m.roll_max_drawdown(x, window) == pytest.approx(expected, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- vs references


@settings(max_examples=100, deadline=None)
@given(
    st.lists(returns_or_nan, min_size=2, max_size=150),
    st.integers(min_value=1, max_value=160),
    st.floats(min_value=-0.01, max_value=0.01),
)
def test_rolling_sharpe_and_volatility_match_empyrical(
    r: list, window: int, risk_free: float
) -> None:
    s = pd.Series(r, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        vol = ep.roll_annual_volatility(s, window).to_numpy()
        sharpe = ep.roll_sharpe_ratio(s, window, risk_free=risk_free).to_numpy()
    assert m.roll_annual_volatility(s, window).to_numpy() == pytest.approx(
        vol, rel=1e-8, abs=1e-12, nan_ok=True
    )
    ours = m.roll_sharpe_ratio(s, window, risk_free=risk_free).to_numpy()
    # a huge Sharpe comes from a near-zero std: compare those relatively, loosely
    assert ours == pytest.approx(sharpe, rel=1e-6, abs=1e-9, nan_ok=True)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=2, max_value=6),
    st.integers(min_value=0, max_value=60),
    st.randoms(use_true_random=False),
)
def test_correlation_matches_pandas_with_random_gaps(cols: int, rows: int, rnd) -> None:
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    x = rng.normal(0, 0.01, (rows, cols))
    x[rng.random((rows, cols)) < 0.2] = np.nan
    df = pd.DataFrame(x)
    assert m.correlation_matrix(df).to_numpy() == pytest.approx(
        df.corr().to_numpy(), rel=1e-9, abs=1e-12, nan_ok=True
    )
