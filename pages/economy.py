"""Economy: macro indicators (FRED) with their latest value and history."""

import plotly.graph_objects as go
import streamlit as st

from nexus.charts.theme import add_caption, apply_theme, empty_figure
from nexus.market.macro import macro_latest, macro_series
from nexus.market.series import describe
from nexus.settings import get_settings
from nexus.ui import data, widgets
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Economy")
info = data.snapshot()
if info is None:
    widgets.no_market_data()
    st.stop()
reader = data.market_reader()
series_ids = get_settings().fred_series_list()
latest = macro_latest(reader, series_ids)
if latest.is_empty():
    st.info(
        "No macro data yet. The `macro` ingest job fetches it (FRED with `FRED_API_KEY`, or "
        "simulated series in demo mode): `python -m ingest run macro`."
    )
    st.stop()

rows = {r["series_id"]: r for r in latest.iter_rows(named=True)}
columns = st.columns(4)
for i, sid in enumerate(s for s in series_ids if s in rows):
    r = rows[sid]
    meta = describe(sid)
    value = "—" if r["value"] is None else f"{r['value']:,.2f}"
    columns[i % 4].metric(
        meta.title,
        f"{value} {meta.units if meta.units in ('%', 'pp') else ''}".strip(),
        help=f"{sid} · {meta.units} · {meta.frequency} · as of {r['date']:%Y-%m-%d}",
        border=True,
    )
providers = ", ".join(sorted({r["provider"] for r in rows.values()}))
label = "Demo data (simulated series)" if providers == "demo" else f"Source: {providers}"
st.caption(f"{label} · latest observations per series (dates in each tile's help)")

choice = st.selectbox(
    "Indicator",
    [s for s in series_ids if s in rows],
    format_func=lambda s: f"{describe(s).title} ({s})",
    key="series",
    bind="query-params",
)
history = macro_series(reader, choice)
meta = describe(choice)
if history.is_empty():
    fig = empty_figure(hint=f"No observations for {choice} yet.")
else:
    fig = go.Figure(
        go.Scatter(
            x=history["date"].to_list(),
            y=history["value"].to_list(),
            mode="lines",
            name=meta.title,
            connectgaps=False,
            hovertemplate="%{x|%Y-%m-%d}: %{y:,.2f}<extra></extra>",
        )
    )
    apply_theme(fig)
    fig.update_yaxes(title_text=meta.units)
    last = history.drop_nulls("value").tail(1)
    as_of = f"{last['date'][0]:%Y-%m-%d}" if last.height else "—"
    fig = add_caption(fig, f"{label} · {choice} · as of {as_of}")
st.plotly_chart(fig, width="stretch")
