"""A demo portfolio built from the (demo) market data, for new users to explore.

Three years of history: deposits in USD, EUR and GBP, buys of seven stocks across the
three currencies at the recorded closes, one partial sale, a dividend and an account fee.
Pure: instruments and closes in, transaction drafts out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from nexus.portfolio.model import InstrumentInfo, TransactionDraft

DEMO_NAME = "Demo portfolio"
# (currency, number of stocks, cash deposited)
PLAN = (("USD", 3, 60_000.0), ("EUR", 2, 25_000.0), ("GBP", 2, 15_000.0))
INVESTED_SHARE = 0.9


def demo_symbols(instruments: Mapping[str, InstrumentInfo]) -> list[str]:
    """The stocks the demo holds: the first few equities of each plan currency."""
    chosen: list[str] = []
    for currency, count, _ in PLAN:
        pool = sorted(
            s
            for s, i in instruments.items()
            if i.currency == currency and i.asset_class == "equity"
        )
        chosen += pool[:count]
    return chosen


def _close_on_or_before(closes: pl.DataFrame, symbol: str, day: date) -> tuple[date, float]:
    row = closes.filter((pl.col("symbol") == symbol) & (pl.col("date") <= day)).sort("date").tail(1)
    if row.height == 0:
        raise ValueError(f"No demo price for {symbol} on or before {day}.")
    return row["date"][0], float(row["close"][0])


def build_demo_ledger(
    instruments: Mapping[str, InstrumentInfo], closes: pl.DataFrame, *, today: date
) -> list[TransactionDraft]:
    """Transactions of the demo portfolio, dated relative to ``today``."""
    start = today - timedelta(days=3 * 365)
    drafts: list[TransactionDraft] = []
    for currency, _, cash in PLAN:
        drafts.append(
            TransactionDraft("deposit", start, currency, amount=cash, note="Demo deposit")
        )
    buy_day = start + timedelta(days=7)
    for currency, count, cash in PLAN:
        symbols = [s for s in demo_symbols(instruments) if instruments[s].currency == currency]
        budget = cash * INVESTED_SHARE / max(len(symbols), 1)
        for symbol in symbols[:count]:
            traded, price = _close_on_or_before(closes, symbol, buy_day)
            quantity = math.floor(budget / price)
            if quantity > 0:
                drafts.append(
                    TransactionDraft(
                        "buy", traded, currency, symbol, quantity, round(price, 4), fee=4.95
                    )
                )
    buys = [d for d in drafts if d.kind == "buy"]
    if buys:
        first = buys[0]
        sell_day = start + timedelta(days=540)
        traded, price = _close_on_or_before(closes, first.symbol, sell_day)
        drafts.append(
            TransactionDraft(
                "sell",
                traded,
                first.currency,
                first.symbol,
                math.floor(first.quantity / 2),
                round(price, 4),
                fee=4.95,
                note="Demo partial sale",
            )
        )
        second = buys[1] if len(buys) > 1 else first
        drafts.append(
            TransactionDraft(
                "dividend",
                start + timedelta(days=400),
                second.currency,
                second.symbol,
                amount=round(second.quantity * second.price * 0.006, 2),
                note="Demo dividend",
            )
        )
    drafts.append(
        TransactionDraft("fee", start + timedelta(days=365), "USD", amount=25.0, note="Account fee")
    )
    return sorted(drafts, key=lambda d: d.trade_date)
