"""The quotes, fx, macro and news jobs; live-mode chains, run-log attempts, market hours,
held symbols, FX forward-fill; the demo provider's quotes/macro/news; the app-side readers."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.chain import ProviderChain
from ingest.jobs import (
    exchange_of,
    run_fx,
    run_macro,
    run_news,
    run_prices,
    run_quotes,
    tracked_symbols,
)
from ingest.providers import (
    FX_SCHEMA,
    MACRO_SCHEMA,
    NEWS_SCHEMA,
    QUOTES_SCHEMA,
    MissingKey,
    NoData,
    Unavailable,
)
from ingest.providers.demo import DEMO_SERIES, TICK_SECONDS, DemoProvider
from ingest.store import IngestBusy, LiveStore, MarketStore
from nexus.market import SnapshotMissing, SnapshotReader, last_runs
from nexus.market.health import data_health
from nexus.market.live import latest_quotes
from nexus.market.macro import macro_latest, macro_series
from nexus.market.news import news
from nexus.settings import Settings, load_settings

SEED = 20240101
MONDAY_OPEN = datetime(2026, 1, 5, 15, 0)  # 10:00 New York
SATURDAY = datetime(2026, 1, 3, 15, 0)
CHRISTMAS = datetime(2025, 12, 25, 15, 0)


def _settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        {"NEXUS_DATA_DIR": str(tmp_path / "data"), **env}, secrets_path=tmp_path / "none.toml"
    )


@pytest.fixture
def demo(tmp_path: Path) -> Settings:
    return _settings(tmp_path)


@pytest.fixture
def live(tmp_path: Path) -> Settings:
    return _settings(tmp_path, NEXUS_MARKET_PROVIDER="live", NEXUS_SYMBOLS="AAA,BBB.L")


def _history(settings: Settings) -> SnapshotReader:
    return SnapshotReader(settings.history_path)


def _live(settings: Settings) -> SnapshotReader:
    return SnapshotReader(settings.live_path)


def _weekdays(start: date, end: date) -> list[date]:
    return [d for d in pl.date_range(start, end, eager=True).to_list() if d.weekday() < 5]


# Fake live providers ----------------------------------------------------------------------
class NoKey:
    name = "nokey"

    def _refuse(self, *args: object) -> pl.DataFrame:
        raise MissingKey("nokey: no API key configured (set NOKEY_API_KEY)")

    quotes = bars = fx_rates = observations = news = _refuse


class Down:
    name = "down"

    def _fail(self, *args: object) -> pl.DataFrame:
        raise Unavailable("down: HTTP 503 from upstream")

    quotes = bars = fx_rates = _fail


class Good:
    """Answers for AAA and BBB.L (bars on weekdays, close = day of month), GBP rates
    except on ``fx_holes``; anything else is NoData."""

    name = "good"
    history_start = date(2024, 1, 1)
    known = ("AAA", "BBB.L")

    def __init__(self, fx_holes: Sequence[date] = ()) -> None:
        self.fx_holes = set(fx_holes)
        self.calls: list[tuple[str, object]] = []

    def quotes(self, symbols: Sequence[str]) -> pl.DataFrame:
        self.calls.append(("quotes", tuple(symbols)))
        rows = [
            {"symbol": s, "ts": MONDAY_OPEN, "price": 110.0, "previous_close": 100.0}
            for s in symbols
            if s in self.known
        ]
        return pl.DataFrame(
            rows, schema={k: QUOTES_SCHEMA[k] for k in ("symbol", "ts", "price", "previous_close")}
        )

    def bars(self, symbol: str, start: date, end: date) -> pl.DataFrame:
        self.calls.append(("bars", symbol))
        days = _weekdays(start, end)
        if symbol not in self.known or not days:
            raise NoData(f"good: no bars for {symbol}")
        n = len(days)
        return pl.DataFrame(
            {
                "symbol": [symbol] * n,
                "date": days,
                "open": [float(d.day) for d in days],
                "high": [float(d.day) for d in days],
                "low": [float(d.day) for d in days],
                "close": [float(d.day) for d in days],
                "adj_close": [float(d.day) for d in days],
                "volume": [1000] * n,
            }
        )  # no provider/fetched_at/dividend columns: the job fills them

    def fx_rates(self, quotes: Sequence[str], start: date, end: date) -> pl.DataFrame:
        self.calls.append(("fx", tuple(quotes)))
        days = [d for d in _weekdays(start, end) if d not in self.fx_holes]
        rows = [
            {"date": d, "base": "USD", "quote": q, "rate": 0.75 + d.day / 1000, "provider": "good"}
            for q in quotes
            for d in days
        ]
        if not rows:
            raise NoData("good: no rates")
        return pl.DataFrame(
            rows, schema={k: FX_SCHEMA[k] for k in ("date", "base", "quote", "rate", "provider")}
        )


# Quotes -------------------------------------------------------------------------------------
def test_demo_quotes_go_to_the_live_file_only(demo: Settings) -> None:
    run_prices(demo, symbols=["ORCH", "KAZE"], start=date(2025, 12, 1), progress=False)
    history = _history(demo)
    seq = history.fetchall("SELECT seq FROM snapshot_meta")
    result = run_quotes(demo)
    assert result.status == "ok" and not result.failures and result.seq is not None
    assert result.quotes == len(DemoProvider(SEED).symbols()) == result.rows

    # the history file was not republished and has no quotes
    assert history.fetchall("SELECT seq FROM snapshot_meta") == seq
    tables = {t for (t,) in history.fetchall("SELECT table_name FROM information_schema.tables")}
    assert "quotes" not in tables
    # the live file is small and separate
    assert demo.live_path.stat().st_size < 2_000_000
    quotes = latest_quotes(_live(demo), ["ORCH", "KAZE", "NOPE"])
    assert quotes["symbol"].to_list() == ["KAZE", "ORCH"]
    assert quotes.schema["change_pct"] == pl.Float64
    orch = quotes.row(1, named=True)
    bars = DemoProvider(SEED).bars("ORCH", date(2025, 12, 1))
    before_today = bars.filter(pl.col("date") < orch["ts"].date())
    assert orch["previous_close"] == before_today["close"][-1]
    assert orch["change"] == pytest.approx(orch["price"] - orch["previous_close"])
    assert orch["change_pct"] == pytest.approx(orch["price"] / orch["previous_close"] - 1)
    assert (orch["provider"], orch["currency"]) == ("demo", "USD")

    runs = _live(demo).query("SELECT job, status, provider, rows, detail FROM ingest_runs")
    assert runs.row(0)[:4] == ("quotes", "ok", "demo", result.quotes)
    assert json.loads(runs["detail"][0])["attempts"] == {"demo": {"ok": 1}}


def test_quotes_are_not_held_up_by_a_history_job(demo: Settings) -> None:
    with MarketStore.from_settings(demo):  # a backfill holding the ingest lock
        assert run_quotes(demo, symbols=["ORCH"]).status == "ok"
        with LiveStore.from_settings(demo), pytest.raises(IngestBusy):
            run_quotes(demo, symbols=["ORCH"])


def test_quotes_skip_when_the_market_is_closed(live: Settings) -> None:
    good = Good()
    chain = ProviderChain("quotes", [good])
    for closed in (SATURDAY, CHRISTMAS):
        result = run_quotes(live, symbols=["AAA"], now=closed, chain=chain)
        assert (result.status, result.quotes, result.seq) == ("market closed", 0, None)
    assert good.calls == [] and not live.live_path.exists()

    # London closes at 16:30: at 20:00 UTC only the US listing is asked for
    evening = run_quotes(live, now=MONDAY_OPEN.replace(hour=20), chain=chain)
    assert evening.status == "ok" and good.calls == [("quotes", ("AAA",))]
    assert evening.detail["exchanges"] == {"XLON": False, "XNYS": True}
    morning = run_quotes(live, now=MONDAY_OPEN, chain=chain)
    assert morning.status == "ok" and morning.quotes == 2
    quotes = latest_quotes(_live(live))
    assert quotes["symbol"].to_list() == ["AAA", "BBB.L"]
    assert quotes["currency"].to_list() == ["USD", "GBP"]  # filled from the ticker
    assert quotes["change_pct"].to_list() == pytest.approx([0.1, 0.1])
    statuses = _live(live).query("SELECT status FROM ingest_runs ORDER BY started_at")
    assert statuses["status"].to_list() == ["market closed", "market closed", "ok", "ok"]


def test_run_log_records_the_chain_attempts(live: Settings) -> None:
    chain = ProviderChain("quotes", [NoKey(), Down(), Good()])
    result = run_quotes(live, symbols=["AAA", "ZZZ"], now=MONDAY_OPEN, chain=chain)
    assert result.status == "ok" and result.quotes == 1
    assert list(result.failures) == ["ZZZ"]  # one symbol failing never stops the others
    run = _live(live).query("SELECT provider, error, detail FROM ingest_runs").row(0, named=True)
    assert run["provider"] == "good"
    assert "ZZZ" in run["error"]
    detail = json.loads(run["detail"])
    assert detail["chains"] == {"quotes": ["nokey", "down", "good"]}
    assert detail["attempts"]["nokey"] == {"skipped": 2}
    assert detail["attempts"]["down"] == {"failed": 2}
    assert detail["attempts"]["good"] == {"ok": 1, "empty": 1}
    assert "no API key" in detail["reasons"]["nokey"][0]
    assert "HTTP 503" in detail["reasons"]["down"][0]


# Live-mode prices through the chain -----------------------------------------------------------
def test_live_prices_use_the_chain_and_record_who_delivered(live: Settings) -> None:
    good = Good()
    end = date(2024, 1, 31)
    result = run_prices(
        live, end=end, progress=False,
        chain=ProviderChain("prices", [NoKey(), good]), fx_chain=ProviderChain("fx", [good]),
    )  # fmt: skip
    assert result.status == "ok" and not result.failures, result.failures
    days = len(_weekdays(date(2024, 1, 1), end))
    assert (result.bars, result.fx, result.symbols) == (2 * days, days, 2)
    assert result.provider == "good"

    reader = _history(live)
    symbols = reader.query("SELECT symbol, currency, exchange, provider FROM symbols ORDER BY 1")
    assert symbols.rows() == [("AAA", "USD", "XNYS", "good"), ("BBB.L", "GBP", "XLON", "good")]
    bars = reader.query("SELECT * FROM bars")
    assert (bars["provider"] == "good").all() and bars["fetched_at"].null_count() == 0
    assert not bars["filled"].any() and (bars["dividend"] == 0.0).all()
    run = last_runs(reader, 1).row(0, named=True)
    assert run["provider"] == "good" and run["job"] == "prices"
    detail = json.loads(run["detail"])
    assert detail["chains"] == {"prices": ["nokey", "good"], "fx": ["good"]}
    assert detail["attempts"]["nokey"]["skipped"] == 2

    # a ticker no provider knows is a failure (not silently empty); the others go on
    good.calls.clear()
    bad = run_prices(
        live, symbols=["AAA", "NOPE"], end=date(2024, 2, 2), progress=False,
        chain=ProviderChain("prices", [good]), fx_chain=ProviderChain("fx", [good]),
    )  # fmt: skip
    assert bad.status == "ok" and list(bad.failures) == ["NOPE"] and bad.bars == 2
    assert "no bars for NOPE" in bad.failures["NOPE"]


def test_fx_forward_fills_interior_weekdays_only(live: Settings) -> None:
    holiday, last = date(2024, 1, 15), date(2024, 1, 31)
    good = Good(fx_holes=[holiday, last])
    result = run_fx(live, currencies=["GBP"], end=last, chain=ProviderChain("fx", [good]))
    assert result.status == "ok"
    fx = _history(live).query("SELECT date, rate, filled, provider FROM fx_rates ORDER BY date")
    filled = fx.filter(pl.col("filled"))
    assert filled["date"].to_list() == [holiday]  # the trailing hole is not filled
    friday = fx.filter(pl.col("date") == date(2024, 1, 12)).row(0, named=True)
    assert filled.row(0, named=True)["rate"] == friday["rate"]
    assert filled["provider"].to_list() == ["good"]
    assert fx["date"].max() == date(2024, 1, 30)
    # the next run fetches the missing last day for real, and adds nothing twice
    good.fx_holes.clear()
    again = run_fx(live, currencies=["GBP"], end=last, chain=ProviderChain("fx", [good]))
    assert again.fx == 1
    count, distinct = _history(live).fetchall(
        "SELECT count(*), count(DISTINCT (date, base, quote)) FROM fx_rates"
    )[0]
    assert count == distinct == len(_weekdays(date(2024, 1, 1), last))


def test_demo_fx_job_covers_base_currencies(demo: Settings) -> None:
    result = run_fx(demo, start=date(2025, 1, 1), end=date(2025, 1, 31))
    assert result.status == "ok"
    quotes = _history(demo).fetchall("SELECT DISTINCT quote FROM fx_rates ORDER BY 1")
    assert [q for (q,) in quotes] == ["CHF", "EUR", "GBP", "JPY"]
    assert result.fx == 4 * len(_weekdays(date(2025, 1, 1), date(2025, 1, 31)))


# Macro and news -----------------------------------------------------------------------------
def test_macro_job_and_readers(demo: Settings) -> None:
    end = date(2025, 6, 30)
    first = run_macro(demo, end=end)
    assert first.status == "ok" and not first.failures and first.macro > 10_000
    again = run_macro(demo, end=end)  # re-fetches the revision window, adds nothing twice
    assert again.status == "ok" and 0 < again.macro < first.macro
    reader = _history(demo)
    count, distinct = reader.fetchall(
        "SELECT count(*), count(DISTINCT (series_id, date)) FROM macro_observations"
    )[0]
    assert count == distinct == first.macro

    unrate = macro_series(reader, "UNRATE")
    assert unrate["date"].to_list()[-1] == date(2025, 5, 1)  # June is not over by June 30
    assert unrate["date"].dt.day().unique().to_list() == [1]
    assert unrate["value"].is_between(3.0, 10.5).all()
    gdp = macro_series(reader, "GDPC1", start=date(2024, 1, 1))
    assert gdp["date"].to_list() == [date(2024, 1, 1), date(2024, 4, 1), date(2024, 7, 1),
                                     date(2024, 10, 1), date(2025, 1, 1)]  # fmt: skip
    latest = macro_latest(reader, ["CPIAUCSL", "DGS10", "NOPE"])
    assert latest["series_id"].to_list() == ["CPIAUCSL", "DGS10"]
    dgs10 = latest.row(1, named=True)
    assert dgs10["date"] == date(2025, 6, 30) and dgs10["previous_date"] == date(2025, 6, 27)
    assert dgs10["change"] == pytest.approx(dgs10["value"] - dgs10["previous_value"])
    assert 0.3 < dgs10["value"] < 8

    spread = reader.query(
        """SELECT a.value AS ten, b.value AS two, c.value AS spread
           FROM macro_observations a JOIN macro_observations b USING (date)
           JOIN macro_observations c USING (date)
           WHERE a.series_id = 'DGS10' AND b.series_id = 'DGS2' AND c.series_id = 'T10Y2Y'"""
    )
    assert spread.height > 3000
    assert (spread["ten"] - spread["two"] - spread["spread"]).abs().max() < 1e-9


def test_unknown_macro_series_fails_alone(demo: Settings) -> None:
    result = run_macro(demo, series=["UNRATE", "NOPE"], end=date(2024, 12, 31))
    assert result.status == "ok" and list(result.failures) == ["NOPE"]
    assert "no demo series 'NOPE'" in result.failures["NOPE"]


def _app_db(settings: Settings, held: Sequence[str], watched: Sequence[str] = ()) -> None:
    """A minimal app database with the tables the jobs read."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(settings.data_dir / "nexus.db")
    con.executescript(
        """CREATE TABLE instruments (symbol TEXT PRIMARY KEY, name TEXT, currency TEXT,
                                     asset_class TEXT);
           CREATE TABLE transactions (id INTEGER PRIMARY KEY, portfolio_id TEXT, symbol TEXT);
           CREATE TABLE watchlist_items (user_id TEXT, symbol TEXT);"""
    )
    for s in [*held, *watched, "IDLE"]:
        con.execute("INSERT OR IGNORE INTO instruments VALUES (?, ?, 'USD', 'equity')", (s, s))
    con.executemany(
        "INSERT INTO transactions (portfolio_id, symbol) VALUES ('p', ?)", [(s,) for s in held]
    )
    con.executemany("INSERT INTO watchlist_items VALUES ('u', ?)", [(s,) for s in watched])
    con.execute("INSERT INTO transactions (portfolio_id, symbol) VALUES ('p', NULL)")  # cash
    con.commit()
    con.close()


def test_tracked_symbols_read_only(demo: Settings) -> None:
    assert tracked_symbols(demo) == []  # no database yet
    _app_db(demo, held=["ORCH", "AURW", "ORCH"], watched=["KAZE"])
    db = demo.data_dir / "nexus.db"
    before = db.read_bytes()
    assert tracked_symbols(demo) == ["AURW", "KAZE", "ORCH"]
    assert db.read_bytes() == before


def test_news_job_for_held_symbols_and_market_wide(demo: Settings, tmp_path: Path) -> None:
    market = run_news(demo, since=date.today() - timedelta(days=10))
    assert market.status == "ok" and market.news > 0
    rows = news(_history(demo), limit=500)
    assert rows["symbol"].null_count() == rows.height  # no holdings: market-wide only
    assert (rows["source"] == "Demo Wire").all()
    assert rows["url"].str.starts_with("https://example.com/demo/").all()
    assert rows["published_at"].is_sorted(descending=True)

    _app_db(demo, held=["ORCH", "AURW"], watched=["KAZE"])
    held = run_news(demo, since=date.today() - timedelta(days=30))
    assert held.status == "ok" and held.detail["symbols"] == 3
    reader = _history(demo)
    per_symbol = news(reader, ["ORCH", "KAZE"], limit=1000)
    assert set(per_symbol["symbol"]) == {"ORCH", "KAZE"}
    assert news(reader, ["ORCH"], limit=3).height == 3
    count, distinct = reader.fetchall("SELECT count(*), count(DISTINCT id) FROM news")[0]
    assert count == distinct
    again = run_news(demo, since=date.today() - timedelta(days=30))  # upserts by id
    assert reader.fetchall("SELECT count(*) FROM news")[0][0] == count
    assert again.status == "ok"


# The demo provider's new kinds ---------------------------------------------------------------
def test_demo_quotes_are_deterministic_per_bucket() -> None:
    at = datetime(2026, 1, 6, 14, 30, 2)
    a = DemoProvider(SEED).quotes(["ORCH", "KAZE"], at=at)
    b = DemoProvider(SEED).quotes(["KAZE", "ORCH", "NOPE"], at=at + timedelta(seconds=2))
    assert a.schema == pl.Schema(QUOTES_SCHEMA)
    assert a.drop("fetched_at").sort("symbol").equals(b.drop("fetched_at").sort("symbol"))
    assert a["ts"].to_list() == [datetime(2026, 1, 6, 14, 30, 0)] * 2
    later = DemoProvider(SEED).quotes(["ORCH"], at=at + timedelta(seconds=TICK_SECONDS))
    other = DemoProvider(SEED + 1).quotes(["ORCH"], at=at)
    assert later["ts"][0] == datetime(2026, 1, 6, 14, 30, TICK_SECONDS)
    assert other["price"][0] != a.filter(pl.col("symbol") == "ORCH")["price"][0]
    # the day's last tick is its close; previous_close is the close before
    bars = DemoProvider(SEED).bars("ORCH", date(2026, 1, 5), date(2026, 1, 6))
    last = DemoProvider(SEED).quotes(["ORCH"], at=datetime(2026, 1, 6, 23, 59, 59))
    assert last["price"][0] == bars["close"][1] and last["previous_close"][0] == bars["close"][0]
    # a random walk, not noise: 5-second moves are small
    ticks = pl.concat(
        DemoProvider(SEED).quotes(["ORCH"], at=datetime(2026, 1, 6, 15) + timedelta(seconds=5 * i))
        for i in range(200)
    )
    assert ticks["price"].log().diff().abs().max() < 0.01


def test_demo_macro_levels_and_range_independence() -> None:
    provider = DemoProvider(SEED)
    for sid, (lo, hi) in {
        "DGS10": (0.3, 8), "DGS2": (0.05, 8), "FEDFUNDS": (0.0, 8), "UNRATE": (3, 11),
        "CPIAUCSL": (200, 400), "GDPC1": (15_000, 30_000), "T10Y2Y": (-3, 4),
    }.items():  # fmt: skip
        full = provider.observations(sid, date(2000, 1, 1), date(2026, 1, 31))
        assert full.schema == pl.Schema(MACRO_SCHEMA), sid
        assert full["value"].is_between(lo, hi).all(), sid
        # ``end`` on a quarter's first day: monthly/quarterly periods before it have ended
        end = date(2021, 4, 1)
        part = provider.observations(sid, date(2019, 3, 5), end)
        before = (
            pl.col("date") <= end if DEMO_SERIES[sid].frequency == "daily" else pl.col("date") < end
        )
        window = full.filter((pl.col("date") >= date(2019, 3, 5)) & before)
        assert part.drop("fetched_at").equals(window.drop("fetched_at")), sid
    assert set(DEMO_SERIES) >= set(load_settings({}, Path("/nonexistent")).fred_series_list())
    monthly = provider.observations("UNRATE", date(2024, 1, 2), date(2024, 4, 1))
    assert monthly["date"].to_list() == [date(2024, 2, 1), date(2024, 3, 1)]


def test_demo_news_is_deterministic_and_marked() -> None:
    until = datetime(2026, 1, 9, 12)
    a = DemoProvider(SEED).news(["ORCH", "NOPE"], date(2026, 1, 1), until=until)
    b = DemoProvider(SEED).news(["ORCH"], date(2026, 1, 1), until=until)
    assert a.schema == pl.Schema(NEWS_SCHEMA) and a.height > 0
    assert a.drop("fetched_at").equals(b.drop("fetched_at"))
    assert (a["symbol"] == "ORCH").all() and (a["published_at"] <= until).all()
    assert (a["source"] == "Demo Wire").all() and a["id"].is_unique().all()
    assert a["summary"].str.contains("not real news").all()
    market = DemoProvider(SEED).news([], date(2026, 1, 1), until=until)
    assert market["symbol"].null_count() == market.height > 0


# Readers -------------------------------------------------------------------------------------
def test_data_health_counts_staleness_gaps_and_fills(demo: Settings) -> None:
    days = _weekdays(date(2024, 1, 1), date(2024, 1, 31))
    rows = [("AAA", d, False) for d in days if d != date(2024, 1, 10)]  # one gap
    rows += [("BBB", d, d == date(2024, 1, 3)) for d in days[:5]]  # ends 2024-01-05
    bars = pl.DataFrame(
        {
            "symbol": [r[0] for r in rows], "date": [r[1] for r in rows],
            "close": [1.0] * len(rows), "provider": ["p"] * len(rows),
            "fetched_at": [datetime(2024, 2, 1)] * len(rows), "filled": [r[2] for r in rows],
        }
    )  # fmt: skip
    with MarketStore.from_settings(demo) as store:
        store.upsert("bars", bars)
        store.publish()
    health = data_health(_history(demo), as_of=date(2024, 2, 3))  # a Saturday
    by = {r["symbol"]: r for r in health.iter_rows(named=True)}
    assert health["symbol"].to_list() == ["BBB", "AAA"]  # stalest first
    assert (by["AAA"]["staleness_days"], by["AAA"]["gaps"], by["AAA"]["filled"]) == (2, 1, 0)
    assert (by["BBB"]["staleness_days"], by["BBB"]["gaps"], by["BBB"]["filled"]) == (20, 0, 1)
    assert by["AAA"]["last_date"] == date(2024, 1, 31) and by["AAA"]["provider"] == "p"


def test_readers_on_missing_files(tmp_path: Path) -> None:
    with pytest.raises(SnapshotMissing):
        latest_quotes(SnapshotReader(tmp_path / "live.duckdb"), ["ORCH"])


def test_old_masters_gain_the_detail_column(demo: Settings) -> None:
    demo.markets_dir.mkdir(parents=True)
    con = duckdb.connect(str(demo.markets_dir / "history.master.duckdb"))
    con.execute(
        "CREATE TABLE ingest_runs (run_id VARCHAR PRIMARY KEY, job VARCHAR, provider VARCHAR, "
        "started_at TIMESTAMP, finished_at TIMESTAMP, rows BIGINT, status VARCHAR, error VARCHAR)"
    )
    con.execute(
        "INSERT INTO ingest_runs VALUES ('old', 'prices', 'demo', now(), now(), 1, 'ok', NULL)"
    )
    con.close()
    result = run_prices(
        demo, symbols=["ORCH"], start=date(2025, 1, 1), end=date(2025, 1, 10), progress=False
    )
    runs = last_runs(_history(demo), 5)
    assert "detail" in runs.columns and result.status == "ok"
    assert runs.filter(pl.col("run_id") == "old")["detail"].to_list() == [None]


def test_exchange_of() -> None:
    assert exchange_of("AAPL") == ("XNYS", "USD")
    assert exchange_of("BRK.B") == ("XNYS", "USD")
    assert exchange_of("VOD.L") == ("XLON", "GBP")
    assert exchange_of("7203.T") == ("XTKS", "JPY")
