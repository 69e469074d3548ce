"""Dashboard: value, day change, unrealised P&L, holdings and value over time."""

import polars as pl
import streamlit as st

from nexus.analytics import valuation
from nexus.charts.allocation import allocation_donut
from nexus.charts.value import value_over_time
from nexus.ui import data, widgets
from nexus.ui.format import md_escape, money, percent
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Dashboard")
info = data.snapshot()
portfolio = widgets.portfolio_picker(actor)
if portfolio is None:
    widgets.onboarding(actor, info)
    st.stop()
if info is None:
    widgets.no_market_data()
    st.stop()

inputs = data.portfolio_inputs(actor, portfolio.id, info)
ccy = inputs.base_currency
if inputs.transactions.is_empty():
    st.info(
        f"**{md_escape(portfolio.name)}** has no transactions yet. Record a deposit and your "
        "first buys on the **Transactions** page (in the menu)."
    )
    st.stop()

as_of = info.last_date
args = (inputs.transactions, inputs.closes, inputs.fx)
method = inputs.lot_method
summary = valuation.summarise(*args, as_of=as_of, base_currency=ccy, lot_method=method)
held = valuation.holdings(*args, as_of=as_of, base_currency=ccy, lot_method=method)
daily = valuation.daily_values(*args, end=as_of, base_currency=ccy)
note = widgets.source_note(info, prefix=f"Values in {ccy} · ")

cols = st.columns(4)
cols[0].metric("Total value", money(summary.total_value, ccy), border=True)
cols[1].metric(
    "Day change",
    money(summary.day_change, ccy, signed=True),
    delta=percent(summary.day_change_pct),
    border=True,
)
pnl_pct = summary.unrealised_pnl / summary.cost_basis if summary.cost_basis else None
cols[2].metric(
    "Unrealised P&L",
    money(summary.unrealised_pnl, ccy, signed=True),
    delta=percent(pnl_pct) if pnl_pct is not None else None,
    border=True,
)
cols[3].metric("Cash", money(summary.cash_value, ccy), border=True)
st.caption(note)
if summary.missing_prices:
    st.warning(
        "No price for " + ", ".join(summary.missing_prices) + ": these positions are left out "
        "of the totals until the market data has them."
    )

chart_col, alloc_col = st.columns([2, 1])
with chart_col:
    st.subheader("Value over time")
    st.plotly_chart(value_over_time(daily, currency=ccy, source_note=note), width="stretch")
with alloc_col:
    st.subheader("Allocation")
    st.plotly_chart(allocation_donut(held, currency=ccy), width="stretch")

st.subheader("Holdings")
names = {s: i.name for s, i in data.instruments(info.seq).items()}
st.dataframe(
    held.select(
        "symbol",
        pl.col("symbol").replace_strict(names, default="").alias("name"),
        "quantity",
        "currency",
        "price",
        "avg_cost",
        "market_value",
        "unrealised_pnl",
        "unrealised_pct",
        "weight",
        "day_change",
    ),
    hide_index=True,
    width="stretch",
    placeholder="—",
    column_config={
        "symbol": st.column_config.TextColumn("Symbol"),
        "name": st.column_config.TextColumn("Name"),
        "quantity": st.column_config.NumberColumn("Quantity", format="%.4g"),
        "currency": st.column_config.TextColumn("Ccy"),
        "price": st.column_config.NumberColumn("Price", format="%.2f", help="Local currency"),
        "avg_cost": st.column_config.NumberColumn(
            "Avg cost", format="%.2f", help=f"Open lots ({method.upper()}), local currency"
        ),
        "market_value": st.column_config.NumberColumn(f"Value ({ccy})", format="%,.2f"),
        "unrealised_pnl": st.column_config.NumberColumn(f"P&L ({ccy})", format="%+,.2f"),
        "unrealised_pct": st.column_config.NumberColumn("P&L %", format="percent"),
        "weight": st.column_config.NumberColumn("Weight", format="percent"),
        "day_change": st.column_config.NumberColumn(f"Day ({ccy})", format="%+,.2f"),
    },
)
if summary.cash_by_currency:
    st.caption(
        "Cash: " + " · ".join(money(v, c) for c, v in sorted(summary.cash_by_currency.items()))
    )
