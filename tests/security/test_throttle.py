"""Sign-in throttling: growing delays, windows, resets, concurrency (SQLite + Postgres)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from nexus.auth.errors import AuthError, Throttled
from nexus.auth.throttle import KEY_MAX, Throttle, normalise_key
from nexus.db.engine import get_engine
from nexus.db.schema import AuthThrottle

USER = "user:ann@example.com"
IP = "ip:203.0.113.7"


class FakeClock:
    def __init__(self, t: float = 1_750_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(db_settings):
    return get_engine(db_settings)


@pytest.fixture
def throttle(engine, clock) -> Throttle:
    return Throttle(engine, clock=clock)


def failures(engine, key: str) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            select(AuthThrottle.failures).where(AuthThrottle.key == key)
        ).scalar_one_or_none()


def test_free_failures_then_delays_double_up_to_the_cap(throttle, clock):
    for _ in range(5):
        assert throttle.check([USER]) == 0
        throttle.fail([USER])
    assert throttle.check([USER]) == 0  # five failures are free

    expected = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    seen = []
    for _ in expected:
        throttle.fail([USER])
        wait = throttle.check([USER])
        seen.append(wait)
        clock.advance(wait - 0.5)
        assert throttle.check([USER]) == pytest.approx(0.5)
        clock.advance(0.5)
        assert throttle.check([USER]) == 0  # the lock always ends
    assert seen == pytest.approx(expected)


def test_base_and_cap_are_configurable(engine, clock):
    t = Throttle(engine, free_failures=2, base_delay=0.5, max_delay=3, clock=clock)
    waits = []
    for _ in range(7):
        t.fail([USER])
        waits.append(t.check([USER]))
    # Failures 1-2 free; then 0.5, 1, 2, 3 (cap) — no time passes, so the longest lock stands.
    assert waits == pytest.approx([0, 0, 0.5, 1, 2, 3, 3])


def test_window_expiry_resets_the_count(throttle, clock, engine):
    for _ in range(5):
        throttle.fail([USER])
    clock.advance(899)
    throttle.fail([USER])  # still inside the window: sixth failure locks
    assert throttle.check([USER]) == pytest.approx(1)

    clock.advance(1 + 900)  # lock over and a whole quiet window since it ended
    throttle.fail([USER])
    assert failures(engine, USER) == 1
    assert throttle.check([USER]) == 0
    for _ in range(4):
        throttle.fail([USER])
    assert throttle.check([USER]) == 0  # a fresh allowance of five


def test_window_does_not_expire_while_an_attacker_keeps_hitting_locks(throttle, clock, engine):
    for _ in range(16):  # 5 free + 11 locking: reaches the 900 s cap
        throttle.fail([USER])
        clock.advance(throttle.check([USER]))
    # More than a window has passed since the first failure, but the key was locked until
    # just now: the count goes on instead of granting a fresh free allowance.
    throttle.fail([USER])
    assert failures(engine, USER) == 17
    assert throttle.check([USER]) == pytest.approx(900)


def test_success_resets_the_account_key_but_not_the_ip_key(throttle, clock, engine):
    keys = [USER, IP]
    for _ in range(7):
        throttle.fail(keys)
    wait = throttle.check(keys)
    assert wait == pytest.approx(2)
    clock.advance(wait)
    throttle.succeed(keys)
    assert failures(engine, USER) is None
    assert failures(engine, IP) == 7
    for _ in range(5):
        throttle.fail([USER])
    assert throttle.check([USER]) == 0


def test_mfa_key_is_reset_by_success(throttle, clock, engine):
    key = "mfa:3f1c2b8e-0000-4000-8000-000000000001"
    for _ in range(6):
        throttle.fail([key])
    assert throttle.check([key]) == pytest.approx(1)
    clock.advance(1)
    throttle.succeed([key])
    assert failures(engine, key) is None


def test_ip_key_has_its_own_larger_allowance(throttle):
    # Twenty failures from one address spread over ten accounts: nobody is locked yet.
    for i in range(20):
        throttle.fail([f"user:u{i % 10}@example.com", IP])
    assert throttle.check([IP]) == 0
    assert throttle.check(["user:u0@example.com"]) == 0
    throttle.fail(["user:new@example.com", IP])  # 21st from this address
    assert throttle.check([IP]) == pytest.approx(1)
    # The address is locked for everyone behind it, the accounts elsewhere are not.
    assert throttle.check(["user:other@example.com", IP]) == pytest.approx(1)
    assert throttle.check(["user:u0@example.com", "ip:198.51.100.1"]) == 0


def test_account_key_locks_independently_of_the_ip(throttle):
    for i in range(6):
        throttle.fail([USER, f"ip:198.51.100.{i}"])  # a different address each time
    assert throttle.check([USER, "ip:192.0.2.1"]) == pytest.approx(1)
    assert throttle.check(["user:bob@example.com", "ip:198.51.100.0"]) == 0


def test_concurrent_failures_are_all_counted(throttle, engine):
    n = 20
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            throttle.fail([USER, IP])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert failures(engine, USER) == n
    assert failures(engine, IP) == n
    assert throttle.check([IP]) == 0  # 20 = the IP allowance
    assert throttle.check([USER]) == pytest.approx(900)  # 15 beyond the allowance: capped
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuthThrottle)).scalar_one() == 2


def test_no_permanent_lockout_even_when_failures_pile_up(throttle, clock):
    for _ in range(200):  # a caller that forgot to check first, hammering one instant
        throttle.fail([USER, IP])
    assert throttle.check([USER, IP]) == pytest.approx(900)
    clock.advance(900)
    assert throttle.check([USER, IP]) == 0  # one attempt is allowed after the max delay
    throttle.fail([USER, IP])
    assert throttle.check([USER, IP]) == pytest.approx(900)  # and then the cap again
    clock.advance(900 + 900)
    throttle.fail([USER, IP])
    assert throttle.check([USER, IP]) == 0  # quiet for a window: healed


def test_unknown_keys_and_empty_input_are_allowed(throttle):
    assert throttle.check([]) == 0
    assert throttle.check([None, ""]) == 0
    throttle.fail([None, ""])
    throttle.succeed([])
    assert throttle.check(["user:nobody@example.com"]) == 0


def test_purge_removes_only_healed_rows(throttle, clock, engine):
    for _ in range(6):
        throttle.fail(["user:old@example.com"])
    clock.advance(1 + 900)
    throttle.fail([USER])
    assert throttle.purge() == 1
    assert failures(engine, "user:old@example.com") is None
    assert failures(engine, USER) == 1


def test_keys_are_normalised(throttle, engine):
    assert normalise_key("ip:2001:db8:1:2:aaaa::1") == "ip:2001:db8:1:2::/64"
    assert normalise_key("ip:[2001:db8:1:2:bbbb::9]") == "ip:2001:db8:1:2::/64"
    assert normalise_key("ip:::ffff:192.0.2.5") == "ip:192.0.2.5"
    assert normalise_key("ip:unknown") == "ip:unknown"
    long_key = "user:" + "a" * 5000 + "@example.com"
    assert len(normalise_key(long_key)) <= KEY_MAX
    assert normalise_key(long_key).startswith("user:")
    # Two addresses of one /64 share a counter; an over-long typed e-mail still works.
    for i in range(21):
        throttle.fail([f"ip:2001:db8:1:2::{i + 1:x}"])
    assert throttle.check(["ip:2001:db8:1:2::ffff"]) == pytest.approx(1)
    for _ in range(6):
        throttle.fail([long_key])
    assert throttle.check([long_key]) == pytest.approx(1)


def test_throttled_error_is_generic(throttle):
    err = Throttled(2.2)
    assert isinstance(err, AuthError)
    assert err.retry_after == 3
    assert str(err) == "Too many attempts. Try again in 3 seconds."
    assert str(Throttled(0.2)) == "Too many attempts. Try again in 1 second."
    for word in ("user", "ip", "account", "address", "mfa"):
        assert word not in str(err).lower().split()
