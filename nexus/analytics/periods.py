"""Report ranges (1D ... MAX, custom) and calendar return tables.

Pure functions over polars frames: no I/O, no Streamlit, no module state.

Conventions
-----------
* A window is ``(start, end]`` in the performance-tool sense: ``start`` is the **opening
  valuation date** - the last valuation date *before* the period - and ``end`` its last
  day, so the period's return is ``value(end) / value(start) - 1`` (net of flows). For
  example YTD on 2026-11-25 opens at the close of 2025-12-31.
* Business days are Monday-Friday (the valuation calendar of
  :func:`nexus.analytics.valuation.daily_values`); a start date that is not a valuation
  date resolves to the latest valuation on or before it (:func:`slice_window`).
* Returns are fractions (``0.05`` = 5 %); monthly and yearly figures compound the daily
  ones: ``prod(1 + r) - 1``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

MONTHLY_SCHEMA: dict[str, pl.DataType] = {
    "year": pl.Int32(),
    "month": pl.Int32(),
    "return": pl.Float64(),
}
YEARLY_SCHEMA: dict[str, pl.DataType] = {"year": pl.Int32(), "return": pl.Float64()}


class Range(StrEnum):
    """Report range codes (the value is what the UI shows)."""

    ONE_DAY = "1D"
    ONE_WEEK = "1W"
    MTD = "MTD"
    YTD = "YTD"
    ONE_YEAR = "1Y"
    THREE_YEARS = "3Y"
    FIVE_YEARS = "5Y"
    MAX = "MAX"
    CUSTOM = "CUSTOM"


_YEARS: dict[Range, int] = {Range.ONE_YEAR: 1, Range.THREE_YEARS: 3, Range.FIVE_YEARS: 5}


@dataclass(frozen=True)
class Window:
    """A report window; unpacks as ``(start, end)``.

    Attributes:
        start: opening valuation date (the close *before* the period starts).
        end: last date of the period (inclusive).
        clamped: ``start`` was moved forward to the first valuation date because the
            portfolio is younger than the range (the period is shorter than its code says).
        label: human label, e.g. ``"YTD 2026"``, ``"1Y to 25 Nov 2026"``; a clamped window
            adds ``" (since 3 Jan 2025)"``.
    """

    start: dt.date
    end: dt.date
    clamped: bool
    label: str

    def __iter__(self) -> Iterator[dt.date]:
        """Unpack as ``start, end = window``."""
        return iter((self.start, self.end))


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _fmt(day: dt.date) -> str:
    """``3 Jan 2026`` (no zero padding, locale independent)."""
    return f"{day.day} {day:%b %Y}"


def _previous_business_day(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _years_before(day: dt.date, years: int) -> dt.date:
    """Same calendar date ``years`` earlier; Feb 29 maps to Feb 28."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _parse_range(code: Range | str) -> Range:
    try:
        return Range(str(code).strip().upper())
    except ValueError:
        allowed = ", ".join(r.value for r in Range)
        raise ValueError(f"unknown range code {code!r}; expected one of {allowed}") from None


def range_window(
    code: Range | str,
    as_of: dt.date,
    first_date: dt.date,
    custom_start: dt.date | None = None,
    custom_end: dt.date | None = None,
) -> Window:
    """The :class:`Window` of ``code`` ending at ``as_of``.

    Opening valuation (``start``) per code: ``1D`` the business day before ``as_of``'s
    business day (a weekend ``as_of`` reports Friday's day, as
    :func:`nexus.analytics.valuation.summarise` does); ``1W`` ``as_of - 7`` days; ``MTD``
    the last day of the previous month; ``YTD`` Dec 31 of the previous year; ``1Y``/``3Y``/
    ``5Y`` the same calendar date N years earlier (Feb 29 -> Feb 28); ``MAX``
    ``first_date``; ``CUSTOM`` ``custom_start`` (the opening valuation) to ``custom_end``
    (inclusive). ``end`` is ``as_of`` except for ``CUSTOM``.

    A start before ``first_date`` (the portfolio's first valuation) is clamped to it and
    ``clamped`` is set.

    Raises:
        ValueError: unknown code; ``first_date`` after ``as_of``; for ``CUSTOM`` a missing
            date, ``custom_start`` not before ``custom_end``, ``custom_end`` after
            ``as_of`` or a range that ends before ``first_date``.
    """
    kind = _parse_range(code)
    as_of, first_date = _as_date(as_of), _as_date(first_date)
    if first_date > as_of:
        raise ValueError(f"first valuation date {first_date} is after the as-of date {as_of}")

    end = as_of
    if kind is Range.CUSTOM:
        if custom_start is None or custom_end is None:
            raise ValueError("a custom range needs both a start and an end date")
        start, end = _as_date(custom_start), _as_date(custom_end)
        if start >= end:
            raise ValueError(f"custom range start {start} must be before its end {end}")
        if end > as_of:
            raise ValueError(f"custom range end {end} is after the latest valuation {as_of}")
        if end <= first_date:
            raise ValueError(
                f"custom range ends on {end}, on or before the first valuation {first_date}"
            )
        label = f"{_fmt(start)} to {_fmt(end)}"
    elif kind is Range.ONE_DAY:
        business_day = as_of
        while business_day.weekday() >= 5:
            business_day -= dt.timedelta(days=1)
        start = _previous_business_day(business_day)
        label = f"1D to {_fmt(as_of)}"
    elif kind is Range.ONE_WEEK:
        start = as_of - dt.timedelta(days=7)
        label = f"1W to {_fmt(as_of)}"
    elif kind is Range.MTD:
        start = as_of.replace(day=1) - dt.timedelta(days=1)
        label = f"MTD {as_of:%b %Y}"
    elif kind is Range.YTD:
        start = dt.date(as_of.year - 1, 12, 31)
        label = f"YTD {as_of.year}"
    elif kind in _YEARS:
        start = _years_before(as_of, _YEARS[kind])
        label = f"{kind.value} to {_fmt(as_of)}"
    else:  # MAX
        start = first_date
        label = f"Since {_fmt(first_date)}"

    clamped = start < first_date
    if clamped:
        start = first_date
        label = f"{label} (since {_fmt(first_date)})"
    return Window(start=start, end=end, clamped=clamped, label=label)


def slice_window(daily: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Rows of ``daily`` (column ``date``) from the opening valuation through ``window.end``.

    The opening row is the latest row dated on or before ``window.start`` (e.g. Friday for
    a Saturday start); when no row is that early, the slice starts at ``window.start``.
    The result is sorted by date.

    Raises:
        ValueError: ``daily`` has no ``date`` column.
    """
    if "date" not in daily.columns:
        raise ValueError("daily frame is missing column: date")
    opening = daily.filter(pl.col("date") <= window.start).select(pl.col("date").max()).item()
    lower = window.start if opening is None else opening
    return daily.filter(pl.col("date").is_between(lower, window.end)).sort("date")


def _daily_returns(daily_returns: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("date", "return") if c not in daily_returns.columns]
    if missing:
        raise ValueError(f"daily returns frame is missing column(s): {', '.join(missing)}")
    return daily_returns.select(
        pl.col("date").cast(pl.Date), pl.col("return").cast(pl.Float64)
    ).filter(pl.col("return").is_not_null() & pl.col("return").is_not_nan())


_COMPOUNDED = ((pl.col("return") + 1.0).product() - 1.0).alias("return")


def monthly_returns_table(daily_returns: pl.DataFrame) -> pl.DataFrame:
    """Compounded calendar-month returns from daily returns.

    Args:
        daily_returns: ``date, return`` - one row per day, ``return`` a fraction. Null or
            NaN returns are skipped.

    Returns:
        :data:`MONTHLY_SCHEMA` (``year, month`` 1-12, ``return`` = ``prod(1 + r) - 1`` over
        the month's days), sorted by year and month; months without data have no row.
    """
    frame = _daily_returns(daily_returns)
    return (
        frame.group_by(
            pl.col("date").dt.year().cast(pl.Int32).alias("year"),
            pl.col("date").dt.month().cast(pl.Int32).alias("month"),
        )
        .agg(_COMPOUNDED)
        .sort("year", "month")
        .cast(MONTHLY_SCHEMA)
    )


def yearly_returns(daily_returns: pl.DataFrame) -> pl.DataFrame:
    """Compounded calendar-year returns (:data:`YEARLY_SCHEMA`) from ``date, return``.

    Same conventions as :func:`monthly_returns_table`; a partial first or last year is the
    return over the days it has.
    """
    frame = _daily_returns(daily_returns)
    return (
        frame.group_by(pl.col("date").dt.year().cast(pl.Int32).alias("year"))
        .agg(_COMPOUNDED)
        .sort("year")
        .cast(YEARLY_SCHEMA)
    )
