"""Ghostfolio's JSON export (Portfolio → Activities → Export) → drafts.

Shape, as ``apps/api/src/app/export/export.service.ts`` of ghostfolio/ghostfolio writes it
(see also its ``test/import/ok/*.json``)::

    {"meta": {"date": …, "version": …},
     "accounts": [{"id", "name", "currency", "balance", "balances", "platformId", …}],
     "assetProfiles": [{"symbol", "name", "dataSource", "currency", …}],   # manual assets
     "platforms": […], "tags": […],
     "activities": [{"accountId", "comment", "currency", "dataSource", "date", "fee", "id",
                     "quantity", "symbol", "tags", "type", "unitPrice"}],
     "user": {"settings": {"currency", …}}}

Activity types (Prisma enum ``Type``) and what they become:

* ``BUY``/``SELL`` → buy/sell of ``quantity`` at ``unitPrice`` with ``fee``;
* ``DIVIDEND`` → dividend of ``quantity × unitPrice`` (shares × dividend per share), ``fee``
  as withholding/fee;
* ``INTEREST`` → interest of ``quantity × unitPrice``; ``FEE`` → fee of ``fee`` (Ghostfolio
  keeps the amount of a fee activity in its ``fee`` field). Both keep the symbol only when
  it is a market instrument (Ghostfolio files them under a "manual" asset such as "Account
  Opening Fee");
* ``LIABILITY`` (debts) and ``ITEM`` (valuables, an older type) are not supported: row
  errors with the reason.

Dates are UTC timestamps; the calendar day of the timestamp is the trade date. Rows are
numbered by their position in ``activities`` (1 = first). Accounts are named by
``accounts[].name``; an activity without an account goes to the portfolio's first account.
Account balances are not imported (record deposits).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from datetime import date, datetime

from nexus.portfolio.importers import (
    ImportFileError,
    ImportResult,
    RowError,
    decode,
    finalize,
    symbol_key,
)
from nexus.portfolio.model import InstrumentInfo, Kind, TransactionDraft

TYPES = {
    "BUY": Kind.BUY,
    "SELL": Kind.SELL,
    "DIVIDEND": Kind.DIVIDEND,
    "INTEREST": Kind.INTEREST,
    "FEE": Kind.FEE,
}
UNSUPPORTED = {
    "LIABILITY": "Liabilities (debts) are not supported: Portfolio Nexus tracks holdings and "
    "cash, not loans.",
    "ITEM": "Valuables (Ghostfolio's older ITEM type) are not supported: they have no market "
    "prices.",
}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _number(value, name: str) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise ValueError(f"{name} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a number") from None


def _date(value) -> date:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("The date is missing.")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"Cannot read the date {value!r}.") from None


def parse(
    data: bytes,
    *,
    instruments: Mapping[str, InstrumentInfo],
    today: date,
    base_currency: str | None = None,
    symbol_map: Mapping[str, str] | None = None,
) -> ImportResult:
    text, warnings = decode(data)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"This is not valid JSON (line {exc.lineno}): for a CSV file choose a CSV source."
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("activities"), list):
        raise ImportFileError(
            "This is not a Ghostfolio export: it has no 'activities' list. Export it in "
            "Ghostfolio under Portfolio → Activities → Export."
        )
    listed = payload.get("accounts")
    account_list = [a for a in listed if isinstance(a, dict)] if isinstance(listed, list) else []
    accounts = {
        a.get("id"): " ".join(str(a.get("name") or "").split()) or None for a in account_list
    }
    profiles = payload.get("assetProfiles")
    labels = {
        symbol_key(p.get("symbol")): str(p.get("name"))
        for p in (profiles if isinstance(profiles, list) else [])
        if isinstance(p, dict) and p.get("symbol") and p.get("name")
    }
    if any(_has_balance(a) for a in account_list):
        warnings.append(
            "Ghostfolio's account balances (cash) are not imported: record deposits to match them."
        )
    errors: list[RowError] = []
    raw: list[tuple[int, TransactionDraft]] = []
    for row, activity in enumerate(payload["activities"], start=1):
        if not isinstance(activity, dict):
            errors.append(RowError(row, "activity", "This activity is not an object."))
            continue
        kind_label = str(activity.get("type") or "").strip().upper()
        if kind_label in UNSUPPORTED:
            errors.append(RowError(row, "kind", UNSUPPORTED[kind_label]))
            continue
        kind = TYPES.get(kind_label)
        if kind is None:
            errors.append(
                RowError(row, "kind", f"Unknown Ghostfolio activity type {kind_label!r}.")
            )
            continue
        try:
            trade_date = _date(activity.get("date"))
            quantity = abs(_number(activity.get("quantity"), "quantity"))
            unit_price = abs(_number(activity.get("unitPrice"), "unitPrice"))
            fee = abs(_number(activity.get("fee"), "fee"))
        except ValueError as exc:
            errors.append(RowError(row, "activity", str(exc)))
            continue
        symbol = str(activity.get("symbol") or "").strip() or None
        manual = str(activity.get("dataSource") or "").upper() == "MANUAL"
        if kind in (Kind.FEE, Kind.INTEREST):
            key = symbol_key(symbol)
            mapped = key in {symbol_key(k) for k in (symbol_map or {})}
            if not (key in instruments or mapped) and (manual or _UUID.match(symbol or "")):
                symbol = None  # filed under a manual asset ("Account Opening Fee"): no symbol
        account_id = activity.get("accountId")
        account = accounts.get(account_id) if account_id else None
        currency = str(activity.get("currency") or "").strip().upper()
        note = str(activity.get("comment") or "").strip()
        if kind in (Kind.BUY, Kind.SELL):
            draft = TransactionDraft(
                kind.value, trade_date, currency, symbol, quantity, unit_price, fee=fee
            )
        elif kind is Kind.DIVIDEND:
            draft = TransactionDraft(
                kind.value, trade_date, currency, symbol, amount=quantity * unit_price, fee=fee
            )
        elif kind is Kind.INTEREST:
            draft = TransactionDraft(
                kind.value, trade_date, currency, symbol, amount=quantity * unit_price
            )
        else:  # FEE: the amount is in "fee"
            draft = TransactionDraft(
                kind.value, trade_date, currency, symbol, amount=fee or quantity * unit_price
            )
        raw.append((row, dataclasses.replace(draft, note=note, account=account)))
    return finalize(
        raw,
        instruments=instruments,
        today=today,
        errors=errors,
        warnings=warnings,
        rows_read=len(payload["activities"]),
        symbol_map=symbol_map,
        symbol_labels=labels,
        base_currency=base_currency,
        row_label="Activity",
    )


def _has_balance(account: dict) -> bool:
    try:
        return bool(_number(account.get("balance"), "balance"))
    except ValueError:
        return False
