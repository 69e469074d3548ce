"""Importers: bytes of a broker's or another tool's export → transaction drafts.

Every importer is pure (no database, no Streamlit): it reads the bytes, returns an
:class:`ImportResult` with the drafts it could build — each with the line (or activity)
number it came from and the account *name* the file gives — and a :class:`RowError` for
every row it could not use, in plain words. Symbols are checked against the instruments the
caller passes (the published market data), and every draft is checked by the ledger's own
:func:`~nexus.portfolio.validation.validate_draft`, so what the preview calls "ready" is what
the repository accepts row by row. Ledger-wide rules (no overselling) are checked when the
whole batch is committed, all or nothing, by ``PortfolioRepository.import_transactions``.

Shared here: decoding, delimiter sniffing, number and date parsing and :func:`finalize`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from nexus.portfolio.model import (
    TRANSFER_KINDS,
    InstrumentInfo,
    LedgerError,
    TransactionDraft,
)
from nexus.portfolio.validation import clean_name, validate_draft

#: Largest file the importers read (the page refuses bigger uploads before reading).
MAX_BYTES = 5 * 1024 * 1024
MAX_NOTE = 500
DELIMITERS = {",": "Comma", ";": "Semicolon", "\t": "Tab"}
#: Date formats a CSV may use. ISO also accepts a time after the date ("2024-01-15T00:00").
DATE_FORMATS = {
    "%Y-%m-%d": "YYYY-MM-DD (ISO)",
    "%d.%m.%Y": "DD.MM.YYYY",
    "%m/%d/%Y": "MM/DD/YYYY (US)",
    "%d/%m/%Y": "DD/MM/YYYY",
}
#: Spreadsheet formula starters; exports prefix such text cells with "'" (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong type, encoding, shape); nothing imported."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One row that cannot be imported: its line (or activity) number, the field, why."""

    row: int
    field: str
    message: str


@dataclass
class ImportResult:
    """What an importer made of a file.

    ``drafts`` are ``(row, draft)`` pairs in file order (one row may give two drafts, e.g. a
    sale and the tax withheld on it); ``errors`` name rows that cannot be imported;
    ``problems`` concern the whole file and block any import (e.g. ambiguous dates);
    ``skipped`` counts rows left out on purpose (types mapped to "skip").
    """

    drafts: list[tuple[int, TransactionDraft]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rows_read: int = 0
    skipped: int = 0
    #: The file's symbols that are not in the market data → rows using them.
    unknown_symbols: dict[str, list[int]] = field(default_factory=dict)
    #: Display names for the file's symbols (e.g. a Ghostfolio manual asset's name).
    symbol_labels: dict[str, str] = field(default_factory=dict)
    #: "Line" for CSV files (the header is line 1), "Activity" for Ghostfolio's JSON.
    row_label: str = "Line"

    @property
    def error_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    @property
    def ready(self) -> list[TransactionDraft]:
        """The drafts of rows without errors, in file order."""
        return [d for _, d in self.drafts]

    @property
    def accounts(self) -> list[str]:
        """Account names the ready drafts use (``None`` = default account not listed)."""
        return sorted({d.account for _, d in self.drafts if isinstance(d.account, str)})

    @property
    def lone_transfers(self) -> int:
        return sum(1 for _, d in self.drafts if d.kind in TRANSFER_KINDS and not d.transfer_id)


# Reading files --------------------------------------------------------------------------
def decode(data: bytes) -> tuple[str, list[str]]:
    """Text of an uploaded file (UTF-8, with or without BOM; else Windows-1252 with a
    warning). Binary files, spreadsheets and empty files raise :class:`ImportFileError`."""
    if not data or not data.strip():
        raise ImportFileError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        )
    if data[:4] == b"PK\x03\x04":
        raise ImportFileError(
            "This is a spreadsheet or ZIP file (e.g. .xlsx), not text. Save it as CSV "
            "(comma- or semicolon-separated, UTF-8) and upload that."
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            raise ImportFileError("The file is not valid UTF-16 text.") from None
    if b"\x00" in data[:4096]:
        raise ImportFileError("This is a binary file, not a text (CSV or JSON) export.")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file's text encoding is not UTF-8 (nor Windows-1252). Export it as UTF-8."
        ) from None
    return text, ["The file is not UTF-8; it was read as Windows-1252 (Western European)."]


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one splitting the first lines into the most, equal,
    fields (quotes respected)."""
    lines = [line for line in text.splitlines() if line.strip()][:20]
    if not lines:
        raise ImportFileError("The file has no lines.")
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        widths = [len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(1 for w in widths if w == widths[0])
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass
class Table:
    """A CSV file read as text: header names and ``(line, cells)`` for each data row."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    delimiter: str
    warnings: list[str] = field(default_factory=list)

    def column(self, name: str) -> list[str]:
        i = self.headers.index(name)
        return [cells[i] if i < len(cells) else "" for _, cells in self.rows]


def read_table(data: bytes, delimiter: str = "auto") -> Table:
    """Decode and split a CSV file. Row numbers are file lines (the header is line 1)."""
    text, warnings = decode(data)
    if text.lstrip().startswith(("{", "[")):
        raise ImportFileError(
            "This looks like a JSON file, not CSV. For a Ghostfolio export choose "
            "'Ghostfolio JSON' as the source."
        )
    if delimiter == "auto":
        delimiter = sniff_delimiter(text)
    if delimiter not in DELIMITERS:
        raise ImportFileError("The separator must be a comma, a semicolon or a tab.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        previous = 0
        for cells in reader:
            start, previous = previous + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if headers is None:
                headers = [" ".join(c.split()) for c in cells]
                continue
            rows.append((start, cells))
    except csv.Error as exc:
        raise ImportFileError(
            f"The CSV cannot be read near line {reader.line_num}: {exc}."
        ) from None
    if not headers or len(headers) < 2:
        raise ImportFileError(
            "The first line must name the columns (at least two, separated by commas, "
            "semicolons or tabs)."
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(headers):  # duplicate or empty names get a suffix
        name = name or f"Column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        headers[i] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    if not rows:
        raise ImportFileError("The file has a header line but no rows.")
    return Table(headers, rows, delimiter, warnings)


# Numbers and dates ----------------------------------------------------------------------
_NUMBER_JUNK = re.compile(r"[^\d,.\-+]")
#: A currency code or sign before or after a number ("USD 1,234.56", "12,50 €").
_CURRENCY = re.compile(r"^\s*(?:[A-Z]{3}|[€$£¥])\s*|\s*(?:[A-Z]{3}|[€$£¥])\s*$")
_NOT_NUMERIC = re.compile(r"[^\d,.\-+'()\s\u00a0\u202f]")
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d+)?[eE][+-]?\d+")


def detect_decimal(values: Iterable[str], delimiter: str = ",") -> str:
    """ "," when the numbers use a decimal comma (1.234,56 or 12,5), else ".". Undecided
    (only integers or 1,234-style values) falls back on the separator: ";" suggests a
    decimal comma, as spreadsheets in comma-decimal locales write it."""
    comma = dot = 0
    for raw in values:
        text = _NUMBER_JUNK.sub("", raw or "")
        if "," in text and "." in text:
            if text.rfind(",") > text.rfind("."):
                comma += 1
            else:
                dot += 1
        elif "," in text or "." in text:
            sep = "," if "," in text else "."
            head, _, tail = text.rpartition(sep)
            head = head.lstrip("+-")
            if text.count(sep) > 1:  # 1,234,567 or 1.234.567: thousands separators
                comma, dot = (comma, dot + 1) if sep == "," else (comma + 1, dot)
            elif len(tail) != 3 or head in ("", "0"):  # 12,5 / 0.125: a decimal mark
                comma, dot = (comma + 1, dot) if sep == "," else (comma, dot + 1)
            # else 1,234 or 1.234: either reading works, no evidence
    if comma != dot:
        return "," if comma > dot else "."
    return "," if delimiter == ";" else "."


def parse_number(text: str | None, decimal: str = ".") -> float | None:
    """A number as written in a file; ``None`` for an empty cell. "1.234,56" with
    ``decimal=","``; currency signs, spaces and apostrophes are ignored; "(5)" is −5."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if _SCIENTIFIC.fullmatch(text):
        return float(text)
    text = _CURRENCY.sub("", text).strip()
    if _NOT_NUMERIC.search(text) or not any(c.isdigit() for c in text):
        raise ValueError(f"{text!r} is not a number")
    negative = text.startswith("(") and text.endswith(")")
    cleaned = _NUMBER_JUNK.sub("", text)
    if decimal == ",":
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    if cleaned.endswith("-"):  # 12.50- (trailing minus)
        cleaned = "-" + cleaned[:-1]
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a number")
    return -abs(value) if negative else value


def _date_part(text: str) -> str:
    text = text.strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text):
        return text[:10]
    return text


def parse_date(text: str, fmt: str) -> date:
    """Parse ``text`` in ``fmt`` (one of :data:`DATE_FORMATS`); ISO may carry a time."""
    return datetime.strptime(_date_part(text), fmt).date()


def detect_date_format(values: Iterable[str]) -> tuple[str | None, list[str]]:
    """The format every non-empty value parses in, and all such formats. ``None`` when no
    format fits all values, or when several do (03/04/2024: March or April?) — then the
    user chooses; the second item lists the candidates."""
    values = [v for v in values if v and v.strip()]
    fits = []
    for fmt in DATE_FORMATS:
        try:
            for v in values:
                parse_date(v, fmt)
        except ValueError:
            continue
        fits.append(fmt)
    if len(fits) == 1:
        return fits[0], fits
    return None, fits


def best_date_format(values: Iterable[str]) -> str:
    """The format parsing the most values (ties: the order of :data:`DATE_FORMATS`)."""
    values = [v for v in values if v and v.strip()]

    def hits(fmt: str) -> int:
        n = 0
        for v in values:
            try:
                parse_date(v, fmt)
                n += 1
            except ValueError:
                pass
        return n

    return max(DATE_FORMATS, key=hits)


def clean_text(text: str | None) -> str:
    """A text cell without the "'" that exports put before formula-like text."""
    text = (text or "").strip()
    if len(text) > 1 and text[0] == "'" and text[1] in (*FORMULA_START, "'"):
        return text[1:]
    return text


def symbol_key(symbol: str | None) -> str:
    return " ".join((symbol or "").split()).upper()


# Checking drafts ------------------------------------------------------------------------
def unknown_symbol_message(symbol: str) -> str:
    return (
        f"{symbol} is not in the market data; add it to NEXUS_SYMBOLS or map it to a known "
        "symbol below."
    )


def finalize(
    raw: Iterable[tuple[int, TransactionDraft]],
    *,
    instruments: Mapping[str, InstrumentInfo],
    today: date,
    errors: Sequence[RowError] = (),
    warnings: Sequence[str] = (),
    problems: Sequence[str] = (),
    rows_read: int = 0,
    skipped: int = 0,
    symbol_map: Mapping[str, str] | None = None,
    symbol_labels: Mapping[str, str] | None = None,
    base_currency: str | None = None,
    row_label: str = "Line",
) -> ImportResult:
    """Check each raw draft as the ledger would (after applying ``symbol_map``: the file's
    symbol → a known one) and sort rows into ready drafts and row errors.

    A row with any error is left out entirely (a sale and its tax go together), and so is
    the other side of a transfer between accounts whose side has an error.
    """
    remap = {symbol_key(k): symbol_key(v) for k, v in (symbol_map or {}).items() if v}
    labels = dict(symbol_labels or {})
    errors = list(errors)
    warnings = list(warnings)
    unknown: dict[str, list[int]] = defaultdict(list)
    checked: list[tuple[int, TransactionDraft]] = []
    shortened: list[int] = []
    for row, draft in raw:
        symbol = symbol_key(draft.symbol) or None
        if symbol and symbol in remap:
            draft = dataclasses.replace(draft, symbol=remap[symbol])
        if len(draft.note or "") > MAX_NOTE:
            draft = dataclasses.replace(draft, note=draft.note[: MAX_NOTE - 1] + "…")
            shortened.append(row)
        try:
            if isinstance(draft.account, str) and draft.account.strip():
                draft = dataclasses.replace(draft, account=clean_name(draft.account, "account"))
            checked.append(
                (
                    row,
                    validate_draft(draft, instruments, today=today, base_currency=base_currency),
                )
            )
        except LedgerError as exc:
            target = symbol_key(draft.symbol)
            if exc.field == "symbol" and target and target not in instruments:
                unknown[symbol or target].append(row)
                label = labels.get(symbol or target)
                shown = f"{label} ({symbol})" if label and label != symbol else target
                errors.append(RowError(row, "symbol", unknown_symbol_message(shown)))
            else:
                errors.append(RowError(row, exc.field, exc.problem))
    bad = {e.row for e in errors}
    legs: dict[object, list[int]] = defaultdict(list)
    for row, d in checked:
        if d.transfer_id is not None:
            legs[d.transfer_id].append(row)
    raw_legs = dict(legs)
    for _tid, rows in raw_legs.items():
        if any(r in bad for r in rows):
            for r in rows:
                if r not in bad:
                    other = ", ".join(str(x) for x in rows if x != r)
                    errors.append(
                        RowError(
                            r,
                            "transfer",
                            f"The other side of this transfer ({row_label.lower()} {other}) "
                            "cannot be imported.",
                        )
                    )
                    bad.add(r)
    drafts = [(row, d) for row, d in checked if row not in bad]
    if shortened:
        warnings.append(
            f"Notes longer than {MAX_NOTE} characters were shortened "
            f"({row_label.lower()}s {', '.join(map(str, shortened[:10]))}"
            + (" …" if len(shortened) > 10 else "")
            + ")."
        )
    errors = sorted(dict.fromkeys(errors), key=lambda e: e.row)  # one row, two drafts
    return ImportResult(
        drafts=drafts,
        errors=errors,
        warnings=warnings,
        problems=list(problems),
        rows_read=rows_read,
        skipped=skipped,
        unknown_symbols={k: sorted(set(v)) for k, v in unknown.items()},
        symbol_labels=labels,
        row_label=row_label,
    )


def preview_rows(result: ImportResult, limit: int = 200) -> list[dict]:
    """One line per file row (ready or not) for the preview table, in file order."""
    by_row: dict[int, dict] = {}
    for row, d in result.drafts:
        if row not in by_row and len(by_row) >= limit:
            continue
        entry = {
            "row": row,
            "status": "ready",
            "date": d.trade_date,
            "type": d.kind,
            "account": d.account if isinstance(d.account, str) else "",
            "symbol": d.symbol or "",
            "quantity": d.quantity or None,
            "price": d.price or None,
            "amount": d.amount or None,
            "fee": d.fee or None,
            "currency": d.currency,
            "message": "",
        }
        if row in by_row:  # a second draft from the same row (e.g. the tax of a sale)
            by_row[row].setdefault("more", []).append(entry)
        else:
            by_row[row] = entry
    for e in result.errors:
        if e.row in by_row:
            continue
        if len(by_row) >= limit:
            break
        by_row[e.row] = {
            "row": e.row,
            "status": "error",
            "date": None,
            "type": "",
            "account": "",
            "symbol": "",
            "quantity": None,
            "price": None,
            "amount": None,
            "fee": None,
            "currency": "",
            "message": "; ".join(x.message for x in result.errors if x.row == e.row),
        }
    out: list[dict] = []
    for row in sorted(by_row):
        entry = by_row[row]
        more = entry.pop("more", [])
        out.append(entry)
        out.extend(more)
    return out[:limit]


def possible_duplicates(
    existing: Iterable[TransactionDraft], new: Iterable[tuple[int, TransactionDraft]]
) -> list[int]:
    """Rows of ``new`` that match a transaction already in the ledger (same date, type,
    symbol, quantity, price, amount and currency): importing would record them twice."""

    def key(d: TransactionDraft) -> tuple:
        return (
            d.trade_date,
            d.kind,
            d.symbol or None,
            round(d.quantity, 8),
            round(d.price, 8),
            round(d.amount, 8),
            d.currency,
        )

    seen = {key(d) for d in existing}
    return sorted({row for row, d in new if key(d) in seen})
