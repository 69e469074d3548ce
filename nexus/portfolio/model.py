"""Ledger vocabulary: transaction kinds, drafts and stored records.

Sign convention: every quantity, price, amount and fee is a positive magnitude in the
transaction's ``currency``; the kind gives the direction. Every transaction belongs to one
account of its portfolio (``account``; the portfolio's first account, "Main", when left
empty).

| kind         | needs                                  | position  | cash (in ``currency``)     |
|--------------|----------------------------------------|-----------|----------------------------|
| buy          | symbol, quantity, price, fee ≥ 0       | +quantity | −(quantity·price + fee)    |
| sell         | symbol, quantity, price, fee ≥ 0       | −quantity | +(quantity·price − fee)    |
| deposit      | amount                                 |           | +amount (external inflow)  |
| withdrawal   | amount                                 |           | −amount (external outflow) |
| dividend     | symbol, amount, fee ≥ 0 [DRIP: q, p]   | +q (DRIP) | +(amount − fee − q·p)      |
| interest     | amount (symbol optional)               |           | +amount (income)           |
| fee          | amount (symbol optional)               |           | −amount                    |
| tax          | amount (symbol optional)               |           | −amount (negative income)  |
| split        | symbol, quantity = ratio               | ×ratio    |                            |
| transfer_in  | symbol + quantity [+ price], or amount | +quantity | +amount (cash transfer)    |
| transfer_out | symbol + quantity [+ price], or amount | −quantity | −amount (cash transfer)    |

* Dividend reinvestment (DRIP): ``quantity > 0`` and ``price > 0`` on a dividend row buy
  ``quantity`` shares at ``price`` with the dividend (a new lot opens); otherwise both are 0.
* Split: 2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split; each open lot's quantity
  is multiplied and its unit cost divided by the ratio. It applies to the position in the
  row's account (record one split per account holding the symbol).
* Transfers: a ``transfer_out``/``transfer_in`` pair sharing a ``transfer_id`` moves shares
  or cash between two accounts of the portfolio (internal: no external flow, lots keep
  their cost and open date). A lone transfer is a delivery from/to outside: shares in at
  ``price`` (market value per unit, required) open a lot at that price and count as an
  external inflow of quantity·price (outflow for ``transfer_out``); cash counts as
  ``amount``.
* ``fx_rate``: base-currency units per 1 unit of ``currency`` on the trade date (optional;
  empty = the market rate). Used for the row's flows, income and the cost of lots it opens.

Buys, sells, dividends, splits and share transfers are in the instrument's trading
currency; deposits, withdrawals, interest, fees, taxes and cash transfers in any supported
currency.
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
    INTEREST = "interest"
    FEE = "fee"
    TAX = "tax"
    SPLIT = "split"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"


class LotMethod(StrEnum):
    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    AVERAGE = "average"


TRADE_KINDS = frozenset({Kind.BUY, Kind.SELL})
#: Kinds that always name a symbol (and are in its trading currency).
SYMBOL_KINDS = frozenset({Kind.BUY, Kind.SELL, Kind.DIVIDEND, Kind.SPLIT})
#: Kinds whose symbol is optional (cash kinds that may relate to a holding).
OPTIONAL_SYMBOL_KINDS = frozenset({Kind.INTEREST, Kind.FEE, Kind.TAX})
TRANSFER_KINDS = frozenset({Kind.TRANSFER_IN, Kind.TRANSFER_OUT})
#: Kinds whose magnitude is ``amount`` (transfers use it when they move cash).
AMOUNT_KINDS = frozenset(
    {Kind.DEPOSIT, Kind.WITHDRAWAL, Kind.DIVIDEND, Kind.INTEREST, Kind.FEE, Kind.TAX}
)
CASH_KINDS = AMOUNT_KINDS
CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY")
DEFAULT_ACCOUNT = "Main"


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
    #: Account name (or id); ``None`` = the portfolio's first account.
    account: str | uuid.UUID | None = None
    #: Base-currency units per 1 unit of ``currency`` on the trade date; ``None`` = market.
    fx_rate: float | None = None
    #: Shared by the two rows of a transfer between accounts (set by the repository).
    transfer_id: uuid.UUID | None = None


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
    account_id: uuid.UUID | None = None
    account: str = ""
    fx_rate: float | None = None
    transfer_id: uuid.UUID | None = None

    @property
    def is_internal_transfer(self) -> bool:
        return self.transfer_id is not None

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
            account=self.account or None,
            fx_rate=self.fx_rate,
            transfer_id=self.transfer_id,
        )


@dataclass(frozen=True, slots=True)
class PortfolioRecord:
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    base_currency: str
    is_demo: bool = False
    transaction_count: int = field(default=0)
    lot_method: str = LotMethod.FIFO.value


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account (broker account, ISA, wallet …) inside a portfolio."""

    id: uuid.UUID
    portfolio_id: uuid.UUID
    name: str
    transaction_count: int = 0


@dataclass(frozen=True, slots=True)
class ImportMapping:
    """A saved column mapping for importing a broker's CSV (per user)."""

    id: uuid.UUID
    name: str
    source_kind: str
    mapping: dict


class LedgerError(ValueError):
    """A transaction was refused; ``field`` names the input at fault, the message says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


class NotFound(LookupError):
    """No such record for this user (also raised for other users' records: no id probing)."""
