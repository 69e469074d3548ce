"""Risk: volatility, drawdowns, VaR, ratios and benchmark sensitivity of the portfolio's
daily time-weighted returns; rolling metrics, correlations of holdings, monthly heatmap."""

import math

import numpy as np
import polars as pl
import streamlit as st

from nexus.analytics import metrics
from nexus.analytics import performance as perf
from nexus.analytics.periods import Range, monthly_returns_table
from nexus.analytics.risk import risk_report
from nexus.charts.risk import (
    correlation_heatmap,
    drawdown_chart,
    monthly_heatmap,
    return_distribution,
    rolling_chart,
)
from nexus.ui import analysis, controls, widgets
from nexus.ui.downloads import series_downloads
from nexus.ui.format import md_escape, percent
from nexus.ui.guard import guard

MIN_OBSERVATIONS = 20
ROLLING_WINDOWS = {"3 months": 63, "6 months": 126, "1 year": 252}
MAX_CORRELATED = 15

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Risk")
info, portfolio, inputs = widgets.portfolio_view(actor, empty="risk figures need a value history.")

key = analysis.key_of(inputs, info)
daily = analysis.daily(key, inputs)
benchmarks = analysis.benchmark_symbols(info.seq)
left, right = st.columns([3, 2])
with left:
    window = controls.range_control(daily["date"].min(), info.last_date, default=Range.MAX)
with right:
    benchmark = controls.benchmark_control(
        benchmarks, default=analysis.default_benchmark(info.seq, inputs.base_currency)
    )
source = widgets.source_note(info, prefix=f"{inputs.base_currency} · ")
st.caption(
    f"{analysis.window_note(window)} · daily time-weighted total returns · annualised with "
    "252 trading days, risk-free rate 0"
)

returns = perf.return_series(daily, window)
if returns.height < MIN_OBSERVATIONS:
    st.info(
        f"Risk figures need at least {MIN_OBSERVATIONS} daily returns; this range has "
        f"{returns.height}. Pick a longer range."
    )
    st.stop()

aligned = None
if benchmark:
    bench = perf.benchmark_series(analysis.benchmark_bars(info.seq, benchmark), window)
    aligned = perf.align_returns(returns, bench)
    if aligned.height < MIN_OBSERVATIONS:
        st.caption(f"Too few common days with {md_escape(benchmark)} for alpha and beta.")
        aligned = None
report = (
    risk_report(aligned["portfolio"].to_numpy(), aligned["benchmark"].to_numpy())
    if aligned is not None
    else risk_report(returns["return"].to_numpy())
)


SIGNED = {"cumulative_return", "annual_return", "alpha"}  # returns carry a sign; risks don't


def shown(value: float, kind: str, metric: str = "") -> str:
    if not math.isfinite(value):
        return "—"
    if kind == "pct":
        return percent(value) if metric in SIGNED else f"{value * 100:.2f}%"
    if kind == "days":
        return f"{value:.0f} days"
    return f"{value:.2f}"


st.subheader("Headline risk")
v = report.values
rows = {r["metric"]: r for r in report.frame().iter_rows(named=True)}
headline = ("annual_volatility", "max_drawdown", "sharpe_ratio", "var_historical")
for col, name in zip(st.columns(4), headline, strict=True):
    row = rows[name]
    col.metric(row["label"], shown(row["value"], row["kind"], name), help=row["help"], border=True)
st.caption(
    f"{report.observations} daily returns"
    + (f" · benchmark {md_escape(benchmark)}" if aligned is not None else "")
    + f" · {source}"
)

table = report.frame().with_columns(
    pl.struct("value", "kind", "metric")
    .map_elements(lambda r: shown(r["value"], r["kind"], r["metric"]), return_dtype=pl.Utf8)
    .alias("shown")
)
with st.expander("All risk metrics", expanded=True):
    st.dataframe(
        table.select("label", "shown", "help"),
        hide_index=True,
        width="stretch",
        column_config={
            "label": st.column_config.TextColumn("Metric"),
            "shown": st.column_config.TextColumn("Value"),
            "help": st.column_config.TextColumn("What it means"),
        },
    )
    series_downloads(table.select("metric", "label", "value"), "risk-metrics", key="metrics")

dd = report.drawdown
st.subheader("Drawdowns")
underwater = metrics.drawdown_series(returns["return"].to_numpy())
st.plotly_chart(
    drawdown_chart(returns["date"], pl.Series(underwater), source=source), width="stretch"
)
if math.isfinite(dd.depth) and dd.depth < 0:
    dates = returns["date"].to_list()
    peak = (
        dates[dd.peak_position] if dd.peak_position is not None and dd.peak_position >= 0 else None
    )
    trough = dates[dd.trough_position] if dd.trough_position is not None else None
    recovered = (
        f"recovered on {dates[dd.recovery_position]:%d %b %Y} after {dd.peak_to_recovery} "
        "trading days"
        if dd.recovery_position is not None
        else "not recovered yet"
    )
    st.caption(
        f"Maximum drawdown {percent(dd.depth)}: from "
        f"{f'{peak:%d %b %Y}' if peak else 'the start'} to {trough:%d %b %Y} "
        f"({dd.peak_to_trough} trading days), {recovered}."
    )

st.subheader("Monthly returns")
heat = monthly_returns_table(returns.select("date", "return"))
st.plotly_chart(monthly_heatmap(heat, source=source), width="stretch")
series_downloads(heat, "monthly-returns", key="monthly")

st.subheader("Rolling metrics")
label = st.segmented_control(
    "Rolling window", list(ROLLING_WINDOWS), default="6 months", required=True, key="roll",
    bind="query-params",
)  # fmt: skip
size = ROLLING_WINDOWS.get(label or "6 months", 126)
if returns.height <= size:
    st.caption(f"Rolling figures need more than {size} daily returns in the range.")
else:
    r = returns["return"].to_numpy()
    rolling = pl.DataFrame(
        {
            "date": returns["date"][size - 1 :],
            "volatility": np.asarray(metrics.roll_annual_volatility(r, size)),
            "sharpe": np.asarray(metrics.roll_sharpe_ratio(r, size)),
        }
    )
    if aligned is not None and aligned.height > size:
        beta = pl.DataFrame(
            {
                "date": aligned["date"][size - 1 :],
                "beta": np.asarray(
                    metrics.roll_beta(
                        aligned["portfolio"].to_numpy(), aligned["benchmark"].to_numpy(), size
                    )
                ),
            }
        )
        rolling = rolling.join(beta, on="date", how="left")
    vol_col, ratio_col = st.columns(2)
    vol_col.plotly_chart(
        rolling_chart(rolling, ["volatility"], "Volatility (annualised)", percent_axis=True,
                      source=source),
        width="stretch",
    )  # fmt: skip
    ratio_cols = ["sharpe", *(["beta"] if "beta" in rolling.columns else [])]
    ratio_col.plotly_chart(
        rolling_chart(rolling, ratio_cols, "Sharpe and beta", names={"sharpe": "Sharpe",
                      "beta": f"Beta vs {benchmark}"}, source=source),
        width="stretch",
    )  # fmt: skip
    series_downloads(rolling, f"rolling-{size}d", key="rolling")

st.subheader("Distribution of daily returns")
st.plotly_chart(
    return_distribution(
        returns["return"], v.get("var_historical"), v.get("cvar_historical"), confidence=0.95,
        source=source,
    ),
    width="stretch",
)  # fmt: skip

st.subheader("Correlation of holdings")
held = analysis.holdings(key, inputs)["symbol"].to_list()[:MAX_CORRELATED]
closes = inputs.closes.filter(
    pl.col("symbol").is_in(held) & pl.col("date").is_between(window.start, window.end)
)
if len(held) < 2:
    st.caption("Correlations need at least two holdings.")
else:
    wide = (
        closes.pivot(on="symbol", index="date", values="close")
        .sort("date")
        .with_columns(pl.exclude("date").pct_change())
        .slice(1)
    )
    matrix = metrics.correlation_matrix(wide.select(held))
    st.plotly_chart(correlation_heatmap(matrix, source=source), width="stretch")
    st.caption(
        f"Daily price returns of the {len(held)} largest holdings over the range, in their "
        "own currencies (pairwise, days both traded)."
    )
