"""Ingest throughput as ratios measured in one run (absolute timings vary by machine).

(a) Backfilling 500 symbols × 20 years of daily bars from Tiingo-shaped payloads (the raw
    JSON response bodies, bytes) through the real path — the provider's body decoder and
    ``TiingoProvider.bars`` (HTTP stubbed below the decoder: no sockets, no cache), the
    provider chain, ``run_prices`` (conform, chunked upserts into the master) and the
    publish — takes at most 3× inserting the same rows into DuckDB from one Arrow table.
    The part after decoding is asserted on its own as well.
(b) Republishing ``live.duckdb`` takes at most 1/10 of republishing ``history.duckdb``
    holding that history.

Candidate and baseline run interleaved (A B A B), best of each (``tests/bench/interleave.py``);
the ``figures`` fixture carries the numbers (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest

from ingest.chain import ProviderChain
from ingest.jobs import run_prices
from ingest.providers import QUOTES_SCHEMA
from ingest.providers.tiingo import TiingoProvider, decode
from ingest.store import HISTORY_DDL, LiveStore, MarketStore
from nexus.settings import Settings, load_settings
from tests.bench.interleave import interleaved

SYMBOLS = 500
YEARS = 20
START = date(2005, 1, 3)
END = START + timedelta(days=365 * YEARS - 1)
PAYLOADS = 8  # distinct price paths, shared round-robin by the symbols
MAX_BACKFILL_RATIO = 3.0
MAX_LIVE_RATIO = 0.1

pytestmark = pytest.mark.bench


def _payload(rng: np.random.Generator, days: list[str]) -> bytes:
    """Tiingo ``/tiingo/daily/<ticker>/prices?columns=…`` response body (the provider asks
    for :data:`ingest.providers.tiingo.COLUMNS`): one object per trading day."""
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, len(days)))), 2)
    volume = rng.integers(100_000, 5_000_000, len(days))
    return json.dumps([
        {
            "date": d, "close": float(c), "high": round(float(c) * 1.01, 2),
            "low": round(float(c) * 0.99, 2), "open": float(c), "volume": int(v),
            "adjClose": float(c), "divCash": 0.0, "splitFactor": 1.0,
        }
        for d, c, v in zip(days, close, volume, strict=True)
    ]).encode()  # fmt: skip


class FakeTiingo(TiingoProvider):
    """The real Tiingo provider; the network is replaced by prepared response bodies, which
    go through the same decoder the HTTP session applies (``ingest.providers.tiingo.decode``)."""

    def __init__(self, settings: Settings, payloads: list[bytes]) -> None:
        super().__init__(settings, api_key="bench-key")
        self.payloads = payloads

    def get_json(self, path: str, params: Any = None) -> Any:
        ticker = path.split("/")[3].upper()
        if not path.endswith("/prices"):  # ticker metadata
            return {"ticker": ticker, "name": f"{ticker} Corp", "exchangeCode": "NYSE"}
        return decode(self.payloads[int(ticker[1:]) % len(self.payloads)])


@pytest.fixture(scope="module")
def payloads() -> list[bytes]:
    days = pl.date_range(START, END, eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    stamps = [f"{d.isoformat()}T00:00:00.000Z" for d in days.to_list()]
    rng = np.random.default_rng(7)
    return [_payload(rng, stamps) for _ in range(PAYLOADS)]


@pytest.fixture(scope="module")
def shared() -> dict[str, Any]:
    """Hands the backfilled data dir of (a) to (b)."""
    return {}


def _settings(data_dir: Path) -> Settings:
    return load_settings(
        {"NEXUS_DATA_DIR": str(data_dir), "NEXUS_MARKET_PROVIDER": "live"},
        secrets_path=data_dir / "none.toml",
    )


def _best(fn: Callable[[], Any], rounds: int, setup: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(rounds):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


class Parsed:
    """Hands out frames ``TiingoProvider.bars`` parsed beforehand (to time the rest)."""

    name = "tiingo"
    history_start = START

    def __init__(self, frames: dict[str, pl.DataFrame]) -> None:
        self.frames = frames

    def bars(self, symbol: str, start: date, end: date) -> pl.DataFrame:
        return self.frames[symbol]


def test_backfill_500_symbols_20_years_vs_plain_arrow_insert(
    figures: dict[str, Any],
    payloads: list[bytes],
    shared: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Times, best of interleaved rounds: (1) decoding and parsing every body
    (``TiingoProvider.bars``); (2) the store path: those parsed frames through the chain,
    ``run_prices`` and the publish; (3) the whole path: decoding inside ``run_prices``; (4)
    one Arrow insert of the rows. Asserts (3)/(4) ≤ 3 and (2)/(4) ≤ 3."""
    symbols = [f"S{i:04d}" for i in range(SYMBOLS)]
    settings0 = _settings(tmp_path_factory.mktemp("parse"))
    tiingo = FakeTiingo(settings0, payloads)
    frames: dict[str, pl.DataFrame] = {}

    def parse_all() -> None:
        for s in symbols:
            frames[s] = tiingo.bars(s, START, END)

    parse_seconds = _best(parse_all, rounds=1)
    rows = sum(f.height for f in frames.values())
    arrow_bars = pl.concat(frames.values()).to_arrow()
    assert rows == SYMBOLS * len(json.loads(payloads[0]))

    target = tmp_path_factory.mktemp("arrow") / "plain.duckdb"

    def plain_insert() -> None:
        con = duckdb.connect(str(target))
        con.execute(f"CREATE TABLE bars ({HISTORY_DDL['bars']})")
        con.register("arrow_bars", arrow_bars)
        con.execute("INSERT INTO bars SELECT * FROM arrow_bars")
        con.close()

    dirs: list[Path] = []

    def fresh_dir() -> None:
        dirs.append(tmp_path_factory.mktemp("backfill"))
        target.unlink(missing_ok=True)

    def backfill(provider_of: Callable[[Settings], Any]) -> None:
        settings = _settings(dirs[-1])
        provider = provider_of(settings)
        result = run_prices(
            settings, symbols=symbols, start=START, end=END, progress=False,
            chain=ProviderChain("prices", [provider]), fx_chain=ProviderChain("fx", [provider]),
        )  # fmt: skip
        assert result.status == "ok" and not result.failures, result.error
        assert result.bars == rows

    store = interleaved(
        lambda: backfill(lambda _s: Parsed(frames)), plain_insert, pairs=2,
        setup_candidate=fresh_dir, setup_baseline=fresh_dir,
    )  # fmt: skip
    full = interleaved(
        lambda: backfill(lambda s: FakeTiingo(s, payloads)), plain_insert, pairs=2,
        setup_candidate=fresh_dir, setup_baseline=lambda: target.unlink(missing_ok=True),
    )  # fmt: skip
    shared["data_dir"] = dirs[-1]  # the last full backfill
    arrow = min(store.best_baseline, full.best_baseline)
    figures.update(
        rows=rows,
        arrow_insert_seconds=round(arrow, 3),
        tiingo_parse_seconds=round(parse_seconds, 3),
        store_path_seconds=round(store.best_candidate, 3),
        full_path_seconds=round(full.best_candidate, 3),
        store_ratio=round(store.ratio, 2),
        full_ratio=round(full.ratio, 2),
        parse_ratio=round(parse_seconds / arrow, 2),
        limit=MAX_BACKFILL_RATIO,
    )
    assert store.ratio <= MAX_BACKFILL_RATIO, figures
    assert full.ratio <= MAX_BACKFILL_RATIO, figures


def test_live_republish_vs_history_republish(
    figures: dict[str, Any], shared: dict[str, Any], payloads: list[bytes]
) -> None:
    if "data_dir" not in shared:
        pytest.fail("needs the backfilled history of the backfill benchmark (run it first)")
    settings = _settings(shared["data_dir"])
    rng = random.Random(1)
    quotes = pl.DataFrame(
        {
            "symbol": [f"S{i:04d}" for i in range(SYMBOLS)],
            "ts": [datetime(2026, 1, 5, 15, 30)] * SYMBOLS,
            "price": [rng.uniform(10, 500) for _ in range(SYMBOLS)],
            "previous_close": [100.0] * SYMBOLS,
            "currency": ["USD"] * SYMBOLS,
            "provider": ["bench"] * SYMBOLS,
            "fetched_at": [datetime(2026, 1, 5, 15, 30, 1)] * SYMBOLS,
        },
        schema=QUOTES_SCHEMA,
    )
    with MarketStore.from_settings(settings) as store, LiveStore.from_settings(settings) as live:
        bars = store.count("bars")
        live.upsert_quotes(quotes)
        live.publish_live()  # warm-up
        timing = interleaved(live.publish_live, store.publish, pairs=3, candidate_repeat=3)
    figures.update(
        history_bars=bars, history_publish_seconds=round(timing.best_baseline, 4),
        live_publish_seconds=round(timing.best_candidate, 4), ratio=round(timing.ratio, 3),
        limit=MAX_LIVE_RATIO,
        history_mb=round(settings.history_path.stat().st_size / 1e6, 1),
        live_mb=round(settings.live_path.stat().st_size / 1e6, 2),
    )  # fmt: skip
    assert timing.ratio <= MAX_LIVE_RATIO, figures
