"""A reader process querying through SnapshotReader while the writer publishes 50 times.

Each publish k rewrites symbol ``SEQ`` as ``ROWS * k`` bars whose ``volume`` is ``k`` and
is published with ``snapshot_meta.seq == k``. The reader checks, in single queries, that
every snapshot it sees is whole: one meta row, the right row count, one consistent seq.
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

from ingest.providers import BARS_SCHEMA
from ingest.store import MarketStore

REPO = Path(__file__).resolve().parents[2]
ROWS = 10
PUBLISHES = 50

READER = r"""
import json, sys, time
from pathlib import Path
from nexus.market.snapshot import SnapshotReader

path, stop, rows = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
reader = SnapshotReader(path)
SQL = '''
    SELECT (SELECT max(seq) FROM snapshot_meta), (SELECT count(*) FROM snapshot_meta),
           count(*), min(volume), max(volume)
    FROM bars WHERE symbol = ?
'''
stats = {"queries": 0, "errors": [], "torn": [], "seqs": [], "backwards": 0}

def check():
    if stats["queries"] % 2:
        got = reader.fetchall(SQL, ["SEQ"])[0]
    else:
        got = tuple(reader.query(SQL, ["SEQ"]).row(0))
    seq, meta_rows, count, lo, hi = got
    stats["queries"] += 1
    if meta_rows != 1 or count != rows * seq or lo != seq or hi != seq:
        stats["torn"].append(list(got))
    if stats["seqs"] and seq < stats["seqs"][-1]:
        stats["backwards"] += 1
    if not stats["seqs"] or stats["seqs"][-1] != seq:
        stats["seqs"].append(seq)

check()
print("ready", flush=True)
deadline = time.monotonic() + 120
while not stop.exists() and time.monotonic() < deadline:
    try:
        check()
    except Exception as exc:
        stats["errors"].append(f"{type(exc).__name__}: {exc}")
check()  # after the last publish
print(json.dumps(stats), flush=True)
"""


def _batch(k: int) -> pl.DataFrame:
    n = ROWS * k
    first = date(2020, 1, 1)
    return pl.DataFrame(
        {
            "symbol": ["SEQ"] * n,
            "date": [first + timedelta(days=i) for i in range(n)],
            "open": [1.0] * n,
            "high": [1.0] * n,
            "low": [1.0] * n,
            "close": [1.0] * n,
            "adj_close": [1.0] * n,
            "volume": [k] * n,
            "dividend": [0.0] * n,
            "split": [1.0] * n,
            "provider": ["test"] * n,
            "fetched_at": [datetime(2026, 1, 1)] * n,
            "filled": [False] * n,
        },
        schema=BARS_SCHEMA,
    )


def test_reader_process_sees_only_whole_snapshots(tmp_path: Path) -> None:
    markets = tmp_path / "markets"
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with MarketStore(markets) as store:
        store.upsert("bars", _batch(1))
        assert store.publish().seq == 1
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(markets / "history.duckdb"), str(stop), str(ROWS)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout is not None
            assert reader.stdout.readline().strip() == "ready"
            t0 = time.perf_counter()
            for k in range(2, PUBLISHES + 2):
                store.upsert("bars", _batch(k))
                assert store.publish().seq == k
                time.sleep(0.005)  # let the reader run a few queries per snapshot
            elapsed = time.perf_counter() - t0
            stop.touch()
            out, err = reader.communicate(timeout=60)
        finally:
            if reader.poll() is None:
                reader.kill()
    assert reader.returncode == 0, err
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["errors"] == []
    assert stats["torn"] == []
    assert stats["backwards"] == 0
    assert stats["seqs"][-1] == PUBLISHES + 1
    assert len(stats["seqs"]) >= 10, f"reader saw too few swaps: {stats['seqs']}"
    assert stats["queries"] >= PUBLISHES
    assert elapsed < 30
