"""Data health (admins): freshness per symbol, coverage gaps, last ingest runs and errors."""

import streamlit as st

from nexus.market.health import data_health
from nexus.market.prices import last_runs
from nexus.ui import data, widgets
from nexus.ui.guard import guard

actor = guard(min_role="admin")  # first statement of every page

st.title("Data health")
info = data.snapshot()
if info is None:
    widgets.no_market_data()
    st.stop()
reader = data.market_reader()
st.caption(widgets.source_note(info, prefix=f"Snapshot #{info.seq} · "))

health = data_health(reader)
stale = health.filter(health["staleness_days"] > 1) if health.height else health
cols = st.columns(3)
cols[0].metric("Symbols", health.height, border=True)
cols[1].metric("Stale (> 1 trading day)", stale.height, border=True)
cols[2].metric(
    "Symbols with gaps", int((health["gaps"] > 0).sum()) if health.height else 0, border=True
)
st.subheader("Freshness per symbol")
st.dataframe(
    health,
    hide_index=True,
    width="stretch",
    placeholder="",
    column_config={
        "first_date": st.column_config.DateColumn("First bar", format="YYYY-MM-DD"),
        "last_date": st.column_config.DateColumn("Last bar", format="YYYY-MM-DD"),
        "staleness_days": st.column_config.NumberColumn("Stale (trading days)"),
    },
)

st.subheader("Last ingest runs")
runs = last_runs(reader, 50)
st.dataframe(
    runs,
    hide_index=True,
    width="stretch",
    placeholder="",
    column_config={
        "run_id": None,
        "started_at": st.column_config.DatetimeColumn(
            "Started (UTC)", format="YYYY-MM-DD HH:mm:ss"
        ),
        "finished_at": st.column_config.DatetimeColumn("Finished", format="HH:mm:ss"),
    },
)
failed = runs.filter(runs["status"] != "ok") if runs.height else runs
if failed.height:
    st.warning(
        f"{failed.height} of the last {runs.height} runs did not finish cleanly; "
        "see the error column."
    )
