"""Holdings: positions with their lots, realised gains, allocation by any dimension, target
weights with drift and the trades that would rebalance."""

import polars as pl
import streamlit as st

from nexus.analytics.allocation import allocation
from nexus.analytics.rebalance import drift, rebalance_buckets, rebalance_trades
from nexus.auth.errors import AuthError
from nexus.charts.allocation import allocation_donut
from nexus.charts.performance import allocation_drift_chart
from nexus.portfolio.model import LedgerError
from nexus.ui import analysis, data, widgets
from nexus.ui.downloads import series_downloads
from nexus.ui.format import money
from nexus.ui.guard import guard

DIMENSIONS = {
    "asset_class": "Asset class",
    "sector": "Sector",
    "region": "Region",
    "currency": "Currency",
    "account": "Account",
    "symbol": "Holding",
}
LOT_LABELS = {"fifo": "FIFO", "lifo": "LIFO", "hifo": "HIFO", "average": "average cost"}

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Holdings")
info, portfolio, inputs = widgets.portfolio_view(
    actor, empty="positions, lots and allocation appear after the first buy."
)

key = analysis.key_of(inputs, info)
ccy = inputs.base_currency
summary = analysis.summary(key, inputs)
held = analysis.holdings(key, inputs)
source = widgets.source_note(info, prefix=f"Values in {ccy} · ")
method = LOT_LABELS.get(inputs.lot_method, inputs.lot_method)

cols = st.columns(4)
cols[0].metric("Holdings value", money(summary.holdings_value, ccy, whole=True), border=True)
cols[1].metric(
    "Unrealised P&L", money(summary.unrealised_pnl, ccy, signed=True, whole=True), border=True
)
cols[2].metric(
    "Realised P&L", money(summary.realised_pnl, ccy, signed=True, whole=True), border=True
)
cols[3].metric("Income received", money(summary.income, ccy, whole=True), border=True)
st.caption(f"Cost basis by {method} (change it under Transactions → Manage portfolios) · {source}")

positions_tab, lots_tab, realised_tab = st.tabs(["Positions", "Lots", "Realised gains"])
with positions_tab:
    per_account = st.toggle("Split by account", key="per_account", bind="query-params")
    table = analysis.holdings(key, inputs, by_account=True) if per_account else held
    widgets.holdings_table(
        table,
        [*(["account"] if per_account else []), "symbol", "name", "quantity", "currency",
         "price", "avg_cost", "cost_basis", "market_value", "unrealised_pnl",
         "unrealised_pct", "weight"],
        currency=ccy, lot_method=method, seq=info.seq,
    )  # fmt: skip
    series_downloads(table, "holdings", key="holdings")
with lots_tab:
    lots = analysis.open_lots(key, inputs)
    symbols = sorted(lots["symbol"].unique().to_list())
    chosen = st.selectbox("Holding", ["All", *symbols], key="lot_symbol", bind="query-params")
    shown = lots if chosen in (None, "All") else lots.filter(pl.col("symbol") == chosen)
    st.dataframe(
        shown.with_columns((pl.col("quantity") * pl.col("unit_cost")).alias("cost")).select(
            "account", "symbol", "open_date", "quantity", "unit_cost", "cost", "currency"
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "account": st.column_config.TextColumn("Account"),
            "symbol": st.column_config.TextColumn("Symbol"),
            "open_date": st.column_config.DateColumn("Acquired"),
            "quantity": st.column_config.NumberColumn("Quantity", format="%.4g"),
            "unit_cost": st.column_config.NumberColumn("Unit cost", format="%.4f"),
            "cost": st.column_config.NumberColumn("Cost", format="%,.2f"),
            "currency": st.column_config.TextColumn("Ccy"),
        },
    )
    st.caption(
        f"Open lots under {method}, in each lot's trade currency; buy fees are part of the "
        "cost, splits adjust quantity and unit cost, transfers keep the acquisition date."
    )
with realised_tab:
    realised = analysis.realised(key, inputs)
    if realised.is_empty():
        st.caption("No sales yet.")
    else:
        st.dataframe(
            realised.select(
                "date", "account", "symbol", "quantity", "proceeds", "cost", "realised_pnl",
                "currency", "holding_start",
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "date": st.column_config.DateColumn("Sold"),
                "account": st.column_config.TextColumn("Account"),
                "symbol": st.column_config.TextColumn("Symbol"),
                "quantity": st.column_config.NumberColumn("Quantity", format="%.4g"),
                "proceeds": st.column_config.NumberColumn("Proceeds", format="%,.2f"),
                "cost": st.column_config.NumberColumn("Cost", format="%,.2f"),
                "realised_pnl": st.column_config.NumberColumn("Realised", format="%+,.2f"),
                "currency": st.column_config.TextColumn("Ccy"),
                "holding_start": st.column_config.DateColumn("Held since"),
            },
        )  # fmt: skip
        st.caption(f"Per sale under {method}, in the trade currency (net of the sale fee).")
        series_downloads(realised, "realised-gains", key="realised")

st.subheader("Allocation")
dimension = (
    st.segmented_control(
        "Group by",
        list(DIMENSIONS),
        default="asset_class",
        required=True,
        format_func=DIMENSIONS.__getitem__,
        key="by",
        bind="query-params",
    )
    or "asset_class"
)
instruments = data.symbols(info.seq)
latest_fx = (
    inputs.fx.filter(pl.col("date") <= info.last_date)
    .sort("date")
    .group_by("currency")
    .agg(pl.col("rate").last())
)
rates = dict(latest_fx.iter_rows()) | {ccy: 1.0}
cash_base = {c: v * rates[c] for c, v in summary.cash_by_currency.items() if c in rates}
positions = analysis.holdings(key, inputs, by_account=True) if dimension == "account" else held
if dimension == "account":
    balances = analysis.cash_by_account(key, inputs, rates)
current = allocation(
    positions,
    instruments,
    by=dimension,
    cash_by_currency_base=None if dimension == "account" else cash_base,
)
if dimension == "account":
    current = analysis.with_account_cash(current, balances)

saved = data.repository().get_targets(actor, portfolio.id, dimension)
chart_col, table_col = st.columns([1, 1])
with chart_col:
    st.plotly_chart(allocation_donut(current, by="bucket", currency=ccy), width="stretch")
with table_col:
    st.dataframe(
        current,
        hide_index=True,
        width="stretch",
        column_config={
            "bucket": st.column_config.TextColumn(DIMENSIONS[dimension]),
            "market_value": st.column_config.NumberColumn(f"Value ({ccy})", format="%,.2f"),
            "weight": st.column_config.NumberColumn("Weight", format="percent"),
        },
    )
    series_downloads(current, f"allocation-by-{dimension}", key="allocation")
st.caption(source)

st.subheader("Targets and rebalancing")
editor = pl.DataFrame(
    {
        "bucket": current["bucket"].to_list()
        + [b for b in saved if b not in current["bucket"].to_list()],
    }
).with_columns(
    pl.col("bucket").replace_strict(saved, default=None, return_dtype=pl.Float64).mul(100)
    .alias("target_pct")
)  # fmt: skip
edited = st.data_editor(
    editor,
    hide_index=True,
    width="stretch",
    num_rows="dynamic",
    disabled=not actor.can_write,
    key=f"targets_{dimension}",
    column_config={
        "bucket": st.column_config.TextColumn(DIMENSIONS[dimension], required=True),
        "target_pct": st.column_config.NumberColumn(
            "Target %", min_value=0.0, max_value=100.0, step=0.5, format="%.1f"
        ),
    },
)
weights = {
    str(b): float(t) / 100
    for b, t in zip(edited["bucket"], edited["target_pct"], strict=True)
    if b and t is not None and t == t and t > 0  # t == t drops NaN
}
total = sum(weights.values())
st.caption(
    f"Targets add up to {total * 100:.1f} %"
    + (" ✓" if abs(total - 1) < 1e-6 else " - they must add up to 100 % to be saved.")
)
if st.button("Save targets", disabled=not actor.can_write or not weights, key="save_targets"):
    try:
        data.repository().set_targets(actor, portfolio.id, dimension, weights)
    except (LedgerError, AuthError, ValueError) as exc:
        st.error(str(exc))
    else:
        st.toast("Targets saved", icon=":material/check:")
        st.rerun()

if saved:
    st.plotly_chart(allocation_drift_chart(drift(current, saved), source=source), width="stretch")
    left, right = st.columns(2)
    allow_sells = left.toggle("Allow sells", value=True, key="allow_sells")
    whole = right.toggle(
        "Whole shares only", value=False, key="whole_units", disabled=dimension != "symbol"
    )
    try:
        if dimension == "symbol":
            plan = rebalance_trades(
                held, saved, by="symbol", instruments=instruments,
                cash_available=summary.cash_value, whole_units=whole, allow_sells=allow_sells,
            )  # fmt: skip
        else:
            plan = rebalance_buckets(current, saved, allow_sells=allow_sells)
    except ValueError as exc:
        st.warning(f"No rebalancing plan: {exc}")
    else:
        if plan.trades.is_empty():
            st.success("On target: nothing to trade.")
        else:
            st.dataframe(plan.trades, hide_index=True, width="stretch")
            st.caption(
                f"Buys {money(plan.buy_value, ccy)}, sells {money(plan.sell_value, ccy)}, cash "
                f"after {money(plan.cash_after, ccy)} ({ccy}, at {info.last_date:%d %b %Y} "
                "prices; no fees or taxes). A plan only: nothing is traded or recorded."
            )
            series_downloads(plan.trades, f"rebalance-{dimension}", key="rebalance")
else:
    st.caption(
        f"Set target weights per {DIMENSIONS[dimension].lower()} above and save them to see "
        "the drift and the trades that would bring the portfolio back to target."
    )
