"""nexus.analytics.metrics: hand-worked cases, edge cases and agreement with empyrical.

Every hand-computed expectation is derived in the test (plain arithmetic or a comment),
never copied from the function's own output. Reference values for the empyrical-named
metrics come from empyrical-reloaded itself, column by column on pandas Series.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from nexus.analytics import metrics as m

ep = pytest.importorskip("empyrical")
ep_stats = pytest.importorskip("empyrical.stats")

D = dt.date
SQRT252 = math.sqrt(252)


@pytest.fixture(autouse=True)
def _quiet_empyrical() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def approx(expected: Any, rel: float = 1e-9, abs_: float = 1e-12) -> Any:
    return pytest.approx(expected, rel=rel, abs=abs_, nan_ok=True)


def as_array(result: Any) -> np.ndarray:
    """Any per-column / series result → float ndarray (polars frames lose ``date``)."""
    if isinstance(result, pl.DataFrame):
        if "date" in result.columns:  # a series-valued result
            return result.drop("date").to_numpy().astype(np.float64)
        return result.to_numpy().astype(np.float64)[0]  # one row: a value per column
    if isinstance(result, pl.Series | pd.Series | pd.DataFrame):
        return result.to_numpy().astype(np.float64)
    return np.asarray(result, dtype=np.float64)


# --------------------------------------------------------------------------- random data

ROWS, COLS = 400, 5
DATES = pd.bdate_range("2021-01-04", periods=ROWS, name="date")


def _panel(seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0004, 0.013, (ROWS, COLS))
    values[:40, 1] = np.nan  # a late listing
    values[[5, 77, 300], 3] = np.nan  # scattered gaps
    return pd.DataFrame(values, index=DATES, columns=[f"a{i}" for i in range(COLS)])


PANEL = _panel()
FACTOR = pd.Series(np.random.default_rng(12).normal(0.0003, 0.01, ROWS), index=DATES)
FACTOR.iloc[9] = np.nan
FRAME_KINDS = ("pandas", "numpy", "polars")
SERIES_KINDS = ("pandas", "numpy", "polars")


def frame_as(kind: str, df: pd.DataFrame = PANEL) -> Any:
    if kind == "pandas":
        return df
    if kind == "numpy":
        return df.to_numpy()
    return pl.from_pandas(df.reset_index()).with_columns(pl.col("date").cast(pl.Date))


def series_as(kind: str, s: pd.Series) -> Any:
    if kind == "pandas":
        return s
    if kind == "numpy":
        return s.to_numpy()
    return pl.Series(s.name or "r", s.to_numpy())


def per_column(fn: Callable[[pd.Series], Any], df: pd.DataFrame = PANEL) -> np.ndarray:
    return np.array([fn(df[c]) for c in df.columns], dtype=np.float64)


# (our call on any kind, empyrical's call on one pandas Series); factor is aligned pandas
SCALARS: dict[str, tuple[Callable[[Any, Any], Any], Callable[[pd.Series, pd.Series], Any]]] = {
    "cum_returns_final": (
        lambda x, f: m.cum_returns_final(x),
        lambda s, f: ep.cum_returns_final(s),
    ),
    "cum_returns_final_sv": (
        lambda x, f: m.cum_returns_final(x, 100),
        lambda s, f: ep.cum_returns_final(s, 100),
    ),
    "annual_return": (lambda x, f: m.annual_return(x), lambda s, f: ep.annual_return(s)),
    "annual_return_monthly": (
        lambda x, f: m.annual_return(x, periods=12),
        lambda s, f: ep.annual_return(s, annualization=12),
    ),
    "annual_volatility": (
        lambda x, f: m.annual_volatility(x),
        lambda s, f: ep.annual_volatility(s),
    ),
    "sharpe_ratio": (lambda x, f: m.sharpe_ratio(x), lambda s, f: ep.sharpe_ratio(s)),
    "sharpe_ratio_rf": (
        lambda x, f: m.sharpe_ratio(x, 0.0002, periods=52),
        lambda s, f: ep.sharpe_ratio(s, 0.0002, annualization=52),
    ),
    "downside_risk": (
        lambda x, f: m.downside_risk(x, 0.0001),
        lambda s, f: ep.downside_risk(s, 0.0001),
    ),
    "sortino_ratio": (
        lambda x, f: m.sortino_ratio(x, 0.0001),
        lambda s, f: ep.sortino_ratio(s, 0.0001),
    ),
    "max_drawdown": (lambda x, f: m.max_drawdown(x), lambda s, f: ep.max_drawdown(s)),
    "calmar_ratio": (lambda x, f: m.calmar_ratio(x), lambda s, f: ep.calmar_ratio(s)),
    "alpha": (lambda x, f: m.alpha(x, f, 0.0001), lambda s, f: ep.alpha(s, f, 0.0001)),
    "beta": (lambda x, f: m.beta(x, f), lambda s, f: ep.beta(s, f)),
    "alpha_beta.alpha": (
        lambda x, f: m.alpha_beta(x, f, periods=12)[0],
        lambda s, f: ep.alpha_beta(s, f, annualization=12)[0],
    ),
    "alpha_beta.beta": (
        lambda x, f: m.alpha_beta(x, f)[1],
        lambda s, f: ep.alpha_beta(s, f)[1],
    ),
    "excess_sharpe": (lambda x, f: m.excess_sharpe(x, f), lambda s, f: ep.excess_sharpe(s, f)),
    "conditional_value_at_risk": (
        lambda x, f: m.conditional_value_at_risk(x, 0.1),
        lambda s, f: ep.conditional_value_at_risk(s, 0.1),
    ),
    "omega_ratio": (
        lambda x, f: m.omega_ratio(x, 0.0001, 0.05),
        lambda s, f: ep.omega_ratio(s, 0.0001, 0.05),
    ),
    "omega_ratio_plain": (lambda x, f: m.omega_ratio(x), lambda s, f: ep.omega_ratio(s)),
    # empyrical's VaR/tail ratio give NaN for any NaN: compare with the NaNs dropped
    "value_at_risk": (
        lambda x, f: m.value_at_risk(x, 0.05),
        lambda s, f: ep.value_at_risk(s.dropna(), 0.05),
    ),
    "tail_ratio": (lambda x, f: m.tail_ratio(x), lambda s, f: ep.tail_ratio(s.dropna())),
}
ROLLING: dict[str, tuple[Callable[[Any, Any, int], Any], Callable[..., Any]]] = {
    "roll_annual_volatility": (
        lambda x, f, w: m.roll_annual_volatility(x, w),
        lambda s, f, w: ep.roll_annual_volatility(s, w),
    ),
    "roll_sharpe_ratio": (
        lambda x, f, w: m.roll_sharpe_ratio(x, w),
        lambda s, f, w: ep.roll_sharpe_ratio(s, w),
    ),
    "roll_max_drawdown": (
        lambda x, f, w: m.roll_max_drawdown(x, w),
        lambda s, f, w: ep.roll_max_drawdown(s, w),
    ),
    "roll_beta": (
        lambda x, f, w: m.roll_beta(x, f, w),
        lambda s, f, w: ep.roll_beta(s, f, w),
    ),
    "roll_alpha_beta.alpha": (
        lambda x, f, w: m.roll_alpha_beta(x, f, w)[0],
        lambda s, f, w: ep.roll_alpha_beta(s, f, w).iloc[:, 0],
    ),
    "roll_alpha_beta.beta": (
        lambda x, f, w: m.roll_alpha_beta(x, f, w)[1],
        lambda s, f, w: ep.roll_alpha_beta(s, f, w).iloc[:, 1],
    ),
}


def _factor_for(kind: str) -> Any:
    return series_as(kind, FACTOR)


# --------------------------------------------------------------------------- empyrical


@pytest.mark.parametrize("kind", FRAME_KINDS)
@pytest.mark.parametrize("name", sorted(SCALARS))
def test_scalar_metrics_match_empyrical_on_frames(name: str, kind: str) -> None:
    ours, theirs = SCALARS[name]
    expected = per_column(lambda s: theirs(s, FACTOR))
    result = ours(frame_as(kind), _factor_for(kind))
    got = as_array(result)
    assert got == approx(expected)
    if kind == "pandas":
        assert list(result.index) == list(PANEL.columns)
    elif kind == "polars":
        assert result.columns == list(PANEL.columns) and result.height == 1
    else:
        assert isinstance(result, np.ndarray) and result.shape == (COLS,)


@pytest.mark.parametrize("kind", SERIES_KINDS)
@pytest.mark.parametrize("name", sorted(SCALARS))
def test_scalar_metrics_match_empyrical_on_series(name: str, kind: str) -> None:
    ours, theirs = SCALARS[name]
    for column in ("a0", "a1", "a3"):  # plain, late listing, scattered NaNs
        result = ours(series_as(kind, PANEL[column]), _factor_for(kind))
        assert isinstance(result, float)
        assert result == approx(theirs(PANEL[column], FACTOR))


@pytest.mark.parametrize("kind", FRAME_KINDS)
@pytest.mark.parametrize("window", [1, 2, 5, 63, ROWS, ROWS + 10])
@pytest.mark.parametrize("name", sorted(ROLLING))
def test_rolling_metrics_match_empyrical(name: str, window: int, kind: str) -> None:
    ours, theirs = ROLLING[name]
    expected = np.column_stack([theirs(PANEL[c], FACTOR, window).to_numpy() for c in PANEL])
    result = ours(frame_as(kind), _factor_for(kind), window)
    # alpha over 2-point windows is (1 + mean) ** 252 of absurd betas: compare relatively
    rel = 1e-6 if name.startswith("roll_alpha") and window <= 5 else 1e-8
    assert as_array(result) == approx(expected, rel=rel, abs_=1e-10)
    first = PANEL.index[min(window, ROWS) - 1]
    if kind == "pandas":
        assert result.index[0] == first and list(result.columns) == list(PANEL.columns)
    if kind == "polars":
        assert result["date"][0] == first.date()


@pytest.mark.parametrize("name", sorted(ROLLING))
def test_rolling_metrics_on_a_series_keep_the_index(name: str) -> None:
    ours, theirs = ROLLING[name]
    expected = theirs(PANEL["a3"], FACTOR, 20)
    result = ours(PANEL["a3"], FACTOR, 20)
    assert isinstance(result, pd.Series)
    assert result.index.equals(expected.index)
    assert result.to_numpy() == approx(expected.to_numpy(), rel=1e-8)
    as_polars = ours(pl.Series("a3", PANEL["a3"].to_numpy()), FACTOR.to_numpy(), 20)
    assert isinstance(as_polars, pl.Series) and as_polars.len() == ROWS - 19


@pytest.mark.parametrize("kind", FRAME_KINDS)
def test_series_valued_metrics_match_empyrical(kind: str) -> None:
    data = frame_as(kind)
    for ours, theirs in (
        (m.cum_returns(data), ep.cum_returns(PANEL)),
        (m.cum_returns(data, 100.0), ep.cum_returns(PANEL, 100.0)),
        (m.drawdown_series(data), ep_stats.drawdown_series(PANEL)),
    ):
        assert as_array(ours) == approx(theirs.to_numpy())
        if kind == "pandas":
            assert ours.index.equals(PANEL.index)
        if kind == "polars":
            assert ours.columns == ["date", *PANEL.columns]


def test_correlation_matrix_matches_pandas_corr_in_every_kind() -> None:
    expected = PANEL.corr().to_numpy()
    pandas_result = m.correlation_matrix(PANEL)
    assert list(pandas_result.index) == list(pandas_result.columns) == list(PANEL.columns)
    assert pandas_result.to_numpy() == approx(expected, rel=1e-11)
    assert m.correlation_matrix(PANEL.to_numpy()) == approx(expected, rel=1e-11)
    polars_result = m.correlation_matrix(frame_as("polars"))
    assert polars_result.columns == list(PANEL.columns)
    assert polars_result.to_numpy() == approx(expected, rel=1e-11)


def test_aggregate_returns_matches_empyrical() -> None:
    for period in ("weekly", "monthly", "quarterly", "yearly"):
        expected = ep.aggregate_returns(PANEL["a3"], period)
        result = m.aggregate_returns(PANEL["a3"], period)
        assert list(result.index) == list(expected.index)
        assert result.to_numpy() == approx(expected.to_numpy())
        frame = m.aggregate_returns(PANEL, period)
        assert frame["a1"].to_numpy() == approx(ep.aggregate_returns(PANEL["a1"], period).values)


def test_simple_returns_match_empyrical() -> None:
    prices = 100 * (1 + PANEL.fillna(0)).cumprod()
    prices.iloc[50, 2] = np.nan
    expected = ep.simple_returns(prices)
    result = m.simple_returns(prices)
    assert result.index.equals(expected.index)
    assert result.to_numpy() == approx(expected.to_numpy())
    assert m.simple_returns(prices.to_numpy()) == approx(expected.to_numpy())


# --------------------------------------------------------------------------- hand-worked

R = [0.1, -0.2, 0.05, -0.5, 0.3]
# wealth from 1: 1.1, 0.88, 0.924, 0.462, 0.6006; the peak 1.1 is set by row 0


def test_cum_returns_by_hand() -> None:
    assert m.cum_returns([0.1, -0.2, 0.05]) == approx([0.1, 1.1 * 0.8 - 1, 1.1 * 0.8 * 1.05 - 1])
    assert m.cum_returns([0.1, -0.2, 0.05], 100) == approx([110, 88, 92.4])
    assert m.cum_returns_final([0.1, -0.2, 0.05]) == approx(1.1 * 0.8 * 1.05 - 1)
    assert m.cum_returns_final([0.1, -0.2, 0.05], 100) == approx(92.4)


def test_annual_return_is_a_cagr() -> None:
    # two periods at periods=1 are two years: sqrt(1.1 * 0.5) - 1
    assert m.annual_return([0.1, -0.5], periods=1) == approx(math.sqrt(0.55) - 1)
    # 126 days of 0.1 % over half a 252-day year: (1.001 ** 126) ** 2 - 1
    assert m.annual_return([0.001] * 126) == approx(1.001**252 - 1)


def test_volatility_and_sharpe_by_hand() -> None:
    # [0.01, 0.03]: mean 0.02, deviations ±0.01, var (1e-4 + 1e-4) / (2 - 1) = 2e-4
    std = math.sqrt(2e-4)
    assert m.annual_volatility([0.01, 0.03]) == approx(std * SQRT252)
    assert m.sharpe_ratio([0.01, 0.03]) == approx(0.02 / std * SQRT252)
    # risk-free 1 % per period: excess [0, 0.02] - mean 0.01, same std
    assert m.sharpe_ratio([0.01, 0.03], risk_free=0.01, periods=12) == approx(
        0.01 / std * math.sqrt(12)
    )
    # identical excess returns have zero dispersion: ±inf, or NaN when they are 0
    assert m.sharpe_ratio([0.01, 0.01, 0.01]) == math.inf
    assert m.sharpe_ratio([-0.01, -0.01]) == -math.inf
    assert math.isnan(m.sharpe_ratio([0.0, 0.0, 0.0]))


def test_downside_risk_and_sortino_by_hand() -> None:
    r = [0.02, -0.01, -0.03, 0.01]
    # below 0: [0, -0.01, -0.03, 0] → mean of squares (1e-4 + 9e-4) / 4 = 2.5e-4
    downside = math.sqrt(2.5e-4) * SQRT252
    assert m.downside_risk(r) == approx(downside)
    # mean -0.01 / 4 = -0.0025, annualised * 252
    assert m.sortino_ratio(r) == approx(-0.0025 * 252 / downside)
    # required return 0.01 per period: below [0, -0.02, -0.04, 0] → (4e-4 + 16e-4) / 4
    assert m.downside_risk(r, 0.01, periods=1) == approx(math.sqrt(5e-4))
    assert m.sortino_ratio([0.01, 0.02]) == math.inf  # nothing below the target


def test_drawdowns_by_hand() -> None:
    assert m.max_drawdown(R) == approx(0.462 / 1.1 - 1)  # -0.58
    expected = [0.0, 0.88 / 1.1 - 1, 0.924 / 1.1 - 1, 0.462 / 1.1 - 1, 0.6006 / 1.1 - 1]
    assert m.drawdown_series(R) == approx(expected)
    # a first-period loss is a drawdown from the starting value
    assert m.max_drawdown([-0.1, 0.2]) == approx(-0.1)
    assert m.max_drawdown([0.01, 0.02]) == 0.0


def test_calmar_by_hand() -> None:
    # periods=5 makes the 5 rows one year: CAGR = 0.6006 - 1 = -0.3994; |mdd| = 0.58
    assert m.calmar_ratio(R, periods=5) == approx((0.6006 - 1) / 0.58)
    assert math.isnan(m.calmar_ratio([0.01, 0.02]))  # no drawdown


def test_drawdown_details_by_hand() -> None:
    index = pd.bdate_range("2024-01-01", periods=5)
    details = m.drawdown_details(pd.Series(R, index=index))
    assert details.depth == approx(-0.58)
    assert (details.peak_position, details.trough_position) == (0, 3)
    assert (details.peak, details.trough) == (index[0], index[3])
    assert details.recovery is None and details.recovery_position is None
    assert (details.peak_to_trough, details.peak_to_recovery) == (3, None)

    # wealth 0.9, 0.945, 1.0395, 1.01871: the peak is the starting 1.0, back above on row 2
    recovered = m.drawdown_details([-0.1, 0.05, 0.1, -0.02])
    assert recovered.depth == approx(-0.1)
    assert (recovered.peak, recovered.peak_position) == (None, -1)
    assert (recovered.trough, recovered.recovery) == (0, 2)
    assert (recovered.peak_to_trough, recovered.peak_to_recovery) == (1, 3)

    dated = pl.DataFrame({"date": [D(2024, 1, d) for d in (2, 3, 4)], "x": [0.1, -0.1, 0.2]})
    # wealth 1.1, 0.99, 1.188: peak 2 Jan, trough 3 Jan, recovered 4 Jan
    details = m.drawdown_details(dated)
    assert (details.peak, details.trough, details.recovery) == (
        D(2024, 1, 2),
        D(2024, 1, 3),
        D(2024, 1, 4),
    )
    assert details.depth == approx(0.99 / 1.1 - 1)
    assert m.drawdown_details([0.01, 0.02]) == m.DrawdownDetails(depth=0.0)
    with pytest.raises(ValueError, match="one series"):
        m.drawdown_details(PANEL)


def test_alpha_beta_by_hand() -> None:
    f = np.array([0.01, -0.02, 0.03, 0.0])
    r = 2 * f + 0.001  # beta 2, per-period alpha 0.001
    alpha, beta = m.alpha_beta(r, f)
    assert beta == approx(2.0)
    assert alpha == approx(1.001**252 - 1, rel=1e-7)
    # with rf: r - rf - 2 (f - rf) = 0.001 + rf
    assert m.alpha(r, f, risk_free=0.0005, periods=12) == approx(1.0015**12 - 1, rel=1e-9)
    assert m.beta(r, f, risk_free=0.0005) == approx(2.0)
    # NaN pairs are skipped on either side
    r_nan, f_nan = np.r_[r, np.nan, 0.5], np.r_[f, 0.7, np.nan]
    assert m.beta(r_nan, f_nan) == approx(2.0)
    assert math.isnan(m.beta([0.01, 0.02], [0.01, 0.01]))  # constant factor: no variance


def test_alpha_beta_align_labelled_inputs_by_date() -> None:
    index = pd.bdate_range("2024-01-01", periods=4)
    f = pd.Series([0.01, -0.02, 0.03, 0.0], index=index)
    r = (2 * f + 0.001).iloc[::-1].iloc[:3]  # reversed, last day missing
    assert m.beta(r, f) == approx(2.0)
    with pytest.raises(ValueError, match="rows"):
        m.beta(np.zeros(3), np.zeros(4))


def test_excess_sharpe_by_hand() -> None:
    # active [0.01, 0, 0.02]: mean 0.01, std sqrt((0 + 1e-4 + 1e-4) / 2) = 0.01
    assert m.excess_sharpe([0.02, 0.01, 0.03], [0.01, 0.01, 0.01]) == approx(1.0)
    assert m.excess_sharpe([0.02, 0.01, 0.03], 0.01) == approx(1.0)


def test_value_at_risk_family_by_hand() -> None:
    r = [0.03, -0.05, 0.0, 0.01, -0.02]  # sorted: -0.05, -0.02, 0, 0.01, 0.03
    assert m.value_at_risk(r, 0.25) == approx(-0.02)  # position (5 - 1) * 0.25 = 1
    assert m.value_at_risk(r, 0.1) == approx(-0.05 + 0.4 * 0.03)  # position 0.4
    assert m.conditional_value_at_risk(r, 0.25) == approx((-0.05 - 0.02) / 2)  # int(1) + 1 = 2
    assert m.conditional_value_at_risk(r, 0.05) == approx(-0.05)  # int(0.2) + 1 = 1
    # NaNs are skipped (empyrical's value_at_risk would be NaN)
    assert m.value_at_risk([*r, np.nan], 0.25) == approx(-0.02)


def test_parametric_var_and_cvar_by_hand() -> None:
    mean, std = 0.02, math.sqrt(2e-4)  # of [0.01, 0.03], ddof=1
    z = NormalDist().inv_cdf(0.05)  # -1.6449
    assert m.parametric_var([0.01, 0.03]) == approx(mean + std * z)
    assert m.parametric_var([0.01, 0.03]) < 0  # a loss is negative, like value_at_risk
    tail_mean = mean - std * NormalDist().pdf(z) / 0.05
    assert m.parametric_cvar([0.01, 0.03]) == approx(tail_mean)
    assert m.parametric_cvar([0.01, 0.03]) < m.parametric_var([0.01, 0.03])
    assert m.parametric_var([0.01, np.nan, 0.03], 0.01) == approx(
        mean + std * NormalDist().inv_cdf(0.01)
    )


def test_omega_by_hand() -> None:
    r = [0.02, -0.01, 0.03, -0.02]
    assert m.omega_ratio(r) == approx(0.05 / 0.03)  # gains 0.02 + 0.03, losses 0.01 + 0.02
    # annualization=1 takes required_return as-is: excess [0.01, -0.02, 0.02, -0.03]
    assert m.omega_ratio(r, required_return=0.01, annualization=1) == approx(0.03 / 0.05)
    # annual 10 % → (1.1 ** (1 / 252) - 1) per period
    daily = 1.1 ** (1 / 252) - 1
    gains = sum(x - daily for x in r if x > daily)
    losses = sum(daily - x for x in r if x < daily)
    assert m.omega_ratio(r, required_return=0.1) == approx(gains / losses)
    assert math.isnan(m.omega_ratio([0.01, 0.02]))  # no loss
    # a loss tiny next to the gains is still exact: 1.3 / 1e-12
    assert m.omega_ratio([0.5, 0.5, 0.3, -1e-12]) == approx(1.3 / 1e-12)
    assert math.isnan(m.omega_ratio(r, required_return=-1.0))


def test_tail_ratio_by_hand() -> None:
    x = np.arange(21) / 100 - 0.05  # -0.05 .. 0.15; percentiles at positions 1 and 19
    assert m.tail_ratio(x) == approx(0.14 / 0.04)


def test_rolling_by_hand() -> None:
    r = [0.01, 0.03, 0.02, 0.02]
    # windows of 2: std sqrt(2e-4), sqrt(0.5e-4), 0
    assert m.roll_annual_volatility(r, 2, periods=1) == approx(
        [math.sqrt(2e-4), math.sqrt(0.5e-4), 0.0]
    )
    assert m.roll_sharpe_ratio(r, 2, periods=1) == approx(
        [0.02 / math.sqrt(2e-4), 0.025 / math.sqrt(0.5e-4), math.inf]
    )
    # each window starts from 1: [0.1, -0.2] → -0.2; [-0.2, 0.05] → -0.2; [0.05, -0.5] → -0.5
    assert m.roll_max_drawdown([0.1, -0.2, 0.05, -0.5], 2) == approx([-0.2, -0.2, -0.5])
    f = [0.01, -0.01, 0.02, 0.0, 0.04]
    r2 = [0.02, -0.02, 0.04, 0.0, 0.04]
    # last window: f [0.02, 0, 0.04] (mean 0.02, residuals [0, -0.02, 0.02]),
    # r [0.04, 0, 0.04]: cov 0.0008 / 3, var 0.0008 / 3 → 1; the others are exactly 2 f
    assert m.roll_beta(r2, f, 3) == approx([2.0, 2.0, 1.0])
    alpha, beta = m.roll_alpha_beta([x + 0.001 for x in r2], f, 3, periods=1)
    assert beta == approx([2.0, 2.0, 1.0])
    assert alpha[:2] == approx([0.001, 0.001])
    # window longer than the data: one value over everything; window < 1 is an error
    assert m.roll_max_drawdown(R, 50) == approx([m.max_drawdown(R)])
    with pytest.raises(ValueError, match="window"):
        m.roll_sharpe_ratio(r, 0)


def test_correlation_by_hand() -> None:
    x = [1.0, 2.0, 3.0, 4.0]
    data = np.column_stack([x, [2.0, 4.0, 6.0, 8.0], [4.0, 3.0, 2.0, 1.0], [1.0, np.nan, 3.0, 5.0]])
    corr = m.correlation_matrix(data)
    assert corr[0, 1] == approx(1.0) and corr[0, 2] == approx(-1.0)
    # x, w over rows 0, 2, 3: x [1, 3, 4], w [1, 3, 5]; dx = [-5/3, 1/3, 4/3], dw = [-2, 0, 2]
    # Σ dx dw = 6, Σ dx² = 14 / 3, Σ dw² = 8
    assert corr[0, 3] == approx(6 / math.sqrt(14 / 3 * 8))
    assert corr[3, 0] == corr[0, 3]
    assert np.diagonal(corr) == approx([1.0] * 4)
    constant = m.correlation_matrix(np.column_stack([x, [5.0] * 4]))
    assert math.isnan(constant[0, 1]) and math.isnan(constant[1, 1])


MONTH_DAYS = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2025-03-03"])
MONTH_RETURNS = [0.1, -0.1, 0.05, 0.02]


def test_aggregate_returns_by_hand() -> None:
    s = pd.Series(MONTH_RETURNS, index=MONTH_DAYS)
    monthly = m.aggregate_returns(s, "monthly")
    # Jan 2024: 1.1 * 0.9 - 1 = -0.01; Feb 2024: 0.05; Mar 2025: 0.02
    assert list(monthly.index) == [(2024, 1), (2024, 2), (2025, 3)]
    assert monthly.to_numpy() == approx([-0.01, 0.05, 0.02])
    yearly = m.aggregate_returns(s, "yearly")
    assert yearly.to_numpy() == approx([0.99 * 1.05 - 1, 0.02])
    # numpy input takes dates=; polars frames their date column
    assert m.aggregate_returns(np.array(MONTH_RETURNS), "yearly", dates=MONTH_DAYS) == approx(
        [0.99 * 1.05 - 1, 0.02]
    )
    frame = pl.DataFrame({"date": MONTH_DAYS.date, "p": MONTH_RETURNS})
    out = m.aggregate_returns(frame, "monthly")
    assert out.columns == ["year", "month", "p"]
    assert out["p"].to_list() == approx([-0.01, 0.05, 0.02])
    # an index of datetime.date objects works like a DatetimeIndex
    by_date = pd.Series(MONTH_RETURNS, index=list(MONTH_DAYS.date))
    assert m.aggregate_returns(by_date, "monthly").to_numpy() == approx([-0.01, 0.05, 0.02])
    with pytest.raises(ValueError, match="needs dates"):
        m.aggregate_returns(np.array(MONTH_RETURNS))
    with pytest.raises(ValueError, match="convert_to"):
        m.aggregate_returns(s, "daily")


def test_monthly_returns_table_by_hand() -> None:
    table = m.monthly_returns_table(pd.Series(MONTH_RETURNS, index=MONTH_DAYS))
    assert list(table.index) == [2024, 2025] and list(table.columns) == list(range(1, 13))
    assert table.loc[2024, 1] == approx(-0.01) and table.loc[2024, 2] == approx(0.05)
    assert table.loc[2025, 3] == approx(0.02)
    assert int(table.notna().sum().sum()) == 3
    polars_table = m.monthly_returns_table(
        pl.DataFrame({"date": MONTH_DAYS.date, "p": MONTH_RETURNS})
    )
    assert polars_table.columns[:3] == ["year", "Jan", "Feb"]
    assert polars_table["Jan"].to_list() == approx([-0.01, np.nan])
    array = m.monthly_returns_table(np.array(MONTH_RETURNS), dates=list(MONTH_DAYS.date))
    assert array.shape == (2, 12) and array[1, 2] == approx(0.02)
    with pytest.raises(ValueError, match="one series"):
        m.monthly_returns_table(PANEL)


def test_simple_returns_by_hand() -> None:
    assert m.simple_returns([100.0, 110.0, 99.0]) == approx([0.1, -0.1])
    prices = pl.DataFrame({"date": [D(2024, 1, d) for d in (1, 2, 3)], "p": [100.0, 110.0, 99.0]})
    out = m.simple_returns(prices)
    assert out["date"].to_list() == [D(2024, 1, 2), D(2024, 1, 3)]


# --------------------------------------------------------------------------- money-weighted

VALUES = [100.0, 105.0, 160.0, 150.0]
FLOWS = [100.0, 0.0, 50.0, -20.0]
# r0 = (100 - 0 - 100) / (0 + 100) = 0       (the first deposit, no gain on day 0)
# r1 = (105 - 100 - 0) / (100 + 0) = 0.05
# r2 = (160 - 105 - 50) / (105 + 50) = 5 / 155
# r3 = (150 - 160 + 20) / (160 - 20) = 10 / 140
DAILY = [0.0, 0.05, 5 / 155, 10 / 140]


def test_daily_returns_and_twr_by_hand() -> None:
    assert m.daily_returns(VALUES, FLOWS) == approx(DAILY)
    assert m.twr(VALUES, FLOWS) == approx(1.05 * (1 + 5 / 155) * (1 + 10 / 140) - 1)
    # no flows: plain value changes; the first day has no previous value → 0
    assert m.daily_returns([100.0, 110.0]) == approx([0.0, 0.1])
    # a day whose base V_{t-1} + F_t ≤ 0 returns 0 (everything withdrawn)
    assert m.daily_returns([100.0, 0.0, 0.0], [100.0, -100.0, 0.0]) == approx([0.0, 0.0, 0.0])


def test_daily_returns_align_flows_by_date_and_keep_the_kind() -> None:
    index = pd.bdate_range("2024-03-04", periods=4)
    values = pd.Series(VALUES, index=index)
    flows = pd.Series([100.0, 50.0, -20.0], index=index[[0, 2, 3]])  # days without flows left out
    result = m.daily_returns(values, flows)
    assert isinstance(result, pd.Series) and result.index.equals(index)
    assert result.to_numpy() == approx(DAILY)
    frame = pl.DataFrame({"date": index.date, "p": VALUES})
    flow_frame = pl.DataFrame({"date": index.date[[0, 2, 3]], "p": [100.0, 50.0, -20.0]})
    out = m.daily_returns(frame, flow_frame)
    assert out.columns == ["date", "p"] and out["p"].to_list() == approx(DAILY)
    # the app's convention: day_change / (previous total + today's flows)
    day_change = VALUES[2] - VALUES[1] - FLOWS[2]
    assert m.daily_returns(VALUES, FLOWS)[2] == approx(day_change / (VALUES[1] + FLOWS[2]))


def test_modified_dietz_textbook_case() -> None:
    # Start 100 (end of 1 Jan), +50 arriving at the start of 17 Jan, end 160 (31 Jan).
    # Period: 30 days; the flow is invested from the end of 16 Jan: 15 days → weight 0.5.
    # MD = (160 - 100 - 50) / (100 + 0.5 * 50) = 10 / 125 = 0.08
    days = [D(2024, 1, 1), D(2024, 1, 17), D(2024, 1, 31)]
    assert m.modified_dietz([100.0, 155.0, 160.0], [0.0, 50.0, 0.0], dates=days) == approx(0.08)
    # without dates the rows are days: flow at the start of row 1 of rows 0..2 →
    # weight (2 - 1 + 1) / 2 = 1 → (160 - 100 - 50) / 150
    assert m.modified_dietz([100.0, 155.0, 160.0], [0.0, 50.0, 0.0]) == approx(10 / 150)
    # dates from a polars date column; the first row's flow is in the opening value
    frame = pl.DataFrame({"date": days, "p": [100.0, 155.0, 160.0]})
    flows = pl.DataFrame({"date": days, "p": [999.0, 50.0, 0.0]})
    assert m.modified_dietz(frame, flows)["p"][0] == approx(0.08)


def test_simple_return_by_hand() -> None:
    # gain 160 - 100 - (-10 + 50) = 20 over money in 100 + 50
    assert m.simple_return([100.0, 120.0, 160.0], [0.0, -10.0, 50.0]) == approx(20 / 150)
    assert m.simple_return([100.0, 120.0]) == approx(0.2)


EXCEL_DATES = [D(2008, 1, 1), D(2008, 3, 1), D(2008, 10, 30), D(2009, 2, 15), D(2009, 4, 1)]
EXCEL_AMOUNTS = [-10000.0, 2750.0, 4250.0, 3250.0, 2750.0]


def test_xirr_published_examples() -> None:
    # Microsoft's XIRR documentation example: 0.373362535 (37.34 %). Excel iterates "until
    # the result is accurate within 0.000001 percent", so agree to 1e-8.
    assert m.xirr(EXCEL_DATES, EXCEL_AMOUNTS) == pytest.approx(0.373362535, abs=1e-8)
    # -1000 then +1100 exactly 365 days later: 1100 / 1000 - 1 = 10 %
    assert m.xirr([D(2021, 1, 1), D(2022, 1, 1)], [-1000.0, 1100.0]) == pytest.approx(
        0.1, abs=1e-12
    )
    # any date representation; the NPV at the answer is zero (Act/365)
    rate = m.xirr(pd.to_datetime(EXCEL_DATES), np.array(EXCEL_AMOUNTS))
    years = [(d - EXCEL_DATES[0]).days / 365 for d in EXCEL_DATES]
    npv = sum(a / (1 + rate) ** t for a, t in zip(EXCEL_AMOUNTS, years, strict=True))
    assert npv == pytest.approx(0.0, abs=1e-6)
    assert m.xirr(pl.Series(EXCEL_DATES), pl.Series(EXCEL_AMOUNTS)) == approx(rate)


def test_xirr_returns_nan_instead_of_raising() -> None:
    days = [D(2020, 1, 1), D(2021, 1, 1), D(2022, 1, 1)]
    assert math.isnan(m.xirr(days[:1], [-100.0]))  # one flow
    assert math.isnan(m.xirr(days, [100.0, 200.0, 300.0]))  # one sign
    assert math.isnan(m.xirr(days, [-100.0, -200.0, -300.0]))
    assert math.isnan(m.xirr(days, [100.0, -250.0, 160.0]))  # no real root
    assert math.isnan(m.xirr(days, [-100.0, np.nan, 160.0]))
    assert math.isnan(m.xirr([], []))
    with pytest.raises(ValueError, match="amounts"):
        m.xirr(days, [1.0, -1.0])


def test_portfolio_xirr_builds_the_schedule() -> None:
    days = [D(2021, 1, 1), D(2021, 7, 2), D(2022, 1, 1)]
    # -1000 on day 0, +1100 after 365 days, nothing between: 10 %
    assert m.portfolio_xirr(days, [1000.0, 1040.0, 1100.0]) == pytest.approx(0.1, abs=1e-10)
    # schedule: -1000 (opening), -500 (flow 2 Jul), +1650 (closing) - same as xirr's
    expected = m.xirr(days, [-1000.0, -500.0, 1650.0])
    assert m.portfolio_xirr(days, [1000.0, 1540.0, 1650.0], [1000.0, 500.0, 0.0]) == approx(
        expected
    )
    frame = pl.DataFrame({"date": days, "a": [1000.0, 1040.0, 1100.0], "b": [10.0, 11.0, 12.1]})
    out = m.portfolio_xirr(None, frame)
    assert out.columns == ["a", "b"] and out["a"][0] == pytest.approx(0.1, abs=1e-10)
    assert out["b"][0] == pytest.approx(0.21, abs=1e-10)  # 10 → 12.1 over 365 days
    with pytest.raises(ValueError, match="needs dates"):
        m.portfolio_xirr(None, [1.0, 2.0])


def test_twr_and_mwr_differ_when_flows_are_badly_timed() -> None:
    """100 is invested on 1 Jan and doubles by 30 Jun; the investor adds 1000 at the start
    of 1 Jul, and the second half-year loses 50 %. Per unit the fund went x2 then x0.5:
    TWR = 0. But most of the money was in only for the loss, so the money-weighted return
    is deeply negative: TWR measures the manager, MWR the investor's dollars."""
    days = [D(2023, 1, 1), D(2023, 6, 30), D(2023, 7, 1), D(2024, 1, 1)]
    values, flows = [100.0, 200.0, 1200.0, 600.0], [100.0, 0.0, 1000.0, 0.0]
    # (100 - 100) / 100, (200 - 100) / 100, (1200 - 200 - 1000) / 1200, (600 - 1200) / 1200
    assert m.daily_returns(values, flows) == approx([0.0, 1.0, 0.0, -0.5])
    assert m.twr(values, flows) == approx(2.0 * 0.5 - 1)
    mwr = m.portfolio_xirr(days, values, flows)
    # schedule: -100 (1 Jan 2023), -1000 (1 Jul, day 181), +600 (1 Jan 2024, day 365)
    npv = -100 - 1000 / (1 + mwr) ** (181 / 365) + 600 / (1 + mwr) ** (365 / 365)
    assert npv == pytest.approx(0.0, abs=1e-7)
    # NPV at -65 % is -100 - 1000 * 2.857 ** 0.496 + 600 * 2.857 < 0, at -75 % > 0
    assert -0.75 < mwr < -0.65
    # Modified Dietz weights the 1000 by (365 - 181 + 1) / 365 of the year
    assert m.modified_dietz(values, flows, dates=days) == approx(
        (600 - 100 - 1000) / (100 + 1000 * 185 / 365)
    )


# --------------------------------------------------------------------------- edge cases

EMPTY_SCALARS: list[Callable[[Any], Any]] = [
    m.cum_returns_final, m.annual_return, m.annual_volatility, m.sharpe_ratio,
    m.downside_risk, m.sortino_ratio, m.max_drawdown, m.calmar_ratio,
    lambda x: m.alpha(x, x), lambda x: m.beta(x, x), lambda x: m.excess_sharpe(x, x),
    m.value_at_risk, m.conditional_value_at_risk, m.parametric_var, m.parametric_cvar,
    m.omega_ratio, m.tail_ratio, m.twr, m.modified_dietz, m.simple_return,
]  # fmt: skip


@pytest.mark.parametrize("fn", EMPTY_SCALARS)
@pytest.mark.parametrize("kind", ["numpy", "pandas", "polars", "frame"])
def test_empty_input_gives_nan(fn: Callable[[Any], Any], kind: str) -> None:
    data: Any = {
        "numpy": np.array([]),
        "pandas": pd.Series([], dtype=float, index=pd.DatetimeIndex([])),
        "polars": pl.Series("x", [], dtype=pl.Float64),
        "frame": pd.DataFrame({"a": [], "b": []}, dtype=float),
    }[kind]
    result = fn(data)
    if kind == "frame":
        assert list(result.index) == ["a", "b"] and result.isna().all()
    else:
        assert isinstance(result, float) and math.isnan(result)


def test_empty_series_valued_metrics_stay_empty() -> None:
    empty = pd.Series([], dtype=float, index=pd.DatetimeIndex([]))
    for fn in (m.cum_returns, m.drawdown_series, m.daily_returns, m.simple_returns,
               lambda x: m.roll_sharpe_ratio(x, 5), lambda x: m.roll_annual_volatility(x, 5),
               lambda x: m.roll_max_drawdown(x, 5), lambda x: m.roll_beta(x, x, 5),
               lambda x: m.roll_alpha_beta(x, x, 5)[0]):  # fmt: skip
        result = fn(empty)
        assert isinstance(result, pd.Series) and len(result) == 0
    assert len(m.cum_returns(np.array([]))) == 0
    assert math.isnan(m.drawdown_details([]).depth)
    assert len(m.aggregate_returns(empty, "monthly")) == 0
    assert m.correlation_matrix(np.empty((0, 2))).shape == (2, 2)


def test_single_value() -> None:
    x = [-0.02]
    assert m.cum_returns_final(x) == approx(-0.02)
    assert m.annual_return(x) == approx(0.98**252 - 1)  # one day is 1/252 of a year
    assert m.max_drawdown(x) == approx(-0.02)
    assert m.calmar_ratio(x, periods=1) == approx(-0.02 / 0.02)
    assert m.downside_risk(x) == approx(0.02 * SQRT252)  # empyrical needs one row only
    assert m.value_at_risk(x) == approx(-0.02)
    assert m.conditional_value_at_risk(x) == approx(-0.02)
    assert m.tail_ratio(x) == approx(1.0)
    for fn in (m.annual_volatility, m.sharpe_ratio, m.sortino_ratio, m.omega_ratio,
               m.parametric_var, m.parametric_cvar):  # fmt: skip
        assert math.isnan(fn(x)), fn  # need two rows, as in empyrical
    assert math.isnan(m.alpha(x, x)) and math.isnan(m.beta(x, x))
    assert math.isnan(m.excess_sharpe(x, [0.01]))
    assert m.roll_annual_volatility(x, 1) == approx([np.nan])
    assert m.twr([100.0], [100.0]) == approx(0.0)
    assert math.isnan(m.modified_dietz([100.0]))
    assert m.simple_return([100.0]) == approx(0.0)
    # and empyrical agrees on the ones it has
    s = pd.Series(x)
    for ours, theirs in (
        (m.cum_returns_final, ep.cum_returns_final), (m.annual_return, ep.annual_return),
        (m.annual_volatility, ep.annual_volatility), (m.sharpe_ratio, ep.sharpe_ratio),
        (m.sortino_ratio, ep.sortino_ratio), (m.downside_risk, ep.downside_risk),
        (m.max_drawdown, ep.max_drawdown), (m.calmar_ratio, ep.calmar_ratio),
        (m.value_at_risk, ep.value_at_risk), (m.tail_ratio, ep.tail_ratio),
        (m.conditional_value_at_risk, ep.conditional_value_at_risk),
        (m.omega_ratio, ep.omega_ratio),
    ):  # fmt: skip
        assert ours(s) == approx(theirs(s)), ours


def test_all_negative_returns() -> None:
    x = pd.Series([-0.01, -0.03, -0.02, -0.05, -0.01])
    wealth = float(np.prod(1 + x.to_numpy()))
    # wealth only falls: the drawdown is the total loss, from the starting value
    assert m.max_drawdown(x) == approx(wealth - 1)
    assert m.cum_returns_final(x) == approx(wealth - 1)
    assert m.drawdown_details(x).peak_position == -1
    assert m.drawdown_details(x).trough_position == 4
    assert m.omega_ratio(x) == 0.0  # no gains over positive losses
    assert m.sharpe_ratio(x) < 0 and m.sortino_ratio(x) < 0 and m.calmar_ratio(x) < 0
    assert m.value_at_risk(x) < 0 and m.parametric_var(x) < 0
    assert m.tail_ratio(x) < 1  # |p95| = 0.01 < |p5|
    # all of them as empyrical computes them
    f = pd.Series([0.01, -0.02, 0.0, 0.01, -0.01])
    for name, (ours, theirs) in SCALARS.items():
        assert ours(x, f) == approx(theirs(x, f)), name


def test_nan_bearing_series_follow_empyrical() -> None:
    x = pd.Series([0.01, np.nan, -0.02, 0.03, np.nan, -0.01, 0.02])
    f = pd.Series([0.005, 0.01, np.nan, 0.02, -0.01, -0.005, 0.01])
    for name, (ours, theirs) in SCALARS.items():
        assert ours(x, f) == approx(theirs(x, f)), name
    # compounding and drawdowns treat a NaN return as 0
    assert m.cum_returns(x).to_numpy() == approx(ep.cum_returns(x).to_numpy())
    assert m.max_drawdown(x) == approx(m.max_drawdown(x.fillna(0)))
    # all-NaN: compounded 0, no drawdown, undefined moments
    nan = pd.Series([np.nan] * 4)
    assert m.cum_returns_final(nan) == 0.0 and m.max_drawdown(nan) == 0.0
    for fn in (m.annual_volatility, m.sharpe_ratio, m.value_at_risk, m.tail_ratio,
               m.conditional_value_at_risk, m.parametric_var):  # fmt: skip
        assert math.isnan(fn(nan)), fn
    # a missing value is a NaN return that day and the next; TWR is then undefined
    assert np.isnan(m.daily_returns([100.0, np.nan, 110.0])[1:]).all()
    assert math.isnan(m.twr([100.0, np.nan, 110.0]))
    assert m.twr([100.0, 110.0], [100.0, np.nan]) == approx(0.1)  # NaN flow = no flow


def test_rolling_handles_constant_and_gappy_windows_like_empyrical() -> None:
    """Constant windows (zero dispersion) and windows with few values go the exact way."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 0.01, 300)
    x[50:120] = 0.0  # a suspended stock: zero returns
    x[200:230] = 0.004  # a constant positive stretch
    x[[10, 11, 12, 250]] = np.nan
    s = pd.Series(x)
    for window in (2, 5, 30):
        assert m.roll_sharpe_ratio(s, window).to_numpy() == approx(
            ep.roll_sharpe_ratio(s, window).to_numpy(), rel=1e-9
        )
        assert m.roll_annual_volatility(s, window).to_numpy() == approx(
            ep.roll_annual_volatility(s, window).to_numpy(), rel=1e-9, abs_=1e-15
        )
        f = pd.Series(np.where(np.arange(300) < 150, 0.001, rng.normal(0, 0.01, 300)))
        assert m.roll_beta(s, f, window).to_numpy() == approx(
            ep.roll_beta(s, f, window).to_numpy(), rel=1e-8, abs_=1e-10
        )


def test_roll_max_drawdown_handles_total_losses() -> None:
    x = pd.Series([0.1, -1.0, 0.5, 0.2, -0.3, 0.1, -1.2, 0.3])
    for window in (1, 2, 3, 8):
        assert m.roll_max_drawdown(x, window).to_numpy() == approx(
            ep.roll_max_drawdown(x, window).to_numpy()
        )
    assert m.max_drawdown(x) == approx(ep.max_drawdown(x))


def test_unsupported_inputs() -> None:
    with pytest.raises(TypeError, match="unsupported"):
        m.sharpe_ratio("abc")
    with pytest.raises(ValueError, match="2-D"):
        m.sharpe_ratio(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="non-numeric"):
        m.sharpe_ratio(pl.DataFrame({"date": [D(2024, 1, 1)], "name": ["x"]}))
    with pytest.raises(ValueError, match="columns"):
        m.beta(PANEL, PANEL.iloc[:, :2])
