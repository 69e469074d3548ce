"""Ingest jobs: fetch what is missing, write it to the master, publish once.

Gap-only: per symbol, only dates after its last stored bar are fetched (and, when ``start``
is earlier than its first stored bar, the dates before it), so a symbol's stored history
stays one contiguous range and a re-run fetches nothing twice. FX rates vs USD follow the
same rule per currency. A failing symbol is recorded and never stops the others.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl
from tqdm import tqdm

from ingest.providers import BARS_SCHEMA, FX_SCHEMA, MarketProvider, get_provider
from ingest.store import MarketStore
from nexus.settings import Settings

log = logging.getLogger(__name__)

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class JobResult:
    """Outcome of one ingest run. ``failures`` maps a symbol (or ``FX:<ccy>``) to its error."""

    run_id: str
    job: str
    provider: str
    status: str  # "ok" | "failed" (as recorded in ingest_runs)
    bars: int = 0  # bar rows written
    fx: int = 0  # fx rows written
    symbols: int = 0  # symbol rows written
    failures: dict[str, str] = field(default_factory=dict)
    seq: int | None = None  # published snapshot sequence, None if not published
    seconds: float = 0.0
    error: str | None = None

    @property
    def rows(self) -> int:
        """Market rows written (bars + fx), as recorded in ``ingest_runs.rows``."""
        return self.bars + self.fx

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


def _conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The table's columns in order and types (raises if a provider frame cannot fit)."""
    return frame.select(list(schema)).cast(schema)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _summary(failures: dict[str, str], total: int) -> str | None:
    if not failures:
        return None
    shown = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[:10])
    more = f"; … {len(failures) - 10} more" if len(failures) > 10 else ""
    return f"{len(failures)} of {total} symbols/currencies failed: {shown}{more}"


def _fetch_each(
    keys: Sequence[str],
    fetch: Callable[[str], list[pl.DataFrame]],
    failures: dict[str, str],
    *,
    prefix: str,
    desc: str,
    unit: str,
    progress: bool,
) -> list[pl.DataFrame]:
    """``fetch`` every key; errors go to ``failures`` (keyed ``prefix+key``) and never stop."""
    frames: list[pl.DataFrame] = []
    for key in tqdm(keys, desc=desc, unit=unit, file=sys.stderr, disable=not progress):
        try:
            frames.extend(fetch(key))
        except Exception as exc:  # one bad item must not stop the others
            failures[f"{prefix}{key}"] = _error_text(exc)
            log.warning("%s%s failed: %s", prefix, key, _error_text(exc))
    return frames


def _collect(
    store: MarketStore,
    provider: MarketProvider,
    universe: pl.DataFrame,
    wanted: Sequence[str],
    start: date | None,
    end: date,
    failures: dict[str, str],
    *,
    job: str,
    progress: bool,
) -> dict[str, pl.DataFrame]:
    """The batch to write: missing bars of ``wanted``, missing USD rates of every currency
    in ``universe``, and the ``wanted`` symbol rows."""
    first = provider.history_start
    bar_ranges = store.bar_ranges(wanted)
    bars = _fetch_each(
        wanted,
        lambda s: [
            _conform(provider.bars(s, a, b), BARS_SCHEMA)
            for a, b in missing_ranges(bar_ranges.get(s), start, end, first)
        ],
        failures,
        prefix="",
        desc=f"{job}: bars",
        unit="symbol",
        progress=progress,
    )
    fx_ranges = store.fx_ranges("USD")
    fx = _fetch_each(
        sorted(set(universe["currency"].to_list()) - {"USD"}),
        lambda c: [
            _conform(provider.fx_rates([c], a, b), FX_SCHEMA)
            for a, b in missing_ranges(fx_ranges.get(c), start, end, first)
        ],
        failures,
        prefix="FX:",
        desc=f"{job}: fx",
        unit="currency",
        progress=progress,
    )
    return {
        "symbols": universe.filter(pl.col("symbol").is_in(list(wanted))),
        "bars": pl.concat([pl.DataFrame(schema=BARS_SCHEMA), *bars]),
        "fx_rates": pl.concat([pl.DataFrame(schema=FX_SCHEMA), *fx]),
    }


def run_prices(
    settings: Settings,
    *,
    symbols: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    progress: bool = True,
    provider: MarketProvider | None = None,
    job: str = "prices",
) -> JobResult:
    """Fetch missing daily bars, FX rates vs USD and the symbols table; record the run in
    ``ingest_runs``; publish one snapshot at the end.

    ``symbols``: the subset to fetch (None or empty: every symbol the provider has).
    ``end`` defaults to today (UTC); ``start`` only matters for backfills (see
    :func:`missing_ranges`). ``provider`` overrides ``settings.market_provider``.
    Raises :class:`~ingest.store.IngestBusy` when another ingest job holds the lock; every
    other error is returned as a ``failed`` result (and recorded).
    """
    t0 = time.perf_counter()
    provider = provider or get_provider(settings)
    end = end or datetime.now(UTC).date()
    failures: dict[str, str] = {}
    with MarketStore.from_settings(settings) as store:
        run_id = store.start_run(job, provider.name)
        log.info("%s run %s started (provider %s, end %s)", job, run_id, provider.name, end)
        try:
            universe = provider.symbols()
            known = set(universe["symbol"].to_list())
            requested = list(dict.fromkeys(symbols)) if symbols else sorted(known)
            for sym in requested:
                if sym not in known:
                    failures[sym] = f"unknown symbol for provider {provider.name!r}"
            wanted = [s for s in requested if s in known]
            batch = _collect(
                store, provider, universe, wanted, start, end, failures,
                job=job, progress=progress,
            )  # fmt: skip
            written = store.write(batch)
        except Exception as exc:
            log.exception("%s run %s failed", job, run_id)
            return _fail(store, run_id, job, provider.name, _error_text(exc), failures, t0)

        rows = written["bars"] + written["fx_rates"]
        all_failed = bool(requested) and all(s in failures for s in requested)
        status = "failed" if all_failed else "ok"
        currencies = set(universe["currency"].to_list()) - {"USD"}
        error = _summary(failures, len(requested) + len(currencies))
        store.finish_run(run_id, rows, status, error)
        try:
            published = store.publish()
        except Exception as exc:
            log.exception("%s run %s: publish failed", job, run_id)
            error = f"publish failed: {_error_text(exc)}"
            return _fail(
                store, run_id, job, provider.name, error, failures, t0, rows=rows, publish=False
            )
    result = JobResult(
        run_id=run_id,
        job=job,
        provider=provider.name,
        status=status,
        bars=written["bars"],
        fx=written["fx_rates"],
        symbols=written["symbols"],
        failures=failures,
        seq=published.seq,
        seconds=time.perf_counter() - t0,
        error=error,
    )
    log.info(
        "%s run %s %s: %d bars, %d fx rows, %d failures, snapshot seq %d (%.1fs)",
        job, run_id, status, result.bars, result.fx, len(failures), published.seq, result.seconds,
    )  # fmt: skip
    return result


def _fail(
    store: MarketStore,
    run_id: str,
    job: str,
    provider: str,
    error: str,
    failures: dict[str, str],
    t0: float,
    *,
    rows: int = 0,
    publish: bool = True,
) -> JobResult:
    """Record a failed run and publish it (best effort) so the app can show the failure."""
    store.finish_run(run_id, rows, "failed", error)
    seq = None
    if publish:
        try:
            seq = store.publish().seq
        except Exception:
            log.exception("could not publish the failed run %s", run_id)
    return JobResult(
        run_id=run_id,
        job=job,
        provider=provider,
        status="failed",
        failures=failures,
        seq=seq,
        seconds=time.perf_counter() - t0,
        error=error,
    )
