"""Analysis pages in a real browser: a copied link reopens the same view, and every page
fits a phone-width screen. Screenshots land in ``$NEXUS_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import register, settle, wait_for_session_cookie

pytestmark = pytest.mark.e2e

EMAIL = "views@example.com"
PASSWORD = "a long and unusual phrase"
PHONE = {"width": 390, "height": 844}


def _shot(page, name: str) -> None:
    folder = os.environ.get("NEXUS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _register_and_load_demo(page, url: str) -> None:
    page.goto(url)
    settle(page)
    register(page, EMAIL, PASSWORD)  # and signed in
    page.get_by_role("button", name="Load demo portfolio").click()
    settle(page, timeout=60_000)
    expect(page.locator("[data-testid='stMetric']").first).to_be_visible()


def test_a_copied_link_reopens_the_same_view(fresh_server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    _register_and_load_demo(page, fresh_server.url)
    wait_for_session_cookie(ctx)

    page.goto(fresh_server.url + "/performance")
    settle(page, timeout=60_000)
    page.get_by_role("radio", name="1Y", exact=True).click()
    settle(page)
    page.get_by_role("radio", name="Price", exact=True).click()
    settle(page)
    page.wait_for_url(lambda u: "range=1Y" in u and "basis=Price" in u)
    twr = page.locator("[data-testid='stMetric']").first.inner_text()
    link = page.url
    _shot(page, "performance-desktop")

    other = ctx.new_page()  # the same user opening the copied link in a new tab
    other.goto(link)
    settle(other, timeout=60_000)
    expect(other.get_by_text("Price return").first).to_be_visible()
    assert other.locator("[data-testid='stMetric']").first.inner_text() == twr
    # (the portfolio is in the link too once it is not the default first one)
    ctx.close()


def test_pages_fit_a_phone_screen(fresh_server, browser):
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    _register_and_load_demo(page, fresh_server.url)
    wait_for_session_cookie(ctx)
    for path in ("/", "/performance", "/risk", "/holdings"):
        page.goto(fresh_server.url + path)
        settle(page, timeout=60_000)
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
        _shot(page, f"phone{path.replace('/', '-')}")
    ctx.close()
