"""Provider name -> factory. Each live provider module registers itself here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nexus.settings import Settings


def _demo(settings: Settings) -> Any:
    from ingest.providers.demo import DemoProvider

    return DemoProvider(seed=settings.demo_seed)


def _alphavantage(settings: Settings) -> Any:
    from ingest.providers.alphavantage import AlphaVantageProvider

    return AlphaVantageProvider(settings)


def _tiingo(settings: Settings) -> Any:
    from ingest.providers.tiingo import TiingoProvider

    return TiingoProvider(settings)


def _finnhub(settings: Settings) -> Any:
    from ingest.providers.finnhub import FinnhubProvider

    return FinnhubProvider(settings)


def _fred(settings: Settings) -> Any:
    from ingest.providers.fred import FredProvider

    return FredProvider(settings)


def _newsapi(settings: Settings) -> Any:
    from ingest.providers.newsapi import NewsApiProvider

    return NewsApiProvider(settings)


def _ecb(settings: Settings) -> Any:
    from ingest.providers.ecb import EcbProvider

    return EcbProvider(settings)


FACTORIES: dict[str, Callable[[Settings], Any]] = {
    "demo": _demo,
    "alphavantage": _alphavantage,
    "tiingo": _tiingo,
    "finnhub": _finnhub,
    "fred": _fred,
    "newsapi": _newsapi,
    "ecb": _ecb,
}
