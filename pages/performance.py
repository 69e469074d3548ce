"""Performance: TWR, XIRR, Modified Dietz and simple return side by side, vs a benchmark,
for every range, per account and per holding."""

import math

import polars as pl
import streamlit as st

from nexus.analytics import performance as perf
from nexus.charts.performance import cumulative_chart, method_comparison
from nexus.ui import analysis, controls, widgets
from nexus.ui.downloads import series_downloads
from nexus.ui.format import md_escape, money, percent
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Performance")
info, portfolio, inputs = widgets.portfolio_view(
    actor, empty="returns appear once it has a deposit or a buy."
)

key = analysis.key_of(inputs, info)
ccy = inputs.base_currency
daily = analysis.daily(key, inputs)
first = daily["date"].min()
benchmarks = analysis.benchmark_symbols(info.seq)

left, middle, right = st.columns([3, 2, 2])
with left:
    window = controls.range_control(first, info.last_date)
with middle:
    benchmark = controls.benchmark_control(
        benchmarks, default=analysis.default_benchmark(info.seq, inputs.base_currency)
    )
with right:
    basis = controls.basis_control()
source = widgets.source_note(info, prefix=f"{ccy} · ")
st.caption(f"{analysis.window_note(window)} · {controls.BASIS_LABELS[basis]}")

result = perf.window_returns(daily, window, basis=basis)
if result.days <= 0 or math.isnan(result.twr):
    st.info("This range holds fewer than two valuations. Pick a longer range.")
    st.stop()

st.subheader("Four ways to measure the same period")
cols = st.columns(4)
figures = {
    "twr": result.twr,
    "mwr": result.mwr,
    "modified_dietz": result.modified_dietz,
    "simple": result.simple,
}
for col, (method, value) in zip(cols, figures.items(), strict=True):
    col.metric(
        perf.METHOD_LABELS[method],
        percent(value) if math.isfinite(value) else "n/a",
        border=True,
        help=(
            f"Annualised XIRR: {percent(result.xirr)}"
            if method == "mwr" and math.isfinite(result.xirr)
            else None
        ),
    )
st.caption(
    f"Gain {money(result.gain, ccy, signed=True)} on {money(result.start_value, ccy)} "
    f"opening value and {money(result.net_flows, ccy, signed=True)} net contributions; "
    f"income {money(result.income, ccy)}. {source}"
)
chart_col, text_col = st.columns([3, 2])
with chart_col:
    st.plotly_chart(
        method_comparison({perf.METHOD_LABELS[m]: v for m, v in figures.items()}, source=source),
        width="stretch",
    )
with text_col, st.expander("Why do they differ?", expanded=True):
    st.markdown(
        "- **Time-weighted (TWR)** chains daily returns, so deposits and withdrawals do not "
        "move it: it measures the *investments* (compare it with a benchmark or a fund).\n"
        "- **Money-weighted (XIRR)** is the internal rate of return of your actual cash "
        "flows: money added before a rise helps it, before a fall hurts it. It measures "
        "*your* result, timing included. Shown for the period (annual rate in the tooltip).\n"
        "- **Modified Dietz** approximates the money-weighted return without solving for a "
        "rate: each flow is weighted by the share of the period it was invested.\n"
        "- **Simple** is gain ÷ (opening value + money put in): easy to read, but it "
        "ignores when the money went in.\n\n"
        "With no flows in the period all four agree; the bigger and worse-timed the flows, "
        "the further TWR and the money-weighted measures drift apart."
    )

st.subheader("Cumulative return")
series = perf.return_series(daily, window, basis=basis)
lines = series.select("date", pl.col("cumulative").alias("portfolio"))
names = {"portfolio": portfolio.name}
if benchmark:
    bench = perf.benchmark_series(analysis.benchmark_bars(info.seq, benchmark), window, basis=basis)
    if bench.is_empty():
        st.caption(f"No prices for {md_escape(benchmark)} in this range.")
    else:
        lines = lines.join(
            bench.select("date", pl.col("cumulative").alias("benchmark")), on="date", how="left"
        ).with_columns(pl.col("benchmark").forward_fill())
        names["benchmark"] = f"{benchmark} ({'total' if basis == 'total' else 'price'} return)"
        st.caption(
            f"{md_escape(benchmark)} over the range: {percent(bench['cumulative'][-1])} "
            f"(in its own currency)."
        )
st.plotly_chart(cumulative_chart(lines, names=names, source=source), width="stretch")
series_downloads(lines, f"performance-{window.label}", key="cumulative")

st.subheader("Returns by range")
table = analysis.returns_by_range(key, daily, basis)
st.dataframe(
    table.select("label", "twr", "mwr", "modified_dietz", "simple", "xirr", "gain"),
    hide_index=True,
    width="stretch",
    column_config={
        "label": st.column_config.TextColumn("Range"),
        "twr": st.column_config.NumberColumn("TWR", format="percent"),
        "mwr": st.column_config.NumberColumn("Money-weighted", format="percent"),
        "modified_dietz": st.column_config.NumberColumn("Modified Dietz", format="percent"),
        "simple": st.column_config.NumberColumn("Simple", format="percent"),
        "xirr": st.column_config.NumberColumn(
            "XIRR p.a.", format="percent", help="Annualised money-weighted return."
        ),
        "gain": st.column_config.NumberColumn(f"Gain ({ccy})", format="%+,.2f"),
    },
)
series_downloads(table, "returns-by-range", key="by_range")

st.subheader("Breakdown")
method = controls.method_control()
accounts_tab, holdings_tab = st.tabs(["Per account", "Per holding"])
for tab, by, in_value in ((accounts_tab, "account", True), (holdings_tab, "symbol", False)):
    with tab:
        keyed = perf.keyed_returns(
            analysis.daily_by(key, by, inputs), window, basis=basis, income_in_value=in_value
        )
        if keyed.is_empty():
            st.caption("Nothing held in this range.")
            continue
        st.dataframe(
            keyed.sort(method, descending=True, nulls_last=True).select(
                "key", method, "gain", "start_value", "end_value", "net_flows", "income"
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "key": st.column_config.TextColumn("Account" if by == "account" else "Symbol"),
                method: st.column_config.NumberColumn(perf.METHOD_LABELS[method], format="percent"),
                "gain": st.column_config.NumberColumn(f"Gain ({ccy})", format="%+,.2f"),
                "start_value": st.column_config.NumberColumn("Opening", format="%,.2f"),
                "end_value": st.column_config.NumberColumn("Closing", format="%,.2f"),
                "net_flows": st.column_config.NumberColumn("Net flows", format="%+,.2f"),
                "income": st.column_config.NumberColumn("Income", format="%,.2f"),
            },
        )
        series_downloads(keyed, f"returns-per-{by}", key=f"per_{by}")
st.caption(
    "Holdings: buys are money into the holding and sales money out; dividends count as "
    "return on the total basis. Accounts: transfers between accounts are flows for each "
    "account but not for the portfolio."
)
