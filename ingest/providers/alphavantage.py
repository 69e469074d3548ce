"""Alpha Vantage (free key): quotes, FX, news sentiment, symbol search, recent daily bars.

One endpoint, ``/query?function=…&apikey=…`` (the key only works as a query parameter; it
is kept out of cache keys, stored responses, logs and errors by :mod:`ingest.http`).
Errors arrive as **HTTP 200** bodies (``Information``/``Note``/``Error Message``), classified
by :func:`classify` in the documented order and never cached.

Free-key limits: ``per_second=1, per_minute=5, per_day=25`` (client-side). Only premium-free
calls are used: ``TIME_SERIES_DAILY`` with ``outputsize=compact`` (the last 100 points, so no
backfills; adjusted close = close, no dividends/splits), ``GLOBAL_QUOTE``, ``FX_DAILY``
(compact), ``NEWS_SENTIMENT``, ``SYMBOL_SEARCH``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import requests

from ingest.http import KeyRejected
from ingest.providers import (
    BARS_SCHEMA,
    FX_SCHEMA,
    NEWS_SCHEMA,
    QUOTES_SCHEMA,
    NoData,
    PremiumRequired,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    Unavailable,
)
from ingest.providers._base import HttpProvider, excerpt, frame, news_id

PROVIDER = "alphavantage"
#: Keys whose presence means "this is data" (classification step 1).
DATA_KEYS = (
    "Time Series (Daily)",
    "Time Series FX (Daily)",
    "Global Quote",
    "feed",
    "bestMatches",
    "Realtime Currency Exchange Rate",
)
MESSAGE_KEYS = ("Information", "Note", "Error Message")
BURST_RETRY_AFTER = 1.5  # seconds, "1 request per second" throttle
LEGACY_RETRY_AFTER = 60.0  # seconds, "call frequency" throttle (legacy Note)
COMPACT_POINTS = 100

SEARCH_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "name": pl.String(),
    "currency": pl.String(),
    "region": pl.String(),
    "type": pl.String(),
    "match_score": pl.Float64(),
}

TTL = {
    re.compile(r"[?&]function=GLOBAL_QUOTE(&|$)"): timedelta(minutes=5),
    re.compile(r"[?&]function=NEWS_SENTIMENT(&|$)"): timedelta(minutes=30),
    re.compile(r"[?&]function=TIME_SERIES_DAILY(&|$)"): timedelta(hours=12),
    re.compile(r"[?&]function=FX_DAILY(&|$)"): timedelta(hours=12),
    re.compile(r"[?&]function=SYMBOL_SEARCH(&|$)"): timedelta(days=7),
}


def classify(response: requests.Response, payload: Any) -> ProviderError | None:
    """Alpha Vantage error/throttle bodies → ProviderError (reference §1.5, order matters)."""
    if not isinstance(payload, dict):
        if response.status_code != 200:
            return None
        return ProviderError(f"{PROVIDER}: unexpected response (not a JSON object)")
    if any(key in payload for key in DATA_KEYS):
        return None
    message = next((str(payload[k]) for k in MESSAGE_KEYS if k in payload), None)
    if message is None:
        if response.status_code != 200:
            return None  # left to the HTTP status mapping
        return ProviderError(f"{PROVIDER}: unexpected response with keys {sorted(payload)[:5]}")
    text = message.lower()
    if "1 request per second" in text:
        return RateLimited(f"{PROVIDER}: burst throttle (1 request per second)", BURST_RETRY_AFTER)
    if "call frequency" in text:
        return RateLimited(f"{PROVIDER}: throttled (call frequency)", LEGACY_RETRY_AFTER)
    if "requests per day" in text or "rate limit is" in text:
        return QuotaExhausted(f"{PROVIDER}: daily request quota used up")
    if "premium endpoint" in text or "premium feature" in text:
        return PremiumRequired(f"{PROVIDER}: premium only: {excerpt(message)}")
    if "demo" in text and "api key" in text:
        return KeyRejected(f"{PROVIDER}: the demo API key only serves demo symbols")
    if "Error Message" in payload:
        return NoData(f"{PROVIDER}: invalid call or unknown symbol: {excerpt(message)}")
    return ProviderError(f"{PROVIDER}: {excerpt(message)}")


def _float(value: Any) -> float | None:
    if value is None or value in ("", "None", "-"):
        return None
    return float(str(value).rstrip("%"))


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


class AlphaVantageProvider(HttpProvider):
    """Alpha Vantage on a free key (see the module docstring for the calls used).

    ``currencies``: symbol → ISO currency for quotes (Alpha Vantage's quote carries none);
    symbols not in it are quoted in ``USD``.
    """

    name = PROVIDER
    key_field = "alphavantage_api_key"
    base_url_field = "alphavantage_base_url"

    def __init__(
        self, settings: Any, *, currencies: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self.currencies = {k.upper(): v.upper() for k, v in (currencies or {}).items()}

    @property
    def history_start(self) -> date:
        """Compact output covers ~100 trading days: nothing older is reachable on a free key."""
        return self.now().date() - timedelta(days=150)

    def session_options(self) -> dict[str, Any]:
        return {
            "per_second": 1,
            "per_minute": 5,
            "per_day": 25,
            # Waits for the per-minute window are worth it in a batch; the daily budget is
            # never waited for (it raises QuotaExhausted at once).
            "max_delay": 65.0,
            "expire_after": TTL,
            "classify": classify,
            "auth_params": {"apikey": self.require_key()},
        }

    def _query(self, function: str, **params: Any) -> dict[str, Any]:
        payload = self.get_json("/query", {"function": function, **params})
        if not isinstance(payload, dict):
            raise Unavailable(f"{PROVIDER}: unexpected response to {function}")
        return payload

    # bars ---------------------------------------------------------------------------------
    def bars(self, symbol: str, start: date, end: date) -> pl.DataFrame:
        """Daily bars from ``TIME_SERIES_DAILY`` (compact: the last 100 sessions only).
        Unadjusted: ``adj_close = close``, ``dividend = 0``, ``split = 1``."""
        payload = self._query("TIME_SERIES_DAILY", symbol=symbol, outputsize="compact")
        series = payload.get("Time Series (Daily)") or {}
        fetched = self.now()
        rows = []
        for day_text, values in series.items():
            day = _day(day_text)
            if not start <= day <= end:
                continue
            close = _float(values.get("4. close"))
            rows.append(
                {
                    "symbol": symbol,
                    "date": day,
                    "open": _float(values.get("1. open")),
                    "high": _float(values.get("2. high")),
                    "low": _float(values.get("3. low")),
                    "close": close,
                    "adj_close": close,
                    "volume": int(float(values.get("5. volume") or 0)),
                    "dividend": 0.0,
                    "split": 1.0,
                    "provider": PROVIDER,
                    "fetched_at": fetched,
                    "filled": False,
                }
            )
        if not rows:
            raise NoData(f"{PROVIDER}: no bars for {symbol} between {start} and {end}")
        return frame(rows, BARS_SCHEMA).sort("date")

    # quotes -------------------------------------------------------------------------------
    def quotes(self, symbols: Sequence[str]) -> pl.DataFrame:
        """``GLOBAL_QUOTE`` per symbol; ``ts`` is the latest trading day at 00:00 (the quote
        carries no time). Symbols with an empty quote are left out; any other error is
        raised (answers already fetched stay cached for 5 minutes, so a rerun is cheap)."""
        fetched = self.now()
        rows = []
        for symbol in symbols:
            quote = self._query("GLOBAL_QUOTE", symbol=symbol).get("Global Quote") or {}
            price = _float(quote.get("05. price"))
            if not quote or price is None:
                continue
            day = quote.get("07. latest trading day")
            rows.append(
                {
                    "symbol": quote.get("01. symbol") or symbol,
                    "ts": datetime.combine(_day(day), datetime.min.time()) if day else fetched,
                    "price": price,
                    "previous_close": _float(quote.get("08. previous close")),
                    "currency": self.currencies.get(symbol.upper(), "USD"),
                    "provider": PROVIDER,
                    "fetched_at": fetched,
                }
            )
        if not rows:
            raise NoData(f"{PROVIDER}: no quotes for {', '.join(symbols) or 'no symbols'}")
        return frame(rows, QUOTES_SCHEMA)

    # fx -----------------------------------------------------------------------------------
    def fx_rates(self, quotes: Sequence[str], start: date, end: date) -> pl.DataFrame:
        """``FX_DAILY`` (compact) from USD to each quote currency: ``rate`` = quote units per
        1 USD (close). A series quoted the other way round (From = quote, To = USD) is
        inverted. USD itself is skipped."""
        fetched = self.now()
        rows = []
        for quote in quotes:
            quote = quote.upper()
            if quote == "USD":
                continue
            payload = self._query(
                "FX_DAILY", from_symbol="USD", to_symbol=quote, outputsize="compact"
            )
            meta = payload.get("Meta Data") or {}
            invert = str(meta.get("2. From Symbol", "USD")).upper() != "USD"
            for day_text, values in (payload.get("Time Series FX (Daily)") or {}).items():
                day = _day(day_text)
                close = _float(values.get("4. close"))
                if not start <= day <= end or not close:
                    continue
                rows.append(
                    {
                        "date": day,
                        "base": "USD",
                        "quote": quote,
                        "rate": 1.0 / close if invert else close,
                        "provider": PROVIDER,
                        "fetched_at": fetched,
                        "filled": False,
                    }
                )
        if not rows:
            raise NoData(f"{PROVIDER}: no FX rates for {', '.join(quotes)} in {start}..{end}")
        return frame(rows, FX_SCHEMA).sort("quote", "date")

    # news ---------------------------------------------------------------------------------
    def news(self, symbols: Sequence[str], since: date, limit: int = 50) -> pl.DataFrame:
        """``NEWS_SENTIMENT`` about ``symbols`` (market-wide when empty) since ``since``.

        One row per article; ``symbol`` is the requested ticker the article is most relevant
        to (by ``ticker_sentiment`` relevance), null for market-wide requests.
        ``time_published`` has no zone in the payload; it is stored as given."""
        params: dict[str, Any] = {
            "time_from": since.strftime("%Y%m%dT0000"),
            "sort": "LATEST",
            "limit": limit,
        }
        wanted = [s.upper() for s in symbols]
        if wanted:
            params["tickers"] = ",".join(wanted)
        payload = self._query("NEWS_SENTIMENT", **params)
        fetched = self.now()
        rows = []
        for item in payload.get("feed") or []:
            url = item.get("url")
            if not url:
                continue
            rows.append(
                {
                    "id": news_id(url),
                    "published_at": datetime.strptime(item["time_published"], "%Y%m%dT%H%M%S"),
                    "symbol": _best_ticker(item.get("ticker_sentiment") or [], wanted),
                    "title": item.get("title"),
                    "source": item.get("source"),
                    "url": url,
                    "summary": item.get("summary"),
                    "provider": PROVIDER,
                    "fetched_at": fetched,
                }
            )
        if not rows:
            raise NoData(f"{PROVIDER}: no news for {', '.join(wanted) or 'the market'}")
        return frame(rows, NEWS_SCHEMA).unique("id", keep="first", maintain_order=True)

    # search -------------------------------------------------------------------------------
    def search(self, keywords: str) -> pl.DataFrame:
        """``SYMBOL_SEARCH``: columns symbol, name, currency, region, type, match_score."""
        payload = self._query("SYMBOL_SEARCH", keywords=keywords)
        rows = [
            {
                "symbol": m.get("1. symbol"),
                "name": m.get("2. name"),
                "currency": m.get("8. currency"),
                "region": m.get("4. region"),
                "type": m.get("3. type"),
                "match_score": _float(m.get("9. matchScore")),
            }
            for m in payload.get("bestMatches") or []
        ]
        if not rows:
            raise NoData(f"{PROVIDER}: no symbol matches {keywords!r}")
        return frame(rows, SEARCH_SCHEMA)


def _best_ticker(sentiments: list[dict[str, Any]], wanted: list[str]) -> str | None:
    best: tuple[float, str] | None = None
    for s in sentiments:
        ticker = str(s.get("ticker", "")).upper()
        if ticker in wanted:
            score = _float(s.get("relevance_score")) or 0.0
            if best is None or score > best[0]:
                best = (score, ticker)
    return best[1] if best else None
