"""NewsAPI provider against the fake server."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest.http import KeyRejected
from ingest.providers import (
    NEWS_SCHEMA,
    MissingKey,
    NoData,
    PremiumRequired,
    QuotaExhausted,
    Unavailable,
)
from ingest.providers._base import news_id
from ingest.providers.newsapi import NewsApiProvider
from tests.fakes.market_server import Reply, payload
from tests.ingest.providers.conftest import KEY, NOW, fast, make_settings

P = "newsapi"


def provider(settings, **over) -> NewsApiProvider:
    return NewsApiProvider(settings, now=lambda: NOW, **fast(**over))


def test_everything_as_plain_text(live_settings, market_server):
    market_server.add("/v2/everything", Reply(body=payload(P, "everything")))
    got = provider(live_settings).news(["AAPL", "MSFT"], date(2024, 4, 28))
    url1, url2 = "https://www.reuters.com/tech/apple-rises", "https://wire.example.com/msft-cloud"
    expected = pl.DataFrame(
        {
            "id": [news_id(url1), news_id(url2)],
            "published_at": [datetime(2024, 5, 1, 12, 34, 56), datetime(2024, 4, 30, 8)],
            "symbol": ["AAPL", "MSFT"],
            "title": ["Apple & suppliers: AAPL rises", "Microsoft MSFT cloud growth"],
            "source": ["Reuters", "Example Wire"],
            "url": [url1, url2],
            "summary": ["Apple shares rose on strong demand.", "Cloud revenue grew."],
            "provider": [P, P],
            "fetched_at": [NOW, NOW],
        },
        schema=NEWS_SCHEMA,
    )
    assert_frame_equal(got, expected)
    (hit,) = market_server.requests
    assert hit.query == {
        "q": "AAPL OR MSFT",
        "sortBy": "publishedAt",
        "pageSize": "100",
        "from": "2024-04-28",
        "language": "en",
    }
    assert hit.headers["X-Api-Key"] == KEY


def test_top_headlines_for_market_wide_news(live_settings, market_server):
    market_server.add("/v2/top-headlines", Reply(body=payload(P, "top_headlines")))
    got = provider(live_settings).news([], date(2024, 5, 1))
    assert got["symbol"].to_list() == [None]
    assert got["summary"].to_list() == ["US stocks closed higher on Friday."]
    assert market_server.requests[0].query == {
        "pageSize": "100",
        "country": "us",
        "category": "business",
    }


def test_empty_results_are_no_data(live_settings, market_server):
    market_server.add("/v2/everything", Reply(body=payload(P, "empty")))
    with pytest.raises(NoData):
        provider(live_settings).news(["AAPL"], date(2024, 5, 1))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, "error_rate_limited", QuotaExhausted),
        (401, "error_key_invalid", KeyRejected),
        (426, "error_too_far_past", PremiumRequired),
        (500, "error_unexpected", Unavailable),
    ],
)
def test_error_bodies(live_settings, market_server, status, body, error):
    market_server.add("/v2/everything", Reply(status, payload(P, body)))
    with pytest.raises(error) as info:
        provider(live_settings).news(["AAPL"], date(2022, 1, 1))
    assert KEY not in str(info.value)
    expected_hits = 3 if error is Unavailable else 1  # only the outage is retried
    assert market_server.hits() == expected_hits


def test_status_error_with_http_200_is_not_cached(live_settings, market_server):
    market_server.add("/v2/everything", Reply(200, payload(P, "error_rate_limited")))
    p = provider(live_settings)
    for _ in range(2):
        with pytest.raises(QuotaExhausted):
            p.news(["AAPL"], date(2024, 5, 1))
    assert market_server.hits() == 2


def test_missing_key(tmp_path, market_server):
    settings = make_settings(tmp_path, market_server.url, NEWSAPI_KEY="")
    assert not settings.newsapi_key.get_secret_value()
    with pytest.raises(MissingKey, match="NEWSAPI_KEY"):
        provider(settings).news(["AAPL"], date(2024, 5, 1))
    assert market_server.hits() == 0
