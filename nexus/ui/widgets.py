"""Reusable widgets: portfolio picker, first-run onboarding, data-source note."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import streamlit as st

from nexus.auth.errors import AuthError
from nexus.auth.models import Actor
from nexus.market.prices import SnapshotInfo
from nexus.portfolio.demo import DEMO_ACCOUNTS, DEMO_NAME, build_demo_ledger, demo_symbols
from nexus.portfolio.model import CURRENCIES, LedgerError, PortfolioRecord
from nexus.settings import get_settings
from nexus.ui import data
from nexus.ui.format import md_escape

PICKER_KEY = "portfolio"
REMEMBER_KEY = "nexus_last_portfolio"


def portfolio_picker(actor: Actor) -> PortfolioRecord | None:
    """Select one of the user's portfolios; the choice lives in the URL (``?portfolio=``)."""
    portfolios = data.repository().list_portfolios(actor)
    if not portfolios:
        return None
    by_id = {str(p.id): p for p in portfolios}
    ids = list(by_id)
    remembered = st.session_state.get(REMEMBER_KEY)
    choice = st.selectbox(
        "Portfolio",
        ids,
        index=ids.index(remembered) if remembered in by_id else 0,
        format_func=lambda i: by_id[i].name + (" (demo)" if by_id[i].is_demo else ""),
        key=PICKER_KEY,
        bind="query-params",
    )
    st.session_state[REMEMBER_KEY] = choice
    return by_id[choice]


def source_note(info: SnapshotInfo, *, prefix: str = "") -> str:
    """'Demo data · prices as of 2026-11-25 · published 21:40 UTC' for a caption."""
    providers = ", ".join(sorted(info.providers)) or "unknown"
    label = "Demo data (simulated prices)" if providers == "demo" else f"Source: {providers}"
    published = info.published_at.strftime("%Y-%m-%d %H:%M UTC") if info.published_at else "?"
    return f"{prefix}{label} · prices as of {info.last_date:%Y-%m-%d} · snapshot {published}"


def no_market_data() -> None:
    st.warning(
        "No market data has been published yet. Start the ingest job with "
        "`python -m ingest run prices` (or `make run`, which does it for you), then reload."
    )


def create_portfolio_form(actor: Actor, *, key: str = "create_portfolio") -> None:
    with st.form(key, border=True):
        st.markdown("**New portfolio**")
        name = st.text_input("Name", max_chars=80, placeholder="e.g. Retirement")
        base = st.selectbox(
            "Base currency",
            CURRENCIES,
            index=CURRENCIES.index(get_settings().base_currency),
            help="Values, P&L and charts are shown in this currency.",
        )
        if st.form_submit_button("Create portfolio", type="primary", disabled=not actor.can_write):
            try:
                created = data.repository().create_portfolio(actor, name, base)
            except (LedgerError, AuthError) as exc:
                st.error(str(exc))
                return
            st.session_state[REMEMBER_KEY] = str(created.id)
            st.toast(f"Created {md_escape(created.name)}", icon=":material/check:")
            st.rerun()


def load_demo_portfolio(actor: Actor, info: SnapshotInfo) -> None:
    """Create the demo portfolio from the published (demo) market data."""
    repo = data.repository()
    instruments = data.instruments(info.seq)
    symbols = demo_symbols(instruments)
    closes, _ = data.market_inputs(info.seq, tuple(symbols), ("USD",), "USD")
    today = datetime.now(UTC).date()
    drafts = build_demo_ledger(instruments, closes, today=min(today, info.last_date))
    names = {p.name for p in repo.list_portfolios(actor)}
    name = DEMO_NAME if DEMO_NAME not in names else f"{DEMO_NAME} {len(names) + 1}"
    base = get_settings().base_currency
    created = repo.create_portfolio(actor, name, base, is_demo=True)
    try:
        for account in DEMO_ACCOUNTS[1:]:  # the first ("Main") comes with every portfolio
            repo.create_account(actor, created.id, account)
        drafts = data.with_market_fx(drafts, base, info.seq)
        repo.add_transactions(actor, created.id, drafts, instruments)
    except Exception:
        repo.delete_portfolio(actor, created.id)  # all-or-nothing
        raise
    st.session_state[REMEMBER_KEY] = str(created.id)


def onboarding(actor: Actor, info: SnapshotInfo | None) -> None:
    """What a user with no portfolio sees: how to start, or a demo to explore."""
    st.subheader("Welcome to Portfolio Nexus")
    if not actor.can_write:
        st.info(
            "Your role is **viewer**: you can look at portfolios but not create or change "
            "them. Ask an administrator for the analyst role."
        )
    st.write(
        "You have no portfolio yet. Create one and record your deposits and trades on the "
        "**Transactions** page, or load a demo portfolio to explore the dashboard first."
    )
    left, right = st.columns(2)
    with left:
        create_portfolio_form(actor, key="onboarding_create")
    with right, st.container(border=True):
        st.markdown("**Demo portfolio**")
        st.caption(
            "Seven stocks in USD, EUR and GBP bought three years ago in two accounts, with "
            "deposits, sales, a split, dividends (one reinvested), tax, interest, a fee and "
            "transfers between the accounts, priced on the demo market data. Delete it any "
            "time."
        )
        disabled = info is None or not actor.can_write
        if st.button("Load demo portfolio", disabled=disabled, key="load_demo"):
            with st.spinner("Building the demo portfolio…"):
                try:
                    load_demo_portfolio(actor, info)
                except (LedgerError, AuthError, ValueError) as exc:
                    st.error(f"Could not build the demo portfolio: {exc}")
                    return
            st.rerun()


def portfolio_view(
    actor: Actor, *, empty: str
) -> tuple[SnapshotInfo, PortfolioRecord, data.PortfolioInputs]:
    """The start of every portfolio page: the picker, then the snapshot and the ledger.

    Stops the page with the right guidance when the user has no portfolio yet (onboarding),
    no market data is published, or the portfolio has no transactions (``empty`` says what
    the page will show once it has some).
    """
    info = data.snapshot()
    portfolio = portfolio_picker(actor)
    if portfolio is None:
        onboarding(actor, info)
        st.stop()
    if info is None:
        no_market_data()
        st.stop()
    inputs = data.portfolio_inputs(actor, portfolio.id, info)
    if inputs.transactions.is_empty():
        st.info(
            f"**{md_escape(portfolio.name)}** has no transactions yet: {empty} Record a "
            "deposit and your first buys on the **Transactions** page, or bring your history "
            "in with **Import & export**."
        )
        st.stop()
    return info, portfolio, inputs


def holdings_table(
    table: pl.DataFrame, columns: list[str], *, currency: str, lot_method: str, seq: int
) -> None:
    """Positions (:func:`nexus.analytics.valuation.holdings` rows) as a table: ``columns``
    in order, ``name`` looked up from the snapshot; money in ``currency`` unless local."""
    names = {s: i.name for s, i in data.instruments(seq).items()}
    number = st.column_config.NumberColumn
    config = {
        "account": st.column_config.TextColumn("Account"),
        "symbol": st.column_config.TextColumn("Symbol"),
        "name": st.column_config.TextColumn("Name"),
        "quantity": number("Quantity", format="%.4g"),
        "currency": st.column_config.TextColumn("Ccy"),
        "price": number("Price", format="%.2f", help="Local currency"),
        "avg_cost": number(
            "Avg cost", format="%.2f", help=f"Per share, local currency, {lot_method}"
        ),
        "cost_basis": number(f"Cost ({currency})", format="%,.2f"),
        "market_value": number(f"Value ({currency})", format="%,.2f"),
        "unrealised_pnl": number(f"P&L ({currency})", format="%+,.2f"),
        "unrealised_pct": number("P&L %", format="percent"),
        "weight": number("Weight", format="percent"),
        "day_change": number(f"Day ({currency})", format="%+,.2f"),
    }
    st.dataframe(
        table.with_columns(pl.col("symbol").replace_strict(names, default="").alias("name")).select(
            columns
        ),
        hide_index=True,
        width="stretch",
        placeholder="—",
        column_config={c: config[c] for c in columns},
    )
