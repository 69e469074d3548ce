"""Interleaved timing for ratio benchmarks: candidate and baseline alternate (A B A B …) and
the best time of each side is compared, so load from elsewhere on the machine slows both
alike and the ratio, not the absolute time, is what a benchmark asserts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of every round of each side (``time.perf_counter``)."""

    candidate: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)

    @property
    def best_candidate(self) -> float:
        return min(self.candidate)

    @property
    def best_baseline(self) -> float:
        return min(self.baseline)

    @property
    def ratio(self) -> float:
        """Best candidate / best baseline (below 1: the candidate is faster)."""
        return self.best_candidate / self.best_baseline

    @property
    def speedup(self) -> float:
        """Best baseline / best candidate (above 1: the candidate is faster)."""
        return self.best_baseline / self.best_candidate


def _timed(fn: Callable[[], Any], times: list[float], setup: Callable[[], Any] | None) -> None:
    if setup is not None:
        setup()  # not timed
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)


def interleaved(
    candidate: Callable[[], Any],
    baseline: Callable[[], Any],
    *,
    pairs: int,
    candidate_repeat: int = 1,
    setup_candidate: Callable[[], Any] | None = None,
    setup_baseline: Callable[[], Any] | None = None,
) -> Timing:
    """Run ``pairs`` rounds of ``candidate`` (``candidate_repeat`` times in a row, for a
    side much faster than its baseline) then ``baseline``; the setups run untimed before
    each call. Best of N on each side: see :class:`Timing`."""
    if pairs < 1 or candidate_repeat < 1:
        raise ValueError("pairs and candidate_repeat must be at least 1")
    timing = Timing()
    for _ in range(pairs):
        for _ in range(candidate_repeat):
            _timed(candidate, timing.candidate, setup_candidate)
        _timed(baseline, timing.baseline, setup_baseline)
    return timing
