"""Budgets: deadlines, cancellation that wakes waiters and runs hooks, context scoping."""

from __future__ import annotations

import contextvars
import math
import threading

import pytest

from ingest import budget as b


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline_from_a_fake_clock() -> None:
    clock = Clock()
    budget = b.Budget(10, name="prices", clock=clock)
    assert budget.remaining() == 10
    budget.check()
    clock.now += 10
    assert budget.remaining() == 0 and budget.expired
    with pytest.raises(b.BudgetExceeded, match="prices: time budget of 10 s used up"):
        budget.check()


def test_unlimited_outside_a_job() -> None:
    assert math.isinf(b.current().remaining())
    b.current().check()


def test_cancel_wakes_a_waiter_and_runs_hooks() -> None:
    budget = b.Budget(None, name="news")
    hooks: list[str] = []
    started = threading.Event()
    outcome: list[BaseException] = []

    def waiter() -> None:
        with budget.on_cancel(lambda: hooks.append("socket closed")):
            started.set()
            try:
                budget.wait(3600)
            except b.Interrupted as exc:
                outcome.append(exc)

    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    budget.cancel("scheduler stopping")
    t.join(timeout=60)
    assert not t.is_alive()
    assert isinstance(outcome[0], b.Cancelled) and "scheduler stopping" in str(outcome[0])
    assert hooks == ["socket closed"]
    with budget.on_cancel(lambda: hooks.append("late")):  # already cancelled: runs at once
        pass
    assert hooks == ["socket closed", "late"]


def test_running_scopes_the_budget_and_cancel_all_reaches_threads() -> None:
    budget = b.Budget(None, name="macro")
    seen: list[b.Budget] = []
    with b.running(budget):
        assert b.current() is budget
        ctx = contextvars.copy_context()
        t = threading.Thread(target=ctx.run, args=(lambda: seen.append(b.current()),))
        t.start()
        t.join()
        assert b.cancel_all("stop") >= 1
    assert seen == [budget] and budget.cancelled
    assert b.current() is not budget
    assert b.cancel_all("nothing running") == 0
