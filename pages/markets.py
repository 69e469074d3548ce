"""Markets: watchlist with live price tiles, symbol search and a candlestick chart."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from nexus.charts.candles import candlestick
from nexus.market.live import latest_quotes
from nexus.market.snapshot import SnapshotMissing
from nexus.portfolio.model import LedgerError
from nexus.settings import get_settings
from nexus.ui import data, widgets
from nexus.ui.format import delta, money
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

RANGES = {"3M": 91, "6M": 182, "1Y": 365, "5Y": 5 * 365, "Max": None}

st.title("Markets")
info = data.snapshot()
if info is None:
    widgets.no_market_data()
    st.stop()
instruments = data.instruments(info.seq)
watch = data.watchlist()
symbols = [s for s in watch.symbols(actor) if s in instruments]

live = st.toggle("Live prices", value=True, key="live_prices")
interval = get_settings().quotes_seconds if live else None


@st.fragment(run_every=interval)
def price_tiles(watched: list[str]) -> None:
    """Reruns alone every few seconds: only these tiles refresh, not the page."""
    try:
        quotes = latest_quotes(data.live_reader(), watched)
    except SnapshotMissing:
        st.info(
            "No live quotes published yet: the ingest scheduler publishes them every "
            f"{get_settings().quotes_seconds} s while the market is open."
        )
        return
    by_symbol = {q["symbol"]: q for q in quotes.iter_rows(named=True)}
    columns = st.columns(min(4, max(1, len(watched))))
    for i, symbol in enumerate(watched):
        q = by_symbol.get(symbol)
        with columns[i % len(columns)]:
            if q is None:
                st.metric(symbol, "—", help="No live quote yet")
                continue
            st.metric(
                symbol,
                money(q["price"], q["currency"]),
                delta=delta(q["change_pct"]),
                help=instruments[symbol].name if symbol in instruments else None,
                border=True,
            )
    if by_symbol:
        newest = max(q["ts"] for q in by_symbol.values())
        providers = ", ".join(sorted({q["provider"] for q in by_symbol.values()}))
        label = "Demo ticks (simulated)" if providers == "demo" else f"Source: {providers}"
        st.caption(
            f"{label} · quotes as of {newest:%Y-%m-%d %H:%M:%S} UTC · refreshed "
            f"{datetime.now(UTC):%H:%M:%S} UTC" + ("" if live else " · live updates paused")
        )


st.subheader("Watchlist")
if symbols:
    price_tiles(symbols)
else:
    st.info("Your watchlist is empty. Search for a symbol below and add it.")

with st.expander("Add or remove symbols", expanded=not symbols):
    left, right = st.columns(2)
    with left:
        query = st.text_input("Search by ticker or name", key="symbol_search", max_chars=40)
        results = data.search(info.seq, query) if query else None
        if results is not None and results.height:
            options = results["symbol"].to_list()
            names = dict(zip(options, results["name"].to_list(), strict=True))
            pick = st.selectbox(
                "Matches", options, format_func=lambda s: f"{s} — {names[s]}", key="search_pick"
            )
            if st.button("Add to watchlist", key="watch_add"):
                try:
                    watch.add(actor, pick, set(instruments))
                except LedgerError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
        elif query:
            st.caption("No symbol matches that search in the market data.")
    with right:
        if symbols:
            drop = st.selectbox("Remove", symbols, key="watch_remove_pick")
            if st.button("Remove from watchlist", key="watch_remove"):
                watch.remove(actor, drop)
                st.rerun()

st.subheader("Price history")
choices = symbols or sorted(instruments)
symbol = st.selectbox(
    "Symbol",
    choices,
    format_func=lambda s: f"{s} — {instruments[s].name}",
    key="chart_symbol",
    bind="query-params",
)
span = st.segmented_control("Range", list(RANGES), default="1Y", key="chart_range", required=True)
history = data.bars(info.seq, symbol)
days = RANGES.get(span or "1Y")
if days is not None and history.height:
    history = history.filter(history["date"] >= info.last_date - timedelta(days=days))
note = widgets.source_note(info)
st.plotly_chart(
    candlestick(history, symbol=symbol, currency=instruments[symbol].currency, source_note=note),
    width="stretch",
)
