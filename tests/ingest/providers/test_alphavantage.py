"""Alpha Vantage provider against the fake server: frames, HTTP-200 error bodies, no caching."""

from __future__ import annotations

import time
from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest.http import KeyRejected, RetryPolicy
from ingest.providers import (
    BARS_SCHEMA,
    FX_SCHEMA,
    NEWS_SCHEMA,
    QUOTES_SCHEMA,
    MissingKey,
    NoData,
    PremiumRequired,
    ProviderError,
    QuotaExhausted,
    RateLimited,
)
from ingest.providers._base import news_id
from ingest.providers.alphavantage import SEARCH_SCHEMA, AlphaVantageProvider
from tests.fakes.market_server import MarketServer, Reply, payload
from tests.ingest.providers.conftest import KEY, NOW, cache_bytes, fast, make_settings

P = "alphavantage"


def provider(settings, **over) -> AlphaVantageProvider:
    return AlphaVantageProvider(settings, now=lambda: NOW, **fast(**over))


def script(server: MarketServer, function: str, name: str, **query: str) -> None:
    server.add("/query", Reply(body=payload(P, name)), function=function, **query)


def test_bars_from_compact_daily_series(live_settings, market_server):
    script(market_server, "TIME_SERIES_DAILY", "time_series_daily", symbol="IBM")
    got = provider(live_settings).bars("IBM", date(2022, 4, 20), date(2022, 4, 30))
    expected = pl.DataFrame(
        {
            "symbol": ["IBM", "IBM"],
            "date": [date(2022, 4, 20), date(2022, 4, 21)],
            "open": [36.1, 37.0],
            "high": [37.2, 37.79],
            "low": [35.9, 33.725],
            "close": [36.95, 34.67],
            "adj_close": [36.95, 34.67],
            "volume": [9120544, 18502433],
            "dividend": [0.0, 0.0],
            "split": [1.0, 1.0],
            "provider": [P, P],
            "fetched_at": [NOW, NOW],
            "filled": [False, False],
        },
        schema=BARS_SCHEMA,
    )
    assert_frame_equal(got, expected)
    (hit,) = market_server.requests
    assert hit.query == {
        "function": "TIME_SERIES_DAILY",
        "symbol": "IBM",
        "outputsize": "compact",  # full is premium
        "apikey": KEY,
    }


def test_bars_outside_the_compact_window_are_no_data(live_settings, market_server):
    script(market_server, "TIME_SERIES_DAILY", "time_series_daily")
    with pytest.raises(NoData):
        provider(live_settings).bars("IBM", date(2020, 1, 1), date(2020, 12, 31))


def test_quotes(live_settings, market_server):
    script(market_server, "GLOBAL_QUOTE", "global_quote", symbol="MSFT")
    script(market_server, "GLOBAL_QUOTE", "global_quote_empty", symbol="NOPE")
    got = provider(live_settings, currencies={"MSFT": "usd"}).quotes(["MSFT", "NOPE"])
    expected = pl.DataFrame(
        {
            "symbol": ["MSFT"],
            "ts": [datetime(2018, 10, 5)],
            "price": [112.13],
            "previous_close": [112.79],
            "currency": ["USD"],
            "provider": [P],
            "fetched_at": [NOW],
        },
        schema=QUOTES_SCHEMA,
    )
    assert_frame_equal(got, expected)
    with pytest.raises(NoData):
        provider(live_settings).quotes(["NOPE"])


def test_fx_rates_usd_base(live_settings, market_server):
    script(market_server, "FX_DAILY", "fx_daily", from_symbol="USD", to_symbol="EUR")
    script(market_server, "FX_DAILY", "fx_daily_eur_usd", from_symbol="USD", to_symbol="CHF")
    got = provider(live_settings).fx_rates(["USD", "EUR"], date(2026, 1, 1), date(2026, 1, 31))
    expected = pl.DataFrame(
        {
            "date": [date(2026, 1, 22), date(2026, 1, 23)],
            "base": ["USD", "USD"],
            "quote": ["EUR", "EUR"],
            "rate": [0.8509, 0.8456],
            "provider": [P, P],
            "fetched_at": [NOW, NOW],
            "filled": [False, False],
        },
        schema=FX_SCHEMA,
    )
    assert_frame_equal(got, expected)
    assert market_server.hits("/query", function="FX_DAILY") == 1  # USD itself: no call
    # a series quoted the other way round (From=EUR, To=USD) is inverted
    inverted = provider(live_settings).fx_rates(["CHF"], date(2026, 1, 1), date(2026, 1, 31))
    assert inverted["rate"].to_list() == pytest.approx([1 / 1.1826])


def test_news_sentiment(live_settings, market_server):
    script(market_server, "NEWS_SENTIMENT", "news_sentiment")
    got = provider(live_settings).news(["aapl", "MSFT"], date(2024, 1, 1))
    url1 = "https://www.fool.com/investing/2024/01/15/tech-rally/"
    url2 = "https://www.example.com/markets-wrap"
    expected = pl.DataFrame(
        {
            "id": [news_id(url1), news_id(url2)],
            "published_at": [datetime(2024, 1, 15, 14, 30), datetime(2024, 1, 14, 9, 5)],
            "symbol": ["MSFT", None],  # most relevant requested ticker
            "title": ["Apple and Microsoft lead tech rally", "Markets wrap"],
            "source": ["Motley Fool", "Example News"],
            "url": [url1, url2],
            "summary": ["Shares of Apple and Microsoft rose.", "Stocks were mixed."],
            "provider": [P, P],
            "fetched_at": [NOW, NOW],
        },
        schema=NEWS_SCHEMA,
    )
    assert_frame_equal(got, expected)
    (hit,) = market_server.requests
    assert hit.query["tickers"] == "AAPL,MSFT"
    assert hit.query["time_from"] == "20240101T0000"
    assert hit.query["sort"] == "LATEST"


def test_symbol_search(live_settings, market_server):
    script(market_server, "SYMBOL_SEARCH", "symbol_search", keywords="BA")
    script(market_server, "SYMBOL_SEARCH", "symbol_search_empty", keywords="QQQQQ")
    got = provider(live_settings).search("BA")
    expected = pl.DataFrame(
        {
            "symbol": ["BA", "BA.LON"],
            "name": ["The Boeing Company", "BAE Systems plc"],
            "currency": ["USD", "GBX"],
            "region": ["United States", "United Kingdom"],
            "type": ["Equity", "Equity"],
            "match_score": [1.0, 0.6667],
        },
        schema=SEARCH_SCHEMA,
    )
    assert_frame_equal(got, expected)
    with pytest.raises(NoData):
        provider(live_settings).search("QQQQQ")


def test_missing_key_is_raised_before_any_request(tmp_path, market_server):
    settings = make_settings(tmp_path, market_server.url, ALPHAVANTAGE_API_KEY="")
    assert not settings.alphavantage_api_key.get_secret_value()
    p = provider(settings)
    for call in (
        lambda: p.bars("IBM", date(2022, 1, 1), date(2022, 12, 31)),
        lambda: p.quotes(["IBM"]),
        lambda: p.fx_rates(["EUR"], date(2022, 1, 1), date(2022, 12, 31)),
        lambda: p.news([], date(2022, 1, 1)),
        lambda: p.search("IBM"),
    ):
        with pytest.raises(MissingKey, match="ALPHAVANTAGE_API_KEY"):
            call()
    assert market_server.hits() == 0
    assert not list(settings.data_dir.glob("http_cache*"))  # no cache opened either


@pytest.mark.parametrize(
    ("body", "error", "retry_after"),
    [
        ("throttle_burst", RateLimited, 1.5),  # also says "25 requests per day": order matters
        ("legacy_note", RateLimited, 60.0),
        ("daily_cap", QuotaExhausted, None),
        ("daily_cap_variant", QuotaExhausted, None),
        ("premium_endpoint", PremiumRequired, None),
        ("premium_parameter", PremiumRequired, None),
        ("demo_key", KeyRejected, None),
        ("error_message", NoData, None),
    ],
)
def test_http_200_error_bodies_are_classified_and_never_cached(
    live_settings, market_server, body, error, retry_after
):
    script(market_server, "GLOBAL_QUOTE", body)
    p = provider(live_settings)
    for _ in range(2):
        with pytest.raises(error) as info:
            p.quotes(["IBM"])
        if retry_after is not None:
            assert info.value.retry_after == retry_after
        assert KEY not in str(info.value)
    assert market_server.hits("/query") == 2  # the second call reached the server again
    # once the provider answers properly, that answer is cached
    script(market_server, "GLOBAL_QUOTE", "global_quote")
    p.quotes(["IBM"])
    p.quotes(["IBM"])
    assert market_server.hits("/query") == 3
    p.close()
    assert b"Thank you for using" not in cache_bytes(live_settings)
    assert b"Invalid API call" not in cache_bytes(live_settings)


def test_unknown_body_is_a_provider_error(live_settings, market_server):
    market_server.add("/query", Reply(body={"Something": "else"}))
    with pytest.raises(ProviderError, match="unexpected response"):
        provider(live_settings).quotes(["IBM"])


def test_burst_throttle_is_retried_after_its_pause(live_settings, market_server):
    market_server.add(
        "/query",
        [Reply(body=payload(P, "throttle_burst")), Reply(body=payload(P, "global_quote"))],
    )
    retry = RetryPolicy(attempts=2, max_retry_after=2.0, jitter=False)
    t0 = time.monotonic()
    got = provider(live_settings, retry=retry).quotes(["MSFT"])
    assert time.monotonic() - t0 >= 1.5
    assert got["price"].to_list() == [112.13]
    assert market_server.hits("/query") == 2


def test_free_key_limits_are_the_default(live_settings):
    p = AlphaVantageProvider(live_settings)
    options = p.session_options()
    assert (options["per_second"], options["per_minute"], options["per_day"]) == (1, 5, 25)
    assert "apikey" in options["auth_params"]
    assert KEY not in repr(p)
