"""Audit log of security events (no secrets in ``detail``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert

from nexus.db.schema import AuditEvent


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
