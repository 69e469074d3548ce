"""Signed out, on a freshly started server, every page URL shows the sign-in page only.

A fresh server matters: before any session has run ``Home.py``, Streamlit serves files in
``pages/`` directly (MPA v1 mode), so each page file must guard itself.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from nexus.ui.navigation import PAGES as NAV_PAGES
from tests.fixtures.browser import settle

pytestmark = pytest.mark.e2e

PAGE_PATHS = ["/", *(f"/{entry[3]}" for entry in NAV_PAGES), "/data_health"]


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_url_opened_directly_shows_only_sign_in(fresh_server, context, path):
    page = context.new_page()
    page.goto(fresh_server.url + path)
    settle(page)
    expect(page.get_by_role("heading", name="Portfolio Nexus")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # Nothing else: no page heading, no menu, no metrics, no tables, no sidebar nav.
    for heading in (entry[1] for entry in NAV_PAGES):
        expect(page.get_by_role("heading", name=heading)).to_have_count(0)
    expect(page.locator("[data-testid='stMetric']")).to_have_count(0)
    expect(page.locator("[data-testid='stDataFrame']")).to_have_count(0)
    expect(page.locator("[data-testid='stSidebarNav']")).to_have_count(0)
    expect(page.locator("[data-testid='stPageLink']")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert "nexus_session" not in {c["name"] for c in context.cookies()}
