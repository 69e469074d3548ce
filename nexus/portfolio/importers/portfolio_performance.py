"""Portfolio Performance's CSV exports of transactions → drafts (English or German).

Two shapes are read, recognised by their column names (English or German):

1. File → Export → CSV → account / securities account transactions, written by
   ``name.abuchen.portfolio/.../datatransfer/csv/exporter/CSVExporter.java`` of
   portfolio-performance/portfolio (``exportTransactions``; one file per account, and the
   same writer serves a mixed list of account and portfolio transactions)::

       Date, [Ex-Date,] Type, Value, Transaction Currency, Gross Amount,
       Currency Gross Amount, Exchange Rate, Fees, Taxes, Shares, ISIN, WKN, Ticker Symbol,
       Security Name, Note

   German (``messages_de.properties``): Datum, Typ, Wert, Buchungswährung, Bruttobetrag,
   Währung Bruttobetrag, Wechselkurs, Gebühren, Steuern, Stück, ISIN, WKN, Ticker-Symbol,
   Wertpapiername, Notiz. Older versions wrote no Ex-Date and always ";"; newer ones use
   the system's list separator (";" in German, "," in English) and the locale's numbers
   ("1.234,56" / "1,234.56"). Dates ``2024-01-15`` or ``2024-01-15T00:00``.
2. The "All transactions" view → Export → CSV (``AllTransactionsView`` via
   ``TableViewerCSVExporter``): its visible columns, e.g. Date, Type, Security, Symbol,
   Shares, Quote, Amount, Fees, Taxes, Net Transaction Value, Cash Account, Offset Account,
   Note, Source; dates ``yyyy-MM-dd HH:mm:ss``; amounts not in the base currency carry
   their currency code ("USD 1,234.56").

Type names (``model/labels*.properties``): Buy/Kauf, Sell/Verkauf, Deposit/Einlage,
Removal/Entnahme, Dividend/Dividende, Interest/Zinsen, Interest Charge/Zinsbelastung,
Fees/Gebühren, Taxes/Steuern, Fees Refund/Gebührenerstattung, Tax Refund/
Steuerrückerstattung, Transfer (Inbound|Outbound)/Umbuchung (Eingang|Ausgang), Delivery
(Inbound|Outbound)/Einlieferung, Auslieferung.

``Value`` is the cash that moved, negative for debits (buy, removal, fees …) on the cash
account side and for liquidations (sell, delivery out, transfer out) on the securities side.
We store magnitudes, so:

* buy/sell: quantity = Shares, price = gross value / shares (gross = Value ∓ fees ∓ taxes,
  or Gross Amount when the security trades in another currency — then fees and taxes are
  converted with the Exchange Rate, amount = gross amount × rate, which is also the row's
  FX rate when the portfolio's base currency is the transaction currency); taxes become a
  separate *tax* row;
* a buy or sell listed twice — once from the cash account, once from the securities
  account (opposite signs, or Cash Account and Offset Account swapped) — is imported once;
* dividend: amount = gross (Value + fees + taxes), fee = fees + taxes (withholding);
* interest: gross interest, plus a tax row for its taxes; interest charge → fee;
* delivery in/out → transfer in/out at the gross value per share (+ fee/tax rows);
* refunds (of fees or taxes) are not supported: row errors.

Accounts: PP keeps cash (accounts) and securities (securities accounts) apart; an account
here holds both. So a file is imported into ONE account the user chooses (default: the
portfolio's first), whatever PP's account columns say. A transfer between two PP accounts
whose two sides are both in the file therefore changes nothing and is left out (counted as
skipped, with a note); a side without its partner is imported as a lone transfer in or out
of the portfolio, and the preview says so.

Securities are identified by the Ticker Symbol (or Symbol) column; a row without one is an
error naming the security and its ISIN, until the ISIN (or name) is mapped to a known symbol.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime

from nexus.portfolio.importers import (
    ImportFileError,
    ImportResult,
    RowError,
    clean_text,
    detect_decimal,
    finalize,
    parse_number,
    read_table,
    symbol_key,
)
from nexus.portfolio.model import CURRENCIES, InstrumentInfo, Kind, TransactionDraft

COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "datum"),
    "type": ("type", "typ"),
    "value": ("value", "wert", "net transaction value", "gesamtpreis"),
    "currency": ("transaction currency", "buchungswährung"),
    "gross": ("gross amount", "bruttobetrag"),
    "gross_currency": ("currency gross amount", "währung bruttobetrag"),
    "rate": ("exchange rate", "wechselkurs"),
    "fees": ("fees", "gebühren"),
    "taxes": ("taxes", "steuern"),
    "shares": ("shares", "stück"),
    "isin": ("isin",),
    "wkn": ("wkn",),
    "ticker": ("ticker symbol", "ticker-symbol", "symbol"),
    "name": ("security name", "wertpapiername", "security", "wertpapier"),
    "note": ("note", "notiz"),
    "account": ("cash account", "konto", "securities account", "depot", "account"),
    "offset": ("offset account", "gegenkonto", "offset securities account", "gegendepot"),
}
NUMBERS = ("value", "gross", "rate", "fees", "taxes", "shares")

BUY, SELL, DEPOSIT, REMOVAL, DIVIDEND = "buy", "sell", "deposit", "removal", "dividend"
INTEREST, INTEREST_CHARGE, FEES, TAXES = "interest", "interest_charge", "fees", "taxes"
FEES_REFUND, TAX_REFUND = "fees_refund", "tax_refund"
TRANSFER_IN, TRANSFER_OUT, TRANSFER = "transfer_in", "transfer_out", "transfer"
DELIVERY_IN, DELIVERY_OUT = "delivery_in", "delivery_out"
TYPES = {
    "buy": BUY, "kauf": BUY,
    "sell": SELL, "verkauf": SELL,
    "deposit": DEPOSIT, "einlage": DEPOSIT,
    "removal": REMOVAL, "entnahme": REMOVAL,
    "dividend": DIVIDEND, "dividends": DIVIDEND, "dividende": DIVIDEND,
    "interest": INTEREST, "zinsen": INTEREST,
    "interest charge": INTEREST_CHARGE, "zinsbelastung": INTEREST_CHARGE,
    "fees": FEES, "gebühren": FEES,
    "fees refund": FEES_REFUND, "gebührenerstattung": FEES_REFUND,
    "taxes": TAXES, "steuern": TAXES,
    "tax refund": TAX_REFUND, "steuerrückerstattung": TAX_REFUND,
    "transfer (inbound)": TRANSFER_IN, "umbuchung (eingang)": TRANSFER_IN,
    "transfer (outbound)": TRANSFER_OUT, "umbuchung (ausgang)": TRANSFER_OUT,
    "transfer": TRANSFER, "umbuchung": TRANSFER,
    "delivery (inbound)": DELIVERY_IN, "einlieferung": DELIVERY_IN,
    "delivery (outbound)": DELIVERY_OUT, "auslieferung": DELIVERY_OUT,
}  # fmt: skip
SECURITY_TYPES = {BUY, SELL, DIVIDEND, DELIVERY_IN, DELIVERY_OUT}


def _norm(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _currency_prefix(text: str) -> str:
    """ "USD" of "USD 1,234.56" (the "All transactions" view writes amounts not in the
    base currency that way)."""
    match = re.match(r"^\s*-?\s*([A-Z]{3})\b", text or "")
    return match.group(1) if match else ""


def _date(text: str) -> date:
    text = text.strip()
    for parse in (
        lambda t: datetime.fromisoformat(t).date(),
        lambda t: datetime.strptime(t[:10], "%d.%m.%Y").date(),
    ):
        try:
            return parse(text)
        except ValueError:
            continue
    raise ValueError(text)


def parse(
    data: bytes,
    *,
    instruments: Mapping[str, InstrumentInfo],
    today: date,
    base_currency: str | None = None,
    default_currency: str = "EUR",
    default_account: str | None = None,
    symbol_map: Mapping[str, str] | None = None,
) -> ImportResult:
    """Read a PP transactions CSV; rows are file lines (the header is line 1)."""
    table = read_table(data)
    found: dict[str, int] = {}
    normalized = [_norm(h) for h in table.headers]
    for key, names in COLUMNS.items():
        for name in names:
            if name in normalized and normalized.index(name) not in found.values():
                found[key] = normalized.index(name)
                break
    if not {"date", "type", "value"} <= found.keys():
        raise ImportFileError(
            "This does not look like a Portfolio Performance export: it needs the columns "
            "Date, Type and Value (Datum, Typ, Wert). Export it in Portfolio Performance via "
            "File → Export → CSV."
        )

    def cell(cells: list[str], key: str) -> str:
        i = found.get(key)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    decimal = detect_decimal(
        [cell(c, k) for _, c in table.rows for k in NUMBERS if k in found], table.delimiter
    )
    remap = {symbol_key(k): symbol_key(v) for k, v in (symbol_map or {}).items() if v}
    default_currency = (default_currency or "EUR").upper()
    errors: list[RowError] = []
    warnings = list(table.warnings)
    no_ticker: dict[str, list[int]] = defaultdict(list)
    labels: dict[str, str] = {}

    # First pass: read every row.
    rows = []
    for line, cells in table.rows:
        label = " ".join(cell(cells, "type").split())
        kind = TYPES.get(_norm(label))
        if kind is None:
            errors.append(
                RowError(line, "kind", f"Unknown Portfolio Performance type {label!r}.")
                if label
                else RowError(line, "kind", "The type is missing.")
            )
            continue
        if kind in (FEES_REFUND, TAX_REFUND):
            errors.append(
                RowError(
                    line,
                    "kind",
                    f"Refunds ({label}) are not supported: record the money as a deposit, or "
                    "correct the original fee or tax.",
                )
            )
            continue
        try:
            trade_date = _date(cell(cells, "date"))
        except ValueError:
            errors.append(
                RowError(line, "trade_date", f"Cannot read the date {cell(cells, 'date')!r}.")
            )
            continue
        numbers: dict[str, float] = {}
        bad = False
        for key in NUMBERS:
            try:
                numbers[key] = parse_number(cell(cells, key), decimal) or 0.0
            except ValueError:
                errors.append(RowError(line, key, f"{cell(cells, key)!r} is not a number."))
                bad = True
        if bad:
            continue
        rows.append((line, cells, kind, trade_date, numbers))

    # A buy/sell listed from both sides is one trade. CSVExporter gives the cash-account side
    # the opposite sign (a buy is negative there); the "All transactions" view lists both
    # with the accounts swapped (Cash Account ↔ Offset Account). Keep one.
    def trade_key(row) -> tuple:
        _, cells, kind, trade_date, numbers = row
        ident = symbol_key(cell(cells, "ticker") or cell(cells, "isin") or cell(cells, "name"))
        return (kind, trade_date, ident, round(abs(numbers["shares"]), 8),
                round(abs(numbers["value"]), 2))  # fmt: skip

    def cash_side(row) -> bool:
        _, _, kind, _, numbers = row
        return (numbers["value"] < 0) == (kind == BUY)

    def twins(a, b) -> bool:
        if cash_side(a) != cash_side(b):
            return True
        acct_a, acct_b = cell(a[1], "account"), cell(b[1], "account")
        return bool(acct_a and acct_b and acct_a == cell(b[1], "offset")
                    and acct_b == cell(a[1], "offset"))  # fmt: skip

    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row[2] in (BUY, SELL):
            groups[trade_key(row)].append(i)
    drop: set[int] = set()
    for members in groups.values():
        free = list(members)
        while free:
            a = free.pop(0)
            b = next((b for b in free if twins(rows[a], rows[b])), None)
            if b is not None:
                free.remove(b)
                drop.add(a if cash_side(rows[a]) and not cash_side(rows[b]) else b)
    duplicates = sorted(rows[i][0] for i in drop)
    kept = [row for i, row in enumerate(rows) if i not in drop]
    if duplicates:
        warnings.append(
            f"{len(duplicates)} buy(s)/sell(s) appear twice — from the cash account and from "
            "the securities account — and are imported once (left out: line "
            f"{', '.join(map(str, duplicates[:10]))}{' …' if len(duplicates) > 10 else ''})."
        )

    # Second pass: drafts.
    raw: list[tuple[int, TransactionDraft]] = []
    transfers: list[tuple[int, TransactionDraft]] = []
    for line, cells, kind, trade_date, n in kept:
        ticker = clean_text(cell(cells, "ticker"))
        isin, name = cell(cells, "isin"), clean_text(cell(cells, "name"))
        ident = ticker or isin or name
        if kind == TRANSFER:
            kind = TRANSFER_OUT if n["value"] < 0 else TRANSFER_IN
        moves_shares = kind in SECURITY_TYPES or (
            kind in (TRANSFER_IN, TRANSFER_OUT) and n["shares"]
        )
        symbol = ticker or None
        if moves_shares and not ticker:
            if ident and symbol_key(ident) in remap:
                symbol = ident
            else:
                what = name or isin or "The security"
                extra = f" (ISIN {isin})" if isin and isin != what else ""
                errors.append(
                    RowError(
                        line,
                        "symbol",
                        f"{what}{extra} has no ticker symbol in the file; map it to a known "
                        "symbol below.",
                    )
                )
                if ident:
                    no_ticker[ident].append(line)
                    labels[symbol_key(ident)] = name or ident
                continue
        elif not moves_shares and kind not in (INTEREST, FEES, TAXES):
            symbol = None
        row = _Row(
            kind=kind,
            trade_date=trade_date,
            currency=cell(cells, "currency").upper()
            or _currency_prefix(cell(cells, "value"))
            or default_currency,
            gross_currency=cell(cells, "gross_currency").upper(),
            symbol=symbol,
            account=default_account,
            note=clean_text(cell(cells, "note")),
            numbers={k: abs(v) for k, v in n.items()},
        )
        drafts = _drafts(row, base_currency)
        if kind in (TRANSFER_IN, TRANSFER_OUT):
            transfers.extend((line, d) for d in drafts)
        else:
            raw.extend((line, d) for d in drafts)
    kept_transfers, cancelled = _cancel_transfers(transfers, warnings)
    raw.extend(kept_transfers)
    raw.sort(key=lambda item: item[0])
    result = finalize(
        raw,
        instruments=instruments,
        today=today,
        errors=errors,
        warnings=warnings,
        rows_read=len(table.rows),
        skipped=len(duplicates) + cancelled,
        symbol_map=symbol_map,
        symbol_labels=labels,
        base_currency=base_currency,
    )
    for ident, lines in no_ticker.items():
        result.unknown_symbols.setdefault(ident, []).extend(lines)
    return result


@dataclasses.dataclass(frozen=True)
class _Row:
    kind: str
    trade_date: date
    currency: str
    gross_currency: str
    symbol: str | None
    account: str | None
    note: str
    numbers: dict[str, float]


def _drafts(r: _Row, base_currency: str | None) -> list[TransactionDraft]:
    """The drafts of one PP row (the trade, dividend … and any tax or fee row it carries)."""
    n = r.numbers
    value, fees, taxes = n["value"], n["fees"], n["taxes"]
    shares, gross, rate = n["shares"], n["gross"], n["rate"]
    # Amounts in the security's currency when PP converted them (Gross Amount + rate, where
    # amount in the transaction currency = gross amount × rate).
    forex = bool(
        gross and rate and r.gross_currency and r.gross_currency != r.currency
        and r.gross_currency in CURRENCIES
    )  # fmt: skip
    row_currency = r.gross_currency if forex else r.currency
    fx_rate = rate if forex and base_currency and base_currency.upper() == r.currency else None

    def conv(x: float) -> float:
        return x / rate if forex else x

    def cost(kind: Kind, amount: float, currency: str, rate_: float | None) -> list:
        if amount <= 0:
            return []
        return [
            TransactionDraft(
                kind.value, r.trade_date, currency, r.symbol, amount=amount, account=r.account,
                fx_rate=rate_,
            )
        ]  # fmt: skip

    common = {"trade_date": r.trade_date, "note": r.note, "account": r.account}
    if r.kind in (BUY, SELL, DELIVERY_IN, DELIVERY_OUT):
        inflow = r.kind in (BUY, DELIVERY_IN)
        gross_row = gross if forex else (value - fees - taxes if inflow else value + fees + taxes)
        target = {
            BUY: Kind.BUY, SELL: Kind.SELL,
            DELIVERY_IN: Kind.TRANSFER_IN, DELIVERY_OUT: Kind.TRANSFER_OUT,
        }[r.kind]  # fmt: skip
        trade = r.kind in (BUY, SELL)
        main = TransactionDraft(
            target.value, currency=row_currency, symbol=r.symbol, quantity=shares,
            price=gross_row / shares if shares else 0.0, fee=conv(fees) if trade else 0.0,
            fx_rate=fx_rate, **common,
        )  # fmt: skip
        extra = [] if trade else cost(Kind.FEE, conv(fees), row_currency, fx_rate)
        return [main, *extra, *cost(Kind.TAX, conv(taxes), row_currency, fx_rate)]
    if r.kind == DIVIDEND:
        return [
            TransactionDraft(
                Kind.DIVIDEND.value, currency=row_currency, symbol=r.symbol,
                amount=gross if forex else value + fees + taxes, fee=conv(fees + taxes),
                fx_rate=fx_rate, **common,
            )
        ]  # fmt: skip
    if r.kind == INTEREST:
        main = TransactionDraft(
            Kind.INTEREST.value, currency=r.currency, symbol=r.symbol,
            amount=value + fees + taxes, **common,
        )  # fmt: skip
        return [
            main,
            *cost(Kind.TAX, taxes, r.currency, None),
            *cost(Kind.FEE, fees, r.currency, None),
        ]
    if r.kind in (TRANSFER_IN, TRANSFER_OUT):
        target = Kind.TRANSFER_IN if r.kind == TRANSFER_IN else Kind.TRANSFER_OUT
        return [
            TransactionDraft(
                target.value, currency=r.currency, symbol=r.symbol if shares else None,
                quantity=shares, price=value / shares if shares else 0.0,
                amount=0.0 if shares else value, **common,
            )
        ]  # fmt: skip
    target = {
        DEPOSIT: Kind.DEPOSIT, REMOVAL: Kind.WITHDRAWAL, FEES: Kind.FEE,
        TAXES: Kind.TAX, INTEREST_CHARGE: Kind.FEE,
    }[r.kind]  # fmt: skip
    if r.kind == INTEREST_CHARGE and not r.note:
        common["note"] = "Interest charge"
    return [
        TransactionDraft(target.value, currency=r.currency, symbol=r.symbol, amount=value, **common)
    ]


def _cancel_transfers(
    transfers: list[tuple[int, TransactionDraft]], warnings: list[str]
) -> tuple[list[tuple[int, TransactionDraft]], int]:
    """Drop each transfer out that has a matching transfer in (same date, security,
    quantity or amount, currency): both sides land in the one account the file is imported
    into, so together they change nothing. The rest stay lone transfers."""

    def key(d: TransactionDraft) -> tuple:
        return (d.trade_date, d.symbol, round(d.quantity, 8), round(d.amount, 2), d.currency)

    ins: dict[tuple, list[int]] = defaultdict(list)
    for i, (_, d) in enumerate(transfers):
        if d.kind == Kind.TRANSFER_IN.value:
            ins[key(d)].append(i)
    dropped: set[int] = set()
    for i, (_, d) in enumerate(transfers):
        if d.kind == Kind.TRANSFER_OUT.value and ins.get(key(d)):
            dropped |= {i, ins[key(d)].pop(0)}
    if dropped:
        warnings.append(
            f"{len(dropped) // 2} transfer(s) between Portfolio Performance accounts were left "
            "out: both sides are imported into the same account here, so they change nothing."
        )
    lone = len(transfers) - len(dropped)
    if lone:
        warnings.append(
            f"{lone} transfer row(s) without their other side are imported as lone transfers "
            "in or out of the portfolio, at their value. If they moved between your own "
            "accounts, delete them on the Transactions page and record 'Transfer between "
            "accounts' instead."
        )
    kept = [t for i, t in enumerate(transfers) if i not in dropped]
    return kept, len(dropped)
