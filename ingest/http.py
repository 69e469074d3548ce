"""HTTP plumbing shared by the live market-data providers.

One factory, :func:`provider_session`, builds a :class:`ProviderSession` per provider:

- **Cache** (requests-cache): SQLite file ``<data dir>/http_cache.sqlite`` or Redis
  (``NEXUS_HTTP_CACHE=redis``); per-endpoint TTLs (``urls_expire_after``); only HTTP 200 with
  a body the provider's classifier accepts is stored (``filter_fn``), so throttle/error bodies
  sent with HTTP 200 are never cached; ``stale_if_error`` serves an expired copy when the
  provider is down. API keys are ``ignored_parameters``: left out of cache keys **and** stored
  as ``REDACTED`` in the cached request (URL and headers).
- **Rate limit** (requests-ratelimiter / pyrate-limiter): the limiter sits *below* the cache
  (class order ``CacheMixin, LimiterMixin``), so cache hits never spend budget. One bucket per
  provider (not per host), shared by every session of that provider in the process; hourly
  and daily budgets are kept in ``<data dir>/ratelimit.sqlite`` so restarts and other
  processes see them. Waits are bounded by ``max_delay``: a longer wait raises
  :class:`RateLimited` (or :class:`QuotaExhausted` when the blocking window is an hour or
  more) without sleeping.
- **Retries** with exponential backoff (and jitter) for connection errors, timeouts, 5xx and
  429 (honouring ``Retry-After`` up to ``RetryPolicy.max_retry_after``); the total sleep is
  bounded by ``RetryPolicy.max_total``.
- **Circuit breaker** per provider: ``failure_threshold`` consecutive failed calls (after
  retries) open it; while open, calls raise :class:`Unavailable` ("circuit open") without
  touching the network; after ``reset_after`` seconds one trial call is let through
  (half-open) and its outcome closes or re-opens it.
- **Errors** are :class:`ingest.providers.ProviderError` subclasses whose messages never
  contain a key (see :func:`redact`).

Logging: :class:`KeyRedactor` rewrites configured key values and ``apikey=…``-style query
parameters to ``***`` in log records (message, arguments and traceback);
:func:`install_redaction` attaches it to the ingest/HTTP loggers and to the handlers of the
root logger (records propagated from child loggers such as ``requests_cache.session`` only
pass handler filters, not the parent logger's).
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from pyrate_limiter import Duration, Limiter, SQLiteBucket
from pyrate_limiter.abstracts import AbstractBucket, Rate
from requests_cache import CacheMixin
from requests_cache.backends import BaseCache, RedisCache, SQLiteCache
from requests_ratelimiter import LimiterMixin
from requests_ratelimiter.buckets import HostBucketFactory
from requests_ratelimiter.requests_ratelimiter import _convert_rate

from ingest.providers import (
    NoData,
    PremiumRequired,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    Unavailable,
)
from nexus.settings import Settings

log = logging.getLogger(__name__)

#: Query parameters that carry API keys (FRED, Alpha Vantage, Finnhub, NewsAPI, Twelve Data).
KEY_PARAMS: tuple[str, ...] = ("apikey", "api_key", "apiKey", "token", "access_token")
#: Headers that carry API keys (Tiingo/Twelve Data, Finnhub, NewsAPI).
KEY_HEADERS: tuple[str, ...] = ("Authorization", "X-Finnhub-Token", "X-Api-Key")
CACHE_FILE = "http_cache.sqlite"
LIMITS_FILE = "ratelimit.sqlite"
REDIS_NAMESPACE = "nexus_http"
MASK = "***"

ExpireAfter = timedelta | int


class KeyRejected(ProviderError):
    """The provider refused the configured API key (invalid, disabled, revoked)."""


# Redaction ---------------------------------------------------------------------------------
_PARAM_RE = re.compile(r"(?i)\b(api_?key|apikey|token|access_token)=([^&\s'\"<>]+)")
_HEADER_RE = re.compile(
    r"(?i)(['\"]?(?:authorization|x-finnhub-token|x-api-key)['\"]?\s*[:=]\s*['\"]?)"
    r"(?:token\s+|apikey\s+|bearer\s+)?([^'\"\s,}]+)"
)
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


def register_secret(value: str) -> None:
    """Make every :class:`KeyRedactor` (and :func:`redact`) mask ``value`` from now on."""
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with key values, ``apikey=…``-style parameters and key headers masked."""
    with _SECRETS_LOCK:
        values = _SECRETS | {s for s in secrets if s and len(s) >= 4}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _PARAM_RE.sub(rf"\1={MASK}", text)
    return _HEADER_RE.sub(lambda m: m.group(1) + MASK, text)


class KeyRedactor(logging.Filter):
    """Masks API keys in log records (message, arguments, traceback, stack); never drops one.

    The merged message replaces ``msg``/``args``; a traceback is formatted once, masked and
    stored in ``exc_text`` (``logging.Formatter`` reuses it) while ``exc_info`` is cleared so
    no handler can format the raw exception (whose text may hold a URL with a key) again.
    """

    _formatter = logging.Formatter()

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = frozenset(s for s in secrets if s and len(s) >= 4)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's error path
            message = str(record.msg)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


#: Loggers the redactor is attached to (and their existing children).
REDACTED_LOGGERS = (
    "ingest",
    "urllib3",
    "requests",
    "requests_cache",
    "requests_ratelimiter",
    "pyrate_limiter",
)


def settings_secrets(settings: Settings) -> list[str]:
    """Every non-empty secret setting (API keys, passwords, signing keys)."""
    from pydantic import SecretStr

    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            values.append(value.get_secret_value())
    return values


def install_redaction(settings: Settings, extra: Iterable[str] = ()) -> KeyRedactor:
    """Attach one :class:`KeyRedactor` (with every secret setting) to the HTTP/ingest loggers,
    their existing child loggers and every handler of those loggers and of the root logger.

    Idempotent: a previously installed redactor is replaced. Call it right after
    ``logging.basicConfig`` (handlers added later are not covered; loggers still are).
    """
    redactor = KeyRedactor([*settings_secrets(settings), *extra])
    manager = logging.Logger.manager
    names = [
        name
        for name in list(manager.loggerDict)
        if any(name == n or name.startswith(n + ".") for n in REDACTED_LOGGERS)
    ]
    loggers = [logging.getLogger(n) for n in {*REDACTED_LOGGERS, *names}]
    targets: list[logging.Filterer] = [*loggers, *logging.getLogger().handlers]
    for lg in loggers:
        targets.extend(lg.handlers)
    for target in targets:
        for old in [f for f in target.filters if isinstance(f, KeyRedactor)]:
            target.removeFilter(old)
        target.addFilter(redactor)
    return redactor


# Circuit breaker ---------------------------------------------------------------------------
class CircuitBreaker:
    """closed → open after ``failure_threshold`` consecutive failures → half-open after
    ``reset_after`` seconds (one trial call) → closed on success, open again on failure."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        reset_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = max(1, failure_threshold)
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._state = "closed"
        self.failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (an open breaker past its cool-down)."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_after:
                return "half-open"
            return self._state

    def before_call(self) -> None:
        """Raise :class:`Unavailable` while open; let a trial through once cooled down."""
        with self._lock:
            if self._state == "closed":
                return
            remaining = self.reset_after - (self._clock() - self._opened_at)
            if self._state == "open" and remaining <= 0:
                self._state = "half-open"
                return
            if self._state == "half-open":
                return
            raise Unavailable(
                f"{self.name}: circuit open after {self.failures} consecutive failures; "
                f"next try in {max(remaining, 0):.0f}s"
            )

    def record_success(self) -> None:
        with self._lock:
            self._state = "closed"
            self.failures = 0

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self._state == "half-open" or self.failures >= self.failure_threshold:
                self._state = "open"
                self._opened_at = self._clock()


# Retry policy ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    ``attempts`` counts every try (1 = no retry). Waits double from ``backoff`` up to
    ``max_backoff`` (times a random factor in [0.5, 1] when ``jitter``); a ``Retry-After``
    (or a classifier's ``retry_after``) is used instead when given, unless it exceeds
    ``max_retry_after`` (then :class:`RateLimited` is raised at once). The summed sleep of one
    call never exceeds ``max_total``.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_total: float = 20.0
    max_retry_after: float = 30.0
    jitter: bool = True

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2) if self.jitter else base


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# Rate limiting -----------------------------------------------------------------------------
class _LimitWait(Exception):
    """The limiter would make us wait longer than ``max_delay``."""

    def __init__(self, wait: float, rate: Rate | None) -> None:
        super().__init__(f"rate limit wait {wait:.1f}s")
        self.wait = wait
        self.rate = rate


@dataclass
class _SharedLimiter:
    limiter: Limiter
    lock: threading.Lock


_LIMITERS: dict[tuple[Any, ...], _SharedLimiter] = {}
_BREAKERS: dict[str, CircuitBreaker] = {}
_REGISTRY_LOCK = threading.Lock()


def _rates(
    per_second: float | None,
    per_minute: float | None,
    per_hour: float | None,
    per_day: float | None,
) -> list[Rate]:
    spec = {
        int(Duration.SECOND): per_second,
        int(Duration.MINUTE): per_minute,
        int(Duration.HOUR): per_hour,
        int(Duration.DAY): per_day,
    }
    return [_convert_rate(limit, interval) for interval, limit in spec.items() if limit]


def shared_limiter(provider: str, rates: list[Rate], path: Path | None = None) -> _SharedLimiter:
    """The process-wide limiter of ``provider`` with these rates (created on first use).

    With ``path``, request timestamps live in that SQLite file (table ``bucket_<provider>``),
    so separate processes (app, CLI runs, scheduler) count against one budget. Counting is
    not atomic across processes: two racing processes may each get the last slot.
    """
    key = (provider, tuple((r.limit, r.interval) for r in rates), str(path or ""))
    with _REGISTRY_LOCK:
        entry = _LIMITERS.get(key)
        if entry is None:
            if path is None:
                factory = HostBucketFactory(rates=rates)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                factory = HostBucketFactory(
                    rates=rates, bucket_class=SQLiteBucket, bucket_init_kwargs={"path": str(path)}
                )
            entry = _SharedLimiter(Limiter(factory, buffer_ms=50), threading.Lock())
            _LIMITERS[key] = entry
        return entry


def breaker_for(
    provider: str, failure_threshold: int = 5, reset_after: float = 60.0
) -> CircuitBreaker:
    """The process-wide circuit breaker of ``provider`` (created on first use)."""
    with _REGISTRY_LOCK:
        breaker = _BREAKERS.get(provider)
        if breaker is None:
            breaker = CircuitBreaker(provider, failure_threshold, reset_after)
            _BREAKERS[provider] = breaker
        return breaker


def reset_http_state() -> None:
    """Forget all shared limiters and breakers (tests; a fresh process needs no reset)."""
    with _REGISTRY_LOCK:
        for entry in _LIMITERS.values():
            entry.limiter.bucket_factory.close()
        _LIMITERS.clear()
        _BREAKERS.clear()


class _BoundedLimiterMixin(LimiterMixin):
    """:class:`LimiterMixin` whose wait is checked *before* sleeping: if the bucket would
    block longer than ``max_delay``, :class:`_LimitWait` is raised at once (pyrate-limiter's
    own timeout would sleep the whole ``max_delay`` first and then fail)."""

    _limit_lock: threading.Lock | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if self._limit_lock is not None:
            self._acquire(self._bucket_name(request))
        response = super(LimiterMixin, self).send(request, **kwargs)
        if self._limit_lock is not None and response.status_code in self.limit_statuses:
            self._fill_bucket(request)
        return response

    def _acquire(self, name: str) -> None:
        assert self._limit_lock is not None
        factory = self.limiter.bucket_factory
        max_delay = self.max_delay or 0.0
        deadline = time.monotonic() + max_delay
        while True:
            with self._limit_lock:
                item = factory.wrap_item(name, 1)
                bucket: AbstractBucket = factory.get(item)  # type: ignore[assignment]
                if bucket.put(item):
                    return
                wait_ms = bucket.waiting(item)
                rate = bucket.failing_rate
            wait = float("inf") if wait_ms < 0 else (int(wait_ms) + 50) / 1000  # type: ignore[operator]
            if time.monotonic() + wait > deadline:
                raise _LimitWait(wait, rate)
            time.sleep(wait)

    def bucket_count(self, request_url: str = "") -> int:
        """Requests currently counted in this session's bucket (tests, diagnostics)."""
        if self._limit_lock is None:
            return 0
        name = self._bucket_name(requests.Request("GET", request_url or "http://x/").prepare())
        return int(self.limiter.bucket_factory[name].count())  # type: ignore[index,arg-type]


# The session -------------------------------------------------------------------------------
_NOT_JSON = object()
#: ``classify(response, payload) -> error or None``; ``payload`` is the decoded JSON body.
Classifier = Callable[[requests.Response, Any], ProviderError | None]
#: ``decode(body bytes) -> payload``; raising any exception marks the body malformed.
Decoder = Callable[[bytes], Any]


def _payload(response: requests.Response, decode: Decoder | None = None) -> Any:
    """The decoded body, computed once per response: ``decode(content)`` when given (a
    provider's columnar decoder for large payloads), else ``response.json()``."""
    cached = getattr(response, "_nexus_payload", None)
    if cached is not None:
        return cached
    try:
        payload = response.json() if decode is None else decode(response.content)
    except Exception:  # JSONDecodeError, polars ComputeError: all mean "malformed body"
        payload = _NOT_JSON
    with contextlib.suppress(AttributeError):
        response._nexus_payload = payload  # type: ignore[attr-defined]
    return payload


def _ignored_names() -> list[str]:
    names: list[str] = []
    for name in (*KEY_PARAMS, *KEY_HEADERS, "Proxy-Authorization", "X-Auth-Token"):
        names.extend({name, name.lower(), name.upper(), name.title()})
    return sorted(set(names))


class ProviderSession(CacheMixin, _BoundedLimiterMixin, requests.Session):  # type: ignore[misc]
    """A requests session for one provider: cache → rate limit → network, with retries,
    a circuit breaker and error classification. Build it with :func:`provider_session`.

    ``request``/``get`` raise :class:`ProviderError` subclasses instead of returning an error
    response; :meth:`get_json` also returns the parsed body.
    """

    def __init__(
        self,
        provider: str,
        *,
        backend: BaseCache,
        urls_expire_after: Mapping[Any, ExpireAfter] | None,
        expire_after: ExpireAfter,
        rates: list[Rate],
        limits_path: Path | None,
        max_delay: float,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        timeout: float,
        classify: Classifier | None,
        expect_json: bool,
        decode: Decoder | None = None,
        auth_params: Mapping[str, str],
        auth_headers: Mapping[str, str],
    ) -> None:
        shared = shared_limiter(provider, rates, limits_path) if rates else None
        super().__init__(
            backend=backend,
            expire_after=expire_after,
            urls_expire_after=dict(urls_expire_after or {}),
            cache_control=False,
            allowable_codes=(200,),
            allowable_methods=("GET",),
            ignored_parameters=_ignored_names(),
            match_headers=False,
            filter_fn=self._cacheable,
            stale_if_error=True,
            limiter=shared.limiter if shared else None,
            max_delay=max_delay,
            per_host=False,
            bucket_name=provider,
        )
        self._limit_lock = shared.lock if shared else None
        self.provider = provider
        self.retry = retry
        self.breaker = breaker
        self.timeout = timeout
        self.classify = classify
        self.expect_json = expect_json
        self.decode = decode
        self.secrets = frozenset(
            v for v in (*auth_params.values(), *auth_headers.values()) if v and len(v) >= 4
        )
        for value in self.secrets:
            register_secret(value)
            for prefix in ("Token ", "apikey ", "Bearer "):
                if value.startswith(prefix):
                    register_secret(value.removeprefix(prefix))
        self.params = dict(auth_params)
        self.headers.update(auth_headers)
        self.headers["User-Agent"] = "portfolio-nexus-ingest"

    # cache filter -------------------------------------------------------------------------
    def _cacheable(self, response: requests.Response) -> bool:
        """False for a 200 whose body the classifier rejects (or that is not JSON)."""
        if response.status_code != 200:
            return True  # allowable_codes keeps it out; True avoids deleting a stale entry
        return self._classify(response) is None

    def _classify(self, response: requests.Response) -> ProviderError | None:
        payload = _payload(response, self.decode) if self.expect_json else None
        if self.classify is not None and payload is not _NOT_JSON:
            error = self.classify(response, payload)
            if error is not None:
                return error
        status = response.status_code
        where = f"{self.provider}: HTTP {status}"
        if 200 <= status < 300:
            if payload is _NOT_JSON:
                return Unavailable(f"{self.provider}: malformed JSON in the response")
            return None
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimited(f"{where} (too many requests)", retry_after=retry_after)
        if status >= 500:
            return Unavailable(f"{where} (server error)")
        if status == 401:
            return KeyRejected(f"{where} (API key rejected)")
        if status == 402:
            return PremiumRequired(f"{where} (payment required)")
        if status == 403:
            return PremiumRequired(f"{where} (access denied for this key's plan)")
        if status == 404:
            return NoData(f"{where} (not found)")
        return ProviderError(f"{where} (request rejected)")

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    # requests API -------------------------------------------------------------------------
    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send with retries and the circuit breaker; raise :class:`ProviderError` on failure."""
        self.breaker.before_call()
        kwargs.setdefault("timeout", self.timeout)
        policy = self.retry
        slept = 0.0
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                response = super().request(method, url, *args, **kwargs)
            except _LimitWait as exc:
                raise self._limit_error(exc) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                error: ProviderError = Unavailable(f"{self.provider}: {kind}")
                log.debug("%s: %s", self.provider, self.redact(str(exc)))
            except requests.RequestException as exc:
                error = Unavailable(f"{self.provider}: {type(exc).__name__}")
                log.debug("%s: %s", self.provider, self.redact(str(exc)))
            else:
                classified = self._classify(response)
                if classified is None:
                    self.breaker.record_success()
                    return response
                error = classified
                if isinstance(error, RateLimited):
                    retry_after = error.retry_after
                if getattr(response, "from_cache", False):
                    break  # a cached body does not change on retry
            delay = self._retry_delay(error, attempt, retry_after)
            if delay is None or attempt >= policy.attempts or slept + delay > policy.max_total:
                break
            log.info(
                "%s: %s; retry %d/%d in %.2fs",
                self.provider,
                error,
                attempt,
                policy.attempts - 1,
                delay,
            )
            time.sleep(delay)
            slept += delay
        if isinstance(error, Unavailable):
            self.breaker.record_failure()
        else:
            self.breaker.record_success()  # the provider answered: it is up
        raise type(error)(self.redact(str(error)), *_extra_args(error)) from None

    def _retry_delay(
        self, error: ProviderError, attempt: int, retry_after: float | None
    ) -> float | None:
        """Seconds to wait before the next try, or None if ``error`` is not retryable."""
        policy = self.retry
        if isinstance(error, RateLimited):
            if retry_after is not None:
                return retry_after if retry_after <= policy.max_retry_after else None
            return policy.delay(attempt)
        if isinstance(error, Unavailable) and "malformed" not in str(error):
            return policy.delay(attempt)
        return None

    def _limit_error(self, exc: _LimitWait) -> ProviderError:
        if exc.rate is not None and exc.rate.interval >= int(Duration.HOUR):
            hours = exc.rate.interval / int(Duration.HOUR)
            return QuotaExhausted(
                f"{self.provider}: local budget of {exc.rate.limit} requests per "
                f"{hours:g} h used up; next slot in {exc.wait:.0f}s"
            )
        return RateLimited(
            f"{self.provider}: rate limit would delay {exc.wait:.1f}s (max_delay "
            f"{self.max_delay}s)",
            retry_after=exc.wait,
        )

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """GET ``url`` and return the parsed JSON body (errors raise ProviderError)."""
        response = self.get(url, params=params, headers=headers, **kwargs)
        payload = _payload(response, self.decode)
        if payload is _NOT_JSON:
            raise Unavailable(f"{self.provider}: malformed JSON in the response")
        return payload


def _extra_args(error: ProviderError) -> tuple[Any, ...]:
    return (error.retry_after,) if isinstance(error, RateLimited) else ()


def cache_backend(settings: Settings, namespace: str | None = None) -> BaseCache:
    """The configured response cache: SQLite in the data dir, or Redis."""
    if settings.http_cache == "redis":
        from redis import Redis

        connection = Redis.from_url(settings.redis_url)
        return RedisCache(namespace=namespace or REDIS_NAMESPACE, connection=connection)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / (namespace or CACHE_FILE)
    return SQLiteCache(str(path), wal=True, busy_timeout=5000)


def provider_session(
    settings: Settings,
    provider: str,
    *,
    per_second: float | None = None,
    per_minute: float | None = None,
    per_hour: float | None = None,
    per_day: float | None = None,
    expire_after: Mapping[Any, ExpireAfter] | None = None,
    default_expire: ExpireAfter = timedelta(days=1),
    classify: Classifier | None = None,
    auth_params: Mapping[str, str] | None = None,
    auth_headers: Mapping[str, str] | None = None,
    max_delay: float = 5.0,
    retry: RetryPolicy | None = None,
    breaker: CircuitBreaker | None = None,
    timeout: float = 10.0,
    expect_json: bool = True,
    decode: Decoder | None = None,
    cache_namespace: str | None = None,
    persist_limits: bool | None = None,
) -> ProviderSession:
    """A cached, rate-limited, retrying session for ``provider``.

    ``expire_after``: ``{url pattern: ttl}`` (requests-cache ``urls_expire_after``: glob
    patterns match the scheme-less URL including the query; a compiled regex is searched in
    the full URL; first match wins), else ``default_expire``. ``classify`` recognises error
    bodies (also HTTP 200 ones): a non-None result is raised and the response is never
    cached. ``auth_params``/``auth_headers`` are sent with every request and kept out of cache
    keys, stored responses, logs and error messages. ``breaker`` defaults to the provider's
    process-wide breaker; rate limits are shared process-wide per provider and rates.
    ``decode`` replaces ``response.json()`` (e.g. ``polars.read_json`` for big arrays); the
    classifier then sees its result, and a decode error is a malformed body (never cached).
    ``cache_namespace`` overrides the SQLite file name / Redis namespace (tests).
    ``persist_limits`` (default: when an hourly or daily limit is set) keeps the limiter's
    counts in ``<data dir>/ratelimit.sqlite`` so they survive restarts and are shared by
    processes; otherwise they live in memory.
    """
    rates = _rates(per_second, per_minute, per_hour, per_day)
    if persist_limits is None:
        persist_limits = any(r.interval >= int(Duration.HOUR) for r in rates)
    return ProviderSession(
        provider,
        backend=cache_backend(settings, cache_namespace),
        urls_expire_after=expire_after,
        expire_after=default_expire,
        rates=rates,
        limits_path=settings.data_dir / LIMITS_FILE if persist_limits else None,
        max_delay=max_delay,
        retry=retry or RetryPolicy(),
        breaker=breaker or breaker_for(provider),
        timeout=timeout,
        classify=classify,
        expect_json=expect_json,
        decode=decode,
        auth_params=auth_params or {},
        auth_headers=auth_headers or {},
    )
