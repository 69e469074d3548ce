"""Fixtures for the live-provider tests: the fake market server, settings pointing every
provider at it (fake keys), fast retry/timeout options and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.http import RetryPolicy, reset_http_state
from nexus.settings import Settings, load_settings
from tests.fakes.market_server import (  # noqa: F401 (fixtures)
    MarketServer,
    market_server,
    market_server_session,
)

KEY = "KEY-SECRET-123"
NOW = datetime(2026, 1, 2, 3, 4, 5)
FAST_RETRY = RetryPolicy(
    attempts=3, backoff=0.01, max_backoff=0.05, max_total=2.0, max_retry_after=1.0, jitter=False
)


def fast(**overrides: Any) -> dict[str, Any]:
    """Provider/session options for tests: tiny backoffs and timeouts, no client rate limits
    (override ``per_second`` etc. to test them), the fixed clock."""
    options: dict[str, Any] = {
        "retry": FAST_RETRY,
        "timeout": 1.0,
        "max_delay": 0.5,
        "per_second": None,
        "per_minute": None,
        "per_hour": None,
        "per_day": None,
    }
    options.update(overrides)
    return options


def make_settings(data_dir: Path, server_url: str | None, **env: str) -> Settings:
    values = {"NEXUS_DATA_DIR": str(data_dir), "NEXUS_MARKET_PROVIDER": "live"}
    if server_url:
        values |= {
            "ALPHAVANTAGE_BASE_URL": server_url,
            "TIINGO_BASE_URL": server_url,
            "FINNHUB_BASE_URL": server_url,
            "FRED_BASE_URL": server_url,
            "NEWSAPI_BASE_URL": server_url,
            "ALPHAVANTAGE_API_KEY": KEY,
            "TIINGO_API_KEY": KEY,
            "FINNHUB_API_KEY": KEY,
            "FRED_API_KEY": KEY,
            "NEWSAPI_KEY": KEY,
        }
    values |= env
    return load_settings(values, secrets_path=data_dir / "no-secrets.toml")


@pytest.fixture(autouse=True)
def _fresh_http_state() -> Iterator[None]:
    reset_http_state()
    yield
    reset_http_state()


@pytest.fixture
def live_settings(tmp_path: Path, market_server: MarketServer) -> Settings:  # noqa: F811
    return make_settings(tmp_path / "data", market_server.url)


def cache_bytes(settings: Settings) -> bytes:
    """Every byte of the SQLite cache (main file, WAL and shared memory)."""
    files = sorted(settings.data_dir.glob("http_cache.sqlite*"))
    assert files, "no cache file written"
    return b"".join(p.read_bytes() for p in files)
