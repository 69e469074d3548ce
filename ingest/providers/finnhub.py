"""Finnhub live quotes (``/quote?symbol=``), key in the ``X-Finnhub-Token`` header.

Payload ``{"c","d","dp","h","l","o","pc","t"}``: current price, change, % change, high, low,
open, previous close, epoch seconds. An unknown symbol answers all zeros: left out.
The quote carries no currency: it comes from the ``currencies`` map given to the provider
(symbol → ISO code), else ``USD`` (Finnhub's free data is US-only).
Errors: HTTP 403 ``{"error": "You don't have access to this resource."}``, 429 over limit.
Limits (unverified): 60 calls/minute, 30 calls/second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import requests

from ingest.http import KeyRejected, parse_retry_after
from ingest.providers import (
    QUOTES_SCHEMA,
    NoData,
    PremiumRequired,
    ProviderError,
    RateLimited,
    Unavailable,
)
from ingest.providers._base import HttpProvider, excerpt, frame

PROVIDER = "finnhub"


def classify(response: requests.Response, payload: Any) -> ProviderError | None:
    if not (isinstance(payload, dict) and "error" in payload):
        return None
    message = f"{PROVIDER}: {excerpt(payload['error'])}"
    status = response.status_code
    if status == 429:
        return RateLimited(message, parse_retry_after(response.headers.get("Retry-After")))
    if status == 401:
        return KeyRejected(message)
    if status == 403:
        return PremiumRequired(message)
    if status >= 500:
        return Unavailable(message)
    return ProviderError(message)


class FinnhubProvider(HttpProvider):
    """Finnhub quotes; ``currencies`` maps symbol → ISO currency (default ``USD``)."""

    name = PROVIDER
    key_field = "finnhub_api_key"
    base_url_field = "finnhub_base_url"

    def __init__(
        self, settings: Any, *, currencies: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self.currencies = {k.upper(): v.upper() for k, v in (currencies or {}).items()}

    def session_options(self) -> dict[str, Any]:
        # Quotes stay cached a little less than the quotes job's period, so each run is fresh
        # while the app and the job (same cache file) share answers within a period.
        ttl = timedelta(seconds=max(1, self.settings.quotes_seconds - 1))
        return {
            "per_second": 30,
            "per_minute": 60,
            "expire_after": {"*/quote": ttl},
            "classify": classify,
            "auth_headers": {"X-Finnhub-Token": self.require_key()},
        }

    def quotes(self, symbols: Sequence[str]) -> pl.DataFrame:
        """Latest prices (:data:`QUOTES_SCHEMA`); symbols without a quote are left out."""
        fetched = self.now()
        rows = []
        for symbol in symbols:
            q = self.get_json("/quote", {"symbol": symbol})
            if not isinstance(q, dict):
                raise Unavailable(f"{PROVIDER}: unexpected quote response for {symbol}")
            price, epoch = q.get("c"), q.get("t")
            if not price or not epoch:  # unknown symbol: all zeros
                continue
            rows.append(
                {
                    "symbol": symbol,
                    "ts": datetime.fromtimestamp(int(epoch), UTC).replace(tzinfo=None),
                    "price": float(price),
                    "previous_close": float(q["pc"]) if q.get("pc") else None,
                    "currency": self.currencies.get(symbol.upper(), "USD"),
                    "provider": PROVIDER,
                    "fetched_at": fetched,
                }
            )
        if not rows:
            raise NoData(f"{PROVIDER}: no quotes for {', '.join(symbols) or 'no symbols'}")
        return frame(rows, QUOTES_SCHEMA)
