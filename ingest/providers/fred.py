"""FRED macro series: ``GET /fred/series/observations`` (key in the ``api_key`` query
parameter only; ``file_type=json`` is required, XML is the default).

Values are strings; ``"."`` marks a missing observation (holiday, withheld release) and
becomes null. Errors: HTTP 4xx ``{"error_code": 400, "error_message": "..."}``.
Limits: 120 requests/minute documented, >2/s reported to 429: ``per_second=2,
per_minute=120``. ``fred/series`` (title, units, frequency) is not used: its payload is not in
the project's provider reference.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import requests

from ingest.http import KeyRejected, parse_retry_after
from ingest.providers import (
    MACRO_SCHEMA,
    NoData,
    ProviderError,
    RateLimited,
    Unavailable,
)
from ingest.providers._base import HttpProvider, excerpt, frame

PROVIDER = "fred"


def classify(response: requests.Response, payload: Any) -> ProviderError | None:
    if not (isinstance(payload, dict) and "error_code" in payload):
        return None
    message = str(payload.get("error_message") or payload["error_code"])
    text = message.lower()
    status = response.status_code
    if status == 429 or str(payload["error_code"]) == "429":
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(f"{PROVIDER}: {excerpt(message)}", retry_after)
    if "api_key" in text or "api key" in text:
        return KeyRejected(f"{PROVIDER}: API key rejected")
    if "does not exist" in text:
        return NoData(f"{PROVIDER}: {excerpt(message)}")
    if status >= 500:
        return Unavailable(f"{PROVIDER}: {excerpt(message)}")
    return ProviderError(f"{PROVIDER}: {excerpt(message)}")


def _value(text: Any) -> float | None:
    if text is None or str(text).strip() in (".", ""):
        return None
    return float(text)


class FredProvider(HttpProvider):
    """FRED observations (:meth:`observations`)."""

    name = PROVIDER
    key_field = "fred_api_key"
    base_url_field = "fred_base_url"

    def session_options(self) -> dict[str, Any]:
        return {
            "per_second": 2,
            "per_minute": 120,
            "expire_after": {"*/fred/series/observations": timedelta(hours=6)},
            "classify": classify,
            "auth_params": {"api_key": self.require_key()},
        }

    def observations(self, series_id: str, start: date, end: date) -> pl.DataFrame:
        """:data:`MACRO_SCHEMA` rows of ``series_id`` with ``start <= date <= end``
        (``"."`` → null value)."""
        payload = self.get_json(
            "/fred/series/observations",
            {
                "series_id": series_id,
                "file_type": "json",
                "observation_start": start.isoformat(),
                "observation_end": end.isoformat(),
                "sort_order": "asc",
            },
        )
        if not isinstance(payload, dict):
            raise Unavailable(f"{PROVIDER}: unexpected response for {series_id}")
        fetched = self.now()
        rows = [
            {
                "series_id": series_id,
                "date": date.fromisoformat(obs["date"]),
                "value": _value(obs.get("value")),
                "provider": PROVIDER,
                "fetched_at": fetched,
            }
            for obs in payload.get("observations") or []
        ]
        if not rows:
            raise NoData(f"{PROVIDER}: no observations of {series_id} in {start}..{end}")
        return frame(rows, MACRO_SCHEMA).sort("date")
