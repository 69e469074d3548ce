"""``python -m ingest``: run, backfill, inspect and schedule market-data ingest.

Jobs: ``prices`` (daily bars + FX + symbols), ``fx``, ``macro``, ``news`` (history file)
and ``quotes`` (live file only). ``schedule`` runs them all in one process: the cron jobs
on ``NEXUS_<JOB>_CRON`` and quotes every ``NEXUS_QUOTES_SECONDS`` s.

Exit codes: 0 success (also "market closed" for quotes) · 1 failure (job failed, nothing
published, bad settings) · 2 usage error or another scheduler already running · 3 another
ingest job is running · 4 finished, but some symbols or currencies failed.
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
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import Any

from ingest.http import install_redaction
from ingest.jobs import JobResult, run_fx, run_macro, run_news, run_prices, run_quotes
from ingest.store import IngestBusy, lock_holder, try_lock
from nexus.market import SnapshotMissing, SnapshotReader, last_runs, snapshot_info
from nexus.settings import Settings, SettingsError, load_settings

log = logging.getLogger("ingest")

EXIT_OK, EXIT_FAILED, EXIT_SCHEDULER_RUNNING, EXIT_BUSY, EXIT_PARTIAL = 0, 1, 2, 3, 4
SCHEDULER_LOCK = "scheduler.lock"
PRICES_JOB_ID = "prices"
JOBS = ("prices", "quotes", "fx", "macro", "news")
#: How long a scheduled history job waits for the ingest lock (another job running) before
#: it skips this run; quotes never wait (their next run is seconds away).
LOCK_WAIT_SECONDS = 300
#: Startup catch-up runs of the slower feeds, after the first prices run has the lock.
STARTUP_DELAY_SECONDS = {"prices": 0, "quotes": 0, "macro": 60, "news": 90}
#: Set when the scheduler is stopping: jobs waiting for a lock give up at once.
STOPPING = threading.Event()


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
    run.add_argument("job", choices=JOBS, help="job to run")
    run.add_argument(
        "--symbols", type=_symbols, help="comma-separated subset (prices, quotes, news)"
    )
    run.add_argument("--series", type=_symbols, help="comma-separated FRED ids (macro)")
    run.add_argument("--currencies", type=_symbols, help="comma-separated ISO codes (fx)")
    run.add_argument(
        "--start", type=_date, help="also fetch back to this date (prices, fx, macro; news: since)"
    )
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

    sub.add_parser(
        "schedule",
        help="run every job on its schedule (NEXUS_*_CRON, NEXUS_QUOTES_SECONDS) until stopped",
    )
    return parser


# run / backfill ----------------------------------------------------------------------------
def _report(result: JobResult) -> int:
    if result.status == "market closed":
        print(f"quotes: market closed; nothing fetched ({result.seconds:.1f}s)")
        return EXIT_OK
    if result.status != "ok":
        print(f"{result.job} failed: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    if result.job == "quotes":
        print(
            f"quotes: {result.quotes:,} quotes written; live file published ({result.seconds:.1f}s)"
        )
    else:
        done = {
            "fx": f"{result.fx:,} fx rates",
            "macro": f"{result.macro:,} macro observations",
            "news": f"{result.news:,} articles",
        }.get(result.job, f"{result.bars:,} bars, {result.fx:,} fx rates")
        print(
            f"{result.job}: {done} written; "
            f"snapshot seq {result.seq} published ({result.seconds:.1f}s)"
        )
    if result.failures:
        print(f"{len(result.failures)} failed:", file=sys.stderr)
        for key, error in result.failures.items():
            print(f"  {key}: {error}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def run_job(settings: Settings, job: str, args: argparse.Namespace | None = None) -> JobResult:
    """Run ``job`` once (``backfill`` is ``prices`` with a start date). Raises IngestBusy."""
    a = args or argparse.Namespace()
    symbols, start, end = (
        getattr(a, "symbols", None),
        getattr(a, "start", None),
        getattr(a, "end", None),
    )
    progress = not getattr(a, "no_progress", True)
    if job in ("prices", "backfill"):
        return run_prices(
            settings, symbols=symbols, start=start, end=end, progress=progress, job=job
        )
    if job == "quotes":
        return run_quotes(settings, symbols=symbols)
    if job == "fx":
        currencies = getattr(a, "currencies", None)
        return run_fx(settings, currencies=currencies, start=start, end=end, progress=progress)
    if job == "macro":
        return run_macro(settings, series=getattr(a, "series", None), start=start, end=end)
    if job == "news":
        return run_news(settings, symbols=symbols, since=start)
    raise ValueError(f"unknown job {job!r}")


def cmd_run(settings: Settings, args: argparse.Namespace, job: str) -> int:
    try:
        result = run_job(settings, job, args)
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
    live = _live_status(settings)
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
            "live": {k: _iso(v) for k, v in live.items()} if live else None,
        }
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    print(f"Snapshot   {info.path}")
    print(f"Published  {info.published_at:%Y-%m-%d %H:%M:%S} UTC (seq {info.seq})")
    print(f"Providers  {', '.join(sorted(info.providers)) or '-'}")
    print(f"Symbols    {info.symbol_count:,}")
    print(f"Bars       {info.bar_count:,} ({info.first_date} → {info.last_date})")
    if live:
        print(
            f"Live       {live['quotes']:,} quotes, newest {_iso(live['newest'])} UTC; last quotes "
            f"run {live['last_status'] or '-'}"
        )
    else:
        print("Live       no live quotes published yet (python -m ingest run quotes)")
    print("Last runs:" if runs else "No runs recorded.")
    for run in runs:
        error = f"  {run['error']}" if run["error"] else ""
        print(
            f"  {run['started_at']:%Y-%m-%d %H:%M:%S}  {run['job']:<9} {run['provider']:<6} "
            f"{run['status']:<7} {run['rows']:>10,} rows{error}"
        )
    return EXIT_OK


def _live_status(settings: Settings) -> dict[str, Any] | None:
    """Quote count, newest quote time and the last quotes run of the live file, if any."""
    reader = SnapshotReader(settings.live_path)
    try:
        ((count, newest, status),) = reader.fetchall(
            "SELECT (SELECT count(*) FROM quotes), (SELECT max(ts) FROM quotes), "
            "(SELECT status FROM ingest_runs ORDER BY started_at DESC LIMIT 1)"
        )
    except SnapshotMissing:
        return None
    except Exception as exc:  # an old live file without a run log
        log.debug("live file unreadable: %s", exc)
        return None
    finally:
        reader.close()
    return {"quotes": int(count), "newest": newest, "last_status": status}


# schedule ----------------------------------------------------------------------------------
def scheduled(job: str, settings: Settings, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
    """A scheduler run of ``job``. Each job holds the same non-blocking locks as a manual
    run (ingest lock; quotes: live lock), so the two never overlap; while another job holds
    the lock it retries every 2 s for up to ``lock_wait`` seconds, then skips this run."""
    waited = 0.0
    while True:
        try:
            result = run_job(settings, job)
            break
        except IngestBusy as exc:
            if waited >= lock_wait or STOPPING.is_set():
                log.warning("%s skipped: %s", job, exc)
                return
            STOPPING.wait(2.0)
            waited += 2.0
    if result.status == "failed":
        log.error("%s failed: %s", job, result.error)
    elif result.failures:
        log.warning("%s finished with failures: %s", job, result.error)


def scheduled_prices(settings: Settings) -> None:
    """The scheduler's ``prices`` job (kept for callers of the earlier API)."""
    scheduled("prices", settings)


def build_scheduler(settings: Settings, now: datetime | None = None) -> Any:
    """A ``BlockingScheduler`` (UTC) with every job: stable ids, coalesce, one instance,
    an explicit misfire grace time; prices and quotes run at start, macro and news shortly
    after (see :data:`STARTUP_DELAY_SECONDS`), fx only on its cron."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    now = now or datetime.now(UTC)
    scheduler = BlockingScheduler(timezone="UTC")
    crons = {
        "prices": settings.prices_cron,
        "fx": settings.fx_cron,
        "macro": settings.macro_cron,
        "news": settings.news_cron,
    }
    for job, cron in crons.items():
        delay = STARTUP_DELAY_SECONDS.get(job)
        scheduler.add_job(
            scheduled,
            CronTrigger.from_crontab(cron, timezone="UTC"),
            args=[job, settings],
            id=job,
            name=job,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=300,
            replace_existing=True,
            **({} if delay is None else {"next_run_time": now + timedelta(seconds=delay)}),
        )
    every = settings.quotes_seconds
    scheduler.add_job(
        scheduled,
        IntervalTrigger(seconds=every, jitter=max(1, every // 5), timezone="UTC"),
        args=["quotes", settings, 0],
        id="quotes",
        name="quotes",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=every,  # a late tick is worthless once the next one is due
        replace_existing=True,
        next_run_time=now,
    )
    return scheduler


def cmd_schedule(settings: Settings) -> int:
    from apscheduler.events import (
        EVENT_JOB_ERROR,
        EVENT_JOB_MAX_INSTANCES,
        EVENT_JOB_MISSED,
        JobEvent,
    )
    from apscheduler.schedulers import SchedulerNotRunningError

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
        STOPPING.clear()
        scheduler = build_scheduler(settings)

        def on_event(event: JobEvent) -> None:
            if event.code == EVENT_JOB_ERROR:
                log.error("job %s raised: %s", event.job_id, getattr(event, "exception", "?"))
            elif event.code == EVENT_JOB_MISSED:
                log.warning("job %s missed its run time", event.job_id)
            else:
                log.warning("job %s skipped: previous run still going", event.job_id)

        mask = EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        scheduler.add_listener(on_event, mask)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if STOPPING.is_set():
                return
            STOPPING.set()
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
            "scheduler started (pid %d, lock %s); prices on %r, fx on %r, macro on %r, "
            "news on %r (UTC), quotes every %d s",
            os.getpid(), lock_path, settings.prices_cron, settings.fx_cron,
            settings.macro_cron, settings.news_cron, settings.quotes_seconds,
        )  # fmt: skip
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
    install_redaction(settings)  # API keys never reach a log line
    if args.command == "run":
        return cmd_run(settings, args, job=args.job)
    if args.command == "backfill":
        return cmd_run(settings, args, job="backfill")
    if args.command == "status":
        return cmd_status(settings, args)
    return cmd_schedule(settings)
