"""Ingest jobs: fetch what is missing through the provider chains, write it to a master,
publish once.

Jobs: :func:`run_prices` (daily bars, FX, symbols), :func:`run_fx`, :func:`run_macro`,
:func:`run_news` (history master → ``history.duckdb``) and :func:`run_quotes` (live master
→ ``live.duckdb`` only). Every provider call goes through
:meth:`ingest.chain.ProviderChain.run`, so live providers slot in; each run records in
``ingest_runs`` which provider(s) delivered (``provider``) and, as JSON in ``detail``, the
chain of each data kind and every attempt's outcome with the reasons providers were skipped
or failed.

Gap-only: per symbol, only dates after its last stored bar are fetched (and, when ``start``
is earlier than its first stored bar, the dates before it), so a symbol's stored history
stays one contiguous range and a re-run fetches nothing twice. FX rates vs USD follow the
same rule per currency; macro series also re-fetch the last :data:`MACRO_REVISION_DAYS` days
(FRED revises recent observations). A failing symbol (currency, series) is recorded and
never stops the others; a chain in which every provider answered "no data" for a range
(a weekend, a holiday) is not a failure.

Forward fill: bars are never filled (a missing day stays missing: readers use as-of joins
and the Data health page counts the gaps). FX rates are filled for weekdays *between* two
real rates of a currency (``filled = true``, provider of the rate repeated), so every
trading day of a valuation has a rate; nothing is filled after the last real rate, so the
next run still fetches it. Macro observations, news and quotes are never filled.

Fetching runs in one worker thread (one provider call at a time, in order) while the
calling thread writes finished symbols to the master in chunks of about
:data:`CHUNK_ROWS` rows, one transaction each: a kill leaves whole symbols behind, which the
next gap-only run continues from.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import sys
import threading
import time
import typing
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm

from ingest.chain import Attempt, ChainExhausted, ProviderChain, build_chain
from ingest.providers import (
    BARS_SCHEMA,
    FX_SCHEMA,
    MACRO_SCHEMA,
    NEWS_SCHEMA,
    QUOTES_SCHEMA,
    SYMBOLS_SCHEMA,
    MarketProvider,
    NoData,
)
from ingest.store import LiveStore, MarketStore, utc_now
from nexus.settings import Settings

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
#: Rows buffered before the writer commits a chunk (whole symbols only).
CHUNK_ROWS = 1_000_000
#: Default first date of a symbol in live mode when the provider does not say.
LIVE_HISTORY_YEARS = 20
#: First date of a macro series when the provider does not say.
MACRO_HISTORY_START = date(2000, 1, 1)
#: Recent macro observations re-fetched on every run (revisions).
MACRO_REVISION_DAYS = 400
#: How far back the first news run looks.
NEWS_LOOKBACK_DAYS = 7
#: Symbols per news request (a failing request is retried symbol by symbol).
NEWS_BATCH = 20
#: Tables whose rows count as "rows" of a run (``symbols`` rows are refreshed every run).
ROW_TABLES = ("bars", "fx_rates", "macro_observations", "news", "quotes")
#: Base currencies the app offers: the fx job keeps their USD rates even if no symbol uses them.
BASE_CURRENCIES: tuple[str, ...] = typing.get_args(
    Settings.model_fields["base_currency"].annotation
)

#: Ticker suffix → (exchange MIC for the calendar, currency). No suffix: a US listing.
SUFFIXES: dict[str, tuple[str, str]] = {
    "": ("XNYS", "USD"),
    "L": ("XLON", "GBP"),
    "DE": ("XETR", "EUR"),
    "F": ("XFRA", "EUR"),
    "PA": ("XPAR", "EUR"),
    "AS": ("XAMS", "EUR"),
    "BR": ("XBRU", "EUR"),
    "MI": ("XMIL", "EUR"),
    "MC": ("XMAD", "EUR"),
    "SW": ("XSWX", "CHF"),
    "T": ("XTKS", "JPY"),
    "TO": ("XTSE", "CAD"),
    "HK": ("XHKG", "HKD"),
    "AX": ("XASX", "AUD"),
}
#: Live-mode symbols flagged ``is_benchmark`` (broad-market ETFs).
BENCHMARKS = frozenset({"SPY", "VOO", "IVV", "VTI", "VT", "ACWI", "URTH", "QQQ", "IWM"})


@dataclass(frozen=True, slots=True)
class JobResult:
    """Outcome of one ingest run. ``failures`` maps a symbol (or ``FX:<ccy>``, a series id)
    to its error. ``status``: ``ok`` | ``failed`` | ``market closed`` (quotes only)."""

    run_id: str
    job: str
    provider: str
    status: str
    bars: int = 0  # bar rows written
    fx: int = 0  # fx rows written (filled ones included)
    symbols: int = 0  # symbol rows written
    quotes: int = 0
    macro: int = 0
    news: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    seq: int | None = None  # published snapshot sequence, None if not published
    seconds: float = 0.0
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Market rows written (all but ``symbols``), as recorded in ``ingest_runs.rows``."""
        return self.bars + self.fx + self.quotes + self.macro + self.news

    @property
    def partial(self) -> bool:
        """Succeeded overall but some symbols/currencies failed."""
        return self.status == "ok" and bool(self.failures)


def missing_ranges(
    stored: tuple[date, date] | None, start: date | None, end: date, history_start: date
) -> list[tuple[date, date]]:
    """Inclusive date ranges to fetch so the stored range covers ``[start, end]``.

    Nothing stored: ``[start or history_start, end]``. Otherwise ``[start, first-1]`` when
    ``start`` is before the first stored date, and ``[last+1, end]`` when ``end`` is after
    the last one (never leaving a hole between fetched and stored dates).
    """
    if stored is None:
        begin = start or history_start
        return [(begin, end)] if begin <= end else []
    first, last = stored
    ranges = []
    if start is not None and start < first:
        ranges.append((start, first - DAY))
    if last < end:
        ranges.append((last + DAY, end))
    return ranges


#: Values of columns a provider frame may leave out (others become null).
DEFAULTS: dict[str, Any] = {"dividend": 0.0, "split": 1.0, "filled": False}


def _conform(
    frame: pl.DataFrame, schema: dict[str, pl.DataType], provider: str | None = None
) -> pl.DataFrame:
    """The table's columns in order and types (raises if a provider frame cannot fit).

    Missing columns get :data:`DEFAULTS` or null; a missing or null ``provider`` /
    ``fetched_at`` becomes the delivering provider / now, so every row keeps both."""
    fill: dict[str, Any] = {**DEFAULTS, "provider": provider, "fetched_at": utc_now()}
    missing = [pl.lit(fill.get(k), schema[k]).alias(k) for k in schema if k not in frame.columns]
    if missing:
        frame = frame.with_columns(missing)
    present = [
        pl.col(k).fill_null(pl.lit(v, schema[k]))
        for k, v in fill.items()
        if k in schema and v is not None
    ]
    return frame.select(list(schema)).cast(schema).with_columns(present)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _summary(failures: dict[str, str], total: int) -> str | None:
    if not failures:
        return None
    shown = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[:10])
    more = f"; … {len(failures) - 10} more" if len(failures) > 10 else ""
    return f"{len(failures)} of {total} symbols/currencies failed: {shown}{more}"


def _today() -> date:
    return datetime.now(UTC).date()


# Chain attempts -----------------------------------------------------------------------------
class _Attempts:
    """Outcomes of every chain call of one run, for ``ingest_runs.provider``/``detail``."""

    def __init__(self) -> None:
        self.chains: dict[str, list[str]] = {}
        self.delivered: Counter[str] = Counter()
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.reasons: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, attempts: Iterable[Attempt], delivered: str | None = None) -> None:
        with self._lock:
            for a in attempts:
                self.outcomes[a.provider][a.outcome] += 1
                reasons = self.reasons[a.provider]
                if a.reason and a.reason not in reasons and len(reasons) < 5:
                    reasons.append(a.reason[:300])
            if delivered:
                self.delivered[delivered] += 1

    def provider(self, default: str) -> str:
        """Providers that delivered, most calls first; ``default`` when none did."""
        return ",".join(name for name, _ in self.delivered.most_common()) or default

    def detail(self, **extra: Any) -> dict[str, Any]:
        return {
            "chains": self.chains,
            "delivered": dict(self.delivered),
            "attempts": {p: dict(c) for p, c in self.outcomes.items()},
            "reasons": {p: r for p, r in self.reasons.items() if r},
            **extra,
        }


def _call(
    chain: ProviderChain, method: str, *args: Any, rec: _Attempts
) -> tuple[pl.DataFrame | None, str | None]:
    """``chain.run(method, *args)``: the frame and provider, or ``(None, None)`` when the
    providers that answered all had nothing (and none failed). Raises
    :class:`~ingest.chain.ChainExhausted` when a provider failed or every one was skipped."""
    try:
        frame, name, attempts = chain.run(method, *args)
    except ChainExhausted as exc:
        rec.add(exc.attempts)
        outcomes = {a.outcome for a in exc.attempts}
        if "empty" in outcomes and "failed" not in outcomes:
            return None, None
        raise
    rec.add(attempts, delivered=name)
    return frame, name


# The app database (read-only): which symbols users hold or watch ---------------------------
_ENGINES: dict[str, Any] = {}
_ENGINES_LOCK = threading.Lock()


def _readonly_engine(url: str) -> Any:
    """A read-only engine on the app database (one per URL); ``None`` while a SQLite
    database file does not exist (never created by this read)."""
    import sqlalchemy as sa

    with _ENGINES_LOCK:
        if url in _ENGINES:
            return _ENGINES[url]
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if not path or path == ":memory:" or not Path(path).exists():
                return None
            engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        else:
            engine = sa.create_engine(
                url,
                pool_pre_ping=True,
                pool_size=1,
                execution_options={"postgresql_readonly": True},
            )
        _ENGINES[url] = engine
        return engine


def _app_rows(settings: Settings, sql: str, **params: Any) -> list[tuple[Any, ...]] | None:
    """Rows of one query on the app database, read-only; ``None`` when the database or a
    table it needs does not exist (yet)."""
    import sqlalchemy as sa

    engine = _readonly_engine(settings.sqlalchemy_url)
    if engine is None:
        return None
    statement = sa.text(sql)
    if "symbols" in params:
        statement = statement.bindparams(sa.bindparam("symbols", expanding=True))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(statement, params)]
    except sa.exc.SQLAlchemyError as exc:
        log.debug("app database query failed (%s): %s", sql.split()[0:4], exc)
        return None


def tracked_symbols(settings: Settings) -> list[str]:
    """Symbols held in any portfolio (``instruments`` with transactions) or on any
    watchlist, read-only from ``settings.sqlalchemy_url``; empty if there is no database."""
    held = _app_rows(
        settings,
        "SELECT DISTINCT i.symbol FROM instruments i JOIN transactions t ON t.symbol = i.symbol",
    )
    watched = _app_rows(settings, "SELECT DISTINCT symbol FROM watchlist_items")
    return sorted({r[0] for r in (held or []) + (watched or []) if r[0]})


def exchange_of(symbol: str) -> tuple[str, str]:
    """``(MIC, currency)`` guessed from a ticker suffix (``VOD.L`` → XLON, GBP); US else."""
    _, dot, suffix = symbol.rpartition(".")
    return SUFFIXES.get(suffix.upper() if dot else "", SUFFIXES[""])


@functools.cache
def _calendar(mic: str, year: int) -> Any:
    import exchange_calendars as xcals

    # exchange_calendars 4.13 on pandas 3.1 trips pandas' own deprecation of ``.values``
    # on tz-aware data; harmless, and not ours to fix.
    warnings.filterwarnings("ignore", message=r".*\.values returning an ndarray that drops")
    return xcals.get_calendar(mic, start=date(year - 1, 1, 1), end=date(year + 1, 12, 31))


def exchange_open(mic: str, now: datetime) -> bool:
    """Is ``mic`` open at ``now`` (naive UTC)? Unknown exchanges count as open."""
    import pandas as pd

    try:
        calendar = _calendar(mic, now.year)
    except Exception as exc:  # unknown MIC: do not block quotes
        log.warning("no trading calendar for %s (%s); treating it as open", mic, exc)
        return True
    return bool(calendar.is_open_on_minute(pd.Timestamp(now, tz="UTC")))


def _live_universe(settings: Settings, symbols: Sequence[str]) -> pl.DataFrame:
    """``symbols`` rows for live-mode symbols: name/currency/asset class from the app's
    ``instruments`` table where known, else guessed from the ticker."""
    known = {
        r[0]: r[1:]
        for r in _app_rows(
            settings,
            "SELECT symbol, name, currency, asset_class FROM instruments WHERE symbol IN :symbols",
            symbols=list(symbols),
        )
        or []
    }
    rows = []
    for s in symbols:
        mic, currency = exchange_of(s)
        name, ccy, asset_class = known.get(s, (s, currency, None))
        etf = s in BENCHMARKS
        rows.append(
            {
                "symbol": s,
                "name": name or s,
                "currency": ccy or currency,
                "asset_class": asset_class or ("etf" if etf else "equity"),
                "sector": None,
                "region": None,
                "exchange": mic,
                "is_benchmark": etf,
                "provider": None,
                "fetched_at": utc_now(),
            }
        )
    return pl.DataFrame(rows, schema=SYMBOLS_SCHEMA)


# Fetch in a worker thread, write in chunks ----------------------------------------------------
Batch = dict[str, list[pl.DataFrame]]
Task = tuple[str, Callable[[], list[tuple[str, pl.DataFrame]]]]
_DONE = object()


def _pipeline(
    tasks: Sequence[Task],
    failures: dict[str, str],
    write: Callable[[Batch], None],
    *,
    desc: str,
    unit: str,
    progress: bool,
    chunk_rows: int = CHUNK_ROWS,
) -> None:
    """Run each task (``key``, fetch) in a worker thread, in order; a task's frames are
    written by ``write`` in this thread, batched to about ``chunk_rows`` rows, while the
    worker fetches on (it stays at most two chunks ahead). An error of a task goes to
    ``failures[key]`` and never stops the others. ``write`` is always called at least once
    (with what is left, maybe nothing)."""
    items: queue.Queue[Any] = queue.Queue()
    room = threading.Condition()
    buffered = [0]  # rows fetched and not yet written
    stop = threading.Event()

    def work() -> None:
        try:
            for key, fetch in tqdm(
                tasks, desc=desc, unit=unit, file=sys.stderr, disable=not progress
            ):
                with room:
                    while buffered[0] >= 2 * chunk_rows and not stop.is_set():
                        room.wait(0.2)
                if stop.is_set():
                    return
                try:
                    frames = fetch()
                except Exception as exc:  # one bad item must not stop the others
                    failures[key] = _error_text(exc)
                    log.warning("%s failed: %s", key, _error_text(exc))
                    continue
                if frames:
                    with room:
                        buffered[0] += sum(f.height for _, f in frames)
                    items.put(frames)
        finally:
            items.put(_DONE)

    worker = threading.Thread(target=work, name="ingest-fetch", daemon=True)
    worker.start()
    pending: Batch = defaultdict(list)
    rows = 0

    def flush() -> None:
        nonlocal pending, rows
        write(pending)
        with room:
            buffered[0] -= rows
            room.notify_all()
        pending, rows = defaultdict(list), 0

    try:
        while (item := items.get()) is not _DONE:
            for table, frame in item:
                pending[table].append(frame)
                rows += frame.height
            if rows >= chunk_rows:
                flush()
        flush()
    finally:
        stop.set()
        with room:
            room.notify_all()
        worker.join()


def _writer(
    store: MarketStore,
    written: Counter[str],
    schemas: Mapping[str, dict[str, pl.DataType]],
    job: str,
    run_id: str,
) -> Callable[[Batch], None]:
    def write(batch: Batch) -> None:
        frames = {t: pl.concat([pl.DataFrame(schema=schemas[t]), *fs]) for t, fs in batch.items()}
        n = sum(f.height for f in frames.values())
        if n:
            log.info("%s run %s: writing %d rows", job, run_id, n)
            written.update(store.write(frames))

    return write


# The history jobs ---------------------------------------------------------------------------
@dataclass
class _Work:
    """What a job body did: the keys whose failure fails the run (all of them failed),
    how many items it tried in all (for the error summary) and extra detail."""

    keys: list[str]
    total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _history_job(
    settings: Settings,
    job: str,
    chains: Callable[[], dict[str, ProviderChain]],
    body: Callable[
        [MarketStore, dict[str, ProviderChain], _Attempts, dict[str, str], Counter[str], str], _Work
    ],
) -> JobResult:
    """Open the history master (ingest lock), record the run, run ``body``, publish once.

    Raises :class:`~ingest.store.IngestBusy` when another job holds the lock; every other
    error is returned as a ``failed`` result (and recorded and published)."""
    t0 = time.perf_counter()
    failures: dict[str, str] = {}
    rec = _Attempts()
    written: Counter[str] = Counter()
    with MarketStore.from_settings(settings) as store:
        run_id = store.start_run(job, settings.market_provider)
        try:
            built = chains()
            rec.chains = {kind: chain.names for kind, chain in built.items()}
            label = ",".join(dict.fromkeys(n for c in built.values() for n in c.names))
            log.info("%s run %s started (providers %s)", job, run_id, label)
            work = body(store, built, rec, failures, written, run_id)
        except Exception as exc:
            log.exception("%s run %s failed", job, run_id)
            return _fail(store, run_id, job, rec, _error_text(exc), failures, t0, written)

        rows = sum(written[t] for t in ROW_TABLES)
        all_failed = bool(work.keys) and all(k in failures for k in work.keys)
        status = "failed" if all_failed else "ok"
        error = _summary(failures, len(work.keys) if work.total is None else work.total)
        provider = rec.provider(label)
        detail = rec.detail(**work.extra)
        store.finish_run(run_id, rows, status, error, provider=provider, detail=json.dumps(detail))
        try:
            log.info("%s run %s: publishing", job, run_id)
            published = store.publish()
        except Exception as exc:
            log.exception("%s run %s: publish failed", job, run_id)
            error = f"publish failed: {_error_text(exc)}"
            return _fail(store, run_id, job, rec, error, failures, t0, written, publish=False)
    result = _result(
        run_id, job, provider, status, written, failures, published.seq, t0, error, detail
    )
    counts = ", ".join(f"{n:,} {t}" for t, n in written.items() if n) or "nothing new"
    log.info(
        "%s run %s %s: %s, %d failures, snapshot seq %d (%.1fs)",
        job, run_id, status, counts, len(failures), published.seq, result.seconds,
    )  # fmt: skip
    return result


def _result(
    run_id: str,
    job: str,
    provider: str,
    status: str,
    written: Mapping[str, int],
    failures: dict[str, str],
    seq: int | None,
    t0: float,
    error: str | None,
    detail: dict[str, Any],
) -> JobResult:
    return JobResult(
        run_id=run_id,
        job=job,
        provider=provider,
        status=status,
        bars=written.get("bars", 0),
        fx=written.get("fx_rates", 0),
        symbols=written.get("symbols", 0),
        quotes=written.get("quotes", 0),
        macro=written.get("macro_observations", 0),
        news=written.get("news", 0),
        failures=failures,
        seq=seq,
        seconds=time.perf_counter() - t0,
        error=error,
        detail=detail,
    )


def _fail(
    store: MarketStore,
    run_id: str,
    job: str,
    rec: _Attempts,
    error: str,
    failures: dict[str, str],
    t0: float,
    written: Mapping[str, int],
    *,
    publish: bool = True,
) -> JobResult:
    """Record a failed run and publish it (best effort) so the app can show the failure."""
    rows = sum(written.get(t, 0) for t in ROW_TABLES)
    detail = rec.detail()
    provider = rec.provider("")
    store.finish_run(
        run_id, rows, "failed", error, provider=provider or None, detail=json.dumps(detail)
    )
    seq = None
    if publish:
        try:
            seq = store.publish().seq
        except Exception:
            log.exception("could not publish the failed run %s", run_id)
    return _result(run_id, job, provider, "failed", written, failures, seq, t0, error, detail)


def _chain_of(settings: Settings, kind: str, override: ProviderChain | None) -> ProviderChain:
    return override if override is not None else build_chain(settings, kind)


def _catalog(chain: ProviderChain, settings: Settings, explicit: bool) -> MarketProvider | None:
    """The provider whose ``symbols()`` is the universe (demo mode, or an explicit
    ``provider=``); ``None`` in live mode, where the universe is the tracked symbols."""
    if not explicit and settings.market_provider != "demo":
        return None
    return next((p for p in chain.providers if callable(getattr(p, "symbols", None))), None)


def _describe(chain: ProviderChain, name: str | None, symbol: str) -> dict[str, Any]:
    """Name and exchange of ``symbol`` from provider ``name``'s ``symbol_info`` (if it has
    one); the currency stays ours (from the app's instruments or the ticker)."""
    provider = next((p for p in chain.providers if p.name == name), None)
    info = getattr(provider, "symbol_info", None)
    if info is None:
        return {}
    try:
        row = info(symbol).row(0, named=True)
    except Exception as exc:  # metadata is a nicety: never fail the bars for it
        log.debug("no metadata for %s from %s: %s", symbol, name, exc)
        return {}
    return {k: row[k] for k in ("name", "exchange") if row.get(k)}


def _history_start(chain: ProviderChain, default: date) -> date:
    return next((p.history_start for p in chain.providers if hasattr(p, "history_start")), default)


def _fx_tasks(
    store: MarketStore,
    chain: ProviderChain,
    currencies: Iterable[str],
    start: date | None,
    end: date,
    rec: _Attempts,
) -> list[Task]:
    first = _history_start(chain, _today() - timedelta(days=365 * LIVE_HISTORY_YEARS))
    ranges = store.fx_ranges("USD")

    def fetch(currency: str) -> list[tuple[str, pl.DataFrame]]:
        out = []
        for a, b in missing_ranges(ranges.get(currency), start, end, first):
            frame, name = _call(chain, "fx_rates", [currency], a, b, rec=rec)
            if frame is not None:
                frame = _conform(frame, FX_SCHEMA, name).filter(
                    pl.col("date").is_between(a, b) & (pl.col("quote") == currency)
                )
                out.append(("fx_rates", frame))
        return out

    return [(f"FX:{c}", functools.partial(fetch, c)) for c in currencies]


def run_prices(
    settings: Settings,
    *,
    symbols: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    progress: bool = True,
    provider: MarketProvider | None = None,
    job: str = "prices",
    chain: ProviderChain | None = None,
    fx_chain: ProviderChain | None = None,
) -> JobResult:
    """Fetch missing daily bars, FX rates vs USD and the symbols table; record the run in
    ``ingest_runs``; publish one snapshot at the end.

    ``symbols``: the subset to fetch (None or empty: demo mode every symbol the provider
    has; live mode the symbols users hold or watch plus ``settings.symbol_list()``).
    ``end`` defaults to today (UTC); ``start`` only matters for backfills (see
    :func:`missing_ranges`). ``provider`` replaces both chains with that one provider;
    ``chain``/``fx_chain`` replace the ``prices``/``fx`` chains of the settings.
    Raises :class:`~ingest.store.IngestBusy` when another ingest job holds the lock; every
    other error is returned as a ``failed`` result (and recorded).
    """
    end = end or _today()
    if provider is not None:
        chain = ProviderChain("prices", [provider])
        fx_chain = ProviderChain("fx", [provider])

    def chains() -> dict[str, ProviderChain]:
        return {
            "prices": _chain_of(settings, "prices", chain),
            "fx": _chain_of(settings, "fx", fx_chain),
        }

    def body(
        store: MarketStore,
        built: dict[str, ProviderChain],
        rec: _Attempts,
        failures: dict[str, str],
        written: Counter[str],
        run_id: str,
    ) -> _Work:
        bars_chain = built["prices"]
        catalog = _catalog(bars_chain, settings, explicit=provider is not None)
        if catalog is not None:
            universe = catalog.symbols()
            known = set(universe["symbol"].to_list())
            requested = list(dict.fromkeys(symbols)) if symbols else sorted(known)
            for sym in requested:
                if sym not in known:
                    failures[sym] = f"unknown symbol for provider {catalog.name!r}"
            first = catalog.history_start
        else:
            requested = list(
                dict.fromkeys(symbols or [*tracked_symbols(settings), *settings.symbol_list()])
            )
            universe = _live_universe(settings, requested)
            first = _history_start(bars_chain, end - timedelta(days=365 * LIVE_HISTORY_YEARS))
        wanted = [s for s in requested if s not in failures]
        rows_of = {r["symbol"]: r for r in universe.iter_rows(named=True)}
        ranges = store.bar_ranges(wanted)
        described = set(store.symbol_currencies()) if catalog is None else set()

        def fetch_bars(symbol: str) -> list[tuple[str, pl.DataFrame]]:
            out = []
            spans = missing_ranges(ranges.get(symbol), start, end, first)
            for a, b in spans:
                frame, name = _call(bars_chain, "bars", symbol, a, b, rec=rec)
                if frame is None:
                    if symbol not in ranges and len(spans) == 1:  # nothing, ever: a bad ticker?
                        providers = ", ".join(bars_chain.names)
                        raise NoData(f"no bars for {symbol} from {providers} ({a} … {b})")
                    continue
                frame = _conform(frame, BARS_SCHEMA, name).filter(
                    pl.col("date").is_between(a, b) & (pl.col("symbol") == symbol)
                )
                out.append(("bars", frame))
                if catalog is None and frame.height and symbol not in described:
                    # live: a symbols row once it has bars (name/exchange from the provider
                    # that delivered them when it describes tickers)
                    described.add(symbol)
                    row = {**rows_of[symbol], "provider": name}
                    row.update(_describe(bars_chain, name, symbol))
                    out.append(("symbols", pl.DataFrame([row], schema=SYMBOLS_SCHEMA)))
            return out

        currencies = sorted(set(universe["currency"].drop_nulls().to_list()) - {"USD"})
        tasks: list[Task] = [(s, functools.partial(fetch_bars, s)) for s in wanted]
        tasks += _fx_tasks(store, built["fx"], currencies, start, end, rec)
        log.info(
            "%s run %s: fetching %d symbols, %d currencies",
            job,
            run_id,
            len(wanted),
            len(currencies),
        )
        write = _writer(
            store,
            written,
            {"bars": BARS_SCHEMA, "fx_rates": FX_SCHEMA, "symbols": SYMBOLS_SCHEMA},
            job,
            run_id,
        )

        _pipeline(tasks, failures, write, desc=f"{job}: bars", unit="symbol", progress=progress)
        if catalog is not None:  # demo: the symbols table is the provider's universe
            write({"symbols": [universe.filter(pl.col("symbol").is_in(wanted))]})
        written["fx_rates"] += store.fill_fx_gaps(currencies)
        return _Work(keys=requested, total=len(requested) + len(currencies))

    return _history_job(settings, job, chains, body)


def run_fx(
    settings: Settings,
    *,
    currencies: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    progress: bool = False,
    chain: ProviderChain | None = None,
) -> JobResult:
    """Fetch missing daily FX rates vs USD (gap-only per currency, interior weekdays
    forward-filled) and publish. ``currencies``: default every currency of the stored
    ``symbols`` table and the base currencies the app offers."""
    end = end or _today()

    def body(
        store: MarketStore,
        built: dict[str, ProviderChain],
        rec: _Attempts,
        failures: dict[str, str],
        written: Counter[str],
        run_id: str,
    ) -> _Work:
        wanted = list(
            currencies
            or sorted((set(store.symbol_currencies().values()) | set(BASE_CURRENCIES)) - {"USD"})
        )
        wanted = [c.upper() for c in wanted if c.upper() != "USD"]
        tasks = _fx_tasks(store, built["fx"], wanted, start, end, rec)
        log.info("fx run %s: fetching %d currencies", run_id, len(wanted))
        write = _writer(store, written, {"fx_rates": FX_SCHEMA}, "fx", run_id)
        _pipeline(tasks, failures, write, desc="fx", unit="currency", progress=progress)
        written["fx_rates"] += store.fill_fx_gaps(wanted)
        return _Work(keys=[f"FX:{c}" for c in wanted])

    return _history_job(settings, "fx", lambda: {"fx": _chain_of(settings, "fx", chain)}, body)


def run_macro(
    settings: Settings,
    *,
    series: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    chain: ProviderChain | None = None,
) -> JobResult:
    """Fetch macro observations (default ``settings.fred_series_list()``): new dates plus
    the last :data:`MACRO_REVISION_DAYS` days again (revisions), back to ``start`` if given."""
    end = end or _today()

    def body(
        store: MarketStore,
        built: dict[str, ProviderChain],
        rec: _Attempts,
        failures: dict[str, str],
        written: Counter[str],
        run_id: str,
    ) -> _Work:
        macro = built["macro"]
        wanted = list(dict.fromkeys(series or settings.fred_series_list()))
        ranges = store.macro_ranges()
        first_date = _history_start(macro, MACRO_HISTORY_START)

        def fetch(series_id: str) -> list[tuple[str, pl.DataFrame]]:
            stored = ranges.get(series_id)
            if stored is None:
                spans = [(start or first_date, end)]
            else:
                first, last = stored
                spans = [(start, first - DAY)] if start and start < first else []
                spans.append((max(first, last - timedelta(days=MACRO_REVISION_DAYS)), end))
            out = []
            for a, b in spans:
                if a > b:
                    continue
                frame, name = _call(macro, "observations", series_id, a, b, rec=rec)
                if frame is not None:
                    frame = _conform(frame, MACRO_SCHEMA, name).filter(
                        pl.col("date").is_between(a, b) & (pl.col("series_id") == series_id)
                    )
                    out.append(("macro_observations", frame))
            return out

        tasks = [(s, functools.partial(fetch, s)) for s in wanted]
        log.info("macro run %s: fetching %d series", run_id, len(wanted))
        write = _writer(store, written, {"macro_observations": MACRO_SCHEMA}, "macro", run_id)
        _pipeline(tasks, failures, write, desc="macro", unit="series", progress=False)
        return _Work(keys=wanted)

    return _history_job(
        settings, "macro", lambda: {"macro": _chain_of(settings, "macro", chain)}, body
    )


def _news_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """A stable ``id`` (hash of the URL) where the provider gave none."""
    import hashlib

    if frame.is_empty() or frame["id"].null_count() == 0:
        return frame
    ids = [
        i or hashlib.blake2b((u or t or "").encode(), digest_size=8).hexdigest()
        for i, u, t in zip(frame["id"], frame["url"], frame["title"], strict=True)
    ]
    return frame.with_columns(pl.Series("id", ids, pl.String()))


def run_news(
    settings: Settings,
    *,
    symbols: Sequence[str] | None = None,
    since: date | None = None,
    chain: ProviderChain | None = None,
) -> JobResult:
    """Fetch news for the symbols users hold or watch (live mode also
    ``settings.symbol_list()``); market-wide news when there are none. ``since`` defaults
    to the day before the newest stored article (first run: :data:`NEWS_LOOKBACK_DAYS`
    back). Articles are upserted by ``id``, so overlaps add nothing twice."""

    def body(
        store: MarketStore,
        built: dict[str, ProviderChain],
        rec: _Attempts,
        failures: dict[str, str],
        written: Counter[str],
        run_id: str,
    ) -> _Work:
        news = built["news"]
        if symbols is not None:
            wanted = list(dict.fromkeys(symbols))
        else:
            live = [] if settings.market_provider == "demo" else settings.symbol_list()
            wanted = list(dict.fromkeys([*tracked_symbols(settings), *live]))
        newest = store.last_news_at()
        first = since or (
            newest.date() - DAY if newest else _today() - timedelta(days=NEWS_LOOKBACK_DAYS)
        )

        def one(batch: list[str]) -> list[tuple[str, pl.DataFrame]]:
            frame, name = _call(news, "news", batch, first, rec=rec)
            if frame is None:
                return []
            return [("news", _news_ids(_conform(frame, NEWS_SCHEMA, name)).drop_nulls("id"))]

        def fetch(batch: list[str]) -> list[tuple[str, pl.DataFrame]]:
            if len(batch) <= 1:
                return one(batch)
            try:
                return one(batch)
            except Exception as exc:  # retry one by one: one bad symbol must not stop others
                log.warning("news for %d symbols failed (%s); retrying one by one", len(batch), exc)
            out = []
            for s in batch:
                try:
                    out += one([s])
                except Exception as exc:
                    failures[s] = _error_text(exc)
            return out

        batches = [wanted[i : i + NEWS_BATCH] for i in range(0, len(wanted), NEWS_BATCH)] or [[]]
        tasks = [(",".join(b) or "market", functools.partial(fetch, b)) for b in batches]
        log.info("news run %s: fetching news since %s for %d symbols", run_id, first, len(wanted))
        write = _writer(store, written, {"news": NEWS_SCHEMA}, "news", run_id)
        _pipeline(tasks, failures, write, desc="news", unit="request", progress=False)
        keys = wanted or ["market"]
        return _Work(keys=keys, extra={"since": first.isoformat(), "symbols": len(wanted)})

    return _history_job(
        settings, "news", lambda: {"news": _chain_of(settings, "news", chain)}, body
    )


# Quotes: the live file only ----------------------------------------------------------------
def run_quotes(
    settings: Settings,
    *,
    symbols: Sequence[str] | None = None,
    now: datetime | None = None,
    chain: ProviderChain | None = None,
) -> JobResult:
    """Fetch the latest quotes and publish ``live.duckdb`` (never the history file).

    Symbols: demo mode every demo symbol (the demo market is always open); live mode those
    users hold or watch plus ``settings.symbol_list()``, restricted to those whose exchange
    (from the ticker suffix, XNYS for US tickers) is open at ``now`` (naive UTC, default
    the current time) per ``exchange_calendars``. All closed: the run is recorded with
    status ``market closed`` and nothing is fetched or published.
    Holds the live lock (``live.lock``), not the ingest lock, so it is not held up by a
    backfill; raises :class:`~ingest.store.IngestBusy` when another quotes run holds it.
    """
    t0 = time.perf_counter()
    now = now or utc_now()
    failures: dict[str, str] = {}
    rec = _Attempts()
    written: Counter[str] = Counter()
    with LiveStore.from_settings(settings) as store:
        run_id = store.start_run("quotes", settings.market_provider)
        try:
            built = _chain_of(settings, "quotes", chain)
            rec.chains = {"quotes": built.names}
            demo = settings.market_provider == "demo"
            if symbols:
                wanted = list(dict.fromkeys(symbols))
            elif demo:
                catalog = _catalog(built, settings, explicit=False)
                wanted = catalog.symbols()["symbol"].to_list() if catalog is not None else []
            else:
                wanted = list(dict.fromkeys([*tracked_symbols(settings), *settings.symbol_list()]))
            markets = {} if demo else {s: exchange_of(s)[0] for s in wanted}
            state = {mic: exchange_open(mic, now) for mic in sorted(set(markets.values()))}
            open_now = [s for s in wanted if demo or state[markets[s]]]
            extra: dict[str, Any] = {"exchanges": state} if state else {}
            if wanted and not open_now:
                detail = rec.detail(**extra)
                store.finish_run(
                    run_id, 0, "market closed", provider=None, detail=json.dumps(detail)
                )
                log.debug("quotes run %s: market closed (%s)", run_id, ", ".join(state))
                return _result(
                    run_id,
                    "quotes",
                    built.names[0] if built.names else "",
                    "market closed",
                    written,
                    failures,
                    None,
                    t0,
                    None,
                    detail,
                )
            frame = _fetch_quotes(built, open_now, failures, rec)
            if frame.height:
                currency = {s: exchange_of(s)[1] for s in open_now}
                frame = frame.with_columns(
                    pl.col("currency").fill_null(
                        pl.col("symbol").replace_strict(currency, default=None)
                    )
                )
                written["quotes"] = store.upsert_quotes(frame)
        except Exception as exc:
            log.exception("quotes run %s failed", run_id)
            detail = rec.detail()
            store.finish_run(
                run_id, 0, "failed", _error_text(exc), provider=None, detail=json.dumps(detail)
            )
            return _result(
                run_id,
                "quotes",
                rec.provider(""),
                "failed",
                written,
                failures,
                None,
                t0,
                _error_text(exc),
                detail,
            )
        all_failed = bool(open_now) and all(s in failures for s in open_now)
        status = "failed" if all_failed else "ok"
        error = _summary(failures, len(open_now))
        provider = rec.provider(",".join(built.names))
        detail = rec.detail(**extra)
        store.finish_run(
            run_id, written["quotes"], status, error, provider=provider, detail=json.dumps(detail)
        )
        published = store.publish_live()
    result = _result(
        run_id, "quotes", provider, status, written, failures, published.seq, t0, error, detail
    )
    log.log(
        logging.DEBUG if status == "ok" and not failures else logging.WARNING,
        "quotes run %s %s: %d quotes, %d failures, live file published (%.2fs)",
        run_id, status, result.quotes, len(failures), result.seconds,
    )  # fmt: skip
    return result


def _fetch_quotes(
    chain: ProviderChain, symbols: list[str], failures: dict[str, str], rec: _Attempts
) -> pl.DataFrame:
    """Quotes of ``symbols``: one chain call for all; symbols it left out are asked for
    again (the chain then falls through to the next provider); a failed call is retried
    symbol by symbol. Symbols without a quote go to ``failures``."""
    frames = [pl.DataFrame(schema=QUOTES_SCHEMA)]

    def ask(batch: list[str]) -> None:
        frame, name = _call(chain, "quotes", batch, rec=rec)
        if frame is not None:
            frame = _conform(frame, QUOTES_SCHEMA, name)
            frames.append(
                frame.filter(pl.col("symbol").is_in(batch) & pl.col("price").is_not_null())
            )

    def got() -> set[str]:
        return set(pl.concat(frames)["symbol"].to_list())

    if not symbols:
        return frames[0]
    for attempt in (1, 2):
        missing = [s for s in symbols if s not in got()]
        if not missing:
            break
        try:
            ask(missing)
        except Exception as exc:
            if attempt == 2 or len(missing) == 1:
                for s in missing:
                    failures[s] = _error_text(exc)
                return pl.concat(frames)
            for s in missing:  # one by one
                try:
                    ask([s])
                except Exception as one:
                    failures[s] = _error_text(one)
            break
    for s in symbols:
        if s not in got() and s not in failures:
            failures[s] = "no quote from any provider"
    return pl.concat(frames)
