"""Ledger validation: each refusal is a :class:`LedgerError` naming the field and the fix."""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

import polars as pl

from nexus.portfolio.model import (
    CURRENCIES,
    OPTIONAL_SYMBOL_KINDS,
    SYMBOL_KINDS,
    TRADE_KINDS,
    TRANSFER_KINDS,
    InstrumentInfo,
    Kind,
    LedgerError,
    TransactionDraft,
)

# Quantities below this are rounding noise, not a short position.
EPSILON = 1e-9
MAX_NAME = 80


def _positive(value: float | None, field: str, label: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise LedgerError(field, f"{label} must be greater than zero.")
    return float(value)


def _magnitude(value: float | None) -> float:
    return float(value or 0.0)


def clean_name(name: str | None, what: str) -> str:
    """Collapse whitespace; refuse empty or over-long names of ``what`` (e.g. "account")."""
    name = " ".join((name or "").split())
    if not name:
        raise LedgerError("name", f"Give the {what} a name.")
    if len(name) > MAX_NAME:
        raise LedgerError("name", f"Keep the name to {MAX_NAME} characters or fewer.")
    return name


def validate_draft(
    draft: TransactionDraft,
    instruments: Mapping[str, InstrumentInfo],
    *,
    today: date,
    base_currency: str | None = None,
) -> TransactionDraft:
    """Check one transaction on its own; return it normalised (upper-case codes, unused
    fields zeroed, an FX rate for a base-currency row dropped). Ledger-wide rules (no
    overselling, transfer pairs) are in :func:`validate_positions`."""
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
    fee = _magnitude(draft.fee)
    if not math.isfinite(fee) or fee < 0:
        raise LedgerError("fee", "Fee cannot be negative.")

    symbol = (draft.symbol or "").strip().upper() or None
    quantity = price = amount = 0.0
    optional_symbol = kind in OPTIONAL_SYMBOL_KINDS or kind in TRANSFER_KINDS
    if kind in SYMBOL_KINDS or (optional_symbol and symbol):
        if not symbol:
            raise LedgerError("symbol", f"A {kind.value} needs a symbol.")
        instrument = instruments.get(symbol)
        if instrument is None:
            raise LedgerError("symbol", f"Unknown symbol {symbol!r}: it is not in the market data.")
        if kind not in OPTIONAL_SYMBOL_KINDS and currency != instrument.currency:
            label = kind.value.replace("_", " ")
            raise LedgerError(
                "currency",
                f"{symbol} trades in {instrument.currency}, not {currency}. "
                f"Enter the {label} in {instrument.currency}.",
            )
    else:
        symbol = None

    if kind in TRADE_KINDS:
        quantity = _positive(draft.quantity, "quantity", "Quantity")
        price = _positive(draft.price, "price", "Price")
    elif kind is Kind.SPLIT:
        quantity = _positive(
            draft.quantity,
            "quantity",
            "The split ratio (new shares per old share: 2 for a 2-for-1 split, 0.1 for a "
            "1-for-10 reverse split)",
        )
        if abs(quantity - 1.0) < EPSILON:
            raise LedgerError("quantity", "A split ratio of 1 changes nothing.")
        fee = 0.0
    elif kind in TRANSFER_KINDS:
        if symbol:
            quantity = _positive(draft.quantity, "quantity", "Quantity")
            if draft.transfer_id is None:
                direction = "brought in" if kind is Kind.TRANSFER_IN else "taken out"
                price = _positive(
                    draft.price,
                    "price",
                    f"The market value per share on the transfer date (the value {direction}"
                    + (", and the cost of the shares)" if kind is Kind.TRANSFER_IN else ")"),
                )
        else:
            amount = _positive(draft.amount, "amount", "Amount")
        fee = 0.0
    else:
        amount = _positive(draft.amount, "amount", "Amount")
        if kind is Kind.DIVIDEND:
            if fee > amount:
                raise LedgerError("fee", "The withholding tax / fee cannot exceed the dividend.")
            reinvested = _magnitude(draft.quantity), _magnitude(draft.price)
            if any(v < 0 or not math.isfinite(v) for v in reinvested):
                raise LedgerError("quantity", "Reinvested shares and price cannot be negative.")
            if (reinvested[0] > 0) != (reinvested[1] > 0):
                field = "price" if reinvested[0] > 0 else "quantity"
                raise LedgerError(
                    field,
                    "A reinvested dividend needs both the number of shares and the price per "
                    "share (leave both empty for a cash dividend).",
                )
            quantity, price = reinvested
        else:
            fee = 0.0

    fx_rate = draft.fx_rate
    if fx_rate is not None:
        fx_rate = float(fx_rate)
        if not math.isfinite(fx_rate) or fx_rate <= 0:
            raise LedgerError("fx_rate", "The FX rate must be greater than zero (or left empty).")
        if base_currency and currency == base_currency.upper():
            if abs(fx_rate - 1.0) > 1e-12:
                raise LedgerError(
                    "fx_rate",
                    f"A transaction in the base currency ({currency}) has an FX rate of 1.",
                )
            fx_rate = None

    account = draft.account
    if not isinstance(account, uuid.UUID):
        account = " ".join((account or "").split()) or None
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
        account=account,
        fx_rate=fx_rate,
        transfer_id=draft.transfer_id if kind in TRANSFER_KINDS else None,
    )


def _check_transfer_pairs(drafts: list[TransactionDraft]) -> None:
    pairs: dict[object, list[TransactionDraft]] = defaultdict(list)
    for d in drafts:
        if d.transfer_id is not None:
            pairs[d.transfer_id].append(d)
    for legs in pairs.values():
        kinds = sorted(d.kind for d in legs)
        if kinds != [Kind.TRANSFER_IN.value, Kind.TRANSFER_OUT.value]:
            raise LedgerError(
                "kind", "A transfer between accounts needs exactly one side out and one side in."
            )
        out, into = sorted(legs, key=lambda d: d.kind != Kind.TRANSFER_OUT)
        if out.account == into.account:
            raise LedgerError("account", "A transfer needs two different accounts.")
        same = ("trade_date", "symbol", "quantity", "amount", "currency")
        if any(getattr(out, f) != getattr(into, f) for f in same):
            raise LedgerError(
                "transfer",
                "The two sides of a transfer between accounts must have the same date, "
                "symbol, quantity, amount and currency. Delete it and record it again.",
            )


def validate_positions(ledger: Iterable[tuple[int, TransactionDraft]]) -> None:
    """Refuse a ledger in which any position of any account goes below zero at any date,
    a split finds nothing to split, or a transfer between accounts is not a proper pair.

    ``ledger`` is ``(order, draft)`` pairs with each draft's ``account`` resolved (same
    name = same account); same-day transactions apply in ``order`` (entry order), the
    convention used by the valuation as well.
    """
    ledger = list(ledger)
    _check_transfer_pairs([d for _, d in ledger])
    rows = []
    for order, d in ledger:
        kind = Kind(d.kind)
        delta, ratio = 0.0, 1.0
        reinvested = kind is Kind.DIVIDEND and d.quantity > 0 and d.price > 0
        if kind is Kind.BUY or reinvested or (kind is Kind.TRANSFER_IN and d.symbol):
            delta = d.quantity
        elif kind is Kind.SELL or (kind is Kind.TRANSFER_OUT and d.symbol):
            delta = -d.quantity
        elif kind is Kind.SPLIT:
            ratio = d.quantity
        else:
            continue
        rows.append((order, d.trade_date, d.account or "", d.symbol, d.kind, delta, ratio))
    if not rows:
        return
    keys = ["account", "symbol"]
    frame = (
        pl.DataFrame(
            rows,
            schema=["order", "date", "account", "symbol", "kind", "delta", "ratio"],
            orient="row",
        )
        .sort(["date", "order"])
        .with_columns(pl.col("ratio").cum_prod().over(keys).alias("_m"))
        .with_columns(
            (pl.col("_m") * (pl.col("delta") / pl.col("_m")).cum_sum().over(keys)).alias("held")
        )
        .with_columns(
            pl.when(pl.col("kind") == Kind.SPLIT.value)
            .then(pl.col("held") / pl.col("ratio"))
            .otherwise(pl.col("held") - pl.col("delta"))
            .alias("before")
        )
    )
    several = frame["account"].n_unique() > 1
    bad = frame.filter(
        (pl.col("held") < -EPSILON)
        | ((pl.col("kind") == Kind.SPLIT.value) & (pl.col("before") <= EPSILON))
    ).head(1)
    if not bad.height:
        return
    r = bad.row(0, named=True)
    day, symbol, account = f"{r['date']:%Y-%m-%d}", r["symbol"], r["account"]
    where = f" in {account}" if several else ""
    before = max(r["before"], 0.0)
    if r["kind"] == Kind.SPLIT.value:
        raise LedgerError("symbol", f"There is no {symbol}{where} on {day} to split.")
    if r["kind"] == Kind.TRANSFER_OUT.value:
        raise LedgerError(
            "quantity",
            f"Transferring {-r['delta']:g} {symbol} out of {account} on {day} is more than "
            f"the {before:g} held there.",
        )
    raise LedgerError(
        "quantity",
        f"Selling {-r['delta']:g} {symbol} on {day} is more than the {before:g} held{where}.",
    )
