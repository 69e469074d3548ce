"""Import a broker CSV through the real page in headless Chromium: upload, map a column the
guess missed, preview, commit, and see the transactions on the Transactions page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from tests.fixtures.browser import register, settle

pytestmark = pytest.mark.e2e

EMAIL = "e2e.importer@example.com"
PASSWORD = "a long and unusual phrase"


def _register_and_create_portfolio(page) -> None:
    register(page, EMAIL, PASSWORD)
    welcome = page.get_by_role("heading", name="Welcome to Portfolio Nexus")
    expect(welcome).to_be_visible()
    form = page.locator("[data-testid='stForm']").filter(has_text="New portfolio")
    form.get_by_label("Name").fill("Imported")
    form.get_by_role("button", name="Create portfolio").click()
    settle(page)
    expect(welcome).to_have_count(0)
    expect(page.get_by_role("combobox", name="Portfolio")).to_be_visible()


def _pick(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def test_upload_map_preview_commit_and_see_the_transactions(fresh_server, context, tmp_path):
    reader = SnapshotReader(fresh_server.data_dir / "markets" / "history.duckdb")
    universe = prices.symbols(reader).filter(asset_class="equity", currency="USD")
    reader.close()
    symbol = sorted(universe["symbol"])[0]
    # "Stk" is no header the guess knows: the user maps it to Quantity.
    csv = tmp_path / "broker.csv"
    csv.write_text(
        "Date;Action;Ticker;Stk;Price;Amount;Note\n"
        "02.01.2024;Deposit;;;;2.500,00;<b>not bold</b>\n"
        f"03.01.2024;Buy;{symbol};4;25,50;;first buy\n",
        encoding="utf-8",
    )

    page = context.new_page()
    page.goto(fresh_server.url + "/")
    settle(page)
    _register_and_create_portfolio(page)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Import & export").click()
    settle(page)
    expect(page.get_by_role("heading", name="Import & export")).to_be_visible()

    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(csv))
    settle(page)
    ready, errors = (
        page.locator("[data-testid='stMetric']")
        .filter(has_text=label)
        .locator("[data-testid='stMetricValue']")
        for label in ("Ready", "With errors")
    )
    # Without a quantity column the buy cannot be read: a row error, the import is blocked.
    expect(errors).to_have_text("1")
    expect(page.get_by_text("Rows with errors · 1")).to_be_visible()
    commit = page.get_by_role("button", name=re.compile(r"^Import \d+ transactions?$"))
    expect(commit).to_be_disabled()

    _pick(page, "Quantity", "Stk")
    expect(ready).to_have_text("2")
    expect(errors).to_have_text("0")
    expect(page.locator("[data-testid='stDataFrame']")).to_have_count(1)  # the preview
    # The file's text is shown as text, never as HTML.
    expect(page.locator("b", has_text="not bold")).to_have_count(0)

    commit = page.get_by_role("button", name="Import 2 transactions")
    expect(commit).to_be_enabled()
    commit.click()
    settle(page)
    expect(page.get_by_text("Imported 2 transactions into Imported.")).to_be_visible()

    page.get_by_role("link", name="See them on Transactions").click()
    settle(page)
    expect(page.get_by_role("heading", name="Transactions", exact=True)).to_be_visible()
    expect(page.get_by_text("Ledger · 2 transactions")).to_be_visible()
