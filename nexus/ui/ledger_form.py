"""The transaction form: shows the fields a transaction kind needs, returns a draft."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import streamlit as st

from nexus.portfolio.model import (
    CURRENCIES,
    SYMBOL_KINDS,
    TRADE_KINDS,
    InstrumentInfo,
    Kind,
    TransactionDraft,
    TransactionRecord,
)

KIND_LABELS = {
    Kind.BUY: "Buy",
    Kind.SELL: "Sell",
    Kind.DEPOSIT: "Deposit",
    Kind.WITHDRAWAL: "Withdrawal",
    Kind.DIVIDEND: "Dividend",
    Kind.FEE: "Fee",
}
AUTO = "Instrument's currency"


def kind_picker(key: str, default: str = Kind.BUY.value) -> str:
    """Transaction type, outside the form so the form can show only the relevant fields."""
    value = st.segmented_control(
        "Type",
        [k.value for k in Kind],
        default=default,
        format_func=lambda k: KIND_LABELS[Kind(k)],
        key=key,
        required=True,
    )
    return value or default


def transaction_form(
    key: str,
    kind: str,
    instruments: Mapping[str, InstrumentInfo],
    *,
    base_currency: str,
    existing: TransactionRecord | None = None,
    submit_label: str = "Add transaction",
    disabled: bool = False,
) -> TransactionDraft | None:
    """Draw the form; return the entered draft when submitted (validation is the
    repository's job, so errors are reported in one place)."""
    k = Kind(kind)
    symbols = sorted(instruments)
    with st.form(key, border=True, enter_to_submit=False):
        c1, c2 = st.columns(2)
        trade_date = c1.date_input(
            "Date",
            value=existing.trade_date if existing else datetime.now(UTC).date(),
            max_value=None,
            format="YYYY-MM-DD",
        )
        symbol = None
        if k in SYMBOL_KINDS or k is Kind.FEE:
            options = symbols if k is not Kind.FEE else ["", *symbols]
            current = existing.symbol if existing and existing.symbol in options else None
            symbol = c2.selectbox(
                "Symbol" if k is not Kind.FEE else "Symbol (optional)",
                options,
                index=options.index(current) if current else (0 if k is Kind.FEE else None),
                format_func=lambda s: (
                    f"{s} — {instruments[s].name} ({instruments[s].currency})" if s else "—"
                ),
                placeholder="Type to search symbols",
            )
        quantity = price = amount = fee = 0.0
        c3, c4, c5, c6 = st.columns(4)
        if k in TRADE_KINDS:
            quantity = c3.number_input(
                "Quantity",
                min_value=0.0,
                value=existing.quantity if existing else None,
                step=1.0,
                format="%.6g",
            )
            price = c4.number_input(
                "Price per unit",
                min_value=0.0,
                value=existing.price if existing else None,
                step=0.01,
                format="%.4f",
            )
        else:
            amount = c3.number_input(
                "Amount",
                min_value=0.0,
                value=existing.amount if existing else None,
                step=100.0,
                format="%.2f",
            )
        if k in TRADE_KINDS or k is Kind.DIVIDEND:
            fee = c5.number_input(
                "Fee" if k in TRADE_KINDS else "Withholding tax / fee",
                min_value=0.0,
                value=existing.fee if existing else 0.0,
                step=1.0,
                format="%.2f",
            )
        options = ([AUTO] if k in SYMBOL_KINDS else []) + list(CURRENCIES)
        default = existing.currency if existing else (AUTO if k in SYMBOL_KINDS else base_currency)
        currency = c6.selectbox(
            "Currency",
            options,
            index=options.index(default) if default in options else 0,
            help="Trades and dividends are in the instrument's trading currency.",
        )
        note = st.text_input(
            "Note (optional)", value=existing.note if existing else "", max_chars=500
        )
        submitted = st.form_submit_button(submit_label, type="primary", disabled=disabled)
    if not submitted:
        return None
    if currency == AUTO:
        currency = instruments[symbol].currency if symbol in instruments else ""
    return TransactionDraft(
        kind=k.value,
        trade_date=trade_date,
        currency=currency,
        symbol=symbol or None,
        quantity=quantity or 0.0,
        price=price or 0.0,
        amount=amount or 0.0,
        fee=fee or 0.0,
        note=note or "",
    )
