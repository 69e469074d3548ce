"""Time budgets and cancellation for ingest work.

A job runs inside ``with running(Budget(seconds, name="prices")):``. Everything below it
(the HTTP layer's per-request deadline, retry and rate-limit waits, the fetch loop) asks
:func:`current` for the budget and

- calls :meth:`Budget.check` between steps (raises :class:`BudgetExceeded` or
  :class:`Cancelled`);
- caps its own waits and timeouts by :meth:`Budget.remaining`;
- sleeps with :meth:`Budget.wait`, which wakes at once when the budget is cancelled;
- registers blocking resources (an open socket) with :meth:`Budget.on_cancel`, so that
  :meth:`Budget.cancel` (the scheduler's SIGTERM handler, via :func:`cancel_all`) can shut
  them down and unblock a thread stuck in ``recv``.

:class:`Interrupted` is deliberately **not** a :class:`~ingest.providers.ProviderError`: a
fallback chain must never swallow it and try the next provider.

The budget lives in a :mod:`contextvars` variable. A worker thread does not inherit it:
start the thread's target with ``contextvars.copy_context().run``.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """Ingest work stopped before it finished (budget used up, or cancelled)."""


class BudgetExceeded(Interrupted):
    """The job's time budget is used up."""


class Cancelled(Interrupted):
    """The job was cancelled (the scheduler is stopping, or an operator asked)."""


_ACTIVE: weakref.WeakSet[Budget] = weakref.WeakSet()
_ACTIVE_LOCK = threading.Lock()


class Budget:
    """A wall-clock allowance (``seconds``; ``None`` = unlimited) that can be cancelled.

    Thread-safe: the job's threads read it, the scheduler's signal path cancels it.
    """

    def __init__(
        self,
        seconds: float | None = None,
        *,
        name: str = "job",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.seconds = seconds
        self._clock = clock
        self._deadline = None if seconds is None else clock() + seconds
        self._cancelled = threading.Event()
        self._reason = ""
        self._lock = threading.Lock()
        self._hooks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()

    def remaining(self) -> float:
        """Seconds left (``math.inf`` when unlimited; 0 when used up or cancelled)."""
        if self._cancelled.is_set():
            return 0.0
        if self._deadline is None:
            return math.inf
        return max(0.0, self._deadline - self._clock())

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def expired(self) -> bool:
        return self._deadline is not None and self._clock() >= self._deadline

    def check(self) -> None:
        """Raise :class:`Cancelled` or :class:`BudgetExceeded` when the work must stop."""
        if self._cancelled.is_set():
            raise Cancelled(f"{self.name}: {self._reason or 'cancelled'}")
        if self.expired:
            raise BudgetExceeded(f"{self.name}: time budget of {self.seconds:g} s used up")

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the work: later :meth:`check` calls raise, waits end, hooks run (once)."""
        with self._lock:
            if self._cancelled.is_set():
                return
            self._reason = reason
            self._cancelled.set()
            hooks = list(self._hooks.values())
        for hook in hooks:
            try:
                hook()
            except Exception:  # a hook must never stop the others
                log.debug("cancel hook of %s failed", self.name, exc_info=True)

    @contextlib.contextmanager
    def on_cancel(self, hook: Callable[[], None]) -> Iterator[None]:
        """Run ``hook`` if the budget is cancelled while the block runs (at once if it
        already is)."""
        with self._lock:
            key = next(self._ids)
            self._hooks[key] = hook
            already = self._cancelled.is_set()
        if already:
            with contextlib.suppress(Exception):
                hook()
        try:
            yield
        finally:
            with self._lock:
                self._hooks.pop(key, None)

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` (capped by what is left), waking early on cancel; then
        :meth:`check` (so a wait never outlives the budget)."""
        self._cancelled.wait(max(0.0, min(seconds, self.remaining())))
        self.check()

    def __repr__(self) -> str:
        left = self.remaining()
        return f"<Budget {self.name} {'unlimited' if math.isinf(left) else f'{left:.1f}s left'}>"


_UNLIMITED = Budget(None, name="unbudgeted")
_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "ingest_budget", default=None
)


def current() -> Budget:
    """The budget of the work running in this context (an unlimited one outside a job)."""
    return _CURRENT.get() or _UNLIMITED


@contextlib.contextmanager
def running(budget: Budget) -> Iterator[Budget]:
    """Make ``budget`` the current one for the block (and register it for
    :func:`cancel_all`)."""
    token = _CURRENT.set(budget)
    with _ACTIVE_LOCK:
        _ACTIVE.add(budget)
    try:
        yield budget
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(budget)
        _CURRENT.reset(token)


def cancel_all(reason: str) -> int:
    """Cancel every budget currently running in this process; how many there were."""
    with _ACTIVE_LOCK:
        budgets = list(_ACTIVE)
    for budget in budgets:
        budget.cancel(reason)
    return len(budgets)
