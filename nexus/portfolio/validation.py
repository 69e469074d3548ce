"""Ledger validation: each refusal is a :class:`LedgerError` naming the field and the fix."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from datetime import date

import polars as pl

from nexus.portfolio.model import (
    CURRENCIES,
    SYMBOL_KINDS,
    TRADE_KINDS,
    InstrumentInfo,
    Kind,
    LedgerError,
    TransactionDraft,
)

# Quantities below this are rounding noise, not a short position.
EPSILON = 1e-9


def _positive(value: float, field: str, label: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise LedgerError(field, f"{label} must be greater than zero.")
    return float(value)


def validate_draft(
    draft: TransactionDraft, instruments: Mapping[str, InstrumentInfo], *, today: date
) -> TransactionDraft:
    """Check one transaction on its own; return it normalised (upper-case codes, unused
    fields zeroed). Ledger-wide rules (no overselling) are in :func:`validate_positions`."""
    try:
        kind = Kind(draft.kind)
    except ValueError:
        raise LedgerError("kind", f"Unknown transaction type {draft.kind!r}.") from None
    if not isinstance(draft.trade_date, date):
        raise LedgerError("trade_date", "Enter the trade date.")
    if draft.trade_date > today:
        raise LedgerError("trade_date", f"The date {draft.trade_date:%Y-%m-%d} is in the future.")
    currency = (draft.currency or "").strip().upper()
    if currency not in CURRENCIES:
        raise LedgerError("currency", f"Currency must be one of {', '.join(CURRENCIES)}.")
    fee = float(draft.fee or 0.0)
    if not math.isfinite(fee) or fee < 0:
        raise LedgerError("fee", "Fee cannot be negative.")

    symbol = (draft.symbol or "").strip().upper() or None
    quantity = price = amount = 0.0
    if kind in SYMBOL_KINDS or (kind is Kind.FEE and symbol):
        if not symbol:
            raise LedgerError("symbol", f"A {kind.value} needs a symbol.")
        instrument = instruments.get(symbol)
        if instrument is None:
            raise LedgerError("symbol", f"Unknown symbol {symbol!r}: it is not in the market data.")
        if kind in SYMBOL_KINDS and currency != instrument.currency:
            raise LedgerError(
                "currency",
                f"{symbol} trades in {instrument.currency}, not {currency}. "
                f"Enter the {kind.value} in {instrument.currency}.",
            )
    else:
        symbol = None
    if kind in TRADE_KINDS:
        quantity = _positive(draft.quantity, "quantity", "Quantity")
        price = _positive(draft.price, "price", "Price")
    else:
        amount = _positive(draft.amount, "amount", "Amount")
        if kind is not Kind.DIVIDEND:
            fee = 0.0
    note = (draft.note or "").strip()
    if len(note) > 500:
        raise LedgerError("note", "Keep the note under 500 characters.")
    return dataclasses.replace(
        draft,
        kind=kind.value,
        currency=currency,
        symbol=symbol,
        quantity=quantity,
        price=price,
        amount=amount,
        fee=fee,
        note=note,
    )


def validate_positions(ledger: Iterable[tuple[int, TransactionDraft]]) -> None:
    """Refuse a ledger in which any position goes below zero at any date.

    ``ledger`` is ``(order, draft)`` pairs; same-day transactions apply in ``order``
    (entry order), the convention used by the valuation as well.
    """
    rows = [
        (order, d.trade_date, d.symbol, d.quantity if d.kind == Kind.BUY else -d.quantity)
        for order, d in ledger
        if d.kind in TRADE_KINDS
    ]
    if not rows:
        return
    frame = (
        pl.DataFrame(rows, schema=["order", "date", "symbol", "delta"], orient="row")
        .sort(["date", "order"])
        .with_columns(held=pl.col("delta").cum_sum().over("symbol"))
    )
    short = frame.filter(pl.col("held") < -EPSILON).head(1)
    if short.height:
        r = short.row(0, named=True)
        sold = -r["delta"]
        before = r["held"] + sold
        raise LedgerError(
            "quantity",
            f"Selling {sold:g} {r['symbol']} on {r['date']:%Y-%m-%d} is more than the "
            f"{max(before, 0):g} held on that date.",
        )
