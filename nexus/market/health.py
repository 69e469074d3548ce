"""Data health: freshness and coverage of the stored daily bars, per symbol.

Trading days here are weekdays (the demo calendar; real exchanges' holidays therefore
show up as gaps of one day, which is what the Data health page is meant to surface).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from nexus.market.snapshot import SnapshotReader

HEALTH_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "name": pl.String(),
    "first_date": pl.Date(),
    "last_date": pl.Date(),
    "staleness_days": pl.Int64(),  # weekdays after last_date up to as_of
    "provider": pl.String(),  # provider of the latest bar
    "bars": pl.Int64(),
    "gaps": pl.Int64(),  # weekdays between first_date and last_date without a bar
    "filled": pl.Int64(),  # forward-filled rows
    "fetched_at": pl.Datetime("us"),  # newest fetch of the symbol's bars, naive UTC
}

# Weekdays in [1900-01-01 (a Monday), d): 5 per whole week plus the rest, at most 5.
_WEEKDAYS_BEFORE = (
    "(5 * (({d} - DATE '1900-01-01') // 7) + least(({d} - DATE '1900-01-01') % 7, 5))"
)


def _weekdays_before(expr: str) -> str:
    return _WEEKDAYS_BEFORE.format(d=expr)


def data_health(reader: SnapshotReader, as_of: date | None = None) -> pl.DataFrame:
    """One row per symbol with bars, stalest first (see :data:`HEALTH_SCHEMA`).

    ``as_of`` (default today, UTC) is the day staleness is counted to: a symbol whose last
    bar is the last weekday on or before ``as_of`` has ``staleness_days == 0``.
    """
    as_of = as_of or datetime.now(UTC).date()
    last_plus = _weekdays_before("(last_date + 1)")
    first_ = _weekdays_before("first_date")
    today_plus = _weekdays_before("(a.as_of + 1)")
    frame = reader.query(
        f"""
        WITH a AS (SELECT ?::DATE AS as_of),
        per_symbol AS (
            SELECT symbol, min(date) AS first_date, max(date) AS last_date,
                   arg_max(provider, date) AS provider, count(*) AS bars,
                   count(*) FILTER (WHERE isodow(date) <= 5) AS weekday_bars,
                   count(*) FILTER (WHERE filled) AS filled, max(fetched_at) AS fetched_at
            FROM bars GROUP BY symbol
        )
        SELECT p.symbol, s.name, p.first_date, p.last_date,
               greatest({today_plus} - {last_plus}, 0) AS staleness_days,
               p.provider, p.bars,
               greatest({last_plus} - {first_} - p.weekday_bars, 0) AS gaps,
               p.filled, p.fetched_at
        FROM per_symbol p CROSS JOIN a LEFT JOIN symbols s USING (symbol)
        ORDER BY staleness_days DESC, gaps DESC, p.symbol
        """,  # noqa: S608 - fixed SQL fragments, the date is a parameter
        [as_of],
    )
    return frame.cast(HEALTH_SCHEMA)
