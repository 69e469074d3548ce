"""Cached access to the library for pages: repository, market snapshot, valuation inputs.

Market results are cached by snapshot sequence number, so a new publish invalidates them
without a timer; portfolio records are read fresh on every run (they are small and must
never be stale after an edit).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

from nexus.analytics.valuation import fx_rate_on
from nexus.auth.models import Actor
from nexus.db.engine import get_engine
from nexus.market import prices
from nexus.market.snapshot import SnapshotMissing, SnapshotReader
from nexus.portfolio.model import InstrumentInfo, TransactionDraft
from nexus.portfolio.repository import PortfolioRepository
from nexus.portfolio.watchlist import Watchlist
from nexus.settings import get_settings


@st.cache_resource
def repository() -> PortfolioRepository:
    return PortfolioRepository(get_engine(get_settings()))


@st.cache_resource
def market_reader() -> SnapshotReader:
    """One read-only reader per process; it reopens the file when a new snapshot lands."""
    return SnapshotReader(get_settings().history_path)


def snapshot() -> prices.SnapshotInfo | None:
    """Identity and dates of the published market snapshot, ``None`` if none yet."""
    try:
        return prices.snapshot_info(market_reader())
    except SnapshotMissing:
        return None


@st.cache_data(max_entries=16, show_spinner=False)
def symbols(seq: int) -> pl.DataFrame:
    """The snapshot's ``symbols`` table (``seq`` keys the cache to the snapshot)."""
    return prices.symbols(market_reader())


@st.cache_data(max_entries=16, show_spinner=False)
def instruments(seq: int) -> dict[str, InstrumentInfo]:
    """Symbols known to the market data (``seq`` keys the cache to the snapshot)."""
    frame = symbols(seq)
    return {
        r["symbol"]: InstrumentInfo(r["symbol"], r["name"], r["currency"], r["asset_class"])
        for r in frame.iter_rows(named=True)
    }


@st.cache_data(max_entries=256, show_spinner=False)
def market_inputs(
    seq: int, symbols: tuple[str, ...], currencies: tuple[str, ...], base: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Closes for ``symbols`` and FX to ``base`` for ``currencies`` from the snapshot."""
    reader = market_reader()
    closes = prices.closes(reader, list(symbols))
    fx = prices.fx_to_base(reader, base, list(currencies))
    return closes, fx


@st.cache_data(max_entries=64, show_spinner=False)
def fx_history(seq: int, base: str, currencies: tuple[str, ...]) -> pl.DataFrame:
    """FX to ``base`` for ``currencies`` from snapshot ``seq`` (``seq`` keys the cache)."""
    return prices.fx_to_base(market_reader(), base, list(currencies))


def market_fx_rate(seq: int, base: str, currency: str, day: date) -> float | None:
    """The market rate (``base`` per 1 ``currency``) for a transaction dated ``day``."""
    if currency == base:
        return 1.0
    return fx_rate_on(fx_history(seq, base, (currency,)), currency, day, base_currency=base)


def with_market_fx(
    drafts: Sequence[TransactionDraft], base: str, seq: int
) -> list[TransactionDraft]:
    """Fill each draft's empty ``fx_rate`` (non-base currency only) from the market data,
    so the ledger records the rate of the trade date; the repository stores what it gets."""
    return [
        dataclasses.replace(d, fx_rate=market_fx_rate(seq, base, d.currency, d.trade_date))
        if d.fx_rate is None and d.currency and d.currency != base and d.kind != "split"
        else d
        for d in drafts
    ]


@dataclass(frozen=True)
class PortfolioInputs:
    transactions: pl.DataFrame
    closes: pl.DataFrame
    fx: pl.DataFrame
    base_currency: str
    lot_method: str = "fifo"


def portfolio_inputs(
    actor: Actor, portfolio_id: uuid.UUID, info: prices.SnapshotInfo
) -> PortfolioInputs:
    repo = repository()
    portfolio = repo.get_portfolio(actor, portfolio_id)
    txns = repo.transactions_frame(actor, portfolio_id)
    symbols = tuple(sorted(s for s in txns["symbol"].unique().to_list() if s))
    currencies = tuple(sorted({*txns["currency"].unique().to_list(), portfolio.base_currency}))
    closes, fx = market_inputs(info.seq, symbols, currencies, portfolio.base_currency)
    return PortfolioInputs(txns, closes, fx, portfolio.base_currency, portfolio.lot_method)


@st.cache_resource
def live_reader() -> SnapshotReader:
    """Reader of the small live-quotes file, republished every few seconds by ingest."""
    return SnapshotReader(get_settings().live_path)


@st.cache_resource
def watchlist() -> Watchlist:
    return Watchlist(get_engine(get_settings()))


@st.cache_data(max_entries=64, show_spinner=False)
def bars(seq: int, symbol: str) -> pl.DataFrame:
    """Daily bars of one symbol from snapshot ``seq``."""
    return prices.daily_bars(market_reader(), symbol)


@st.cache_data(max_entries=128, show_spinner=False)
def search(seq: int, text: str) -> pl.DataFrame:
    return prices.search_symbols(market_reader(), text)
