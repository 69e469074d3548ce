"""News: headlines for your holdings and the market, with source and time."""

import streamlit as st

from nexus.market.news import news
from nexus.ui import data, widgets
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("News")
info = data.snapshot()
if info is None:
    widgets.no_market_data()
    st.stop()
held = data.repository().traded_symbols(actor)
scope = st.segmented_control(
    "Show",
    ["My holdings", "Market-wide"],
    default="My holdings" if held else "Market-wide",
    key="news_scope",
    required=True,
)
symbols = held if scope == "My holdings" else None
if scope == "My holdings" and not held:
    st.info("You hold nothing yet, so there is no holdings news. Showing market-wide news.")
    symbols = None
articles = news(data.market_reader(), symbols=symbols, limit=60)
if articles.is_empty():
    st.info("No news yet. The `news` ingest job collects it: `python -m ingest run news`.")
    st.stop()
for a in articles.iter_rows(named=True):
    with st.container(border=True):
        # Titles and summaries come from third parties: shown as plain text, never as HTML.
        st.text(a["title"])
        meta = f"{a['source']} · {a['published_at']:%Y-%m-%d %H:%M} UTC"
        if a["symbol"]:
            meta += f" · {a['symbol']}"
        meta += " · demo" if a["provider"] == "demo" else f" · via {a['provider']}"
        st.caption(meta)
        if a["summary"]:
            st.text(a["summary"][:600])
        if a["url"] and a["url"].startswith(("https://", "http://")):
            st.link_button("Read the article", a["url"])
