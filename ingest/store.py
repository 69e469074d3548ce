"""The private master DuckDB and the read-only snapshots published from it.

Only :class:`MarketStore` opens ``<markets_dir>/history.master.duckdb``, and only while it
holds the process-level ``flock`` on ``<markets_dir>/ingest.lock`` (so two ingest
processes never write at once). Live quotes have their own master, lock and published file
(:class:`LiveStore`: ``live.master.duckdb``, ``live.lock``, ``live.duckdb``), so the quotes
job is never held up by a long backfill and republishing quotes never copies the history.
Readers (the app) only ever see published snapshots:

1. a batch is applied to the master in one transaction (keyed upserts: a plain
   ``INSERT``, redone as ``INSERT OR REPLACE`` when a key is stored already; a re-run adds
   nothing twice);
2. :meth:`MarketStore.publish` removes a leftover ``history.tmp.duckdb`` (+ ``.wal``),
   bumps ``snapshot_meta.seq``, closes the master (DuckDB checkpoints on close, so the file
   is a complete, WAL-free database), copies it to the tmp file, reopens the master,
   fsyncs the tmp file, ``os.replace``\\ s it over ``history.duckdb`` and fsyncs the
   directory. Open readers keep the old inode; new queries see the new file. (A byte copy of
   the closed master is ~9× faster than ``ATTACH`` + ``COPY FROM DATABASE`` at 2.6 M bars,
   which rebuilds every index; see docs/decisions.md.)

All timestamps are naive UTC.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
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
LIVE_MASTER_FILE = "live.master.duckdb"
LOCK_FILE = "ingest.lock"
LIVE_LOCK_FILE = "live.lock"
#: Runs kept in the live file's run log (the quotes job runs every few seconds).
LIVE_RUNS_KEPT = 200

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
        finished_at TIMESTAMP, rows BIGINT, status VARCHAR, error VARCHAR, detail VARCHAR""",
    "snapshot_meta": "seq BIGINT, published_at TIMESTAMP, checksum VARCHAR",
}
#: Additive migrations of masters created by earlier versions (run on every open).
MIGRATIONS: tuple[str, ...] = (
    # JSON: chain per data kind, attempts per provider and why providers were skipped.
    "ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS detail VARCHAR",
)
LIVE_DDL: dict[str, str] = {
    "quotes": """
        symbol VARCHAR PRIMARY KEY, ts TIMESTAMP, price DOUBLE, previous_close DOUBLE,
        currency VARCHAR, provider VARCHAR, fetched_at TIMESTAMP""",
    "ingest_runs": HISTORY_DDL["ingest_runs"],
    "snapshot_meta": HISTORY_DDL["snapshot_meta"],
}
LIVE_MIGRATIONS: tuple[str, ...] = (
    "ALTER TABLE quotes ADD COLUMN IF NOT EXISTS previous_close DOUBLE",
    *MIGRATIONS,
)
#: Tables :meth:`MarketStore.upsert` accepts.
UPSERT_TABLES = frozenset(HISTORY_DDL) - {"ingest_runs", "snapshot_meta"}
#: Primary key of every upsert table (to choose between plain insert and replace).
KEYS: dict[str, tuple[str, ...]] = {
    "symbols": ("symbol",),
    "bars": ("symbol", "date"),
    "fx_rates": ("date", "base", "quote"),
    "macro_observations": ("series_id", "date"),
    "news": ("id",),
    "quotes": ("symbol",),
}
#: ``market closed``: the quotes job found every relevant exchange closed and fetched nothing.
RUN_STATUSES = ("running", "ok", "failed", "market closed")
#: Error of a run whose process died (found ``running`` by the next lock holder).
INTERRUPTED = "interrupted: the ingest process ended before the run finished"


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


def _create_tables(
    con: duckdb.DuckDBPyConnection, ddl: Mapping[str, str], migrations: Iterable[str] = ()
) -> None:
    for table, columns in ddl.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
    for statement in migrations:
        con.execute(statement)


def snapshot_checksum(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> str:
    """Content checksum of ``tables`` (row count and XOR of row hashes per table).

    :meth:`MarketStore.publish` stores it in ``snapshot_meta``; recomputing it on a
    published file proves the file holds exactly what was published.
    """
    digest = hashlib.sha256()
    for table in sorted(tables):
        count, xor = con.execute(
            f"SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM {table} t"  # noqa: S608
        ).fetchone() or (0, 0)
        digest.update(f"{table}:{count}:{xor};".encode())
    return digest.hexdigest()[:16]


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, replace: bool) -> int:
    """(In a transaction.) Insert ``frame`` into ``table`` by column name; rows written.

    ``replace=False``: a plain ``INSERT`` (raises :class:`duckdb.ConstraintException` when a
    key is stored already or repeated in ``frame``). ``replace=True``: duplicate keys in
    ``frame`` keep the last row and stored keys are replaced (``INSERT OR REPLACE``).
    """
    keys = KEYS.get(table, ())
    if replace and keys and set(keys) <= set(frame.columns):
        frame = frame.unique(subset=list(keys), keep="last", maintain_order=True)
    verb = "INSERT OR REPLACE" if replace and keys else "INSERT"
    con.register("incoming", frame.to_arrow())
    try:
        sql = f"{verb} INTO {table} BY NAME SELECT * FROM incoming"  # noqa: S608 - allowlisted
        return int(_scalar(con, sql) or 0)
    finally:
        with contextlib.suppress(duckdb.Error):  # fails in an aborted transaction
            con.unregister("incoming")


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _copy_closed(master: Path, tmp: Path) -> None:
    """Copy the (closed, checkpointed) master to ``tmp``."""
    if _wal(master).exists():
        raise StoreError(f"{master} still has a WAL after closing; not publishing")
    shutil.copyfile(master, tmp)


def _install(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, atomically replace ``final`` with it, fsync the directory."""
    wal = _wal(tmp)
    if wal.exists():
        raise StoreError(f"snapshot {tmp} still has a WAL after DETACH; not publishing")
    _fsync_file(tmp)
    os.replace(tmp, final)
    _fsync_dir(final.parent)


# The stores --------------------------------------------------------------------------------
class _Master:
    """A private master database guarded by a lock file (base of the two stores)."""

    MASTER: str
    LOCK: str
    DDL: Mapping[str, str]
    MIGRATIONS_: tuple[str, ...] = ()

    def __init__(self, markets_dir: Path) -> None:
        self.markets_dir = Path(markets_dir)
        self.master_path = self.markets_dir / self.MASTER
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
        lock_path = self.markets_dir / self.LOCK
        self._lock = try_lock(lock_path)
        if self._lock is None:
            raise IngestBusy(
                f"another ingest job is running (pid {lock_holder(lock_path)}, lock {lock_path})"
            )
        try:
            self._con = duckdb.connect(str(self.master_path))
            _create_tables(self._con, self.DDL, self.MIGRATIONS_)
            # We hold the lock, so a run still "running" belongs to a process that died.
            self._con.execute(
                "UPDATE ingest_runs SET status = 'failed', "
                "error = coalesce(error, ?) WHERE status = 'running'",
                [INTERRUPTED],
            )
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
            name = type(self).__name__
            raise StoreError(f"{name} is not open; use `with {name}(...) as store:`")
        return self._con

    def _write(self, batch: Mapping[str, pl.DataFrame], allowed: frozenset[str]) -> dict[str, int]:
        unknown = set(batch) - allowed
        if unknown:
            tables = ", ".join(sorted(allowed))
            raise StoreError(f"cannot upsert into {sorted(unknown)}; tables: {tables}")
        con = self.con
        # Optimistic: jobs fetch only what is missing, so a plain INSERT (~1.5× faster than
        # deduplicating and INSERT OR REPLACE) usually succeeds; on a key conflict the whole
        # transaction is rolled back and redone with replace semantics.
        for replace in (False, True):
            written: dict[str, int] = {}
            con.execute("BEGIN TRANSACTION")
            try:
                for table, frame in batch.items():
                    written[table] = _insert(con, table, frame, replace) if frame.height else 0
                con.execute("COMMIT")
                return written
            except duckdb.ConstraintException:
                con.execute("ROLLBACK")
                with contextlib.suppress(duckdb.Error):
                    con.unregister("incoming")
                if replace:
                    raise
            except BaseException:
                con.execute("ROLLBACK")
                raise
        raise AssertionError("unreachable")

    # Run log
    def start_run(self, job: str, provider: str) -> str:
        """Record a job start (status ``running``); returns its ``run_id``."""
        run_id = uuid.uuid4().hex
        self.con.execute(
            "INSERT INTO ingest_runs (run_id, job, provider, started_at, rows, status) "
            "VALUES (?, ?, ?, ?, 0, 'running')",
            [run_id, job, provider, utc_now()],
        )
        return run_id

    def finish_run(
        self,
        run_id: str,
        rows: int,
        status: str,
        error: str | None = None,
        *,
        provider: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Record the end of a run: rows written, status, error text; optionally the
        provider(s) that delivered and ``detail`` (JSON: chain attempts)."""
        if status not in RUN_STATUSES:
            raise StoreError(f"run status must be one of {RUN_STATUSES}, not {status!r}")
        self.con.execute(
            "UPDATE ingest_runs SET finished_at = ?, rows = ?, status = ?, error = ?, "
            "provider = coalesce(?, provider), detail = ? WHERE run_id = ?",
            [utc_now(), rows, status, error, provider, detail, run_id],
        )

    # Publishing
    def _publish_copy(self, final: Path, seq: int, published_at: datetime, checksum: str) -> None:
        """Bump ``snapshot_meta`` in the master, close it (checkpoint), copy it to a tmp
        file, reopen it and install the copy as ``final`` (atomic swap)."""
        tmp = final.with_name(final.name.removesuffix(".duckdb") + ".tmp.duckdb")
        _remove(tmp, _wal(tmp))
        con = self.con
        # Bump the sequence in the master first so it never repeats, even after a crash.
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM snapshot_meta")
        con.execute("INSERT INTO snapshot_meta VALUES (?, ?, ?)", [seq, published_at, checksum])
        con.execute("COMMIT")
        con.close()  # checkpoints: the file alone is now the whole database
        self._con = None
        try:
            _copy_closed(self.master_path, tmp)
        finally:
            self._con = duckdb.connect(str(self.master_path))
        _install(tmp, final)


class MarketStore(_Master):
    """Read-write access to the history master (ingest process only).

    Use as a context manager: entering takes the ingest lock (:class:`IngestBusy` when
    another job holds it) and opens the master; leaving closes both.
    """

    MASTER = MASTER_FILE
    LOCK = LOCK_FILE
    DDL = HISTORY_DDL
    MIGRATIONS_ = MIGRATIONS

    # Writes
    def upsert(self, table: str, frame: pl.DataFrame) -> int:
        """Insert-or-replace ``frame`` (columns matched by name) into ``table``; rows written."""
        return self.write({table: frame})[table]

    def write(self, batch: Mapping[str, pl.DataFrame]) -> dict[str, int]:
        """Upsert several tables in one transaction; rows written per table."""
        return self._write(batch, UPSERT_TABLES)

    def fill_fx_gaps(self, quotes: Iterable[str], base: str = "USD") -> int:
        """Forward-fill missing weekdays *between* stored rates of ``quotes`` vs ``base``.

        A filled row repeats the last real rate before it (its provider too) with
        ``filled = true`` and ``fetched_at`` = now. Nothing is added after the last real
        rate, so the next gap-only run still fetches the real value for those days.
        Returns rows added (0 on a re-run).
        """
        wanted = list(quotes)
        if not wanted:
            return 0
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            added = _scalar(
                con,
                """
                INSERT INTO fx_rates (date, base, quote, rate, provider, fetched_at, filled)
                WITH real AS (
                    SELECT * FROM fx_rates
                    WHERE base = ? AND list_contains(?::VARCHAR[], quote) AND NOT filled
                ),
                bounds AS (SELECT base, quote, min(date) AS lo, max(date) AS hi
                           FROM real GROUP BY ALL),
                days AS (
                    SELECT base, quote,
                           unnest(generate_series(lo, hi, INTERVAL 1 DAY))::DATE AS date
                    FROM bounds
                ),
                missing AS (
                    SELECT d.* FROM days d
                    ANTI JOIN fx_rates f USING (base, quote, date)
                    WHERE isodow(d.date) <= 5
                )
                SELECT m.date, m.base, m.quote, r.rate, r.provider, ?, true
                FROM missing m ASOF JOIN real r
                  ON m.base = r.base AND m.quote = r.quote AND m.date >= r.date
                """,
                [base, wanted, utc_now()],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return int(added or 0)

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

    def macro_ranges(self) -> dict[str, tuple[date, date]]:
        """``series_id → (first, last)`` stored observation date."""
        rows = self.con.execute(
            "SELECT series_id, min(date), max(date) FROM macro_observations GROUP BY ALL"
        ).fetchall()
        return {s: (lo, hi) for s, lo, hi in rows}

    def last_news_at(self) -> datetime | None:
        """Publication time of the newest stored article (naive UTC), ``None`` if none."""
        return _scalar(self.con, "SELECT max(published_at) FROM news")

    def symbol_currencies(self) -> dict[str, str]:
        """``symbol → currency`` of the stored ``symbols`` table."""
        return dict(self.con.execute("SELECT symbol, currency FROM symbols").fetchall())

    def count(self, table: str) -> int:
        if table not in HISTORY_DDL:
            raise StoreError(f"unknown table {table!r}")
        return int(_scalar(self.con, f"SELECT count(*) FROM {table}"))  # noqa: S608

    # Publishing
    def _checksum(self) -> str:
        return snapshot_checksum(self.con, set(HISTORY_DDL) - {"snapshot_meta"})

    def publish(self) -> PublishResult:
        """Publish the master as ``history.duckdb`` (atomic swap; see module docstring)."""
        t0 = time.perf_counter()
        seq = int(_scalar(self.con, "SELECT coalesce(max(seq), 0) FROM snapshot_meta")) + 1
        published_at, checksum = utc_now(), self._checksum()
        self._publish_copy(self.history_path, seq, published_at, checksum)
        seconds = time.perf_counter() - t0
        log.info("published %s seq=%d in %.3fs", self.history_path, seq, seconds)
        return PublishResult(self.history_path, seq, published_at, checksum, seconds)

    def publish_live(self, quotes: pl.DataFrame | None = None) -> PublishResult:
        """Upsert ``quotes`` (``quotes`` table shape) into the live master and publish
        ``live.duckdb`` (see :meth:`LiveStore.publish_live`). Takes the live lock
        (:class:`IngestBusy` while the quotes job holds it)."""
        self.con  # noqa: B018 - only the lock holder publishes
        with LiveStore(self.markets_dir) as live:
            if quotes is not None and quotes.height:
                live.upsert_quotes(quotes)
            return live.publish_live()


class LiveStore(_Master):
    """The live-quotes master ``live.master.duckdb`` and its published ``live.duckdb``.

    Separate file and lock (``live.lock``) from the history master, so the quotes job runs
    while a long backfill holds the ingest lock, and a quotes publish copies only a few
    kilobytes. The live file holds the latest quote per symbol and the last
    :data:`LIVE_RUNS_KEPT` quotes runs (``ingest_runs``).
    """

    MASTER = LIVE_MASTER_FILE
    LOCK = LIVE_LOCK_FILE
    DDL = LIVE_DDL
    MIGRATIONS_ = LIVE_MIGRATIONS

    def upsert_quotes(self, quotes: pl.DataFrame) -> int:
        """Insert-or-replace the latest quote per symbol; a quote older than the stored one
        for its symbol is ignored. Rows written."""
        newest = quotes.sort("ts").unique(subset=["symbol"], keep="last", maintain_order=True)
        stored = dict(self.con.execute("SELECT symbol, ts FROM quotes").fetchall())
        if stored:
            older = pl.DataFrame(
                {"symbol": list(stored), "stored_ts": list(stored.values())},
                schema={"symbol": pl.String(), "stored_ts": newest.schema["ts"]},
            )
            newest = (
                newest.join(older, on="symbol", how="left")
                .filter(pl.col("stored_ts").is_null() | (pl.col("ts") >= pl.col("stored_ts")))
                .drop("stored_ts")
            )
        return self._write({"quotes": newest}, frozenset({"quotes"}))["quotes"]

    def count(self, table: str) -> int:
        if table not in LIVE_DDL:
            raise StoreError(f"unknown table {table!r}")
        return int(_scalar(self.con, f"SELECT count(*) FROM {table}"))  # noqa: S608

    def publish_live(self) -> PublishResult:
        """Publish the live master as ``live.duckdb`` (atomic swap, as for history).

        The live file is tiny, so it is built with ``ATTACH tmp; CREATE TABLE … AS SELECT;
        DETACH`` on the open master (reopening the master would cost more than the copy).
        Its ``seq`` is clock-based (``time.time_ns()``): live files are replaced every few
        seconds and the master keeps no publish counter.
        """
        t0 = time.perf_counter()
        con = self.con
        tables = sorted(set(LIVE_DDL) - {"snapshot_meta"})
        # one round trip: the run-log size and the checksum parts of every table
        parts = ", ".join(
            f"(SELECT count(*) FROM {t}), (SELECT coalesce(bit_xor(hash(x)), 0) FROM {t} x)"  # noqa: S608
            for t in tables
        )
        row = con.execute(f"SELECT (SELECT count(*) FROM ingest_runs), {parts}").fetchall()[0]  # noqa: S608
        if row[0] > LIVE_RUNS_KEPT + 50:
            con.execute(
                "DELETE FROM ingest_runs WHERE run_id NOT IN (SELECT run_id FROM ingest_runs "
                "ORDER BY started_at DESC LIMIT ?)",
                [LIVE_RUNS_KEPT],
            )
            checksum = snapshot_checksum(con, tables)
        else:
            digest = hashlib.sha256()
            for i, table in enumerate(tables):
                digest.update(f"{table}:{row[1 + 2 * i]}:{row[2 + 2 * i]};".encode())
            checksum = digest.hexdigest()[:16]
        seq, published_at = time.time_ns(), utc_now()
        tmp = self.markets_dir / "live.tmp.duckdb"
        _remove(tmp, _wal(tmp))
        con.execute(f"ATTACH {_sql_str(tmp)} AS snap")
        try:
            for table in tables:
                con.execute(f"CREATE TABLE snap.{table} AS SELECT * FROM {table}")  # noqa: S608
            con.execute(
                "CREATE TABLE snap.snapshot_meta AS SELECT ?::BIGINT AS seq, "
                "?::TIMESTAMP AS published_at, ?::VARCHAR AS checksum",
                [seq, published_at, checksum],
            )
        finally:
            con.execute("DETACH snap")  # checkpoints the snapshot
        _install(tmp, self.live_path)
        seconds = time.perf_counter() - t0
        log.debug("published %s seq=%d in %.3fs", self.live_path, seq, seconds)
        return PublishResult(self.live_path, seq, published_at, checksum, seconds)
