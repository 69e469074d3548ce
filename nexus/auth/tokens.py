"""Short-lived access tokens (JWT, HS256) with Supabase's claim set.

The browser never holds these: it holds an opaque session token (see ``sessions.py``).
An access token carries who acts, in which session and at which assurance level, for
code that wants a verified, self-contained statement of that (and the same claims feed
Postgres row-level security, see ``nexus.db.rls``).

- :func:`mint_access_token` signs internal tokens with ``Settings.signing_key()``.
- :func:`verify_access_token` checks signature (HS256 only), ``exp``, ``aud``, ``iss``,
  that ``sub`` and ``session_id`` are UUIDs and ``role`` is "authenticated"; every failure
  is one :class:`InvalidToken`.
  With ``NEXUS_AUTH_BACKEND=supabase`` and ``SUPABASE_JWT_SECRET`` set, it verifies
  Supabase-issued tokens by default (that secret, issuer ``<SUPABASE_URL>/auth/v1``).
- :func:`claims_for` builds the unsigned claim dict (identity part) for an actor.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from nexus.auth.errors import InvalidToken
from nexus.auth.models import ActiveSession, Actor
from nexus.settings import Settings

ISSUER = "portfolio-nexus"
AUDIENCE = "authenticated"
ROLE = "authenticated"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "aud", "iss", "sub", "session_id")
AALS = ("aal1", "aal2")


def _timestamp(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(moment.timestamp())


def _amr(aal: str, at: int) -> list[dict[str, Any]]:
    """Authentication methods, newest first, as Supabase reports them."""
    methods = [{"method": "password", "timestamp": at}]
    if aal == "aal2":
        methods.insert(0, {"method": "totp", "timestamp": at})
    return methods


def claims_for(
    actor: Actor,
    session_id: uuid.UUID | str | None = None,
    aal: str = "aal1",
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The identity claims of ``actor`` (no ``iat``/``exp``/``jti``), unsigned.

    Used as ``request.jwt.claims`` for row-level security and as the body of minted
    tokens. ``session_id`` is left out when unknown. Roles live in ``app_metadata``
    (never ``user_metadata``, which users can write on Supabase).
    """
    if aal not in AALS:
        raise ValueError(f"aal must be one of {AALS}")
    at = _timestamp(now or datetime.now(UTC))
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(actor.user_id),
        "role": ROLE,
        "aal": aal,
        "amr": _amr(aal, at),
        "email": actor.email,
        "phone": "",
        "is_anonymous": False,
        "app_metadata": {"roles": [actor.role], "provider": "email"},
    }
    if session_id is not None:
        claims["session_id"] = str(session_id)
    return claims


def mint_access_token(
    settings: Settings, active: ActiveSession, *, now: datetime | None = None
) -> str:
    """A signed access token for ``active``, valid ``access_token_minutes`` from ``now``."""
    now = now or datetime.now(UTC)
    iat = _timestamp(now)
    claims = claims_for(active.actor, active.session_id, active.aal, now=now)
    claims.update(
        iat=iat,
        exp=_timestamp(now + timedelta(minutes=settings.access_token_minutes)),
        jti=str(uuid.uuid4()),
    )
    return jwt.encode(claims, settings.signing_key(), algorithm=ALGORITHM)


def supabase_issuer(settings: Settings) -> str:
    """The ``iss`` of tokens issued by the configured Supabase project."""
    return f"{settings.supabase_url}/auth/v1"


def _default_key_and_issuer(settings: Settings) -> tuple[bytes, str]:
    secret = settings.supabase_jwt_secret.get_secret_value()
    if settings.auth_backend == "supabase" and secret:
        return secret.encode(), supabase_issuer(settings)
    return settings.signing_key(), ISSUER


def verify_access_token(
    settings: Settings,
    token: str,
    *,
    key: str | bytes | None = None,
    issuer: str | None = None,
) -> dict[str, Any]:
    """Verified claims of ``token``, or :class:`InvalidToken` (one generic message).

    Without ``key``: the Supabase JWT secret (and Supabase issuer) when the backend is
    ``supabase`` and the secret is set, else the internal signing key and issuer. With an
    explicit ``key`` the issuer defaults to the internal one; ``issuer`` overrides it.
    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens are refused.
    """
    if key is None:
        key, default_issuer = _default_key_and_issuer(settings)
    else:
        default_issuer = ISSUER
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer or default_issuer,
            options={"require": list(REQUIRED_CLAIMS)},
        )
        # Identity claims must be well formed: both feed auth.uid() / session checks.
        uuid.UUID(str(claims["sub"]))
        uuid.UUID(str(claims["session_id"]))
        if claims.get("role") != ROLE:
            raise ValueError("not a user token")
        if claims.get("aal", "aal1") not in AALS:
            raise ValueError("unknown assurance level")
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
        raise InvalidToken() from None
    return claims
