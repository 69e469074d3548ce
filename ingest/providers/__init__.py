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


class ProviderError(RuntimeError):
    """A provider could not deliver the requested data."""


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
