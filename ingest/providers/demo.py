"""Offline, deterministic demo market data (fictional companies, indexes, FX, intraday
quotes, macro series and news headlines).

Conventions
-----------
- Trading days are Monday–Friday from :data:`EPOCH` (2010-01-04); no holidays.
- Prices follow a geometric Brownian motion per symbol, driven by a world factor, a
  regional factor and an idiosyncratic shock, so symbols of one region move together.
- FX rates vs USD (``quote`` units per 1 USD) follow a mean-reverting log process.
- No dividends or splits: ``adj_close == close``, ``dividend == 0.0``, ``split == 1.0``.
  (Back-adjusted closes would change whenever a later dividend arrives, which would break
  range independence.)

- Quotes: every :data:`TICK_SECONDS` s bucket of a UTC day has one price per symbol, a
  random walk from the previous trading day's close (``previous_close``) that is pinned to
  the day's close at midnight (a Brownian bridge), so the last tick of a trading day equals
  its bar; on weekends it wanders and returns to Friday's close. The demo market is always
  open. ``ts`` is the bucket start.
- Macro series: the default FRED ids (:data:`DEMO_SERIES`) at their FRED frequency
  (daily on weekdays, monthly or quarterly on the first day of the period), with plausible
  levels; a monthly/quarterly value appears once its period has ended. ``T10Y2Y`` is
  exactly ``DGS10 - DGS2``.
- News: 0–2 headlines per symbol (or market-wide) and day, built from that day's move,
  source "Demo Wire", URLs under ``https://example.com/demo/`` and a summary saying it is
  simulated; at most :data:`NEWS_DAYS` days back.

Determinism
-----------
Every random number belongs to a fixed block of :data:`BLOCK` trading days (or
observations) and is drawn from a generator seeded by ``(seed, stream, block)`` via a stable
hash (blake2b). Paths are always computed from the epoch over whole blocks and then sliced,
so the bar for a date never depends on the requested range: the same seed gives the same
numbers. Intraday ticks come from one stream per ``(symbol, day)``, news from a hash of
``(seed, symbol, day)``, so a quote depends only on the seed and its time bucket.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from ingest.providers import (
    BARS_SCHEMA,
    FX_SCHEMA,
    MACRO_SCHEMA,
    NEWS_SCHEMA,
    QUOTES_SCHEMA,
    SYMBOLS_SCHEMA,
    ProviderError,
)

PROVIDER = "demo"
EPOCH = date(2010, 1, 4)  # a Monday
BLOCK = 256  # trading days per random block
TRADING_DAYS = 252  # per year, for annualised drift/vol
TICK_SECONDS = 5  # one intraday quote per bucket of this many seconds
TICKS_PER_DAY = 86_400 // TICK_SECONDS
NEWS_DAYS = 90  # news() never goes further back than this
NEWS_SOURCE = "Demo Wire"

_EPOCH64 = np.datetime64(EPOCH, "D")


@dataclass(frozen=True, slots=True)
class DemoSymbol:
    """One demo instrument. ``drift``/``vol`` are annualised (log-return drift ≈ drift - vol²/2);
    ``price`` is the level before the first bar, in ``currency``; ``beta_world``/
    ``beta_region`` are loadings of the daily shock on the world and regional factors."""

    symbol: str
    name: str
    currency: str
    asset_class: str  # equity | etf | index
    sector: str
    region: str
    exchange: str
    is_benchmark: bool = False
    price: float = 100.0
    drift: float = 0.07
    vol: float = 0.25
    beta_world: float = 0.5
    beta_region: float = 0.5
    volume: int = 2_000_000  # typical daily volume; 0 for indexes


@dataclass(frozen=True, slots=True)
class DemoCurrency:
    """FX of ``currency`` vs USD: starts at ``start`` and reverts to ``level`` (units per USD)."""

    currency: str
    start: float
    level: float
    vol: float  # annualised
    kappa: float = 0.35  # mean-reversion speed per year


_US, _EZ, _UK, _CH, _JP, _GL = (
    "North America",
    "Eurozone",
    "United Kingdom",
    "Switzerland",
    "Japan",
    "Global",
)
_CURRENCY = {_US: "USD", _EZ: "EUR", _UK: "GBP", _CH: "CHF", _JP: "JPY", _GL: "USD"}
_TECH, _DISC, _STAP, _FIN, _HEAL = (
    "Technology",
    "Consumer Discretionary",
    "Consumer Staples",
    "Financials",
    "Health Care",
)
_ENER, _INDU, _UTIL, _COMM, _MATR = (
    "Energy",
    "Industrials",
    "Utilities",
    "Communication Services",
    "Materials",
)
_BOND, _GOLD, _BROAD = "Fixed Income", "Commodities", "Broad Market"


def _eq(sym: str, name: str, sector: str, region: str, exch: str, price: float, drift: float,
        vol: float, volume: int = 2_000_000) -> DemoSymbol:  # fmt: skip
    return DemoSymbol(sym, f"{name} (demo)", _CURRENCY[region], "equity", sector, region, exch,
                      price=price, drift=drift, vol=vol, volume=volume)  # fmt: skip


def _etf(sym: str, name: str, sector: str, region: str, exch: str, price: float, drift: float,
         vol: float, beta_world: float, beta_region: float) -> DemoSymbol:  # fmt: skip
    return DemoSymbol(sym, f"{name} (demo)", _CURRENCY[region], "etf", sector, region, exch,
                      price=price, drift=drift, vol=vol, beta_world=beta_world,
                      beta_region=beta_region, volume=800_000)  # fmt: skip


def _idx(sym: str, name: str, region: str, price: float, drift: float,
         vol: float) -> DemoSymbol:  # fmt: skip
    world, regional = (0.97, 0.0) if region == _GL else (0.75, 0.6)
    return DemoSymbol(sym, f"{name} (demo)", _CURRENCY[region], "index", _BROAD, region, "INDEX",
                      is_benchmark=True, price=price, drift=drift, vol=vol,
                      beta_world=world, beta_region=regional, volume=0)  # fmt: skip


#: The demo universe (fictional names) with a world and five regional benchmark indexes.
#: Columns: symbol, name, sector, region (→ currency), exchange, start price, drift, vol, …
DEMO_UNIVERSE: tuple[DemoSymbol, ...] = (
    # United States (USD)
    _eq("ORCH", "Orchard Devices Inc.", _TECH, _US, "NASDAQ", 30, 0.16, 0.30, 9_000_000),
    _eq("QSFT", "Quanta Software Corp.", _TECH, _US, "NASDAQ", 28, 0.15, 0.26, 7_000_000),
    _eq("HLXS", "Helix Semiconductors Inc.", _TECH, _US, "NASDAQ", 12, 0.20, 0.45, 12_000_000),
    _eq("RVRM", "Riverstone Marketplace Inc.", _DISC, _US, "NASDAQ", 65, 0.14, 0.33),
    _eq("NXTV", "Nextwave Media Inc.", _COMM, _US, "NASDAQ", 25, 0.10, 0.38),
    _eq("GRNB", "Granite Bancorp", _FIN, _US, "NYSE", 40, 0.06, 0.28, 5_000_000),
    _eq("MRDN", "Meridian Health Group", _HEAL, _US, "NYSE", 55, 0.08, 0.22),
    _eq("PLRE", "Polar Energy Corp.", _ENER, _US, "NYSE", 75, 0.03, 0.30, 4_000_000),
    _eq("SUMT", "Summit Industrials Inc.", _INDU, _US, "NYSE", 45, 0.07, 0.25),
    _eq("CRST", "Crestline Consumer Brands", _STAP, _US, "NYSE", 60, 0.05, 0.17),
    _eq("BLUV", "Blue Valley Utilities", _UTIL, _US, "NYSE", 35, 0.04, 0.16),
    _etf("NXBD", "Nexus Aggregate Bond ETF", _BOND, _US, "NYSE Arca", 100, 0.02, 0.05, -0.1, 0.1),
    _etf("NXGD", "Nexus Gold Trust ETF", _GOLD, _GL, "NYSE Arca", 110, 0.04, 0.15, 0.1, 0.0),
    _etf("NXEM", "Nexus Emerging Markets ETF", _BROAD, _GL, "NYSE Arca", 40, 0.04, 0.22, 0.8, 0.0),
    # Eurozone (EUR)
    _eq("AURW", "Aurelius Autowerke AG", _DISC, _EZ, "XETRA", 50, 0.05, 0.32),
    _eq("SLVT", "Solvent Chemie AG", _MATR, _EZ, "XETRA", 60, 0.04, 0.27),
    _eq("BSTN", "Bastion Versicherung AG", _FIN, _EZ, "XETRA", 80, 0.07, 0.22),
    _eq("LUXE", "Lumen Luxe SA", _DISC, _EZ, "Euronext Paris", 90, 0.14, 0.28),
    _eq("LTHS", "Lithos Photonics NV", _TECH, _EZ, "Euronext Amsterdam", 50, 0.20, 0.36),
    _eq("VGRD", "Vanguardia Energías SA", _UTIL, _EZ, "BME Madrid", 8, 0.05, 0.22),
    _eq("BKEU", "Banca Europa Unita SpA", _FIN, _EZ, "Borsa Italiana", 12, 0.03, 0.35),
    _etf("NXEB", "Nexus Euro Government Bond ETF", _BOND, _EZ, "XETRA", 120, 0.01, 0.05, -0.1, 0.1),
    # United Kingdom (GBP)
    _eq("THMS", "Thames Bank plc", _FIN, _UK, "LSE", 3.5, 0.03, 0.30, 30_000_000),
    _eq("NSEA", "Northsea Petroleum plc", _ENER, _UK, "LSE", 4.0, 0.03, 0.28, 25_000_000),
    _eq("ALBN", "Albion Pharmaceuticals plc", _HEAL, _UK, "LSE", 12, 0.08, 0.22),
    _eq("CRWN", "Crown Consumer Goods plc", _STAP, _UK, "LSE", 30, 0.05, 0.17),
    _eq("HRTG", "Heritage Mining plc", _MATR, _UK, "LSE", 20, 0.06, 0.35),
    # Switzerland (CHF)
    _eq("ALPN", "Alpina Foods AG", _STAP, _CH, "SIX", 50, 0.05, 0.15),
    _eq("MTRH", "Matterhorn Pharma AG", _HEAL, _CH, "SIX", 70, 0.07, 0.20),
    _eq("SNTS", "Sentis Precision AG", _INDU, _CH, "SIX", 45, 0.07, 0.22),
    _eq("LMNB", "Lemanbank AG", _FIN, _CH, "SIX", 20, 0.04, 0.27),
    # Japan (JPY)
    _eq("KAZE", "Kaze Motors Corp.", _DISC, _JP, "TSE", 3000, 0.06, 0.28),
    _eq("HKRI", "Hikari Electronics Co.", _TECH, _JP, "TSE", 5000, 0.09, 0.30),
    _eq("SKRA", "Sakura Financial Group", _FIN, _JP, "TSE", 600, 0.04, 0.30),
    _eq("TSRU", "Tsuru Pharmaceutical Co.", _HEAL, _JP, "TSE", 3500, 0.05, 0.22),
    _eq("YMTO", "Yamato Trading Corp.", _INDU, _JP, "TSE", 1500, 0.07, 0.25),
    # Benchmarks (is_benchmark=True)
    _idx("NXWORLD", "Nexus World Index", _GL, 1000, 0.07, 0.15),
    _idx("NXUS", "Nexus US 500 Index", _US, 1100, 0.10, 0.17),
    _idx("NXEURO", "Nexus Euro 50 Index", _EZ, 2800, 0.04, 0.19),
    _idx("NXUK", "Nexus UK 100 Index", _UK, 5500, 0.03, 0.16),
    _idx("NXCH", "Nexus Swiss 20 Index", _CH, 6500, 0.04, 0.15),
    _idx("NXJP", "Nexus Japan 225 Index", _JP, 10000, 0.07, 0.20),
)  # fmt: skip

#: FX vs USD for every non-USD currency of the universe (levels: quote units per 1 USD).
DEMO_FX: tuple[DemoCurrency, ...] = (
    DemoCurrency("EUR", start=0.70, level=0.88, vol=0.08),
    DemoCurrency("GBP", start=0.62, level=0.76, vol=0.08),
    DemoCurrency("CHF", start=1.03, level=0.93, vol=0.09),
    DemoCurrency("JPY", start=92.0, level=135.0, vol=0.10),
)


@dataclass(frozen=True, slots=True)
class DemoSeries:
    """A simulated macro series. ``level``: a mean-reverting level (``start`` → ``mean``,
    ``vol`` = annualised sd of changes, in the series' units); ``growth``: an index from
    ``start`` growing ``mean`` a year (log) with annualised log vol ``vol``."""

    series_id: str
    frequency: str  # daily | monthly | quarterly
    kind: str  # level | growth
    start: float
    mean: float
    vol: float
    kappa: float = 0.3  # mean reversion per year (level)
    floor: float | None = None
    decimals: int = 2


#: Simulated FRED series (ids as FRED's). DGS2 and T10Y2Y derive from DGS10 and a spread.
DEMO_SERIES: dict[str, DemoSeries] = {
    s.series_id: s
    for s in (
        DemoSeries("DGS10", "daily", "level", 3.85, 3.3, 0.85, kappa=0.25, floor=0.5),
        DemoSeries("DGS2", "daily", "level", 1.0, 1.0, 0.0),  # = DGS10 - spread (below)
        DemoSeries("T10Y2Y", "daily", "level", 2.85, 0.9, 0.0),  # = DGS10 - DGS2
        DemoSeries("FEDFUNDS", "monthly", "level", 0.11, 2.6, 1.0, floor=0.05),
        DemoSeries("CPIAUCSL", "monthly", "growth", 217.5, 0.026, 0.006, decimals=3),
        DemoSeries("UNRATE", "monthly", "level", 9.8, 4.6, 0.7, kappa=0.5, floor=3.2, decimals=1),
        DemoSeries("GDPC1", "quarterly", "growth", 16_800.0, 0.022, 0.012, decimals=3),
    )
}
_SPREAD_10Y_2Y = DemoSeries("spread:10y2y", "daily", "level", 2.85, 0.9, 0.55, kappa=0.35)
_PER_YEAR = {"daily": TRADING_DAYS, "monthly": 12, "quarterly": 4}

_BY_SYMBOL = {s.symbol: s for s in DEMO_UNIVERSE}
_BY_CURRENCY = {c.currency: c for c in DEMO_FX}


# Random streams --------------------------------------------------------------------------
def _stream_seed(seed: int, stream: str) -> int:
    """Stable 64-bit seed of a named stream (``hash()`` is salted per process; blake2b is not)."""
    digest = hashlib.blake2b(f"{seed}:{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@functools.lru_cache(maxsize=16384)
def _block(seed: int, stream: str, block: int) -> np.ndarray:
    """Standard normals of one block of one stream (read-only)."""
    rng = np.random.default_rng([_stream_seed(seed, stream), block])
    out = rng.standard_normal(BLOCK)
    out.flags.writeable = False
    return out


def _normals(seed: int, stream: str, n_blocks: int) -> np.ndarray:
    """Standard normals for trading days ``0 .. n_blocks*BLOCK-1`` of a stream."""
    return np.concatenate([_block(seed, stream, b) for b in range(n_blocks)])


# Calendar ---------------------------------------------------------------------------------
def _day_index(day: date) -> int:
    """Number of trading days in ``[EPOCH, day)`` = index of the first trading day >= day."""
    return int(np.busday_count(_EPOCH64, np.datetime64(day, "D")))


def _day_range(start: date, end: date) -> tuple[int, int]:
    """Trading-day index range ``[i0, i1)`` covering ``start <= date <= end``."""
    i0 = _day_index(max(start, EPOCH))
    i1 = _day_index(end + timedelta(days=1)) if end >= EPOCH else 0
    return i0, max(i0, i1)


def _dates(i0: int, i1: int) -> np.ndarray:
    return np.busday_offset(_EPOCH64, np.arange(i0, i1), roll="forward")


def _n_blocks(i1: int) -> int:
    return -(-i1 // BLOCK)


def _round_price(x: np.ndarray) -> np.ndarray:
    """Cents, or 4 decimals below 1 (monotone, so OHLC order survives rounding)."""
    return np.where(x < 1.0, np.round(x, 4), np.round(x, 2))


# Paths ------------------------------------------------------------------------------------
def _ohlcv(seed: int, spec: DemoSymbol, n_blocks: int) -> dict[str, np.ndarray]:
    """Full OHLCV arrays for trading days ``0 .. n_blocks*BLOCK-1``."""
    b_w, b_r = spec.beta_world, spec.beta_region
    shock = b_w * _normals(seed, "factor:world", n_blocks)
    if b_r:
        shock = shock + b_r * _normals(seed, f"factor:{spec.region}", n_blocks)
    idio = np.sqrt(max(1.0 - b_w**2 - b_r**2, 0.0))
    shock = shock + idio * _normals(seed, f"{spec.symbol}:ret", n_blocks)

    sd = spec.vol / np.sqrt(TRADING_DAYS)
    log_ret = (spec.drift - 0.5 * spec.vol**2) / TRADING_DAYS + sd * shock
    close = spec.price * np.exp(np.cumsum(log_ret))
    prev_close = np.concatenate(([spec.price], close[:-1]))
    open_ = prev_close * np.exp(0.25 * sd * _normals(seed, f"{spec.symbol}:gap", n_blocks))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = top * np.exp(0.5 * sd * np.abs(_normals(seed, f"{spec.symbol}:high", n_blocks)))
    low = bottom * np.exp(-0.5 * sd * np.abs(_normals(seed, f"{spec.symbol}:low", n_blocks)))
    noise = np.exp(0.4 * _normals(seed, f"{spec.symbol}:volume", n_blocks) - 0.08)
    volume = np.rint(spec.volume * noise * (1.0 + 10.0 * np.abs(log_ret))).astype(np.int64)
    return {
        "open": _round_price(open_),
        "high": _round_price(high),
        "low": _round_price(low),
        "close": _round_price(close),
        "volume": volume,
    }


def _fx_path(seed: int, spec: DemoCurrency, n_blocks: int) -> np.ndarray:
    """Rates (``currency`` per USD) for trading days ``0 .. n_blocks*BLOCK-1``.

    log(rate/level) is an AR(1) process x_t = phi·x_{t-1} + e_t, solved per block in closed
    form: x_i = phi^i·(phi·x0 + cumsum(phi^-k·e_k)); only the block carry is a loop.
    """
    phi = np.exp(-spec.kappa / TRADING_DAYS)
    k = np.arange(BLOCK)
    shocks = spec.vol / np.sqrt(TRADING_DAYS) * _normals(seed, f"fx:{spec.currency}", n_blocks)
    x = np.empty(n_blocks * BLOCK)
    carry = np.log(spec.start / spec.level)
    for b in range(n_blocks):  # ≤ a few dozen blocks, not days
        e = shocks[b * BLOCK : (b + 1) * BLOCK]
        x[b * BLOCK : (b + 1) * BLOCK] = phi**k * (phi * carry + np.cumsum(phi ** (-k) * e))
        carry = x[(b + 1) * BLOCK - 1]
    return np.round(spec.level * np.exp(x), 6)


def _ar1(shocks: np.ndarray, phi: float, x0: float) -> np.ndarray:
    """x_t = phi·x_{t-1} + e_t from x_{-1} = x0, solved per block in closed form."""
    n_blocks = len(shocks) // BLOCK
    k = np.arange(BLOCK)
    x = np.empty(len(shocks))
    carry = x0
    for b in range(n_blocks):
        e = shocks[b * BLOCK : (b + 1) * BLOCK]
        x[b * BLOCK : (b + 1) * BLOCK] = phi**k * (phi * carry + np.cumsum(phi ** (-k) * e))
        carry = x[(b + 1) * BLOCK - 1]
    return x


def _series_path(seed: int, spec: DemoSeries, n_blocks: int) -> np.ndarray:
    """Unrounded values of one simulated series for observations ``0 .. n_blocks*BLOCK-1``."""
    per_year = _PER_YEAR[spec.frequency]
    shocks = spec.vol / np.sqrt(per_year) * _normals(seed, f"macro:{spec.series_id}", n_blocks)
    if spec.kind == "growth":
        return spec.start * np.exp(np.cumsum(spec.mean / per_year + shocks))
    phi = np.exp(-spec.kappa / per_year)
    values = spec.mean + _ar1(shocks, phi, spec.start - spec.mean)
    return values if spec.floor is None else np.maximum(values, spec.floor)


def _macro_values(seed: int, series_id: str, n_blocks: int) -> np.ndarray:
    """Rounded values of a :data:`DEMO_SERIES` series (observations from its epoch)."""
    spec = DEMO_SERIES[series_id]
    if series_id not in ("DGS2", "T10Y2Y"):
        return np.round(_series_path(seed, spec, n_blocks), spec.decimals)
    ten = np.round(_series_path(seed, DEMO_SERIES["DGS10"], n_blocks), 2)
    spread = _series_path(seed, _SPREAD_10Y_2Y, n_blocks)
    two = np.round(np.maximum(ten - spread, 0.1), 2)
    return two if series_id == "DGS2" else np.round(ten - two, 2)


def _period_dates(frequency: str, i0: int, i1: int) -> list[date]:
    if frequency == "daily":
        return [d.item() for d in _dates(i0, i1)]
    months = 1 if frequency == "monthly" else 3
    return [date(EPOCH.year + (i * months) // 12, (i * months) % 12 + 1, 1) for i in range(i0, i1)]


def _period_range(frequency: str, start: date, end: date) -> tuple[int, int]:
    """Observation index range ``[i0, i1)`` with ``start <= date`` whose period has ended
    by ``end`` (daily: ``date <= end``)."""
    if frequency == "daily":
        return _day_range(start, end)
    months = 1 if frequency == "monthly" else 3

    def index(d: date) -> int:  # period containing d
        return ((d.year - EPOCH.year) * 12 + d.month - 1) // months

    first_of_period = start.day == 1 and (start.month - 1) % months == 0
    i0 = max(0, index(start) if first_of_period else index(start) + 1)
    i1 = max(0, index(end))  # periods before the one containing ``end`` have ended
    return i0, max(i0, i1)


@functools.lru_cache(maxsize=256)
def _closes(seed: int, symbol: str, n_blocks: int) -> np.ndarray:
    """Daily closes of a demo symbol for trading days ``0 .. n_blocks*BLOCK-1`` (read-only)."""
    out = _ohlcv(seed, _BY_SYMBOL[symbol], n_blocks)["close"]
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=512)
def _tick_walk(seed: int, symbol: str, day: int) -> np.ndarray:
    """Cumulative standard normals of one symbol's intraday buckets on ``day`` (ordinal)."""
    rng = np.random.default_rng([_stream_seed(seed, f"{symbol}:ticks"), day])
    out = np.cumsum(rng.standard_normal(TICKS_PER_DAY))
    out.flags.writeable = False
    return out


def _hash_int(*parts: object) -> int:
    text = ":".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _bucket(at: datetime) -> tuple[date, int, datetime]:
    """Day, bucket index within the day and bucket start of ``at`` (naive UTC)."""
    midnight = datetime.combine(at.date(), datetime.min.time())
    k = int((at - midnight).total_seconds()) // TICK_SECONDS
    return at.date(), k, midnight + timedelta(seconds=k * TICK_SECONDS)


_UP_BIG = "{name} jumps {pct} as investors cheer its outlook"
_UP = "{name} edges up {pct} in steady trading"
_DOWN_BIG = "{name} slides {pct} after a cautious analyst note"
_DOWN = "{name} dips {pct} as the sector cools"
_FLAT = "{name} ends little changed"
_GENERIC = (
    "{name} sets the date for its quarterly results",
    "{name} to present at an industry conference next week",
    "Analysts revisit price targets for {name}",
    "{name} names a new head of investor relations",
    "{name} expands its share buy-back programme",
)
_MARKET_GENERIC = (
    "Central bank minutes in focus for bond traders",
    "Oil prices steady ahead of inventory data",
    "Earnings season: what to watch this week",
    "Currency markets calm as volatility eases",
)


_MARKET_UP = "Global stocks rise {pct} as risk appetite returns"
_MARKET_DOWN = "Global stocks fall {pct} as investors turn cautious"
_MARKET_FLAT = "Global stocks end a quiet session little changed"


def _move_title(name: str | None, move: float | None) -> str | None:
    """A headline about the day's close-to-close move (``name`` None: the world index)."""
    if move is None:
        return None
    pct = f"{abs(move) * 100:.1f}%"
    if name is None:
        if abs(move) < 0.001:
            return _MARKET_FLAT
        return (_MARKET_UP if move > 0 else _MARKET_DOWN).format(pct=pct)
    if abs(move) < 0.001:
        return _FLAT.format(name=name)
    if move > 0:
        return (_UP_BIG if move > 0.02 else _UP).format(name=name, pct=pct)
    return (_DOWN_BIG if move < -0.02 else _DOWN).format(name=name, pct=pct)


# Public API -------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def today_utc() -> date:
    return datetime.now(UTC).date()


def demo_symbols(fetched_at: datetime | None = None) -> pl.DataFrame:
    """The demo universe as a ``symbols`` table frame (:data:`SYMBOLS_SCHEMA`)."""
    fetched_at = fetched_at or _now()
    rows = [
        {
            "symbol": s.symbol,
            "name": s.name,
            "currency": s.currency,
            "asset_class": s.asset_class,
            "sector": s.sector,
            "region": s.region,
            "exchange": s.exchange,
            "is_benchmark": s.is_benchmark,
            "provider": PROVIDER,
            "fetched_at": fetched_at,
        }
        for s in DEMO_UNIVERSE
    ]
    return pl.DataFrame(rows, schema=SYMBOLS_SCHEMA)


class DemoProvider:
    """Deterministic offline provider (see module docstring for conventions)."""

    name = PROVIDER
    history_start = EPOCH

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def symbols(self) -> pl.DataFrame:
        return demo_symbols()

    def bars(self, symbol: str, start: date = EPOCH, end: date | None = None) -> pl.DataFrame:
        """Daily bars for ``start <= date <= end`` (default end: today UTC)."""
        spec = _BY_SYMBOL.get(symbol)
        if spec is None:
            raise ProviderError(f"unknown demo symbol {symbol!r}")
        i0, i1 = _day_range(start, end or today_utc())
        if i0 == i1:
            return pl.DataFrame(schema=BARS_SCHEMA)
        arrays = {k: v[i0:i1] for k, v in _ohlcv(self.seed, spec, _n_blocks(i1)).items()}
        n = i1 - i0
        return pl.DataFrame(
            {
                "symbol": [symbol] * n,
                "date": _dates(i0, i1),
                "open": arrays["open"],
                "high": arrays["high"],
                "low": arrays["low"],
                "close": arrays["close"],
                "adj_close": arrays["close"],
                "volume": arrays["volume"],
                "dividend": np.zeros(n),
                "split": np.ones(n),
                "provider": [PROVIDER] * n,
                "fetched_at": [_now()] * n,
                "filled": np.zeros(n, dtype=bool),
            },
            schema=BARS_SCHEMA,
        )

    def fx_rates(
        self, quotes: Sequence[str], start: date = EPOCH, end: date | None = None
    ) -> pl.DataFrame:
        """USD rates of ``quotes`` (``quote`` units per 1 USD); ``USD`` itself is skipped."""
        unknown = sorted(set(quotes) - set(_BY_CURRENCY) - {"USD"})
        if unknown:
            raise ProviderError(f"no demo FX rates for {', '.join(unknown)}")
        i0, i1 = _day_range(start, end or today_utc())
        frames = [pl.DataFrame(schema=FX_SCHEMA)]
        if i0 < i1:
            dates, now = _dates(i0, i1), _now()
            for quote in dict.fromkeys(q for q in quotes if q != "USD"):
                rate = _fx_path(self.seed, _BY_CURRENCY[quote], _n_blocks(i1))[i0:i1]
                n = i1 - i0
                frames.append(
                    pl.DataFrame(
                        {
                            "date": dates,
                            "base": ["USD"] * n,
                            "quote": [quote] * n,
                            "rate": rate,
                            "provider": [PROVIDER] * n,
                            "fetched_at": [now] * n,
                            "filled": np.zeros(n, dtype=bool),
                        },
                        schema=FX_SCHEMA,
                    )
                )
        return pl.concat(frames)

    def quotes(self, symbols: Sequence[str], at: datetime | None = None) -> pl.DataFrame:
        """Intraday quotes (:data:`QUOTES_SCHEMA`) at the :data:`TICK_SECONDS` bucket of
        ``at`` (naive UTC; default now). Unknown symbols are left out."""
        at = at or _now()
        day, k, ts = _bucket(at)
        i_day = _day_index(day)  # trading days before ``day``
        trading = day >= EPOCH and day.weekday() < 5
        frac = (k + 1) / TICKS_PER_DAY
        rows = []
        for symbol in dict.fromkeys(symbols):
            spec = _BY_SYMBOL.get(symbol)
            if spec is None:
                continue
            closes = _closes(self.seed, symbol, _n_blocks(i_day + 1))
            previous = float(closes[i_day - 1]) if i_day > 0 else spec.price
            target = float(closes[i_day]) if trading else previous
            walk = _tick_walk(self.seed, symbol, day.toordinal())
            sd = spec.vol / np.sqrt(TRADING_DAYS * TICKS_PER_DAY)
            x = sd * (walk[k] - frac * walk[-1]) + frac * np.log(target / previous)
            price = float(_round_price(np.array([previous * np.exp(x)]))[0])
            rows.append((symbol, ts, price, previous, spec.currency, PROVIDER, at))
        return pl.DataFrame(rows, schema=QUOTES_SCHEMA, orient="row")

    def observations(self, series_id: str, start: date, end: date) -> pl.DataFrame:
        """Simulated observations of a :data:`DEMO_SERIES` id with ``start <= date`` whose
        period has ended by ``end`` (daily series: ``date <= end``), :data:`MACRO_SCHEMA`."""
        spec = DEMO_SERIES.get(series_id)
        if spec is None:
            known = ", ".join(DEMO_SERIES)
            raise ProviderError(f"no demo series {series_id!r}; the demo has {known}")
        i0, i1 = _period_range(spec.frequency, start, end)
        if i0 == i1:
            return pl.DataFrame(schema=MACRO_SCHEMA)
        values = _macro_values(self.seed, series_id, _n_blocks(i1))[i0:i1]
        n = i1 - i0
        return pl.DataFrame(
            {
                "series_id": [series_id] * n,
                "date": _period_dates(spec.frequency, i0, i1),
                "value": values,
                "provider": [PROVIDER] * n,
                "fetched_at": [_now()] * n,
            },
            schema=MACRO_SCHEMA,
        )

    def news(
        self, symbols: Sequence[str], since: date, until: datetime | None = None
    ) -> pl.DataFrame:
        """Simulated headlines (:data:`NEWS_SCHEMA`) about ``symbols`` (market-wide, with a
        null ``symbol``, when empty) published from ``since`` (at most :data:`NEWS_DAYS`
        days back) to ``until`` (naive UTC; default now). Unknown symbols are left out."""
        until = until or _now()
        first = max(since, until.date() - timedelta(days=NEWS_DAYS), EPOCH)
        keys: list[str | None] = [s for s in dict.fromkeys(symbols) if s in _BY_SYMBOL]
        if not symbols:
            keys = [None]
        i_end = _day_index(until.date() + timedelta(days=1))
        rows = []
        for symbol in keys:
            spec = _BY_SYMBOL[symbol or "NXWORLD"]
            closes = _closes(self.seed, spec.symbol, _n_blocks(i_end + 1))
            name = "Global stocks" if symbol is None else spec.name.removesuffix(" (demo)")
            generic = _MARKET_GENERIC if symbol is None else _GENERIC
            day = first
            while day <= until.date():
                h = _hash_int(self.seed, "news", symbol or "MARKET", day)
                weekday = day.weekday() < 5
                count = (0, 1, 1, 2)[h % 4] if weekday else (0, 0, 0, 1)[h % 4]
                i = _day_index(day)
                move = float(closes[i] / closes[i - 1] - 1) if weekday and i > 0 else None
                for j in range(count):
                    hj = _hash_int(self.seed, "news", symbol or "MARKET", day, j)
                    title = _move_title(None if symbol is None else name, move) if j == 0 else None
                    # a move is reported after the close (20:30-23:30 UTC), other news by day
                    minutes = 20 * 60 + 30 + hj % 180 if title else 6 * 60 + hj % (14 * 60)
                    published = datetime.combine(day, datetime.min.time()) + timedelta(
                        minutes=minutes
                    )
                    if published > until:
                        continue
                    title = title or generic[hj % len(generic)].format(name=name)
                    slug = (symbol or "market").lower()
                    url = f"https://example.com/demo/news/{slug}/{day.isoformat()}/{j + 1}"
                    summary = (
                        "Simulated headline from the demo data set, not real news. "
                        f"{title}." + ("" if symbol is None else f" ({spec.sector}, {spec.region})")
                    )
                    uid = hashlib.blake2b(url.encode(), digest_size=8).hexdigest()
                    rows.append(
                        (uid, published, symbol, title, NEWS_SOURCE, url, summary, PROVIDER, until)
                    )
                day += timedelta(days=1)
        return pl.DataFrame(rows, schema=NEWS_SCHEMA, orient="row")
