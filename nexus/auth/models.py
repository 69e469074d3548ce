"""Value objects of the accounts layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

ROLES = ("admin", "analyst", "viewer")


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in user on whose behalf a library call acts (used to scope every query)."""

    user_id: uuid.UUID
    email: str
    role: str = "analyst"
    display_name: str = ""

    @property
    def can_write(self) -> bool:
        """Viewers may read only; analysts and admins may change their records."""
        return self.role in ("admin", "analyst")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class SignIn:
    """Result of a successful sign-in.

    ``ticket`` is a one-time secret that the browser exchanges (within two minutes) at the
    cookie route for the long-lived session token; it is never stored in clear.
    """

    actor: Actor
    session_id: uuid.UUID
    ticket: str


@dataclass(frozen=True, slots=True)
class ActiveSession:
    actor: Actor
    session_id: uuid.UUID
