"""Read-only market data for the app: published snapshots written by ``python -m ingest``.

Typical use::

    reader = history_reader()
    info = snapshot_info(reader)
    frame = closes(reader, ["NXWORLD"], start=date(2020, 1, 1))
"""

from __future__ import annotations

from nexus.market.prices import (
    SnapshotInfo,
    closes,
    fx_to_base,
    last_runs,
    snapshot_info,
    symbols,
)
from nexus.market.snapshot import SnapshotMissing, SnapshotReader
from nexus.settings import Settings, get_settings


def history_reader(settings: Settings | None = None) -> SnapshotReader:
    """A reader of the published history snapshot (``settings.history_path``)."""
    return SnapshotReader((settings or get_settings()).history_path)


def live_reader(settings: Settings | None = None) -> SnapshotReader:
    """A reader of the published live-quotes snapshot (``settings.live_path``)."""
    return SnapshotReader((settings or get_settings()).live_path)


__all__ = [
    "SnapshotInfo",
    "SnapshotMissing",
    "SnapshotReader",
    "closes",
    "fx_to_base",
    "history_reader",
    "last_runs",
    "live_reader",
    "snapshot_info",
    "symbols",
]
