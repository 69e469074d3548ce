"""The accounts interface the UI talks to; which implementation runs is a setting."""

from __future__ import annotations

import uuid
from typing import Protocol

from nexus.auth.models import ActiveSession, Actor, SignIn
from nexus.settings import Settings


class AuthBackend(Protocol):
    """Shaped like supabase-py's auth API so a Supabase backend can slot in."""

    def sign_up(self, email: str, password: str, *, display_name: str = "") -> Actor:
        """Create an account; raise ``RegistrationError`` with a user-facing reason."""

    def sign_in_with_password(
        self, email: str, password: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn:
        """Check credentials and start a session; raise ``InvalidCredentials``."""

    def sign_out(self, session_id: uuid.UUID, *, ip: str = "") -> None:
        """End the session now (a copied cookie stops working)."""

    def redeem_ticket(self, ticket: str) -> str | None:
        """Exchange a sign-in ticket for the long-lived browser token, once."""

    def session_from_token(self, token: str) -> ActiveSession | None: ...

    def session_from_id(self, session_id: uuid.UUID) -> ActiveSession | None: ...

    def revoke_token(self, token: str) -> None: ...


def get_backend(settings: Settings) -> AuthBackend:
    """The backend named by ``NEXUS_AUTH_BACKEND``."""
    from nexus.auth.local import LocalBackend
    from nexus.db.engine import get_engine

    return LocalBackend(get_engine(settings), settings)
