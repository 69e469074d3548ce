"""Transaction normalisation and FIFO cost-basis lots.

Pure functions over polars frames: no I/O, no Streamlit, no module state.

Transactions frame (see ``docs/contracts.md``)::

    date: Date, kind: Utf8, symbol: Utf8|null, quantity: f64, price: f64,
    amount: f64, fee: f64, currency: Utf8  [+ optional integer ``id``]

All magnitudes are positive; ``kind`` gives the sign. Amounts are in the transaction's
``currency`` (for buys and sells that is the instrument's currency). Same-day rows are
applied in ``id`` order when an ``id`` column is present, otherwise in row order.

Cost basis (this module): a buy opens a lot whose ``unit_cost`` is
``(quantity * price + fee) / quantity`` in the trade currency, i.e. the buy fee is part of
the cost. A sell consumes the oldest open lots first (FIFO); its fee reduces the sale
proceeds, so realised P&L = ``quantity * price - fee - cost of the consumed lot shares``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import polars as pl

#: Quantities whose absolute value is at or below this are treated as zero (float dust).
QUANTITY_EPSILON = 1e-9

TRANSACTION_KINDS: frozenset[str] = frozenset(
    {"buy", "sell", "deposit", "withdrawal", "dividend", "fee"}
)
TRADE_KINDS: frozenset[str] = frozenset({"buy", "sell"})

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

#: Schema of :func:`normalise_transactions` output (``seq`` = application order, 0-based).
NORMALISED_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.UInt32(),
    "date": pl.Date(),
    "kind": pl.Utf8(),
    "symbol": pl.Utf8(),
    "quantity": pl.Float64(),
    "price": pl.Float64(),
    "amount": pl.Float64(),
    "fee": pl.Float64(),
    "currency": pl.Utf8(),
}

OPEN_LOTS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.Utf8(),
    "open_date": pl.Date(),
    "quantity": pl.Float64(),
    "unit_cost": pl.Float64(),
    "currency": pl.Utf8(),
}

REALISED_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.Utf8(),
    "currency": pl.Utf8(),
    "quantity_sold": pl.Float64(),
    "proceeds": pl.Float64(),
    "cost": pl.Float64(),
    "realised_pnl": pl.Float64(),
}


def normalise_transactions(transactions: pl.DataFrame) -> pl.DataFrame:
    """Validate and canonicalise a transactions frame.

    Returns the columns of :data:`NORMALISED_SCHEMA`, sorted in application order
    (``date``, then ``id`` if present, then original row order) with ``seq`` numbering that
    order. ``kind`` is lower-cased, ``currency`` upper-cased, null numbers become ``0.0``.

    Raises:
        ValueError: missing columns, unknown kinds, negative magnitudes, a buy/sell without
            a symbol or with a non-positive quantity, or a row without a currency.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions frame is missing column(s): {', '.join(missing)}")

    has_id = "id" in transactions.columns
    order_cols = ["date", "id", "_row"] if has_id else ["date", "_row"]
    df = (
        transactions.select(*REQUIRED_COLUMNS, *(["id"] if has_id else []))
        .with_row_index("_row")
        .with_columns(
            pl.col("date").cast(pl.Date),
            pl.col("kind").cast(pl.Utf8).str.strip_chars().str.to_lowercase(),
            pl.col("symbol").cast(pl.Utf8).str.strip_chars(),
            pl.col("currency").cast(pl.Utf8).str.strip_chars().str.to_uppercase(),
            *(
                pl.col(c).cast(pl.Float64).fill_null(0.0)
                for c in ("quantity", "price", "amount", "fee")
            ),
        )
        .sort(order_cols, nulls_last=True, maintain_order=True)
        .with_row_index("seq")
        .select(list(NORMALISED_SCHEMA))
    )
    _validate(df)
    return df


def _validate(df: pl.DataFrame) -> None:
    """Raise ``ValueError`` naming the first offending row of a normalised frame."""
    is_trade = pl.col("kind").is_in(list(TRADE_KINDS))
    checks: list[tuple[pl.Expr, str]] = [
        (pl.col("date").is_null(), "date is missing"),
        (
            pl.col("kind").is_null() | ~pl.col("kind").is_in(list(TRANSACTION_KINDS)),
            f"kind must be one of {sorted(TRANSACTION_KINDS)}",
        ),
        (
            pl.col("currency").is_null() | (pl.col("currency") == ""),
            "currency is missing",
        ),
        (
            is_trade & (pl.col("symbol").is_null() | (pl.col("symbol") == "")),
            "a buy/sell needs a symbol",
        ),
        (is_trade & (pl.col("quantity") <= 0), "a buy/sell needs quantity > 0"),
        *(
            (pl.col(c) < 0, f"{c} must not be negative (the kind gives the sign)")
            for c in ("quantity", "price", "amount", "fee")
        ),
    ]
    for condition, message in checks:
        bad = df.filter(condition)
        if bad.height:
            row = bad.row(0, named=True)
            raise ValueError(
                f"invalid transaction #{row['seq']} ({row['date']} {row['kind']} "
                f"{row['symbol'] or ''}): {message}"
            )


@dataclass
class _Lot:
    open_date: object
    quantity: float
    unit_cost: float


def _run_fifo(tx: pl.DataFrame) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Replay buys and sells (normalised, in order). Returns (open lots, sell records)."""
    trades = tx.filter(pl.col("kind").is_in(list(TRADE_KINDS)))
    currencies = trades.group_by("symbol").agg(pl.col("currency").unique().sort())
    mixed = currencies.filter(pl.col("currency").list.len() > 1)
    if mixed.height:
        sym, ccys = mixed.row(0)
        raise ValueError(f"{sym} is traded in more than one currency ({', '.join(ccys)})")

    books: dict[str, deque[_Lot]] = {}
    ccy_of: dict[str, str] = {}
    sales: list[dict[str, object]] = []
    for row in trades.iter_rows(named=True):
        sym, qty = row["symbol"], row["quantity"]
        ccy_of[sym] = row["currency"]
        book = books.setdefault(sym, deque())
        if row["kind"] == "buy":
            book.append(_Lot(row["date"], qty, (qty * row["price"] + row["fee"]) / qty))
            continue
        held = sum(lot.quantity for lot in book)
        if qty > held + QUANTITY_EPSILON * max(1.0, held):
            raise ValueError(
                f"cannot sell {qty:g} {sym} on {row['date']}: only {held:g} held at that "
                "point (sells must not exceed the open position)"
            )
        remaining, cost = qty, 0.0
        while book and remaining > QUANTITY_EPSILON:
            lot = book[0]
            take = min(lot.quantity, remaining)
            cost += take * lot.unit_cost
            lot.quantity -= take
            remaining -= take
            if lot.quantity <= QUANTITY_EPSILON:
                book.popleft()
        proceeds = qty * row["price"] - row["fee"]
        sales.append(
            {
                "symbol": sym,
                "currency": row["currency"],
                "quantity_sold": qty,
                "proceeds": proceeds,
                "cost": cost,
                "realised_pnl": proceeds - cost,
            }
        )
    lots = [
        {
            "symbol": sym,
            "open_date": lot.open_date,
            "quantity": lot.quantity,
            "unit_cost": lot.unit_cost,
            "currency": ccy_of[sym],
        }
        for sym, book in books.items()
        for lot in book
        if lot.quantity > QUANTITY_EPSILON
    ]
    return lots, sales


def fifo_open_lots(transactions: pl.DataFrame) -> pl.DataFrame:
    """Open FIFO lots after replaying every buy and sell.

    Returns one row per open lot: ``symbol``, ``open_date`` (buy date), ``quantity``
    (shares still open, > 0), ``unit_cost`` (trade currency per share, buy fee included)
    and ``currency`` (trade currency), ordered by symbol then opening order.

    Raises:
        ValueError: a sell exceeds the position held at that point, a symbol is traded in
            more than one currency, or the frame is malformed (see
            :func:`normalise_transactions`).
    """
    lots, _ = _run_fifo(normalise_transactions(transactions))
    return pl.DataFrame(lots, schema=OPEN_LOTS_SCHEMA).sort("symbol", maintain_order=True)


def realised_pnl(transactions: pl.DataFrame) -> pl.DataFrame:
    """Realised trading P&L per symbol under FIFO, in the trade currency.

    Returns ``symbol, currency, quantity_sold, proceeds (quantity * price - sell fees),
    cost (FIFO cost of the shares sold, buy fees included), realised_pnl (proceeds - cost)``
    for every symbol with at least one sell. Dividends are not included.

    Raises:
        ValueError: as :func:`fifo_open_lots`.
    """
    _, sales = _run_fifo(normalise_transactions(transactions))
    frame = pl.DataFrame(sales, schema=REALISED_SCHEMA)
    return (
        frame.group_by("symbol", maintain_order=True)
        .agg(
            pl.col("currency").first(),
            *(pl.col(c).sum() for c in ("quantity_sold", "proceeds", "cost", "realised_pnl")),
        )
        .sort("symbol")
    )
