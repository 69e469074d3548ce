"""Supabase accounts: credentials, 2FA and bans at Supabase Auth; sessions, roles and audit here.

Implements :class:`~nexus.auth.backend.AuthBackend` with supabase-py (``supabase_auth``).

- **Clients**: one ``create_client(url, anon_key, ...)`` per call flow, never shared between
  users or kept after the call (no auto-refresh timers, no persisted session); admin calls
  use a separate client with the service-role key (server side only).
- **Sessions**: the browser holds only the opaque app-session cookie (:mod:`sessions`). The
  provider's refresh token is kept Fernet-encrypted in ``sessions.provider_token_enc`` and
  rotated (single use) whenever the provider session is used; access tokens live only in
  process memory until shortly before they expire. When the provider refuses the refresh
  token (signed out elsewhere, banned, password changed) the app session ends too.
- **Users**: each Supabase user has a mirror row in ``users`` (same id, e-mail, role from
  ``app_metadata.roles``, empty ``pw_hash``) so foreign keys and the session checks work;
  the mirror is refreshed from Supabase at sign-in and in the admin views.
- **2FA**: TOTP factors live at Supabase. A password sign-in of an account with a verified
  factor returns :class:`MfaRequired` whose ``challenge`` is a random key into a short-lived
  in-process table holding the aal1 tokens (never the tokens themselves). Supabase accepts a
  TOTP code again on a new challenge, so an accepted code is also claimed here (per account,
  for 2 minutes) and refused a second time. Supabase has no recovery codes: ten are made
  here (stored as HMACs, :mod:`nexus.auth.mfa`); spending one removes the factors with the
  admin API (which downgrades the sessions to aal1) so the user can sign in and re-enrol.
- **Errors**: provider errors map to our user-facing errors; provider messages, tokens and
  keys never reach a log line or an exception message (logs carry the error code only).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import io
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from supabase import ClientOptions, create_client
from supabase_auth.errors import AuthApiError, AuthRetryableError
from supabase_auth.errors import AuthError as ProviderError

from nexus.auth import mfa, sessions
from nexus.auth.app_sessions import AppSessions
from nexus.auth.audit import read_log, record
from nexus.auth.crypto import decrypt, encrypt
from nexus.auth.errors import (
    AuthError,
    InvalidCredentials,
    InvalidToken,
    PermissionDenied,
    RegistrationError,
    Throttled,
)
from nexus.auth.local import BAD_CODE, BAD_RESET, EMAIL_RE, normalise_email
from nexus.auth.models import (
    ROLES,
    ActiveSession,
    Actor,
    AuditEntry,
    MfaRequired,
    MfaStatus,
    SignIn,
    TotpEnrollment,
    UserInfo,
)
from nexus.auth.passwords import PasswordRejected, check_password_policy
from nexus.auth.throttle import Throttle
from nexus.db.schema import (
    AuthThrottle,
    MfaRecoveryCode,
    Session,
    User,
    UserPreferences,
)
from nexus.settings import Settings

log = logging.getLogger(__name__)

PROVIDER_PURPOSE = "supabase-refresh"
ISSUER = "Portfolio Nexus"
FACTOR_NAME = "Authenticator app"
MFA_CHALLENGE_TTL = timedelta(minutes=5)
MFA_MAX_ATTEMPTS = 5
BAN_FOREVER = "876000h"  # 100 years: GoTrue's bans are durations
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
REFRESH_MARGIN = 60  # seconds of validity an access token must have left to be handed out
CODE_CLAIM_TTL = timedelta(seconds=120)  # a TOTP code is accepted for at most ±1 step (90 s)
RATE_LIMITED = {"over_request_rate_limit", "over_email_send_rate_limit", "over_sms_send_rate_limit"}
GONE = {"user_not_found", "session_not_found", "refresh_token_not_found", "session_expired"}
TOTP_RE = re.compile(r"[0-9]{6}")
RESET_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-]{16,256}")
ROLE_ORDER = ("admin", "analyst", "viewer")  # highest first

STALE_CHALLENGE = "The sign-in took too long. Enter your e-mail and password again."
UNAVAILABLE = "The account service cannot be reached right now. Try again in a minute."
NEED_AAL2 = (
    "Your account uses two-factor authentication: sign out, sign in again with your "
    "authenticator code, then retry."
)
ADMIN_KEY_MISSING = "This needs the server's SUPABASE_SERVICE_ROLE_KEY; ask the operator."
ALREADY_REGISTERED = "An account with this e-mail already exists. Sign in instead."


# --------------------------------------------------------------------------- process state
@dataclass
class _Pending:
    """Password checked, second factor outstanding (kept server-side, never sent out)."""

    user_id: uuid.UUID
    email: str
    access_token: str
    refresh_token: str
    factor_id: str
    expires_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class _Cached:
    token: str
    exp: int
    user_id: uuid.UUID


_PENDING: dict[str, _Pending] = {}
_TOKENS: dict[uuid.UUID, _Cached] = {}
_STATE_LOCK = threading.Lock()
# Refreshes of one provider session must not overlap (its refresh token is single-use).
_SESSION_LOCKS = tuple(threading.RLock() for _ in range(64))


@functools.cache
def _tls_context():
    """One TLS context for all clients: loading the CA bundle costs ~30 ms each time."""
    return httpx.create_ssl_context()


def _session_lock(session_id: uuid.UUID) -> threading.RLock:
    return _SESSION_LOCKS[session_id.int % len(_SESSION_LOCKS)]


def _cache_token(session_id: uuid.UUID, token: str, exp: int, user_id: uuid.UUID) -> None:
    now = time.time()
    with _STATE_LOCK:
        if len(_TOKENS) > 1000:
            for key in [k for k, v in _TOKENS.items() if v.exp <= now]:
                del _TOKENS[key]
        _TOKENS[session_id] = _Cached(token, exp, user_id)


def _forget_tokens(*, session_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None):
    with _STATE_LOCK:
        if session_id is not None:
            _TOKENS.pop(session_id, None)
        if user_id is not None:
            for key in [k for k, v in _TOKENS.items() if v.user_id == user_id]:
                del _TOKENS[key]


def _fresh_token(session_id: uuid.UUID) -> str | None:
    with _STATE_LOCK:
        cached = _TOKENS.get(session_id)
    if cached is not None and cached.exp - time.time() > REFRESH_MARGIN:
        return cached.token
    return None


# ------------------------------------------------------------------------------- helpers
def _code(exc: Exception) -> str:
    return str(getattr(exc, "code", "") or "")


def _status(exc: Exception) -> int:
    status = getattr(exc, "status", 0)
    return status if isinstance(status, int) else 0


def _log_provider(operation: str, exc: Exception) -> None:
    # Code and status only: provider messages may echo input, never log them.
    log.warning(
        "supabase %s failed: %s (code=%s, status=%s)",
        operation,
        type(exc).__name__,
        _code(exc) or "-",
        _status(exc),
    )


def _provider_failure(exc: Exception) -> AuthError | None:
    """The error for rate limits and outages, or None for an ordinary refusal."""
    if _code(exc) in RATE_LIMITED or _status(exc) == 429:
        return Throttled(60)
    status = _status(exc)
    if isinstance(exc, AuthRetryableError) or status >= 500:
        return AuthError(UNAVAILABLE)
    if not isinstance(exc, AuthApiError) and _code(exc) == "" and status == 0:
        return AuthError(UNAVAILABLE)  # unparsable answer or transport error
    return None


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Go sends nanoseconds
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _role_of(user: Any) -> str:
    """Highest app role in ``app_metadata.roles`` (writable only with the admin API)."""
    roles = (getattr(user, "app_metadata", None) or {}).get("roles")
    if isinstance(roles, str):
        roles = [roles]
    if not roles:
        return "analyst"
    known = [r for r in ROLE_ORDER if r in roles]
    return known[0] if known else "viewer"


def _banned(user: Any) -> bool:
    until = _parse_time(getattr(user, "banned_until", None))
    return until is not None and until > datetime.now(UTC)


def _verified_totp(user: Any) -> list[Any]:
    return [
        f
        for f in (getattr(user, "factors", None) or [])
        if f.factor_type == "totp" and f.status == "verified"
    ]


def _display_name(user: Any) -> str:
    name = (getattr(user, "user_metadata", None) or {}).get("display_name", "")
    return " ".join(str(name).split())[:100] if isinstance(name, str) else ""


def _check_email(email: str) -> str:
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise RegistrationError("Enter a valid e-mail address, like name@example.com.")
    return email


def _qr_svg(qr_code: str, uri: str) -> str:
    """The provider's QR SVG without the data-URI prefix; re-rendered locally if it carries
    anything but drawing (it is shown as an image, but an SVG can hold script)."""
    svg = qr_code.removeprefix("data:image/svg+xml;utf-8,")
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else ""
    lowered = svg.lower()
    if (
        not svg
        or "<script" in lowered
        or "javascript:" in lowered
        or "<foreignobject" in lowered
        or re.search(r"\son[a-z]+\s*=", lowered)
    ):
        import segno

        buffer = io.BytesIO()
        segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
        svg = buffer.getvalue().decode()
    return svg


class SupabaseBackend(AppSessions):
    """:class:`~nexus.auth.backend.AuthBackend` on Supabase Auth (GoTrue)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        if not settings.supabase_url or not settings.supabase_anon_key.get_secret_value():
            raise ValueError("SUPABASE_URL and SUPABASE_ANON_KEY are required")
        self.engine = engine
        self.settings = settings
        self.throttle = Throttle(engine)

    # Clients ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _client(self, *, admin: bool = False) -> Iterator[Any]:
        """A fresh supabase client for one call flow (admin: the service-role key)."""
        secret = (
            self.settings.supabase_service_role_key if admin else self.settings.supabase_anon_key
        )
        key = secret.get_secret_value()
        if not key:
            raise AuthError(ADMIN_KEY_MISSING)
        # A fresh HTTP client too (no cookies or state shared between users); only the
        # immutable TLS context is reused.
        http = httpx.Client(
            verify=_tls_context(), http2=True, follow_redirects=True, timeout=HTTP_TIMEOUT
        )
        options = ClientOptions(
            auto_refresh_token=False,
            persist_session=False,
            # Implicit flow: recovery links carry a token hash that is verified server-side;
            # a PKCE verifier would live in this short-lived client and be lost.
            flow_type="implicit",
            httpx_client=http,
        )
        try:
            yield create_client(self.settings.supabase_url, key, options)
        finally:
            http.close()

    @property
    def _has_admin_key(self) -> bool:
        return bool(self.settings.supabase_service_role_key.get_secret_value())

    # Mirror rows -----------------------------------------------------------------------
    def _mirror(self, conn, user: Any, *, signed_in: bool = False) -> Actor:
        """Create or refresh the app's row for a Supabase user; return the actor."""
        user_id = uuid.UUID(str(user.id))
        email = normalise_email(user.email or "") or f"{user_id}@users.invalid"
        role = _role_of(user)
        name = _display_name(user)
        # A row of a deleted Supabase account may still hold this address: park it.
        for stale in conn.execute(
            select(User.id).where(User.email == email, User.id != user_id)
        ).scalars():
            conn.execute(
                update(User).where(User.id == stale).values(email=f"{stale}@deleted.invalid")
            )
        values: dict[str, Any] = {"email": email, "role": role, "display_name": name}
        banned = _banned(user)
        row = conn.execute(select(User.disabled_at).where(User.id == user_id)).first()
        if row is None:
            conn.execute(
                insert(User).values(
                    id=user_id,
                    pw_hash="",  # the password lives at Supabase
                    created_at=_parse_time(getattr(user, "created_at", None)) or datetime.now(UTC),
                    disabled_at=datetime.now(UTC) if banned else None,
                    last_sign_in_at=datetime.now(UTC) if signed_in else None,
                    **values,
                )
            )
            conn.execute(
                insert(UserPreferences).values(
                    user_id=user_id, base_currency=self.settings.base_currency
                )
            )
        else:
            if banned and row.disabled_at is None:
                values["disabled_at"] = datetime.now(UTC)
            elif not banned:
                values["disabled_at"] = None
            if signed_in:
                values["last_sign_in_at"] = datetime.now(UTC)
            conn.execute(update(User).where(User.id == user_id).values(**values))
        return Actor(user_id, email, role, name)

    def _actor(self, user_id: uuid.UUID) -> Actor | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(User.__table__).where(User.id == user_id)).first()
        return Actor(row.id, row.email, row.role, row.display_name) if row else None

    # Tokens ----------------------------------------------------------------------------
    def _claims(self, token: str, user_id: uuid.UUID | str) -> dict[str, Any]:
        """Claims of a provider access token; verified with SUPABASE_JWT_SECRET if set."""
        try:
            header = jwt.get_unverified_header(token)
            secret = self.settings.supabase_jwt_secret.get_secret_value()
            if secret and header.get("alg") == "HS256":
                from nexus.auth.tokens import verify_access_token

                claims = verify_access_token(self.settings, token)
            else:
                # Asymmetric project keys: the token came straight from Supabase over TLS.
                claims = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, InvalidToken):
            log.warning("supabase returned an access token that failed verification")
            raise InvalidToken() from None
        if str(claims.get("sub")) != str(user_id):
            raise InvalidToken()
        return claims

    def _store_provider_session(
        self, session_id: uuid.UUID, user_id: uuid.UUID, provider: Any, *, old: str | None
    ) -> None:
        """Keep the (rotated) refresh token encrypted and the access token in memory."""
        claims = self._claims(provider.access_token, user_id)
        enc = encrypt(self.settings, provider.refresh_token, purpose=PROVIDER_PURPOSE)
        stmt = update(Session).where(Session.id == session_id)
        if old is not None:
            stmt = stmt.where(Session.provider_token_enc == old)
        with self.engine.begin() as conn:
            conn.execute(stmt.values(provider_token_enc=enc, aal=claims.get("aal", "aal1")))
        _cache_token(session_id, provider.access_token, int(claims.get("exp", 0)), user_id)

    def _end_app_session(self, session_id: uuid.UUID, user_id: uuid.UUID, reason: str) -> None:
        if sessions.revoke_session(self.engine, session_id):
            with self.engine.begin() as conn:
                record(
                    conn, "session.ended", user_id=user_id, session_id=str(session_id), by=reason
                )
        _forget_tokens(session_id=session_id)

    def _use_app_session(self, client: Any, session_id: uuid.UUID, owner: uuid.UUID) -> Any:
        """Load the provider session of an app session into ``client`` (one refresh)."""
        with _session_lock(session_id):
            for _attempt in range(2):
                with self.engine.connect() as conn:
                    row = conn.execute(
                        select(
                            Session.user_id,
                            Session.provider_token_enc,
                            Session.revoked_at,
                            Session.expires_at,
                        ).where(Session.id == session_id)
                    ).first()
                if (
                    row is None
                    or row.user_id != owner
                    or row.revoked_at is not None
                    or _parse_time(row.expires_at) <= datetime.now(UTC)
                ):
                    raise InvalidToken()
                refresh = (
                    decrypt(self.settings, row.provider_token_enc, purpose=PROVIDER_PURPOSE)
                    if row.provider_token_enc
                    else None
                )
                if refresh is None:
                    self._end_app_session(session_id, owner, "no provider session")
                    raise InvalidToken()
                try:
                    provider = client.auth.refresh_session(refresh).session
                except ProviderError as exc:
                    failure = _provider_failure(exc)
                    if failure is not None:
                        _log_provider("refresh", exc)
                        raise failure from None
                    if _code(exc) == "refresh_token_already_used":
                        # Another process may have rotated it a moment ago: read it again.
                        with self.engine.connect() as conn:
                            now_enc = conn.execute(
                                select(Session.provider_token_enc).where(Session.id == session_id)
                            ).scalar_one_or_none()
                        if now_enc and now_enc != row.provider_token_enc:
                            continue
                    _log_provider("refresh", exc)
                    self._end_app_session(session_id, owner, "provider refused refresh")
                    raise InvalidToken() from None
                self._store_provider_session(
                    session_id, owner, provider, old=row.provider_token_enc
                )
                return provider
        raise InvalidToken()

    def _latest_session(self, actor: Actor, *, aal: str | None = None) -> uuid.UUID | None:
        """The actor's most recently used live session with a provider session."""
        now = datetime.now(UTC)
        where = [
            Session.user_id == actor.user_id,
            Session.revoked_at.is_(None),
            Session.provider_token_enc.is_not(None),
            Session.expires_at > now,
            Session.last_seen_at > now - timedelta(minutes=self.settings.session_idle_minutes),
        ]
        if aal is not None:
            where.append(Session.aal == aal)
        stmt = (
            select(Session.id)
            .where(*where)
            .order_by(Session.last_seen_at.desc(), Session.created_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one_or_none()

    def _use_latest_session(self, client: Any, actor: Actor, *, aal: str | None = None):
        session_id = self._latest_session(actor, aal=aal)
        if session_id is None:
            raise InvalidToken()
        return session_id, self._use_app_session(client, session_id, actor.user_id)

    def _provider_logout(self, session_id: uuid.UUID, user_id: uuid.UUID, scope: str) -> None:
        """Best effort: end the provider session behind an app session (already revoked)."""
        with self.engine.connect() as conn:
            enc = conn.execute(
                select(Session.provider_token_enc).where(
                    Session.id == session_id, Session.user_id == user_id
                )
            ).scalar_one_or_none()
        refresh = decrypt(self.settings, enc, purpose=PROVIDER_PURPOSE) if enc else None
        _forget_tokens(session_id=session_id)
        if refresh is None:
            return
        try:
            with self._client() as client:
                client.auth.refresh_session(refresh)
                client.auth.sign_out({"scope": scope})
        except ProviderError as exc:
            _log_provider("sign-out", exc)
        with self.engine.begin() as conn:
            conn.execute(
                update(Session).where(Session.id == session_id).values(provider_token_enc=None)
            )

    # Throttling and code claims ----------------------------------------------------------
    def _check_throttle(self, keys: list[str], event: str, ip: str) -> None:
        wait = self.throttle.check(keys)
        if wait > 0:
            with self.engine.begin() as conn:
                record(conn, event, ip=ip)
            raise Throttled(wait)

    def _claim_key(self, user_id: uuid.UUID, code: str) -> str:
        digest = hmac.new(self.settings.signing_key(), code.encode(), hashlib.sha256).hexdigest()
        return f"totp-used:{user_id}:{digest[:32]}"

    def _claim_code(self, user_id: uuid.UUID, code: str) -> bool:
        """Claim a TOTP code for this account for 2 minutes; False if it was used already.

        Supabase accepts the same code on each new challenge while it is current, so the
        replay guard lives here, in the ``auth_throttle`` table (atomic across processes)."""
        key = self._claim_key(user_id, code)
        now = datetime.now(UTC)
        values = {"failures": 0, "window_start": now, "locked_until": now + CODE_CLAIM_TTL}
        with self.engine.begin() as conn:
            reclaimed = conn.execute(
                update(AuthThrottle)
                .where(AuthThrottle.key == key, AuthThrottle.locked_until < now)
                .values(**values)
            )
        if reclaimed.rowcount == 1:
            return True
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(AuthThrottle).values(key=key, **values))
        except IntegrityError:
            return False
        return True

    def _release_code(self, user_id: uuid.UUID, code: str) -> None:
        """The provider refused the code: it was not spent."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(AuthThrottle).where(AuthThrottle.key == self._claim_key(user_id, code))
            )

    def _check_password(self, client: Any, actor: Actor, password: str, ip: str) -> Any:
        """Re-check the current password with a fresh sign-in (loaded into ``client``)."""
        keys = [f"user:{actor.email}", f"ip:{ip or 'unknown'}"]
        self._check_throttle(keys, "password.throttled", ip)
        try:
            provider = client.auth.sign_in_with_password(
                {"email": actor.email, "password": password or ""}
            ).session
        except ProviderError as exc:
            failure = _provider_failure(exc)
            if failure is not None:
                _log_provider("password check", exc)
                raise failure from None
            self.throttle.fail(keys)
            raise InvalidCredentials() from None
        if provider is None or str(provider.user.id) != str(actor.user_id):
            raise InvalidCredentials()
        return provider

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if not actor.is_admin:
            raise PermissionDenied("Only administrators can do this.")

    # Accounts ------------------------------------------------------------------------
    def sign_up(
        self,
        email: str,
        password: str,
        *,
        display_name: str = "",
        role: str | None = None,
        ip: str = "",
    ) -> Actor:
        email = _check_email(email)
        try:
            check_password_policy(password, email=email)
        except PasswordRejected as exc:
            raise RegistrationError(str(exc)) from None
        if role is not None and role not in ROLES:
            raise RegistrationError(f"Role must be one of {', '.join(ROLES)}.")
        if role is not None and not self._has_admin_key:
            raise RegistrationError(ADMIN_KEY_MISSING)  # roles live in app_metadata
        name = " ".join(display_name.split())[:100]
        with self._client() as client:
            try:
                result = client.auth.sign_up(
                    {
                        "email": email,
                        "password": password,
                        "options": {"data": {"display_name": name}} if name else {},
                    }
                )
            except ProviderError as exc:
                _log_provider("sign-up", exc)
                failure = _provider_failure(exc)
                if failure is not None:
                    raise failure from None
                code = _code(exc)
                if code in ("user_already_exists", "email_exists"):
                    raise RegistrationError(ALREADY_REGISTERED) from None
                if code == "weak_password":
                    raise RegistrationError(
                        "Choose a stronger password: this one is too short or too common."
                    ) from None
                if code in ("email_address_invalid", "validation_failed"):
                    raise RegistrationError(
                        "Enter a valid e-mail address, like name@example.com."
                    ) from None
                if code == "signup_disabled":
                    raise RegistrationError("New accounts cannot be created right now.") from None
                raise RegistrationError(
                    "The account could not be created right now. Try again later."
                ) from None
            user = result.user
            if result.session is not None:
                # The UI signs in next; this provider session is not kept.
                with contextlib.suppress(ProviderError):
                    client.auth.sign_out({"scope": "local"})
        # With e-mail confirmation on, Supabase answers a known address with a stand-in user
        # that has no identities (to hide that the account exists).
        if user is None or user.identities == []:
            raise RegistrationError(ALREADY_REGISTERED)
        with self.engine.connect() as conn:
            is_first = conn.execute(select(func.count()).select_from(User)).scalar_one() == 0
        wanted = role or ("admin" if is_first else None)
        if wanted is not None and wanted != _role_of(user):
            if self._has_admin_key:
                user = self._admin_update(user.id, {"app_metadata": {"roles": [wanted]}})
            else:
                log.warning("cannot set the role of a new account: no service-role key")
        try:
            with self.engine.begin() as conn:
                actor = self._mirror(conn, user)
                record(conn, "user.registered", user_id=actor.user_id, ip=ip, role=actor.role)
        except IntegrityError:
            raise RegistrationError(ALREADY_REGISTERED) from None
        return actor

    def sign_in_with_password(
        self, email: str, password: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn | MfaRequired:
        email = normalise_email(email)
        keys = [f"user:{email}", f"ip:{ip or 'unknown'}"]
        self._check_throttle(keys, "signin.throttled", ip)
        provider = None
        refusal: Exception | None = None
        if email and password:
            with self._client() as client:
                try:
                    provider = client.auth.sign_in_with_password(
                        {"email": email, "password": password}
                    ).session
                except ProviderError as exc:
                    failure = _provider_failure(exc)
                    if failure is not None:
                        _log_provider("sign-in", exc)
                        event = (
                            "signin.throttled"
                            if isinstance(failure, Throttled)
                            else "signin.unavailable"
                        )
                        with self.engine.begin() as conn:
                            record(conn, event, ip=ip, provider=True)
                        raise failure from None
                    refusal = exc
        if provider is None:
            if refusal is not None and _code(refusal) == "email_not_confirmed":
                # Only reachable with the right password: reveals nothing to a guesser.
                raise AuthError("Confirm your e-mail address first: open the link we sent you.")
            self.throttle.fail(keys)
            with self.engine.connect() as conn:
                known = conn.execute(select(User.id).where(User.email == email)).scalar()
            with self.engine.begin() as conn:
                record(
                    conn,
                    "signin.failed",
                    user_id=known,
                    ip=ip,
                    email_known=known is not None,
                    code=_code(refusal) if refusal is not None else "empty",
                )
            raise InvalidCredentials()
        self.throttle.succeed(keys[:1])
        with self.engine.begin() as conn:
            actor = self._mirror(conn, provider.user, signed_in=True)
        factors = _verified_totp(provider.user)
        if factors:
            challenge = secrets.token_urlsafe(32)
            expires = datetime.now(UTC) + MFA_CHALLENGE_TTL
            with _STATE_LOCK:
                now = datetime.now(UTC)
                for key in [k for k, p in _PENDING.items() if p.expires_at <= now]:
                    del _PENDING[key]
                _PENDING[challenge] = _Pending(
                    user_id=actor.user_id,
                    email=actor.email,
                    access_token=provider.access_token,
                    refresh_token=provider.refresh_token,
                    factor_id=str(factors[0].id),
                    expires_at=expires,
                )
            return MfaRequired(email=actor.email, challenge=challenge, expires_at=expires)
        return self._start(actor, provider, ip=ip, user_agent=user_agent)

    def _start(self, actor: Actor, provider: Any, *, ip: str, user_agent: str, **detail) -> SignIn:
        claims = self._claims(provider.access_token, actor.user_id)
        aal = claims.get("aal", "aal1")
        session_id, ticket = sessions.start_session(
            self.engine,
            self.settings,
            actor.user_id,
            ip=ip,
            user_agent=user_agent,
            aal=aal,
            provider_token_enc=encrypt(
                self.settings, provider.refresh_token, purpose=PROVIDER_PURPOSE
            ),
        )
        _cache_token(session_id, provider.access_token, int(claims.get("exp", 0)), actor.user_id)
        with self.engine.begin() as conn:
            record(conn, "signin.succeeded", user_id=actor.user_id, ip=ip, aal=aal, **detail)
        return SignIn(actor, session_id, ticket)

    def verify_mfa(
        self, challenge: str, code: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn:
        with _STATE_LOCK:
            pending = _PENDING.get(challenge) if isinstance(challenge, str) else None
        if pending is None or pending.expires_at <= datetime.now(UTC):
            raise AuthError(STALE_CHALLENGE)
        user_id = pending.user_id
        keys = [f"mfa:{user_id}", f"ip:{ip or 'unknown'}"]
        self._check_throttle(keys, "mfa.throttled", ip)
        digits = (code or "").strip().replace(" ", "")
        provider = None
        used_recovery = False
        if TOTP_RE.fullmatch(digits):
            if self._claim_code(user_id, digits):
                with self._client() as client:
                    try:
                        client.auth.set_session(pending.access_token, pending.refresh_token)
                        client.auth.mfa.challenge_and_verify(
                            {"factor_id": pending.factor_id, "code": digits}
                        )
                        provider = client.auth.get_session()
                    except ProviderError as exc:
                        self._release_code(user_id, digits)
                        failure = _provider_failure(exc)
                        if failure is not None:
                            _log_provider("mfa verify", exc)
                            raise failure from None
                        if _code(exc) not in ("mfa_verification_failed", "mfa_factor_not_found"):
                            # The aal1 session is gone (signed out, factor removed…).
                            _log_provider("mfa verify", exc)
                            with _STATE_LOCK:
                                _PENDING.pop(challenge, None)
                            raise AuthError(STALE_CHALLENGE) from None
        elif self._spend_recovery_code(user_id, code):
            used_recovery = True
            provider = _Tokens(pending.access_token, pending.refresh_token)
        if provider is None:
            self.throttle.fail(keys)
            with _STATE_LOCK:
                pending.attempts += 1
                if pending.attempts >= MFA_MAX_ATTEMPTS:
                    _PENDING.pop(challenge, None)
            with self.engine.begin() as conn:
                record(conn, "mfa.failed", user_id=user_id, ip=ip)
            raise InvalidCredentials(BAD_CODE)
        with _STATE_LOCK:
            _PENDING.pop(challenge, None)
        self.throttle.succeed(keys[:1])
        actor = self._actor(user_id)
        if actor is None:
            raise AuthError(STALE_CHALLENGE)
        with self.engine.begin() as conn:
            record(conn, "mfa.verified", user_id=user_id, ip=ip, recovery_code=used_recovery)
        return self._start(actor, provider, ip=ip, user_agent=user_agent)

    def _spend_recovery_code(self, user_id: uuid.UUID, code: str) -> bool:
        """Spend a recovery code and remove the account's factors at Supabase (the only way
        past a lost authenticator there); 2FA is then off until the user enrols again."""
        if not (code or "").strip() or not self._has_admin_key:
            if (code or "").strip():
                log.warning("recovery code not checked: no service-role key")
            return False
        with self.engine.begin() as conn:
            if not mfa.use_recovery_code(conn, self.settings, user_id, code):
                return False
        try:
            self._delete_factors(user_id)
        except AuthError:
            # Not spent after all: the factors are still there.
            with self.engine.begin() as conn:
                conn.execute(
                    update(MfaRecoveryCode)
                    .where(
                        MfaRecoveryCode.user_id == user_id,
                        MfaRecoveryCode.code_hash == mfa._code_hash(self.settings, code),
                    )
                    .values(used_at=None)
                )
            raise
        with self.engine.begin() as conn:
            mfa.remove(conn, user_id)
            conn.execute(update(Session).where(Session.user_id == user_id).values(aal="aal1"))
            record(conn, "mfa.disabled", user_id=user_id, by="recovery code")
        return True

    def _delete_factors(self, user_id: uuid.UUID) -> None:
        with self._client(admin=True) as admin:
            try:
                factors = admin.auth.admin.mfa.list_factors({"user_id": str(user_id)})
                for factor in factors:
                    admin.auth.admin.mfa.delete_factor({"id": factor.id, "user_id": str(user_id)})
            except ProviderError as exc:
                _log_provider("admin factor removal", exc)
                raise _provider_failure(exc) or AuthError(UNAVAILABLE) from None

    def sign_out(self, session_id: uuid.UUID, *, ip: str = "") -> None:
        active = sessions.resolve_session(self.engine, self.settings, session_id)
        with self.engine.connect() as conn:
            owner = conn.execute(
                select(Session.user_id).where(Session.id == session_id)
            ).scalar_one_or_none()
        revoked = sessions.revoke_session(self.engine, session_id)
        if owner is not None:
            self._provider_logout(session_id, owner, "local")
        if revoked:
            with self.engine.begin() as conn:
                record(
                    conn,
                    "signout",
                    user_id=active.actor.user_id if active else owner,
                    ip=ip,
                    session_id=str(session_id),
                )

    # Browser sessions ----------------------------------------------------------------
    def revoke_token(self, token: str) -> None:
        active = sessions.resolve_token(self.engine, self.settings, token)
        if active is not None:
            self.sign_out(active.session_id)
        else:
            sessions.revoke_token(self.engine, self.settings, token)

    def revoke_session(self, actor: Actor, session_id: uuid.UUID, *, ip: str = "") -> None:
        n = sessions.revoke_user_sessions(self.engine, actor.user_id, only=session_id)
        if n == 0:
            raise AuthError("No such session.")
        self._provider_logout(session_id, actor.user_id, "local")
        with self.engine.begin() as conn:
            record(
                conn, "session.revoked", user_id=actor.user_id, ip=ip, session_id=str(session_id)
            )

    def revoke_other_sessions(self, actor: Actor, keep: uuid.UUID, *, ip: str = "") -> int:
        with self.engine.connect() as conn:
            others = (
                conn.execute(
                    select(Session.id).where(
                        Session.user_id == actor.user_id,
                        Session.id != keep,
                        Session.revoked_at.is_(None),
                        Session.provider_token_enc.is_not(None),
                    )
                )
                .scalars()
                .all()
            )
        n = sessions.revoke_user_sessions(self.engine, actor.user_id, keep=keep)
        ended_elsewhere = False
        try:
            with self._client() as client:
                self._use_app_session(client, keep, actor.user_id)
                client.auth.sign_out({"scope": "others"})
                ended_elsewhere = True
        except (ProviderError, AuthError) as exc:
            log.warning("sign-out of other provider sessions failed: %s", type(exc).__name__)
        for session_id in others:
            if ended_elsewhere:
                _forget_tokens(session_id=session_id)
            else:
                self._provider_logout(session_id, actor.user_id, "local")
        if ended_elsewhere and others:
            with self.engine.begin() as conn:
                conn.execute(
                    update(Session)
                    .where(Session.id.in_(others), Session.revoked_at.is_not(None))
                    .values(provider_token_enc=None)
                )
        with self.engine.begin() as conn:
            record(conn, "session.revoked_others", user_id=actor.user_id, ip=ip, count=n)
        return n

    def access_token(self, active: ActiveSession) -> str:
        """The Supabase access token of this session, refreshed when about to expire."""
        token = _fresh_token(active.session_id)
        if token is not None:
            return token
        with _session_lock(active.session_id):
            token = _fresh_token(active.session_id)
            if token is not None:
                return token
            with self._client() as client:
                provider = self._use_app_session(client, active.session_id, active.actor.user_id)
            return provider.access_token

    # Passwords and e-mail ------------------------------------------------------------
    def request_password_reset(self, email: str, *, ip: str = "", link_base: str = "") -> None:
        email = normalise_email(email)
        keys = [f"reset:{email}", f"ip:{ip or 'unknown'}"]
        if self.throttle.check(keys) > 0:
            return  # same reply; nothing sent
        self.throttle.fail(keys)  # every request counts: bounds mail to one address
        with self.engine.connect() as conn:
            known = conn.execute(select(User.id).where(User.email == email)).scalar()
        with self.engine.begin() as conn:
            record(
                conn,
                "password.reset_requested",
                user_id=known,
                ip=ip,
                email_known=known is not None,
            )
        if not EMAIL_RE.match(email):
            return
        redirect = f"{(link_base or self.settings.public_url).rstrip('/')}/"
        # In the background: the reply time must not depend on whether the account exists.
        threading.Thread(target=self._send_reset, args=(email, redirect), daemon=True).start()

    def _send_reset(self, email: str, redirect: str) -> None:
        try:
            with self._client() as client:
                client.auth.reset_password_for_email(email, {"redirect_to": redirect})
        except ProviderError as exc:
            _log_provider("reset request", exc)
        except Exception as exc:  # a background thread: log, never raise
            log.warning("reset request failed: %s", type(exc).__name__)

    def reset_password(self, token: str, new_password: str, *, ip: str = "") -> None:
        token = (token or "").strip()
        if not RESET_TOKEN_RE.fullmatch(token):
            raise AuthError(BAD_RESET)
        try:
            check_password_policy(new_password)
        except PasswordRejected as exc:
            raise AuthError(str(exc)) from None
        with self._client() as client:
            try:
                user = client.auth.verify_otp({"token_hash": token, "type": "recovery"}).user
            except ProviderError as exc:
                _log_provider("reset verify", exc)
                raise _provider_failure(exc) or AuthError(BAD_RESET) from None
            if user is None:
                raise AuthError(BAD_RESET)
            user_id = uuid.UUID(str(user.id))
            try:
                check_password_policy(new_password, email=user.email or "")
            except PasswordRejected as exc:
                # The link is spent by now (Supabase verifies it once): say so.
                raise AuthError(f"{exc} Then request a new reset link.") from None
            try:
                client.auth.update_user({"password": new_password})
            except ProviderError as exc:
                if _code(exc) == "insufficient_aal" and self._has_admin_key:
                    # 2FA accounts: the link proved the mailbox; sign-in still asks for the
                    # second factor, so the password is set with the admin API.
                    self._admin_update(user.id, {"password": new_password})
                else:
                    _log_provider("reset update", exc)
                    raise self._password_error(exc) from None
            try:
                client.auth.sign_out({"scope": "global"})  # every provider session ends
            except ProviderError as exc:
                _log_provider("reset sign-out", exc)
        sessions.revoke_user_sessions(self.engine, user_id)
        _forget_tokens(user_id=user_id)
        self.throttle.succeed([f"user:{normalise_email(user.email or '')}"])
        with self.engine.begin() as conn:
            record(conn, "password.reset", user_id=user_id, ip=ip)

    @staticmethod
    def _password_error(exc: Exception) -> AuthError:
        failure = _provider_failure(exc)
        if failure is not None:
            return failure
        code = _code(exc)
        if code == "same_password":
            return AuthError("Choose a password different from the current one.")
        if code == "weak_password":
            return AuthError("Choose a stronger password: this one is too short or too common.")
        if code == "insufficient_aal":
            return AuthError(NEED_AAL2)
        if code == "reauthentication_needed":
            return AuthError("Sign in again, then change the password within a few minutes.")
        return AuthError("The password could not be changed right now. Try again later.")

    def change_password(
        self,
        actor: Actor,
        current_password: str,
        new_password: str,
        *,
        keep: uuid.UUID | None = None,
        ip: str = "",
    ) -> None:
        try:
            check_password_policy(new_password, email=actor.email)
        except PasswordRejected as exc:
            raise AuthError(str(exc)) from None
        with self._client() as client:
            probe = self._check_password(client, actor, current_password, ip)
            used_keep = False
            if keep is not None:
                # Update through the user's own session: with 2FA it is the aal2 one.
                with contextlib.suppress(InvalidToken):
                    self._use_app_session(client, keep, actor.user_id)
                    used_keep = True
                if not used_keep:
                    client.auth.set_session(probe.access_token, probe.refresh_token)
            try:
                client.auth.update_user({"password": new_password})
            except ProviderError as exc:
                _log_provider("password change", exc)
                raise self._password_error(exc) from None
            try:
                if used_keep:
                    client.auth.sign_out({"scope": "others"})
                else:
                    client.auth.sign_out({"scope": "global"})
            except ProviderError as exc:
                _log_provider("password change sign-out", exc)
        sessions.revoke_user_sessions(self.engine, actor.user_id, keep=keep if used_keep else None)
        with _STATE_LOCK:
            stale = [k for k, v in _TOKENS.items() if v.user_id == actor.user_id and k != keep]
        for session_id in stale:
            _forget_tokens(session_id=session_id)
        with self.engine.begin() as conn:
            record(conn, "password.changed", user_id=actor.user_id, ip=ip)

    def change_email(
        self, actor: Actor, current_password: str, new_email: str, *, ip: str = ""
    ) -> Actor:
        try:
            email = _check_email(new_email)
        except RegistrationError as exc:
            raise AuthError(str(exc)) from None
        with self._client() as client:
            probe = self._check_password(client, actor, current_password, ip)
            switched = False
            if _verified_totp(probe.user):
                # Supabase wants an aal2 session for this when 2FA is on: the user's own.
                try:
                    self._use_latest_session(client, actor, aal="aal2")
                    switched = True
                except InvalidToken:
                    raise AuthError(NEED_AAL2) from None
            try:
                user = client.auth.update_user({"email": email}).user
            except ProviderError as exc:
                _log_provider("e-mail change", exc)
                failure = _provider_failure(exc)
                if failure is not None:
                    raise failure from None
                if _code(exc) in ("email_exists", "user_already_exists", "conflict"):
                    raise AuthError(
                        "That e-mail address is already used by another account."
                    ) from None
                if _code(exc) == "insufficient_aal":
                    raise AuthError(NEED_AAL2) from None
                raise AuthError("The e-mail address could not be changed right now.") from None
            finally:
                # End the password-check session (still loaded unless we switched).
                with contextlib.suppress(ProviderError):
                    if switched:
                        client.auth.admin.sign_out(probe.access_token, "local")
                    else:
                        client.auth.sign_out({"scope": "local"})
        with self.engine.begin() as conn:
            updated = self._mirror(conn, user)
            changed = updated.email == email
            record(
                conn,
                "email.changed" if changed else "email.change_requested",
                user_id=actor.user_id,
                ip=ip,
            )
        # With "secure e-mail change" on, the new address takes effect once confirmed.
        return updated

    # Two-factor authentication -------------------------------------------------------
    def _factors(self, actor: Actor) -> list[Any]:
        try:
            if self._has_admin_key:
                with self._client(admin=True) as admin:
                    return list(admin.auth.admin.mfa.list_factors({"user_id": str(actor.user_id)}))
            with self._client() as client:
                self._use_latest_session(client, actor)
                return list(client.auth.mfa.list_factors().all)
        except ProviderError as exc:
            _log_provider("list factors", exc)
            raise _provider_failure(exc) or AuthError(UNAVAILABLE) from None

    def mfa_status(self, actor: Actor) -> MfaStatus:
        verified = [
            f for f in self._factors(actor) if f.factor_type == "totp" and f.status == "verified"
        ]
        if not verified:
            return MfaStatus(enabled=False)
        with self.engine.connect() as conn:
            left = conn.execute(
                select(func.count()).where(
                    MfaRecoveryCode.user_id == actor.user_id, MfaRecoveryCode.used_at.is_(None)
                )
            ).scalar_one()
        return MfaStatus(
            enabled=True, factor_id=uuid.UUID(str(verified[0].id)), recovery_codes_left=left
        )

    def mfa_enroll(self, actor: Actor) -> TotpEnrollment:
        with self._client() as client:
            self._use_latest_session(client, actor)
            try:
                factors = client.auth.mfa.list_factors().all
                if any(f.factor_type == "totp" and f.status == "verified" for f in factors):
                    raise AuthError(
                        "Two-factor authentication is already on. Turn it off before "
                        "setting up another authenticator."
                    )
                for factor in factors:
                    if factor.factor_type == "totp":
                        client.auth.mfa.unenroll({"factor_id": factor.id})
                enrolled = client.auth.mfa.enroll(
                    {"factor_type": "totp", "issuer": ISSUER, "friendly_name": FACTOR_NAME}
                )
            except ProviderError as exc:
                _log_provider("mfa enrol", exc)
                raise _provider_failure(exc) or AuthError(
                    "Two-factor authentication cannot be set up right now."
                ) from None
        if enrolled.totp is None:
            raise AuthError("Two-factor authentication cannot be set up right now.")
        return TotpEnrollment(
            factor_id=uuid.UUID(str(enrolled.id)),
            secret=enrolled.totp.secret,
            uri=enrolled.totp.uri,
            qr_svg=_qr_svg(enrolled.totp.qr_code, enrolled.totp.uri),
        )

    def mfa_confirm(
        self, actor: Actor, factor_id: uuid.UUID, code: str, *, ip: str = ""
    ) -> list[str]:
        keys = [f"mfa:{actor.user_id}", f"ip:{ip or 'unknown'}"]
        self._check_throttle(keys, "mfa.throttled", ip)
        digits = (code or "").strip().replace(" ", "")
        verified_in: uuid.UUID | None = None
        if TOTP_RE.fullmatch(digits):
            with self._client() as client:
                session_id, _ = self._use_latest_session(client, actor)
                if self._claim_code(actor.user_id, digits):
                    try:
                        client.auth.mfa.challenge_and_verify(
                            {"factor_id": str(factor_id), "code": digits}
                        )
                    except ProviderError as exc:
                        self._release_code(actor.user_id, digits)
                        failure = _provider_failure(exc)
                        if failure is not None:
                            _log_provider("mfa confirm", exc)
                            raise failure from None
                    else:
                        provider = client.auth.get_session()
                        self._store_provider_session(session_id, actor.user_id, provider, old=None)
                        verified_in = session_id
        if verified_in is None:
            self.throttle.fail(keys)
            raise AuthError(BAD_CODE)
        self.throttle.succeed(keys[:1])
        with self.engine.begin() as conn:
            codes = mfa.new_recovery_codes(conn, self.settings, actor.user_id)
            record(conn, "mfa.enabled", user_id=actor.user_id, ip=ip)
            # Supabase ends the account's other aal1 sessions on a verification: so do we.
            conn.execute(
                update(Session)
                .where(
                    Session.user_id == actor.user_id,
                    Session.id != verified_in,
                    Session.aal == "aal1",
                    Session.revoked_at.is_(None),
                )
                .values(revoked_at=datetime.now(UTC), ticket_hash=None)
            )
        return codes

    def mfa_disable(self, actor: Actor, password: str, code: str, *, ip: str = "") -> None:
        keys = [f"mfa:{actor.user_id}", f"ip:{ip or 'unknown'}"]
        digits = (code or "").strip().replace(" ", "")
        with self._client() as client:
            probe = self._check_password(client, actor, password, ip)
            self._check_throttle(keys, "mfa.throttled", ip)
            verified = _verified_totp(probe.user)
            if not verified:
                ok = True  # nothing to turn off
            elif TOTP_RE.fullmatch(digits):
                ok = self._totp_unenroll(client, actor, str(verified[0].id), digits)
            else:
                ok = self._spend_recovery_code(actor.user_id, code)
            with contextlib.suppress(ProviderError):
                client.auth.sign_out({"scope": "local"})  # the password-check session
        if not ok:
            self.throttle.fail(keys)
            raise AuthError(BAD_CODE)
        self.throttle.succeed(keys[:1])
        with self.engine.begin() as conn:
            mfa.remove(conn, actor.user_id)
            # Supabase downgrades the account's sessions to aal1 when a factor goes.
            conn.execute(update(Session).where(Session.user_id == actor.user_id).values(aal="aal1"))
            record(conn, "mfa.disabled", user_id=actor.user_id, ip=ip)

    def _totp_unenroll(self, client: Any, actor: Actor, factor_id: str, digits: str) -> bool:
        """Raise the password-check session to aal2 with the code, then remove the factors."""
        if not self._claim_code(actor.user_id, digits):
            return False
        try:
            client.auth.mfa.challenge_and_verify({"factor_id": factor_id, "code": digits})
        except ProviderError as exc:
            self._release_code(actor.user_id, digits)
            failure = _provider_failure(exc)
            if failure is not None:
                _log_provider("mfa disable", exc)
                raise failure from None
            return False
        try:
            for factor in client.auth.mfa.list_factors().all:
                client.auth.mfa.unenroll({"factor_id": factor.id})
        except ProviderError as exc:
            _log_provider("mfa unenrol", exc)
            raise _provider_failure(exc) or AuthError(UNAVAILABLE) from None
        return True

    # Administration ------------------------------------------------------------------
    def _admin_update(self, user_id: Any, attributes: dict[str, Any]) -> Any:
        with self._client(admin=True) as admin:
            try:
                return admin.auth.admin.update_user_by_id(str(user_id), attributes).user
            except ProviderError as exc:
                _log_provider("admin update", exc)
                if _code(exc) == "user_not_found" or _status(exc) == 404:
                    raise AuthError("No such user.") from None
                raise _provider_failure(exc) or AuthError(UNAVAILABLE) from None

    def _all_users(self) -> list[Any]:
        users: list[Any] = []
        per_page = 200
        with self._client(admin=True) as admin:
            try:
                for page in range(1, 500):
                    batch = admin.auth.admin.list_users(page=page, per_page=per_page)
                    users.extend(batch)
                    if len(batch) < per_page:
                        break
            except ProviderError as exc:
                _log_provider("admin list", exc)
                raise _provider_failure(exc) or AuthError(UNAVAILABLE) from None
        return users

    def list_users(self, actor: Actor) -> list[UserInfo]:
        self._require_admin(actor)
        users = self._all_users()
        infos = []
        with self.engine.begin() as conn:
            for user in users:
                mirrored = self._mirror(conn, user)
                infos.append(
                    UserInfo(
                        id=mirrored.user_id,
                        email=mirrored.email,
                        role=mirrored.role,
                        display_name=mirrored.display_name,
                        created_at=_parse_time(user.created_at) or datetime.now(UTC),
                        last_sign_in_at=_parse_time(user.last_sign_in_at),
                        disabled=_banned(user),
                        mfa_enabled=bool(_verified_totp(user)),
                    )
                )
        return sorted(infos, key=lambda u: u.created_at)

    def set_role(self, actor: Actor, user_id: uuid.UUID, role: str, *, ip: str = "") -> None:
        self._require_admin(actor)
        if role not in ROLES:
            raise AuthError(f"Role must be one of {', '.join(ROLES)}.")
        users = self._all_users()
        target = next((u for u in users if str(u.id) == str(user_id)), None)
        if target is None:
            raise AuthError("No such user.")
        old = _role_of(target)
        admins = [u for u in users if _role_of(u) == "admin" and not _banned(u)]
        if old == "admin" and role != "admin" and len(admins) <= 1:
            raise AuthError("This is the last administrator; make someone else admin first.")
        updated = self._admin_update(user_id, {"app_metadata": {"roles": [role]}})
        with self.engine.begin() as conn:
            self._mirror(conn, updated)
            record(
                conn,
                "role.changed",
                user_id=actor.user_id,
                ip=ip,
                target=str(user_id),
                old=old,
                new=role,
            )

    def set_disabled(
        self, actor: Actor, user_id: uuid.UUID, disabled: bool, *, ip: str = ""
    ) -> None:
        self._require_admin(actor)
        if user_id == actor.user_id and disabled:
            raise AuthError("You cannot disable your own account.")
        updated = self._admin_update(user_id, {"ban_duration": BAN_FOREVER if disabled else "none"})
        with self.engine.begin() as conn:
            self._mirror(conn, updated)
            record(
                conn,
                "user.disabled" if disabled else "user.enabled",
                user_id=actor.user_id,
                ip=ip,
                target=str(user_id),
            )
        if disabled:
            # Supabase refuses the refresh tokens of a banned user; end the app sessions now.
            sessions.revoke_user_sessions(self.engine, user_id)
            _forget_tokens(user_id=user_id)

    def audit_log(self, actor: Actor, *, limit: int = 200) -> list[AuditEntry]:
        self._require_admin(actor)
        return read_log(self.engine, limit=limit)


@dataclass(frozen=True)
class _Tokens:
    """The provider tokens of a session when no client holds them (recovery-code path)."""

    access_token: str
    refresh_token: str
