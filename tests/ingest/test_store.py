"""MarketStore + run_prices: idempotent upserts, gap-only fetch, failures, run log, publish."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.jobs import JobResult, missing_ranges, run_prices
from ingest.providers import BARS_SCHEMA
from ingest.providers.demo import DemoProvider
from ingest.store import HISTORY_DDL, IngestBusy, MarketStore, StoreError
from nexus.market import SnapshotReader, closes, last_runs, snapshot_info
from nexus.settings import Settings, load_settings

SEED = 20240101
SUBSET = ["ORCH", "AURW", "NXWORLD"]
Q1 = (date(2024, 1, 1), date(2024, 3, 29))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"NEXUS_DATA_DIR": str(tmp_path)}, secrets_path=tmp_path / "none.toml")


class RecordingProvider(DemoProvider):
    """The demo provider, remembering every range asked for and failing for chosen symbols."""

    def __init__(self, failing: Sequence[str] = ()) -> None:
        super().__init__(SEED)
        self.failing = set(failing)
        self.bar_calls: list[tuple[str, date, date]] = []
        self.fx_calls: list[tuple[str, date, date]] = []

    def bars(self, symbol: str, start: date, end: date | None = None) -> pl.DataFrame:
        assert end is not None
        self.bar_calls.append((symbol, start, end))
        if symbol in self.failing:
            raise ConnectionError(f"upstream timeout for {symbol}")
        return super().bars(symbol, start, end)

    def fx_rates(self, quotes: Sequence[str], start: date, end: date | None = None) -> pl.DataFrame:
        assert end is not None
        self.fx_calls.extend((q, start, end) for q in quotes)
        return super().fx_rates(quotes, start, end)


def _weekdays(start: date, end: date) -> int:
    days = pl.date_range(start, end, eager=True)
    return int((days.dt.weekday() <= 5).sum())


def _run_q1(settings: Settings, provider: RecordingProvider) -> JobResult:
    return run_prices(
        settings, symbols=SUBSET, start=Q1[0], end=Q1[1], progress=False, provider=provider
    )


def _reader(settings: Settings) -> SnapshotReader:
    return SnapshotReader(settings.history_path)


def test_missing_ranges() -> None:
    first, d = date(2010, 1, 4), date
    assert missing_ranges(None, None, d(2024, 1, 5), first) == [(first, d(2024, 1, 5))]
    span = (d(2020, 1, 1), d(2024, 1, 5))
    assert missing_ranges(None, span[0], span[1], first) == [span]
    stored = (d(2020, 1, 1), d(2023, 12, 29))
    assert missing_ranges(stored, None, d(2023, 12, 29), first) == []
    assert missing_ranges(stored, None, d(2024, 1, 5), first) == [(d(2023, 12, 30), d(2024, 1, 5))]
    assert missing_ranges(stored, d(2019, 1, 1), d(2023, 6, 30), first) == [
        (d(2019, 1, 1), d(2019, 12, 31))
    ]
    assert missing_ranges(stored, d(2021, 1, 1), d(2022, 1, 1), first) == []


def test_rerun_adds_nothing_twice(settings: Settings) -> None:
    first = run_prices(settings, symbols=SUBSET, start=Q1[0], end=Q1[1], progress=False)
    assert first.status == "ok" and not first.failures
    assert first.bars == 3 * _weekdays(*Q1)
    assert first.fx == 4 * _weekdays(*Q1)  # EUR, GBP, CHF, JPY
    assert first.symbols == 3 and first.seq == 1

    second = run_prices(settings, symbols=SUBSET, start=Q1[0], end=Q1[1], progress=False)
    assert (second.status, second.bars, second.fx, second.rows, second.seq) == ("ok", 0, 0, 0, 2)

    reader = _reader(settings)
    info = snapshot_info(reader)
    assert (info.seq, info.symbol_count, info.bar_count) == (2, 3, first.bars)
    assert (info.first_date, info.last_date) == (date(2024, 1, 1), date(2024, 3, 29))
    assert reader.fetchall("SELECT count(*) FROM fx_rates") == [(first.fx,)]
    dupes = reader.fetchall(
        "SELECT count(*) FROM (SELECT symbol, date FROM bars GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes == [(0,)]


def test_gap_only_fetches_just_the_missing_dates(settings: Settings) -> None:
    provider = RecordingProvider()
    _run_q1(settings, provider)
    provider.bar_calls.clear()
    provider.fx_calls.clear()

    gap = (date(2024, 3, 30), date(2024, 4, 12))
    later = run_prices(settings, symbols=SUBSET, end=gap[1], progress=False, provider=provider)
    assert sorted(provider.bar_calls) == [(s, *gap) for s in sorted(SUBSET)]
    assert {(s, e) for _, s, e in provider.fx_calls} == {gap}
    assert later.bars == 3 * 10

    provider.bar_calls.clear()
    back = run_prices(
        settings, symbols=["ORCH"], start=date(2023, 12, 1), end=date(2024, 4, 12),
        progress=False, provider=provider, job="backfill",
    )  # fmt: skip
    assert provider.bar_calls == [("ORCH", date(2023, 12, 1), date(2023, 12, 31))]
    assert back.bars == _weekdays(date(2023, 12, 1), date(2023, 12, 31))

    # the stitched history equals one straight fetch
    stored = closes(_reader(settings), ["ORCH"])
    direct = DemoProvider(SEED).bars("ORCH", date(2023, 12, 1), date(2024, 4, 12))
    assert stored["date"].to_list() == direct["date"].to_list()
    assert stored["close"].to_list() == direct["close"].to_list()


def test_failing_symbol_does_not_stop_the_others(settings: Settings) -> None:
    provider = RecordingProvider(failing=["AURW"])
    result = _run_q1(settings, provider)
    assert result.status == "ok" and result.partial
    assert list(result.failures) == ["AURW"]
    assert "upstream timeout for AURW" in result.failures["AURW"]
    assert result.bars == 2 * _weekdays(*Q1)

    reader = _reader(settings)
    stored = closes(reader, SUBSET)
    assert set(stored["symbol"]) == {"ORCH", "NXWORLD"}
    run = last_runs(reader, 1).row(0, named=True)
    assert run["status"] == "ok" and "AURW" in run["error"] and run["rows"] == result.rows

    # next run (provider healthy again) fills only what is missing: AURW
    provider.failing.clear()
    provider.bar_calls.clear()
    healed = _run_q1(settings, provider)
    assert [c[0] for c in provider.bar_calls] == ["AURW"]
    assert healed.bars == _weekdays(*Q1) and not healed.failures


def test_all_symbols_failing_marks_the_run_failed(settings: Settings) -> None:
    provider = RecordingProvider(failing=SUBSET)
    result = _run_q1(settings, provider)
    assert result.status == "failed" and set(result.failures) == set(SUBSET)
    assert last_runs(_reader(settings), 1)["status"].to_list() == ["failed"]

    unknown = run_prices(settings, symbols=["NOPE"], progress=False, provider=provider)
    assert unknown.status == "failed" and "unknown symbol" in unknown.failures["NOPE"]


def test_run_log(settings: Settings) -> None:
    with MarketStore.from_settings(settings) as store:
        ok = store.start_run("prices", "demo")
        bad = store.start_run("prices", "demo")
        running = store.start_run("news", "demo")
        store.finish_run(ok, 42, "ok")
        store.finish_run(bad, 0, "failed", "provider unreachable")
        with pytest.raises(StoreError, match="status"):
            store.finish_run(ok, 1, "done")
        store.publish()
    runs = {r["run_id"]: r for r in last_runs(_reader(settings), 10).iter_rows(named=True)}
    assert len(runs) == 3
    assert (runs[ok]["status"], runs[ok]["rows"], runs[ok]["error"]) == ("ok", 42, None)
    assert (runs[bad]["status"], runs[bad]["error"]) == ("failed", "provider unreachable")
    assert runs[running]["status"] == "running" and runs[running]["finished_at"] is None
    assert isinstance(runs[ok]["finished_at"], datetime)


def test_upsert_replaces_rows_and_rejects_unknown_tables(settings: Settings) -> None:
    bars = DemoProvider(SEED).bars("ORCH", *Q1)
    with MarketStore.from_settings(settings) as store:
        assert store.upsert("bars", bars) == bars.height
        assert store.upsert("bars", bars.with_columns(pl.col("close") * 2)) == bars.height
        assert store.count("bars") == bars.height
        (close,) = store.con.execute("SELECT close FROM bars ORDER BY date LIMIT 1").fetchone()
        assert close == bars["close"][0] * 2
        with pytest.raises(StoreError, match="cannot upsert"):
            store.upsert("snapshot_meta", pl.DataFrame({"seq": [1]}))
        # a failing batch leaves nothing behind (one transaction)
        with pytest.raises(duckdb.Error):
            store.write({"symbols": DemoProvider(SEED).symbols(), "bars": bars.drop("symbol")})
        assert store.count("symbols") == 0


def test_snapshot_has_every_contract_table(settings: Settings) -> None:
    with MarketStore.from_settings(settings) as store:
        store.publish()
    info = snapshot_info(_reader(settings))
    assert (info.seq, info.bar_count, info.first_date, info.providers) == (1, 0, None, frozenset())
    tables = dict(
        _reader(settings).fetchall(
            "SELECT table_name, list(column_name ORDER BY ordinal_position) "
            "FROM information_schema.columns GROUP BY table_name"
        )
    )
    assert set(tables) == set(HISTORY_DDL)
    assert tables["bars"] == list(BARS_SCHEMA)
    assert tables["news"][:3] == ["id", "published_at", "symbol"]
    assert tables["macro_observations"] == ["series_id", "date", "value", "provider", "fetched_at"]


def test_publish_protocol_files(settings: Settings) -> None:
    markets = settings.markets_dir
    with MarketStore.from_settings(settings) as store:
        (markets / "history.tmp.duckdb").write_bytes(b"left over by a crash")
        (markets / "history.tmp.duckdb.wal").write_bytes(b"junk")
        first = store.publish()
        inode = settings.history_path.stat().st_ino
        second = store.publish()
    assert (first.seq, second.seq) == (1, 2) and first.checksum == second.checksum
    assert settings.history_path.stat().st_ino != inode  # a new file, swapped in
    names = sorted(p.name for p in markets.iterdir())
    assert names == ["history.duckdb", "history.master.duckdb", "ingest.lock"]
    meta = _reader(settings).fetchall("SELECT seq, checksum FROM snapshot_meta")
    assert meta == [(2, second.checksum)]


def test_second_writer_is_refused(settings: Settings) -> None:
    with MarketStore.from_settings(settings):
        with pytest.raises(IngestBusy, match="another ingest job is running"):
            MarketStore.from_settings(settings).open()
        with pytest.raises(IngestBusy):
            run_prices(settings, symbols=["ORCH"], progress=False)
    with MarketStore.from_settings(settings) as store:  # released on close
        assert store.count("bars") == 0


def test_publish_live(settings: Settings) -> None:
    quotes = pl.DataFrame(
        {
            "symbol": ["ORCH", "KAZE"],
            "ts": [datetime(2026, 1, 5, 15, 30)] * 2,
            "price": [101.5, 3050.0],
            "currency": ["USD", "JPY"],
            "provider": ["demo"] * 2,
            "fetched_at": [datetime(2026, 1, 5, 15, 30, 2)] * 2,
        }
    )
    live = SnapshotReader(settings.live_path)
    with MarketStore.from_settings(settings) as store:
        store.publish_live()
        assert live.fetchall("SELECT count(*) FROM quotes") == [(0,)]
        result = store.publish_live(quotes)
    assert result.path == settings.live_path
    assert live.fetchall("SELECT symbol, price FROM quotes ORDER BY symbol") == [
        ("KAZE", 3050.0),
        ("ORCH", 101.5),
    ]
    assert not (settings.markets_dir / "live.tmp.duckdb").exists()
