"""Tiingo provider against the fake server."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest.providers import BARS_SCHEMA, SYMBOLS_SCHEMA, MissingKey, NoData, Unavailable
from ingest.providers.tiingo import TiingoProvider
from tests.fakes.market_server import Reply, payload
from tests.ingest.providers.conftest import KEY, NOW, cache_bytes, fast, make_settings

P = "tiingo"


def provider(settings, **over) -> TiingoProvider:
    return TiingoProvider(settings, now=lambda: NOW, **fast(**over))


def test_bars_with_adjustments_dividends_and_splits(live_settings, market_server):
    market_server.add("/tiingo/daily/aapl/prices", Reply(body=payload(P, "prices")))
    got = provider(live_settings).bars("AAPL", date(2024, 12, 30), date(2024, 12, 31))
    expected = pl.DataFrame(
        {
            "symbol": ["AAPL", "AAPL"],
            "date": [date(2024, 12, 30), date(2024, 12, 31)],
            "open": [252.23, 252.44],
            "high": [253.5, 253.28],
            "low": [250.75, 249.43],
            "close": [252.2, 250.42],
            "adj_close": [251.923, 250.145],
            "volume": [35557542, 39480718],
            "dividend": [0.25, 0.0],
            "split": [1.0, 1.0],
            "provider": [P, P],
            "fetched_at": [NOW, NOW],
            "filled": [False, False],
        },
        schema=BARS_SCHEMA,
    )
    assert_frame_equal(got, expected)
    (hit,) = market_server.requests
    assert hit.query == {"startDate": "2024-12-30", "endDate": "2024-12-31"}  # no key in URL
    assert hit.headers["Authorization"] == f"Token {KEY}"
    provider(live_settings).close()
    assert KEY.encode() not in cache_bytes(live_settings)


def test_symbol_metadata(live_settings, market_server):
    market_server.add("/tiingo/daily/aapl", Reply(body=payload(P, "meta")))
    market_server.add("/tiingo/daily/zzzz", Reply(404, payload(P, "not_found")))
    got = provider(live_settings).symbols(["AAPL", "ZZZZ"])
    expected = pl.DataFrame(
        {
            "symbol": ["AAPL"],
            "name": ["Apple Inc"],
            "currency": ["USD"],
            "asset_class": [None],
            "sector": [None],
            "region": [None],
            "exchange": ["NASDAQ"],
            "is_benchmark": [False],
            "provider": [P],
            "fetched_at": [NOW],
        },
        schema=SYMBOLS_SCHEMA,
    )
    assert_frame_equal(got, expected)


def test_unknown_ticker_and_empty_range_are_no_data(live_settings, market_server):
    market_server.add("/tiingo/daily/zzzz/prices", Reply(404, payload(P, "not_found")))
    market_server.add("/tiingo/daily/aapl/prices", Reply(body=[]))
    p = provider(live_settings)
    with pytest.raises(NoData, match="not found"):
        p.bars("ZZZZ", date(2024, 1, 1), date(2024, 1, 31))
    with pytest.raises(NoData):
        p.bars("AAPL", date(2024, 1, 6), date(2024, 1, 7))


def test_server_errors_are_retried(live_settings, market_server):
    market_server.add("/tiingo/daily/aapl/prices", [Reply(500), Reply(body=payload(P, "prices"))])
    got = provider(live_settings).bars("AAPL", date(2024, 12, 1), date(2024, 12, 31))
    assert got.height == 2 and market_server.hits() == 2
    market_server.add("/tiingo/daily/msft/prices", Reply(503))
    with pytest.raises(Unavailable):
        provider(live_settings).bars("MSFT", date(2024, 12, 1), date(2024, 12, 31))


def test_missing_key(tmp_path, market_server):
    settings = make_settings(tmp_path, market_server.url, TIINGO_API_KEY="")
    assert not settings.tiingo_api_key.get_secret_value()
    with pytest.raises(MissingKey, match="TIINGO_API_KEY"):
        provider(settings).bars("AAPL", date(2024, 1, 1), date(2024, 1, 2))
    assert market_server.hits() == 0
