"""Latest quotes from the published live file (``live.duckdb``, republished every few
seconds by the ``quotes`` ingest job)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from nexus.market.snapshot import SnapshotReader

QUOTES_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "price": pl.Float64(),
    "previous_close": pl.Float64(),
    "change": pl.Float64(),  # price - previous_close
    "change_pct": pl.Float64(),  # a fraction: 0.0123 = +1.23 %
    "ts": pl.Datetime("us"),  # time of the price, naive UTC
    "provider": pl.String(),
    "currency": pl.String(),
}


def latest_quotes(reader: SnapshotReader, symbols: Sequence[str] | None = None) -> pl.DataFrame:
    """The latest quote of each of ``symbols`` (None: every symbol), ordered by symbol.

    ``change``/``change_pct`` are against the previous close and null when it is unknown.
    Symbols without a quote are absent. Raises
    :class:`~nexus.market.snapshot.SnapshotMissing` when no live file has been published.
    """
    wanted = None if symbols is None else list(symbols)
    frame = reader.query(
        """
        SELECT * FROM quotes
        WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], symbol)
        ORDER BY symbol
        """,
        [wanted, wanted],
    )
    if "previous_close" not in frame.columns:  # a live file from before previous_close
        frame = frame.with_columns(pl.lit(None, pl.Float64()).alias("previous_close"))
    previous = pl.when(pl.col("previous_close") > 0).then(pl.col("previous_close"))
    return frame.select(
        "symbol",
        "price",
        "previous_close",
        (pl.col("price") - previous).alias("change"),
        (pl.col("price") / previous - 1).alias("change_pct"),
        "ts",
        "provider",
        "currency",
    ).cast(QUOTES_SCHEMA)
