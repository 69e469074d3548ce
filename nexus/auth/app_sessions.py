"""Browser-session methods shared by every backend: app sessions live in the app database
whichever backend checks the passwords, so these are the same for all of them."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine

from nexus.auth import sessions
from nexus.auth.models import ActiveSession, Actor, SessionInfo
from nexus.settings import Settings


class AppSessions:
    engine: Engine
    settings: Settings

    def redeem_ticket(self, ticket: str) -> str | None:
        return sessions.redeem_ticket(self.engine, self.settings, ticket)

    def session_from_token(self, token: str) -> ActiveSession | None:
        return sessions.resolve_token(self.engine, self.settings, token)

    def session_from_id(self, session_id: uuid.UUID) -> ActiveSession | None:
        return sessions.resolve_session(self.engine, self.settings, session_id)

    def list_sessions(self, actor: Actor, *, current: uuid.UUID | None = None) -> list[SessionInfo]:
        return sessions.list_sessions(self.engine, self.settings, actor.user_id, current=current)
