"""Macro series stored by the ``macro`` ingest job (``macro_observations``: FRED ids)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from nexus.market.snapshot import SnapshotReader

SERIES_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "value": pl.Float64(),  # null: no observation (FRED ".")
    "provider": pl.String(),
}
LATEST_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "date": pl.Date(),
    "value": pl.Float64(),
    "previous_date": pl.Date(),
    "previous_value": pl.Float64(),
    "change": pl.Float64(),  # value - previous_value, in the series' units
    "provider": pl.String(),
}


def macro_series(
    reader: SnapshotReader, series_id: str, start: date | None = None, end: date | None = None
) -> pl.DataFrame:
    """Observations ``[date, value, provider]`` of one series, oldest first."""
    frame = reader.query(
        """
        SELECT date, value, provider FROM macro_observations
        WHERE series_id = ?
          AND (?::DATE IS NULL OR date >= ?::DATE)
          AND (?::DATE IS NULL OR date <= ?::DATE)
        ORDER BY date
        """,
        [series_id, start, start, end, end],
    )
    return frame.cast(SERIES_SCHEMA)


def macro_latest(reader: SnapshotReader, series_ids: Sequence[str]) -> pl.DataFrame:
    """The latest non-null observation of each series with the one before it, in the
    order of ``series_ids``; series without observations are absent."""
    frame = reader.query(
        """
        WITH ranked AS (
            SELECT series_id, date, value, provider,
                   row_number() OVER (PARTITION BY series_id ORDER BY date DESC) AS n
            FROM macro_observations
            WHERE list_contains(?::VARCHAR[], series_id) AND value IS NOT NULL
        )
        SELECT l.series_id, l.date, l.value, p.date AS previous_date,
               p.value AS previous_value, l.value - p.value AS change, l.provider
        FROM ranked l LEFT JOIN ranked p ON p.series_id = l.series_id AND p.n = 2
        WHERE l.n = 1
        ORDER BY list_position(?::VARCHAR[], l.series_id)
        """,
        [list(series_ids), list(series_ids)],
    )
    return frame.cast(LATEST_SCHEMA)
