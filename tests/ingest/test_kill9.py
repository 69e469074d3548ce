"""SIGKILL an ingest process at random moments (fetching, writing, publishing, anywhere):
the published history file is always a whole snapshot, and a final normal run completes
the history with no duplicate rows.

A first normal run publishes once, so every later round has a snapshot to check. Each round
then backfills the demo universe a few months further (so every round has data to fetch,
write and publish) in a fresh ``python -m ingest backfill`` process and kills it with
SIGKILL after a seeded random delay once it logs the targeted phase; rounds go on until
:data:`KILLS` kills have landed (on a slow machine kills land more often, on a fast one a
process sometimes finishes first), so nothing depends on how fast this machine is. After
each round the published ``history.duckdb`` is opened read-only and checked: one
``snapshot_meta`` row, a ``seq`` that never goes back, content matching the checksum
stored at publish time (so no table is torn), counts unchanged while ``seq`` is unchanged
and never shrinking, no duplicate bars, every symbol's bars contiguous.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.providers.demo import DEMO_UNIVERSE, EPOCH
from ingest.store import HISTORY_DDL, INTERRUPTED, snapshot_checksum

REPO = Path(__file__).resolve().parents[2]
SEED = 20240101
KILLS = 20
MAX_ROUNDS = 120  # a kill lands in most rounds: this bound is never reached in practice
FIRST_END = date(2013, 12, 31)
STEP = timedelta(days=150)
PHASES = {  # log marker → max random delay after it (s)
    "fetch": ("fetching", 0.25),
    "write": ("writing", 0.08),
    "publish": ("publishing", 0.08),
    "anytime": ("", 1.5),  # from process start: imports, lock, open, anything
}

pytestmark = pytest.mark.slow


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    return {**env, "PYTHONPATH": str(REPO), "NEXUS_DATA_DIR": str(data_dir)}


def _backfill(data_dir: Path, end: date) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "backfill", "--start", EPOCH.isoformat(),
         "--end", end.isoformat(), "--no-progress"],
        env=_env(data_dir), cwd=data_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _pump(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    lines: queue.Queue[str | None] = queue.Queue()

    def run() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=run, daemon=True).start()
    return lines


def _kill_at(proc: subprocess.Popen[str], marker: str, delay: float) -> bool:
    """SIGKILL ``proc`` ``delay`` s after it logs ``marker`` (from start if empty); True if
    the kill landed before the process ended by itself."""
    lines = _pump(proc)
    if marker:
        while True:
            line = lines.get(timeout=60)
            if line is None:  # ended without reaching the phase
                proc.wait()
                return False
            if marker in line:
                break
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=30) == -signal.SIGKILL


def _weekdays(lo: date, hi: date) -> int:
    days = pl.date_range(lo, hi, eager=True)
    return int((days.dt.weekday() <= 5).sum())


def _check(path: Path) -> dict[str, int]:
    """Open the published file read-only and check it is a whole snapshot; its counts."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        meta = con.execute("SELECT seq, checksum FROM snapshot_meta").fetchall()
        assert len(meta) == 1, f"snapshot_meta has {len(meta)} rows"
        seq, checksum = meta[0]
        assert snapshot_checksum(con, set(HISTORY_DDL) - {"snapshot_meta"}) == checksum
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("bars", "fx_rates", "symbols", "ingest_runs")
        }
        distinct = con.execute("SELECT count(DISTINCT (symbol, date)) FROM bars").fetchone()[0]
        assert distinct == counts["bars"], "duplicate bars"
        spans = con.execute(
            "SELECT symbol, min(date), max(date), count(*) FROM bars GROUP BY ALL"
        ).fetchall()
        for symbol, lo, hi, n in spans:
            assert n == _weekdays(lo, hi), f"{symbol} has a hole between {lo} and {hi}"
        unfinished = con.execute(
            "SELECT count(*) FROM ingest_runs WHERE status = 'ok' AND finished_at IS NULL"
        ).fetchone()[0]
        assert unfinished == 0
    finally:
        con.close()
    return {"seq": int(seq), **counts}


def test_sigkill_at_random_points_never_breaks_the_published_snapshot(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    history = tmp_path / "markets" / "history.duckdb"
    end = FIRST_END
    first = subprocess.run(
        [sys.executable, "-m", "ingest", "backfill", "--start", EPOCH.isoformat(),
         "--end", end.isoformat(), "--no-progress"],
        env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    seen: dict[str, int] = _check(history)  # published once before any kill
    end += STEP
    kills: dict[str, int] = dict.fromkeys(PHASES, 0)
    checked = 0
    tmp_left = 0  # kills that left a half-written snapshot copy behind
    rounds = 0
    for round_ in range(MAX_ROUNDS):
        if sum(kills.values()) >= KILLS and all(kills.values()):
            break
        phase = list(PHASES)[round_ % len(PHASES)]
        marker, most = PHASES[phase]
        proc = _backfill(tmp_path, end)
        try:
            killed = _kill_at(proc, marker, rng.uniform(0.0, most))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        kills[phase] += killed
        tmp_left += killed and (tmp_path / "markets" / "history.tmp.duckdb").exists()
        if not killed:
            end += STEP  # it finished: go further next time
        elif rng.random() < 0.5:
            end += STEP  # killed: sometimes retry the same range, sometimes go on
        rounds += 1
        now = _check(history)  # exists since the first run: a kill never removes it
        checked += 1
        assert now["seq"] >= seen["seq"], "published seq went back"
        if now["seq"] == seen["seq"]:
            assert now == seen, "same seq, different content"
        else:
            assert now["bars"] >= seen["bars"] and now["fx_rates"] >= seen["fx_rates"]
        seen = now
    total = sum(kills.values())
    print(
        f"kills per moment: {kills}; snapshots checked: {checked}; "
        f"half-written copies left: {tmp_left}; rounds: {rounds}"
    )
    assert total >= KILLS, f"only {total} kills landed: {kills}"
    assert all(kills.values()), f"every kind of moment was hit: {kills}"
    assert checked == rounds >= KILLS  # a snapshot checked after every round

    done = subprocess.run(
        [sys.executable, "-m", "ingest", "backfill", "--start", EPOCH.isoformat(),
         "--end", end.isoformat(), "--no-progress"],
        env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    final = _check(history)
    assert final["bars"] == len(DEMO_UNIVERSE) * _weekdays(EPOCH, end)
    assert final["fx_rates"] == 4 * _weekdays(EPOCH, end)
    con = duckdb.connect(str(history), read_only=True)
    try:
        statuses = dict(
            con.execute("SELECT status, count(*) FROM ingest_runs GROUP BY ALL").fetchall()
        )
        interrupted = con.execute(
            "SELECT count(*) FROM ingest_runs WHERE error = ?", [INTERRUPTED]
        ).fetchone()[0]
    finally:
        con.close()
    assert "running" not in statuses  # dead runs are marked failed by the next lock holder
    assert interrupted >= 1
    assert not (tmp_path / "markets" / "history.tmp.duckdb").exists()
