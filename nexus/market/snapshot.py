"""Read-only access to a published market snapshot (``history.duckdb``/``live.duckdb``).

The ingest process replaces a snapshot atomically (``os.replace``); this module never opens
the master. A reader keeps one ``read_only=True`` connection per file identity
``(st_dev, st_ino)``. Before each query it stats the path; when the identity changed it
closes the old connection and opens the new file (DuckDB caches database instances by path,
so the old connection must be closed first or ``connect`` would return the old snapshot).
The old connection is closed once the queries running on it have finished; a query that
still loses its connection (``Connection already closed``) is retried once. Each query runs
on its own ``cursor()``, so a reader is safe across threads (do not nest queries).

All readers of one path in a process share a single connection.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

T = TypeVar("T")
Identity = tuple[int, int]


class SnapshotMissing(FileNotFoundError):
    """No snapshot has been published at the path yet."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            "No market data has been published yet: run `python -m ingest run prices` "
            f"(expected {path})"
        )
        self.path = path


@dataclass(eq=False)
class _Shared:
    """The one connection a process keeps to one snapshot path, and its running queries."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    con: duckdb.DuckDBPyConnection | None = None
    identity: Identity | None = None
    active: int = 0  # cursors handed out and not yet released

    def wait_idle(self) -> None:
        """(Lock held.) Wait until no query runs on the current connection."""
        while self.active:
            self.cond.wait(timeout=1.0)

    def drop(self) -> None:
        """(Lock held, no active queries.) Close the connection."""
        if self.con is not None:
            self.con.close()
        self.con, self.identity = None, None


_SHARED: dict[str, _Shared] = {}
_SHARED_LOCK = threading.Lock()


def _shared(path: str) -> _Shared:
    with _SHARED_LOCK:
        return _SHARED.setdefault(path, _Shared())


def _identity(path: Path) -> Identity | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _connect_current(path: Path, attempts: int = 5) -> tuple[duckdb.DuckDBPyConnection, Identity]:
    """Open the file now at ``path`` read-only; return the connection and its identity.

    An fd pins the inode while DuckDB connects, so it cannot be freed and reused by a later
    publish; if the path still names that inode afterwards, it named it all along and the
    connection holds that file. If the path moved meanwhile, try again; after ``attempts``
    the identity is unknown, which makes the next query reopen.
    """
    for _ in range(attempts):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise SnapshotMissing(path) from None
        try:
            st = os.fstat(fd)
            con = duckdb.connect(str(path), read_only=True)
            if _identity(path) == (st.st_dev, st.st_ino):
                return con, (st.st_dev, st.st_ino)
            con.close()
        finally:
            os.close(fd)
    return duckdb.connect(str(path), read_only=True), (-1, -1)


class SnapshotReader:
    """Queries against the current published snapshot at ``path`` (never writes)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(os.path.abspath(path))
        self._shared = _shared(str(self.path))

    def __repr__(self) -> str:
        return f"SnapshotReader({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.exists()

    def identity(self) -> Identity | None:
        """``(st_dev, st_ino)`` of the file currently published, ``None`` if none."""
        return _identity(self.path)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the current file, reopening it first if a new snapshot was published.

        The old connection is closed only once its running queries have finished (closing a
        busy DuckDB connection fails), so a swap briefly holds back new queries instead.
        """
        shared = self._shared
        with shared.cond:
            while True:
                # The open connection pins its inode, so an equal identity is the same file.
                identity = self.identity()
                if identity is not None and shared.con is not None and identity == shared.identity:
                    break
                if shared.active:
                    shared.cond.wait(timeout=1.0)
                    continue
                shared.drop()
                if identity is None:
                    raise SnapshotMissing(self.path)
                shared.con, shared.identity = _connect_current(self.path)
                break
            cursor = shared.con.cursor()
            shared.active += 1
            return cursor

    def _release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with contextlib.suppress(duckdb.Error):
            cursor.close()
        with self._shared.cond:
            self._shared.active -= 1
            self._shared.cond.notify_all()

    def _run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` on a fresh cursor; retry once if a concurrent close got in between."""
        for attempt in (1, 2):
            cursor = self._cursor()
            try:
                return fn(cursor)
            except duckdb.ConnectionException:
                if attempt == 2:
                    raise
            finally:
                self._release(cursor)
        raise AssertionError("unreachable")

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run one parameterised SELECT and return it as a polars frame."""
        return self._run(lambda cur: cur.sql(sql, params=params).pl())

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one parameterised SELECT and return its rows."""
        return self._run(lambda cur: cur.execute(sql, params).fetchall())

    def close(self) -> None:
        """Close the connection shared by all readers of this path in this process."""
        with self._shared.cond:
            self._shared.wait_idle()
            self._shared.drop()
