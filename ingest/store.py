"""The private master DuckDB and the read-only snapshots published from it.

Only :class:`MarketStore` opens ``<markets_dir>/history.master.duckdb``, and only while it
holds the process-level ``flock`` on ``<markets_dir>/ingest.lock`` (so two ingest
processes never write at once). Readers (the app) only ever see published snapshots:

1. the batch is applied to the master in one transaction (``INSERT OR REPLACE``, so a
   re-run adds nothing twice);
2. :meth:`MarketStore.publish` removes a leftover ``history.tmp.duckdb`` (+ ``.wal``),
   bumps ``snapshot_meta.seq``, runs ``ATTACH tmp AS snap; COPY FROM DATABASE <master> TO
   snap; DETACH snap``, fsyncs the tmp file, ``os.replace``\\ s it over ``history.duckdb``
   and fsyncs the directory. Open readers keep the old inode; new queries see the new file.

All timestamps are naive UTC.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import duckdb
import polars as pl

from nexus.settings import Settings

log = logging.getLogger(__name__)

MASTER_FILE = "history.master.duckdb"
HISTORY_FILE = "history.duckdb"
LIVE_FILE = "live.duckdb"
LOCK_FILE = "ingest.lock"

#: Table → DDL (docs/contracts.md). Primary keys make upserts idempotent.
HISTORY_DDL: dict[str, str] = {
    "symbols": """
        symbol VARCHAR PRIMARY KEY, name VARCHAR, currency VARCHAR, asset_class VARCHAR,
        sector VARCHAR, region VARCHAR, exchange VARCHAR, is_benchmark BOOLEAN,
        provider VARCHAR, fetched_at TIMESTAMP""",
    "bars": """
        symbol VARCHAR, date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
        adj_close DOUBLE, volume BIGINT, dividend DOUBLE DEFAULT 0, split DOUBLE DEFAULT 1,
        provider VARCHAR, fetched_at TIMESTAMP, filled BOOLEAN DEFAULT false,
        PRIMARY KEY (symbol, date)""",
    "fx_rates": """
        date DATE, base VARCHAR, quote VARCHAR, rate DOUBLE, provider VARCHAR,
        fetched_at TIMESTAMP, filled BOOLEAN DEFAULT false, PRIMARY KEY (date, base, quote)""",
    "macro_observations": """
        series_id VARCHAR, date DATE, value DOUBLE, provider VARCHAR, fetched_at TIMESTAMP,
        PRIMARY KEY (series_id, date)""",
    "news": """
        id VARCHAR PRIMARY KEY, published_at TIMESTAMP, symbol VARCHAR, title VARCHAR,
        source VARCHAR, url VARCHAR, summary VARCHAR, provider VARCHAR, fetched_at TIMESTAMP""",
    "ingest_runs": """
        run_id VARCHAR PRIMARY KEY, job VARCHAR, provider VARCHAR, started_at TIMESTAMP,
        finished_at TIMESTAMP, rows BIGINT, status VARCHAR, error VARCHAR""",
    "snapshot_meta": "seq BIGINT, published_at TIMESTAMP, checksum VARCHAR",
}
LIVE_DDL: dict[str, str] = {
    "quotes": """
        symbol VARCHAR PRIMARY KEY, ts TIMESTAMP, price DOUBLE, currency VARCHAR,
        provider VARCHAR, fetched_at TIMESTAMP""",
    "snapshot_meta": HISTORY_DDL["snapshot_meta"],
}
#: Tables :meth:`MarketStore.upsert` accepts.
UPSERT_TABLES = frozenset(HISTORY_DDL) - {"ingest_runs", "snapshot_meta"}
RUN_STATUSES = ("running", "ok", "failed")


class StoreError(RuntimeError):
    """The market store could not complete an operation."""


class IngestBusy(StoreError):
    """Another process holds the ingest lock."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    """One published snapshot: file, sequence number, time (naive UTC), content checksum."""

    path: Path
    seq: int
    published_at: datetime
    checksum: str
    seconds: float


def utc_now() -> datetime:
    """Naive UTC now (the convention of every timestamp column)."""
    return datetime.now(UTC).replace(tzinfo=None)


# Locks and files ---------------------------------------------------------------------------
def try_lock(path: Path) -> IO[str] | None:
    """Take an exclusive non-blocking ``flock`` on ``path``; ``None`` if another holds it.

    The lock lives as long as the returned file handle (released by the OS if the process
    dies). The holder's PID is written into the file for error messages.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def lock_holder(path: Path) -> str:
    """PID written by the current holder of a lock file ('?' if unknown)."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"


def _remove(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_str(value: str | Path) -> str:
    """A SQL string literal (ATTACH takes no parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _create_tables(con: duckdb.DuckDBPyConnection, ddl: Mapping[str, str]) -> None:
    for table, columns in ddl.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


def _install(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, atomically replace ``final`` with it, fsync the directory."""
    wal = tmp.with_name(tmp.name + ".wal")
    if wal.exists():
        raise StoreError(f"snapshot {tmp} still has a WAL after DETACH; not publishing")
    _fsync_file(tmp)
    os.replace(tmp, final)
    _fsync_dir(final.parent)


# The store ---------------------------------------------------------------------------------
class MarketStore:
    """Read-write access to the master market database (ingest process only).

    Use as a context manager: entering takes the ingest lock (:class:`IngestBusy` when
    another job holds it) and opens the master; leaving closes both.
    """

    def __init__(self, markets_dir: Path) -> None:
        self.markets_dir = Path(markets_dir)
        self.master_path = self.markets_dir / MASTER_FILE
        self.history_path = self.markets_dir / HISTORY_FILE
        self.live_path = self.markets_dir / LIVE_FILE
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock: IO[str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.markets_dir)

    # Lifecycle
    def open(self) -> Self:
        if self._con is not None:
            return self
        lock_path = self.markets_dir / LOCK_FILE
        self._lock = try_lock(lock_path)
        if self._lock is None:
            raise IngestBusy(
                f"another ingest job is running (pid {lock_holder(lock_path)}, lock {lock_path})"
            )
        try:
            self._con = duckdb.connect(str(self.master_path))
            _create_tables(self._con, HISTORY_DDL)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError("MarketStore is not open; use `with MarketStore(...) as store:`")
        return self._con

    # Writes
    def upsert(self, table: str, frame: pl.DataFrame) -> int:
        """Insert-or-replace ``frame`` (columns matched by name) into ``table``; rows written."""
        return self.write({table: frame})[table]

    def write(self, batch: Mapping[str, pl.DataFrame]) -> dict[str, int]:
        """Upsert several tables in one transaction; rows written per table."""
        unknown = set(batch) - UPSERT_TABLES
        if unknown:
            allowed = ", ".join(sorted(UPSERT_TABLES))
            raise StoreError(f"cannot upsert into {sorted(unknown)}; tables: {allowed}")
        con = self.con
        written: dict[str, int] = {}
        con.execute("BEGIN TRANSACTION")
        try:
            for table, frame in batch.items():
                written[table] = 0
                if frame.height == 0:
                    continue
                con.register("incoming", frame)
                try:
                    sql = f"INSERT OR REPLACE INTO {table} BY NAME SELECT * FROM incoming"  # noqa: S608 - allowlisted
                    written[table] = int(_scalar(con, sql) or 0)
                finally:
                    con.unregister("incoming")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return written

    # Reads needed by gap-only jobs
    def bar_ranges(self, symbols: Iterable[str] | None = None) -> dict[str, tuple[date, date]]:
        """``symbol → (first, last)`` stored bar date, for ``symbols`` (default: all)."""
        wanted = None if symbols is None else list(symbols)
        rows = self.con.execute(
            """SELECT symbol, min(date), max(date) FROM bars
               WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], symbol)
               GROUP BY symbol""",
            [wanted, wanted],
        ).fetchall()
        return {s: (lo, hi) for s, lo, hi in rows}

    def fx_ranges(self, base: str = "USD") -> dict[str, tuple[date, date]]:
        """``quote → (first, last)`` stored rate date against ``base``."""
        rows = self.con.execute(
            "SELECT quote, min(date), max(date) FROM fx_rates WHERE base = ? GROUP BY quote",
            [base],
        ).fetchall()
        return {q: (lo, hi) for q, lo, hi in rows}

    def count(self, table: str) -> int:
        if table not in HISTORY_DDL:
            raise StoreError(f"unknown table {table!r}")
        return int(_scalar(self.con, f"SELECT count(*) FROM {table}"))  # noqa: S608

    # Run log
    def start_run(self, job: str, provider: str) -> str:
        """Record a job start (status ``running``); returns its ``run_id``."""
        run_id = uuid.uuid4().hex
        self.con.execute(
            "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, NULL, 0, 'running', NULL)",
            [run_id, job, provider, utc_now()],
        )
        return run_id

    def finish_run(self, run_id: str, rows: int, status: str, error: str | None = None) -> None:
        """Record the end of a run: rows written, ``ok``/``failed``, error text."""
        if status not in RUN_STATUSES:
            raise StoreError(f"run status must be one of {RUN_STATUSES}, not {status!r}")
        self.con.execute(
            "UPDATE ingest_runs SET finished_at = ?, rows = ?, status = ?, error = ? "
            "WHERE run_id = ?",
            [utc_now(), rows, status, error, run_id],
        )

    # Publishing
    def _checksum(self) -> str:
        digest = hashlib.sha256()
        for table in sorted(set(HISTORY_DDL) - {"snapshot_meta"}):
            count, xor = self.con.execute(
                f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {table} t"  # noqa: S608
            ).fetchone() or (0, 0)
            digest.update(f"{table}:{count}:{xor};".encode())
        return digest.hexdigest()[:16]

    def publish(self) -> PublishResult:
        """Publish the master as ``history.duckdb`` (atomic swap; see module docstring)."""
        t0 = time.perf_counter()
        con = self.con
        tmp = self.markets_dir / "history.tmp.duckdb"
        _remove(tmp, tmp.with_name(tmp.name + ".wal"))
        catalog = str(_scalar(con, "SELECT current_database()")).replace('"', '""')
        seq = int(_scalar(con, "SELECT coalesce(max(seq), 0) FROM snapshot_meta")) + 1
        published_at, checksum = utc_now(), self._checksum()
        # Bump the sequence in the master first so it never repeats, even after a crash.
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM snapshot_meta")
        con.execute("INSERT INTO snapshot_meta VALUES (?, ?, ?)", [seq, published_at, checksum])
        con.execute("COMMIT")
        con.execute(f"ATTACH {_sql_str(tmp)} AS snap")
        try:
            con.execute(f'COPY FROM DATABASE "{catalog}" TO snap')
            # The copy carries the bumped row; make sure the snapshot holds exactly it.
            con.execute("DELETE FROM snap.snapshot_meta")
            con.execute(
                "INSERT INTO snap.snapshot_meta VALUES (?, ?, ?)", [seq, published_at, checksum]
            )
        finally:
            con.execute("DETACH snap")  # checkpoints the snapshot
        _install(tmp, self.history_path)
        seconds = time.perf_counter() - t0
        log.info("published %s seq=%d in %.3fs", self.history_path, seq, seconds)
        return PublishResult(self.history_path, seq, published_at, checksum, seconds)

    def publish_live(self, quotes: pl.DataFrame | None = None) -> PublishResult:
        """Publish ``quotes`` (latest price per symbol, ``quotes`` table shape) as
        ``live.duckdb``, replacing the previous live file atomically."""
        self.con  # noqa: B018 - only the lock holder publishes
        t0 = time.perf_counter()
        tmp = self.markets_dir / "live.tmp.duckdb"
        _remove(tmp, tmp.with_name(tmp.name + ".wal"))
        published_at = utc_now()
        seq = time.time_ns()  # live files have no master; a clock-based sequence suffices
        con = duckdb.connect(str(tmp))
        try:
            _create_tables(con, LIVE_DDL)
            if quotes is not None and quotes.height:
                con.register("incoming", quotes)
                con.execute("INSERT OR REPLACE INTO quotes BY NAME SELECT * FROM incoming")
                con.unregister("incoming")
            count = _scalar(con, "SELECT count(*) FROM quotes")
            checksum = f"quotes:{count}"
            con.execute("INSERT INTO snapshot_meta VALUES (?, ?, ?)", [seq, published_at, checksum])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _install(tmp, self.live_path)
        return PublishResult(self.live_path, seq, published_at, checksum, time.perf_counter() - t0)
