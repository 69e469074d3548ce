"""Three reader processes query through SnapshotReader for 30 s while the writer keeps
publishing both the history and the live file: no errors, only whole snapshots.

History publish k rewrites symbol ``SEQ`` as ``ROWS * k`` bars with ``volume == k`` and
one FX row per publish up to ``rate == k``, published with ``snapshot_meta.seq == k``.
Live publish j sets every one of ``QUOTES`` symbols to ``price == j``. A reader checks in
single queries that what it sees is whole: one meta row, the bar count, volumes, FX and seq
of one publish; all quotes of one live publish; and that seq never goes back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from ingest.providers import BARS_SCHEMA, FX_SCHEMA, QUOTES_SCHEMA
from ingest.store import LiveStore, MarketStore

REPO = Path(__file__).resolve().parents[2]
READERS = 3
SECONDS = 30.0
ROWS = 5
QUOTES = 40

pytestmark = pytest.mark.slow

READER = r"""
import json, sys, time
from pathlib import Path
from nexus.market.snapshot import SnapshotReader

history_path, live_path, seconds, rows, n_quotes = sys.argv[1:6]
seconds, rows, n_quotes = float(seconds), int(rows), int(n_quotes)
history, live = SnapshotReader(history_path), SnapshotReader(live_path)
HISTORY = '''
    SELECT (SELECT max(seq) FROM snapshot_meta), (SELECT count(*) FROM snapshot_meta),
           count(*), min(volume), max(volume),
           (SELECT max(rate) FROM fx_rates), (SELECT count(*) FROM fx_rates)
    FROM bars WHERE symbol = ?
'''
LIVE = '''
    SELECT (SELECT count(*) FROM snapshot_meta), count(*), min(price), max(price)
    FROM quotes
'''
stats = {"queries": 0, "errors": [], "torn": [], "seqs": 0, "live_versions": 0,
         "backwards": 0}
last_seq, last_price = 0, 0
print("ready", flush=True)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        if stats["queries"] % 2:
            got = history.fetchall(HISTORY, ["SEQ"])[0]
        else:
            got = tuple(history.query(HISTORY, ["SEQ"]).row(0))
        seq, meta, count, lo, hi, fx_max, fx_count = got
        if meta != 1 or count != rows * seq or lo != seq or hi != seq or fx_max != seq \
                or fx_count != seq:
            stats["torn"].append(["history", *got])
        if seq < last_seq:
            stats["backwards"] += 1
        stats["seqs"] += seq != last_seq
        last_seq = seq
        meta, count, lo, hi = live.fetchall(LIVE)[0]
        if meta != 1 or count != n_quotes or lo != hi:
            stats["torn"].append(["live", meta, count, lo, hi])
        if lo < last_price:
            stats["backwards"] += 1
        stats["live_versions"] += lo != last_price
        last_price = lo
        stats["queries"] += 2
    except Exception as exc:
        stats["errors"].append(f"{type(exc).__name__}: {exc}")
print(json.dumps(stats), flush=True)
"""


def _bars(k: int) -> pl.DataFrame:
    n = ROWS * k
    first = date(2000, 1, 1)
    return pl.DataFrame(
        {
            "symbol": ["SEQ"] * n,
            "date": [first + timedelta(days=i) for i in range(n)],
            "close": [1.0] * n,
            "volume": [k] * n,
            "provider": ["test"] * n,
            "fetched_at": [datetime(2026, 1, 1)] * n,
        },
        schema={
            c: BARS_SCHEMA[c]
            for c in ("symbol", "date", "close", "volume", "provider", "fetched_at")
        },
    )


def _fx(k: int) -> pl.DataFrame:
    row = {"date": date(2000, 1, 1) + timedelta(days=k), "base": "USD", "quote": "EUR",
           "rate": float(k), "provider": "test", "fetched_at": datetime(2026, 1, 1)}  # fmt: skip
    return pl.DataFrame([row], schema={c: FX_SCHEMA[c] for c in row})


def _quotes(j: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": [f"Q{i:03d}" for i in range(QUOTES)],
            "ts": [datetime(2026, 1, 1) + timedelta(seconds=j)] * QUOTES,
            "price": [float(j)] * QUOTES,
            "previous_close": [1.0] * QUOTES,
            "currency": ["USD"] * QUOTES,
            "provider": ["test"] * QUOTES,
            "fetched_at": [datetime(2026, 1, 1)] * QUOTES,
        },
        schema=QUOTES_SCHEMA,
    )


def test_three_reader_processes_see_only_whole_snapshots(tmp_path: Path) -> None:
    markets = tmp_path / "markets"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with MarketStore(markets) as store, LiveStore(markets) as live:
        store.write({"bars": _bars(1), "fx_rates": _fx(1)})
        assert store.publish().seq == 1
        live.upsert_quotes(_quotes(1))
        live.publish_live()
        readers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    READER,
                    str(markets / "history.duckdb"),
                    str(markets / "live.duckdb"),
                    str(SECONDS),
                    str(ROWS),
                    str(QUOTES),
                ],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(READERS)
        ]
        try:
            for reader in readers:
                assert reader.stdout is not None
                assert reader.stdout.readline().strip() == "ready"
            k = j = 1
            deadline = time.monotonic() + SECONDS + 0.5
            while time.monotonic() < deadline:
                j += 1
                live.upsert_quotes(_quotes(j))
                live.publish_live()
                if j % 3 == 0:  # history less often, as in production
                    k += 1
                    store.write({"bars": _bars(k), "fx_rates": _fx(k)})
                    assert store.publish().seq == k
                time.sleep(0.01)
            results = [reader.communicate(timeout=60) for reader in readers]
        finally:
            for reader in readers:
                if reader.poll() is None:
                    reader.kill()
    for reader, (out, err) in zip(readers, results, strict=True):
        assert reader.returncode == 0, err
        stats = json.loads(out.strip().splitlines()[-1])
        print({key: v for key, v in stats.items() if key not in ("errors", "torn")})
        assert stats["errors"] == []
        assert stats["torn"] == []
        assert stats["backwards"] == 0
        assert stats["seqs"] >= 20, f"a reader saw too few history snapshots: {stats}"
        assert stats["live_versions"] >= 50, f"a reader saw too few live files: {stats}"
        assert stats["queries"] >= 500
    print(f"history publishes: {k}, live publishes: {j}")
    assert k >= 30 and j >= 90  # the writer kept publishing throughout
