"""``python -m ingest`` end to end, in subprocesses with their own NEXUS_DATA_DIR."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ingest.store import MarketStore

REPO = Path(__file__).resolve().parents[2]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    return {**env, "PYTHONPATH": str(REPO), "NEXUS_DATA_DIR": str(data_dir), **extra}


def _ingest(data_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        env=_env(data_dir),
        cwd=data_dir,  # no stray .streamlit/secrets.toml
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_status_before_anything_is_published(tmp_path: Path) -> None:
    done = _ingest(tmp_path, "status")
    assert done.returncode == 1
    assert "No market data has been published yet" in done.stderr
    assert "python -m ingest run prices" in done.stderr
    as_json = json.loads(_ingest(tmp_path, "status", "--json").stdout)
    assert as_json["published"] is False


def test_run_prices_then_status_json(tmp_path: Path) -> None:
    run = _ingest(
        tmp_path, "run", "prices", "--symbols", "NXWORLD,ORCH,KAZE", "--start", "2025-06-02",
        "--end", "2025-06-27", "--no-progress",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "60 bars" in run.stdout and "seq 1" in run.stdout  # 3 symbols × 20 weekdays

    partial = _ingest(
        tmp_path, "backfill", "--symbols", "ORCH,NOPE", "--start", "2025-05-26",
        "--end", "2025-06-27",
    )  # fmt: skip
    assert partial.returncode == 4
    assert "NOPE: unknown symbol" in partial.stderr

    status = _ingest(tmp_path, "status", "--json", "--runs", "2")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["published"] is True and info["seq"] == 2
    assert info["path"] == str(tmp_path / "markets" / "history.duckdb")
    assert (info["symbols"], info["bars"]) == (3, 65)
    assert (info["first_date"], info["last_date"]) == ("2025-05-26", "2025-06-27")
    assert info["providers"] == ["demo"]
    assert [r["job"] for r in info["runs"]] == ["backfill", "prices"]
    assert [r["status"] for r in info["runs"]] == ["ok", "ok"]
    assert "NOPE" in info["runs"][0]["error"]

    text = _ingest(tmp_path, "status")
    assert text.returncode == 0 and "seq 2" in text.stdout and "backfill" in text.stdout


def test_run_refuses_while_another_ingest_job_holds_the_lock(tmp_path: Path) -> None:
    with MarketStore(tmp_path / "markets"):
        busy = _ingest(tmp_path, "run", "prices", "--symbols", "ORCH", "--no-progress")
    assert busy.returncode == 3
    assert "another ingest job is running" in busy.stderr


def test_bad_arguments_and_settings(tmp_path: Path) -> None:
    assert _ingest(tmp_path, "backfill", "--symbols", "ORCH").returncode == 2  # no --start
    bad_date = _ingest(tmp_path, "backfill", "--start", "yesterday")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    bad_cron = subprocess.run(
        [sys.executable, "-m", "ingest", "status"],
        env=_env(tmp_path, NEXUS_PRICES_CRON="every day"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_cron.returncode == 1 and "NEXUS_PRICES_CRON" in bad_cron.stderr


def _lines(stream: object) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], text: str, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} not logged within {timeout}s; got:\n{''.join(seen)}")


def test_second_scheduler_refuses_to_start(tmp_path: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "ingest", "schedule"],
        env=_env(tmp_path, NEXUS_PRICES_CRON="0 3 1 1 *"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _lines(first.stderr)
        _wait_for(lines, "scheduler started")
        second = _ingest(tmp_path, "schedule", timeout=30)
        assert second.returncode == 2
        assert "Another scheduler is already running" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        # the first one ran the prices job once at start
        _wait_for(lines, "snapshot seq 1")
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
        _wait_for(lines, "scheduler stopped", timeout=5)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    status = json.loads(_ingest(tmp_path, "status", "--json").stdout)
    assert status["runs"][0]["job"] == "prices" and status["runs"][0]["status"] == "ok"
