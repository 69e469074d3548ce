"""The accounts interface the UI talks to; which implementation runs is a setting.

Shaped like supabase-py's auth API so :class:`~nexus.auth.local.LocalBackend` (default) and
:class:`~nexus.auth.supabase.SupabaseBackend` are interchangeable. Every method that acts
for a signed-in user takes that :class:`Actor` and checks permissions itself (the UI hiding
a button is not a check). Errors are :class:`~nexus.auth.errors.AuthError` subclasses whose
message can be shown as is; none reveals whether an e-mail address has an account.

The browser only ever holds an opaque session token (HttpOnly cookie). App sessions live in
the app database for both backends, so sessions can be listed and revoked everywhere.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from nexus.auth.models import (
    ActiveSession,
    Actor,
    AuditEntry,
    MfaRequired,
    MfaStatus,
    SessionInfo,
    SignIn,
    TotpEnrollment,
    UserInfo,
)
from nexus.settings import Settings


class AuthBackend(Protocol):
    # Accounts ------------------------------------------------------------------------
    def sign_up(self, email: str, password: str, *, display_name: str = "") -> Actor:
        """Create an account (the installation's first is admin); ``RegistrationError``."""

    def sign_in_with_password(
        self, email: str, password: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn | MfaRequired:
        """Check credentials (throttled per account and per IP). With 2FA enrolled, return
        :class:`MfaRequired` instead of a session. ``InvalidCredentials`` / ``Throttled``."""

    def verify_mfa(
        self, challenge: str, code: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn:
        """Finish a 2FA sign-in with a TOTP code or a recovery code (session aal2)."""

    def sign_out(self, session_id: uuid.UUID, *, ip: str = "") -> None:
        """End the session now (a copied cookie stops working)."""

    # Browser sessions ----------------------------------------------------------------
    def redeem_ticket(self, ticket: str) -> str | None:
        """Exchange a sign-in ticket for the long-lived browser token, once."""

    def session_from_token(self, token: str) -> ActiveSession | None: ...

    def session_from_id(self, session_id: uuid.UUID) -> ActiveSession | None: ...

    def revoke_token(self, token: str) -> None: ...

    def list_sessions(self, actor: Actor, *, current: uuid.UUID | None = None) -> list[SessionInfo]:
        """The actor's live sessions, newest first; ``current`` is flagged."""

    def revoke_session(self, actor: Actor, session_id: uuid.UUID, *, ip: str = "") -> None:
        """Revoke one of the actor's own sessions (``NotFound``-like refusal otherwise)."""

    def revoke_other_sessions(self, actor: Actor, keep: uuid.UUID, *, ip: str = "") -> int:
        """Revoke every session of the actor except ``keep``; return how many."""

    def access_token(self, active: ActiveSession) -> str:
        """A short-lived JWT with Supabase-compatible claims for this session."""

    # Passwords and e-mail ------------------------------------------------------------
    def request_password_reset(self, email: str, *, ip: str = "", link_base: str = "") -> None:
        """Send a single-use reset link if the account exists; same reply either way."""

    def reset_password(self, token: str, new_password: str, *, ip: str = "") -> None:
        """Set a new password with a reset token (refused when used or expired); signs out
        every session of the account."""

    def change_password(
        self, actor: Actor, current_password: str, new_password: str, *, keep: uuid.UUID | None
    ) -> None:
        """Needs the current password; other sessions are signed out."""

    def change_email(self, actor: Actor, current_password: str, new_email: str) -> Actor:
        """Needs the current password; returns the updated actor."""

    # Two-factor authentication -------------------------------------------------------
    def mfa_status(self, actor: Actor) -> MfaStatus: ...

    def mfa_enroll(self, actor: Actor) -> TotpEnrollment:
        """Start enrolment: a new unverified factor (replacing an unverified one)."""

    def mfa_confirm(self, actor: Actor, factor_id: uuid.UUID, code: str) -> list[str]:
        """Verify the first code; the factor takes effect. Returns 10 recovery codes, shown
        once and stored hashed."""

    def mfa_disable(self, actor: Actor, password: str, code: str) -> None:
        """Needs the password and a current code (or a recovery code)."""

    # Administration (admin role) -----------------------------------------------------
    def list_users(self, actor: Actor) -> list[UserInfo]: ...

    def set_role(self, actor: Actor, user_id: uuid.UUID, role: str) -> None:
        """Change a user's role; the last admin cannot be demoted."""

    def set_disabled(self, actor: Actor, user_id: uuid.UUID, disabled: bool) -> None:
        """Disable (and sign out) or re-enable an account; admins cannot disable themselves."""

    def audit_log(self, actor: Actor, *, limit: int = 200) -> list[AuditEntry]: ...


def get_backend(settings: Settings) -> AuthBackend:
    """The backend named by ``NEXUS_AUTH_BACKEND``."""
    from nexus.db.engine import get_engine

    engine = get_engine(settings)
    if settings.auth_backend == "supabase":
        from nexus.auth.supabase import SupabaseBackend

        return SupabaseBackend(engine, settings)
    from nexus.auth.local import LocalBackend

    return LocalBackend(engine, settings)
