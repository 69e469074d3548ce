"""The demo provider: universe, determinism (incl. range independence), bar sanity, FX."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from ingest.providers import (
    BARS_SCHEMA,
    FX_SCHEMA,
    SYMBOLS_SCHEMA,
    ProviderError,
    demo,
    get_provider,
)
from ingest.providers.demo import DEMO_FX, DEMO_UNIVERSE, EPOCH, DemoProvider, demo_symbols
from nexus.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
SEED = 20240101


def _data(frame: pl.DataFrame) -> pl.DataFrame:
    """Everything but the fetch timestamp."""
    return frame.drop("fetched_at")


def _fresh(seed: int = SEED) -> DemoProvider:
    demo._block.cache_clear()  # prove equality is recomputed, not served from the cache
    return DemoProvider(seed)


def test_universe_shape() -> None:
    frame = demo_symbols()
    assert frame.schema == pl.Schema(SYMBOLS_SCHEMA)
    assert frame.height == len(DEMO_UNIVERSE) >= 32
    assert frame["symbol"].is_unique().all()
    assert set(frame["currency"]) >= {"USD", "EUR", "GBP", "CHF", "JPY"}
    assert set(frame["asset_class"]) <= {"equity", "etf", "index"}
    assert frame.filter(pl.col("asset_class") == "equity").height >= 25
    assert frame["name"].str.ends_with("(demo)").all()
    assert (frame["provider"] == "demo").all()
    benchmarks = frame.filter(pl.col("is_benchmark"))
    assert "NXWORLD" in benchmarks["symbol"].to_list()
    assert benchmarks.filter(pl.col("symbol") == "NXWORLD")["currency"].item() == "USD"
    # one benchmark per region, in that region's currency
    assert set(benchmarks["region"]) == set(frame["region"])
    assert {c.currency for c in DEMO_FX} == set(frame["currency"]) - {"USD"}


def test_settings_choose_demo_provider(tmp_path: Path) -> None:
    settings = load_settings({"NEXUS_DATA_DIR": str(tmp_path), "NEXUS_DEMO_SEED": "7"})
    provider = get_provider(settings)
    assert isinstance(provider, DemoProvider)
    assert provider.seed == 7


def test_same_seed_same_numbers_other_seed_differs() -> None:
    end = date(2012, 6, 29)
    first = _data(_fresh().bars("ORCH", EPOCH, end))
    again = _data(_fresh().bars("ORCH", EPOCH, end))
    assert first.equals(again)
    other = _data(_fresh(SEED + 1).bars("ORCH", EPOCH, end))
    assert not first["close"].equals(other["close"])


def test_same_numbers_in_another_process() -> None:
    """Seeds come from a stable hash, not the per-process salted ``hash()``."""
    code = (
        "from datetime import date; from ingest.providers.demo import DemoProvider;"
        f"f = DemoProvider({SEED}).bars('KAZE', date(2015, 1, 1), date(2015, 2, 27));"
        "print(repr(f['close'].to_list()))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "random"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    here = DemoProvider(SEED).bars("KAZE", date(2015, 1, 1), date(2015, 2, 27))
    assert out.strip() == repr(here["close"].to_list())


@pytest.mark.parametrize("symbol", ["ORCH", "NXWORLD", "KAZE"])
def test_bars_do_not_depend_on_the_requested_range(symbol: str) -> None:
    full = _data(_fresh().bars(symbol, EPOCH, date(2026, 1, 30)))
    short = _data(_fresh().bars(symbol, EPOCH, date(2020, 6, 30)))  # ends mid-block
    late = _data(_fresh().bars(symbol, date(2018, 3, 3), date(2026, 1, 30)))
    window = _data(_fresh().bars(symbol, date(2019, 12, 30), date(2020, 1, 10)))
    assert short.equals(full.filter(pl.col("date") <= date(2020, 6, 30)))
    assert late.equals(full.filter(pl.col("date") >= date(2018, 3, 3)))
    in_window = pl.col("date").is_between(date(2019, 12, 30), date(2020, 1, 10))
    assert window.equals(full.filter(in_window))
    assert late["date"][0] == date(2018, 3, 5)  # 3 March 2018 was a Saturday


def test_fx_does_not_depend_on_the_requested_range() -> None:
    full = _data(_fresh().fx_rates(["EUR", "JPY"], EPOCH, date(2026, 1, 30)))
    short = _data(_fresh().fx_rates(["JPY", "EUR"], date(2016, 5, 2), date(2021, 3, 31)))
    expected = full.filter(pl.col("date").is_between(date(2016, 5, 2), date(2021, 3, 31)))
    assert short.sort("quote", "date").equals(expected.sort("quote", "date"))


def test_history_runs_from_epoch_to_today_on_weekdays() -> None:
    today = datetime.now(UTC).date()
    bars = DemoProvider(SEED).bars("NXWORLD")
    assert bars.schema == pl.Schema(BARS_SCHEMA)
    assert bars["date"][0] == EPOCH <= today - timedelta(days=3653)
    last_weekday = today - timedelta(days=max(0, today.weekday() - 4))
    assert bars["date"][-1] == last_weekday
    assert bars["date"].is_unique().all() and bars["date"].is_sorted()
    assert (bars["date"].dt.weekday() <= 5).all()  # polars: Monday=1 … Sunday=7
    # every weekday in between is present (no holidays in the demo calendar)
    weekdays = pl.date_range(EPOCH, today, eager=True).filter(
        pl.date_range(EPOCH, today, eager=True).dt.weekday() <= 5
    )
    assert bars.height == weekdays.len()


def test_ohlc_volume_and_adjustments_are_sane() -> None:
    provider = DemoProvider(SEED)
    bars = pl.concat([provider.bars(s.symbol, EPOCH, date(2026, 1, 30)) for s in DEMO_UNIVERSE])
    assert bars.filter(
        (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") <= 0)
    ).is_empty()
    assert (bars["adj_close"] == bars["close"]).all()
    assert (bars["dividend"] == 0.0).all() and (bars["split"] == 1.0).all()
    assert not bars["filled"].any() and (bars["provider"] == "demo").all()
    volume = bars.group_by("symbol").agg(pl.col("volume").min().alias("lo"))
    index_symbols = {s.symbol for s in DEMO_UNIVERSE if s.asset_class == "index"}
    assert volume.filter(pl.col("symbol").is_in(index_symbols))["lo"].max() == 0
    assert volume.filter(~pl.col("symbol").is_in(index_symbols))["lo"].min() > 0
    # daily moves look like prices, not noise: |log return| mostly below 10 %
    moves = bars.sort("symbol", "date").select(
        (pl.col("close").log().diff().over("symbol")).abs().alias("r")
    )
    assert moves["r"].drop_nulls().quantile(0.999) < 0.1


def test_fx_levels_are_realistic() -> None:
    fx = DemoProvider(SEED).fx_rates(["USD", "EUR", "GBP", "CHF", "JPY"], EPOCH, date(2026, 1, 30))
    assert fx.schema == pl.Schema(FX_SCHEMA)
    assert set(fx["quote"]) == {"EUR", "GBP", "CHF", "JPY"}  # USD per USD is implicit
    assert (fx["base"] == "USD").all()
    bounds = {"EUR": (0.55, 1.25), "GBP": (0.45, 1.05), "CHF": (0.6, 1.4), "JPY": (60, 220)}
    ranges = fx.group_by("quote").agg(lo=pl.col("rate").min(), hi=pl.col("rate").max())
    for quote, lo, hi in ranges.iter_rows():
        assert bounds[quote][0] < lo < hi < bounds[quote][1], quote


def test_unknown_symbol_or_currency_and_empty_ranges() -> None:
    provider = DemoProvider(SEED)
    with pytest.raises(ProviderError, match="unknown demo symbol"):
        provider.bars("NOPE", EPOCH, date(2011, 1, 1))
    with pytest.raises(ProviderError, match="XAU"):
        provider.fx_rates(["XAU"], EPOCH, date(2011, 1, 1))
    assert provider.bars("ORCH", date(2009, 1, 1), date(2009, 12, 31)).is_empty()
    assert provider.bars("ORCH", date(2024, 6, 1), date(2024, 6, 2)).is_empty()  # a weekend
    empty = provider.fx_rates(["EUR"], date(2024, 6, 1), date(2024, 5, 1))
    assert empty.is_empty() and empty.schema == pl.Schema(FX_SCHEMA)
