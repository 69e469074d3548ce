"""Live price tiles refresh by themselves in a real browser (st.fragment, no full rerun)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from nexus.auth.local import LocalBackend
from nexus.db.engine import engine_for
from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from nexus.portfolio.watchlist import Watchlist
from nexus.settings import load_settings
from tests.conftest import ROOT
from tests.fixtures.browser import settle, start_server, wait_for_session_cookie

pytestmark = pytest.mark.e2e
PASSWORD = "a long and unusual phrase"


def test_tiles_refresh_and_follow_new_quotes(tmp_path, market_snapshot, context):
    data_dir = tmp_path / "data"
    server = start_server(data_dir, market_snapshot, {"NEXUS_QUOTES_SECONDS": "2"})
    try:
        env = {**os.environ, "NEXUS_DATA_DIR": str(data_dir)}
        quotes = [sys.executable, "-m", "ingest", "run", "quotes"]
        subprocess.run(quotes, cwd=ROOT, env=env, check=True, capture_output=True)
        settings = load_settings({"NEXUS_DATA_DIR": str(data_dir)})
        engine = engine_for(settings.sqlalchemy_url)
        actor = LocalBackend(engine, settings).sign_up("tiles@example.com", PASSWORD)
        reader = SnapshotReader(settings.history_path)
        symbol = prices.symbols(reader).filter(currency="USD")["symbol"][0]
        reader.close()
        Watchlist(engine).add(actor, symbol, {symbol})

        page = context.new_page()
        page.goto(server.url + "/")
        settle(page)
        form = page.locator("[data-testid='stForm']").filter(has_text="Sign in")
        form.get_by_label("E-mail").fill("tiles@example.com")
        form.get_by_label("Password", exact=True).fill(PASSWORD)
        form.get_by_role("button", name="Sign in").click()
        settle(page)
        wait_for_session_cookie(context)
        page.goto(server.url + "/markets")
        settle(page)
        caption = page.get_by_text("quotes as of")
        expect(caption).to_be_visible()
        first = caption.inner_text()
        time.sleep(5)  # the ingest job publishes new ticks; the fragment reruns every 2 s
        subprocess.run(quotes, cwd=ROOT, env=env, check=True, capture_output=True)
        expect(caption).not_to_have_text(first, timeout=10_000)
        assert "Demo ticks" in caption.inner_text()
        # The page around the tiles was not rerun: the heading stayed, no new full run.
        expect(page.get_by_role("heading", name="Markets", exact=True)).to_be_visible()
    finally:
        server.stop()
