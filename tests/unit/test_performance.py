"""Window returns by every method, per key, per range; benchmark alignment; risk report."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from nexus.analytics.performance import (
    align_returns,
    benchmark_series,
    keyed_returns,
    return_series,
    returns_table,
    window_returns,
)
from nexus.analytics.periods import Range, Window, range_window
from nexus.analytics.risk import RISK_METRICS, risk_report

MON = date(2026, 1, 5)
DAYS = [MON + timedelta(days=i) for i in range(4)]  # Mon..Thu


def daily(values, flows, income=None, days=DAYS) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": days,
            "total_value": [float(v) for v in values],
            "net_flows": [float(f) for f in flows],
            "income": [float(i) for i in (income or [0.0] * len(values))],
        }
    )


def window(start=DAYS[0], end=DAYS[-1]) -> Window:
    return Window(start, end, False, "test")


# Opening 100 (its deposit inside); +10 %; a 50 deposit at the start of Wednesday and a
# flat day; -10 % on Thursday.
CASE = daily([100, 110, 160, 144], [100, 0, 50, 0])


def test_window_returns_by_every_method_worked_by_hand():
    # history from the Friday before; the window opens at Monday's close (100), so only
    # Wednesday's 50 is a flow of the window
    friday = DAYS[0] - timedelta(days=3)
    got = window_returns(
        daily([90, 100, 110, 160, 144], [90, 0, 0, 50, 0], days=[friday, *DAYS]), window()
    )
    assert got.twr == pytest.approx(1.1 * 1.0 * 0.9 - 1)  # -1 %
    # gain = 144 - 100 - 50 = -6; the Wednesday flow is invested 2 of the 3 days
    assert got.gain == pytest.approx(-6)
    assert got.modified_dietz == pytest.approx(-6 / (100 + 50 * 2 / 3))
    assert got.simple == pytest.approx(-6 / (100 + 50))
    assert (got.start, got.end, got.days) == (DAYS[0], DAYS[-1], 3)
    assert (got.start_value, got.end_value, got.net_flows) == (100, 144, 50)
    # XIRR: the schedule -100 (Mon), -50 (Wed), +144 (Thu) has zero NPV at the rate
    rate = (1 + got.mwr) ** (365 / 3) - 1
    npv = -100 - 50 / (1 + rate) ** (2 / 365) + 144 / (1 + rate) ** (3 / 365)
    assert npv == pytest.approx(0, abs=1e-6)
    assert math.isnan(got.xirr)  # not annualised for a window under a year
    # money-weighted is hurt more than TWR: the extra 50 arrived just before the loss
    assert got.mwr < got.twr


def test_a_window_from_the_first_day_is_measured_since_inception():
    got = window_returns(CASE, window())
    # opens at 0 on Sunday; Monday's 100 and Wednesday's 50 are both flows of the window
    assert (got.start, got.start_value, got.net_flows, got.days) == (
        DAYS[0] - timedelta(days=1), 0, 150, 4,
    )  # fmt: skip
    assert got.twr == pytest.approx(1.0 * 1.1 * 1.0 * 0.9 - 1)  # Monday: flat on its inflow
    # span 4 days: Monday's flow weighs (4-1+1)/4 = 1, Wednesday's (4-3+1)/4 = 0.5
    assert got.modified_dietz == pytest.approx(-6 / (100 * 1 + 50 * 0.5))
    assert got.simple == pytest.approx(-6 / 150)


def test_price_basis_takes_income_out():
    # Thursday: the holdings fall 20 and a 4 dividend lands in cash inside the value
    with_income = daily([100, 110, 160, 144], [100, 0, 50, 0], [0, 0, 0, 4])
    total = window_returns(with_income, window())
    price = window_returns(with_income, window(), basis="price")
    assert total.twr == pytest.approx(1.1 * 0.9 - 1)
    assert price.twr == pytest.approx(1.1 * ((144 - 4) / 160) - 1)
    assert price.income == total.income == 4


def test_a_window_starting_between_valuations_opens_at_the_last_one_before():
    inner = window_returns(CASE, window(start=DAYS[1]))
    assert inner.start == DAYS[1]
    assert inner.twr == pytest.approx(1.0 * 0.9 - 1)


def test_too_short_a_window_gives_nan_not_an_error():
    got = window_returns(CASE, window(start=DAYS[3], end=DAYS[3]))
    assert math.isnan(got.twr) and math.isnan(got.modified_dietz)


def test_keyed_returns_match_each_key_alone():
    # holding A: 100 → 110 → 121 (+10 % a day); holding B bought on Tuesday for 50, flat,
    # then sold on Thursday for 55 (its value drops to 0, proceeds are an outflow)
    by_key = pl.DataFrame(
        {
            "date": DAYS * 2,
            "key": ["A"] * 4 + ["B"] * 4,
            "value": [100.0, 110.0, 121.0, 121.0, 0.0, 50.0, 50.0, 0.0],
            "net_flows": [100.0, 0.0, 0.0, 0.0, 0.0, 50.0, 0.0, -55.0],
            "income": [0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    got = keyed_returns(by_key, window(), income_in_value=False)
    a = got.filter(pl.col("key") == "A").row(0, named=True)
    b = got.filter(pl.col("key") == "B").row(0, named=True)
    # A: +10 %, +10 %, then flat with a 2 dividend that left the holding (total basis)
    assert a["twr"] == pytest.approx(1.1 * 1.1 * (123 / 121) - 1)
    assert a["gain"] == pytest.approx(121 - 100 + 2)
    # B: opened at 0, bought for 50 at the start of Tuesday, flat, sold for 55: gain 5
    assert b["gain"] == pytest.approx(0 - 0 - (50 - 55))
    assert b["simple"] == pytest.approx(5 / 50)
    price = keyed_returns(by_key, window(), basis="price", income_in_value=False)
    assert price.filter(pl.col("key") == "A")["twr"][0] == pytest.approx(0.21)
    assert got["key"].to_list() == ["A", "B"]  # largest end value first


def test_keys_idle_in_the_window_are_left_out():
    by_key = pl.DataFrame(
        {
            "date": DAYS * 2,
            "key": ["A"] * 4 + ["Z"] * 4,
            "value": [100.0, 110.0, 121.0, 121.0] + [0.0] * 4,
            "net_flows": [0.0] * 8,
            "income": [0.0] * 8,
        }
    )
    assert keyed_returns(by_key, window(), income_in_value=True)["key"].to_list() == ["A"]


def test_returns_table_rows_agree_with_their_windows():
    days = pl.date_range(date(2024, 1, 1), date(2026, 11, 25), eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    n = days.len()
    values = [1000.0 * (1.0003**i) for i in range(n)]
    frame = pl.DataFrame(
        {
            "date": days,
            "total_value": values,
            "net_flows": [1000.0] + [0.0] * (n - 1),
            "income": [0.0] * n,
        }
    )
    table = returns_table(frame, as_of=date(2026, 11, 25))
    assert table["range"].to_list() == ["1D", "1W", "MTD", "YTD", "1Y", "MAX"]  # no 3Y/5Y
    ytd = table.filter(pl.col("range") == "YTD").row(0, named=True)
    assert ytd["start"] == date(2025, 12, 31)
    expected = window_returns(frame, range_window(Range.YTD, date(2026, 11, 25), days[0]))
    assert ytd["twr"] == pytest.approx(expected.twr)
    one_day = table.filter(pl.col("range") == "1D").row(0, named=True)
    assert one_day["twr"] == pytest.approx(0.0003)
    assert table.filter(pl.col("range") == "MAX")["clamped"][0] in (True, False)


def test_return_series_and_benchmark_alignment():
    series = return_series(CASE, window())
    assert series["return"].to_list() == pytest.approx([0.0, 0.1, 0.0, -0.1])  # inception
    series = series.slice(1)
    assert series["cumulative"][-1] == pytest.approx(-0.01)
    # benchmark: no price on Wednesday (holiday); Thursday's move covers two days
    bars = pl.DataFrame(
        {
            "date": [DAYS[0], DAYS[1], DAYS[3]],
            "close": [50.0, 55.0, 44.0],
            "adj_close": [50.0, 55.0, 60.5],
        }
    )
    bench = benchmark_series(bars, window())
    assert bench["return"].to_list() == pytest.approx([0.1, 0.1])
    price = benchmark_series(bars, window(), basis="price")
    assert price["cumulative"][-1] == pytest.approx(44 / 50 - 1)
    aligned = align_returns(series, bench)
    assert aligned["date"].to_list() == DAYS[1:]
    assert aligned["benchmark"].to_list() == pytest.approx([0.1, 0.0, 0.1])


def test_risk_report_hand_checked_values():
    r = [0.1, -0.5, 0.2, 0.1]
    report = risk_report(r, benchmark=[0.05, -0.25, 0.1, 0.05])
    v = report.values
    # wealth 1.1, 0.55, 0.66, 0.726: peak 1.1, trough 0.55 → -50 %, not recovered
    assert v["max_drawdown"] == pytest.approx(-0.5)
    assert v["drawdown_days"] == 1 and math.isnan(v["recovery_days"])
    assert v["cumulative_return"] == pytest.approx(0.726 - 1)
    assert v["beta"] == pytest.approx(2.0)  # r is exactly twice the benchmark
    assert v["correlation"] == pytest.approx(1.0)
    frame = report.frame()
    assert frame["metric"].to_list() == [k for k in RISK_METRICS if k in v]
    with pytest.raises(ValueError, match="benchmark"):
        risk_report(r, benchmark=[0.1])


def test_risk_report_of_nothing_is_all_nan():
    report = risk_report([])
    assert report.observations == 0
    for key in ("annual_return", "annual_volatility", "sharpe_ratio", "max_drawdown"):
        assert math.isnan(report.values[key]), key
