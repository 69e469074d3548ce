"""A fake Supabase Auth (GoTrue) server for offline tests, built from the published spec.

Starlette app with in-memory state serving the paths supabase-py uses under ``/auth/v1``
(shapes from ``supabase_auth_openapi.yaml``; behaviour from GoTrue where the spec is silent):

- ``POST /signup``, ``POST /token?grant_type=password|refresh_token``, ``POST /logout?scope=``,
  ``POST /recover``, ``GET|POST /verify``, ``GET|PUT /user``, ``GET|POST /reauthenticate``,
  ``POST /factors``, ``POST /factors/{id}/challenge``, ``POST /factors/{id}/verify``,
  ``DELETE /factors/{id}``, ``GET|POST /admin/users``, ``GET|PUT|DELETE /admin/users/{id}``,
  ``GET /admin/users/{id}/factors``, ``PUT|DELETE /admin/users/{id}/factors/{factor_id}``,
  ``POST /admin/generate_link``, ``GET /settings``, ``GET /health``.
- Access tokens: HS256 JWTs with Supabase's claim set (``iss`` = ``<url>/auth/v1``, ``aud``,
  ``sub``, ``role``, ``aal``, ``amr``, ``session_id``, ``email``, ``phone``,
  ``app_metadata``, ``user_metadata``, ``is_anonymous``). The anon and service-role keys
  are JWTs signed with the same secret (``role`` anon / service_role), as on Supabase.
- Refresh tokens are single use: presenting a used one ends its whole session (GoTrue with
  rotation on and no reuse interval).
- TOTP via pyotp (``valid_window=1``, like GoTrue's skew 1). As in GoTrue a challenge is
  single-use, but a current code is accepted again on a new challenge (no replay memory).
  A successful verification ends the user's other aal1 sessions; removing a verified factor
  downgrades the sessions to aal1; password/e-mail changes need aal2 when a verified factor
  exists (``insufficient_aal``).
- Errors: ``{"code": "<error_code>", "message": ...}`` when the request says
  ``X-Supabase-Api-Version: 2024-01-01`` (supabase-py always does), else the legacy
  ``{"code": <status>, "error_code": ..., "msg": ...}``; the response always carries
  ``X-Supabase-Api-Version: 2024-01-01``.
- Bans (``ban_duration``) refuse password sign-in and refresh; ``app_metadata`` can only be
  written through the admin API with the service-role key.
- E-mails (recovery, confirmation, reauthentication) are appended to :attr:`outbox`.
- :meth:`FakeSupabaseAuth.inject` makes the next matching request fail (rate limits, outages).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import jwt
import pyotp
import segno
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION = "2024-01-01"
ADMIN_ROLES = ("service_role", "supabase_admin")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _hash_password(password: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def _parse_duration(text: str) -> timedelta:
    """Go ``time.ParseDuration`` subset: ``876000h``, ``1h30m``, ``90s``, ``500ms``."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(text)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return timedelta(seconds=sum(float(n) * units[u] for n, u in parts))


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


@dataclass
class FakeConfig:
    jwt_exp: int = 3600
    mailer_autoconfirm: bool = True
    password_min_length: int = 6
    disable_signup: bool = False
    otp_exp: int = 3600
    email_frequency: int = 60  # seconds between two recovery e-mails to one user
    challenge_expiry: int = 300
    max_factors: int = 10
    site_url: str = "http://localhost:3000"


@dataclass
class FakeUser:
    id: str
    email: str
    password_hash: str
    salt: str
    created_at: datetime
    updated_at: datetime
    app_metadata: dict[str, Any]
    user_metadata: dict[str, Any]
    email_confirmed_at: datetime | None = None
    last_sign_in_at: datetime | None = None
    banned_until: datetime | None = None
    recovery_sent_at: datetime | None = None
    confirmation_sent_at: datetime | None = None
    new_email: str | None = None
    email_change_sent_at: datetime | None = None
    reauth_nonce: str | None = None
    reauthentication_sent_at: datetime | None = None
    role: str = "authenticated"

    def banned(self) -> bool:
        return self.banned_until is not None and self.banned_until > _now()


@dataclass
class FakeFactor:
    id: str
    user_id: str
    friendly_name: str
    secret: str
    status: str = "unverified"
    factor_type: str = "totp"
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    last_challenged_at: datetime | None = None


@dataclass
class FakeChallenge:
    id: str
    factor_id: str
    ip: str
    created_at: datetime = field(default_factory=_now)
    verified_at: datetime | None = None


@dataclass
class FakeSession:
    id: str
    user_id: str
    aal: str
    amr: list[dict[str, Any]]
    created_at: datetime = field(default_factory=_now)


@dataclass
class FakeRefreshToken:
    token: str
    session_id: str
    revoked: bool = False


@dataclass
class FakeOtp:
    token_hash: str
    otp: str
    user_id: str
    type: str
    created_at: datetime = field(default_factory=_now)
    new_email: str | None = None
    used: bool = False


@dataclass
class _Injected:
    method: str
    path: str
    status: int
    code: str
    message: str
    times: int


class FakeSupabaseAuth:
    """In-memory GoTrue: state, tokens and the Starlette app (:attr:`app`)."""

    def __init__(self, *, jwt_secret: str | None = None, config: FakeConfig | None = None):
        self.jwt_secret = jwt_secret or secrets.token_urlsafe(32)
        self.config = config or FakeConfig()
        self.base_url = "http://testserver"
        now = int(time.time())
        key_claims = {"iss": "supabase-demo", "iat": now, "exp": now + 10 * 365 * 86400}
        self.anon_key = jwt.encode({**key_claims, "role": "anon"}, self.jwt_secret, "HS256")
        self.service_role_key = jwt.encode(
            {**key_claims, "role": "service_role"}, self.jwt_secret, "HS256"
        )
        self.lock = threading.RLock()
        self.reset()
        self.app = Starlette(
            routes=[Mount("/auth/v1", routes=self._routes())],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    # State ---------------------------------------------------------------------------
    def reset(self, config: FakeConfig | None = None) -> None:
        with self.lock:
            if config is not None:
                self.config = config
            self.users: dict[str, FakeUser] = {}
            self.factors: dict[str, FakeFactor] = {}
            self.challenges: dict[str, FakeChallenge] = {}
            self.sessions: dict[str, FakeSession] = {}
            self.refresh_tokens: dict[str, FakeRefreshToken] = {}
            self.otps: dict[str, FakeOtp] = {}
            self.outbox: list[dict[str, Any]] = []
            self.requests: list[tuple[str, str]] = []
            self.issued: list[str] = []  # every access/refresh token and link hash handed out
            self._injected: list[_Injected] = []

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/auth/v1"

    def inject(
        self,
        method: str,
        path: str,
        *,
        status: int = 429,
        code: str = "over_request_rate_limit",
        message: str = "Request rate limit reached",
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` requests to ``method path`` (path below /auth/v1)."""
        with self.lock:
            self._injected.append(_Injected(method.upper(), path, status, code, message, times))

    def user_by_email(self, email: str) -> FakeUser | None:
        with self.lock:
            return next((u for u in self.users.values() if u.email == email.lower()), None)

    def sessions_of(self, user_id: str) -> list[FakeSession]:
        with self.lock:
            return [s for s in self.sessions.values() if s.user_id == user_id]

    def mails(self, to: str, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.outbox if m["to"] == to and m["type"] == kind]

    def create_user(
        self,
        email: str,
        password: str,
        *,
        confirmed: bool = True,
        app_metadata: dict[str, Any] | None = None,
        user_metadata: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> FakeUser:
        salt = secrets.token_hex(8)
        now = _now()
        user = FakeUser(
            id=user_id or str(uuid.uuid4()),
            email=email.lower(),
            password_hash=_hash_password(password, salt) if password else "",
            salt=salt,
            created_at=now,
            updated_at=now,
            app_metadata={"provider": "email", "providers": ["email"], **(app_metadata or {})},
            user_metadata=dict(user_metadata or {}),
            email_confirmed_at=now if confirmed else None,
        )
        with self.lock:
            self.users[user.id] = user
        return user

    # JSON shapes ---------------------------------------------------------------------
    def factor_json(self, f: FakeFactor) -> dict[str, Any]:
        return {
            "id": f.id,
            "friendly_name": f.friendly_name,
            "factor_type": f.factor_type,
            "status": f.status,
            "created_at": _iso(f.created_at),
            "updated_at": _iso(f.updated_at),
            "last_challenged_at": _iso(f.last_challenged_at),  # nullable in the spec
        }

    def user_json(self, u: FakeUser) -> dict[str, Any]:
        factors = [self.factor_json(f) for f in self.factors.values() if f.user_id == u.id]
        identity = {
            "identity_id": str(uuid.uuid5(uuid.NAMESPACE_URL, u.id)),
            "id": u.id,
            "user_id": u.id,
            "identity_data": {"email": u.email, "sub": u.id, "email_verified": True},
            "provider": "email",
            "last_sign_in_at": _iso(u.last_sign_in_at or u.created_at),
            "created_at": _iso(u.created_at),
            "updated_at": _iso(u.updated_at),
            "email": u.email,
        }
        return _drop_none(
            {
                "id": u.id,
                "aud": "authenticated",
                "role": u.role,
                "email": u.email,
                "email_confirmed_at": _iso(u.email_confirmed_at),
                "phone": "",
                "confirmation_sent_at": _iso(u.confirmation_sent_at),
                "confirmed_at": _iso(u.email_confirmed_at),
                "recovery_sent_at": _iso(u.recovery_sent_at),
                "new_email": u.new_email,
                "email_change_sent_at": _iso(u.email_change_sent_at),
                "reauthentication_sent_at": _iso(u.reauthentication_sent_at),
                "last_sign_in_at": _iso(u.last_sign_in_at),
                "app_metadata": u.app_metadata,
                "user_metadata": u.user_metadata,
                "identities": [identity],
                "factors": factors or None,  # GoTrue omits an empty list
                "banned_until": _iso(u.banned_until) if u.banned() else None,
                "created_at": _iso(u.created_at),
                "updated_at": _iso(u.updated_at),
                "is_anonymous": False,
            }
        )

    def _mint(self, user: FakeUser, session: FakeSession) -> tuple[str, int]:
        now = int(time.time())
        exp = now + self.config.jwt_exp
        claims = {
            "iss": self.issuer,
            "aud": "authenticated",
            "exp": exp,
            "iat": now,
            "sub": user.id,
            "email": user.email,
            "phone": "",
            "app_metadata": user.app_metadata,
            "user_metadata": user.user_metadata,
            "role": "authenticated",
            "aal": session.aal,
            "amr": session.amr,
            "session_id": session.id,
            "is_anonymous": False,
        }
        token = jwt.encode(claims, self.jwt_secret, "HS256", headers={"typ": "JWT"})
        self.issued.append(token)
        return token, exp

    def _new_refresh_token(self, session: FakeSession) -> str:
        token = secrets.token_urlsafe(9)
        self.refresh_tokens[token] = FakeRefreshToken(token, session.id)
        self.issued.append(token)
        return token

    def _token_response(self, user: FakeUser, session: FakeSession) -> dict[str, Any]:
        access, exp = self._mint(user, session)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.config.jwt_exp,
            "expires_at": exp,
            "refresh_token": self._new_refresh_token(session),
            "user": self.user_json(user),
        }

    def _new_session(self, user: FakeUser, method: str) -> FakeSession:
        session = FakeSession(
            id=str(uuid.uuid4()),
            user_id=user.id,
            aal="aal1",
            amr=[{"method": method, "timestamp": int(time.time())}],
        )
        self.sessions[session.id] = session
        user.last_sign_in_at = _now()
        return session

    def _end_sessions(self, user_id: str, *, keep: str | None = None) -> None:
        for sid in [s.id for s in self.sessions.values() if s.user_id == user_id and s.id != keep]:
            self._end_session(sid)

    def _end_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
        for token in [t for t, r in self.refresh_tokens.items() if r.session_id == session_id]:
            del self.refresh_tokens[token]

    def _verified_factors(self, user_id: str) -> list[FakeFactor]:
        return [f for f in self.factors.values() if f.user_id == user_id and f.status == "verified"]

    def _new_otp(self, user: FakeUser, kind: str, *, new_email: str | None = None) -> FakeOtp:
        otp = f"{secrets.randbelow(10**6):06d}"
        target = new_email or user.email
        token_hash = hashlib.sha224(f"{target}{otp}".encode()).hexdigest()  # GoTrue's form
        record = FakeOtp(token_hash, otp, user.id, kind, new_email=new_email)
        self.otps[token_hash] = record
        self.issued.append(token_hash)
        return record

    # Request plumbing ------------------------------------------------------------------
    @staticmethod
    def _versioned(request: Request) -> bool:
        version = request.headers.get(API_VERSION_HEADER, "")
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", version)) and version >= API_VERSION

    def _error(self, request: Request, exc: ApiError) -> JSONResponse:
        if self._versioned(request):
            body = {"code": exc.code, "message": exc.message, **exc.extra}
        else:
            body = {"code": exc.status, "error_code": exc.code, "msg": exc.message, **exc.extra}
        return JSONResponse(body, exc.status, headers={API_VERSION_HEADER: API_VERSION})

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(
            data, status, headers={API_VERSION_HEADER: API_VERSION, **(headers or {})}
        )

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return self._error(request, ApiError(404, "not_found", "Not found"))

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        return self._error(request, ApiError(405, "method_not_allowed", "Method not allowed"))

    def _check_api_key(self, request: Request) -> str:
        key = request.headers.get("apikey", "")
        if key not in (self.anon_key, self.service_role_key):
            raise ApiError(401, "no_authorization", "Invalid API key")
        return key

    def _claims(self, request: Request, *, audience: bool) -> dict[str, Any]:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise ApiError(401, "no_authorization", "This endpoint requires a Bearer token")
        try:
            return jwt.decode(
                header[7:],
                self.jwt_secret,
                algorithms=["HS256"],
                audience="authenticated" if audience else None,
                options={"verify_aud": audience},
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(403, "bad_jwt", "invalid JWT: token is expired") from None
        except jwt.PyJWTError:
            raise ApiError(
                403, "bad_jwt", "invalid JWT: unable to parse or verify signature"
            ) from None

    def _user_auth(self, request: Request) -> tuple[FakeUser, FakeSession]:
        claims = self._claims(request, audience=True)
        user = self.users.get(str(claims.get("sub", "")))
        if user is None:
            raise ApiError(403, "user_not_found", "User from sub claim in JWT does not exist")
        session = self.sessions.get(str(claims.get("session_id", "")))
        if session is None or session.user_id != user.id:
            raise ApiError(
                403, "session_not_found", "Session from session_id claim in JWT does not exist"
            )
        return user, session

    def _admin_auth(self, request: Request) -> None:
        claims = self._claims(request, audience=False)
        if claims.get("role") not in ADMIN_ROLES:
            raise ApiError(403, "not_admin", "User not allowed")

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, "bad_json", "Could not parse request body as JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "bad_json", "Request body must be a JSON object")
        return data

    def _handler(self, fn):
        async def endpoint(request: Request) -> Response:
            path = request.url.path.removeprefix("/auth/v1")
            try:
                with self.lock:
                    self.requests.append((request.method, path))
                    for inj in self._injected:
                        if inj.method == request.method and inj.path == path and inj.times > 0:
                            inj.times -= 1
                            raise ApiError(inj.status, inj.code, inj.message)
                self._check_api_key(request)
                body = (
                    await self._body(request) if request.method in ("POST", "PUT", "DELETE") else {}
                )
                with self.lock:
                    return fn(request, body)
            except ApiError as exc:
                return self._error(request, exc)

        return endpoint

    def _routes(self) -> list[Route]:
        h = self._handler
        return [
            Route("/health", h(self.health), methods=["GET"]),
            Route("/settings", h(self.settings), methods=["GET"]),
            Route("/signup", h(self.signup), methods=["POST"]),
            Route("/token", h(self.token), methods=["POST"]),
            Route("/logout", h(self.logout), methods=["POST"]),
            Route("/recover", h(self.recover), methods=["POST"]),
            Route("/verify", h(self.verify), methods=["GET", "POST"]),
            Route("/user", h(self.user), methods=["GET", "PUT"]),
            Route("/reauthenticate", h(self.reauthenticate), methods=["GET", "POST"]),
            Route("/factors", h(self.enroll), methods=["POST"]),
            Route("/factors/{factor_id}/challenge", h(self.challenge), methods=["POST"]),
            Route("/factors/{factor_id}/verify", h(self.verify_factor), methods=["POST"]),
            Route("/factors/{factor_id}", h(self.unenroll), methods=["DELETE"]),
            Route("/admin/users", h(self.admin_users), methods=["GET", "POST"]),
            Route("/admin/users/{user_id}", h(self.admin_user), methods=["GET", "PUT", "DELETE"]),
            Route("/admin/users/{user_id}/factors", h(self.admin_factors), methods=["GET"]),
            Route(
                "/admin/users/{user_id}/factors/{factor_id}",
                h(self.admin_factor),
                methods=["PUT", "DELETE"],
            ),
            Route("/admin/generate_link", h(self.generate_link), methods=["POST"]),
        ]

    # General -----------------------------------------------------------------------------
    def health(self, request: Request, body: dict) -> Response:
        return self._json(
            {"version": "v2.0.0-fake", "name": "GoTrue", "description": "Fake for offline tests"}
        )

    def settings(self, request: Request, body: dict) -> Response:
        return self._json(
            {
                "external": {"email": True, "phone": False},
                "disable_signup": self.config.disable_signup,
                "mailer_autoconfirm": self.config.mailer_autoconfirm,
                "phone_autoconfirm": False,
                "sms_provider": "",
                "saml_enabled": False,
            }
        )

    # Accounts ----------------------------------------------------------------------------
    def _check_new_password(self, password: str) -> None:
        if len(password or "") < self.config.password_min_length:
            raise ApiError(
                422,
                "weak_password",
                f"Password should be at least {self.config.password_min_length} characters.",
                weak_password={"reasons": ["length"]},
            )

    def signup(self, request: Request, body: dict) -> Response:
        if self.config.disable_signup:
            raise ApiError(422, "signup_disabled", "Signups not allowed for this instance")
        email = str(body.get("email") or "").strip().lower()
        if not EMAIL_RE.match(email):
            raise ApiError(400, "email_address_invalid", "Unable to validate email address")
        self._check_new_password(str(body.get("password") or ""))
        if self.user_by_email(email) is not None:
            raise ApiError(422, "user_already_exists", "User already registered")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        user = self.create_user(
            email, body["password"], confirmed=self.config.mailer_autoconfirm, user_metadata=data
        )
        if not self.config.mailer_autoconfirm:
            user.confirmation_sent_at = _now()
            otp = self._new_otp(user, "signup")
            self.outbox.append(
                {"to": email, "type": "signup", "token": otp.otp, "token_hash": otp.token_hash}
            )
            return self._json(self.user_json(user))
        session = self._new_session(user, "password")
        return self._json(self._token_response(user, session))

    def token(self, request: Request, body: dict) -> Response:
        grant = request.query_params.get("grant_type", "")
        if grant == "password":
            return self._password_grant(body)
        if grant == "refresh_token":
            return self._refresh_grant(body)
        raise ApiError(400, "validation_failed", "unsupported_grant_type")

    def _password_grant(self, body: dict) -> Response:
        email = str(body.get("email") or "").strip().lower()
        password = str(body.get("password") or "")
        user = self.user_by_email(email) if email else None
        if (
            user is None
            or not password
            or _hash_password(password, user.salt) != user.password_hash
        ):
            raise ApiError(400, "invalid_credentials", "Invalid login credentials")
        if user.banned():
            raise ApiError(400, "user_banned", "User is banned")
        if user.email_confirmed_at is None:
            raise ApiError(400, "email_not_confirmed", "Email not confirmed")
        session = self._new_session(user, "password")
        return self._json(self._token_response(user, session))

    def _refresh_grant(self, body: dict) -> Response:
        record = self.refresh_tokens.get(str(body.get("refresh_token") or ""))
        if record is None or record.session_id not in self.sessions:
            raise ApiError(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        session = self.sessions[record.session_id]
        user = self.users[session.user_id]
        if user.banned():
            raise ApiError(400, "user_banned", "Invalid Refresh Token: User Banned")
        if record.revoked:
            self._end_session(session.id)  # reuse of a spent token: revoke the family
            raise ApiError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")
        record.revoked = True
        return self._json(self._token_response(user, session))

    def logout(self, request: Request, body: dict) -> Response:
        scope = request.query_params.get("scope", "global")
        if scope not in ("global", "local", "others"):
            raise ApiError(400, "validation_failed", "Unsupported logout scope")
        user, session = self._user_auth(request)
        if scope == "local":
            self._end_session(session.id)
        elif scope == "others":
            self._end_sessions(user.id, keep=session.id)
        else:
            self._end_sessions(user.id)
        return Response(status_code=204, headers={API_VERSION_HEADER: API_VERSION})

    def recover(self, request: Request, body: dict) -> Response:
        email = str(body.get("email") or "").strip().lower()
        if not EMAIL_RE.match(email):
            raise ApiError(422, "email_address_invalid", "Unable to validate email address")
        user = self.user_by_email(email)
        if user is not None:
            last = user.recovery_sent_at
            if last and (_now() - last).total_seconds() < self.config.email_frequency:
                wait = self.config.email_frequency - int((_now() - last).total_seconds())
                raise ApiError(
                    429,
                    "over_email_send_rate_limit",
                    f"For security purposes, you can only request this after {wait} seconds.",
                )
            user.recovery_sent_at = _now()
            otp = self._new_otp(user, "recovery")
            redirect_to = request.query_params.get("redirect_to") or self.config.site_url
            self.outbox.append(
                {
                    "to": email,
                    "type": "recovery",
                    "token": otp.otp,
                    "token_hash": otp.token_hash,
                    "redirect_to": redirect_to,
                }
            )
        return self._json({})

    def _consume_otp(self, body: dict) -> FakeOtp:
        kind = str(body.get("type") or "")
        token_hash = str(body.get("token_hash") or "")
        if token_hash:
            otp = self.otps.get(token_hash)
        else:
            email = str(body.get("email") or "").lower()
            token = str(body.get("token") or "")
            otp = next(
                (o for o in self.otps.values() if o.otp == token and self._otp_email(o) == email),
                None,
            )
        fresh = otp is not None and (_now() - otp.created_at).total_seconds() < self.config.otp_exp
        if (
            otp is None
            or otp.used
            or not fresh
            or otp.type != kind
            or otp.user_id not in self.users
        ):
            raise ApiError(403, "otp_expired", "Email link is invalid or has expired")
        otp.used = True
        return otp

    def _otp_email(self, otp: FakeOtp) -> str:
        user = self.users.get(otp.user_id)
        return otp.new_email or (user.email if user else "")

    def verify(self, request: Request, body: dict) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
            otp = self._consume_otp({"type": params.get("type"), "token_hash": params.get("token")})
            tokens = self._apply_otp(otp)
            target = params.get("redirect_to") or self.config.site_url
            fragment = urlencode(
                {
                    "access_token": tokens["access_token"],
                    "refresh_token": tokens["refresh_token"],
                    "expires_in": tokens["expires_in"],
                    "token_type": "bearer",
                    "type": otp.type,
                }
            )
            return RedirectResponse(f"{target}#{fragment}", status_code=302)
        otp = self._consume_otp(body)
        return self._json(self._apply_otp(otp))

    def _apply_otp(self, otp: FakeOtp) -> dict[str, Any]:
        user = self.users[otp.user_id]
        if otp.type == "email_change" and otp.new_email:
            user.email = otp.new_email
            user.new_email = None
        if user.email_confirmed_at is None:
            user.email_confirmed_at = _now()
        user.updated_at = _now()
        session = self._new_session(user, "recovery" if otp.type == "recovery" else "otp")
        return self._token_response(user, session)

    def user(self, request: Request, body: dict) -> Response:
        user, session = self._user_auth(request)
        if request.method == "GET":
            return self._json(self.user_json(user))
        if "app_metadata" in body:
            raise ApiError(403, "not_admin", "Updating app_metadata requires admin privileges")
        sensitive = body.get("password") is not None or body.get("email") is not None
        if sensitive and self._verified_factors(user.id) and session.aal != "aal2":
            raise ApiError(
                401,
                "insufficient_aal",
                "AAL2 session is required to update email or password when MFA is enabled.",
            )
        if body.get("password") is not None:
            password = str(body["password"])
            if _hash_password(password, user.salt) == user.password_hash:
                raise ApiError(
                    422, "same_password", "New password should be different from the old password."
                )
            self._check_new_password(password)
            user.salt = secrets.token_hex(8)
            user.password_hash = _hash_password(password, user.salt)
            self._end_sessions(user.id, keep=session.id)  # GoTrue: other sessions end
        if body.get("email") is not None:
            email = str(body["email"]).strip().lower()
            if not EMAIL_RE.match(email):
                raise ApiError(400, "email_address_invalid", "Unable to validate email address")
            other = self.user_by_email(email)
            if other is not None and other.id != user.id:
                raise ApiError(
                    422,
                    "email_exists",
                    "A user with this email address has already been registered",
                )
            if email != user.email:
                if self.config.mailer_autoconfirm:
                    user.email = email
                else:
                    user.new_email = email
                    user.email_change_sent_at = _now()
                    otp = self._new_otp(user, "email_change", new_email=email)
                    self.outbox.append(
                        {"to": email, "type": "email_change", "token_hash": otp.token_hash}
                    )
        if isinstance(body.get("data"), dict):
            user.user_metadata.update(body["data"])
        user.updated_at = _now()
        return self._json(self.user_json(user))

    def reauthenticate(self, request: Request, body: dict) -> Response:
        user, _ = self._user_auth(request)
        user.reauth_nonce = f"{secrets.randbelow(10**6):06d}"
        user.reauthentication_sent_at = _now()
        self.outbox.append(
            {"to": user.email, "type": "reauthentication", "token": user.reauth_nonce}
        )
        return self._json({})

    # MFA ---------------------------------------------------------------------------------
    def enroll(self, request: Request, body: dict) -> Response:
        user, session = self._user_auth(request)
        if body.get("factor_type") != "totp":
            raise ApiError(
                422, "mfa_phone_enroll_not_enabled", "MFA enroll is disabled for this factor type"
            )
        name = str(body.get("friendly_name") or "")
        mine = [f for f in self.factors.values() if f.user_id == user.id]
        if name and any(f.friendly_name == name for f in mine):
            raise ApiError(
                422,
                "mfa_factor_name_conflict",
                f'A factor with the friendly name "{name}" for this user already exists',
            )
        if len(mine) >= self.config.max_factors:
            raise ApiError(
                422,
                "too_many_enrolled_mfa_factors",
                "Maximum number of verified factors reached, unenroll to continue",
            )
        if any(f.status == "verified" for f in mine) and session.aal != "aal2":
            raise ApiError(403, "insufficient_aal", "AAL2 required to enroll a new factor")
        issuer = str(body.get("issuer") or urlparse(self.config.site_url).hostname or "")
        secret = pyotp.random_base32()
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
        factor = FakeFactor(str(uuid.uuid4()), user.id, name, secret)
        self.factors[factor.id] = factor
        # GoTrue's SVG (svgo) starts with an XML declaration and a comment.
        svg = '<?xml version="1.0"?>\n<!-- Generated by SVGo -->\n' + segno.make(
            uri, error="h"
        ).svg_inline(scale=3)
        return self._json(
            {
                "id": factor.id,
                "type": "totp",
                "friendly_name": name,
                "totp": {"qr_code": svg, "secret": secret, "uri": uri},
            }
        )

    def _own_factor(self, user: FakeUser, factor_id: str) -> FakeFactor:
        factor = self.factors.get(factor_id)
        if factor is None or factor.user_id != user.id:
            raise ApiError(404, "mfa_factor_not_found", "Factor not found")
        return factor

    def challenge(self, request: Request, body: dict) -> Response:
        user, _ = self._user_auth(request)
        factor = self._own_factor(user, request.path_params["factor_id"])
        challenge = FakeChallenge(str(uuid.uuid4()), factor.id, request.client.host)
        self.challenges[challenge.id] = challenge
        factor.last_challenged_at = _now()
        expires = int(challenge.created_at.timestamp()) + self.config.challenge_expiry
        return self._json({"id": challenge.id, "type": "totp", "expires_at": expires})

    def verify_factor(self, request: Request, body: dict) -> Response:
        user, session = self._user_auth(request)
        factor = self._own_factor(user, request.path_params["factor_id"])
        challenge = self.challenges.get(str(body.get("challenge_id") or ""))
        if challenge is None or challenge.factor_id != factor.id:
            raise ApiError(
                422,
                "mfa_factor_not_found",
                "MFA factor with the provided challenge ID not found",
            )
        if challenge.verified_at is not None or challenge.ip != request.client.host:
            raise ApiError(
                422, "mfa_ip_address_mismatch", "Challenge and verify IP addresses mismatch."
            )
        age = (_now() - challenge.created_at).total_seconds()
        if age > self.config.challenge_expiry:
            del self.challenges[challenge.id]
            raise ApiError(
                422,
                "mfa_challenge_expired",
                f"MFA challenge {challenge.id} has expired, verify against another challenge "
                "or create a new challenge.",
            )
        if not pyotp.TOTP(factor.secret).verify(str(body.get("code") or ""), valid_window=1):
            raise ApiError(422, "mfa_verification_failed", "Invalid TOTP code entered")
        challenge.verified_at = _now()
        factor.status = "verified"
        factor.updated_at = _now()
        session.aal = "aal2"
        session.amr = [{"method": "totp", "timestamp": int(time.time())}, *session.amr]
        for token in [t for t, r in self.refresh_tokens.items() if r.session_id == session.id]:
            self.refresh_tokens[token].revoked = True
        for other in [s for s in self.sessions_of(user.id) if s.id != session.id]:
            if other.aal != "aal2":
                self._end_session(other.id)  # InvalidateSessionsWithAALLessThan
        for f in [f for f in self.factors.values() if f.user_id == user.id]:
            if f.status == "unverified":
                del self.factors[f.id]
        return self._json(self._token_response(user, session))

    def _downgrade(self, user_id: str) -> None:
        for s in self.sessions_of(user_id):
            s.aal = "aal1"
            s.amr = [a for a in s.amr if a["method"] != "totp"]

    def unenroll(self, request: Request, body: dict) -> Response:
        user, session = self._user_auth(request)
        factor = self._own_factor(user, request.path_params["factor_id"])
        if factor.status == "verified" and session.aal != "aal2":
            raise ApiError(403, "insufficient_aal", "AAL2 required to unenroll verified factor")
        del self.factors[factor.id]
        if factor.status == "verified":
            self._downgrade(user.id)
        return self._json({"id": factor.id})

    # Admin -------------------------------------------------------------------------------
    def _target(self, request: Request) -> FakeUser:
        user = self.users.get(request.path_params["user_id"])
        if user is None:
            raise ApiError(404, "user_not_found", "User not found")
        return user

    def _apply_admin_attributes(self, user: FakeUser, body: dict) -> None:
        if isinstance(body.get("app_metadata"), dict):
            user.app_metadata.update(body["app_metadata"])  # GoTrue merges top-level keys
        if isinstance(body.get("user_metadata"), dict):
            user.user_metadata.update(body["user_metadata"])
        if body.get("email"):
            email = str(body["email"]).strip().lower()
            other = self.user_by_email(email)
            if other is not None and other.id != user.id:
                raise ApiError(
                    422,
                    "email_exists",
                    "A user with this email address has already been registered",
                )
            user.email = email
        if body.get("password"):
            self._check_new_password(str(body["password"]))
            user.salt = secrets.token_hex(8)
            user.password_hash = _hash_password(str(body["password"]), user.salt)
        if body.get("email_confirm") and user.email_confirmed_at is None:
            user.email_confirmed_at = _now()
        if body.get("ban_duration"):
            duration = str(body["ban_duration"])
            if duration == "none":
                user.banned_until = None
            else:
                try:
                    user.banned_until = _now() + _parse_duration(duration)
                except ValueError:
                    raise ApiError(
                        400, "validation_failed", "invalid format for ban duration"
                    ) from None
        if body.get("role"):
            user.role = str(body["role"])
        user.updated_at = _now()

    def admin_users(self, request: Request, body: dict) -> Response:
        self._admin_auth(request)
        if request.method == "POST":
            email = str(body.get("email") or "").strip().lower()
            if not EMAIL_RE.match(email):
                raise ApiError(400, "email_address_invalid", "Unable to validate email address")
            if self.user_by_email(email) is not None:
                raise ApiError(
                    422,
                    "email_exists",
                    "A user with this email address has already been registered",
                )
            if body.get("password"):
                self._check_new_password(str(body["password"]))
            user = self.create_user(
                email,
                str(body.get("password") or ""),
                confirmed=bool(body.get("email_confirm")),
                user_id=str(body["id"]) if body.get("id") else None,
            )
            self._apply_admin_attributes(user, {k: v for k, v in body.items() if k != "password"})
            return self._json(self.user_json(user))
        try:
            page = max(1, int(request.query_params.get("page") or 1))
            per_page = max(1, int(request.query_params.get("per_page") or 50))
        except ValueError:
            raise ApiError(400, "validation_failed", "Bad pagination parameters") from None
        users = sorted(self.users.values(), key=lambda u: u.created_at)
        chunk = users[(page - 1) * per_page : page * per_page]
        return self._json(
            {"aud": "authenticated", "users": [self.user_json(u) for u in chunk]},
            headers={"X-Total-Count": str(len(users))},
        )

    def admin_user(self, request: Request, body: dict) -> Response:
        self._admin_auth(request)
        user = self._target(request)
        if request.method == "GET":
            return self._json(self.user_json(user))
        if request.method == "DELETE":
            self._end_sessions(user.id)
            for f in [f for f in self.factors.values() if f.user_id == user.id]:
                del self.factors[f.id]
            del self.users[user.id]
            return self._json({})
        self._apply_admin_attributes(user, body)
        return self._json(self.user_json(user))

    def admin_factors(self, request: Request, body: dict) -> Response:
        self._admin_auth(request)
        user = self._target(request)
        return self._json(
            [self.factor_json(f) for f in self.factors.values() if f.user_id == user.id]
        )

    def admin_factor(self, request: Request, body: dict) -> Response:
        self._admin_auth(request)
        user = self._target(request)
        factor = self._own_factor(user, request.path_params["factor_id"])
        if request.method == "PUT":
            if isinstance(body.get("friendly_name"), str):
                factor.friendly_name = body["friendly_name"]
                factor.updated_at = _now()
            return self._json(self.factor_json(factor))
        del self.factors[factor.id]
        self._downgrade(user.id)  # DowngradeSessionsToAAL1
        return self._json(self.factor_json(factor))

    def generate_link(self, request: Request, body: dict) -> Response:
        self._admin_auth(request)
        kind = str(body.get("type") or "")
        email = str(body.get("email") or "").strip().lower()
        user = self.user_by_email(email)
        if kind == "signup":
            if user is not None:
                raise ApiError(
                    422,
                    "email_exists",
                    "A user with this email address has already been registered",
                )
            self._check_new_password(str(body.get("password") or ""))
            user = self.create_user(email, str(body["password"]), confirmed=False)
        elif kind not in (
            "recovery",
            "magiclink",
            "invite",
            "email_change_current",
            "email_change_new",
        ):
            raise ApiError(400, "validation_failed", "Invalid link type")
        if user is None:
            raise ApiError(404, "user_not_found", "User with this email not found")
        verification = {"email_change_current": "email_change", "email_change_new": "email_change"}
        otp_type = verification.get(kind, kind)
        new_email = str(body.get("new_email") or "").lower() or None
        otp = self._new_otp(
            user, otp_type, new_email=new_email if otp_type == "email_change" else None
        )
        redirect_to = request.query_params.get("redirect_to") or self.config.site_url
        action = (
            f"{self.issuer}/verify?token={otp.token_hash}&type={otp_type}"
            f"&redirect_to={quote(redirect_to, safe='')}"
        )
        return self._json(
            {
                **self.user_json(user),
                "action_link": action,
                "email_otp": otp.otp,
                "hashed_token": otp.token_hash,
                "verification_type": otp_type,
                "redirect_to": redirect_to,
            }
        )


def main(argv: list[str] | None = None) -> None:
    """Serve the fake for multi-process tests (e.g. a browser e2e run of the app).

    ``python -m tests.fakes.supabase_auth --port 54321`` prints the settings to point the
    app at it (one JSON line: SUPABASE_URL, keys, JWT secret; test values only), then serves
    until interrupted. ``FAKE_SUPABASE_JWT_SECRET`` fixes the secret (and so the keys).
    """
    import argparse
    import os

    import uvicorn

    from tests.fakes.spec import ContractRecorder

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=54321)
    args = parser.parse_args(argv)
    fake = FakeSupabaseAuth(jwt_secret=os.environ.get("FAKE_SUPABASE_JWT_SECRET") or None)
    fake.base_url = f"http://{args.host}:{args.port}"
    settings = {
        "SUPABASE_URL": fake.base_url,
        "SUPABASE_ANON_KEY": fake.anon_key,
        "SUPABASE_SERVICE_ROLE_KEY": fake.service_role_key,
        "SUPABASE_JWT_SECRET": fake.jwt_secret,
    }
    print(json.dumps(settings), flush=True)
    uvicorn.run(ContractRecorder(fake.app), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
