"""Transactions: manage portfolios and record, edit or delete their transactions."""

import polars as pl
import streamlit as st

from nexus.auth.errors import AuthError
from nexus.portfolio.model import LedgerError, NotFound
from nexus.ui import data, widgets
from nexus.ui.format import md_escape
from nexus.ui.guard import guard
from nexus.ui.ledger_form import KIND_LABELS, kind_picker, transaction_form

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
can_write = actor.can_write
if not can_write:
    st.info("Your role is **viewer**: you can look at transactions but not change them.")


def _save(action, success: str) -> None:
    """Run a repository write; show its refusal in plain words, or confirm and rerun."""
    try:
        action()
    except (LedgerError, NotFound, AuthError) as exc:
        st.error(str(exc))
        return
    st.toast(success, icon=":material/check:")
    st.rerun()


record_tab, edit_tab, manage_tab = st.tabs(
    ["Record a transaction", "Edit or delete", "Manage portfolios"]
)

with record_tab:
    kind = kind_picker("new_kind")
    draft = transaction_form(
        "new_transaction",
        kind,
        instruments,
        base_currency=portfolio.base_currency,
        disabled=not can_write,
    )
    if draft is not None:
        _save(
            lambda: repo.add_transaction(actor, portfolio.id, draft, instruments),
            f"Recorded the {KIND_LABELS[draft.kind].lower()}.",
        )

records = repo.list_transactions(actor, portfolio.id)

with edit_tab:
    if not records:
        st.caption("Nothing to edit yet.")
    else:
        by_id = {r.id: r for r in records}
        chosen = st.selectbox(
            "Transaction",
            list(reversed(by_id)),
            format_func=lambda i: (
                f"#{i} · {by_id[i].trade_date:%Y-%m-%d} · {KIND_LABELS[by_id[i].kind]}"
                + (f" {by_id[i].quantity:g} {by_id[i].symbol}" if by_id[i].quantity else "")
                + (f" {by_id[i].amount:,.2f} {by_id[i].currency}" if by_id[i].amount else "")
            ),
            key="edit_choice",
        )
        current = by_id[chosen]
        edited = transaction_form(
            f"edit_{chosen}",
            current.kind,
            instruments,
            base_currency=portfolio.base_currency,
            existing=current,
            submit_label="Save changes",
            disabled=not can_write,
        )
        if edited is not None:
            _save(
                lambda: repo.update_transaction(actor, portfolio.id, chosen, edited, instruments),
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

with manage_tab:
    left, right = st.columns(2)
    with left:
        widgets.create_portfolio_form(actor)
    with right, st.container(border=True):
        st.markdown(f"**{md_escape(portfolio.name)}** · base currency {portfolio.base_currency}")
        new_name = st.text_input("New name", value=portfolio.name, max_chars=80, key="rename")
        if st.button("Rename", disabled=not can_write, key="rename_btn"):
            _save(lambda: repo.rename_portfolio(actor, portfolio.id, new_name), "Renamed.")
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
                "type": KIND_LABELS[r.kind],
                "symbol": r.symbol,
                "quantity": r.quantity or None,
                "price": r.price or None,
                "amount": r.amount or None,
                "fee": r.fee or None,
                "currency": r.currency,
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
            "type": st.column_config.TextColumn("Type"),
            "symbol": st.column_config.TextColumn("Symbol"),
            "currency": st.column_config.TextColumn("Currency"),
            "note": st.column_config.TextColumn("Note"),
            "quantity": st.column_config.NumberColumn("Quantity", format="%.6g"),
            "price": st.column_config.NumberColumn("Price", format="%.4f"),
            "amount": st.column_config.NumberColumn("Amount", format="%,.2f"),
            "fee": st.column_config.NumberColumn("Fee", format="%.2f"),
        },
    )
else:
    st.caption("No transactions yet: start with a deposit, then record your buys.")
