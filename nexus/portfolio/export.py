"""Exports: the ledger as CSV or JSON, and any computed series as CSV or Parquet.

Transactions CSV ("Portfolio Nexus" layout, version 1) — stable, read back by the CSV
importer's built-in "Portfolio Nexus" mapping, so export → import gives the same ledger:

* UTF-8, comma-separated, one header line, ``\\n`` line ends, quotes where needed;
* columns, in this order: ``date, type, account, symbol, quantity, price, amount, fee,
  currency, fx_rate, transfer, note``;
* ``date`` ISO (YYYY-MM-DD); ``type`` one of the ledger kinds (buy, sell, deposit,
  withdrawal, dividend, interest, fee, tax, split, transfer_in, transfer_out);
* numbers with a decimal point and no thousands separator, written with all their digits
  (Python's shortest round-trip form); an unused number is empty; every magnitude is
  positive (the type gives the direction, see ``nexus.portfolio.model``);
* ``fx_rate``: base-currency units per 1 unit of ``currency`` on the trade date, empty when
  none is stored (base-currency rows); ``transfer``: the same value on the two sides of a
  transfer between accounts, empty otherwise;
* rows in ledger order (date, then entry order), which is also the order they are imported;
* text starting with ``=``, ``+``, ``-``, ``@``, a tab or ``'`` gets a leading ``'`` so
  spreadsheets do not run it as a formula (the importer removes exactly that one again).

Transactions JSON: ``{"format": "portfolio-nexus/transactions", "version": 1,
"exported_at": ISO time, "portfolio": {name, base_currency, lot_method},
"transactions": [{the CSV columns; numbers as numbers, empty as null}]}``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

from nexus.portfolio.model import PortfolioRecord, TransactionRecord

CSV_COLUMNS = (
    "date",
    "type",
    "account",
    "symbol",
    "quantity",
    "price",
    "amount",
    "fee",
    "currency",
    "fx_rate",
    "transfer",
    "note",
)
JSON_FORMAT = "portfolio-nexus/transactions"
LAYOUT_VERSION = 1
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    value = value or ""
    return "'" + value if value.startswith((*_FORMULA_START, "'")) else value


def _number(value: float | None) -> str:
    if value is None or value == 0:
        return ""
    return repr(float(value))


def _row(r: TransactionRecord) -> dict:
    return {
        "date": r.trade_date.isoformat(),
        "type": r.kind,
        "account": r.account,
        "symbol": r.symbol,
        "quantity": r.quantity or None,
        "price": r.price or None,
        "amount": r.amount or None,
        "fee": r.fee or None,
        "currency": r.currency,
        "fx_rate": r.fx_rate,
        "transfer": str(r.transfer_id) if r.transfer_id else None,
        "note": r.note or "",
    }


def transactions_csv(records: Sequence[TransactionRecord]) -> bytes:
    """The ledger in the Portfolio Nexus CSV layout (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        row = _row(r)
        writer.writerow(
            [
                row["date"],
                row["type"],
                _text(row["account"]),
                _text(row["symbol"]),
                _number(r.quantity),
                _number(r.price),
                _number(r.amount),
                _number(r.fee),
                row["currency"],
                _number(r.fx_rate),
                row["transfer"] or "",
                _text(row["note"]),
            ]
        )
    return out.getvalue().encode("utf-8")


def transactions_json(
    records: Sequence[TransactionRecord],
    *,
    portfolio: PortfolioRecord | None = None,
    exported_at: datetime | None = None,
) -> bytes:
    """The ledger as JSON (see the module docstring)."""
    payload = {
        "format": JSON_FORMAT,
        "version": LAYOUT_VERSION,
        "exported_at": (exported_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "portfolio": None
        if portfolio is None
        else {
            "name": portfolio.name,
            "base_currency": portfolio.base_currency,
            "lot_method": portfolio.lot_method,
        },
        "transactions": [_row(r) for r in records],
    }
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def frame_csv(frame: pl.DataFrame) -> bytes:
    """Any polars frame as UTF-8 CSV (ISO dates, decimal point, header line). CSV is flat:
    list columns are joined with "; ", struct columns written as JSON."""
    flat = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List | pl.Array):
            column = column.cast(pl.List(pl.String)).list.join("; ")
        elif isinstance(dtype, pl.Struct):
            column = column.struct.json_encode()
        flat.append(column)
    return frame.select(flat).write_csv(date_format="%Y-%m-%d").encode("utf-8")


def frame_parquet(frame: pl.DataFrame) -> bytes:
    """Any polars frame as Parquet (column types kept)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()
