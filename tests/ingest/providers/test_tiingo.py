"""Tiingo provider against the fake server."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest.providers import BARS_SCHEMA, SYMBOLS_SCHEMA, MissingKey, NoData, Unavailable
from ingest.providers.tiingo import COLUMNS, TiingoProvider
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
    assert hit.query == {  # only the fields we parse; no key in the URL
        "startDate": "2024-12-30",
        "endDate": "2024-12-31",
        "columns": "open,high,low,close,adjClose,volume,divCash,splitFactor",
    }
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


def test_truncated_price_array_is_malformed_and_never_cached(live_settings, market_server):
    """The columnar decoder (polars.read_json) must reject a cut-off body like json.loads
    would, and the bad body must not be served from the cache afterwards."""
    good = payload(P, "prices")
    cut = json.dumps(good).encode()[:-25]
    market_server.add("/tiingo/daily/aapl/prices", [Reply(body=cut), Reply(body=good)])
    p = provider(live_settings)
    with pytest.raises(Unavailable, match="malformed"):
        p.bars("AAPL", date(2024, 12, 30), date(2024, 12, 31))
    assert p.bars("AAPL", date(2024, 12, 30), date(2024, 12, 31)).height == 2
    assert market_server.hits() == 2


def test_body_with_only_the_requested_columns(live_settings, market_server):
    """What Tiingo sends for ``columns=``: fields we did not ask for are absent."""
    body = [
        {k: v for k, v in row.items() if k == "date" or k in COLUMNS.split(",")}
        for row in payload(P, "prices")
    ]
    assert "adjHigh" not in body[0]
    market_server.add("/tiingo/daily/aapl/prices", Reply(body=body))
    got = provider(live_settings).bars("AAPL", date(2024, 12, 30), date(2024, 12, 31))
    assert got["adj_close"].to_list() == [row["adjClose"] for row in body]
