"""Page registry, role-aware sidebar menu and the app-wide page configuration."""

from __future__ import annotations

import logging

import streamlit as st

from nexus.settings import get_settings
from nexus.ui import session
from nexus.ui.format import md_escape

PAGES = (
    # (file, title, icon, url_path, min_role)
    ("pages/dashboard.py", "Dashboard", ":material/dashboard:", "dashboard", "viewer"),
    ("pages/performance.py", "Performance", ":material/trending_up:", "performance", "viewer"),
    ("pages/risk.py", "Risk", ":material/query_stats:", "risk", "viewer"),
    ("pages/holdings.py", "Holdings", ":material/pie_chart:", "holdings", "viewer"),
    ("pages/transactions.py", "Transactions", ":material/receipt_long:", "transactions", "viewer"),
    (
        "pages/import_export.py",
        "Import & export",
        ":material/swap_vert:",
        "import-export",
        "viewer",
    ),
    ("pages/markets.py", "Markets", ":material/candlestick_chart:", "markets", "viewer"),
    ("pages/news.py", "News", ":material/newspaper:", "news", "viewer"),
    ("pages/economy.py", "Economy", ":material/account_balance:", "economy", "viewer"),
    ("pages/settings.py", "Settings", ":material/settings:", "settings", "viewer"),
    ("pages/admin.py", "Admin", ":material/admin_panel_settings:", "admin", "admin"),
    ("pages/data_health.py", "Data health", ":material/monitor_heart:", "data-health", "admin"),
)
ROLE_RANK = {"viewer": 0, "analyst": 1, "admin": 2}


def run() -> None:
    """Configure the page, register pages, draw the menu and run the chosen page."""
    st.set_page_config(
        page_title="Portfolio Nexus",
        page_icon=":material/monitoring:",
        layout="wide",
        initial_sidebar_state="auto",
    )
    logging.getLogger("nexus").setLevel(get_settings().log_level)
    active = session.current_session()
    pages = [
        st.Page(path, title=title, icon=icon, url_path=url, default=(i == 0))
        for i, (path, title, icon, url, _role) in enumerate(PAGES)
    ]
    current = st.navigation(pages, position="hidden")
    if active is not None:
        _menu(pages, active.actor.email, active.actor.role)
    current.run()


def _menu(pages: list[st.Page], email: str, role: str) -> None:
    with st.sidebar:
        st.markdown("### :material/monitoring: Portfolio Nexus")
        for page, (_, _, _, _, min_role) in zip(pages, PAGES, strict=True):
            if ROLE_RANK.get(role, -1) >= ROLE_RANK[min_role]:
                st.page_link(page)
        st.divider()
        st.caption(f"Signed in as **{md_escape(email)}** · {role}")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            session.end()
            st.rerun()
