"""Dashboard: value, day change, P&L, time-weighted returns by range, value over time,
allocation and holdings. Results come from the per-ledger cache (nexus.ui.analysis)."""

import streamlit as st

from nexus.charts.allocation import allocation_donut
from nexus.charts.value import value_over_time
from nexus.ui import analysis, widgets
from nexus.ui.format import delta, money, percent
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Dashboard")
info, portfolio, inputs = widgets.portfolio_view(
    actor, empty="its value, returns and holdings appear here."
)
ccy = inputs.base_currency

as_of = info.last_date
method = inputs.lot_method
key = analysis.key_of(inputs, info)
summary = analysis.summary(key, inputs)
held = analysis.holdings(key, inputs)
daily = analysis.daily(key, inputs)
note = widgets.source_note(info, prefix=f"Values in {ccy} · ")

cols = st.columns(4)
cols[0].metric("Total value", money(summary.total_value, ccy, whole=True), border=True)
cols[1].metric(
    "Day change",
    money(summary.day_change, ccy, signed=True, whole=True),
    delta=delta(summary.day_change_pct),
    border=True,
)
pnl_pct = summary.unrealised_pnl / summary.cost_basis if summary.cost_basis else None
cols[2].metric(
    "Unrealised P&L",
    money(summary.unrealised_pnl, ccy, signed=True, whole=True),
    delta=delta(pnl_pct),
    border=True,
)
cols[3].metric("Cash", money(summary.cash_value, ccy, whole=True), border=True)
st.caption(note)
if summary.missing_prices:
    st.warning(
        "No price for " + ", ".join(summary.missing_prices) + ": these positions are left out "
        "of the totals until the market data has them."
    )


returns = analysis.returns_by_range(key, daily)
if not returns.is_empty():
    st.markdown("**Time-weighted return**")
    for col, row in zip(st.columns(len(returns)), returns.iter_rows(named=True), strict=True):
        col.metric(
            row["range"],
            percent(row["twr"], decimals=1),
            help=f"{row['label']} · {row['start']} → {row['end']}",
        )
    st.caption(
        f"Realised P&L {money(summary.realised_pnl, ccy, signed=True)} · income "
        f"{money(summary.income, ccy)} · net contributions "
        f"{money(summary.net_contributions, ccy)}. Money-weighted returns and risk: see the "
        "**Performance** and **Risk** pages."
    )

chart_col, alloc_col = st.columns([2, 1])
with chart_col:
    st.subheader("Value over time")
    value_chart = analysis.figure(
        key, "value", note, lambda: value_over_time(daily, currency=ccy, source_note=note)
    )
    st.plotly_chart(value_chart, width="stretch")
with alloc_col:
    st.subheader("Allocation")
    donut = analysis.figure(key, "allocation", note, lambda: allocation_donut(held, currency=ccy))
    st.plotly_chart(donut, width="stretch")

st.subheader("Holdings")
widgets.holdings_table(
    held,
    ["symbol", "name", "quantity", "currency", "price", "avg_cost", "market_value",
     "unrealised_pnl", "unrealised_pct", "weight", "day_change"],
    currency=ccy, lot_method=method.upper(), seq=info.seq,
)  # fmt: skip
if summary.cash_by_currency:
    st.caption(
        "Cash: " + " · ".join(money(v, c) for c, v in sorted(summary.cash_by_currency.items()))
    )
