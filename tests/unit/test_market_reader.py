"""nexus.market: closes, cross FX rates, snapshot info, reopening after a publish, missing file."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from ingest.store import MarketStore
from nexus.market import (
    SnapshotMissing,
    SnapshotReader,
    closes,
    fx_to_base,
    last_runs,
    snapshot_info,
    symbols,
)

D1, D2, D3 = date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)
AT = datetime(2024, 1, 5, 22, 5)


def _symbols() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": ["AAA", "BBB", "IDX"],
            "name": ["Alpha (demo)", "Beta (demo)", "Index (demo)"],
            "currency": ["USD", "EUR", "USD"],
            "asset_class": ["equity", "equity", "index"],
            "sector": ["Technology", "Financials", "Broad Market"],
            "region": ["North America", "Eurozone", "Global"],
            "exchange": ["NASDAQ", "XETRA", "INDEX"],
            "is_benchmark": [False, False, True],
            "provider": ["demo"] * 3,
            "fetched_at": [AT] * 3,
        }
    )


def _bars(rows: list[tuple[str, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": [r[0] for r in rows],
            "date": [r[1] for r in rows],
            "close": [r[2] for r in rows],
            "adj_close": [r[2] * 0.5 for r in rows],
            "volume": [100] * len(rows),
            "provider": ["demo"] * len(rows),
            "fetched_at": [AT] * len(rows),
            "filled": [False] * len(rows),
        }
    )


def _fx(rows: list[tuple[date, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "base": ["USD"] * len(rows),
            "quote": [r[1] for r in rows],
            "rate": [r[2] for r in rows],
            "provider": ["demo"] * len(rows),
            "fetched_at": [AT] * len(rows),
            "filled": [False] * len(rows),
        }
    )


@pytest.fixture
def markets(tmp_path: Path) -> Path:
    """A published snapshot with known closes and USD rates (EUR 0.9/0.8, GBP 0.75, JPY 150)."""
    markets = tmp_path / "markets"
    with MarketStore(markets) as store:
        run = store.start_run("prices", "demo")
        store.write(
            {
                "symbols": _symbols(),
                "bars": _bars(
                    [("AAA", D1, 10.0), ("AAA", D2, 11.0), ("AAA", D3, 12.0), ("BBB", D2, 50.0)]
                ),
                "fx_rates": _fx(
                    [(D1, "EUR", 0.9), (D1, "GBP", 0.75), (D1, "JPY", 150.0), (D2, "EUR", 0.8)]
                ),
            }
        )
        store.finish_run(run, 8, "ok")
        store.publish()
    return markets


@pytest.fixture
def reader(markets: Path) -> SnapshotReader:
    return SnapshotReader(markets / "history.duckdb")


def test_symbols(reader: SnapshotReader) -> None:
    frame = symbols(reader)
    assert frame["symbol"].to_list() == ["AAA", "BBB", "IDX"]
    assert frame.filter(pl.col("is_benchmark"))["symbol"].to_list() == ["IDX"]


def test_closes(reader: SnapshotReader) -> None:
    frame = closes(reader, ["BBB", "AAA", "NOPE"])
    assert frame.schema == pl.Schema(
        {"symbol": pl.String, "date": pl.Date, "close": pl.Float64, "currency": pl.String}
    )
    assert frame.rows() == [
        ("AAA", D1, 10.0, "USD"),
        ("AAA", D2, 11.0, "USD"),
        ("AAA", D3, 12.0, "USD"),
        ("BBB", D2, 50.0, "EUR"),
    ]
    assert closes(reader, ["AAA"], start=D2)["close"].to_list() == [11.0, 12.0]
    assert closes(reader, ["AAA"], end=D2)["close"].to_list() == [10.0, 11.0]
    assert closes(reader, ["AAA"], D2, D2)["close"].to_list() == [11.0]
    assert closes(reader, ["AAA"], D2, D2, adjusted=True)["close"].to_list() == [5.5]
    empty = closes(reader, [])
    assert empty.is_empty() and empty.columns == ["symbol", "date", "close", "currency"]


def test_fx_to_base_cross_rates(reader: SnapshotReader) -> None:
    eur = fx_to_base(reader, "EUR", ["USD", "EUR", "GBP", "JPY", "CHF"])
    assert eur.schema == pl.Schema({"date": pl.Date, "currency": pl.String, "rate": pl.Float64})
    got = {(d, c): r for d, c, r in eur.rows()}
    assert got[(D1, "EUR")] == 1.0 and got[(D2, "EUR")] == 1.0
    assert got[(D1, "USD")] == pytest.approx(0.9)  # EUR per USD
    assert got[(D1, "GBP")] == pytest.approx(0.9 / 0.75)  # EUR per GBP
    assert got[(D1, "JPY")] == pytest.approx(0.9 / 150.0)
    assert got[(D2, "USD")] == pytest.approx(0.8)
    assert (D2, "GBP") not in got  # no GBP rate stored that day
    assert "CHF" not in eur["currency"].to_list()  # no rates at all
    assert eur["date"].is_sorted()

    usd = fx_to_base(reader, "USD", ["EUR", "USD"], start=D1, end=D1)
    assert usd.rows() == [(D1, "EUR", pytest.approx(1 / 0.9)), (D1, "USD", 1.0)]
    jpy = fx_to_base(reader, "JPY", ["USD", "GBP"], start=D1, end=D1)
    assert dict(zip(jpy["currency"], jpy["rate"], strict=True)) == {
        "GBP": pytest.approx(150.0 / 0.75),
        "USD": pytest.approx(150.0),
    }
    # value_in_base = value * rate: 100 GBP in EUR on D1
    assert 100 * got[(D1, "GBP")] == pytest.approx(120.0)
    assert fx_to_base(reader, "EUR", ["USD"], start=D3).is_empty()


def test_snapshot_info_and_last_runs(reader: SnapshotReader, markets: Path) -> None:
    info = snapshot_info(reader)
    assert info.path == markets / "history.duckdb"
    assert info.seq == 1 and isinstance(info.published_at, datetime)
    assert info.providers == frozenset({"demo"})
    assert (info.first_date, info.last_date) == (D1, D3)
    assert (info.symbol_count, info.bar_count) == (3, 4)
    runs = last_runs(reader, 5)
    assert runs.height == 1 and runs.row(0, named=True)["status"] == "ok"


def test_reader_reopens_after_a_publish(markets: Path, reader: SnapshotReader) -> None:
    other = SnapshotReader(markets / "history.duckdb")  # a second reader of the same path
    assert snapshot_info(reader).seq == 1 and snapshot_info(other).seq == 1
    before = reader.identity()
    with MarketStore(markets) as store:
        store.upsert("bars", _bars([("AAA", date(2024, 1, 5), 13.0)]))
        store.publish()
    assert reader.identity() != before
    assert snapshot_info(reader).seq == 2
    assert snapshot_info(other).seq == 2
    assert closes(reader, ["AAA"])["close"].to_list() == [10.0, 11.0, 12.0, 13.0]


def test_threads_share_a_reader_across_publishes(markets: Path, reader: SnapshotReader) -> None:
    errors: list[BaseException] = []
    seen: set[int] = set()
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            try:
                seen.add(snapshot_info(reader).seq)
                closes(reader, ["AAA", "BBB"])
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=query) for _ in range(3)]
    for t in threads:
        t.start()
    stale = []
    with MarketStore(markets) as store:
        for _ in range(20):
            seq = store.publish().seq
            # once publish() has returned, every new query sees that snapshot
            if snapshot_info(reader).seq != seq:
                stale.append(seq)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and stale == []
    assert snapshot_info(reader).seq == 21
    assert len(seen) >= 2


def test_snapshot_missing(tmp_path: Path) -> None:
    reader = SnapshotReader(tmp_path / "markets" / "history.duckdb")
    assert not reader.exists() and reader.identity() is None
    with pytest.raises(SnapshotMissing, match=r"run `python -m ingest run prices`") as caught:
        snapshot_info(reader)
    assert "No market data has been published yet" in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert not (tmp_path / "markets").exists()  # the reader never creates files
