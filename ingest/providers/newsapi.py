"""NewsAPI headlines: ``/v2/everything`` and ``/v2/top-headlines``, key in the ``X-Api-Key``
header (never in URLs).

Errors: ``{"status": "error", "code": "...", "message": "..."}`` with HTTP 400/401/429/500.
The developer plan allows 100 requests per 24 h (50 per 12 h), about one month of history on
``/everything``, articles delayed 24 h and development use only (check the terms before
production). Titles and summaries are stored as plain text (tags stripped, entities decoded).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import requests

from ingest.http import KeyRejected
from ingest.providers import (
    NEWS_SCHEMA,
    NoData,
    PremiumRequired,
    ProviderError,
    QuotaExhausted,
    Unavailable,
)
from ingest.providers._base import HttpProvider, excerpt, frame, news_id, plain_text

PROVIDER = "newsapi"
CATEGORIES = ("business", "entertainment", "general", "health", "science", "sports", "technology")
MAX_PAGE_SIZE = 100

_KEY_CODES = {"apiKeyDisabled", "apiKeyInvalid", "apiKeyMissing"}


def classify(response: requests.Response, payload: Any) -> ProviderError | None:
    """``status: error`` bodies (any HTTP status) → ProviderError by ``code``."""
    if not (isinstance(payload, dict) and payload.get("status") == "error"):
        return None
    code = str(payload.get("code") or "")
    message = f"{PROVIDER}: {code}: {excerpt(payload.get('message') or '')}"
    if code in _KEY_CODES:
        return KeyRejected(f"{PROVIDER}: {code}")
    if code in ("apiKeyExhausted", "rateLimited"):
        # The developer plan's limit is 100 requests per 24 h: retrying today cannot help.
        return QuotaExhausted(message)
    if code == "parameterInvalid" and "too far in the past" in message:
        return PremiumRequired(message)
    if code == "sourceDoesNotExist":
        return NoData(message)
    if code == "unexpectedError" or response.status_code >= 500:
        return Unavailable(message)
    return ProviderError(message)


def _published(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


class NewsApiProvider(HttpProvider):
    """NewsAPI: :meth:`everything`, :meth:`top_headlines`, and :meth:`news` (the protocol)."""

    name = PROVIDER
    key_field = "newsapi_key"
    base_url_field = "newsapi_base_url"

    def session_options(self) -> dict[str, Any]:
        return {
            "per_day": 100,
            "expire_after": {"*/v2/": timedelta(minutes=30)},
            "classify": classify,
            "auth_headers": {"X-Api-Key": self.require_key()},
        }

    def _articles(self, path: str, params: dict[str, Any], symbols: Sequence[str]) -> pl.DataFrame:
        payload = self.get_json(path, params)
        if not isinstance(payload, dict):
            raise Unavailable(f"{PROVIDER}: unexpected response from {path}")
        fetched = self.now()
        rows = []
        for article in payload.get("articles") or []:
            url = article.get("url")
            published = article.get("publishedAt")
            if not url or not published:
                continue
            title = plain_text(article.get("title"))
            summary = plain_text(article.get("description")) or plain_text(article.get("content"))
            rows.append(
                {
                    "id": news_id(url),
                    "published_at": _published(published),
                    "symbol": _match_symbol(symbols, title, summary),
                    "title": title,
                    "source": (article.get("source") or {}).get("name"),
                    "url": url,
                    "summary": summary,
                    "provider": PROVIDER,
                    "fetched_at": fetched,
                }
            )
        if not rows:
            raise NoData(f"{PROVIDER}: no articles from {path}")
        return frame(rows, NEWS_SCHEMA).unique("id", keep="first", maintain_order=True)

    def everything(
        self,
        q: str,
        since: date | None = None,
        *,
        symbols: Sequence[str] = (),
        language: str | None = "en",
        sort_by: str = "publishedAt",
        page_size: int = MAX_PAGE_SIZE,
    ) -> pl.DataFrame:
        """``/v2/everything?q=…`` (``q`` ≤ 500 characters; NewsAPI's query syntax)."""
        if not q or len(q) > 500:
            raise ProviderError(f"{PROVIDER}: q must have 1 to 500 characters")
        params: dict[str, Any] = {
            "q": q,
            "sortBy": sort_by,
            "pageSize": min(page_size, MAX_PAGE_SIZE),
        }
        if since is not None:
            params["from"] = since.isoformat()
        if language:
            params["language"] = language
        return self._articles("/v2/everything", params, symbols)

    def top_headlines(
        self,
        *,
        country: str | None = "us",
        category: str | None = "business",
        q: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> pl.DataFrame:
        """``/v2/top-headlines`` by country and category (``sources`` is not offered: it
        cannot be combined with them)."""
        if category is not None and category not in CATEGORIES:
            raise ProviderError(f"{PROVIDER}: unknown category {category!r}")
        params: dict[str, Any] = {"pageSize": min(page_size, MAX_PAGE_SIZE)}
        for key, value in (("country", country), ("category", category), ("q", q)):
            if value:
                params[key] = value
        return self._articles("/v2/top-headlines", params, ())

    def news(self, symbols: Sequence[str], since: date) -> pl.DataFrame:
        """Articles about ``symbols`` since ``since`` (``/everything``, tickers OR-ed), or US
        business headlines when ``symbols`` is empty. ``symbol`` is the requested ticker the
        title/summary names (the only one when one was asked for), else null."""
        wanted = [s.upper() for s in symbols]
        if not wanted:
            return self.top_headlines()
        return self.everything(" OR ".join(wanted), since, symbols=wanted)


def _match_symbol(symbols: Sequence[str], title: str | None, summary: str | None) -> str | None:
    if len(symbols) == 1:
        return symbols[0]
    text = f"{title or ''} {summary or ''}"
    for symbol in symbols:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(symbol)}(?![A-Za-z0-9])", text):
            return symbol
    return None
