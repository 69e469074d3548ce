"""Local backend security: TOTP (enrol, replay, recovery), reset tokens, sessions, roles."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from nexus.auth.errors import AuthError, InvalidCredentials, PermissionDenied
from nexus.auth.local import LocalBackend
from nexus.auth.mail import outbox_dir
from nexus.auth.models import MfaRequired, SignIn
from nexus.db.engine import get_engine
from nexus.db.schema import AuditEvent, MfaFactor, MfaRecoveryCode, PasswordResetToken

PASSWORD = "correct horse battery"


@pytest.fixture
def backend(db_settings):
    return LocalBackend(get_engine(db_settings), db_settings)


@pytest.fixture
def ann(backend):
    return backend.sign_up("ann@example.com", PASSWORD)


def _enrol(backend, actor):
    enrolment = backend.mfa_enroll(actor)
    totp = pyotp.TOTP(enrolment.secret)
    codes = backend.mfa_confirm(actor, enrolment.factor_id, totp.now())
    return totp, codes


def _next_code(totp: pyotp.TOTP) -> str:
    """A code for the next 30-s step (accepted thanks to ±1 step of skew)."""
    return totp.at(datetime.now(UTC) + timedelta(seconds=30))


def test_enrolment_needs_a_good_code_and_the_secret_is_encrypted(backend, ann):
    enrolment = backend.mfa_enroll(ann)
    assert enrolment.uri.startswith("otpauth://totp/Portfolio%20Nexus:ann%40example.com?")
    assert enrolment.qr_svg.lstrip().startswith("<svg")
    with pytest.raises(AuthError, match="not valid"):
        backend.mfa_confirm(ann, enrolment.factor_id, "000000")
    assert not backend.mfa_status(ann).enabled
    # Not yet effective: sign-in still needs no code.
    assert isinstance(backend.sign_in_with_password(ann.email, PASSWORD), SignIn)
    codes = backend.mfa_confirm(ann, enrolment.factor_id, pyotp.TOTP(enrolment.secret).now())
    assert len(codes) == 10 and len(set(codes)) == 10
    status = backend.mfa_status(ann)
    assert status.enabled and status.recovery_codes_left == 10
    with backend.engine.connect() as conn:
        stored = conn.execute(select(MfaFactor.secret_enc)).scalar_one()
        hashes = conn.execute(select(MfaRecoveryCode.code_hash)).scalars().all()
    assert enrolment.secret not in stored
    assert not {c.replace("-", "") for c in codes} & set(hashes)


def test_sign_in_asks_for_the_code_and_a_code_works_only_once(backend, ann):
    totp, _ = _enrol(backend, ann)
    pending = backend.sign_in_with_password(ann.email, PASSWORD)
    assert isinstance(pending, MfaRequired)
    code = _next_code(totp)
    result = backend.verify_mfa(pending.challenge, code)
    assert backend.session_from_id(result.session_id).aal == "aal2"
    again = backend.sign_in_with_password(ann.email, PASSWORD)
    with pytest.raises(InvalidCredentials, match="code is not valid"):
        backend.verify_mfa(again.challenge, code)  # replay
    with pytest.raises(InvalidCredentials):
        backend.verify_mfa(again.challenge, totp.now())  # an older step than the one used


def test_recovery_code_works_once(backend, ann):
    _, codes = _enrol(backend, ann)
    pending = backend.sign_in_with_password(ann.email, PASSWORD)
    assert isinstance(backend.verify_mfa(pending.challenge, codes[0]), SignIn)
    pending = backend.sign_in_with_password(ann.email, PASSWORD)
    with pytest.raises(InvalidCredentials):
        backend.verify_mfa(pending.challenge, codes[0])
    assert backend.mfa_status(ann).recovery_codes_left == 9


def test_forged_or_stale_challenge_is_refused(backend, ann):
    totp, _ = _enrol(backend, ann)
    pending = backend.sign_in_with_password(ann.email, PASSWORD)
    user_id, expires, nonce, sig = pending.challenge.split(".")
    forged = f"{uuid.uuid4()}.{expires}.{nonce}.{sig}"
    with pytest.raises(AuthError, match="took too long"):
        backend.verify_mfa(forged, totp.now())
    stale = f"{user_id}.{int(time.time()) - 1}.{nonce}.{sig}"
    with pytest.raises(AuthError, match="took too long"):
        backend.verify_mfa(stale, totp.now())


def test_disabling_2fa_needs_password_and_code(backend, ann):
    totp, _ = _enrol(backend, ann)
    with pytest.raises(InvalidCredentials):
        backend.mfa_disable(ann, "wrong password here", _next_code(totp))
    with pytest.raises(AuthError, match="not valid"):
        backend.mfa_disable(ann, PASSWORD, "123456")
    assert backend.mfa_status(ann).enabled
    backend.mfa_disable(ann, PASSWORD, _next_code(totp))
    assert not backend.mfa_status(ann).enabled
    assert isinstance(backend.sign_in_with_password(ann.email, PASSWORD), SignIn)


def _reset_link(settings) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        mails = sorted(outbox_dir(settings).glob("*.eml")) if outbox_dir(settings).exists() else []
        if mails:
            text = mails[-1].read_text()
            return next(line for line in text.splitlines() if "?reset=" in line).strip()
        time.sleep(0.05)
    raise AssertionError("no reset mail in the outbox")


def test_reset_request_answers_the_same_and_sends_only_to_real_accounts(backend, db_settings, ann):
    assert backend.request_password_reset("nobody@example.com") is None
    assert not outbox_dir(db_settings).exists()
    assert backend.request_password_reset(ann.email) is None
    link = _reset_link(db_settings)
    assert link.startswith(db_settings.public_url + "/?reset=")
    token = link.split("?reset=", 1)[1]
    with backend.engine.connect() as conn:
        stored = conn.execute(select(PasswordResetToken.token_hash)).scalar_one()
    assert token not in stored
    mode = oct(next(outbox_dir(db_settings).glob("*.eml")).stat().st_mode & 0o777)
    assert mode == "0o600"


def test_reset_token_is_single_use_and_signs_out_everything(backend, db_settings, ann):
    session = backend.sign_in_with_password(ann.email, PASSWORD)
    token_cookie = backend.redeem_ticket(session.ticket)
    backend.request_password_reset(ann.email)
    token = _reset_link(db_settings).split("?reset=", 1)[1]
    with pytest.raises(AuthError, match="at least 10"):
        backend.reset_password(token, "short")
    backend.reset_password(token, "a brand new passphrase")
    assert backend.session_from_token(token_cookie) is None
    with pytest.raises(AuthError, match="invalid or has expired"):
        backend.reset_password(token, "yet another passphrase")
    with pytest.raises(InvalidCredentials):
        backend.sign_in_with_password(ann.email, PASSWORD)
    assert isinstance(backend.sign_in_with_password(ann.email, "a brand new passphrase"), SignIn)


def test_expired_reset_token_is_refused(backend, db_settings, ann):
    backend.request_password_reset(ann.email)
    token = _reset_link(db_settings).split("?reset=", 1)[1]
    with backend.engine.begin() as conn:
        conn.execute(
            update(PasswordResetToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with pytest.raises(AuthError, match="invalid or has expired"):
        backend.reset_password(token, "a brand new passphrase")


def test_change_password_and_email_need_the_current_password(backend, ann):
    keep = backend.sign_in_with_password(ann.email, PASSWORD)
    other = backend.sign_in_with_password(ann.email, PASSWORD)
    with pytest.raises(InvalidCredentials):
        backend.change_password(ann, "not my password", "a brand new passphrase")
    with pytest.raises(InvalidCredentials):
        backend.change_email(ann, "not my password", "new@example.com")
    backend.change_password(ann, PASSWORD, "a brand new passphrase", keep=keep.session_id)
    assert backend.session_from_id(keep.session_id) is not None
    assert backend.session_from_id(other.session_id) is None
    moved = backend.change_email(ann, "a brand new passphrase", "Ann.New@Example.com")
    assert moved.email == "ann.new@example.com"
    backend.sign_up("taken@example.com", PASSWORD)
    with pytest.raises(AuthError, match="already used"):
        backend.change_email(moved, "a brand new passphrase", "taken@example.com")


def test_sessions_are_listed_and_revoked_one_or_all_others(backend, ann):
    a = backend.sign_in_with_password(ann.email, PASSWORD, ip="10.0.0.1", user_agent="A")
    b = backend.sign_in_with_password(ann.email, PASSWORD, ip="10.0.0.2", user_agent="B")
    c = backend.sign_in_with_password(ann.email, PASSWORD, ip="10.0.0.3", user_agent="C")
    for s in (a, b, c):
        backend.redeem_ticket(s.ticket)
    listed = backend.list_sessions(ann, current=a.session_id)
    assert {s.user_agent for s in listed} == {"A", "B", "C"}
    assert [s.current for s in listed if s.id == a.session_id] == [True]
    backend.revoke_session(ann, b.session_id)
    assert backend.session_from_id(b.session_id) is None
    mallory = backend.sign_up("mallory@example.com", PASSWORD)
    with pytest.raises(AuthError, match="No such session"):
        backend.revoke_session(mallory, c.session_id)  # not hers
    assert backend.session_from_id(c.session_id) is not None
    assert backend.revoke_other_sessions(ann, a.session_id) == 1
    assert [s.id for s in backend.list_sessions(ann)] == [a.session_id]


def test_roles_are_checked_in_the_library(backend, ann):
    bob = backend.sign_up("bob@example.com", PASSWORD)
    assert (ann.role, bob.role) == ("admin", "analyst")
    for attempt in (
        lambda: backend.list_users(bob),
        lambda: backend.set_role(bob, bob.user_id, "admin"),
        lambda: backend.set_disabled(bob, ann.user_id, True),
        lambda: backend.audit_log(bob),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    with pytest.raises(AuthError, match="last administrator"):
        backend.set_role(ann, ann.user_id, "viewer")
    with pytest.raises(AuthError, match="your own account"):
        backend.set_disabled(ann, ann.user_id, True)
    backend.set_role(ann, bob.user_id, "viewer")
    assert {u.email: u.role for u in backend.list_users(ann)}["bob@example.com"] == "viewer"


def test_disabling_an_account_signs_it_out_and_blocks_sign_in(backend, ann):
    bob = backend.sign_up("bob@example.com", PASSWORD)
    s = backend.sign_in_with_password(bob.email, PASSWORD)
    backend.set_disabled(ann, bob.user_id, True)
    assert backend.session_from_id(s.session_id) is None
    with pytest.raises(InvalidCredentials, match="E-mail or password is incorrect"):
        backend.sign_in_with_password(bob.email, PASSWORD)
    backend.set_disabled(ann, bob.user_id, False)
    assert isinstance(backend.sign_in_with_password(bob.email, PASSWORD), SignIn)


def test_audit_log_records_security_events_without_secrets(backend, ann):
    totp, codes = _enrol(backend, ann)
    pending = backend.sign_in_with_password(ann.email, PASSWORD, ip="10.1.1.1")
    result = backend.verify_mfa(pending.challenge, _next_code(totp), ip="10.1.1.1")
    with pytest.raises(InvalidCredentials):
        backend.sign_in_with_password(ann.email, "wrong password!!", ip="10.1.1.1")
    backend.change_password(ann, PASSWORD, "a brand new passphrase")
    bob = backend.sign_up("bob@example.com", PASSWORD)
    backend.set_role(ann, bob.user_id, "viewer")
    backend.revoke_other_sessions(ann, result.session_id)
    events = [e.event for e in backend.audit_log(ann)]
    for expected in (
        "mfa.enabled",
        "mfa.verified",
        "signin.succeeded",
        "signin.failed",
        "password.changed",
        "role.changed",
        "session.revoked_others",
    ):
        assert expected in events, expected
    with backend.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(select(AuditEvent.__table__)).all())
    for secret in (PASSWORD, "a brand new passphrase", totp.secret, *codes):
        assert secret not in dump
