"""Ordered fallback chains: one data kind, several providers, tried in order.

Each attempt is recorded with why a provider was skipped or failed, so the run log and the
Data health page can say "tiingo: no API key; alphavantage: daily quota used up".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from ingest.providers import MissingKey, NoData, ProviderError
from nexus.settings import Settings


@dataclass(frozen=True)
class Attempt:
    provider: str
    outcome: str  # "ok" | "skipped" | "failed" | "empty"
    reason: str = ""


class ChainExhausted(ProviderError):
    """No provider in the chain delivered; ``attempts`` says why for each."""

    def __init__(self, kind: str, attempts: list[Attempt]) -> None:
        detail = "; ".join(f"{a.provider}: {a.reason or a.outcome}" for a in attempts)
        super().__init__(f"no {kind} provider delivered ({detail or 'chain is empty'})")
        self.attempts = attempts


class ProviderChain:
    """Call ``method`` on each provider in order until one returns a non-empty frame."""

    def __init__(self, kind: str, providers: list[Any]) -> None:
        self.kind = kind
        self.providers = providers

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    def run(
        self, method: str, *args: Any, **kwargs: Any
    ) -> tuple[pl.DataFrame, str, list[Attempt]]:
        """The first non-empty result, the provider that gave it, and all attempts."""
        attempts: list[Attempt] = []
        for provider in self.providers:
            call: Callable[..., pl.DataFrame] | None = getattr(provider, method, None)
            if call is None:
                attempts.append(Attempt(provider.name, "skipped", f"does not offer {method}"))
                continue
            try:
                frame = call(*args, **kwargs)
            except MissingKey as exc:
                attempts.append(Attempt(provider.name, "skipped", str(exc)))
                continue
            except NoData as exc:
                attempts.append(Attempt(provider.name, "empty", str(exc)))
                continue
            except ProviderError as exc:
                attempts.append(Attempt(provider.name, "failed", f"{type(exc).__name__}: {exc}"))
                continue
            if frame.is_empty():
                attempts.append(Attempt(provider.name, "empty", "no rows"))
                continue
            attempts.append(Attempt(provider.name, "ok"))
            return frame, provider.name, attempts
        raise ChainExhausted(self.kind, attempts)


#: provider name -> factory(settings) ; filled by ingest.providers.registry
ProviderFactory = Callable[[Settings], Any]


def build_chain(settings: Settings, kind: str) -> ProviderChain:
    """The chain for ``kind`` (``prices``, ``quotes``, ``fx``, ``macro``, ``news``).

    Demo mode: the demo provider alone (demo data never mixes with real data). Live mode:
    the configured order (``NEXUS_<KIND>_PROVIDERS``; macro is FRED).
    """
    from ingest.providers.registry import FACTORIES

    if settings.market_provider == "demo":
        names = ["demo"]
    elif kind == "macro":
        names = ["fred"]
    else:
        names = settings.chain(kind)
    unknown = [n for n in names if n not in FACTORIES]
    if unknown:
        raise ProviderError(
            f"unknown provider(s) {', '.join(unknown)} for {kind}; known: {', '.join(FACTORIES)}"
        )
    return ProviderChain(kind, [FACTORIES[n](settings) for n in names])
