"""``python -m ingest``: run, backfill, inspect and schedule market-data ingest.

Exit codes: 0 success · 1 failure (job failed, nothing published, bad settings) ·
2 usage error or another scheduler already running · 3 another ingest job is running ·
4 finished, but some symbols or currencies failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from types import FrameType
from typing import Any

from ingest.jobs import JobResult, run_prices
from ingest.store import IngestBusy, lock_holder, try_lock
from nexus.market import SnapshotMissing, SnapshotReader, last_runs, snapshot_info
from nexus.settings import Settings, SettingsError, load_settings

log = logging.getLogger("ingest")

EXIT_OK, EXIT_FAILED, EXIT_SCHEDULER_RUNNING, EXIT_BUSY, EXIT_PARTIAL = 0, 1, 2, 3, 4
SCHEDULER_LOCK = "scheduler.lock"
PRICES_JOB_ID = "prices"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _symbols(text: str) -> list[str]:
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one symbol, e.g. --symbols NXWORLD,ORCH")
    return items


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Market-data ingest for Portfolio Nexus.",
        epilog="Exit codes: 0 ok, 1 failed, 2 usage / scheduler already running, "
        "3 another ingest job running, 4 some symbols failed.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a job once")
    run.add_argument("job", choices=["prices"], help="job to run")
    run.add_argument("--symbols", type=_symbols, help="comma-separated subset (default: all)")
    run.add_argument("--start", type=_date, help="also fetch back to this date (YYYY-MM-DD)")
    run.add_argument("--end", type=_date, help="last date to fetch (default: today, UTC)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    backfill = sub.add_parser("backfill", help="fetch history back to --start")
    backfill.add_argument("--symbols", type=_symbols, help="comma-separated (default: all)")
    backfill.add_argument("--start", type=_date, required=True, help="first date (YYYY-MM-DD)")
    backfill.add_argument("--end", type=_date, help="last date (default: today, UTC)")
    backfill.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    status = sub.add_parser("status", help="describe the published snapshot and recent runs")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--runs", type=int, default=5, help="how many recent runs (default 5)")

    sub.add_parser("schedule", help="run the prices job now and then on NEXUS_PRICES_CRON")
    return parser


# run / backfill ----------------------------------------------------------------------------
def _report(result: JobResult) -> int:
    if result.status != "ok":
        print(f"{result.job} failed: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"{result.job}: {result.bars:,} bars, {result.fx:,} fx rates written; "
        f"snapshot seq {result.seq} published ({result.seconds:.1f}s)"
    )
    if result.failures:
        print(f"{len(result.failures)} failed:", file=sys.stderr)
        for key, error in result.failures.items():
            print(f"  {key}: {error}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def cmd_run(settings: Settings, args: argparse.Namespace, job: str) -> int:
    try:
        result = run_prices(
            settings,
            symbols=args.symbols,
            start=args.start,
            end=args.end,
            progress=not args.no_progress,
            job=job,
        )
    except IngestBusy as exc:
        print(f"Not started: {exc}.", file=sys.stderr)
        return EXIT_BUSY
    return _report(result)


# status ------------------------------------------------------------------------------------
def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    reader = SnapshotReader(settings.history_path)
    try:
        info = snapshot_info(reader)
        runs = last_runs(reader, args.runs).to_dicts()
    except SnapshotMissing as exc:
        if args.json:
            print(json.dumps({"published": False, "path": str(reader.path), "error": str(exc)}))
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    finally:
        reader.close()
    if args.json:
        payload = {
            "published": True,
            "path": str(info.path),
            "seq": info.seq,
            "published_at": _iso(info.published_at),
            "providers": sorted(info.providers),
            "symbols": info.symbol_count,
            "bars": info.bar_count,
            "first_date": _iso(info.first_date),
            "last_date": _iso(info.last_date),
            "runs": [{k: _iso(v) for k, v in run.items()} for run in runs],
        }
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    print(f"Snapshot   {info.path}")
    print(f"Published  {info.published_at:%Y-%m-%d %H:%M:%S} UTC (seq {info.seq})")
    print(f"Providers  {', '.join(sorted(info.providers)) or '-'}")
    print(f"Symbols    {info.symbol_count:,}")
    print(f"Bars       {info.bar_count:,} ({info.first_date} → {info.last_date})")
    print("Last runs:" if runs else "No runs recorded.")
    for run in runs:
        error = f"  {run['error']}" if run["error"] else ""
        print(
            f"  {run['started_at']:%Y-%m-%d %H:%M:%S}  {run['job']:<9} {run['provider']:<6} "
            f"{run['status']:<7} {run['rows']:>10,} rows{error}"
        )
    return EXIT_OK


# schedule ----------------------------------------------------------------------------------
def scheduled_prices(settings: Settings) -> None:
    """The scheduler's ``prices`` job: a gap-only run; skipped if another job holds the lock."""
    try:
        result = run_prices(settings, progress=False)
    except IngestBusy as exc:
        log.warning("prices skipped: %s", exc)
        return
    if result.status != "ok":
        log.error("prices failed: %s", result.error)
    elif result.failures:
        log.warning("prices finished with failures: %s", result.error)


def cmd_schedule(settings: Settings) -> int:
    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_MAX_INSTANCES,
        EVENT_JOB_MISSED,
        JobEvent,
    )
    from apscheduler.schedulers import SchedulerNotRunningError
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    lock_path = settings.data_dir / SCHEDULER_LOCK
    lock = try_lock(lock_path)
    if lock is None:
        print(
            f"Another scheduler is already running (pid {lock_holder(lock_path)}, lock "
            f"{lock_path}); not starting a second one.",
            file=sys.stderr,
        )
        return EXIT_SCHEDULER_RUNNING
    try:
        scheduler = BlockingScheduler(timezone="UTC")
        trigger = CronTrigger.from_crontab(settings.prices_cron, timezone="UTC")
        scheduler.add_job(
            scheduled_prices,
            trigger,
            args=[settings],
            id=PRICES_JOB_ID,
            name=PRICES_JOB_ID,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=300,
            next_run_time=datetime.now(UTC),  # once at start, then on the cron
            replace_existing=True,
        )

        def on_event(event: JobEvent) -> None:
            if event.code == EVENT_JOB_ERROR:
                log.error("job %s raised: %s", event.job_id, getattr(event, "exception", "?"))
            elif event.code == EVENT_JOB_MISSED:
                log.warning("job %s missed its run time", event.job_id)
            else:
                log.warning("job %s skipped: previous run still going", event.job_id)

        mask = EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        scheduler.add_listener(on_event, mask)

        stopping = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if stopping.is_set():
                return
            stopping.set()
            name = signal.Signals(signum).name
            log.info("%s received: waiting for the running job, then stopping", name)
            # Not from the handler itself: it may interrupt the scheduler holding its locks.
            threading.Thread(target=stop, name="shutdown", daemon=True).start()

        def stop() -> None:
            while True:
                try:
                    scheduler.shutdown()  # waits for a running job to finish
                    return
                except SchedulerNotRunningError:
                    time.sleep(0.05)  # the signal came before start(): wait for it

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        log.info(
            "scheduler started (pid %d, lock %s); prices job now and on %r (UTC)",
            os.getpid(),
            lock_path,
            settings.prices_cron,
        )
        scheduler.start()
        log.info("scheduler stopped")
        return EXIT_OK
    finally:
        lock.close()


# entry point -------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "run":
        return cmd_run(settings, args, job=args.job)
    if args.command == "backfill":
        return cmd_run(settings, args, job="backfill")
    if args.command == "status":
        return cmd_status(settings, args)
    return cmd_schedule(settings)
