"""Transactions: record, transfer, edit or delete transactions; manage accounts, the lot
method and portfolios."""

import dataclasses

import polars as pl
import streamlit as st

from nexus.analytics import lots, valuation
from nexus.auth.errors import AuthError
from nexus.portfolio.model import LedgerError, LotMethod, NotFound
from nexus.ui import data, widgets
from nexus.ui.format import md_escape
from nexus.ui.guard import guard
from nexus.ui.ledger_form import (
    KIND_HELP,
    KIND_LABELS,
    LOT_LABELS,
    kind_picker,
    transaction_form,
    transfer_form,
)

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Transactions")
info = data.snapshot()
portfolio = widgets.portfolio_picker(actor)
if portfolio is None:
    widgets.onboarding(actor, info)
    st.stop()
if info is None:
    widgets.no_market_data()
    st.stop()

repo = data.repository()
instruments = data.instruments(info.seq)
base = portfolio.base_currency
can_write = actor.can_write
if not can_write:
    st.info("Your role is **viewer**: you can look at transactions but not change them.")
accounts = repo.list_accounts(actor, portfolio.id)
account_names = [a.name for a in accounts]


def _save(action, success: str) -> None:
    """Run a repository write; show its refusal in plain words, or confirm and rerun."""
    try:
        action()
    except (LedgerError, NotFound, AuthError) as exc:
        st.error(md_escape(str(exc)))  # messages may quote user text (names)
        return
    st.toast(success, icon=":material/check:")
    st.rerun()


record_tab, transfer_tab, edit_tab, accounts_tab, manage_tab = st.tabs(
    [
        "Record a transaction",
        "Transfer between accounts",
        "Edit or delete",
        "Accounts",
        "Manage portfolios",
    ]
)

with record_tab:
    kind = kind_picker("new_kind")
    st.caption(KIND_HELP[kind])
    draft = transaction_form(
        "new_transaction",
        kind,
        instruments,
        base_currency=base,
        accounts=account_names,
        disabled=not can_write,
    )
    if draft is not None:
        [draft] = data.with_market_fx([draft], base, info.seq)
        _save(
            lambda: repo.add_transaction(actor, portfolio.id, draft, instruments),
            f"Recorded the {KIND_LABELS[draft.kind].lower()}.",
        )

with transfer_tab:
    if len(accounts) < 2:
        st.info(
            "Transfers move shares (with their cost and purchase dates) or cash between two "
            "accounts of this portfolio. Add a second account in the **Accounts** tab first."
        )
    else:
        st.caption(
            "Moves shares, with their cost and purchase dates, or cash between two accounts "
            "of this portfolio. Not a deposit or withdrawal: the portfolio's performance is "
            "unaffected. For deliveries from or to another broker, record a *Transfer in* or "
            "*Transfer out*."
        )
        request = transfer_form(
            "transfer",
            instruments,
            accounts=account_names,
            base_currency=base,
            disabled=not can_write,
        )
        if request is not None:
            _save(
                lambda: repo.transfer(
                    actor,
                    portfolio.id,
                    request.from_account,
                    request.to_account,
                    request.trade_date,
                    request.symbol,
                    request.size,
                    request.currency,
                    instruments=instruments,
                    note=request.note,
                ),
                f"Transferred from {md_escape(request.from_account)} to "
                f"{md_escape(request.to_account)}.",
            )

records = repo.list_transactions(actor, portfolio.id)


def _describe(r) -> str:
    text = f"#{r.id} · {r.trade_date:%Y-%m-%d} · {KIND_LABELS[r.kind]}"
    if r.kind == "split":
        return text + f" {r.symbol} ×{r.quantity:g}"
    if r.quantity:
        text += f" {r.quantity:g} {r.symbol}"
    if r.amount:
        text += f" {r.amount:,.2f} {r.currency}"
    return text + (f" · {r.account}" if len(accounts) > 1 else "")


with edit_tab:
    if not records:
        st.caption("Nothing to edit yet.")
    else:
        by_id = {r.id: r for r in records}
        chosen = st.selectbox(
            "Transaction",
            list(reversed(by_id)),
            format_func=lambda i: _describe(by_id[i]),
            key="edit_choice",
        )
        current = by_id[chosen]
        if current.is_internal_transfer:
            st.info(
                "This is one side of a transfer between accounts. Delete it (both sides go) "
                "and record the transfer again to change it."
            )
        else:
            st.caption(KIND_HELP[current.kind])
            edited = transaction_form(
                f"edit_{chosen}",
                current.kind,
                instruments,
                base_currency=base,
                accounts=account_names,
                existing=current,
                submit_label="Save changes",
                disabled=not can_write,
            )
            if edited is not None:
                moved = (edited.trade_date, edited.currency) != (
                    current.trade_date,
                    current.currency,
                )
                if moved and edited.fx_rate == current.fx_rate:
                    # The date or currency changed but the rate was left as it was: the
                    # stored rate belonged to the old trade, so take the market's again.
                    edited = dataclasses.replace(edited, fx_rate=None)
                [edited] = data.with_market_fx([edited], base, info.seq)
                _save(
                    lambda: repo.update_transaction(
                        actor, portfolio.id, chosen, edited, instruments
                    ),
                    f"Saved transaction #{chosen}.",
                )
        if st.button(
            f"Delete transaction #{chosen}",
            icon=":material/delete:",
            disabled=not can_write,
            key="delete_txn",
        ):
            _save(
                lambda: repo.delete_transaction(actor, portfolio.id, chosen),
                f"Deleted transaction #{chosen}.",
            )

frame = repo.transactions_frame(actor, portfolio.id)

with accounts_tab:
    st.dataframe(
        pl.DataFrame(
            {
                "account": [a.name for a in accounts],
                "transactions": [a.transaction_count for a in accounts],
            }
        ),
        hide_index=True,
        column_config={
            "account": st.column_config.TextColumn("Account"),
            "transactions": st.column_config.NumberColumn("Transactions", format="%d"),
        },
    )
    cash = valuation.cash_balances(frame) if not frame.is_empty() else None
    if cash is not None and cash.height:
        st.markdown("**Cash by account and currency**")
        st.dataframe(
            cash,
            hide_index=True,
            column_config={
                "account": st.column_config.TextColumn("Account"),
                "currency": st.column_config.TextColumn("Currency"),
                "balance": st.column_config.NumberColumn("Balance", format="%,.2f"),
            },
        )
    left, right = st.columns(2)
    with left, st.form("new_account", border=True):
        st.markdown("**New account**")
        new_account = st.text_input(
            "Account name", max_chars=80, placeholder="e.g. ISA, Broker B", key="account_name"
        )
        if st.form_submit_button("Add account", disabled=not can_write):
            _save(
                lambda: repo.create_account(actor, portfolio.id, new_account),
                "Account added.",
            )
    with right, st.container(border=True):
        by_account = {str(a.id): a for a in accounts}
        picked = st.selectbox(
            "Account",
            list(by_account),
            format_func=lambda i: by_account[i].name,
            key="account_pick",
        )
        account = by_account[picked]
        renamed = st.text_input(
            "New account name", value=account.name, max_chars=80, key="account_rename"
        )
        a1, a2 = st.columns(2)
        if a1.button("Rename account", disabled=not can_write, key="account_rename_btn"):
            _save(
                lambda: repo.rename_account(actor, portfolio.id, account.id, renamed),
                "Account renamed.",
            )
        if a2.button(
            "Delete account",
            disabled=not can_write or account.transaction_count > 0 or len(accounts) < 2,
            key="account_delete_btn",
            help="Only an empty account can be deleted, and a portfolio keeps at least one.",
        ):
            _save(
                lambda: repo.delete_account(actor, portfolio.id, account.id),
                "Account deleted.",
            )

with manage_tab:
    left, right = st.columns(2)
    with left:
        widgets.create_portfolio_form(actor)
    with right, st.container(border=True):
        st.markdown(f"**{md_escape(portfolio.name)}** · base currency {portfolio.base_currency}")
        new_name = st.text_input("New name", value=portfolio.name, max_chars=80, key="rename")
        if st.button("Rename", disabled=not can_write, key="rename_btn"):
            _save(lambda: repo.rename_portfolio(actor, portfolio.id, new_name), "Renamed.")
        methods = [m.value for m in LotMethod]
        method = st.selectbox(
            "Lot method",
            methods,
            index=methods.index(portfolio.lot_method),
            format_func=lambda m: LOT_LABELS[LotMethod(m)],
            key="lot_method",
            help="Which shares a sale uses up, for its cost and realised gain: the oldest "
            "(FIFO), the newest (LIFO), the most expensive (HIFO), or the average cost of "
            "the position. It applies to the whole history and can be changed any time.",
        )
        if st.button(
            "Save lot method",
            disabled=not can_write or method == portfolio.lot_method,
            key="lot_method_btn",
        ):
            _save(
                lambda: repo.set_lot_method(actor, portfolio.id, method),
                f"Lot method: {LOT_LABELS[LotMethod(method)]}.",
            )
        confirm = st.checkbox(
            "Yes, delete this portfolio and all its transactions", key="confirm_delete"
        )
        if st.button(
            "Delete portfolio",
            type="primary",
            disabled=not (can_write and confirm),
            icon=":material/delete_forever:",
            key="delete_portfolio",
        ):
            _save(lambda: repo.delete_portfolio(actor, portfolio.id), "Portfolio deleted.")

st.subheader(f"Ledger · {len(records)} transactions")
if records:
    ledger = pl.DataFrame(
        [
            {
                "id": r.id,
                "date": r.trade_date,
                "type": KIND_LABELS[r.kind] + (" ↔" if r.is_internal_transfer else ""),
                "account": r.account,
                "symbol": r.symbol,
                "quantity": r.quantity or None,
                "price": r.price or None,
                "amount": r.amount or None,
                "fee": r.fee or None,
                "currency": r.currency,
                "fx_rate": r.fx_rate,
                "note": r.note,
            }
            for r in reversed(records)
        ]
    )
    st.dataframe(
        ledger,
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d"),
            "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
            "type": st.column_config.TextColumn("Type", help="↔ = transfer between accounts"),
            "account": st.column_config.TextColumn("Account"),
            "symbol": st.column_config.TextColumn("Symbol"),
            "currency": st.column_config.TextColumn("Currency"),
            "note": st.column_config.TextColumn("Note"),
            "quantity": st.column_config.NumberColumn(
                "Quantity", format="%.6g", help="For a split: new shares per old share"
            ),
            "price": st.column_config.NumberColumn("Price", format="%.4f"),
            "amount": st.column_config.NumberColumn("Amount", format="%,.2f"),
            "fee": st.column_config.NumberColumn("Fee", format="%.2f"),
            "fx_rate": st.column_config.NumberColumn(
                f"FX to {base}", format="%.6g", help="Rate on the trade date"
            ),
        },
    )
    sales = lots.realised_trades(frame, portfolio.lot_method)
    if sales.height:
        method_label = LOT_LABELS[LotMethod(portfolio.lot_method)]
        with st.expander(f"Realised gains per sale · {method_label}"):
            st.dataframe(
                sales.select(
                    "date",
                    "account",
                    "symbol",
                    "currency",
                    "quantity",
                    "proceeds",
                    "cost",
                    "realised_pnl",
                    "holding_start",
                ).reverse(),
                hide_index=True,
                width="stretch",
                column_config={
                    "date": st.column_config.DateColumn("Sold", format="YYYY-MM-DD"),
                    "account": st.column_config.TextColumn("Account"),
                    "symbol": st.column_config.TextColumn("Symbol"),
                    "currency": st.column_config.TextColumn("Ccy"),
                    "quantity": st.column_config.NumberColumn("Quantity", format="%.6g"),
                    "proceeds": st.column_config.NumberColumn(
                        "Proceeds", format="%,.2f", help="Net of the sale fee, local currency"
                    ),
                    "cost": st.column_config.NumberColumn("Cost", format="%,.2f"),
                    "realised_pnl": st.column_config.NumberColumn("Gain", format="%+,.2f"),
                    "holding_start": st.column_config.DateColumn(
                        "Held since", format="YYYY-MM-DD", help="Oldest lot sold"
                    ),
                },
            )
else:
    st.caption("No transactions yet: start with a deposit, then record your buys.")
