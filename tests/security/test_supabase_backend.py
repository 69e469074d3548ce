"""Supabase backend contract tests: the real supabase-py client, over HTTP, against the fake.

The fake (``tests/fakes``) is built from Supabase Auth's published OpenAPI description and
every answer it gives is validated against it (``fake_supabase`` fails the test otherwise),
so these tests pin both our use of supabase-py and the contract it relies on.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pyotp
import pytest
from sqlalchemy import select
from supabase import ClientOptions, create_client
from supabase_auth.errors import AuthApiError

from nexus.auth import backend as backend_module
from nexus.auth.crypto import decrypt
from nexus.auth.errors import (
    AuthError,
    InvalidCredentials,
    InvalidToken,
    PermissionDenied,
    RegistrationError,
    Throttled,
)
from nexus.auth.models import MfaRequired, SignIn
from nexus.auth.supabase import PROVIDER_PURPOSE, SupabaseBackend
from nexus.auth.tokens import verify_access_token
from nexus.db.engine import get_engine
from nexus.db.schema import AuditEvent, MfaRecoveryCode, Session, User
from nexus.settings import SettingsError, get_settings, load_settings
from tests.fakes import fixtures as fake_fixtures
from tests.fakes.spec import Contract

fake_supabase_server = fake_fixtures.fake_supabase_server
fake_supabase = fake_fixtures.fake_supabase

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
# Every test runs on SQLite; those touching database-specific paths (upserts, unique-key
# races, mirror rows) run on Postgres too. The rest stay on SQLite to keep the suite fast.
sqlite_only = pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)


# Fixtures ------------------------------------------------------------------------------
@pytest.fixture
def sb_settings(db_settings, fake_supabase, monkeypatch):
    """Migrated database (SQLite and Postgres) + settings pointing at the fake."""
    env = {
        "NEXUS_DATA_DIR": str(db_settings.data_dir),
        "NEXUS_AUTH_BACKEND": "supabase",
        "NEXUS_PUBLIC_URL": "https://nexus.example.com",
        **fake_supabase.env(),
    }
    if db_settings.database_url:
        env["NEXUS_DATABASE_URL"] = db_settings.database_url
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield load_settings(env)
    get_settings.cache_clear()


@pytest.fixture
def sb(sb_settings):
    return SupabaseBackend(get_engine(sb_settings), sb_settings)


@pytest.fixture
def admin(sb):
    return sb.sign_up("root@example.com", PASSWORD, display_name="Root")  # first: admin


@pytest.fixture
def ann(sb, admin):
    return sb.sign_up("ann@example.com", PASSWORD, display_name="Ann")


def _client(fake, key: str):
    options = ClientOptions(auto_refresh_token=False, persist_session=False, flow_type="implicit")
    return create_client(fake.url, key, options)


def _enrol(sb, actor):
    """Sign in (the session enrolment runs in), enrol and confirm a TOTP factor."""
    signin = sb.sign_in_with_password(actor.email, PASSWORD)
    enrolment = sb.mfa_enroll(actor)
    totp = pyotp.TOTP(enrolment.secret)
    codes = sb.mfa_confirm(actor, enrolment.factor_id, totp.now())
    return signin, totp, codes


def _next_code(totp: pyotp.TOTP) -> str:
    """The code of the next 30-s step (accepted thanks to ±1 step of skew)."""
    return totp.at(datetime.now(UTC) + timedelta(seconds=30))


def _provider_refresh_token(sb, session_id) -> str:
    with sb.engine.connect() as conn:
        enc = conn.execute(
            select(Session.provider_token_enc).where(Session.id == session_id)
        ).scalar_one()
    return decrypt(sb.settings, enc, purpose=PROVIDER_PURPOSE)


# Settings ------------------------------------------------------------------------------
def test_supabase_backend_needs_url_and_anon_key():
    with pytest.raises(SettingsError) as err:
        load_settings(
            {"NEXUS_AUTH_BACKEND": "supabase", "SUPABASE_SERVICE_ROLE_KEY": "sr-key-value-123"}
        )
    message = str(err.value)
    assert "SUPABASE_URL" in message and "SUPABASE_ANON_KEY" in message
    assert "sr-key-value-123" not in message  # the cross-field check never echoes inputs
    ok = load_settings(
        {"NEXUS_AUTH_BACKEND": "supabase", "SUPABASE_URL": "https://x.supabase.co",
         "SUPABASE_ANON_KEY": "anon"}
    )  # fmt: skip
    assert ok.auth_backend == "supabase"
    assert load_settings({}).auth_backend == "local"


@sqlite_only
def test_get_backend_picks_supabase(sb_settings):
    assert isinstance(backend_module.get_backend(sb_settings), SupabaseBackend)


# Accounts ------------------------------------------------------------------------------
def test_sign_up_mirrors_the_user_and_the_first_account_is_admin(sb, fake_supabase, admin, ann):
    assert admin.role == "admin" and ann.role == "analyst"
    remote = fake_supabase.auth.users[str(admin.user_id)]
    assert remote.app_metadata["roles"] == ["admin"]
    assert remote.user_metadata["display_name"] == "Root"
    with sb.engine.connect() as conn:
        rows = {r.email: r for r in conn.execute(select(User.__table__))}
    assert rows["ann@example.com"].id == ann.user_id
    assert rows["ann@example.com"].pw_hash == ""  # the password lives at Supabase
    assert rows["root@example.com"].role == "admin"
    # Sign-up does not leave a provider session behind (the UI signs in next).
    assert fake_supabase.auth.sessions_of(str(ann.user_id)) == []
    with pytest.raises(RegistrationError, match="already exists"):
        sb.sign_up("ANN@example.com", PASSWORD)
    with pytest.raises(RegistrationError, match="at least 10"):
        sb.sign_up("bob@example.com", "short")
    fake_supabase.auth.config.password_min_length = 40  # Supabase's own policy is stricter
    with pytest.raises(RegistrationError, match="stronger password"):
        sb.sign_up("bob@example.com", "a reasonably long passphrase")
    assert fake_supabase.auth.user_by_email("bob@example.com") is None


def test_sign_in_keeps_only_an_encrypted_refresh_token(sb, fake_supabase, ann):
    result = sb.sign_in_with_password(ann.email, PASSWORD, ip="10.0.0.9", user_agent="UA")
    assert isinstance(result, SignIn) and result.actor == ann
    with sb.engine.connect() as conn:
        row = conn.execute(select(Session.__table__).where(Session.id == result.session_id)).one()
    refresh = _provider_refresh_token(sb, result.session_id)
    assert refresh in fake_supabase.auth.refresh_tokens  # a live provider refresh token…
    assert refresh not in row.provider_token_enc  # …stored only encrypted
    cookie = sb.redeem_ticket(result.ticket)
    active = sb.session_from_token(cookie)
    assert active.actor.user_id == ann.user_id and active.aal == "aal1"
    claims = verify_access_token(sb.settings, sb.access_token(active))
    assert claims["sub"] == str(ann.user_id) and claims["aal"] == "aal1"
    assert claims["iss"] == f"{fake_supabase.url}/auth/v1"
    assert sb.redeem_ticket(result.ticket) is None  # tickets are single use


@sqlite_only
def test_wrong_password_and_unknown_account_get_one_generic_error(sb, fake_supabase, ann):
    with pytest.raises(InvalidCredentials) as wrong:
        sb.sign_in_with_password(ann.email, "not the password")
    with pytest.raises(InvalidCredentials) as unknown:
        sb.sign_in_with_password("nobody@example.com", PASSWORD)
    with pytest.raises(InvalidCredentials) as empty:
        sb.sign_in_with_password(ann.email, "")
    assert str(wrong.value) == str(unknown.value) == str(empty.value)
    assert str(wrong.value) == "E-mail or password is incorrect."
    with sb.engine.connect() as conn:
        events = conn.execute(select(AuditEvent.event, AuditEvent.detail)).all()
    failed = [d for e, d in events if e == "signin.failed"]
    assert [d["code"] for d in failed] == ["invalid_credentials", "invalid_credentials", "empty"]


@sqlite_only
def test_repeated_failures_are_throttled_and_provider_rate_limits_map_to_throttled(
    sb, fake_supabase, ann
):
    fake_supabase.auth.inject("POST", "/token", status=429, code="over_request_rate_limit")
    with pytest.raises(Throttled, match="Too many attempts"):
        sb.sign_in_with_password(ann.email, PASSWORD)
    for _ in range(6):
        with pytest.raises(InvalidCredentials):
            sb.sign_in_with_password(ann.email, "not the password")
    with pytest.raises(Throttled):
        sb.sign_in_with_password(ann.email, PASSWORD)  # locked: not even sent to Supabase


@sqlite_only
def test_access_tokens_are_refreshed_and_refresh_tokens_are_single_use(sb, fake_supabase, ann):
    fake_supabase.auth.config.jwt_exp = 30  # shorter than the refresh margin
    result = sb.sign_in_with_password(ann.email, PASSWORD)
    active = sb.session_from_id(result.session_id)
    first_refresh = _provider_refresh_token(sb, result.session_id)
    token = sb.access_token(active)
    second_refresh = _provider_refresh_token(sb, result.session_id)
    assert second_refresh != first_refresh  # rotated, and the new one stored
    # A stolen copy of the spent token is refused and ends the provider session …
    with pytest.raises(AuthApiError) as reuse:
        _client(fake_supabase, fake_supabase.auth.anon_key).auth.refresh_session(first_refresh)
    assert reuse.value.code == "refresh_token_already_used"
    # … so the app session ends with it.
    with pytest.raises(InvalidToken):
        sb.access_token(active)
    assert sb.session_from_id(result.session_id) is None
    assert token not in str(reuse.value)


# Two-factor authentication -----------------------------------------------------------
@sqlite_only
def test_totp_sign_in_needs_the_code_and_gives_aal2(sb, fake_supabase, ann):
    _, totp, codes = _enrol(sb, ann)
    assert len(codes) == 10 and len(set(codes)) == 10
    status = sb.mfa_status(ann)
    assert status.enabled and status.recovery_codes_left == 10
    pending = sb.sign_in_with_password(ann.email, PASSWORD)
    assert isinstance(pending, MfaRequired) and pending.email == ann.email
    # The challenge is an opaque key: no provider token inside, nothing to decode.
    assert all(pending.challenge not in t and t not in pending.challenge
               for t in fake_supabase.auth.issued)  # fmt: skip
    result = sb.verify_mfa(pending.challenge, _next_code(totp))
    active = sb.session_from_id(result.session_id)
    assert active.aal == "aal2"
    claims = verify_access_token(sb.settings, sb.access_token(active))
    assert claims["aal"] == "aal2" and claims["amr"][0]["method"] == "totp"
    with pytest.raises(AuthError, match="took too long"):
        sb.verify_mfa(pending.challenge, _next_code(totp))  # a challenge is used once
    with pytest.raises(AuthError, match="took too long"):
        sb.verify_mfa("forged-" + pending.challenge, totp.now())


@sqlite_only
def test_enrolment_shows_a_clean_svg_and_needs_a_good_code(sb, fake_supabase, ann):
    sb.sign_in_with_password(ann.email, PASSWORD)
    enrolment = sb.mfa_enroll(ann)
    assert enrolment.qr_svg.startswith("<svg") and "<script" not in enrolment.qr_svg
    assert enrolment.uri.startswith("otpauth://totp/Portfolio%20Nexus:ann%40example.com?")
    with pytest.raises(AuthError, match="not valid"):
        sb.mfa_confirm(ann, enrolment.factor_id, "000000")
    assert not sb.mfa_status(ann).enabled
    assert isinstance(sb.sign_in_with_password(ann.email, PASSWORD), SignIn)


def test_totp_code_replay_is_refused_although_supabase_would_take_it(sb, fake_supabase, ann):
    _, totp, _ = _enrol(sb, ann)
    code = _next_code(totp)
    first = sb.sign_in_with_password(ann.email, PASSWORD)
    assert isinstance(sb.verify_mfa(first.challenge, code), SignIn)
    again = sb.sign_in_with_password(ann.email, PASSWORD)
    with pytest.raises(InvalidCredentials, match="code is not valid"):
        sb.verify_mfa(again.challenge, code)
    # A wrong code does not burn the pending sign-in; an unused current one works.
    with pytest.raises(InvalidCredentials):
        sb.verify_mfa(again.challenge, "123456" if code != "123456" else "654321")
    fresh = totp.at(datetime.now(UTC) - timedelta(seconds=30))
    assert isinstance(sb.verify_mfa(again.challenge, fresh), SignIn)
    # GoTrue keeps no memory of used codes: a new challenge takes the same code again,
    # which is why the app remembers them.
    direct = _client(fake_supabase, fake_supabase.auth.anon_key)
    direct.auth.sign_in_with_password({"email": ann.email, "password": PASSWORD})
    factor_id = sb.mfa_status(ann).factor_id
    direct.auth.mfa.challenge_and_verify({"factor_id": str(factor_id), "code": code})
    assert direct.auth.mfa.get_authenticator_assurance_level().current_level == "aal2"


def test_recovery_code_works_once_and_removes_the_factor(sb, fake_supabase, ann):
    _, _, codes = _enrol(sb, ann)
    first = sb.sign_in_with_password(ann.email, PASSWORD)
    second = sb.sign_in_with_password(ann.email, PASSWORD)
    result = sb.verify_mfa(first.challenge, codes[0].upper())
    assert isinstance(result, SignIn) and result.actor.user_id == ann.user_id
    with pytest.raises(InvalidCredentials):
        sb.verify_mfa(second.challenge, codes[0])
    # Supabase has no recovery codes: the factor was removed with the admin API.
    assert fake_supabase.auth._verified_factors(str(ann.user_id)) == []
    assert not sb.mfa_status(ann).enabled
    with sb.engine.connect() as conn:
        assert conn.execute(select(MfaRecoveryCode.id)).all() == []
    assert isinstance(sb.sign_in_with_password(ann.email, PASSWORD), SignIn)


@sqlite_only
def test_disabling_2fa_needs_password_and_code(sb, fake_supabase, ann):
    _, totp, _ = _enrol(sb, ann)
    with pytest.raises(InvalidCredentials):
        sb.mfa_disable(ann, "not the password", _next_code(totp))
    with pytest.raises(AuthError, match="not valid"):
        sb.mfa_disable(ann, PASSWORD, "123456" if _next_code(totp) != "123456" else "654321")
    with pytest.raises(AuthError, match="not valid"):
        sb.mfa_disable(ann, PASSWORD, "nope-nope")
    assert sb.mfa_status(ann).enabled
    sb.mfa_disable(ann, PASSWORD, _next_code(totp))
    assert not sb.mfa_status(ann).enabled
    assert fake_supabase.auth._verified_factors(str(ann.user_id)) == []
    assert isinstance(sb.sign_in_with_password(ann.email, PASSWORD), SignIn)


# Passwords and e-mail ------------------------------------------------------------------
def _recovery_hash(fake, email: str) -> str:
    admin = _client(fake, fake.auth.service_role_key)
    return admin.auth.admin.generate_link(
        {"type": "recovery", "email": email}
    ).properties.hashed_token


@sqlite_only
def test_reset_request_answers_the_same_and_links_to_the_app(sb, fake_supabase, ann):
    assert sb.request_password_reset("nobody@example.com", ip="10.0.0.1") is None
    assert sb.request_password_reset(ann.email, ip="10.0.0.1") is None
    deadline = time.monotonic() + 5
    while not fake_supabase.auth.mails(ann.email, "recovery") and time.monotonic() < deadline:
        time.sleep(0.02)
    (mail,) = fake_supabase.auth.mails(ann.email, "recovery")
    assert mail["redirect_to"] == "https://nexus.example.com/"
    assert fake_supabase.auth.mails("nobody@example.com", "recovery") == []
    # A second request inside Supabase's e-mail interval is refused there; same reply here.
    assert sb.request_password_reset(ann.email, ip="10.0.0.1") is None


def test_reset_works_once_and_signs_out_every_session(sb, fake_supabase, ann):
    session = sb.sign_in_with_password(ann.email, PASSWORD)
    cookie = sb.redeem_ticket(session.ticket)
    token_hash = _recovery_hash(fake_supabase, ann.email)
    with pytest.raises(AuthError, match="at least 10"):
        sb.reset_password(token_hash, "short")  # refused before the link is spent
    sb.reset_password(token_hash, NEW_PASSWORD, ip="10.0.0.1")
    assert sb.session_from_token(cookie) is None
    assert fake_supabase.auth.sessions_of(str(ann.user_id)) == []
    with pytest.raises(AuthError, match="invalid or has expired"):
        sb.reset_password(token_hash, "yet another passphrase")
    with pytest.raises(AuthError, match="invalid or has expired"):
        sb.reset_password("not a token", "yet another passphrase")
    with pytest.raises(InvalidCredentials):
        sb.sign_in_with_password(ann.email, PASSWORD)
    assert isinstance(sb.sign_in_with_password(ann.email, NEW_PASSWORD), SignIn)


@sqlite_only
def test_reset_of_a_2fa_account_still_asks_for_the_code(sb, fake_supabase, ann):
    _, totp, _ = _enrol(sb, ann)
    sb.reset_password(_recovery_hash(fake_supabase, ann.email), NEW_PASSWORD)
    pending = sb.sign_in_with_password(ann.email, NEW_PASSWORD)
    assert isinstance(pending, MfaRequired)
    assert isinstance(sb.verify_mfa(pending.challenge, _next_code(totp)), SignIn)


@sqlite_only
def test_change_password_needs_the_current_one_and_ends_other_sessions(sb, fake_supabase, ann):
    keep = sb.sign_in_with_password(ann.email, PASSWORD)
    other = sb.sign_in_with_password(ann.email, PASSWORD)
    with pytest.raises(InvalidCredentials):
        sb.change_password(ann, "not my password", NEW_PASSWORD, keep=keep.session_id)
    with pytest.raises(AuthError, match="at least 10"):
        sb.change_password(ann, PASSWORD, "short", keep=keep.session_id)
    sb.change_password(ann, PASSWORD, NEW_PASSWORD, keep=keep.session_id)
    assert sb.session_from_id(keep.session_id) is not None
    assert sb.session_from_id(other.session_id) is None
    assert len(fake_supabase.auth.sessions_of(str(ann.user_id))) == 1  # only keep's
    sb.access_token(sb.session_from_id(keep.session_id))  # keep's provider session lives
    with pytest.raises(InvalidCredentials):
        sb.sign_in_with_password(ann.email, PASSWORD)
    assert isinstance(sb.sign_in_with_password(ann.email, NEW_PASSWORD), SignIn)


@sqlite_only
def test_change_password_of_a_2fa_account_goes_through_its_aal2_session(sb, fake_supabase, ann):
    _, totp, _ = _enrol(sb, ann)
    pending = sb.sign_in_with_password(ann.email, PASSWORD)
    keep = sb.verify_mfa(pending.challenge, _next_code(totp))
    sb.change_password(ann, PASSWORD, NEW_PASSWORD, keep=keep.session_id)
    assert sb.session_from_id(keep.session_id).aal == "aal2"
    assert isinstance(sb.sign_in_with_password(ann.email, NEW_PASSWORD), MfaRequired)


@sqlite_only
def test_change_email_needs_the_current_password(sb, fake_supabase, admin, ann):
    sb.sign_in_with_password(ann.email, PASSWORD)
    with pytest.raises(InvalidCredentials):
        sb.change_email(ann, "not my password", "new@example.com")
    with pytest.raises(AuthError, match="valid e-mail"):
        sb.change_email(ann, PASSWORD, "not-an-address")
    with pytest.raises(AuthError, match="already used"):
        sb.change_email(ann, PASSWORD, admin.email)
    moved = sb.change_email(ann, PASSWORD, "Ann.New@Example.com")
    assert moved.email == "ann.new@example.com" and moved.user_id == ann.user_id
    assert fake_supabase.auth.users[str(ann.user_id)].email == "ann.new@example.com"
    assert isinstance(sb.sign_in_with_password("ann.new@example.com", PASSWORD), SignIn)


@sqlite_only
def test_change_email_of_a_2fa_account_goes_through_its_aal2_session(sb, fake_supabase, ann):
    enrolled_in, totp, _ = _enrol(sb, ann)
    assert sb.session_from_id(enrolled_in.session_id).aal == "aal2"  # raised by the code
    sb.sign_out(enrolled_in.session_id)
    with pytest.raises(AuthError, match="two-factor"):
        sb.change_email(ann, PASSWORD, "ann.new@example.com")  # no aal2 session left
    pending = sb.sign_in_with_password(ann.email, PASSWORD)
    sb.verify_mfa(pending.challenge, _next_code(totp))
    assert sb.change_email(ann, PASSWORD, "ann.new@example.com").email == "ann.new@example.com"
    assert len(fake_supabase.auth.sessions_of(str(ann.user_id))) == 1  # check session ended


# Roles and administration --------------------------------------------------------------
def test_roles_come_from_app_metadata_and_only_admins_change_them(sb, fake_supabase, admin, ann):
    with pytest.raises(PermissionDenied):
        sb.set_role(ann, ann.user_id, "admin")
    with pytest.raises(PermissionDenied):
        sb.list_users(ann)
    with pytest.raises(PermissionDenied):
        sb.audit_log(ann)
    # Users cannot write app_metadata themselves (only user_metadata).
    direct = _client(fake_supabase, fake_supabase.auth.anon_key)
    direct.auth.sign_in_with_password({"email": ann.email, "password": PASSWORD})
    with pytest.raises(AuthApiError) as refused:
        direct.auth.update_user({"app_metadata": {"roles": ["admin"]}})
    assert refused.value.code == "not_admin"
    sb.set_role(admin, ann.user_id, "viewer")
    assert fake_supabase.auth.users[str(ann.user_id)].app_metadata["roles"] == ["viewer"]
    signed_in = sb.sign_in_with_password(ann.email, PASSWORD)
    assert signed_in.actor.role == "viewer" and not signed_in.actor.can_write
    claims = verify_access_token(
        sb.settings, sb.access_token(sb.session_from_id(signed_in.session_id))
    )
    assert claims["app_metadata"]["roles"] == ["viewer"]
    with pytest.raises(AuthError, match="last administrator"):
        sb.set_role(admin, admin.user_id, "analyst")
    with pytest.raises(AuthError, match="Role must be"):
        sb.set_role(admin, ann.user_id, "superuser")
    users = {u.email: u for u in sb.list_users(admin)}
    assert users["ann@example.com"].role == "viewer"
    assert users["root@example.com"].role == "admin" and not users["root@example.com"].disabled
    events = [e.event for e in sb.audit_log(admin)]
    assert "role.changed" in events and "user.registered" in events


def test_disabling_bans_the_account_and_ends_its_sessions(sb, fake_supabase, admin, ann):
    session = sb.sign_in_with_password(ann.email, PASSWORD)
    with pytest.raises(AuthError, match="your own account"):
        sb.set_disabled(admin, admin.user_id, True)
    with pytest.raises(PermissionDenied):
        sb.set_disabled(ann, admin.user_id, True)
    sb.set_disabled(admin, ann.user_id, True)
    assert fake_supabase.auth.users[str(ann.user_id)].banned()
    assert sb.session_from_id(session.session_id) is None
    with pytest.raises(InvalidCredentials):
        sb.sign_in_with_password(ann.email, PASSWORD)
    assert {u.email: u.disabled for u in sb.list_users(admin)}["ann@example.com"]
    sb.set_disabled(admin, ann.user_id, False)
    assert isinstance(sb.sign_in_with_password(ann.email, PASSWORD), SignIn)


# Sessions ------------------------------------------------------------------------------
def test_sessions_are_listed_and_revoked_here_and_at_supabase(sb, fake_supabase, ann):
    a = sb.sign_in_with_password(ann.email, PASSWORD, ip="10.0.0.1", user_agent="A")
    b = sb.sign_in_with_password(ann.email, PASSWORD, ip="10.0.0.2", user_agent="B")
    c = sb.sign_in_with_password(ann.email, PASSWORD, ip="10.0.0.3", user_agent="C")
    for s in (a, b, c):
        sb.redeem_ticket(s.ticket)
    listed = sb.list_sessions(ann, current=a.session_id)
    assert {s.user_agent for s in listed} == {"A", "B", "C"}
    assert [s.current for s in listed if s.id == a.session_id] == [True]
    assert len(fake_supabase.auth.sessions_of(str(ann.user_id))) == 3
    sb.revoke_session(ann, b.session_id)
    assert sb.session_from_id(b.session_id) is None
    assert len(fake_supabase.auth.sessions_of(str(ann.user_id))) == 2
    mallory = sb.sign_up("mallory@example.com", PASSWORD)
    with pytest.raises(AuthError, match="No such session"):
        sb.revoke_session(mallory, c.session_id)  # not hers
    assert sb.session_from_id(c.session_id) is not None
    assert sb.revoke_other_sessions(ann, a.session_id) == 1
    assert [s.id for s in sb.list_sessions(ann)] == [a.session_id]
    assert len(fake_supabase.auth.sessions_of(str(ann.user_id))) == 1
    sb.sign_out(a.session_id, ip="10.0.0.1")
    assert sb.session_from_id(a.session_id) is None
    assert fake_supabase.auth.sessions_of(str(ann.user_id)) == []


@sqlite_only
def test_revoking_a_cookie_ends_the_provider_session_too(sb, fake_supabase, ann):
    result = sb.sign_in_with_password(ann.email, PASSWORD)
    cookie = sb.redeem_ticket(result.ticket)
    sb.revoke_token(cookie)
    assert sb.session_from_token(cookie) is None
    assert fake_supabase.auth.sessions_of(str(ann.user_id)) == []


# Secrets stay secret -------------------------------------------------------------------
@sqlite_only
def test_no_key_or_token_reaches_logs_errors_or_the_database(sb, fake_supabase, admin, caplog):
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []

    def expect_failure(call):
        try:
            call()
        except AuthError as exc:
            messages.append(str(exc))
            messages.append(repr(exc.__cause__) + repr(exc.__context__))
        else:
            raise AssertionError("expected an AuthError")

    ann = sb.sign_up("ann@example.com", PASSWORD)
    _, totp, codes = _enrol(sb, ann)
    expect_failure(lambda: sb.sign_in_with_password(ann.email, "wrong password here"))
    pending = sb.sign_in_with_password(ann.email, PASSWORD)
    expect_failure(lambda: sb.verify_mfa(pending.challenge, "000000"))
    result = sb.verify_mfa(pending.challenge, _next_code(totp))
    sb.access_token(sb.session_from_id(result.session_id))
    expect_failure(lambda: sb.reset_password("f" * 56, NEW_PASSWORD))
    fake_supabase.auth.inject("POST", "/token", status=503, code="unexpected_failure")
    expect_failure(lambda: sb.sign_in_with_password(admin.email, PASSWORD))
    sb.set_role(admin, ann.user_id, "viewer")
    sb.sign_out(result.session_id)

    secrets_ = {
        fake_supabase.auth.anon_key,
        fake_supabase.auth.service_role_key,
        fake_supabase.auth.jwt_secret,
        PASSWORD,
        totp.secret,
        *codes,
        *fake_supabase.auth.issued,
    }
    logged = caplog.text
    with sb.engine.connect() as conn:
        stored = json.dumps(
            [list(map(str, r)) for r in conn.execute(select(Session.__table__)).all()]
            + [list(map(str, r)) for r in conn.execute(select(AuditEvent.__table__)).all()]
        )
    for secret in secrets_:
        assert secret not in logged
        assert all(secret not in m for m in messages)
        assert secret.replace("-", "") not in stored
    assert "unexpected_failure" in logged or "503" in logged  # failures are logged, by code


# The fake and its contract -------------------------------------------------------------
def test_the_contract_check_catches_drift():
    contract = Contract()
    _, problems = contract.check_response(
        "GET", "/user", 200, b'{"id": "not-a-uuid", "created_at": "yesterday"}', versioned=True
    )
    assert any("uuid" in p for p in problems) and any("date-time" in p for p in problems)
    _, problems = contract.check_response(
        "POST", "/token", 400, b'{"code": "invalid_credentials", "message": "x"}', versioned=True
    )
    assert problems == []
    _, problems = contract.check_response(
        "POST", "/token", 400, b'{"code": "invalid_credentials", "message": "x"}', versioned=False
    )
    assert problems  # the legacy format has an integer code
    _, problems = contract.check_response("POST", "/nowhere", 200, b"{}", versioned=True)
    assert problems == ["POST /nowhere is not in the spec"]
    _, problems = contract.check_response("POST", "/logout", 204, b"", versioned=True)
    assert problems == []
    schema = contract.component("MFAFactorSchema")
    assert schema["properties"]["phone"]["type"] == ["string", "null"]


def test_fake_serves_the_rest_of_its_surface_within_the_spec(fake_supabase):
    auth = fake_supabase.auth
    base = f"{fake_supabase.url}/auth/v1"
    anon = {"apikey": auth.anon_key}
    service = {"apikey": auth.service_role_key, "Authorization": f"Bearer {auth.service_role_key}"}
    with httpx.Client(base_url=base, timeout=5) as http:
        assert http.get("/health", headers=anon).json()["name"] == "GoTrue"
        assert http.get("/settings", headers=anon).json()["external"]["email"] is True
        assert http.get("/health").status_code == 401  # no API key
        # Legacy error format for clients that do not send the API version header.
        legacy = http.post("/token?grant_type=password", headers=anon, json={"email": "x@y.z"})
        assert legacy.status_code == 400 and legacy.json()["error_code"] == "invalid_credentials"
        created = http.post(
            "/admin/users", headers=service,
            json={"email": "eve@example.com", "password": PASSWORD, "email_confirm": True},
        ).json()  # fmt: skip
        uid = created["id"]
        assert (
            http.post("/admin/users", headers=anon, json={"email": "x@example.com"}).status_code
            == 401
        )
        token = http.post(
            "/token?grant_type=password", headers=anon,
            json={"email": "eve@example.com", "password": PASSWORD},
        ).json()  # fmt: skip
        user_headers = {**anon, "Authorization": f"Bearer {token['access_token']}"}
        assert http.get("/reauthenticate", headers=user_headers).status_code == 200
        assert auth.mails("eve@example.com", "reauthentication")
        not_admin = http.get("/admin/users", headers=user_headers)
        assert not_admin.status_code == 403
        link = http.post(
            "/admin/generate_link", headers=service,
            json={"type": "magiclink", "email": "eve@example.com"},
        ).json()  # fmt: skip
        redirect = http.get(
            "/verify", headers=anon,
            params={"token": link["hashed_token"], "type": "magiclink",
                    "redirect_to": "https://nexus.example.com"},
        )  # fmt: skip
        assert redirect.status_code == 302
        assert redirect.headers["location"].startswith("https://nexus.example.com#access_token=")
        enrolled = http.post(
            "/factors", headers=user_headers, json={"factor_type": "totp", "friendly_name": "f"}
        ).json()
        renamed = http.put(
            f"/admin/users/{uid}/factors/{enrolled['id']}", headers=service,
            json={"friendly_name": "phone"},
        ).json()  # fmt: skip
        assert renamed["friendly_name"] == "phone"
        assert len(http.get(f"/admin/users/{uid}/factors", headers=service).json()) == 1
        assert (
            http.delete(f"/admin/users/{uid}/factors/{enrolled['id']}", headers=service).status_code
            == 200
        )
        assert http.get(f"/admin/users/{uid}", headers=service).json()["email"] == "eve@example.com"
        assert http.get(f"/admin/users/{uuid.uuid4()}", headers=service).status_code == 404
        assert (
            http.put(
                f"/admin/users/{uid}", headers=service, json={"ban_duration": "forever"}
            ).status_code
            == 400
        )
        assert http.delete(f"/admin/users/{uid}", headers=service).status_code == 200
        assert http.get("/user", headers=user_headers).status_code == 403  # user gone
        assert http.get("/no-such-path", headers=anon).status_code == 404
    expired = jwt.encode(
        {"sub": uid, "aud": "authenticated", "exp": 1, "session_id": str(uuid.uuid4())},
        auth.jwt_secret,
        "HS256",
    )
    with httpx.Client(base_url=base, timeout=5) as http:
        response = http.get("/user", headers={**anon, "Authorization": f"Bearer {expired}"})
    assert response.status_code == 403
    exercised = set(fake_supabase.recorder.exercised)
    assert "GET /reauthenticate (spec: POST) -> 200" in exercised
    assert "POST /admin/users (not in spec) -> 200" in exercised
