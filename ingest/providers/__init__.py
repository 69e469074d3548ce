"""Market-data providers and the registry the ingest jobs choose from.

A provider returns polars frames shaped like the tables in ``docs/contracts.md``
(:data:`SYMBOLS_SCHEMA`, :data:`BARS_SCHEMA`, :data:`FX_SCHEMA`). Add a provider by
implementing :class:`MarketProvider` and registering a factory in :data:`PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol, runtime_checkable

import polars as pl

from nexus.settings import Settings

# Frame shapes every provider returns (column order = table order in docs/contracts.md).
SYMBOLS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "name": pl.String(),
    "currency": pl.String(),
    "asset_class": pl.String(),
    "sector": pl.String(),
    "region": pl.String(),
    "exchange": pl.String(),
    "is_benchmark": pl.Boolean(),
    "provider": pl.String(),
    "fetched_at": pl.Datetime("us"),
}
BARS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "date": pl.Date(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "adj_close": pl.Float64(),
    "volume": pl.Int64(),
    "dividend": pl.Float64(),
    "split": pl.Float64(),
    "provider": pl.String(),
    "fetched_at": pl.Datetime("us"),
    "filled": pl.Boolean(),
}
FX_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "base": pl.String(),
    "quote": pl.String(),
    "rate": pl.Float64(),
    "provider": pl.String(),
    "fetched_at": pl.Datetime("us"),
    "filled": pl.Boolean(),
}


QUOTES_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "ts": pl.Datetime("us"),  # time of the price (UTC, naive)
    "price": pl.Float64(),
    "previous_close": pl.Float64(),
    "currency": pl.String(),
    "provider": pl.String(),
    "fetched_at": pl.Datetime("us"),
}
MACRO_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "date": pl.Date(),
    "value": pl.Float64(),  # null for a missing observation (FRED ".")
    "provider": pl.String(),
    "fetched_at": pl.Datetime("us"),
}
NEWS_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),  # stable: a hash of the URL
    "published_at": pl.Datetime("us"),
    "symbol": pl.String(),  # null for market-wide news
    "title": pl.String(),
    "source": pl.String(),
    "url": pl.String(),
    "summary": pl.String(),
    "provider": pl.String(),
    "fetched_at": pl.Datetime("us"),
}


class ProviderError(RuntimeError):
    """A provider could not deliver the requested data (base class; see subclasses)."""


class MissingKey(ProviderError):
    """The provider needs an API key that is not configured: skipped, not an outage."""


class RateLimited(ProviderError):
    """Throttled (HTTP 429, or an HTTP-200 throttle body); ``retry_after`` seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExhausted(ProviderError):
    """The daily (or monthly) allowance is used up: try the next provider, not again today."""


class PremiumRequired(ProviderError):
    """The endpoint or parameter needs a paid plan."""


class NoData(ProviderError):
    """The provider answered but has nothing for this request (unknown symbol, empty range)."""


class Unavailable(ProviderError):
    """Transient failure (5xx, timeout, malformed payload) or the circuit breaker is open."""


@runtime_checkable
class QuotesProvider(Protocol):
    name: str

    def quotes(self, symbols: Sequence[str]) -> pl.DataFrame:
        """Latest prices, :data:`QUOTES_SCHEMA`; symbols without a quote are left out."""
        ...


@runtime_checkable
class MacroProvider(Protocol):
    name: str

    def observations(self, series_id: str, start: date, end: date) -> pl.DataFrame:
        """:data:`MACRO_SCHEMA` rows of one series."""
        ...


@runtime_checkable
class NewsProvider(Protocol):
    name: str

    def news(self, symbols: Sequence[str], since: date) -> pl.DataFrame:
        """Articles about ``symbols`` (and market-wide when empty) since ``since``,
        :data:`NEWS_SCHEMA`."""
        ...


@runtime_checkable
class MarketProvider(Protocol):
    """What the ingest jobs need from a market-data source."""

    name: str
    #: Earliest date the provider has data for; new symbols are fetched from here.
    history_start: date

    def symbols(self) -> pl.DataFrame:
        """The provider's universe, :data:`SYMBOLS_SCHEMA`."""
        ...

    def bars(self, symbol: str, start: date, end: date) -> pl.DataFrame:
        """Daily bars of ``symbol`` with ``start <= date <= end``, :data:`BARS_SCHEMA`."""
        ...

    def fx_rates(self, quotes: Sequence[str], start: date, end: date) -> pl.DataFrame:
        """Daily rates vs USD: ``base='USD'``, rate = ``quote`` units per 1 USD (FX_SCHEMA)."""
        ...


def _demo(settings: Settings) -> MarketProvider:
    from ingest.providers.demo import DemoProvider

    return DemoProvider(seed=settings.demo_seed)


#: ``settings.market_provider`` value → factory.
PROVIDERS: dict[str, Callable[[Settings], MarketProvider]] = {"demo": _demo}


def get_provider(settings: Settings) -> MarketProvider:
    """The provider configured by ``settings.market_provider``."""
    try:
        factory = PROVIDERS[settings.market_provider]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ProviderError(
            f"unknown market provider {settings.market_provider!r}; use one of: {known}"
        ) from None
    return factory(settings)
