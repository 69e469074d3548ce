"""Run a database transaction as the signed-in user, so Postgres row-level security applies.

On Postgres each transaction first stores the actor's claims transaction-locally
(``request.jwt.claims``, read by ``auth.uid()`` / ``auth.jwt()``) and switches to the
``authenticated`` role (PostgREST's recipe). Both revert at COMMIT or ROLLBACK, so a pooled
connection goes back to the pool as the connecting role with no claims. The policies are
created by migration 0003.

SQLite has no row-level security: there the repository's explicit owner filters are the
only wall, and these helpers just open the transaction.

Security: never pass an :class:`Actor` built from unverified input. The actor comes from a
resolved session (or a verified access token), exactly as for the owner filters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from nexus.auth.models import Actor
from nexus.auth.tokens import claims_for

DB_ROLE = "authenticated"


def _act_as(conn: Connection, actor: Actor, session_id: uuid.UUID | None, aal: str) -> None:
    if conn.dialect.name != "postgresql":
        return
    claims = json.dumps(claims_for(actor, session_id, aal))
    conn.execute(text("SELECT set_config('request.jwt.claims', :claims, true)"), {"claims": claims})
    conn.execute(text(f"SET LOCAL ROLE {DB_ROLE}"))


@contextmanager
def user_transaction(
    engine: Engine,
    actor: Actor,
    *,
    session_id: uuid.UUID | None = None,
    aal: str = "aal1",
) -> Iterator[Connection]:
    """``engine.begin()`` as ``actor``: commits on success, rolls back on an exception."""
    with engine.begin() as conn:
        _act_as(conn, actor, session_id, aal)
        yield conn


@contextmanager
def user_connection(
    engine: Engine,
    actor: Actor,
    *,
    session_id: uuid.UUID | None = None,
    aal: str = "aal1",
) -> Iterator[Connection]:
    """A read-only transaction as ``actor``; always rolled back at the end.

    On Postgres the transaction is declared READ ONLY, so a read path cannot write even
    by mistake.
    """
    with engine.connect() as conn, conn.begin() as trans:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION READ ONLY"))
        _act_as(conn, actor, session_id, aal)
        try:
            yield conn
        finally:
            trans.rollback()
