"""Brute force against the local backend: growing delays, no enumeration, no permanent lock."""

from __future__ import annotations

import time

import pytest

from nexus.auth.errors import InvalidCredentials, Throttled
from nexus.auth.local import LocalBackend
from nexus.auth.throttle import Throttle
from nexus.db.engine import get_engine

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def backend(db_settings):
    b = LocalBackend(get_engine(db_settings), db_settings)
    b.clock = Clock()
    b.throttle = Throttle(b.engine, clock=b.clock)
    b.sign_up("ann@example.com", PASSWORD)
    return b


def _attempt(backend, email, password, ip="203.0.113.9"):
    try:
        backend.sign_in_with_password(email, password, ip=ip)
    except Throttled as exc:
        return exc
    except InvalidCredentials as exc:
        return exc
    return "ok"


@pytest.mark.parametrize("email", ["ann@example.com", "ghost@example.com"])
def test_delays_grow_and_known_and_unknown_accounts_behave_alike(backend, email):
    results = [_attempt(backend, email, "wrong password!!") for _ in range(5)]
    assert all(isinstance(r, InvalidCredentials) for r in results)
    sixth = _attempt(backend, email, "wrong password!!")
    assert isinstance(sixth, InvalidCredentials)  # the 6th failure sets the first lock
    waits = []
    for _ in range(4):
        blocked = _attempt(backend, email, "wrong password!!")
        assert isinstance(blocked, Throttled)
        assert "Too many attempts" in str(blocked) and email not in str(blocked)
        waits.append(blocked.retry_after)
        backend.clock.now += blocked.retry_after
        assert isinstance(_attempt(backend, email, "wrong password!!"), InvalidCredentials)
    assert waits == sorted(waits) and waits[-1] > waits[0]  # growing delays


def test_right_password_is_not_even_checked_while_locked_and_lock_always_ends(backend):
    for _ in range(6):
        _attempt(backend, "ann@example.com", "wrong password!!")
    locked = _attempt(backend, "ann@example.com", PASSWORD)
    assert isinstance(locked, Throttled)
    backend.clock.now += locked.retry_after
    assert _attempt(backend, "ann@example.com", PASSWORD) == "ok"
    # Success resets the account counter: the next typo is free again.
    assert isinstance(_attempt(backend, "ann@example.com", "typo typo typo"), InvalidCredentials)
    assert _attempt(backend, "ann@example.com", PASSWORD) == "ok"


def test_attacker_cannot_lock_out_a_user_for_good(backend):
    for _ in range(30):
        r = _attempt(backend, "ann@example.com", "wrong password!!")
        if isinstance(r, Throttled):
            assert r.retry_after <= 900
            backend.clock.now += r.retry_after
    backend.clock.now += 900
    assert _attempt(backend, "ann@example.com", PASSWORD, ip="198.51.100.7") == "ok"


def test_per_ip_throttle_spans_accounts(backend):
    for i in range(20):
        assert isinstance(_attempt(backend, f"user{i}@example.com", "x" * 12), InvalidCredentials)
    assert isinstance(_attempt(backend, "user99@example.com", "x" * 12), InvalidCredentials)
    spray = _attempt(backend, "ann@example.com", PASSWORD)  # same IP: now throttled
    assert isinstance(spray, Throttled)
    assert _attempt(backend, "ann@example.com", PASSWORD, ip="198.51.100.7") == "ok"


def test_throttled_reply_is_fast_and_equal_for_known_and_unknown(backend):
    for email in ("ann@example.com", "ghost@example.com"):
        for _ in range(6):
            _attempt(backend, email, "wrong password!!")

    def timed(email):
        start = time.perf_counter()
        assert isinstance(_attempt(backend, email, "wrong password!!"), Throttled)
        return time.perf_counter() - start

    known = min(timed("ann@example.com") for _ in range(3))
    unknown = min(timed("ghost@example.com") for _ in range(3))
    assert known < 0.05 and unknown < 0.05  # no argon2 work while locked


def test_2fa_codes_are_throttled_too(backend):
    import pyotp

    ann = backend.sign_in_with_password("ann@example.com", PASSWORD).actor
    enrolment = backend.mfa_enroll(ann)
    backend.mfa_confirm(ann, enrolment.factor_id, pyotp.TOTP(enrolment.secret).now())
    pending = backend.sign_in_with_password("ann@example.com", PASSWORD, ip="203.0.113.9")
    outcomes = []
    for _ in range(7):
        try:
            backend.verify_mfa(pending.challenge, "000000", ip="203.0.113.9")
        except Throttled:
            outcomes.append("throttled")
        except InvalidCredentials:
            outcomes.append("wrong")
    assert outcomes[:6] == ["wrong"] * 6 and outcomes[6] == "throttled"
