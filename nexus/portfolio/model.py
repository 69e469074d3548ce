"""Ledger vocabulary: transaction kinds, drafts and stored records.

Sign convention: every quantity, price, amount and fee is a positive magnitude in the
transaction's ``currency``; the kind gives the direction.

| kind       | needs                              | position       | cash (in ``currency``)       |
|------------|------------------------------------|----------------|------------------------------|
| buy        | symbol, quantity, price, fee ≥ 0   | +quantity      | −(quantity·price + fee)      |
| sell       | symbol, quantity, price, fee ≥ 0   | −quantity      | +(quantity·price − fee)      |
| deposit    | amount                             |                | +amount (external inflow)    |
| withdrawal | amount                             |                | −amount (external outflow)   |
| dividend   | symbol, amount, fee ≥ 0            |                | +(amount − fee)              |
| fee        | amount (symbol optional)           |                | −amount                      |

Buys and sells, and dividends, are in the instrument's trading currency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Kind(StrEnum):
    BUY = "buy"
    SELL = "sell"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    DIVIDEND = "dividend"
    FEE = "fee"


TRADE_KINDS = frozenset({Kind.BUY, Kind.SELL})
SYMBOL_KINDS = frozenset({Kind.BUY, Kind.SELL, Kind.DIVIDEND})
CASH_KINDS = frozenset({Kind.DEPOSIT, Kind.WITHDRAWAL, Kind.DIVIDEND, Kind.FEE})
CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY")


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    """What validation needs to know about a symbol (from the market data)."""

    symbol: str
    name: str
    currency: str
    asset_class: str = "equity"


@dataclass(frozen=True, slots=True)
class TransactionDraft:
    """A transaction as entered, before validation."""

    kind: str
    trade_date: date
    currency: str
    symbol: str | None = None
    quantity: float = 0.0
    price: float = 0.0
    amount: float = 0.0
    fee: float = 0.0
    note: str = ""


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    """A stored transaction."""

    id: int
    portfolio_id: uuid.UUID
    kind: str
    trade_date: date
    currency: str
    symbol: str | None
    quantity: float
    price: float
    amount: float
    fee: float
    note: str

    def as_draft(self) -> TransactionDraft:
        return TransactionDraft(
            kind=self.kind,
            trade_date=self.trade_date,
            currency=self.currency,
            symbol=self.symbol,
            quantity=self.quantity,
            price=self.price,
            amount=self.amount,
            fee=self.fee,
            note=self.note,
        )


@dataclass(frozen=True, slots=True)
class PortfolioRecord:
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    base_currency: str
    is_demo: bool = False
    transaction_count: int = field(default=0)


class LedgerError(ValueError):
    """A transaction was refused; ``field`` names the input at fault, the message says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


class NotFound(LookupError):
    """No such record for this user (also raised for other users' records: no id probing)."""
