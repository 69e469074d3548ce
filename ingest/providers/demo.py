"""Offline, deterministic demo market data (fictional companies, indexes and FX).

Conventions
-----------
- Trading days are Monday–Friday from :data:`EPOCH` (2010-01-04); no holidays.
- Prices follow a geometric Brownian motion per symbol, driven by a world factor, a
  regional factor and an idiosyncratic shock, so symbols of one region move together.
- FX rates vs USD (``quote`` units per 1 USD) follow a mean-reverting log process.
- No dividends or splits: ``adj_close == close``, ``dividend == 0.0``, ``split == 1.0``.
  (Back-adjusted closes would change whenever a later dividend arrives, which would break
  range independence.)

Determinism
-----------
Every random number belongs to a fixed block of :data:`BLOCK` trading days and is drawn
from a generator seeded by ``(seed, stream, block)`` via a stable hash (blake2b). Paths are
always computed from the epoch over whole blocks and then sliced, so the bar for a date
never depends on the requested range: the same seed gives the same numbers.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from ingest.providers import BARS_SCHEMA, FX_SCHEMA, SYMBOLS_SCHEMA, ProviderError

PROVIDER = "demo"
EPOCH = date(2010, 1, 4)  # a Monday
BLOCK = 256  # trading days per random block
TRADING_DAYS = 252  # per year, for annualised drift/vol

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
