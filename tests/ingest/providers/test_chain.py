"""ProviderChain with real providers on the fake server: fallbacks and recorded reasons."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.chain import Attempt, ChainExhausted, ProviderChain, build_chain
from ingest.providers.alphavantage import AlphaVantageProvider
from ingest.providers.ecb import EcbProvider
from ingest.providers.finnhub import FinnhubProvider
from ingest.providers.registry import FACTORIES
from ingest.providers.tiingo import TiingoProvider
from tests.fakes.market_server import Reply, payload
from tests.ingest.providers.conftest import KEY, NOW, fast, make_settings


def test_keyless_provider_is_skipped_and_the_next_delivers(tmp_path, market_server):
    settings = make_settings(tmp_path, market_server.url, TIINGO_API_KEY="")
    assert not settings.tiingo_api_key.get_secret_value()
    market_server.add(
        "/query", Reply(body=payload("alphavantage", "time_series_daily")), symbol="IBM"
    )
    chain = ProviderChain(
        "prices",
        [
            TiingoProvider(settings, now=lambda: NOW, **fast()),
            AlphaVantageProvider(settings, now=lambda: NOW, **fast()),
        ],
    )
    frame, name, attempts = chain.run("bars", "IBM", date(2022, 4, 1), date(2022, 4, 30))
    assert name == "alphavantage" and frame.height == 3
    assert attempts == [
        Attempt("tiingo", "skipped", "tiingo: no API key configured (set TIINGO_API_KEY)"),
        Attempt("alphavantage", "ok"),
    ]
    assert market_server.hits("/tiingo/daily/ibm/prices") == 0


def test_failures_are_recorded_and_the_chain_is_exhausted(live_settings, market_server):
    market_server.add("/quote", Reply(503))
    market_server.add("/query", Reply(body=payload("alphavantage", "daily_cap")))
    chain = ProviderChain(
        "quotes",
        [
            FinnhubProvider(live_settings, **fast()),
            AlphaVantageProvider(live_settings, **fast()),
            EcbProvider(),  # offers no quotes
        ],
    )
    with pytest.raises(ChainExhausted) as info:
        chain.run("quotes", ["AAPL"])
    attempts = info.value.attempts
    assert [(a.provider, a.outcome) for a in attempts] == [
        ("finnhub", "failed"),
        ("alphavantage", "failed"),
        ("ecb", "skipped"),
    ]
    assert attempts[0].reason.startswith("Unavailable: finnhub: HTTP 503")
    assert attempts[1].reason == "QuotaExhausted: alphavantage: daily request quota used up"
    assert attempts[2].reason == "does not offer quotes"
    assert KEY not in str(info.value)


def test_empty_provider_falls_through_to_the_next(live_settings, market_server):
    market_server.add(
        "/query",
        Reply(body=payload("alphavantage", "fx_daily")),
        function="FX_DAILY",
        to_symbol="VND",
    )
    chain = ProviderChain("fx", [EcbProvider(), AlphaVantageProvider(live_settings, **fast())])
    frame, name, attempts = chain.run("fx_rates", ["VND"], date(2026, 1, 1), date(2026, 1, 31))
    assert name == "alphavantage" and frame["quote"].to_list() == ["VND", "VND"]
    assert attempts[0].provider == "ecb" and attempts[0].outcome == "empty"
    assert "no rates for VND" in attempts[0].reason


def test_registry_builds_every_live_chain(live_settings):
    assert {"alphavantage", "tiingo", "finnhub", "fred", "newsapi", "ecb"} <= set(FACTORIES)
    for kind, first in [
        ("prices", "tiingo"),
        ("quotes", "finnhub"),
        ("fx", "ecb"),
        ("news", "newsapi"),
        ("macro", "fred"),
    ]:
        chain = build_chain(live_settings, kind)
        assert chain.names[0] == first
    assert build_chain(live_settings, "macro").names == ["fred"]


def test_chain_from_settings_runs_against_the_fake(live_settings, market_server):
    market_server.add("/fred/series/observations", Reply(body=payload("fred", "observations")))
    chain = build_chain(live_settings, "macro")
    frame, name, _ = chain.run("observations", "UNRATE", date(2025, 9, 1), date(2025, 11, 30))
    assert name == "fred" and frame["value"].null_count() == 1
