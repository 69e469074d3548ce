"""Generic CSV import: the user maps the file's columns (and its type labels) to ours.

A :class:`CsvMapping` says which column holds each of our fields, what each of the file's
type labels means ("Buy", "Kauf", "DIV" …), how dates and decimals are written, and the
currency and account for rows that do not name one. It is plain JSON data, so a user can
save it under a name (``PortfolioRepository.save_mapping``) and reuse it for the next
export of the same broker. :func:`guess_mapping` proposes one from common header names.

Signs: our ledger stores magnitudes and lets the type give the direction, so by default the
sign of a number is ignored ("-1,000.00" on a buy is a buy of 1,000.00). Where the sign *is*
the direction — a file without a type column, or a label like "Trade" — map the label to
"buy or sell by the sign of the quantity" or "deposit or withdrawal by the sign of the
amount". Without a type column, rows with a quantity are trades, the others cash.

The built-in :data:`NEXUS_MAPPING` reads the Portfolio Nexus export
(:mod:`nexus.portfolio.export`) back, so an export imports as the same ledger.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date

from nexus.portfolio.export import CSV_COLUMNS
from nexus.portfolio.importers import (
    DATE_FORMATS,
    DELIMITERS,
    ImportResult,
    RowError,
    Table,
    best_date_format,
    clean_text,
    detect_date_format,
    detect_decimal,
    finalize,
    parse_date,
    parse_number,
    read_table,
    symbol_key,
)
from nexus.portfolio.model import (
    CURRENCIES,
    TRANSFER_KINDS,
    InstrumentInfo,
    Kind,
    TransactionDraft,
)

#: Our fields, with the labels the mapping step shows.
FIELDS = {
    "date": "Date",
    "kind": "Type",
    "symbol": "Symbol",
    "quantity": "Quantity",
    "price": "Price per unit",
    "amount": "Amount",
    "fee": "Fee",
    "currency": "Currency",
    "account": "Account",
    "fx_rate": "FX rate to base",
    "note": "Note",
    "transfer": "Transfer group",
}
NUMBER_FIELDS = ("quantity", "price", "amount", "fee", "fx_rate")
#: Pseudo-types a label can be mapped to besides our kinds.
AUTO_TRADE = "auto:trade"
AUTO_CASH = "auto:cash"
SKIP = "skip"
KIND_CHOICES = (*(k.value for k in Kind), AUTO_TRADE, AUTO_CASH, SKIP)
KIND_CHOICE_LABELS = {
    AUTO_TRADE: "Buy or sell (by the sign of the quantity)",
    AUTO_CASH: "Deposit or withdrawal (by the sign of the amount)",
    SKIP: "Skip these rows",
}

# Header names seen in broker and tool exports (compared case- and space-insensitively).
ALIASES: dict[str, tuple[str, ...]] = {
    "date": (
        "date", "trade date", "transaction date", "datum", "buchungstag", "handelstag",
        "settlement date", "value date", "valuta", "time", "datetime", "executed at",
    ),
    "kind": (
        "type", "transaction type", "action", "activity", "activity type", "typ", "art",
        "buchungsart", "transaktionstyp", "side", "kind", "operation",
    ),
    "symbol": (
        "symbol", "ticker", "ticker symbol", "ticker-symbol", "instrument", "security symbol",
        "code", "wertpapier", "asset",
    ),
    "quantity": (
        "quantity", "shares", "qty", "units", "stück", "stueck", "anzahl", "no. of shares",
        "number of shares", "menge",
    ),
    "price": (
        "price", "unit price", "unitprice", "price per share", "price per unit", "share price",
        "kurs", "preis", "ausführungskurs",
    ),
    "amount": (
        "amount", "value", "total", "net amount", "gross amount", "betrag", "wert", "gesamt",
        "total amount", "cash amount",
    ),
    "fee": ("fee", "fees", "commission", "commissions", "gebühren", "gebühr", "provision",
            "costs", "kosten"),
    "currency": ("currency", "ccy", "währung", "transaction currency", "buchungswährung", "cur"),
    "account": ("account", "konto", "depot", "account name", "portfolio", "broker", "wallet"),
    "fx_rate": ("fx rate", "fx_rate", "exchange rate", "wechselkurs", "fx", "rate"),
    "note": ("note", "notes", "comment", "comments", "description", "notiz", "memo",
             "bemerkung", "verwendungszweck"),
    "transfer": ("transfer", "transfer id", "transfer group", "transfer_id"),
}  # fmt: skip

# Type labels we understand without asking (English and German; our own kind names too).
KIND_SYNONYMS: dict[str, str] = {
    **{k.value: k.value for k in Kind},
    **{k.value.replace("_", " "): k.value for k in Kind},
    "buy": "buy", "bought": "buy", "purchase": "buy", "kauf": "buy", "b": "buy",
    "market buy": "buy", "limit buy": "buy",
    "sell": "sell", "sold": "sell", "sale": "sell", "verkauf": "sell", "s": "sell",
    "market sell": "sell", "limit sell": "sell",
    "deposit": "deposit", "einlage": "deposit", "einzahlung": "deposit",
    "cash in": "deposit", "contribution": "deposit",
    "withdrawal": "withdrawal", "withdraw": "withdrawal", "removal": "withdrawal",
    "entnahme": "withdrawal", "auszahlung": "withdrawal", "cash out": "withdrawal",
    "dividend": "dividend", "dividends": "dividend", "dividende": "dividend", "div": "dividend",
    "ausschüttung": "dividend", "distribution": "dividend",
    "interest": "interest", "zinsen": "interest", "zins": "interest",
    "fee": "fee", "fees": "fee", "gebühr": "fee", "gebühren": "fee", "custody fee": "fee",
    "tax": "tax", "taxes": "tax", "steuer": "tax", "steuern": "tax",
    "withholding tax": "tax", "quellensteuer": "tax",
    "split": "split", "stock split": "split", "aktiensplit": "split",
    "transfer in": "transfer_in", "delivery in": "transfer_in", "einlieferung": "transfer_in",
    "delivery (inbound)": "transfer_in", "transfer (inbound)": "transfer_in",
    "transfer out": "transfer_out", "delivery out": "transfer_out", "auslieferung": "transfer_out",
    "delivery (outbound)": "transfer_out", "transfer (outbound)": "transfer_out",
}  # fmt: skip


def normalize_label(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


@dataclass
class CsvMapping:
    """How to read one broker's CSV. Plain data; ``to_dict``/``from_dict`` for saving."""

    #: Our field → the file's column header.
    columns: dict[str, str] = field(default_factory=dict)
    #: The file's type label → our kind (or :data:`AUTO_TRADE`, :data:`AUTO_CASH`, :data:`SKIP`).
    kinds: dict[str, str] = field(default_factory=dict)
    date_format: str = "auto"  # "auto" or a key of DATE_FORMATS
    decimal: str = "auto"  # "auto", "." or ","
    delimiter: str = "auto"  # "auto", ",", ";" or "\t"
    default_currency: str = "USD"
    #: Account for rows without one ("" = the portfolio's first account).
    default_account: str = ""
    #: The file's symbol → a symbol of the market data.
    symbols: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> CsvMapping:
        """A mapping from saved JSON; unknown fields and values are dropped, not trusted."""

        def strings(value) -> dict[str, str]:
            if not isinstance(value, Mapping):
                return {}
            return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}

        columns = {k: v for k, v in strings(data.get("columns")).items() if k in FIELDS}
        kinds = {k: v for k, v in strings(data.get("kinds")).items() if v in KIND_CHOICES}
        date_format = data.get("date_format", "auto")
        decimal = data.get("decimal", "auto")
        delimiter = data.get("delimiter", "auto")
        currency = str(data.get("default_currency") or "USD").upper()
        return cls(
            columns=columns,
            kinds=kinds,
            date_format=date_format if date_format in (*DATE_FORMATS, "auto") else "auto",
            decimal=decimal if decimal in (".", ",", "auto") else "auto",
            delimiter=delimiter if delimiter in (*DELIMITERS, "auto") else "auto",
            default_currency=currency if currency in CURRENCIES else "USD",
            default_account=str(data.get("default_account") or "")[:80],
            symbols=strings(data.get("symbols")),
        )


#: Reads the Portfolio Nexus CSV export (nexus.portfolio.export) back.
NEXUS_MAPPING = CsvMapping(
    columns={"kind" if c == "type" else c: c for c in CSV_COLUMNS},
    kinds={k.value: k.value for k in Kind},
    date_format="%Y-%m-%d",
    decimal=".",
    delimiter=",",
)


def guess_mapping(headers: Sequence[str]) -> dict[str, str]:
    """Our field → the header that most likely holds it, from common header names
    (exact alias first, then a header containing an alias); each header used once."""
    norm = {h: normalize_label(h).replace("_", " ") for h in headers}
    taken: set[str] = set()
    out: dict[str, str] = {}
    for exact in (True, False):
        for fld, aliases in ALIASES.items():
            if fld in out:
                continue
            for alias in aliases:
                alias = alias.replace("_", " ")
                match = next(
                    (
                        h
                        for h in headers
                        if h not in taken
                        and (norm[h] == alias if exact else len(alias) > 3 and alias in norm[h])
                    ),
                    None,
                )
                if match is not None:
                    out[fld] = match
                    taken.add(match)
                    break
    return out


def suggest_kind(label: str) -> str | None:
    """Our kind for a type label we know ("Kauf" → buy), else ``None``."""
    return KIND_SYNONYMS.get(normalize_label(label))


def kind_labels(table: Table, mapping: CsvMapping, limit: int = 50) -> list[str]:
    """The distinct values of the mapped type column, in order of appearance."""
    column = mapping.columns.get("kind")
    if not column or column not in table.headers:
        return []
    seen: dict[str, None] = {}
    for value in table.column(column):
        value = " ".join(value.split())
        if value and value not in seen:
            seen[value] = None
            if len(seen) >= limit:
                break
    return list(seen)


def _check_transfer_groups(
    drafts: list[tuple[int, TransactionDraft]], errors: list[RowError]
) -> None:
    """Rows sharing a transfer value must be one side out and one side in, alike."""
    groups: dict[uuid.UUID, list[tuple[int, TransactionDraft]]] = defaultdict(list)
    for row, d in drafts:
        if d.transfer_id is not None:
            groups[d.transfer_id].append((row, d))
    for legs in groups.values():
        rows = [r for r, _ in legs]
        kinds = sorted(d.kind for _, d in legs)
        problem = None
        if kinds != [Kind.TRANSFER_IN.value, Kind.TRANSFER_OUT.value]:
            problem = (
                "A transfer between accounts needs exactly two rows with the same transfer "
                f"value, one transfer_out and one transfer_in (lines {', '.join(map(str, rows))})."
            )
        else:
            (_, a), (_, b) = legs
            if (a.account or "") == (b.account or ""):
                problem = "The two sides of a transfer must be in two different accounts."
            elif any(
                getattr(a, f) != getattr(b, f)
                for f in ("trade_date", "symbol", "quantity", "amount", "currency")
            ):
                problem = (
                    "The two sides of a transfer must have the same date, symbol, quantity, "
                    "amount and currency."
                )
        if problem:
            errors.extend(RowError(r, "transfer", problem) for r in rows)


def parse(
    data: bytes | Table,
    mapping: CsvMapping,
    *,
    instruments: Mapping[str, InstrumentInfo],
    today: date,
    base_currency: str | None = None,
    symbol_map: Mapping[str, str] | None = None,
) -> ImportResult:
    """Read a CSV with ``mapping``; rows are file lines (the header is line 1)."""
    table = data if isinstance(data, Table) else read_table(data, mapping.delimiter)
    remap = {**mapping.symbols, **(symbol_map or {})}
    remap_keys = {symbol_key(k): symbol_key(v) for k, v in remap.items() if v}
    problems: list[str] = []
    columns = {f: c for f, c in mapping.columns.items() if f in FIELDS and c}
    for fld, column in columns.items():
        if column not in table.headers:
            problems.append(f"The column {column!r} (mapped to {FIELDS[fld]}) is not in this file.")
    columns = {f: c for f, c in columns.items() if c in table.headers}
    if "date" not in columns:
        problems.append("Choose the column that holds the date.")
    if not {"kind", "quantity", "amount"} & columns.keys():
        problems.append("Choose the column with the type, or at least a quantity or amount.")
    index = {f: table.headers.index(c) for f, c in columns.items()}

    def cell(cells: list[str], fld: str) -> str:
        i = index.get(fld)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    decimal = mapping.decimal
    if decimal == "auto":
        decimal = detect_decimal(
            [cell(c, f) for _, c in table.rows for f in NUMBER_FIELDS if f in index],
            table.delimiter,
        )
    date_format = mapping.date_format
    if date_format == "auto" and "date" in index:
        values = [cell(c, "date") for _, c in table.rows]
        found, fits = detect_date_format(values)
        if found:
            date_format = found
        elif len(fits) > 1:
            example = next((v for v in values if v.strip()), "")
            names = " or ".join(DATE_FORMATS[f] for f in fits)
            problems.append(
                f"Dates such as {example!r} can be read as {names}: choose the date format."
            )
            date_format = fits[0]
        else:
            date_format = best_date_format(values)
    if date_format == "auto":
        date_format = "%Y-%m-%d"

    lookup = {normalize_label(k): v for k, v in mapping.kinds.items()}
    default_currency = (mapping.default_currency or "USD").upper()
    default_account = " ".join((mapping.default_account or "").split()) or None
    groups: dict[str, uuid.UUID] = {}
    errors: list[RowError] = []
    raw: list[tuple[int, TransactionDraft]] = []
    skipped = 0
    for line, cells in table.rows if "date" in index else ():
        row_errors: list[RowError] = []
        target: str | None = None
        text = cell(cells, "date")
        trade_date = None
        if not text:
            row_errors.append(RowError(line, "trade_date", "The date is missing."))
        else:
            try:
                trade_date = parse_date(text, date_format)
            except ValueError:
                row_errors.append(
                    RowError(
                        line,
                        "trade_date",
                        f"Cannot read the date {text!r} (expected {DATE_FORMATS[date_format]}).",
                    )
                )
        numbers: dict[str, float | None] = {}
        for fld in NUMBER_FIELDS:
            try:
                numbers[fld] = parse_number(cell(cells, fld), decimal)
            except ValueError:
                numbers[fld] = None
                row_errors.append(
                    RowError(line, fld, f"{FIELDS[fld]}: {cell(cells, fld)!r} is not a number.")
                )
        if "kind" in index:
            label = " ".join(cell(cells, "kind").split())
            target = lookup.get(normalize_label(label)) or suggest_kind(label)
            if target == SKIP:
                skipped += 1
                continue
            if not label:
                row_errors.append(RowError(line, "kind", "The type is missing."))
            elif target is None:
                row_errors.append(
                    RowError(
                        line,
                        "kind",
                        f"Unknown type {label!r}: choose what it means in the type mapping.",
                    )
                )
        else:
            target = AUTO_TRADE if numbers.get("quantity") else AUTO_CASH
        quantity, amount = numbers.get("quantity"), numbers.get("amount")
        kind = target
        if target == AUTO_TRADE:
            if not quantity:
                row_errors.append(
                    RowError(line, "quantity", "A quantity is needed to tell a buy from a sell.")
                )
            else:
                kind = Kind.BUY.value if quantity > 0 else Kind.SELL.value
        elif target == AUTO_CASH:
            if not amount:
                row_errors.append(
                    RowError(
                        line, "amount", "An amount is needed to tell a deposit from a withdrawal."
                    )
                )
            else:
                kind = Kind.DEPOSIT.value if amount > 0 else Kind.WITHDRAWAL.value
        if row_errors:
            errors.extend(row_errors)
            continue
        magnitude = {f: abs(v) if v is not None else None for f, v in numbers.items()}
        q, p, a = (magnitude[f] or 0.0 for f in ("quantity", "price", "amount"))
        symbol = clean_text(cell(cells, "symbol")) or None
        if kind in (Kind.BUY, Kind.SELL, *TRANSFER_KINDS) and symbol and q and not p and a:
            p = a / q  # a trade's amount is quantity × price (fees separate)
        currency = cell(cells, "currency").upper()
        if not currency:
            key = symbol_key(symbol)
            info = instruments.get(remap_keys.get(key, key)) if key else None
            currency = info.currency if info else default_currency
        group = cell(cells, "transfer")
        transfer_id = None
        if group and kind in TRANSFER_KINDS:
            transfer_id = groups.setdefault(group, uuid.uuid4())
        raw.append(
            (
                line,
                TransactionDraft(
                    kind=kind,
                    trade_date=trade_date,
                    currency=currency,
                    symbol=symbol,
                    quantity=q,
                    price=p,
                    amount=a,
                    fee=magnitude["fee"] or 0.0,
                    note=clean_text(cell(cells, "note")),
                    account=clean_text(cell(cells, "account")) or default_account,
                    fx_rate=magnitude["fx_rate"],
                    transfer_id=transfer_id,
                ),
            )
        )
    _check_transfer_groups(raw, errors)
    bad = {e.row for e in errors}
    return finalize(
        [(r, d) for r, d in raw if r not in bad],
        instruments=instruments,
        today=today,
        errors=errors,
        warnings=table.warnings,
        problems=problems,
        rows_read=len(table.rows),
        skipped=skipped,
        symbol_map=remap,
        base_currency=base_currency,
    )
