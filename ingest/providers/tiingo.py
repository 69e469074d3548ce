"""Tiingo end-of-day history: adjusted close, dividends and splits.

``GET /tiingo/daily/<ticker>/prices?startDate=&endDate=&columns=`` and the ticker metadata
``GET /tiingo/daily/<ticker>``; the key travels in the ``Authorization: Token <key>`` header
(never in URLs). Numbers are JSON numbers; ``volume`` is the unadjusted volume.
Limits (unverified): ~50 requests/hour, 1,000/day. Tiingo has no index data (use SPY).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl
import requests

from ingest.providers import (
    BARS_SCHEMA,
    SYMBOLS_SCHEMA,
    NoData,
    ProviderError,
    Unavailable,
)
from ingest.providers._base import HttpProvider, excerpt, frame

PROVIDER = "tiingo"
HISTORY_START = date(2000, 1, 3)


def classify(response: requests.Response, payload: Any) -> ProviderError | None:
    """Tiingo answers errors with an HTTP status and ``{"detail": "..."}``."""
    if isinstance(payload, dict) and "detail" in payload and response.status_code in (200, 404):
        detail = str(payload["detail"])
        if "not found" in detail.lower() or response.status_code == 404:
            return NoData(f"{PROVIDER}: {excerpt(detail)}")
        return ProviderError(f"{PROVIDER}: {excerpt(detail)}")
    return None


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


class TiingoProvider(HttpProvider):
    """Tiingo EOD prices (:meth:`bars`) and ticker metadata (:meth:`symbol_info`).

    ``currencies``: symbol → ISO currency for :meth:`symbols` (Tiingo's metadata has no
    currency); missing symbols are listed in ``USD``.
    """

    name = PROVIDER
    key_field = "tiingo_api_key"
    base_url_field = "tiingo_base_url"

    def __init__(
        self,
        settings: Any,
        *,
        currencies: Mapping[str, str] | None = None,
        history_start: date = HISTORY_START,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, **kwargs)
        self.currencies = {k.upper(): v.upper() for k, v in (currencies or {}).items()}
        self.history_start = history_start

    def session_options(self) -> dict[str, Any]:
        return {
            "per_hour": 50,
            "per_day": 1000,
            "expire_after": {
                "*/tiingo/daily/*/prices": timedelta(hours=12),
                "*/tiingo/daily/*": timedelta(days=7),
            },
            "classify": classify,
            "decode": decode,
            "auth_headers": {"Authorization": f"Token {self.require_key()}"},
        }

    def bars(self, symbol: str, start: date, end: date) -> pl.DataFrame:
        """Daily bars with ``adjClose`` → adj_close, ``divCash`` → dividend,
        ``splitFactor`` → split."""
        payload = self.get_json(
            f"/tiingo/daily/{symbol.lower()}/prices",
            {"startDate": start.isoformat(), "endDate": end.isoformat(), "columns": COLUMNS},
        )
        if not isinstance(payload, pl.DataFrame):
            raise Unavailable(f"{PROVIDER}: unexpected response for {symbol} prices")
        bars = _bars_frame(payload, symbol, start, end, self.now())
        if bars.is_empty():
            raise NoData(f"{PROVIDER}: no bars for {symbol} between {start} and {end}")
        return bars

    def symbol_info(self, symbol: str) -> pl.DataFrame:
        """One :data:`SYMBOLS_SCHEMA` row from the ticker metadata (name, exchange)."""
        meta = self.get_json(f"/tiingo/daily/{symbol.lower()}")
        if not isinstance(meta, dict) or not meta.get("ticker"):
            raise NoData(f"{PROVIDER}: no metadata for {symbol}")
        row = {
            "symbol": symbol.upper(),
            "name": meta.get("name"),
            "currency": self.currencies.get(symbol.upper(), "USD"),
            "asset_class": None,
            "sector": None,
            "region": None,
            "exchange": meta.get("exchangeCode"),
            "is_benchmark": False,
            "provider": PROVIDER,
            "fetched_at": self.now(),
        }
        return frame([row], SYMBOLS_SCHEMA)

    def symbols(self, symbols: Sequence[str] | None = None) -> pl.DataFrame:
        """Metadata of ``symbols`` (default: ``NEXUS_SYMBOLS``); unknown ones are left out.
        One request per symbol, cached for 7 days."""
        frames = []
        for symbol in symbols if symbols is not None else self.settings.symbol_list():
            try:
                frames.append(self.symbol_info(symbol))
            except NoData:
                continue
        return pl.concat([frame([], SYMBOLS_SCHEMA), *frames])


_RAW_BARS = {
    "date": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "adjClose": pl.Float64(),
    "volume": pl.Float64(),
    "divCash": pl.Float64(),
    "splitFactor": pl.Float64(),
}


#: The price fields we ask for (``columns=``): ``date`` always comes; the adjusted
#: high/low/open/volume are skipped, which shrinks the body by about a third.
COLUMNS = "open,high,low,close,adjClose,volume,divCash,splitFactor"


def decode(content: bytes) -> Any:
    """A JSON array body (the price history) straight into a columnar frame of
    :data:`_RAW_BARS` with ``polars.read_json`` (no Python object per bar); any other body
    (metadata, ``{"detail": ...}`` errors) with ``json.loads``. Raises on malformed JSON."""
    if content.lstrip()[:1] == b"[":
        return pl.read_json(io.BytesIO(content), schema=_RAW_BARS)
    return json.loads(content)


def _bars_frame(raw: pl.DataFrame, symbol: str, start: date, end: date, fetched) -> pl.DataFrame:
    """Canonical bars from the decoded :data:`_RAW_BARS` frame (one columnar pass)."""
    if raw.is_empty():
        return pl.DataFrame(schema=BARS_SCHEMA)
    bars = raw.select(
        pl.lit(symbol, pl.String()).alias("symbol"),
        pl.col("date").str.head(10).str.to_date("%Y-%m-%d").alias("date"),
        "open",
        "high",
        "low",
        "close",
        pl.col("adjClose").alias("adj_close"),
        pl.col("volume").fill_null(0).cast(pl.Int64()).alias("volume"),
        pl.col("divCash").fill_null(0.0).alias("dividend"),
        pl.col("splitFactor").fill_null(1.0).alias("split"),
        pl.lit(PROVIDER, pl.String()).alias("provider"),
        pl.lit(fetched, pl.Datetime("us")).alias("fetched_at"),
        pl.lit(False).alias("filled"),
    ).filter(pl.col("date").is_between(start, end))
    return bars if bars["date"].is_sorted() else bars.sort("date")  # Tiingo sends ascending
