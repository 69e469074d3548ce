"""The scheduler's job table and the per-job lock handling (no scheduler is started)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ingest import cli
from ingest.store import MarketStore
from nexus.market import SnapshotReader, last_runs
from nexus.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "NEXUS_DATA_DIR": str(tmp_path),
            "NEXUS_QUOTES_SECONDS": "10",
            "NEXUS_NEWS_CRON": "*/20 * * * *",
        },
        secrets_path=tmp_path / "none.toml",
    )


def test_every_job_is_scheduled_with_explicit_settings(settings: Settings) -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    scheduler = cli.build_scheduler(settings, now=now)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"prices", "quotes", "fx", "macro", "news"}
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time is not None
        assert job.args[0] == job.id  # scheduled(<job>, settings, ...)
    quotes = jobs["quotes"]
    assert isinstance(quotes.trigger, IntervalTrigger)
    assert quotes.trigger.interval == timedelta(seconds=10) and quotes.trigger.jitter == 2
    assert quotes.misfire_grace_time == 10 and quotes.args[2] == 0  # never waits for a lock
    news = jobs["news"]
    assert isinstance(news.trigger, CronTrigger)
    assert str(news.trigger.fields[news.trigger.FIELD_NAMES.index("minute")]) == "*/20"
    # prices and quotes at start, macro and news staggered after, fx only on its cron
    assert jobs["prices"].next_run_time == now and jobs["quotes"].next_run_time == now
    assert jobs["macro"].next_run_time == now + timedelta(seconds=60)
    assert jobs["news"].next_run_time == now + timedelta(seconds=90)
    assert not hasattr(jobs["fx"], "next_run_time") or jobs["fx"].next_run_time is None


def test_a_scheduled_job_waits_briefly_for_the_lock_then_runs(settings: Settings) -> None:
    store = MarketStore.from_settings(settings).open()
    threading.Timer(1.0, store.close).start()
    t0 = time.monotonic()
    cli.scheduled("macro", settings, lock_wait=10)
    assert 1.0 <= time.monotonic() - t0 < 8
    runs = last_runs(SnapshotReader(settings.history_path), 1)
    assert runs["job"].to_list() == ["macro"] and runs["status"].to_list() == ["ok"]


def test_a_scheduled_job_skips_when_the_lock_stays_taken(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with MarketStore.from_settings(settings), caplog.at_level(logging.WARNING, "ingest"):
        cli.scheduled("news", settings, lock_wait=0)
    assert "news skipped: another ingest job is running" in caplog.text
    assert not settings.history_path.exists()
