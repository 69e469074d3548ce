"""Ledger forms: a transaction of any kind (showing the fields that kind needs), a transfer
between accounts, and the lot-method picker. They return what was entered; validation is
the repository's job, so errors are reported in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import streamlit as st

from nexus.portfolio.model import (
    CURRENCIES,
    OPTIONAL_SYMBOL_KINDS,
    SYMBOL_KINDS,
    TRADE_KINDS,
    TRANSFER_KINDS,
    InstrumentInfo,
    Kind,
    LotMethod,
    TransactionDraft,
    TransactionRecord,
)

KIND_LABELS = {
    Kind.BUY: "Buy",
    Kind.SELL: "Sell",
    Kind.DEPOSIT: "Deposit",
    Kind.WITHDRAWAL: "Withdrawal",
    Kind.DIVIDEND: "Dividend",
    Kind.INTEREST: "Interest",
    Kind.FEE: "Fee",
    Kind.TAX: "Tax",
    Kind.SPLIT: "Split",
    Kind.TRANSFER_IN: "Transfer in",
    Kind.TRANSFER_OUT: "Transfer out",
}
KIND_HELP = {
    Kind.BUY: "Shares bought: quantity, price per share and the broker's fee.",
    Kind.SELL: "Shares sold: the lot method of the portfolio decides which lots are sold.",
    Kind.DEPOSIT: "Cash paid into the account from outside.",
    Kind.WITHDRAWAL: "Cash taken out of the account.",
    Kind.DIVIDEND: "A dividend received. Withholding tax can go in the fee field (or as a "
    "separate Tax). Reinvested (DRIP)? Enter the shares bought and their price.",
    Kind.INTEREST: "Interest received on cash (or a bond: choose its symbol).",
    Kind.FEE: "An account or custody fee (a trading fee belongs on the buy or sell).",
    Kind.TAX: "Tax paid, e.g. withholding tax on a dividend (choose its symbol).",
    Kind.SPLIT: "A stock split: the ratio is new shares per old share (2 for a 2-for-1 split, "
    "0.1 for a 1-for-10 reverse split). Record it for each account holding the stock.",
    Kind.TRANSFER_IN: "Shares or cash delivered from outside this portfolio (another broker). "
    "Shares come in at their market value per share, which becomes their cost. "
    "Between your own accounts, use 'Transfer between accounts'.",
    Kind.TRANSFER_OUT: "Shares or cash delivered out of this portfolio, at their market value "
    "per share. Between your own accounts, use 'Transfer between accounts'.",
}
LOT_LABELS = {
    LotMethod.FIFO: "FIFO — first in, first out",
    LotMethod.LIFO: "LIFO — last in, first out",
    LotMethod.HIFO: "HIFO — highest cost first",
    LotMethod.AVERAGE: "Average cost",
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


def _today() -> date:
    return datetime.now(UTC).date()


def _symbol_label(instruments: Mapping[str, InstrumentInfo], s: str) -> str:
    if not s:
        return "—"
    info = instruments[s]
    return f"{s} — {info.name} ({info.currency})"


def transaction_form(
    key: str,
    kind: str,
    instruments: Mapping[str, InstrumentInfo],
    *,
    base_currency: str,
    accounts: Sequence[str],
    existing: TransactionRecord | None = None,
    submit_label: str = "Add transaction",
    disabled: bool = False,
) -> TransactionDraft | None:
    """Draw the form for ``kind``; return the entered draft when submitted.

    Widget keys are ``f"{key}_{kind}_<field>"`` (fields: account, symbol, quantity, price,
    amount, fee, currency, fx_rate), so values never leak from one kind to another. An
    empty FX rate stays ``None`` (the page fills it from the market data).
    """
    k = Kind(kind)
    wkey = f"{key}_{k.value}"
    symbols = sorted(instruments)
    shares_optional = k in OPTIONAL_SYMBOL_KINDS or k in TRANSFER_KINDS
    with st.form(key, border=True, enter_to_submit=False):
        c1, c2, c3 = st.columns(3)
        trade_date = c1.date_input(
            "Date",
            value=existing.trade_date if existing else _today(),
            max_value=None,
            format="YYYY-MM-DD",
        )
        account_names = list(accounts)
        current_account = existing.account if existing else None
        account = c2.selectbox(
            "Account",
            account_names,
            index=account_names.index(current_account) if current_account in account_names else 0,
            key=f"{wkey}_account",
        )
        symbol = None
        if k in SYMBOL_KINDS or shares_optional:
            options = ["", *symbols] if shares_optional else symbols
            current = existing.symbol if existing and existing.symbol in options else None
            label = "Symbol"
            if k in TRANSFER_KINDS:
                label = "Symbol (empty for cash)"
            elif shares_optional:
                label = "Symbol (optional)"
            symbol = c3.selectbox(
                label,
                options,
                index=options.index(current) if current else (0 if shares_optional else None),
                format_func=lambda s: _symbol_label(instruments, s),
                placeholder="Type to search symbols",
                key=f"{wkey}_symbol",
            )

        def number(col, label: str, field: str, value, *, step: float, fmt: str, help=None):
            return col.number_input(
                label,
                min_value=0.0,
                value=value,
                step=step,
                format=fmt,
                key=f"{wkey}_{field}",
                help=help,
            )

        quantity = price = amount = fee = None
        c4, c5, c6, c7 = st.columns(4)
        if k in TRADE_KINDS:
            quantity = number(
                c4,
                "Quantity",
                "quantity",
                existing.quantity if existing else None,
                step=1.0,
                fmt="%.6g",
            )
            price = number(
                c5,
                "Price per unit",
                "price",
                existing.price if existing else None,
                step=0.01,
                fmt="%.4f",
            )
            fee = number(c6, "Fee", "fee", existing.fee if existing else 0.0, step=1.0, fmt="%.2f")
        elif k is Kind.SPLIT:
            quantity = number(
                c4,
                "Ratio (new shares per old share)",
                "quantity",
                existing.quantity if existing else None,
                step=1.0,
                fmt="%.6g",
                help="2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split.",
            )
        elif k in TRANSFER_KINDS:
            quantity = number(
                c4,
                "Quantity (shares)",
                "quantity",
                existing.quantity or None if existing else None,
                step=1.0,
                fmt="%.6g",
            )
            price = number(
                c5,
                "Market value per share",
                "price",
                existing.price or None if existing else None,
                step=0.01,
                fmt="%.4f",
                help="On the transfer date, in the instrument's currency. For shares coming "
                "in it also becomes their cost.",
            )
            amount = number(
                c6,
                "Amount (cash)",
                "amount",
                existing.amount or None if existing else None,
                step=100.0,
                fmt="%.2f",
            )
        else:
            amount = number(
                c4,
                "Amount",
                "amount",
                existing.amount if existing else None,
                step=100.0,
                fmt="%.2f",
            )
            if k is Kind.DIVIDEND:
                fee = number(
                    c5,
                    "Withholding tax / fee",
                    "fee",
                    existing.fee if existing else 0.0,
                    step=1.0,
                    fmt="%.2f",
                )
                quantity = number(
                    c6,
                    "Shares reinvested (DRIP)",
                    "quantity",
                    existing.quantity or None if existing else None,
                    step=1.0,
                    fmt="%.6g",
                    help="Leave empty for a cash dividend.",
                )
                price = number(
                    c7,
                    "Reinvestment price",
                    "price",
                    existing.price or None if existing else None,
                    step=0.01,
                    fmt="%.4f",
                )

        c8, c9 = st.columns(2)
        with_instrument = k in SYMBOL_KINDS or k in TRANSFER_KINDS
        options = ([AUTO] if with_instrument else []) + list(CURRENCIES)
        default = existing.currency if existing else (AUTO if with_instrument else base_currency)
        currency = c8.selectbox(
            "Currency",
            options,
            index=options.index(default) if default in options else 0,
            help="Trades, dividends, splits and share transfers are in the instrument's "
            "trading currency; a cash transfer left on 'Instrument's currency' uses the "
            f"base currency ({base_currency}).",
            key=f"{wkey}_currency",
        )
        fx_rate = c9.number_input(
            f"FX rate to {base_currency} (optional)",
            min_value=0.0,
            value=existing.fx_rate if existing else None,
            step=0.0001,
            format="%.6f",
            help=f"{base_currency} per 1 unit of the transaction currency on the trade date. "
            "Leave empty to use the market rate of that day; ignored for "
            f"{base_currency} transactions.",
            key=f"{wkey}_fx_rate",
        )
        note = st.text_input(
            "Note (optional)", value=existing.note if existing else "", max_chars=500
        )
        submitted = st.form_submit_button(submit_label, type="primary", disabled=disabled)
    if not submitted:
        return None
    if currency == AUTO:
        currency = instruments[symbol].currency if symbol in instruments else base_currency
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
        account=account,
        fx_rate=fx_rate if fx_rate and currency != base_currency else None,
        transfer_id=existing.transfer_id if existing else None,
    )


@dataclass(frozen=True)
class TransferRequest:
    """A transfer between two accounts of one portfolio, as entered."""

    from_account: str
    to_account: str
    trade_date: date
    symbol: str | None
    size: float
    currency: str
    note: str


def transfer_form(
    key: str,
    instruments: Mapping[str, InstrumentInfo],
    *,
    accounts: Sequence[str],
    base_currency: str,
    disabled: bool = False,
) -> TransferRequest | None:
    """Move shares (a symbol and a quantity) or cash (no symbol: an amount and a currency)
    from one account to another; cost and purchase dates move with the shares."""
    symbols = sorted(instruments)
    names = list(accounts)
    with st.form(key, border=True, enter_to_submit=False):
        c1, c2, c3 = st.columns(3)
        trade_date = c1.date_input("Date", value=_today(), format="YYYY-MM-DD")
        source = c2.selectbox("From account", names, index=0, key=f"{key}_from")
        target = c3.selectbox(
            "To account", names, index=1 if len(names) > 1 else 0, key=f"{key}_to"
        )
        c4, c5, c6 = st.columns(3)
        symbol = c4.selectbox(
            "Symbol (empty for cash)",
            ["", *symbols],
            index=0,
            format_func=lambda s: _symbol_label(instruments, s),
            key=f"{key}_symbol",
        )
        size = c5.number_input(
            "Quantity (shares) or amount (cash)",
            min_value=0.0,
            value=None,
            step=1.0,
            format="%.6g",
            key=f"{key}_size",
        )
        currency = c6.selectbox(
            "Currency (cash only)",
            list(CURRENCIES),
            index=CURRENCIES.index(base_currency) if base_currency in CURRENCIES else 0,
            key=f"{key}_currency",
            help="Shares move in the instrument's currency.",
        )
        note = st.text_input("Transfer note (optional)", max_chars=500, key=f"{key}_note")
        submitted = st.form_submit_button("Transfer", type="primary", disabled=disabled)
    if not submitted:
        return None
    symbol = symbol or None
    if symbol in instruments:
        currency = instruments[symbol].currency
    return TransferRequest(source, target, trade_date, symbol, size or 0.0, currency, note or "")
