"""FRED provider against the fake server."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest.http import KeyRejected
from ingest.providers import MACRO_SCHEMA, MissingKey, NoData
from ingest.providers.fred import FredProvider
from tests.fakes.market_server import Reply, payload
from tests.ingest.providers.conftest import KEY, NOW, cache_bytes, fast, make_settings

P = "fred"
PATH = "/fred/series/observations"


def provider(settings, **over) -> FredProvider:
    return FredProvider(settings, now=lambda: NOW, **fast(**over))


def test_observations_with_missing_value_as_null(live_settings, market_server):
    market_server.add(PATH, Reply(body=payload(P, "observations")), series_id="UNRATE")
    got = provider(live_settings).observations("UNRATE", date(2025, 9, 1), date(2025, 11, 30))
    expected = pl.DataFrame(
        {
            "series_id": ["UNRATE"] * 3,
            "date": [date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1)],
            "value": [4.3, None, 4.5],
            "provider": [P] * 3,
            "fetched_at": [NOW] * 3,
        },
        schema=MACRO_SCHEMA,
    )
    assert_frame_equal(got, expected)
    (hit,) = market_server.requests
    assert hit.query == {
        "series_id": "UNRATE",
        "file_type": "json",
        "observation_start": "2025-09-01",
        "observation_end": "2025-11-30",
        "sort_order": "asc",
        "api_key": KEY,
    }
    provider(live_settings).close()
    assert KEY.encode() not in cache_bytes(live_settings)


def test_empty_and_unknown_series_are_no_data(live_settings, market_server):
    market_server.add(PATH, Reply(body=payload(P, "observations_empty")), series_id="DGS10")
    market_server.add(PATH, Reply(400, payload(P, "error_series")), series_id="NOPE")
    p = provider(live_settings)
    with pytest.raises(NoData):
        p.observations("DGS10", date(2030, 1, 1), date(2030, 12, 31))
    with pytest.raises(NoData, match="does not exist"):
        p.observations("NOPE", date(2020, 1, 1), date(2020, 12, 31))


def test_bad_key_is_rejected_without_echoing_it(live_settings, market_server):
    market_server.add(PATH, Reply(400, payload(P, "error_api_key")))
    with pytest.raises(KeyRejected) as info:
        provider(live_settings).observations("UNRATE", date(2020, 1, 1), date(2020, 2, 1))
    assert KEY not in str(info.value)


def test_missing_key(tmp_path, market_server):
    settings = make_settings(tmp_path, market_server.url, FRED_API_KEY="")
    assert not settings.fred_api_key.get_secret_value()
    with pytest.raises(MissingKey, match="FRED_API_KEY"):
        provider(settings).observations("UNRATE", date(2020, 1, 1), date(2020, 2, 1))
    assert market_server.hits() == 0
