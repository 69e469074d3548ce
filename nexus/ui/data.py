"""Cached access to the library for pages: repository, market snapshot, valuation inputs.

Market results are cached by snapshot sequence number, so a new publish invalidates them
without a timer; portfolio records are read fresh on every run (they are small and must
never be stale after an edit).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import polars as pl
import streamlit as st

from nexus.auth.models import Actor
from nexus.db.engine import get_engine
from nexus.market import prices
from nexus.market.snapshot import SnapshotMissing, SnapshotReader
from nexus.portfolio.model import InstrumentInfo
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
def instruments(seq: int) -> dict[str, InstrumentInfo]:
    """Symbols known to the market data (``seq`` keys the cache to the snapshot)."""
    frame = prices.symbols(market_reader())
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


@dataclass(frozen=True)
class PortfolioInputs:
    transactions: pl.DataFrame
    closes: pl.DataFrame
    fx: pl.DataFrame
    base_currency: str


def portfolio_inputs(
    actor: Actor, portfolio_id: uuid.UUID, info: prices.SnapshotInfo
) -> PortfolioInputs:
    repo = repository()
    portfolio = repo.get_portfolio(actor, portfolio_id)
    txns = repo.transactions_frame(actor, portfolio_id)
    symbols = tuple(sorted(s for s in txns["symbol"].unique().to_list() if s))
    currencies = tuple(sorted({*txns["currency"].unique().to_list(), portfolio.base_currency}))
    closes, fx = market_inputs(info.seq, symbols, currencies, portfolio.base_currency)
    return PortfolioInputs(txns, closes, fx, portfolio.base_currency)


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
