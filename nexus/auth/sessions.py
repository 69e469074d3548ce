"""Server-side sessions referenced by an opaque random token.

The browser holds a 256-bit random token (HttpOnly cookie); the database stores only its
HMAC-SHA256 under ``NEXUS_SECRET_KEY``, so a copy of the sessions table alone cannot even be
matched against stolen cookies. A session ends at sign-out (revoked), after
``session_idle_minutes`` without use, or ``session_max_hours`` after it started, whichever
comes first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from nexus.auth.models import ActiveSession, Actor, SessionInfo
from nexus.db.schema import Session, User
from nexus.settings import Settings

TICKET_TTL = timedelta(minutes=2)
# Writing last_seen on every rerun would turn every click into a write; a minute is precise
# enough for an idle timeout measured in tens of minutes.
TOUCH_EVERY = timedelta(seconds=60)


def token_hash(settings: Settings, token: str) -> str:
    return hmac.new(settings.signing_key(), token.encode(), hashlib.sha256).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def start_session(
    engine: Engine,
    settings: Settings,
    user_id: uuid.UUID,
    *,
    ip: str = "",
    user_agent: str = "",
    aal: str = "aal1",
    provider_token_enc: str | None = None,
) -> tuple[uuid.UUID, str]:
    """Create a session; return its id and a one-time ticket for the cookie route."""
    ticket = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            Session.__table__.insert().values(
                id=session_id,
                user_id=user_id,
                ticket_hash=token_hash(settings, ticket),
                ticket_expires_at=now + TICKET_TTL,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=settings.session_max_hours),
                user_agent=user_agent[:300],
                ip=ip[:64],
                aal=aal,
                provider_token_enc=provider_token_enc,
            )
        )
    return session_id, ticket


def redeem_ticket(engine: Engine, settings: Settings, ticket: str) -> str | None:
    """Exchange a one-time ticket for the session token (``None`` if invalid or used)."""
    if not ticket or len(ticket) > 100:
        return None
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        result = conn.execute(
            update(Session)
            .where(
                Session.ticket_hash == token_hash(settings, ticket),
                Session.ticket_expires_at > now,
                Session.token_hash.is_(None),
                Session.revoked_at.is_(None),
            )
            .values(
                token_hash=token_hash(settings, token), ticket_hash=None, ticket_expires_at=None
            )
        )
    return token if result.rowcount == 1 else None


def _resolve(engine: Engine, settings: Settings, where) -> ActiveSession | None:
    now = datetime.now(UTC)
    with engine.connect() as conn:
        sess = conn.execute(
            select(Session.__table__, User.email, User.role, User.display_name, User.disabled_at)
            .join(User, User.id == Session.user_id)
            .where(where)
        ).first()
    if sess is None:
        return None
    last_seen = _aware(sess.last_seen_at)
    if (
        sess.revoked_at is not None
        or sess.disabled_at is not None
        or now >= _aware(sess.expires_at)
        or now - last_seen > timedelta(minutes=settings.session_idle_minutes)
    ):
        return None
    if now - last_seen > TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(update(Session).where(Session.id == sess.id).values(last_seen_at=now))
    actor = Actor(sess.user_id, sess.email, sess.role, sess.display_name)
    return ActiveSession(actor=actor, session_id=sess.id, aal=sess.aal)


def resolve_token(engine: Engine, settings: Settings, token: str) -> ActiveSession | None:
    """The live session a browser token refers to, or ``None``."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    return _resolve(engine, settings, Session.token_hash == token_hash(settings, token))


def resolve_session(
    engine: Engine, settings: Settings, session_id: uuid.UUID
) -> ActiveSession | None:
    """The live session with this id, or ``None`` once revoked or expired."""
    return _resolve(engine, settings, Session.id == session_id)


def revoke_session(engine: Engine, session_id: uuid.UUID) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(Session)
            .where(Session.id == session_id, Session.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), ticket_hash=None)
        )
    return result.rowcount == 1


def revoke_token(engine: Engine, settings: Settings, token: str) -> bool:
    """Revoke the session a browser token refers to (used by the sign-out route)."""
    if not token or len(token) > 100:
        return False
    with engine.begin() as conn:
        result = conn.execute(
            update(Session)
            .where(Session.token_hash == token_hash(settings, token), Session.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return result.rowcount == 1


def list_sessions(
    engine: Engine, settings: Settings, user_id: uuid.UUID, *, current: uuid.UUID | None = None
) -> list[SessionInfo]:
    """Live sessions of one user (revoked and expired ones left out), newest first."""
    now = datetime.now(UTC)
    idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Session.__table__)
            .where(
                Session.user_id == user_id,
                Session.revoked_at.is_(None),
                Session.token_hash.is_not(None) | (Session.id == current),
                Session.expires_at > now,
                Session.last_seen_at > idle_cutoff,
            )
            .order_by(Session.last_seen_at.desc())
        ).all()
    return [
        SessionInfo(
            id=r.id,
            created_at=_aware(r.created_at),
            last_seen_at=_aware(r.last_seen_at),
            user_agent=r.user_agent,
            ip=r.ip,
            aal=r.aal,
            current=r.id == current,
        )
        for r in rows
    ]


def revoke_user_sessions(
    engine: Engine,
    user_id: uuid.UUID,
    *,
    keep: uuid.UUID | None = None,
    only: uuid.UUID | None = None,
) -> int:
    """Revoke a user's sessions: all, all but ``keep``, or only the id ``only``."""
    stmt = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(Session.id != keep)
    if only is not None:
        stmt = stmt.where(Session.id == only)
    with engine.begin() as conn:
        result = conn.execute(stmt.values(revoked_at=datetime.now(UTC), ticket_hash=None))
    return result.rowcount
