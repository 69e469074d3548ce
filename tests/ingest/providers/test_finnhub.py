"""Finnhub provider against the fake server."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest.http import RetryPolicy
from ingest.providers import QUOTES_SCHEMA, MissingKey, NoData, PremiumRequired, RateLimited
from ingest.providers.finnhub import FinnhubProvider
from tests.fakes.market_server import Reply, payload
from tests.ingest.providers.conftest import KEY, NOW, make_settings

P = "finnhub"


def provider(settings, **over) -> FinnhubProvider:
    from tests.ingest.providers.conftest import fast

    currencies = over.pop("currencies", None)
    return FinnhubProvider(settings, now=lambda: NOW, currencies=currencies, **fast(**over))


def test_quotes_with_currency_map_and_usd_default(live_settings, market_server):
    market_server.add("/quote", Reply(body=payload(P, "quote")), symbol="AAPL")
    market_server.add("/quote", Reply(body=payload(P, "quote")), symbol="SAP")
    market_server.add("/quote", Reply(body=payload(P, "quote_unknown")), symbol="NOPE")
    got = provider(live_settings, currencies={"SAP": "eur"}).quotes(["AAPL", "NOPE", "SAP"])
    ts = datetime(2024, 1, 1)  # epoch 1704067200
    expected = pl.DataFrame(
        {
            "symbol": ["AAPL", "SAP"],
            "ts": [ts, ts],
            "price": [182.63, 182.63],
            "previous_close": [180.78, 180.78],
            "currency": ["USD", "EUR"],
            "provider": [P, P],
            "fetched_at": [NOW, NOW],
        },
        schema=QUOTES_SCHEMA,
    )
    assert_frame_equal(got, expected)
    hit = market_server.requests[0]
    assert hit.query == {"symbol": "AAPL"} and hit.headers["X-Finnhub-Token"] == KEY


def test_unknown_symbol_only_is_no_data(live_settings, market_server):
    market_server.add("/quote", Reply(body=payload(P, "quote_unknown")))
    with pytest.raises(NoData):
        provider(live_settings).quotes(["NOPE"])


def test_403_is_premium_and_429_rate_limited(live_settings, market_server):
    market_server.add("/quote", Reply(403, payload(P, "forbidden")), symbol="X")
    market_server.add("/quote", Reply(429, {"error": "API limit reached"}), symbol="Y")
    p = provider(live_settings, retry=RetryPolicy(attempts=1))
    with pytest.raises(PremiumRequired, match="access to this resource"):
        p.quotes(["X"])
    with pytest.raises(RateLimited):
        p.quotes(["Y"])


def test_missing_key(tmp_path, market_server):
    settings = make_settings(tmp_path, market_server.url, FINNHUB_API_KEY="")
    assert not settings.finnhub_api_key.get_secret_value()
    with pytest.raises(MissingKey, match="FINNHUB_API_KEY"):
        provider(settings).quotes(["AAPL"])
    assert market_server.hits() == 0
