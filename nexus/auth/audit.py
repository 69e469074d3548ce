"""Audit log of security events (no secrets in ``detail``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from nexus.auth.models import AuditEntry
from nexus.db.schema import AuditEvent, User


def record(
    conn: Connection,
    event: str,
    *,
    user_id: uuid.UUID | None = None,
    ip: str = "",
    **detail: Any,
) -> None:
    """Append one audit event inside the caller's transaction."""
    conn.execute(insert(AuditEvent).values(event=event, user_id=user_id, ip=ip[:64], detail=detail))


def read_log(engine: Engine, *, limit: int = 200) -> list[AuditEntry]:
    """The most recent events, newest first, with the acting user's e-mail where known.
    Callers check that the reader is an admin."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEvent.__table__, User.email)
            .outerjoin(User, User.id == AuditEvent.user_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        ).all()
    return [
        AuditEntry(
            at=r.at,
            event=r.event,
            user_id=r.user_id,
            email=r.email,
            ip=r.ip,
            detail=r.detail or {},
        )
        for r in rows
    ]
