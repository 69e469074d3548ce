"""News headlines stored by the ``news`` ingest job (``news`` table of the history file)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from nexus.market.snapshot import SnapshotReader

NEWS_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "published_at": pl.Datetime("us"),  # naive UTC
    "symbol": pl.String(),  # null: market-wide
    "title": pl.String(),
    "source": pl.String(),
    "url": pl.String(),
    "summary": pl.String(),
    "provider": pl.String(),
}


def news(
    reader: SnapshotReader,
    symbols: Sequence[str] | None = None,
    limit: int = 50,
    *,
    since: datetime | None = None,
) -> pl.DataFrame:
    """The newest ``limit`` articles, newest first.

    ``symbols`` None: every article (market-wide included); a list: articles about those
    symbols only. ``since`` (naive UTC) drops older articles. Titles and summaries come
    from third parties: render them as text, never as HTML.
    """
    wanted = None if symbols is None else list(symbols)
    frame = reader.query(
        """
        SELECT id, published_at, symbol, title, source, url, summary, provider
        FROM news
        WHERE (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], symbol))
          AND (?::TIMESTAMP IS NULL OR published_at >= ?::TIMESTAMP)
        ORDER BY published_at DESC, id
        LIMIT ?
        """,
        [wanted, wanted, since, since, max(0, int(limit))],
    )
    return frame.cast(NEWS_SCHEMA)
