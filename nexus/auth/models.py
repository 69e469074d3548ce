"""Value objects of the accounts layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

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
    """A live session and its user; ``aal`` is "aal2" after a second factor."""

    actor: Actor
    session_id: uuid.UUID
    aal: str = "aal1"


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The password was right and the account has 2FA: a code is needed to finish.

    ``challenge`` is opaque, short-lived and kept server-side (``st.session_state``); it is
    handed back to :meth:`AuthBackend.verify_mfa` with the code.
    """

    email: str
    challenge: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TotpEnrollment:
    """A new, not yet confirmed authenticator: show ``qr_svg`` and ``secret`` once."""

    factor_id: uuid.UUID
    secret: str
    uri: str
    qr_svg: str  # an SVG document (data URI friendly), never user text


@dataclass(frozen=True, slots=True)
class MfaStatus:
    enabled: bool
    factor_id: uuid.UUID | None = None
    recovery_codes_left: int = 0


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    ip: str
    aal: str
    current: bool = False


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: uuid.UUID
    email: str
    role: str
    display_name: str
    created_at: datetime
    last_sign_in_at: datetime | None
    disabled: bool
    mfa_enabled: bool


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    event: str
    user_id: uuid.UUID | None
    email: str | None
    ip: str
    detail: dict
