"""Report ranges and calendar return tables, worked by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nexus.analytics.periods import (
    MONTHLY_SCHEMA,
    YEARLY_SCHEMA,
    Range,
    Window,
    monthly_returns_table,
    range_window,
    slice_window,
    yearly_returns,
)

D = dt.date
AS_OF = D(2026, 11, 25)  # a Wednesday
FIRST = D(2020, 1, 2)


# --------------------------------------------------------------------------- range_window


@pytest.mark.parametrize(
    ("code", "as_of", "start"),
    [
        ("1D", AS_OF, D(2026, 11, 24)),
        ("1D", D(2026, 11, 23), D(2026, 11, 20)),  # Monday -> Friday
        ("1D", D(2026, 11, 28), D(2026, 11, 26)),  # Saturday reports Friday's day
        ("1W", AS_OF, D(2026, 11, 18)),
        ("MTD", AS_OF, D(2026, 10, 31)),
        ("MTD", D(2026, 3, 15), D(2026, 2, 28)),
        ("MTD", D(2024, 3, 1), D(2024, 2, 29)),
        ("MTD", D(2026, 1, 9), D(2025, 12, 31)),
        ("YTD", AS_OF, D(2025, 12, 31)),
        ("1Y", AS_OF, D(2025, 11, 25)),
        ("3Y", AS_OF, D(2023, 11, 25)),
        ("5Y", AS_OF, D(2021, 11, 25)),
        ("1Y", D(2024, 2, 29), D(2023, 2, 28)),  # Feb 29 -> Feb 28
        ("3Y", D(2024, 2, 29), D(2021, 2, 28)),
        ("1Y", D(2025, 2, 28), D(2024, 2, 28)),  # not pulled to the leap day
        ("MAX", AS_OF, FIRST),
    ],
)
def test_opening_valuation_per_code(code, as_of, start):
    window = range_window(code, as_of, FIRST)
    assert window.start == start
    assert window.end == as_of
    assert window.clamped is False


def test_labels():
    assert range_window("YTD", AS_OF, FIRST).label == "YTD 2026"
    assert range_window("1Y", AS_OF, FIRST).label == "1Y to 25 Nov 2026"
    assert range_window("MTD", AS_OF, FIRST).label == "MTD Nov 2026"
    assert range_window("MAX", AS_OF, D(2022, 1, 3)).label == "Since 3 Jan 2022"
    custom = range_window("CUSTOM", AS_OF, FIRST, D(2025, 1, 3), D(2025, 6, 30))
    assert custom.label == "3 Jan 2025 to 30 Jun 2025"


def test_code_accepts_enum_and_any_case():
    assert range_window(Range.YTD, AS_OF, FIRST) == range_window("ytd", AS_OF, FIRST)
    assert Range.THREE_YEARS == "3Y"
    assert [r.value for r in Range] == [
        "1D",
        "1W",
        "MTD",
        "YTD",
        "1Y",
        "3Y",
        "5Y",
        "MAX",
        "CUSTOM",
    ]


def test_start_is_clamped_to_first_valuation():
    first = D(2024, 1, 3)
    window = range_window("5Y", AS_OF, first)
    assert window == Window(
        start=first, end=AS_OF, clamped=True, label="5Y to 25 Nov 2026 (since 3 Jan 2024)"
    )
    ytd = range_window("YTD", AS_OF, D(2026, 3, 2))
    assert (ytd.start, ytd.clamped) == (D(2026, 3, 2), True)
    # MAX opens exactly at the first valuation: not a clamp.
    assert range_window("MAX", AS_OF, first).clamped is False
    # a range that starts on the first valuation date is not clamped either
    assert range_window("1Y", AS_OF, D(2025, 11, 25)).clamped is False


def test_custom_range_and_its_clamp():
    window = range_window("CUSTOM", AS_OF, D(2025, 3, 3), D(2025, 1, 1), D(2025, 12, 31))
    assert (window.start, window.end, window.clamped) == (D(2025, 3, 3), D(2025, 12, 31), True)
    plain = range_window("CUSTOM", AS_OF, FIRST, D(2025, 1, 1), AS_OF)
    assert (plain.start, plain.end, plain.clamped) == (D(2025, 1, 1), AS_OF, False)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (None, D(2025, 1, 1), "needs both a start and an end"),
        (D(2025, 1, 1), None, "needs both a start and an end"),
        (D(2025, 6, 1), D(2025, 6, 1), "must be before its end"),
        (D(2025, 6, 2), D(2025, 6, 1), "must be before its end"),
        (D(2025, 6, 1), D(2026, 12, 1), "after the latest valuation"),
        (D(2019, 1, 1), D(2019, 12, 31), "on or before the first valuation"),
    ],
)
def test_custom_range_errors(start, end, message):
    with pytest.raises(ValueError, match=message):
        range_window("CUSTOM", AS_OF, FIRST, start, end)


def test_invalid_code_and_dates():
    with pytest.raises(ValueError, match="unknown range code '2Y'"):
        range_window("2Y", AS_OF, FIRST)
    with pytest.raises(ValueError, match="after the as-of date"):
        range_window("YTD", AS_OF, D(2026, 12, 1))


def test_window_unpacks_as_start_end():
    start, end = range_window("YTD", AS_OF, FIRST)
    assert (start, end) == (D(2025, 12, 31), AS_OF)


def test_datetime_inputs_are_dates():
    window = range_window("1W", dt.datetime(2026, 11, 25, 21, 40), dt.datetime(2020, 1, 2, 9))
    assert (window.start, window.end) == (D(2026, 11, 18), AS_OF)


# --------------------------------------------------------------------------- slice_window


def business_days(start: dt.date, end: dt.date) -> pl.DataFrame:
    days = pl.date_range(start, end, "1d", eager=True).alias("date").to_frame()
    days = days.filter(pl.col("date").dt.weekday() <= 5)
    return days.with_columns(pl.int_range(pl.len()).cast(pl.Float64).alias("total_value"))


def test_slice_opens_at_the_latest_valuation_on_or_before_start():
    daily = business_days(D(2026, 2, 20), D(2026, 3, 6)).reverse()  # unsorted on purpose
    window = range_window("MTD", D(2026, 3, 4), FIRST)  # opens Sat 2026-02-28
    assert window.start == D(2026, 2, 28)
    sliced = slice_window(daily, window)
    assert sliced["date"].to_list() == [
        D(2026, 2, 27),  # Friday close = the opening valuation
        D(2026, 3, 2),
        D(2026, 3, 3),
        D(2026, 3, 4),
    ]


def test_slice_ytd_includes_the_december_31_close():
    daily = business_days(D(2025, 12, 24), D(2026, 1, 6))
    sliced = slice_window(daily, range_window("YTD", D(2026, 1, 6), FIRST))
    assert sliced["date"][0] == D(2025, 12, 31)
    assert sliced["date"][-1] == D(2026, 1, 6)
    assert sliced.height == 5  # Dec 31, Jan 1, 2, 5, 6


def test_slice_without_an_earlier_row_starts_at_the_window_start():
    daily = business_days(D(2026, 1, 5), D(2026, 1, 9))
    window = Window(start=D(2026, 1, 1), end=D(2026, 1, 7), clamped=False, label="x")
    assert slice_window(daily, window)["date"].to_list() == [
        D(2026, 1, 5),
        D(2026, 1, 6),
        D(2026, 1, 7),
    ]
    assert slice_window(daily.clear(), window).is_empty()
    with pytest.raises(ValueError, match="date"):
        slice_window(daily.rename({"date": "day"}), window)


# --------------------------------------------------------------------------- monthly table


def daily_returns() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [
                D(2025, 12, 30),
                D(2025, 12, 31),
                D(2026, 1, 2),
                D(2026, 1, 5),
                D(2026, 2, 2),
                D(2026, 2, 3),
            ],
            "return": [0.02, 0.02, 0.10, -0.10, 0.05, None],
        }
    )


def test_monthly_returns_compound_within_each_month():
    table = monthly_returns_table(daily_returns())
    assert table.schema == pl.Schema(MONTHLY_SCHEMA)
    assert table["year"].to_list() == [2025, 2026, 2026]
    assert table["month"].to_list() == [12, 1, 2]
    # Dec: 1.02 * 1.02 - 1; Jan: 1.10 * 0.90 - 1 (not the 0.0 a plain sum gives); Feb: 0.05
    assert table["return"].to_list() == pytest.approx([0.0404, -0.01, 0.05])


def test_yearly_returns_compound_within_each_year():
    table = yearly_returns(daily_returns().reverse())
    assert table.schema == pl.Schema(YEARLY_SCHEMA)
    assert table["year"].to_list() == [2025, 2026]
    # 2026: 1.10 * 0.90 * 1.05 - 1 = 0.0395
    assert table["return"].to_list() == pytest.approx([0.0404, 0.0395])


def test_return_tables_of_nothing_are_empty():
    empty = pl.DataFrame(schema={"date": pl.Date, "return": pl.Float64})
    assert monthly_returns_table(empty).is_empty()
    assert yearly_returns(empty).schema == pl.Schema(YEARLY_SCHEMA)
    with pytest.raises(ValueError, match="return"):
        monthly_returns_table(pl.DataFrame({"date": [D(2026, 1, 2)]}))
