"""The walking skeleton in a real browser: register, sign in, build a portfolio, see it valued."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from nexus.ui.format import money
from tests.fixtures.browser import register, settle, wait_for_session_cookie

pytestmark = pytest.mark.e2e

EMAIL = "e2e.analyst@example.com"
PASSWORD = "a long and unusual phrase"


def _sign_in(page) -> None:
    form = page.locator("[data-testid='stForm']").filter(has_text="Sign in")
    form.get_by_label("E-mail").fill(EMAIL)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    settle(page)


def _choose(page, scope, label: str, text: str) -> None:
    box = scope.get_by_role("combobox", name=label)
    box.click()
    page.keyboard.type(text)
    page.get_by_role("option", name=re.compile("^" + re.escape(text) + " ")).first.click()


def _buy(page, symbol: str, quantity: str, price: str) -> None:
    form = page.locator("[data-testid='stForm']").filter(
        has=page.get_by_role("button", name="Add transaction")
    )
    _choose(page, form, "Symbol", symbol)
    form.get_by_label("Quantity").fill(quantity)
    form.get_by_label("Price per unit").fill(price)
    form.get_by_role("button", name="Add transaction").click()
    settle(page)
    expect(page.locator("[data-testid='stAlertContentError']")).to_have_count(0)


def _expected_total(server, holdings: dict[str, float]) -> tuple[float, str]:
    reader = SnapshotReader(server.data_dir / "markets" / "history.duckdb")
    try:
        info = prices.snapshot_info(reader)
        closes = prices.closes(reader, list(holdings)).filter(date=info.last_date)
        fx = prices.fx_to_base(reader, "USD", ["EUR"]).filter(date=info.last_date)
        rate = {"USD": 1.0, "EUR": fx["rate"][0]}
        total = sum(
            holdings[r["symbol"]] * r["close"] * rate[r["currency"]]
            for r in closes.iter_rows(named=True)
        )
        return total, f"{info.last_date:%Y-%m-%d}"
    finally:
        reader.close()


def test_register_sign_in_create_portfolio_two_buys_dashboard_total(fresh_server, context):
    page = context.new_page()
    page.goto(fresh_server.url + "/")
    settle(page)
    register(page, EMAIL, PASSWORD)
    expect(page.get_by_role("heading", name="Welcome to Portfolio Nexus")).to_be_visible()

    # Sign out, then sign in again with the same credentials.
    page.get_by_role("button", name="Sign out").click()
    settle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    _sign_in(page)
    expect(page.get_by_role("heading", name="Welcome to Portfolio Nexus")).to_be_visible()

    # Create a portfolio from the onboarding form.
    page.get_by_label("Name").fill("E2E growth")
    page.get_by_role("button", name="Create portfolio").click()
    settle(page)

    # Two buys on the Transactions page: one USD stock and one EUR stock (FX to USD).
    page.get_by_test_id("stSidebar").get_by_role("link", name="Transactions", exact=True).click()
    settle(page)
    reader = SnapshotReader(fresh_server.data_dir / "markets" / "history.duckdb")
    universe = prices.symbols(reader).filter(asset_class="equity")
    reader.close()
    usd = universe.filter(currency="USD")["symbol"][0]
    eur = universe.filter(currency="EUR")["symbol"][0]
    _buy(page, usd, "10", "100")
    _buy(page, eur, "4", "50")
    expect(page.get_by_text("Ledger · 2 transactions")).to_be_visible()

    page.get_by_test_id("stSidebar").get_by_role("link", name="Dashboard", exact=True).click()
    settle(page)
    total, as_of = _expected_total(fresh_server, {usd: 10.0, eur: 4.0})
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Total value")
    expect(metric.locator("[data-testid='stMetricValue']")).to_have_text(
        money(total, "USD", whole=True)
    )
    expect(page.get_by_text(re.compile(rf"Demo data .* as of {as_of}")).first).to_be_visible()
    expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(2)

    # A reload keeps the user signed in (HttpOnly session cookie) ...
    cookie = wait_for_session_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.reload()
    settle(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # ... and sign-out ends it, even for a copy of the cookie taken before.
    page.get_by_role("button", name="Sign out").click()
    settle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    replay = context.browser.new_context()
    replay.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
    other = replay.new_page()
    other.goto(fresh_server.url + "/")
    settle(other)
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()
    expect(other.get_by_role("heading", name="Dashboard")).to_have_count(0)
    replay.close()
