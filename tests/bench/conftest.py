"""``make bench``: every benchmark records its figures with the ``figures`` fixture; they are
printed at the end of the run and written to ``.benchmarks/results.json`` (not committed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

RESULTS = Path(__file__).resolve().parents[2] / ".benchmarks" / "results.json"
_FIGURES: dict[str, dict[str, Any]] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A dict the benchmark fills with its numbers (kept even when its assertion fails)."""
    return _FIGURES.setdefault(request.node.name, {})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("benchmark figures")
    for name, numbers in _FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(numbers, default=str)}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(_FIGURES, indent=2, default=str) + "\n")
