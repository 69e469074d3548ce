"""End-to-end fixtures: a real Streamlit server on loopback, driven by Debian's Chromium.

Readiness follows Streamlit's own e2e suite: ``/_stcore/health`` answers ``ok``, then the
app reports CONNECTED and the script state ``notRunning`` with no skeleton left.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, missing_part

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def market_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo history published once (by the real CLI) for every server of the run."""
    data_dir = tmp_path_factory.mktemp("e2e-market")
    env = {**os.environ, "NEXUS_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "ingest", "run", "prices", "--no-progress"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return data_dir / "markets" / "history.duckdb"


def start_server(data_dir: Path, snapshot: Path) -> Server:
    """Migrate a fresh database and start ``streamlit run Home.py`` on a free port."""
    (data_dir / "markets").mkdir(parents=True, exist_ok=True)
    shutil.copy(snapshot, data_dir / "markets" / "history.duckdb")
    env = {**os.environ, "NEXUS_DATA_DIR": str(data_dir)}
    env.pop("NEXUS_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "nexus", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    log = data_dir / "streamlit.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "Home.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/_stcore/health", timeout=1).text == "ok":
                return Server(url, data_dir, process, log)
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("Streamlit did not start:\n" + log.read_text()[-3000:])


@pytest.fixture
def fresh_server(tmp_path: Path, market_snapshot: Path) -> Iterator[Server]:
    """A server no browser session has touched yet."""
    server = start_server(tmp_path / "data", market_snapshot)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        missing_part("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


def settle(page, timeout: float = 30_000) -> None:
    """Wait until the app is connected, the script has finished and nothing is loading."""
    page.wait_for_selector("[data-testid='stAppViewContainer']", timeout=timeout)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout
    )
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout
    )
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stSkeleton']\")", timeout=timeout
    )
