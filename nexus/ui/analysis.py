"""Cached portfolio analytics for pages: valuation and returns computed once per ledger.

Every result is keyed by the ledger's fingerprint (row count + content hash), the market
snapshot sequence number, the base currency and the lot method, so an edit or a new
publish recomputes and anything else is served from ``st.cache_data``. The frames
themselves are passed as ``_``-prefixed (unhashed) arguments: hashing a ledger on every
run would cost what the cache saves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from nexus.analytics import lots, valuation
from nexus.analytics import performance as perf
from nexus.analytics.periods import Window
from nexus.market import prices
from nexus.ui import data
from nexus.ui.data import PortfolioInputs


@dataclass(frozen=True)
class Key:
    """What a cached result depends on (hashable; see the module docstring)."""

    ledger: str
    seq: int
    base: str
    method: str
    as_of: dt.date


def key_of(inputs: PortfolioInputs, info: prices.SnapshotInfo) -> Key:
    tx = inputs.transactions
    fingerprint = f"{tx.height}:{int(tx.hash_rows().sum()) if tx.height else 0}"
    return Key(fingerprint, info.seq, inputs.base_currency, inputs.lot_method, info.last_date)


def _args(inputs: PortfolioInputs) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return inputs.transactions, inputs.closes, inputs.fx


@st.cache_data(max_entries=64, show_spinner=False)
def daily(key: Key, _inputs: PortfolioInputs) -> pl.DataFrame:
    """:func:`valuation.daily_values` from the first transaction to the snapshot date."""
    return valuation.daily_values(*_args(_inputs), end=key.as_of, base_currency=key.base)


@st.cache_data(max_entries=64, show_spinner=False)
def daily_by(key: Key, by: str, _inputs: PortfolioInputs) -> pl.DataFrame:
    """:func:`valuation.daily_values_by` per ``"symbol"`` or ``"account"``."""
    return valuation.daily_values_by(
        *_args(_inputs), by=by, end=key.as_of, base_currency=key.base, lot_method=key.method
    )


@st.cache_data(max_entries=64, show_spinner=False)
def summary(key: Key, _inputs: PortfolioInputs) -> valuation.PortfolioSummary:
    return valuation.summarise(
        *_args(_inputs), as_of=key.as_of, base_currency=key.base, lot_method=key.method
    )


@st.cache_data(max_entries=64, show_spinner=False)
def holdings(key: Key, _inputs: PortfolioInputs, by_account: bool = False) -> pl.DataFrame:
    return valuation.holdings(
        *_args(_inputs),
        as_of=key.as_of,
        base_currency=key.base,
        lot_method=key.method,
        by_account=by_account,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def open_lots(key: Key, _inputs: PortfolioInputs) -> pl.DataFrame:
    tx = _inputs.transactions.filter(pl.col("date") <= key.as_of)
    return lots.open_lots(tx, key.method)


@st.cache_data(max_entries=64, show_spinner=False)
def realised(key: Key, _inputs: PortfolioInputs) -> pl.DataFrame:
    tx = _inputs.transactions.filter(pl.col("date") <= key.as_of)
    return lots.realised_trades(tx, key.method)


@st.cache_data(max_entries=64, show_spinner=False)
def returns_by_range(key: Key, _daily: pl.DataFrame, basis: str = "total") -> pl.DataFrame:
    """:func:`performance.returns_table` of the portfolio (every standard range)."""
    return perf.returns_table(_daily, as_of=key.as_of, basis=basis)  # type: ignore[arg-type]


@st.cache_data(max_entries=64, show_spinner=False)
def benchmark_bars(seq: int, symbol: str) -> pl.DataFrame:
    """``date, close, adj_close`` of a benchmark symbol from snapshot ``seq`` (local
    currency; ``adj_close`` is adjusted for dividends and splits)."""
    reader = data.market_reader()
    raw = prices.closes(reader, [symbol]).select("date", "close")
    adjusted = prices.closes(reader, [symbol], adjusted=True).select(
        "date", pl.col("close").alias("adj_close")
    )
    return raw.join(adjusted, on="date", how="left").sort("date")


@st.cache_data(max_entries=16, show_spinner=False)
def benchmark_symbols(seq: int) -> list[str]:
    """Symbols flagged as benchmarks first, then every other symbol, alphabetically."""
    frame = data.symbols(seq)
    flagged = frame.filter(pl.col("is_benchmark"))["symbol"].sort().to_list()
    others = frame.filter(~pl.col("is_benchmark"))["symbol"].sort().to_list()
    return flagged + others


@st.cache_resource(max_entries=256, show_spinner=False)
def figure(key: Key, name: str, note: str, _build: Callable[[], go.Figure]) -> go.Figure:
    """A chart built once per ledger, snapshot and caption (``name`` tells charts apart).
    Building a Plotly figure costs more than the analytics behind it, so reruns reuse the
    object (``cache_resource``: shared, never mutated by ``st.plotly_chart``)."""
    return _build()


@st.cache_data(max_entries=16, show_spinner=False)
def default_benchmark(seq: int, base: str) -> str | None:
    """The benchmark a portfolio in ``base`` is compared with unless the URL says otherwise:
    a flagged benchmark in that currency (a world index first), else the first flagged."""
    frame = data.symbols(seq).filter(pl.col("is_benchmark"))
    if frame.is_empty():
        return None
    ranked = frame.with_columns(
        (pl.col("currency") != base).alias("_other"),
        ~pl.col("name").fill_null("").str.to_lowercase().str.contains("world").alias("_local"),
    ).sort("_other", "_local", "symbol")
    return ranked["symbol"][0]


def window_note(window: Window) -> str:
    """'YTD 2026 · 31 Dec 2025 → 25 Nov 2026' for captions."""
    return f"{window.label} · {window.start:%d %b %Y} → {window.end:%d %b %Y}"


def cash_by_account(key: Key, inputs: PortfolioInputs, rates: dict[str, float]) -> pl.DataFrame:
    """``account, cash`` in the base currency at the snapshot date (``rates``: base units
    per 1 unit of each currency; a currency without a rate is left out)."""
    balances = valuation.cash_balances(inputs.transactions, as_of=key.as_of)
    return (
        balances.with_columns(pl.col("currency").replace_strict(rates, default=None).alias("r"))
        .filter(pl.col("r").is_not_null())
        .group_by("account")
        .agg((pl.col("balance") * pl.col("r")).sum().alias("cash"))
    )


def with_account_cash(current: pl.DataFrame, cash: pl.DataFrame) -> pl.DataFrame:
    """Add each account's cash to its bucket of an allocation by account; weights redone."""
    merged = (
        current.select("bucket", "market_value")
        .join(cash.rename({"account": "bucket"}), on="bucket", how="full", coalesce=True)
        .select("bucket", (pl.col("market_value").fill_null(0) + pl.col("cash").fill_null(0)))
    )
    total = merged["market_value"].sum()
    return merged.with_columns(
        (pl.col("market_value") / total if total else pl.lit(None, pl.Float64)).alias("weight")
    ).sort("market_value", descending=True)
