"""Shared pieces of the live HTTP providers: lazy session, key check, clock, frame helpers."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from ingest.http import ProviderSession, provider_session
from ingest.providers import MissingKey
from nexus.settings import Settings


def utc_now() -> datetime:
    """Current time, UTC, naive (the store's timestamp convention), microsecond precision."""
    return datetime.now(UTC).replace(tzinfo=None)


def news_id(url: str) -> str:
    """Stable id of an article: SHA-256 of its URL, hex."""
    return hashlib.sha256(url.encode()).hexdigest()


_TAG_RE = re.compile(r"<[^>]+>")
_CHARS_SUFFIX_RE = re.compile(r"\s*\[\+\d+ chars\]\s*$")
_SPACE_RE = re.compile(r"\s+")


def plain_text(value: str | None) -> str | None:
    """``value`` as plain text: HTML tags removed, entities decoded, whitespace collapsed,
    NewsAPI's ``[+123 chars]`` truncation marker dropped; None/blank → None."""
    if value is None:
        return None
    text = _TAG_RE.sub(" ", value)
    text = html.unescape(text)
    text = _CHARS_SUFFIX_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text).strip()
    return text or None


def frame(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Rows (dicts) as a frame with exactly ``schema``'s columns, order and types."""
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema=dict(schema))
    return pl.from_dicts(rows, schema=dict(schema))


def excerpt(text: Any, limit: int = 160) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class HttpProvider:
    """Base of the keyed HTTP providers.

    The key and base URL come from settings (``<name>_api_key``/``<name>_base_url`` unless
    the subclass says otherwise) or the constructor. The session is built on first use, so a
    keyless provider opens no cache and raises :class:`MissingKey` before any request.
    ``http`` keyword arguments override :func:`ingest.http.provider_session` defaults
    (``per_second``, ``max_delay``, ``retry``, ``breaker``, ``timeout``, ...).
    """

    name: str = ""
    key_field: str = ""
    base_url_field: str = ""

    def __init__(
        self,
        settings: Settings,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        now: Callable[[], datetime] | None = None,
        **http: Any,
    ) -> None:
        self.settings = settings
        if api_key is None:
            api_key = getattr(settings, self.key_field).get_secret_value()
        self._key = api_key.strip()
        self.base_url = (base_url or getattr(settings, self.base_url_field)).rstrip("/")
        self._now = now or utc_now
        self._http = http
        self._session: ProviderSession | None = None

    # subclass hooks -----------------------------------------------------------------------
    def session_options(self) -> dict[str, Any]:
        """Defaults for :func:`provider_session` (limits, TTLs, classifier, auth)."""
        return {}

    # helpers ------------------------------------------------------------------------------
    @property
    def has_key(self) -> bool:
        return bool(self._key)

    def require_key(self) -> str:
        if not self._key:
            env = type(self.settings).model_fields[self.key_field].alias
            raise MissingKey(f"{self.name}: no API key configured (set {env})")
        return self._key

    @property
    def session(self) -> ProviderSession:
        self.require_key()
        if self._session is None:
            options = {**self.session_options(), **self._http}
            self._session = provider_session(self.settings, self.name, **options)
        return self._session

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET base_url + path`` (key check first, then cache/limit/retry) → parsed JSON."""
        self.require_key()
        return self.session.get_json(f"{self.base_url}{path}", params=params)

    def now(self) -> datetime:
        return self._now()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __repr__(self) -> str:  # never show the key
        return f"<{type(self).__name__} {self.base_url} key={'set' if self._key else 'unset'}>"
