"""Market data queries for the app, against a :class:`~nexus.market.snapshot.SnapshotReader`.

Conventions (docs/contracts.md): dates are trading days (``date``), prices are in the
symbol's own currency, timestamps are naive UTC. The store keeps FX against USD
(``rate`` = quote units per 1 USD); cross rates are derived here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from nexus.market.snapshot import SnapshotReader

CLOSES_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "date": pl.Date(),
    "close": pl.Float64(),
    "currency": pl.String(),
}
FX_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "currency": pl.String(),
    "rate": pl.Float64(),
}


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """What a published snapshot holds (for "demo data · as of …" notes and status)."""

    path: Path
    seq: int
    published_at: datetime  # naive UTC
    providers: frozenset[str]
    first_date: date | None  # first bar date, None when there are no bars
    last_date: date | None
    symbol_count: int
    bar_count: int


def symbols(reader: SnapshotReader) -> pl.DataFrame:
    """The ``symbols`` table (one row per instrument), ordered by symbol."""
    return reader.query("SELECT * FROM symbols ORDER BY symbol")


def closes(
    reader: SnapshotReader,
    symbols: Sequence[str],
    start: date | None = None,
    end: date | None = None,
    *,
    adjusted: bool = False,
) -> pl.DataFrame:
    """Daily closes ``[symbol, date, close, currency]`` for ``start <= date <= end``
    (bounds optional), in each symbol's own currency, ordered by symbol and date.

    ``adjusted=True`` returns ``adj_close`` (dividend/split adjusted) in the ``close`` column.
    Unknown symbols are simply absent.
    """
    price = "b.adj_close" if adjusted else "b.close"
    frame = reader.query(
        f"""
        SELECT b.symbol, b.date, {price} AS close, s.currency
        FROM bars b JOIN symbols s USING (symbol)
        WHERE list_contains(?::VARCHAR[], b.symbol)
          AND (?::DATE IS NULL OR b.date >= ?::DATE)
          AND (?::DATE IS NULL OR b.date <= ?::DATE)
        ORDER BY b.symbol, b.date
        """,  # noqa: S608 - column name from a fixed choice
        [list(symbols), start, start, end, end],
    )
    return frame.cast(CLOSES_SCHEMA)


def fx_to_base(
    reader: SnapshotReader,
    base_currency: str,
    currencies: Sequence[str],
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """FX ``[date, currency, rate]`` with ``rate`` = ``base_currency`` units per 1 unit of
    ``currency`` (so ``value_in_base = value * rate``), on dates with stored USD rates.

    Cross rates come from USD rates: ``rate = usd_rate[base] / usd_rate[currency]`` where
    ``usd_rate[c]`` is c per 1 USD (1.0 for USD). The base itself has rate 1.0. Currencies
    without stored rates are absent.
    """
    frame = reader.query(
        """
        WITH days AS (
            SELECT DISTINCT date FROM fx_rates
            WHERE base = 'USD'
              AND (?::DATE IS NULL OR date >= ?::DATE)
              AND (?::DATE IS NULL OR date <= ?::DATE)
        ),
        per_usd AS (
            SELECT f.date, f.quote AS currency, f.rate
            FROM fx_rates f JOIN days USING (date)
            WHERE f.base = 'USD' AND f.quote <> 'USD'
            UNION ALL
            SELECT date, 'USD', 1.0 FROM days
        ),
        base AS (SELECT date, rate AS base_rate FROM per_usd WHERE currency = ?)
        SELECT p.date, p.currency,
               CASE WHEN p.currency = ? THEN 1.0 ELSE b.base_rate / p.rate END AS rate
        FROM per_usd p JOIN base b USING (date)
        WHERE list_contains(?::VARCHAR[], p.currency)
        ORDER BY p.date, p.currency
        """,
        [start, start, end, end, base_currency, base_currency, list(currencies)],
    )
    return frame.cast(FX_SCHEMA)


def snapshot_info(reader: SnapshotReader) -> SnapshotInfo:
    """Sequence, publish time, providers and bar date range of the current snapshot."""
    ((seq, published_at, providers, first, last, n_symbols, n_bars),) = reader.fetchall(
        """
        SELECT (SELECT max(seq) FROM snapshot_meta),
               (SELECT max(published_at) FROM snapshot_meta),
               (SELECT list(DISTINCT provider) FROM bars),
               min(date), max(date),
               (SELECT count(*) FROM symbols),
               count(*)
        FROM bars
        """
    )
    return SnapshotInfo(
        path=reader.path,
        seq=int(seq or 0),
        published_at=published_at,
        providers=frozenset(p for p in providers or () if p),
        first_date=first,
        last_date=last,
        symbol_count=int(n_symbols),
        bar_count=int(n_bars),
    )


def last_runs(reader: SnapshotReader, n: int = 10) -> pl.DataFrame:
    """The ``n`` most recent ingest runs (``ingest_runs`` columns), newest first."""
    return reader.query(
        "SELECT * FROM ingest_runs ORDER BY started_at DESC, run_id LIMIT ?", [int(n)]
    )


def daily_bars(
    reader: SnapshotReader, symbol: str, start: date | None = None, end: date | None = None
) -> pl.DataFrame:
    """OHLCV bars of one symbol (local currency), oldest first, with provider and fill flag."""
    sql = (
        "SELECT date, open, high, low, close, volume, provider, filled FROM bars "
        "WHERE symbol = ? AND (?::DATE IS NULL OR date >= ?) AND (?::DATE IS NULL OR date <= ?) "
        "ORDER BY date"
    )
    return reader.query(sql, [symbol, start, start, end, end])


def search_symbols(reader: SnapshotReader, text: str, *, limit: int = 20) -> pl.DataFrame:
    """Symbols whose ticker or name contains ``text`` (case-insensitive); exact ticker first."""
    needle = (text or "").strip()
    if not needle:
        return symbols(reader).head(0)
    sql = (
        "SELECT symbol, name, currency, asset_class, region, exchange FROM symbols "
        "WHERE symbol ILIKE ? OR name ILIKE ? "
        "ORDER BY (upper(symbol) = upper(?)) DESC, symbol LIMIT ?"
    )
    pattern = "%" + needle.replace("%", "").replace("_", "") + "%"
    return reader.query(sql, [pattern, pattern, needle, limit])
