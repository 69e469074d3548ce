"""Transaction normalisation and cost-basis lots (FIFO, LIFO, HIFO, average cost).

Pure functions over polars frames: no I/O, no Streamlit, no module state.

Transactions frame (see ``docs/contracts.md``)::

    date: Date, kind: Utf8, symbol: Utf8|null, quantity: f64, price: f64,
    amount: f64, fee: f64, currency: Utf8
    [+ optional: id: Int64, account: Utf8, fx_rate: f64|null, transfer_id: Utf8|null]

All magnitudes are positive; ``kind`` gives the sign (table in ``nexus.portfolio.model``).
Amounts are in the transaction's ``currency`` (for anything that moves shares, the
instrument's currency). Same-day rows are applied in ``id`` order when an ``id`` column is
present, otherwise in row order. Without an ``account`` column every row belongs to one
account named ``""``; ``fx_rate`` (base units per unit of ``currency`` on the trade date)
is only used by :mod:`nexus.analytics.valuation`.

Lots (this module) are kept per (account, symbol):

* ``buy`` opens a lot at ``(quantity * price + fee) / quantity`` (the buy fee is cost);
* ``dividend`` with ``quantity > 0`` and ``price > 0`` reinvests (DRIP): a lot of
  ``quantity`` at ``price`` opens on the pay date;
* ``split`` (``quantity`` = new shares per old share) multiplies every open lot's quantity
  by the ratio and divides its unit cost by it (cost and open date unchanged);
* ``sell`` relieves lots by the lot method; its fee reduces the proceeds, so realised P&L
  = ``quantity * price - fee - cost of the relieved lot shares``;
* ``transfer_out``/``transfer_in`` of a symbol: an *internal* pair (two rows sharing a
  ``transfer_id``, see :func:`normalise_transactions`) moves the relieved lots to the
  receiving account with their cost, open date and FX rate; a lone ``transfer_in`` opens a
  lot at ``price`` and a lone ``transfer_out`` relieves lots without realising P&L (its
  value leaves the portfolio as an external outflow).

Lot methods: ``fifo`` relieves the oldest lots first, ``lifo`` the newest, ``hifo`` the
highest unit cost first (ties: oldest first); ``average`` pools the position: each sale
relieves every open lot pro rata, which is exactly "sell at the current average cost" (a
buy then re-averages), while each lot keeps its own open date and FX rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import polars as pl

#: Quantities whose absolute value is at or below this are treated as zero (float dust).
QUANTITY_EPSILON = 1e-9

LotMethod = Literal["fifo", "lifo", "hifo", "average"]
LOT_METHODS: tuple[str, ...] = ("fifo", "lifo", "hifo", "average")

TRANSACTION_KINDS: frozenset[str] = frozenset(
    {
        "buy",
        "sell",
        "deposit",
        "withdrawal",
        "dividend",
        "interest",
        "fee",
        "tax",
        "split",
        "transfer_in",
        "transfer_out",
    }
)
TRADE_KINDS: frozenset[str] = frozenset({"buy", "sell"})
TRANSFER_KINDS: frozenset[str] = frozenset({"transfer_in", "transfer_out"})

REQUIRED_COLUMNS: tuple[str, ...] = (
    "date",
    "kind",
    "symbol",
    "quantity",
    "price",
    "amount",
    "fee",
    "currency",
)
#: Optional input columns and their types (absent: null, or ``""`` for ``account``).
OPTIONAL_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "account": pl.Utf8(),
    "fx_rate": pl.Float64(),
    "transfer_id": pl.Utf8(),
}

#: Schema of :func:`normalise_transactions` output (``seq`` = application order, 0-based;
#: ``internal`` marks the two rows of a transfer between accounts of the portfolio).
NORMALISED_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.UInt32(),
    "id": pl.Int64(),
    "date": pl.Date(),
    "kind": pl.Utf8(),
    "symbol": pl.Utf8(),
    "quantity": pl.Float64(),
    "price": pl.Float64(),
    "amount": pl.Float64(),
    "fee": pl.Float64(),
    "currency": pl.Utf8(),
    "account": pl.Utf8(),
    "fx_rate": pl.Float64(),
    "transfer_id": pl.Utf8(),
    "internal": pl.Boolean(),
}

OPEN_LOTS_SCHEMA: dict[str, pl.DataType] = {
    "account": pl.Utf8(),
    "symbol": pl.Utf8(),
    "open_date": pl.Date(),
    "quantity": pl.Float64(),
    "unit_cost": pl.Float64(),
    "currency": pl.Utf8(),
    "fx_rate": pl.Float64(),
}

REALISED_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.Utf8(),
    "currency": pl.Utf8(),
    "quantity_sold": pl.Float64(),
    "proceeds": pl.Float64(),
    "cost": pl.Float64(),
    "realised_pnl": pl.Float64(),
}

REALISED_TRADES_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.UInt32(),
    "id": pl.Int64(),
    "date": pl.Date(),
    "account": pl.Utf8(),
    "symbol": pl.Utf8(),
    "currency": pl.Utf8(),
    "quantity": pl.Float64(),
    "proceeds": pl.Float64(),
    "cost": pl.Float64(),
    "realised_pnl": pl.Float64(),
    "holding_start": pl.Date(),
}

#: One row per (sell, relieved lot piece): what valuation needs to convert realised P&L.
DISPOSALS_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.UInt32(),
    "id": pl.Int64(),
    "date": pl.Date(),
    "account": pl.Utf8(),
    "symbol": pl.Utf8(),
    "currency": pl.Utf8(),
    "sale_fx_rate": pl.Float64(),
    "quantity": pl.Float64(),
    "proceeds": pl.Float64(),
    "cost": pl.Float64(),
    "open_date": pl.Date(),
    "lot_fx_rate": pl.Float64(),
}

_KIND = pl.col("kind")
_HAS_SYMBOL = pl.col("symbol").is_not_null()
#: Rows that change a position: trades, splits, reinvested dividends, security transfers.
MOVES_SHARES = (
    _KIND.is_in(["buy", "sell", "split"])
    | ((_KIND == "dividend") & (pl.col("quantity") > 0) & (pl.col("price") > 0))
    | (_KIND.is_in(list(TRANSFER_KINDS)) & _HAS_SYMBOL)
)


def check_lot_method(method: str) -> str:
    """Return ``method`` lower-cased, or raise ``ValueError`` naming the valid ones."""
    value = (method or "").strip().lower()
    if value not in LOT_METHODS:
        raise ValueError(f"lot method must be one of {', '.join(LOT_METHODS)}, not {method!r}")
    return value


def normalise_transactions(transactions: pl.DataFrame) -> pl.DataFrame:
    """Validate and canonicalise a transactions frame.

    Returns the columns of :data:`NORMALISED_SCHEMA`, sorted in application order
    (``date``, then ``id`` if present, then original row order) with ``seq`` numbering that
    order. ``kind`` is lower-cased, ``currency`` upper-cased, null numbers become ``0.0``,
    an empty symbol becomes null, a missing ``account`` becomes ``""``. ``internal`` is true
    for the two rows of a transfer pair: exactly one ``transfer_out`` and one
    ``transfer_in`` sharing a ``transfer_id``. A lone transfer row (even with a
    ``transfer_id``) is an external delivery.

    Raises:
        ValueError: missing columns, unknown kinds, negative magnitudes, a buy/sell/split
            without a symbol or with a non-positive quantity, a transfer without a symbol
            and quantity or an amount, a non-positive ``fx_rate``, a ``transfer_id`` on a
            row that is no transfer, a malformed or mismatched transfer pair, or a row
            without a currency.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions frame is missing column(s): {', '.join(missing)}")

    present = [c for c in OPTIONAL_COLUMNS if c in transactions.columns]
    symbol = pl.col("symbol").cast(pl.Utf8).str.strip_chars()
    df = (
        transactions.select(*REQUIRED_COLUMNS, *present)
        .with_columns(
            pl.lit(None, dtype=dtype).alias(c)
            for c, dtype in OPTIONAL_COLUMNS.items()
            if c not in present
        )
        .with_row_index("_row")
        .with_columns(
            pl.col("date").cast(pl.Date),
            pl.col("kind").cast(pl.Utf8).str.strip_chars().str.to_lowercase(),
            pl.when(symbol == "").then(None).otherwise(symbol).alias("symbol"),
            pl.col("currency").cast(pl.Utf8).str.strip_chars().str.to_uppercase(),
            *(
                pl.col(c).cast(pl.Float64).fill_null(0.0)
                for c in ("quantity", "price", "amount", "fee")
            ),
            pl.col("id").cast(pl.Int64),
            pl.col("account").cast(pl.Utf8).str.strip_chars().fill_null(""),
            pl.col("fx_rate").cast(pl.Float64),
            pl.col("transfer_id").cast(pl.Utf8),
        )
        .sort(["date", "id", "_row"], nulls_last=True, maintain_order=True)
        .with_row_index("seq")
    )
    is_transfer = _KIND.is_in(list(TRANSFER_KINDS)) & pl.col("transfer_id").is_not_null()
    df = df.with_columns(
        (
            is_transfer
            & (pl.len().over("transfer_id") == 2)
            & (_KIND.n_unique().over("transfer_id") == 2)
        ).alias("internal")
    ).select(list(NORMALISED_SCHEMA))
    _validate(df)
    return df


def _validate(df: pl.DataFrame) -> None:
    """Raise ``ValueError`` naming the first offending row of a normalised frame."""
    kind = _KIND
    needs_symbol = kind.is_in(["buy", "sell", "split"])
    transfer = kind.is_in(list(TRANSFER_KINDS))
    tid = pl.col("transfer_id")
    pair_size = pl.len().over("transfer_id")
    checks: list[tuple[pl.Expr, str]] = [
        (pl.col("date").is_null(), "date is missing"),
        (
            kind.is_null() | ~kind.is_in(list(TRANSACTION_KINDS)),
            f"kind must be one of {sorted(TRANSACTION_KINDS)}",
        ),
        (
            pl.col("currency").is_null() | (pl.col("currency") == ""),
            "currency is missing",
        ),
        (needs_symbol & pl.col("symbol").is_null(), "a buy/sell/split needs a symbol"),
        (
            kind.is_in(list(TRADE_KINDS)) & (pl.col("quantity") <= 0),
            "a buy/sell needs quantity > 0",
        ),
        ((kind == "split") & (pl.col("quantity") <= 0), "a split needs a ratio (quantity) > 0"),
        (
            transfer & _HAS_SYMBOL & (pl.col("quantity") <= 0),
            "a transfer of a symbol needs quantity > 0",
        ),
        (
            transfer & ~_HAS_SYMBOL & (pl.col("amount") <= 0),
            "a cash transfer needs amount > 0",
        ),
        *(
            (pl.col(c) < 0, f"{c} must not be negative (the kind gives the sign)")
            for c in ("quantity", "price", "amount", "fee")
        ),
        (
            pl.col("fx_rate").is_not_null()
            & (~pl.col("fx_rate").is_finite() | (pl.col("fx_rate") <= 0)),
            "fx_rate must be a positive number",
        ),
        (tid.is_not_null() & ~transfer, "only transfer_in/transfer_out rows have a transfer_id"),
        (
            tid.is_not_null() & (pair_size >= 2) & ~pl.col("internal"),
            "a transfer_id must pair exactly one transfer_out with one transfer_in",
        ),
        (
            pl.col("internal")
            & pl.any_horizontal(
                pl.col(c).n_unique().over("transfer_id") > 1
                for c in ("date", "symbol", "quantity", "amount", "currency")
            ),
            "the two sides of a transfer must have the same date, symbol, quantity, amount "
            "and currency",
        ),
    ]
    # one pass for all checks; only a failing one is looked at row by row
    failing = df.select(
        condition.any().alias(f"check_{i}") for i, (condition, _) in enumerate(checks)
    ).row(0)
    for (condition, message), failed in zip(checks, failing, strict=True):
        if failed:
            row = df.filter(condition).row(0, named=True)
            raise ValueError(
                f"invalid transaction #{row['seq']} ({row['date']} {row['kind']} "
                f"{row['symbol'] or ''}): {message}"
            )


# --------------------------------------------------------------------------- lot engine


@dataclass
class _Lot:
    open_date: dt.date
    quantity: float
    unit_cost: float
    fx_rate: float | None
    order: int  # opening sequence (kept when the lot moves to another account)


@dataclass(frozen=True)
class _Piece:
    """Part of a lot relieved by a sale or a transfer out."""

    open_date: dt.date
    quantity: float
    unit_cost: float
    fx_rate: float | None
    order: int


def _lot_from(piece: _Piece) -> _Lot:
    """A lot received through a transfer between accounts: cost and dates carry over."""
    return _Lot(piece.open_date, piece.quantity, piece.unit_cost, piece.fx_rate, piece.order)


def _relief_order(book: list[_Lot], method: str) -> list[_Lot]:
    if method == "fifo":
        return sorted(book, key=lambda lot: (lot.open_date, lot.order))
    if method == "lifo":
        return sorted(book, key=lambda lot: (lot.open_date, lot.order), reverse=True)
    return sorted(book, key=lambda lot: (-lot.unit_cost, lot.open_date, lot.order))  # hifo


def _relieve(book: list[_Lot], quantity: float, method: str, held: float) -> list[_Piece]:
    """Take ``quantity`` out of ``book`` (mutated, ``held`` shares in all) by ``method``;
    return what was taken."""
    pieces: list[_Piece] = []
    if method == "average":
        share = 1.0 if quantity >= held - QUANTITY_EPSILON * max(1.0, held) else quantity / held
        for lot in book:
            take = lot.quantity * share
            pieces.append(_Piece(lot.open_date, take, lot.unit_cost, lot.fx_rate, lot.order))
            lot.quantity -= take
    else:
        remaining = quantity
        for lot in _relief_order(book, method):
            if remaining <= QUANTITY_EPSILON:
                break
            take = min(lot.quantity, remaining)
            pieces.append(_Piece(lot.open_date, take, lot.unit_cost, lot.fx_rate, lot.order))
            lot.quantity -= take
            remaining -= take
    book[:] = [lot for lot in book if lot.quantity > QUANTITY_EPSILON]
    return pieces


def _check_currencies(tx: pl.DataFrame) -> None:
    moving = tx.filter(MOVES_SHARES & (_KIND != "split"))
    currencies = moving.group_by("symbol").agg(pl.col("currency").unique().sort())
    mixed = currencies.filter(pl.col("currency").list.len() > 1)
    if mixed.height:
        sym, ccys = mixed.row(0)
        raise ValueError(f"{sym} is traded in more than one currency ({', '.join(ccys)})")


def _replay(
    tx: pl.DataFrame, method: str
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Replay every share movement (normalised frame, in order).

    Returns (open lots, disposal pieces of sells), as dicts of :data:`OPEN_LOTS_SCHEMA`
    and :data:`DISPOSALS_SCHEMA`.
    """
    method = check_lot_method(method)
    _check_currencies(tx)
    books: dict[tuple[str, str], list[_Lot]] = {}
    ccy_of: dict[str, str] = {}
    in_transit: dict[str, list[_Piece]] = {}  # internal transfer_out pieces awaiting the in-leg
    awaiting: dict[str, tuple[str, str]] = {}  # internal transfer_in seen before its out-leg
    disposals: list[dict[str, object]] = []
    columns = ("kind", "symbol", "account", "quantity", "price", "fee", "seq", "id", "date")
    columns += ("currency", "fx_rate", "internal", "transfer_id")
    for row in tx.filter(MOVES_SHARES).select(columns).iter_rows():
        kind, sym, account, qty, price, fee, seq, row_id, date, *rest = row
        currency, fx_rate, internal, transfer_id = rest
        book = books.setdefault((account, sym), [])
        if kind != "split":
            ccy_of.setdefault(sym, currency)
        if kind == "buy":
            unit = (qty * price + fee) / qty
            book.append(_Lot(date, qty, unit, fx_rate, seq))
        elif kind == "dividend" or (kind == "transfer_in" and not internal):
            book.append(_Lot(date, qty, price, fx_rate, seq))
        elif kind == "split":
            for lot in book:
                lot.quantity *= qty
                lot.unit_cost /= qty
        elif kind == "transfer_in":
            pieces = in_transit.pop(transfer_id, None)
            if pieces is None:
                awaiting[transfer_id] = (account, sym)
            else:
                book.extend(_lot_from(p) for p in pieces)
        else:  # sell, transfer_out
            held = sum([lot.quantity for lot in book])
            if qty > held + QUANTITY_EPSILON * max(1.0, held):
                verb = "sell" if kind == "sell" else "transfer out"
                where = f" in account {account}" if account else ""
                raise ValueError(
                    f"cannot {verb} {qty:g} {sym} on {date}: only {held:g} held{where} "
                    "at that point (sells and transfers out must not exceed the position)"
                )
            pieces = _relieve(book, qty, method, held)
            if kind == "sell":
                proceeds = qty * price - fee
                for p in pieces:
                    disposals.append(
                        {
                            "seq": seq,
                            "id": row_id,
                            "date": date,
                            "account": account,
                            "symbol": sym,
                            "currency": currency,
                            "sale_fx_rate": fx_rate,
                            "quantity": p.quantity,
                            "proceeds": proceeds * p.quantity / qty,
                            "cost": p.quantity * p.unit_cost,
                            "open_date": p.open_date,
                            "lot_fx_rate": p.fx_rate,
                        }
                    )
            elif internal:
                target = awaiting.pop(transfer_id, None)
                if target is None:
                    in_transit[transfer_id] = pieces
                else:
                    books.setdefault(target, []).extend(_lot_from(p) for p in pieces)
    lots = [
        {
            "account": account,
            "symbol": sym,
            "open_date": lot.open_date,
            "quantity": lot.quantity,
            "unit_cost": lot.unit_cost,
            "currency": ccy_of[sym],
            "fx_rate": lot.fx_rate,
            "_order": lot.order,
        }
        for (account, sym), book in books.items()
        for lot in book
        if lot.quantity > QUANTITY_EPSILON
    ]
    return lots, disposals


def open_lots(transactions: pl.DataFrame, method: str = "fifo") -> pl.DataFrame:
    """Open lots after replaying every share movement under lot ``method``.

    Returns :data:`OPEN_LOTS_SCHEMA`, one row per open lot: ``account``, ``symbol``,
    ``open_date`` (acquisition date; kept through splits and transfers between accounts),
    ``quantity`` (> 0), ``unit_cost`` (trade currency per share, buy fee included),
    ``currency`` (trade currency) and ``fx_rate`` (the acquiring row's ``fx_rate``, null
    when it had none), ordered by account, symbol, then acquisition.

    Raises:
        ValueError: an unknown method, a sell or transfer out exceeds the position held in
            that account at that point, a symbol is traded in more than one currency, or
            the frame is malformed (see :func:`normalise_transactions`).
    """
    return _open_lots_frame(normalise_transactions(transactions), method)


def _open_lots_frame(tx: pl.DataFrame, method: str) -> pl.DataFrame:
    """:func:`open_lots` of an already normalised frame (no second normalisation)."""
    lots, _ = _replay(tx, method)
    return (
        pl.DataFrame(lots, schema={**OPEN_LOTS_SCHEMA, "_order": pl.Int64()})
        .sort("account", "symbol", "open_date", "_order")
        .drop("_order")
    )


def fifo_open_lots(transactions: pl.DataFrame) -> pl.DataFrame:
    """Open lots under FIFO: ``open_lots(transactions, "fifo")``."""
    return open_lots(transactions, "fifo")


def disposals(transactions: pl.DataFrame, method: str = "fifo") -> pl.DataFrame:
    """One row per (sell, relieved lot piece): :data:`DISPOSALS_SCHEMA`.

    ``proceeds`` of a sell (``quantity * price - fee``) are shared between its pieces by
    quantity; ``cost`` = piece quantity * lot unit cost; ``sale_fx_rate``/``lot_fx_rate``
    are the ``fx_rate`` of the sell row and of the lot's acquiring row (null when absent).
    """
    return _disposals_frame(normalise_transactions(transactions), method)


def _disposals_frame(tx: pl.DataFrame, method: str) -> pl.DataFrame:
    """:func:`disposals` of an already normalised frame (no second normalisation)."""
    _, pieces = _replay(tx, method)
    return pl.DataFrame(pieces, schema=DISPOSALS_SCHEMA)


def realised_trades(
    transactions: pl.DataFrame, method: str = "fifo", *, by_lot: bool = False
) -> pl.DataFrame:
    """Realised P&L per sell row, in the trade currency, under lot ``method``.

    Returns :data:`REALISED_TRADES_SCHEMA` in application order: ``seq``/``id`` of the sell,
    ``date``, ``account``, ``symbol``, ``currency``, ``quantity``, ``proceeds``
    (``quantity * price - fee``), ``cost`` (of the relieved lot shares, buy fees included),
    ``realised_pnl`` (``proceeds - cost``) and ``holding_start`` (open date of the oldest
    relieved lot; null under ``average``, where the position is pooled). With ``by_lot``
    there is one row per relieved lot instead, proceeds shared by quantity, and
    ``holding_start`` is that lot's open date (e.g. for short/long-term splits).
    Reinvested dividends and transfers are not sales and realise nothing.
    """
    method = check_lot_method(method)
    pieces = disposals(transactions, method).rename({"open_date": "holding_start"})
    if not by_lot:
        pieces = pieces.group_by("seq", maintain_order=True).agg(
            *(pl.col(c).first() for c in ("id", "date", "account", "symbol", "currency")),
            *(pl.col(c).sum() for c in ("quantity", "proceeds", "cost")),
            pl.col("holding_start").min(),
        )
    if method == "average":
        pieces = pieces.with_columns(pl.lit(None, dtype=pl.Date).alias("holding_start"))
    return (
        pieces.with_columns((pl.col("proceeds") - pl.col("cost")).alias("realised_pnl"))
        .select(list(REALISED_TRADES_SCHEMA))
        .cast(REALISED_TRADES_SCHEMA)
    )


def realised_pnl(transactions: pl.DataFrame, method: str = "fifo") -> pl.DataFrame:
    """Realised trading P&L per symbol (all accounts) under lot ``method``, trade currency.

    Returns ``symbol, currency, quantity_sold, proceeds (quantity * price - sell fees),
    cost (of the relieved lots, buy fees included), realised_pnl (proceeds - cost)`` for
    every symbol with at least one sell. Dividends are not included.

    Raises:
        ValueError: as :func:`open_lots`.
    """
    trades = realised_trades(transactions, method)
    return (
        trades.group_by("symbol", maintain_order=True)
        .agg(
            pl.col("currency").first(),
            pl.col("quantity").sum().alias("quantity_sold"),
            *(pl.col(c).sum() for c in ("proceeds", "cost", "realised_pnl")),
        )
        .sort("symbol")
        .cast(REALISED_SCHEMA)
    )
