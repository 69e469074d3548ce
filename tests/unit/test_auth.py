"""Local accounts: registration rules, sign-in, one-time tickets, session lifetime."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from nexus.auth.errors import InvalidCredentials, RegistrationError
from nexus.auth.local import LocalBackend
from nexus.auth.passwords import hash_password, verify_password
from nexus.db.engine import get_engine
from nexus.db.schema import AuditEvent, Session, User

PASSWORD = "correct horse battery"


@pytest.fixture
def backend(db_settings):
    return LocalBackend(get_engine(db_settings), db_settings)


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "valid e-mail"),
        ("a@b", PASSWORD, "valid e-mail"),
        ("ann@example.com", "short1!", "at least 10 characters"),
        ("ann@example.com", "password123", "too common"),
        ("ann@example.com", "Password2024!", "too common"),
        ("ann@example.com", "qwertyuiop", "too common"),
        ("ann@example.com", "aaaaaaaaaaaa", "too common|more than one"),
        ("ann@example.com", "ababababababab", "more than one or two"),
        ("annabel@example.com", "annabel-is-great-7", "must not contain your e-mail"),
        ("ann@example.com", "x" * 129, "at most 128"),
    ],
)
def test_registration_rules(backend, email, password, message):
    with pytest.raises(RegistrationError, match=message):
        backend.sign_up(email, password)
    with backend.engine.connect() as conn:
        assert conn.execute(select(User.id)).all() == []


def test_first_account_is_admin_then_analysts_and_emails_are_unique(backend):
    first = backend.sign_up("Admin@Example.com ", PASSWORD)
    second = backend.sign_up("ana@example.com", PASSWORD)
    assert (first.email, first.role) == ("admin@example.com", "admin")
    assert second.role == "analyst"
    with pytest.raises(RegistrationError, match="already exists"):
        backend.sign_up("ANA@example.com", "another good phrase")


def test_password_is_stored_as_argon2id(backend):
    backend.sign_up("ann@example.com", PASSWORD)
    with backend.engine.connect() as conn:
        stored = conn.execute(select(User.pw_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_sign_in_failures_share_one_message_and_are_audited(backend):
    backend.sign_up("ann@example.com", PASSWORD)
    for email, password in [("ann@example.com", "wrong password!"), ("nobody@x.io", PASSWORD)]:
        with pytest.raises(InvalidCredentials) as err:
            backend.sign_in_with_password(email, password, ip="10.0.0.1")
        assert str(err.value) == "E-mail or password is incorrect."
    with backend.engine.connect() as conn:
        events = conn.execute(select(AuditEvent.event, AuditEvent.ip)).all()
    assert [e for e, _ in events].count("signin.failed") == 2
    assert all(PASSWORD not in str(row) for row in events)


def test_unknown_user_costs_as_much_as_a_wrong_password(backend):
    backend.sign_up("ann@example.com", PASSWORD)

    def timed(email: str) -> float:
        start = time.perf_counter()
        with pytest.raises(InvalidCredentials):
            backend.sign_in_with_password(email, "wrong password!")
        return time.perf_counter() - start

    known = min(timed("ann@example.com") for _ in range(3))
    unknown = min(timed("ghost@example.com") for _ in range(3))
    assert unknown > known * 0.5  # both pay for one argon2 verification


def test_ticket_is_single_use_and_token_resolves_until_sign_out(backend):
    backend.sign_up("ann@example.com", PASSWORD)
    result = backend.sign_in_with_password("ann@example.com", PASSWORD, user_agent="pytest")
    token = backend.redeem_ticket(result.ticket)
    assert token and token != result.ticket
    assert backend.redeem_ticket(result.ticket) is None
    active = backend.session_from_token(token)
    assert active.actor.email == "ann@example.com"
    assert active.session_id == result.session_id
    with backend.engine.connect() as conn:
        stored = conn.execute(select(Session.token_hash, Session.ticket_hash)).one()
    assert token not in stored and stored.ticket_hash is None  # only hashes at rest

    backend.sign_out(result.session_id)
    assert backend.session_from_token(token) is None  # a copied cookie is dead too
    assert backend.session_from_id(result.session_id) is None


def test_expired_ticket_is_refused(backend):
    backend.sign_up("ann@example.com", PASSWORD)
    result = backend.sign_in_with_password("ann@example.com", PASSWORD)
    with backend.engine.begin() as conn:
        conn.execute(
            update(Session).values(ticket_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert backend.redeem_ticket(result.ticket) is None


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
def test_idle_and_absolute_timeouts_end_the_session(backend, db_settings, column):
    backend.sign_up("ann@example.com", PASSWORD)
    result = backend.sign_in_with_password("ann@example.com", PASSWORD)
    token = backend.redeem_ticket(result.ticket)
    assert backend.session_from_token(token) is not None
    past = datetime.now(UTC) - timedelta(minutes=db_settings.session_idle_minutes + 1)
    if column == "expires_at":
        past = datetime.now(UTC) - timedelta(seconds=1)
    with backend.engine.begin() as conn:
        conn.execute(update(Session).values({column: past}))
    assert backend.session_from_token(token) is None


def test_disabled_account_cannot_sign_in_and_loses_sessions(backend):
    backend.sign_up("ann@example.com", PASSWORD)
    result = backend.sign_in_with_password("ann@example.com", PASSWORD)
    token = backend.redeem_ticket(result.ticket)
    with backend.engine.begin() as conn:
        conn.execute(update(User).values(disabled_at=datetime.now(UTC)))
    assert backend.session_from_token(token) is None
    with pytest.raises(InvalidCredentials):
        backend.sign_in_with_password("ann@example.com", PASSWORD)


def test_legacy_bcrypt_hash_is_accepted_and_rehashed():
    import bcrypt

    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    ok, new_hash = verify_password(legacy, PASSWORD)
    assert ok and new_hash.startswith("$argon2id$")
    assert verify_password(legacy, "nope nope nope") == (False, None)
    assert verify_password(hash_password(PASSWORD), PASSWORD) == (True, None)
