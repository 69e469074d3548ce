"""ingest.http: cache, rate limit, retries, circuit breaker, key hygiene — over real HTTP."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests

from ingest.http import (
    CircuitBreaker,
    KeyRedactor,
    RetryPolicy,
    install_redaction,
    parse_retry_after,
    provider_session,
    redact,
    reset_http_state,
)
from ingest.providers import (
    NoData,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    Unavailable,
)
from tests.conftest import missing_part
from tests.fakes.market_server import MarketServer, Reply
from tests.ingest.providers.conftest import KEY, cache_bytes, fast, make_settings

OK = {"value": 1}


def error_body(response: requests.Response, payload: Any) -> ProviderError | None:
    """A test classifier: ``{"status": "error"}`` bodies are throttles, even with HTTP 200."""
    if isinstance(payload, dict) and payload.get("status") == "error":
        return RateLimited("throttled by body", retry_after=99)
    return None


def session(settings, name: str = "testprov", **over: Any):
    options = fast(classify=error_body, auth_params={"apikey": KEY})
    options.update(over)
    return provider_session(settings, name, **options)


# cache & rate limit -------------------------------------------------------------------------
def test_cache_hits_consume_no_rate_limit_budget(live_settings, market_server: MarketServer):
    market_server.add("/data", Reply(body=OK))
    s = session(live_settings, per_second=1, max_delay=3.0)
    url = f"{market_server.url}/data"
    t0 = time.monotonic()
    for _ in range(5):
        assert s.get_json(url, {"x": "1"}) == OK
    assert time.monotonic() - t0 < 0.5  # with a per-second limit, 5 real calls take > 4 s
    assert market_server.hits("/data") == 1
    assert s.bucket_count() == 1  # only the one real request is in the limiter's bucket
    # a different URL is a miss: it spends budget (and waits for the next second)
    s.get_json(url, {"x": "2"})
    assert market_server.hits("/data") == 2
    assert s.bucket_count() == 2
    assert time.monotonic() - t0 >= 0.9


def test_limiter_wait_beyond_max_delay_raises_without_sleeping(live_settings, market_server):
    market_server.add("/data", Reply(body=OK))
    s = session(live_settings, per_second=1, max_delay=0.2)
    url = f"{market_server.url}/data"
    s.get_json(url, {"n": 1})
    t0 = time.monotonic()
    with pytest.raises(RateLimited) as info:
        s.get_json(url, {"n": 2})
    assert time.monotonic() - t0 < 0.15
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 1.1
    assert market_server.hits("/data") == 1


def test_daily_budget_used_up_is_quota_exhausted(live_settings, market_server):
    market_server.add("/data", Reply(body=OK))
    s = session(live_settings, per_day=2, max_delay=1.0)
    url = f"{market_server.url}/data"
    s.get_json(url, {"n": 1})
    s.get_json(url, {"n": 2})
    with pytest.raises(QuotaExhausted, match="2 requests per 24 h"):
        s.get_json(url, {"n": 3})
    assert market_server.hits("/data") == 2
    s.get_json(url, {"n": 1})  # cached: still fine with the budget used up


def test_daily_budget_survives_a_restart(live_settings, market_server):
    market_server.add("/data", Reply(body=OK))
    url = f"{market_server.url}/data"
    session(live_settings, per_day=1).get_json(url, {"n": 1})
    reset_http_state()  # a new process: in-memory state is gone, the SQLite bucket is not
    with pytest.raises(QuotaExhausted):
        session(live_settings, per_day=1).get_json(url, {"n": 2})
    assert (live_settings.data_dir / "ratelimit.sqlite").exists()
    reset_http_state()  # in-memory limits do not survive
    session(live_settings, "memprov", per_day=1, persist_limits=False).get_json(url, {"n": 3})
    reset_http_state()
    session(live_settings, "memprov", per_day=1, persist_limits=False).get_json(url, {"n": 4})
    assert market_server.hits("/data") == 3


def test_limits_are_shared_by_sessions_of_one_provider(live_settings, market_server):
    market_server.add("/data", Reply(body=OK))
    url = f"{market_server.url}/data"
    session(live_settings, per_day=1).get_json(url, {"n": 1})
    with pytest.raises(QuotaExhausted):
        session(live_settings, per_day=1).get_json(url, {"n": 2})
    session(live_settings, "otherprov", per_day=1).get_json(url, {"n": 3})


def test_per_endpoint_expiry(live_settings, market_server):
    market_server.add("/fast", Reply(body=OK))
    market_server.add("/slow", Reply(body=OK))
    s = session(live_settings, expire_after={"*/fast": 1}, default_expire=timedelta(hours=1))
    for _ in range(2):
        s.get_json(f"{market_server.url}/fast")
        s.get_json(f"{market_server.url}/slow")
    assert (market_server.hits("/fast"), market_server.hits("/slow")) == (1, 1)
    time.sleep(1.1)
    s.get_json(f"{market_server.url}/fast")
    s.get_json(f"{market_server.url}/slow")
    assert (market_server.hits("/fast"), market_server.hits("/slow")) == (2, 1)


# retries --------------------------------------------------------------------------------
def test_5xx_then_success_is_retried(live_settings, market_server):
    market_server.add("/data", [Reply(503), Reply(502), Reply(body=OK)])
    assert session(live_settings).get_json(f"{market_server.url}/data") == OK
    assert market_server.hits("/data") == 3


def test_5xx_every_time_is_unavailable_after_bounded_attempts(live_settings, market_server):
    market_server.add("/data", Reply(500, {"oops": True}))
    with pytest.raises(Unavailable, match="HTTP 500"):
        session(live_settings).get_json(f"{market_server.url}/data")
    assert market_server.hits("/data") == 3  # FAST_RETRY.attempts


def test_429_with_retry_after_is_honoured(live_settings, market_server):
    market_server.add("/data", [Reply(429, headers={"Retry-After": "0.3"}), Reply(body=OK)])
    t0 = time.monotonic()
    assert session(live_settings).get_json(f"{market_server.url}/data") == OK
    assert time.monotonic() - t0 >= 0.3
    assert market_server.hits("/data") == 2


def test_429_retry_after_too_long_raises_at_once(live_settings, market_server):
    market_server.add("/data", Reply(429, headers={"Retry-After": "120"}))
    t0 = time.monotonic()
    with pytest.raises(RateLimited) as info:
        session(live_settings).get_json(f"{market_server.url}/data")
    assert info.value.retry_after == 120
    assert time.monotonic() - t0 < 0.5
    assert market_server.hits("/data") == 1


def test_429_without_retry_after_backs_off_then_gives_up(live_settings, market_server):
    market_server.add("/data", Reply(429))
    with pytest.raises(RateLimited) as info:
        session(live_settings).get_json(f"{market_server.url}/data")
    assert info.value.retry_after is None
    assert market_server.hits("/data") == 3
    # and it is never cached
    market_server.add("/data", Reply(body=OK))
    assert session(live_settings).get_json(f"{market_server.url}/data") == OK


def test_timeout_is_retried_then_unavailable(live_settings, market_server):
    market_server.add("/slow", Reply(body=OK, delay=0.6))
    s = session(live_settings, timeout=0.2, retry=RetryPolicy(attempts=2, backoff=0.01))
    t0 = time.monotonic()
    with pytest.raises(Unavailable, match="timed out"):
        s.get_json(f"{market_server.url}/slow")
    assert market_server.hits("/slow") == 2
    assert time.monotonic() - t0 < 1.5


def test_connection_refused_is_unavailable(tmp_path):
    sock_url = "http://127.0.0.1:9"  # discard port: nothing listens
    settings = make_settings(tmp_path, None)
    with pytest.raises(Unavailable, match="connection failed") as info:
        session(settings).get_json(f"{sock_url}/data")
    assert KEY not in str(info.value)


def test_malformed_json_is_unavailable_and_not_cached(live_settings, market_server):
    market_server.add("/data", Reply(body="{not json", content_type="application/json"))
    s = session(live_settings)
    for _ in range(2):
        with pytest.raises(Unavailable, match="malformed JSON"):
            s.get_json(f"{market_server.url}/data")
    assert market_server.hits("/data") == 2  # not retried, not cached


def test_error_body_with_http_200_is_raised_and_never_cached(live_settings, market_server):
    market_server.add("/data", Reply(body={"status": "error", "message": "slow down"}))
    s = session(live_settings)
    for _ in range(2):
        with pytest.raises(RateLimited, match="throttled by body"):
            s.get_json(f"{market_server.url}/data")
    assert market_server.hits("/data") == 2
    market_server.add("/data", Reply(body=OK))
    assert s.get_json(f"{market_server.url}/data") == OK
    assert s.get_json(f"{market_server.url}/data") == OK
    assert market_server.hits("/data") == 3


def test_404_is_no_data(live_settings, market_server):
    with pytest.raises(NoData):
        session(live_settings).get_json(f"{market_server.url}/nothing-here")


# circuit breaker ------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_circuit_breaker_opens_and_recovers_half_open(live_settings, market_server):
    clock = FakeClock()
    breaker = CircuitBreaker("testprov", failure_threshold=2, reset_after=30, clock=clock)
    market_server.add("/data", Reply(500))
    s = session(live_settings, breaker=breaker, retry=RetryPolicy(attempts=1))
    url = f"{market_server.url}/data"
    for _ in range(2):
        with pytest.raises(Unavailable, match="HTTP 500"):
            s.get_json(url)
    assert breaker.state == "open"
    with pytest.raises(Unavailable, match="circuit open"):
        s.get_json(url)
    assert market_server.hits("/data") == 2  # the open circuit made no call

    clock.now += 31  # cool-down over: one trial call; it fails → open again
    assert breaker.state == "half-open"
    with pytest.raises(Unavailable, match="HTTP 500"):
        s.get_json(url)
    assert breaker.state == "open"
    assert market_server.hits("/data") == 3

    clock.now += 31  # next trial succeeds → closed
    market_server.add("/data", Reply(body=OK))
    assert s.get_json(url) == OK
    assert breaker.state == "closed" and breaker.failures == 0
    assert s.get_json(url, {"again": 1}) == OK


def test_circuit_breaker_ignores_answers_that_are_not_outages(live_settings, market_server):
    breaker = CircuitBreaker("testprov", failure_threshold=1, reset_after=30)
    market_server.add("/data", Reply(404, {"detail": "not found"}))
    s = session(live_settings, breaker=breaker)
    for _ in range(3):
        with pytest.raises(NoData):
            s.get_json(f"{market_server.url}/data")
    assert breaker.state == "closed"


def test_parse_retry_after():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


# key hygiene ----------------------------------------------------------------------------
def test_key_is_sent_but_not_in_cache_key_or_cache_file(live_settings, market_server):
    market_server.add("/data", Reply(body=OK))
    s = session(
        live_settings,
        auth_params={"apikey": KEY},
        auth_headers={"Authorization": f"Token {KEY}", "X-Finnhub-Token": KEY},
    )
    s.get_json(f"{market_server.url}/data", {"symbol": "IBM"})
    hit = market_server.requests[0]
    assert hit.query["apikey"] == KEY and hit.headers["Authorization"] == f"Token {KEY}"
    s.close()
    raw = cache_bytes(live_settings)
    assert b"symbol=IBM" in raw  # the stored request is there ...
    assert KEY.encode() not in raw  # ... without the key (URL and headers redacted)
    # another key hits the same cache entry: the key is not part of the cache key
    other = session(live_settings, auth_params={"apikey": "ANOTHER-KEY-456"})
    assert other.get_json(f"{market_server.url}/data", {"symbol": "IBM"}) == OK
    assert market_server.hits("/data") == 1


def test_no_key_in_logs_on_stale_if_error_path(live_settings, market_server, caplog):
    """requests-cache logs a traceback with the raw URL when it serves a stale response."""
    caplog.set_level(logging.DEBUG)
    install_redaction(live_settings)
    market_server.add("/data", [Reply(body=OK), Reply(500)])
    s = session(live_settings, expire_after={"*/data": 1}, retry=RetryPolicy(attempts=1))
    url = f"{market_server.url}/data"
    assert s.get_json(url) == OK
    time.sleep(1.1)
    response = s.get(url)  # expired; the server fails; stale copy served
    assert response.from_cache and market_server.hits("/data") == 2
    text = caplog.text
    assert "using cached response" in text and "Traceback" in text
    assert "apikey=***" in text
    assert KEY not in text
    for record in caplog.records:
        assert KEY not in record.getMessage()


def test_no_key_in_exception_messages(live_settings, market_server):
    market_server.add("/data", Reply(500, {"echo": f"apikey={KEY}"}))
    for attempt in (lambda: session(live_settings).get_json(f"{market_server.url}/data"),):
        with pytest.raises(Unavailable) as info:
            attempt()
        assert KEY not in str(info.value) and KEY not in repr(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_redactor_masks_message_args_and_traceback():
    redactor = KeyRedactor(["MY-OWN-SECRET-9"])
    logger = logging.getLogger("ingest.test_redactor")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)
            self.format(record)

    handler = Keep()
    handler.addFilter(redactor)
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(
                "GET /x?token=abc123&api_key=zzz Authorization: Token MY-OWN-SECRET-9"
            )
        except RuntimeError:
            logger.exception("failed for %s", "https://h/q?apikey=K1234&function=X")
    finally:
        logger.removeHandler(handler)
    (record,) = records
    formatted = logging.Formatter().format(record)
    for secret in ("abc123", "zzz", "K1234", "MY-OWN-SECRET-9"):
        assert secret not in formatted
    assert "apikey=***&function=X" in formatted and "token=***" in formatted
    assert redact("X-Api-Key: Q9Q9Q9Q9") == "X-Api-Key: ***"


def test_cli_installs_redaction(tmp_path, monkeypatch):
    """``python -m ingest`` installs the redactor right after logging.basicConfig."""
    import ingest.cli as cli

    target = logging.getLogger("urllib3")
    for f in [f for f in target.filters if isinstance(f, KeyRedactor)]:
        target.removeFilter(f)
    monkeypatch.setenv("NEXUS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRED_API_KEY", "FRED-CLI-KEY-777")
    cli.main(["status"])
    (redactor,) = [f for f in target.filters if isinstance(f, KeyRedactor)]
    assert redactor.redact("x FRED-CLI-KEY-777 y") == "x *** y"


# redis backend --------------------------------------------------------------------------
def _redis(url: str):
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        return client
    except Exception as exc:
        missing_part(f"Redis not reachable at {url}: {type(exc).__name__}")


@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
def test_redis_backend(tmp_path, market_server):
    settings = make_settings(tmp_path, market_server.url, NEXUS_HTTP_CACHE="redis")
    client = _redis(settings.redis_url)
    namespace = f"nexus_test_{uuid.uuid4().hex[:10]}"
    try:
        market_server.add("/data", Reply(body=OK))
        market_server.add("/bad", Reply(body={"status": "error"}))
        s = session(settings, cache_namespace=namespace)
        for _ in range(3):
            assert s.get_json(f"{market_server.url}/data") == OK
            with pytest.raises(RateLimited):
                s.get_json(f"{market_server.url}/bad")
        assert market_server.hits("/data") == 1 and market_server.hits("/bad") == 3
        keys = list(client.scan_iter(f"{namespace}*"))
        assert keys
        stored = b""
        for key in keys:  # raw stored values: pickled responses and the redirects hash
            if client.type(key) == b"hash":
                stored += b"".join(client.hgetall(key).values())
            else:
                stored += client.get(key) or b""
        assert b"/data" in stored
        assert KEY.encode() not in stored
        assert not (settings.data_dir / "http_cache.sqlite").exists()
        # a second session (another process, say) sees the cached answer
        assert (
            session(settings, cache_namespace=namespace).get_json(f"{market_server.url}/data") == OK
        )
        assert market_server.hits("/data") == 1
    finally:
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)
