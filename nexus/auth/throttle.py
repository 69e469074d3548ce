"""Throttling of failed sign-ins and 2FA codes: growing delays, never a permanent lock.

Keys name what is being guessed at: ``user:<normalised e-mail>`` (also for unknown
addresses, so throttling does not reveal which accounts exist), ``mfa:<user id>`` and
``ip:<client address>`` (IPv6 clients are grouped by their /64, which one machine usually
owns whole). Other prefixes (e.g. ``reset:<e-mail>``) are throttled like ``user:`` keys.

Per key: the first ``free_failures`` failures (``ip_free_failures`` for ``ip:`` keys, so
one office behind a NAT is not locked out by one user's typos) cost nothing. Each further
failure locks the key for ``base_delay * 2**k`` seconds (k = 0, 1, 2 … → 1 s, 2 s, 4 s …)
capped at ``max_delay``. Counting starts at the first failure and the count is forgotten
once ``window`` seconds have passed since then *and* since the last lock ended, so an
attacker who keeps trying stays at the maximum delay while an idle key heals by itself.
A lock always ends: after at most ``max_delay`` one more attempt is allowed.
A success resets the account's ``user:``/``mfa:`` key; ``ip:`` keys only heal with time
(otherwise a guesser could wash an IP's counter by signing in to an account of their own).

Intended call sequence (the caller never checks the password while throttled)::

    throttle = Throttle(engine)
    keys = [f"user:{normalise_email(email)}", f"ip:{ip}"]
    wait = throttle.check(keys)
    if wait > 0:
        raise Throttled(wait)  # "Too many attempts. Try again in N seconds."
    if not password_is_right(email, password):
        throttle.fail(keys)
        raise InvalidCredentials()
    throttle.succeed(keys)  # resets user:…, leaves ip:… alone

Each update is a single upsert (``INSERT … ON CONFLICT DO UPDATE`` on SQLite and
Postgres) inside the transaction that sets the lock, so concurrent failures are all
counted: the row lock (Postgres) or the database write lock (SQLite) serialises them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from nexus.db.schema import AuthThrottle

KEY_MAX = 300  # length of auth_throttle.key
_T = AuthThrottle.__table__


def normalise_key(key: str) -> str:
    """Canonical form of a throttle key (IPv6 → its /64; over-long keys → a digest)."""
    key = key.strip()
    prefix, sep, rest = key.partition(":")
    if sep and prefix == "ip":
        try:
            addr = ipaddress.ip_address(rest.strip().strip("[]"))
        except ValueError:
            pass
        else:
            if isinstance(addr, ipaddress.IPv6Address):
                if addr.ipv4_mapped is not None:
                    key = f"ip:{addr.ipv4_mapped}"
                else:
                    key = f"ip:{ipaddress.IPv6Network((addr, 64), strict=False)}"
            else:
                key = f"ip:{addr}"
    if len(key) > KEY_MAX:
        # A typed "e-mail" can be arbitrarily long; keep the prefix so the policy still applies.
        key = f"{prefix}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class Throttle:
    """Failure counters with exponential back-off in the ``auth_throttle`` table."""

    def __init__(
        self,
        engine: Engine,
        *,
        free_failures: int = 5,
        ip_free_failures: int = 20,
        base_delay: float = 1.0,
        max_delay: float = 900,
        window: float = 900,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database for throttling: {engine.dialect.name}")
        self.engine = engine
        self.free_failures = free_failures
        self.ip_free_failures = ip_free_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.window = window
        self.clock = clock

    # Helpers ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    @staticmethod
    def _keys(keys: Iterable[str | None]) -> list[str]:
        # Sorted: transactions touching several rows lock them in one order (no deadlock).
        return sorted({normalise_key(k) for k in keys if k})

    def free_for(self, key: str) -> int:
        return self.ip_free_failures if key.startswith("ip:") else self.free_failures

    def delay_for(self, key: str, failures: int) -> float:
        """Lock (seconds) caused by the ``failures``-th failure in the window of ``key``."""
        extra = failures - self.free_for(key)
        if extra <= 0:
            return 0.0
        # Cap the exponent first: 2**10000 would be a huge int before min() caps it.
        return float(min(self.base_delay * 2 ** min(extra - 1, 64), self.max_delay))

    def _insert(self):  # dialect-specific Insert (sqlite or postgresql)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(_T)

    # API -------------------------------------------------------------------------------
    def check(self, keys: Iterable[str | None]) -> float:
        """Seconds to wait before the next attempt (0.0 when allowed now)."""
        keys = self._keys(keys)
        if not keys:
            return 0.0
        now = self._now()
        with self.engine.connect() as conn:
            locks = conn.execute(
                select(_T.c.locked_until).where(_T.c.key.in_(keys), _T.c.locked_until.is_not(None))
            ).scalars()
            wait = max(((_aware(t) - now).total_seconds() for t in locks), default=0.0)
        return max(wait, 0.0)

    def fail(self, keys: Iterable[str | None]) -> None:
        """Count one failure against each key (atomically) and lock keys past their allowance."""
        keys = self._keys(keys)
        if not keys:
            return
        now = self._now()
        cutoff = now - timedelta(seconds=self.window)
        # The window has expired when it began before the cutoff and no lock ended after it.
        expired = and_(
            _T.c.window_start <= cutoff,
            or_(_T.c.locked_until.is_(None), _T.c.locked_until <= cutoff),
        )
        with self.engine.begin() as conn:
            for key in keys:
                stmt = self._insert().values(
                    key=key, failures=1, window_start=now, locked_until=None
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=[_T.c.key],
                    set_={
                        "failures": case((expired, 1), else_=_T.c.failures + 1),
                        "window_start": case((expired, now), else_=_T.c.window_start),
                        "locked_until": case((expired, None), else_=_T.c.locked_until),
                    },
                ).returning(_T.c.failures)
                failures = conn.execute(stmt).scalar_one()
                delay = self.delay_for(key, failures)
                if delay > 0:
                    until = now + timedelta(seconds=delay)
                    # Never shorten a lock that is already longer.
                    conn.execute(
                        update(_T)
                        .where(
                            _T.c.key == key,
                            or_(_T.c.locked_until.is_(None), _T.c.locked_until < until),
                        )
                        .values(locked_until=until)
                    )

    def succeed(self, keys: Iterable[str | None]) -> None:
        """Forget the failures of the account keys (``ip:`` keys are left to heal by time)."""
        keys = [k for k in self._keys(keys) if not k.startswith("ip:")]
        if keys:
            with self.engine.begin() as conn:
                conn.execute(delete(_T).where(_T.c.key.in_(keys)))

    def purge(self) -> int:
        """Delete rows whose window has expired (housekeeping); returns how many."""
        cutoff = self._now() - timedelta(seconds=self.window)
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(_T).where(
                    _T.c.window_start <= cutoff,
                    or_(_T.c.locked_until.is_(None), _T.c.locked_until <= cutoff),
                )
            )
        return result.rowcount
