"""XSS payloads in every free-text field, rendered in real Chromium: no script may run.

Free text a user controls: display name, e-mail local part, portfolio name, transaction
note. Each payload, if it ran, would open a dialog or set ``window.__xss``; the test fails on
either, and on any element the payloads would inject.
"""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from nexus.auth.local import LocalBackend
from nexus.db.engine import engine_for
from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from nexus.portfolio.model import InstrumentInfo, TransactionDraft
from nexus.portfolio.repository import PortfolioRepository
from nexus.settings import load_settings
from tests.fixtures.browser import settle, wait_for_session_cookie

pytestmark = pytest.mark.e2e

PAYLOADS = [
    '<img src=x id=xss1 onerror="window.__xss=1;alert(1)">',
    "<script id=xss2>window.__xss=2;alert(2)</script>",
    '<svg id=xss3 onload="window.__xss=3;alert(3)"></svg>',
    "[click](javascript:window.__xss=4) **bold** <b id=xss5>b</b>",
    '"><iframe id=xss6 src=javascript:alert(6)></iframe>',
]
PASSWORD = "a long and unusual phrase"


def _seed(server) -> str:
    settings = load_settings({"NEXUS_DATA_DIR": str(server.data_dir)})
    engine = engine_for(settings.sqlalchemy_url)
    backend = LocalBackend(engine, settings)
    email = "xss.victim@example.com"
    actor = backend.sign_up(email, PASSWORD, display_name=PAYLOADS[0])
    repo = PortfolioRepository(engine)
    reader = SnapshotReader(settings.history_path)
    symbol = prices.symbols(reader).filter(currency="USD", asset_class="equity")["symbol"][0]
    reader.close()
    instruments = {symbol: InstrumentInfo(symbol, symbol, "USD")}
    for i, payload in enumerate(PAYLOADS):
        p = repo.create_portfolio(actor, f"{payload} {i}", "USD")
        repo.add_transactions(
            actor,
            p.id,
            [
                TransactionDraft("deposit", date(2024, 1, 2), "USD", amount=1000, note=payload),
                TransactionDraft("buy", date(2024, 1, 3), "USD", symbol, 1, 10.0, note=payload),
            ],
            instruments,
        )
    return email


def test_no_payload_runs_on_any_page(fresh_server, context):
    email = _seed(fresh_server)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(fresh_server.url + "/")
    settle(page)
    form = page.locator("[data-testid='stForm']").filter(has_text="Sign in")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    settle(page)
    wait_for_session_cookie(context)
    for path, heading in (
        ("/", "Dashboard"),
        ("/transactions", "Transactions"),
        ("/settings", "Settings"),
        ("/admin", "Admin"),
    ):
        page.goto(fresh_server.url + path)
        settle(page)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        page.wait_for_timeout(500)
        if path == "/transactions":
            # The edit tab shows a note in an input and the manage tab the portfolio name.
            page.get_by_role("tab", name="Edit or delete").click()
            page.get_by_role("tab", name="Manage portfolios").click()
            page.wait_for_timeout(300)
        assert page.evaluate("() => window.__xss === undefined"), path
        for marker in ("#xss1", "#xss2", "#xss3", "#xss5", "#xss6"):
            expect(page.locator(marker)).to_have_count(0)
        expect(page.locator("a[href^='javascript:']")).to_have_count(0)
    assert dialogs == []
    # The text is shown literally, not dropped: the portfolio picker shows the raw name.
    page.goto(fresh_server.url + "/")
    settle(page)
    expect(page.get_by_role("combobox", name="Portfolio")).to_have_value(f"{PAYLOADS[0]} 0")
