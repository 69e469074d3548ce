"""A demo portfolio built from the (demo) market data, for new users to explore.

Three years of history in two accounts, "Main" and "Retirement": deposits in USD, EUR and
GBP, a cash transfer to Retirement, buys of seven stocks across the three currencies at
the recorded closes, interest, an account fee, a dividend with withholding tax, a
reinvested dividend (DRIP), one partial sale, shares moved to Retirement, a 2-for-1
split after which the rest of that position is sold, a quarterly savings plan (deposit and
buy) and one withdrawal - so time- and money-weighted returns differ.

The demo prices (a seeded random walk) have no splits, so the split position is sold on
the split day at half the recorded close: the value is continuous across the split and
the sale shows how lots carry through it. Deterministic: same inputs, same drafts (the
transfer ids are UUIDv5 of fixed names). Pure: instruments and closes in, drafts out.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from nexus.portfolio.model import DEFAULT_ACCOUNT, InstrumentInfo, Kind, TransactionDraft

DEMO_NAME = "Demo portfolio"
RETIREMENT = "Retirement"
#: Accounts of the demo portfolio; the first is the one every portfolio starts with.
DEMO_ACCOUNTS = (DEFAULT_ACCOUNT, RETIREMENT)
# (currency, number of stocks, cash deposited)
PLAN = (("USD", 3, 60_000.0), ("EUR", 2, 25_000.0), ("GBP", 2, 15_000.0))
INVESTED_SHARE = 0.9
CASH_TO_RETIREMENT = 5_000.0  # USD, moved before the buys (the buys keep a cash cushion)
SAVINGS = 2_500.0  # USD deposited (and mostly invested) every quarter
_DEMO_NS = uuid.UUID("6b1f4c53-8a0e-4f57-9a55-3f1f3b5b8e01")


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


def _transfer(name: str) -> uuid.UUID:
    return uuid.uuid5(_DEMO_NS, name)


def build_demo_ledger(
    instruments: Mapping[str, InstrumentInfo], closes: pl.DataFrame, *, today: date
) -> list[TransactionDraft]:
    """Transactions of the demo portfolio, dated relative to ``today`` (accounts by name:
    :data:`DEMO_ACCOUNTS`)."""
    start = today - timedelta(days=3 * 365)
    main, retirement = DEMO_ACCOUNTS
    drafts: list[TransactionDraft] = []
    for currency, _, cash in PLAN:
        drafts.append(
            TransactionDraft("deposit", start, currency, amount=cash, note="Demo deposit")
        )
    cash_move = _transfer("cash to retirement")
    for kind, account in ((Kind.TRANSFER_OUT, main), (Kind.TRANSFER_IN, retirement)):
        drafts.append(
            TransactionDraft(
                kind.value,
                start + timedelta(days=3),
                "USD",
                amount=CASH_TO_RETIREMENT,
                note="Demo: cash to the retirement account",
                account=account,
                transfer_id=cash_move,
            )
        )
    buy_day = start + timedelta(days=7)
    for currency, count, cash in PLAN:
        symbols = [s for s in demo_symbols(instruments) if instruments[s].currency == currency]
        budget = (cash - (CASH_TO_RETIREMENT if currency == "USD" else 0.0)) * INVESTED_SHARE
        budget /= max(len(symbols), 1)
        for symbol in symbols[:count]:
            traded, price = _close_on_or_before(closes, symbol, buy_day)
            quantity = math.floor(budget / price)
            if quantity > 0:
                drafts.append(
                    TransactionDraft(
                        "buy", traded, currency, symbol, quantity, round(price, 4), fee=4.95
                    )
                )
    drafts.append(
        TransactionDraft(
            "interest",
            start + timedelta(days=200),
            "USD",
            amount=round(CASH_TO_RETIREMENT * 0.0125, 2),
            note="Demo: interest on cash",
            account=retirement,
        )
    )
    drafts.append(
        TransactionDraft("fee", start + timedelta(days=365), "USD", amount=25.0, note="Account fee")
    )
    buys = [d for d in drafts if d.kind == "buy"]
    if buys:
        first = buys[0]
        second = buys[1] if len(buys) > 1 else first
        dividend = round(second.quantity * second.price * 0.006, 2)
        pay_day = start + timedelta(days=400)
        drafts.append(
            TransactionDraft(
                "dividend",
                pay_day,
                second.currency,
                second.symbol,
                amount=dividend,
                note="Demo dividend",
            )
        )
        drafts.append(
            TransactionDraft(
                "tax",
                pay_day,
                second.currency,
                second.symbol,
                amount=round(dividend * 0.15, 2),
                note="Demo: withholding tax on the dividend",
            )
        )
        drip = next((b for b in buys if b.currency == "EUR"), None)
        if drip is not None:
            traded, price = _close_on_or_before(closes, drip.symbol, start + timedelta(days=480))
            amount = round(drip.quantity * drip.price * 0.01, 2)
            shares = math.floor(amount / price)
            drafts.append(
                TransactionDraft(
                    "dividend",
                    traded,
                    drip.currency,
                    drip.symbol,
                    shares if shares else 0.0,
                    round(price, 4) if shares else 0.0,
                    amount=amount,
                    note="Demo: dividend reinvested (DRIP)",
                )
            )
        traded, price = _close_on_or_before(closes, first.symbol, start + timedelta(days=540))
        sold = math.floor(first.quantity / 2)
        drafts.append(
            TransactionDraft(
                "sell",
                traded,
                first.currency,
                first.symbol,
                sold,
                round(price, 4),
                fee=4.95,
                note="Demo partial sale",
            )
        )
        moved = next((b for b in reversed(buys) if b.currency == "GBP"), buys[-1])
        shares_move = _transfer("shares to retirement")
        for kind, account in ((Kind.TRANSFER_OUT, main), (Kind.TRANSFER_IN, retirement)):
            drafts.append(
                TransactionDraft(
                    kind.value,
                    start + timedelta(days=600),
                    moved.currency,
                    moved.symbol,
                    math.floor(moved.quantity / 2),
                    note="Demo: shares moved to the retirement account",
                    account=account,
                    transfer_id=shares_move,
                )
            )
        traded, price = _close_on_or_before(closes, first.symbol, start + timedelta(days=720))
        left = (first.quantity - sold) * 2
        drafts.append(
            TransactionDraft(
                "split",
                traded,
                first.currency,
                first.symbol,
                2.0,
                note="Demo: 2-for-1 split",
            )
        )
        drafts.append(
            TransactionDraft(
                "sell",
                traded,
                first.currency,
                first.symbol,
                left,
                round(price / 2, 4),
                fee=4.95,
                note="Demo: sold after the split (at the post-split price)",
            )
        )
    drafts += _savings_plan(instruments, closes, start, today)
    return sorted(drafts, key=lambda d: d.trade_date)


def _savings_plan(
    instruments: Mapping[str, InstrumentInfo], closes: pl.DataFrame, start: date, today: date
) -> list[TransactionDraft]:
    """Quarterly USD deposits, each invested the same day in the demo's second US stock,
    and one withdrawal: the flows that make time- and money-weighted returns differ."""
    usd = [s for s in demo_symbols(instruments) if instruments[s].currency == "USD"]
    if len(usd) < 2:
        return []
    symbol = usd[1]
    drafts: list[TransactionDraft] = []
    for quarter in range(1, 12):
        day = start + timedelta(days=91 * quarter)
        if day >= today:
            break
        traded, price = _close_on_or_before(closes, symbol, day)
        drafts.append(
            TransactionDraft("deposit", traded, "USD", amount=SAVINGS, note="Demo: savings plan")
        )
        quantity = math.floor(SAVINGS * INVESTED_SHARE / price)
        if quantity > 0:
            drafts.append(
                TransactionDraft(
                    "buy", traded, "USD", symbol, quantity, round(price, 4), fee=1.0,
                    note="Demo: savings plan purchase",
                )
            )  # fmt: skip
    drafts.append(
        TransactionDraft(
            "withdrawal",
            start + timedelta(days=820),
            "USD",
            amount=4_000.0,
            note="Demo: cash withdrawn",
        )
    )
    return drafts
