"""Local accounts: users in the app database, argon2id passwords, TOTP, server-side sessions.

Implements :class:`~nexus.auth.backend.AuthBackend`. Failed sign-ins and 2FA codes are
throttled per account and per client IP (:mod:`nexus.auth.throttle`); unknown accounts
cost one argon2 verification like known ones; messages never say which part was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from nexus.auth import mfa, sessions
from nexus.auth.app_sessions import AppSessions
from nexus.auth.audit import read_log, record
from nexus.auth.errors import (
    AuthError,
    InvalidCredentials,
    PermissionDenied,
    RegistrationError,
    Throttled,
)
from nexus.auth.mail import send_mail
from nexus.auth.models import (
    ROLES,
    ActiveSession,
    Actor,
    AuditEntry,
    MfaRequired,
    MfaStatus,
    SignIn,
    TotpEnrollment,
    UserInfo,
)
from nexus.auth.passwords import (
    PasswordRejected,
    check_password_policy,
    hash_password,
    verify_password,
)
from nexus.auth.throttle import Throttle
from nexus.db.schema import MfaFactor, PasswordResetToken, User, UserPreferences
from nexus.settings import Settings

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is proven by
# mail, not by regex.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MFA_CHALLENGE_TTL = timedelta(minutes=5)
RESET_TTL = timedelta(minutes=30)
BAD_CODE = "That code is not valid. Enter the current code from your authenticator app."
BAD_RESET = "This reset link is invalid or has expired. Request a new one."


def _ip_key(ip: str) -> str | None:
    """Throttle key of the client address; None (no IP throttling) when it is unknown, so
    requests without an address never share one counter that anybody could exhaust."""
    return f"ip:{ip}" if ip else None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_email(email: str) -> str:
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise RegistrationError("Enter a valid e-mail address, like name@example.com.")
    return email


class LocalBackend(AppSessions):
    """:class:`~nexus.auth.backend.AuthBackend` on the app's own database."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.throttle = Throttle(engine)

    # Helpers -------------------------------------------------------------------------
    def _hmac(self, purpose: str, value: str) -> str:
        key = self.settings.signing_key() + purpose.encode()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def _user(self, conn, *, email: str | None = None, user_id: uuid.UUID | None = None):
        table = User.__table__
        where = User.email == email if email is not None else User.id == user_id
        return conn.execute(select(table).where(where)).first()

    def _check_throttle(self, keys: list[str], event: str, ip: str) -> None:
        wait = self.throttle.check(keys)
        if wait > 0:
            with self.engine.begin() as conn:
                record(conn, event, ip=ip)
            raise Throttled(wait)

    def _verify_current_password(self, actor: Actor, password: str, *, ip: str = "") -> None:
        keys = [f"user:{actor.email}", _ip_key(ip)]
        self._check_throttle(keys, "password.throttled", ip)
        with self.engine.connect() as conn:
            user = self._user(conn, user_id=actor.user_id)
        ok, _ = verify_password(user.pw_hash if user else None, password)
        if not ok:
            self.throttle.fail(keys)
            raise InvalidCredentials()

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if not actor.is_admin:
            raise PermissionDenied("Only administrators can do this.")

    # Accounts ------------------------------------------------------------------------
    def sign_up(
        self, email: str, password: str, *, display_name: str = "", role: str | None = None
    ) -> Actor:
        email = _check_email(email)
        try:
            check_password_policy(password, email=email)
        except PasswordRejected as exc:
            raise RegistrationError(str(exc)) from None
        if role is not None and role not in ROLES:
            raise RegistrationError(f"Role must be one of {', '.join(ROLES)}.")
        pw_hash = hash_password(password)
        user_id = uuid.uuid4()
        name = " ".join(display_name.split())[:100]
        try:
            with self.engine.begin() as conn:
                # The first account of a new installation administers it.
                is_first = conn.execute(select(func.count()).select_from(User)).scalar_one() == 0
                role = role or ("admin" if is_first else "analyst")
                conn.execute(
                    insert(User).values(
                        id=user_id, email=email, pw_hash=pw_hash, role=role, display_name=name
                    )
                )
                conn.execute(
                    insert(UserPreferences).values(
                        user_id=user_id, base_currency=self.settings.base_currency
                    )
                )
                record(conn, "user.registered", user_id=user_id, role=role)
        except IntegrityError:
            raise RegistrationError(
                "An account with this e-mail already exists. Sign in instead."
            ) from None
        return Actor(user_id, email, role, name)

    def sign_in_with_password(
        self, email: str, password: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn | MfaRequired:
        email = normalise_email(email)
        keys = [f"user:{email}", _ip_key(ip)]
        self._check_throttle(keys, "signin.throttled", ip)
        with self.engine.connect() as conn:
            user = self._user(conn, email=email)
        ok, new_hash = verify_password(user.pw_hash if user else None, password)
        if user is None or not ok or user.disabled_at is not None:
            self.throttle.fail(keys)
            with self.engine.begin() as conn:
                record(
                    conn,
                    "signin.failed",
                    user_id=user.id if user else None,
                    ip=ip,
                    email_known=user is not None,
                )
            raise InvalidCredentials()
        self.throttle.succeed(keys[:1])
        if new_hash:
            with self.engine.begin() as conn:
                conn.execute(update(User).where(User.id == user.id).values(pw_hash=new_hash))
        with self.engine.connect() as conn:
            has_mfa = mfa.verified_factor(conn, user.id) is not None
        if has_mfa:
            expires = datetime.now(UTC) + MFA_CHALLENGE_TTL
            body = f"{user.id}.{int(expires.timestamp())}.{secrets.token_hex(8)}"
            challenge = f"{body}.{self._hmac('mfa-challenge', body)}"
            return MfaRequired(email=user.email, challenge=challenge, expires_at=expires)
        return self._start(user, ip=ip, user_agent=user_agent, aal="aal1")

    def _start(self, user, *, ip: str, user_agent: str, aal: str) -> SignIn:
        with self.engine.begin() as conn:
            conn.execute(
                update(User).where(User.id == user.id).values(last_sign_in_at=datetime.now(UTC))
            )
            record(conn, "signin.succeeded", user_id=user.id, ip=ip, aal=aal)
        session_id, ticket = sessions.start_session(
            self.engine, self.settings, user.id, ip=ip, user_agent=user_agent, aal=aal
        )
        return SignIn(Actor(user.id, user.email, user.role, user.display_name), session_id, ticket)

    def _challenge_user(self, challenge: str) -> uuid.UUID:
        try:
            user_id, expires, nonce, sig = (challenge or "").split(".")
            body = f"{user_id}.{expires}.{nonce}"
            valid = hmac.compare_digest(sig, self._hmac("mfa-challenge", body))
            fresh = datetime.now(UTC).timestamp() < int(expires)
            if valid and fresh:
                return uuid.UUID(user_id)
        except ValueError:
            pass
        raise AuthError("The sign-in took too long. Enter your e-mail and password again.")

    def verify_mfa(
        self, challenge: str, code: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn:
        user_id = self._challenge_user(challenge)
        keys = [f"mfa:{user_id}", _ip_key(ip)]
        self._check_throttle(keys, "mfa.throttled", ip)
        with self.engine.begin() as conn:
            user = self._user(conn, user_id=user_id)
            ok = user is not None and user.disabled_at is None
            used_recovery = False
            if ok:
                if mfa.accept_code(conn, self.settings, user_id, code):
                    pass
                elif mfa.use_recovery_code(conn, self.settings, user_id, code):
                    used_recovery = True
                else:
                    ok = False
            record(
                conn,
                "mfa.verified" if ok else "mfa.failed",
                user_id=user_id,
                ip=ip,
                recovery_code=used_recovery,
            )
        if not ok:
            self.throttle.fail(keys)
            raise InvalidCredentials(BAD_CODE)
        self.throttle.succeed(keys[:1])
        return self._start(user, ip=ip, user_agent=user_agent, aal="aal2")

    def sign_out(self, session_id: uuid.UUID, *, ip: str = "") -> None:
        active = sessions.resolve_session(self.engine, self.settings, session_id)
        if sessions.revoke_session(self.engine, session_id):
            with self.engine.begin() as conn:
                record(
                    conn,
                    "signout",
                    user_id=active.actor.user_id if active else None,
                    ip=ip,
                    session_id=str(session_id),
                )

    # Browser sessions ----------------------------------------------------------------
    def revoke_token(self, token: str) -> None:
        sessions.revoke_token(self.engine, self.settings, token)

    def revoke_session(self, actor: Actor, session_id: uuid.UUID, *, ip: str = "") -> None:
        n = sessions.revoke_user_sessions(self.engine, actor.user_id, only=session_id)
        if n == 0:
            raise AuthError("No such session.")
        with self.engine.begin() as conn:
            record(
                conn, "session.revoked", user_id=actor.user_id, ip=ip, session_id=str(session_id)
            )

    def revoke_other_sessions(self, actor: Actor, keep: uuid.UUID, *, ip: str = "") -> int:
        n = sessions.revoke_user_sessions(self.engine, actor.user_id, keep=keep)
        with self.engine.begin() as conn:
            record(conn, "session.revoked_others", user_id=actor.user_id, ip=ip, count=n)
        return n

    def access_token(self, active: ActiveSession) -> str:
        from nexus.auth.tokens import mint_access_token

        return mint_access_token(self.settings, active)

    # Passwords and e-mail ------------------------------------------------------------
    def request_password_reset(self, email: str, *, ip: str = "", link_base: str = "") -> None:
        email = normalise_email(email)
        keys = [f"reset:{email}", _ip_key(ip)]
        if self.throttle.check(keys) > 0:
            return  # same reply; nothing sent
        self.throttle.fail(keys)  # every request counts: bounds mail to one address
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            user = self._user(conn, email=email)
            if user is not None and user.disabled_at is None:
                conn.execute(
                    update(PasswordResetToken)
                    .where(
                        PasswordResetToken.user_id == user.id,
                        PasswordResetToken.used_at.is_(None),
                    )
                    .values(used_at=now)
                )
                conn.execute(
                    insert(PasswordResetToken).values(
                        user_id=user.id,
                        token_hash=self._hmac("reset", token),
                        expires_at=now + RESET_TTL,
                    )
                )
            record(
                conn,
                "password.reset_requested",
                user_id=user.id if user else None,
                ip=ip,
                email_known=user is not None,
            )
        if user is None or user.disabled_at is not None:
            return
        link = f"{(link_base or self.settings.public_url).rstrip('/')}/?reset={token}"
        body = (
            "Someone (hopefully you) asked to reset the password of your Portfolio Nexus "
            f"account.\n\nOpen this link within 30 minutes to choose a new password:\n{link}\n\n"
            "The link works once. If you did not ask for this, ignore this e-mail: your "
            "password stays as it is."
        )
        # Sending in the background keeps the reply time the same for unknown addresses.
        threading.Thread(
            target=send_mail,
            args=(self.settings, user.email, "Reset your Portfolio Nexus password", body),
            daemon=True,
        ).start()

    def reset_password(self, token: str, new_password: str, *, ip: str = "") -> None:
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(PasswordResetToken.__table__, User.email)
                .join(User, User.id == PasswordResetToken.user_id)
                .where(
                    PasswordResetToken.token_hash == self._hmac("reset", token or ""),
                    PasswordResetToken.used_at.is_(None),
                    PasswordResetToken.expires_at > now,
                )
            ).first()
        if row is None:
            raise AuthError(BAD_RESET)
        try:
            check_password_policy(new_password, email=row.email)
        except PasswordRejected as exc:
            raise AuthError(str(exc)) from None
        pw_hash = hash_password(new_password)
        with self.engine.begin() as conn:
            spent = conn.execute(
                update(PasswordResetToken)
                .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
                .values(used_at=now)
            )
            if spent.rowcount != 1:
                raise AuthError(BAD_RESET)
            conn.execute(update(User).where(User.id == row.user_id).values(pw_hash=pw_hash))
            record(conn, "password.reset", user_id=row.user_id, ip=ip)
        sessions.revoke_user_sessions(self.engine, row.user_id)
        self.throttle.succeed([f"user:{row.email}"])

    def change_password(
        self,
        actor: Actor,
        current_password: str,
        new_password: str,
        *,
        keep: uuid.UUID | None = None,
        ip: str = "",
    ) -> None:
        self._verify_current_password(actor, current_password, ip=ip)
        try:
            check_password_policy(new_password, email=actor.email)
        except PasswordRejected as exc:
            raise AuthError(str(exc)) from None
        with self.engine.begin() as conn:
            conn.execute(
                update(User)
                .where(User.id == actor.user_id)
                .values(pw_hash=hash_password(new_password))
            )
            record(conn, "password.changed", user_id=actor.user_id, ip=ip)
        sessions.revoke_user_sessions(self.engine, actor.user_id, keep=keep)

    def change_email(
        self, actor: Actor, current_password: str, new_email: str, *, ip: str = ""
    ) -> Actor:
        self._verify_current_password(actor, current_password, ip=ip)
        try:
            email = _check_email(new_email)
        except RegistrationError as exc:
            raise AuthError(str(exc)) from None
        try:
            with self.engine.begin() as conn:
                conn.execute(update(User).where(User.id == actor.user_id).values(email=email))
                record(conn, "email.changed", user_id=actor.user_id, ip=ip)
        except IntegrityError:
            raise AuthError("That e-mail address is already used by another account.") from None
        return Actor(actor.user_id, email, actor.role, actor.display_name)

    # Two-factor authentication -------------------------------------------------------
    def mfa_status(self, actor: Actor) -> MfaStatus:
        with self.engine.connect() as conn:
            return mfa.status(conn, actor.user_id)

    def mfa_enroll(self, actor: Actor) -> TotpEnrollment:
        with self.engine.begin() as conn:
            return mfa.enroll(conn, self.settings, actor.user_id, actor.email)

    def mfa_confirm(
        self, actor: Actor, factor_id: uuid.UUID, code: str, *, ip: str = ""
    ) -> list[str]:
        keys = [f"mfa:{actor.user_id}", _ip_key(ip)]
        self._check_throttle(keys, "mfa.throttled", ip)
        with self.engine.begin() as conn:
            codes = mfa.confirm(conn, self.settings, actor.user_id, factor_id, code)
            if codes is not None:
                record(conn, "mfa.enabled", user_id=actor.user_id, ip=ip)
        if codes is None:
            self.throttle.fail(keys)
            raise AuthError(BAD_CODE)
        return codes

    def mfa_disable(self, actor: Actor, password: str, code: str, *, ip: str = "") -> None:
        self._verify_current_password(actor, password, ip=ip)
        keys = [f"mfa:{actor.user_id}", _ip_key(ip)]
        self._check_throttle(keys, "mfa.throttled", ip)
        with self.engine.begin() as conn:
            ok = mfa.accept_code(conn, self.settings, actor.user_id, code) or (
                mfa.use_recovery_code(conn, self.settings, actor.user_id, code)
            )
            if ok:
                mfa.remove(conn, actor.user_id)
                record(conn, "mfa.disabled", user_id=actor.user_id, ip=ip)
        if not ok:
            self.throttle.fail(keys)
            raise AuthError(BAD_CODE)

    # Administration ------------------------------------------------------------------
    def list_users(self, actor: Actor) -> list[UserInfo]:
        self._require_admin(actor)
        has_mfa = (
            select(MfaFactor.user_id).where(MfaFactor.status == "verified").distinct().subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(User.__table__, has_mfa.c.user_id.label("mfa_user"))
                .outerjoin(has_mfa, has_mfa.c.user_id == User.id)
                .order_by(User.created_at)
            ).all()
        return [
            UserInfo(
                id=r.id,
                email=r.email,
                role=r.role,
                display_name=r.display_name,
                created_at=r.created_at,
                last_sign_in_at=r.last_sign_in_at,
                disabled=r.disabled_at is not None,
                mfa_enabled=r.mfa_user is not None,
            )
            for r in rows
        ]

    def _active_admins(self, conn) -> int:
        return conn.execute(
            select(func.count()).where(User.role == "admin", User.disabled_at.is_(None))
        ).scalar_one()

    def set_role(self, actor: Actor, user_id: uuid.UUID, role: str, *, ip: str = "") -> None:
        self._require_admin(actor)
        if role not in ROLES:
            raise AuthError(f"Role must be one of {', '.join(ROLES)}.")
        with self.engine.begin() as conn:
            user = self._user(conn, user_id=user_id)
            if user is None:
                raise AuthError("No such user.")
            if user.role == "admin" and role != "admin" and self._active_admins(conn) <= 1:
                raise AuthError("This is the last administrator; make someone else admin first.")
            conn.execute(update(User).where(User.id == user_id).values(role=role))
            record(
                conn, "role.changed", user_id=actor.user_id, ip=ip, target=str(user_id),
                old=user.role, new=role,
            )  # fmt: skip

    def set_disabled(
        self, actor: Actor, user_id: uuid.UUID, disabled: bool, *, ip: str = ""
    ) -> None:
        self._require_admin(actor)
        if user_id == actor.user_id and disabled:
            raise AuthError("You cannot disable your own account.")
        with self.engine.begin() as conn:
            user = self._user(conn, user_id=user_id)
            if user is None:
                raise AuthError("No such user.")
            conn.execute(
                update(User)
                .where(User.id == user_id)
                .values(disabled_at=datetime.now(UTC) if disabled else None)
            )
            record(
                conn,
                "user.disabled" if disabled else "user.enabled",
                user_id=actor.user_id,
                ip=ip,
                target=str(user_id),
            )
        if disabled:
            sessions.revoke_user_sessions(self.engine, user_id)

    def audit_log(self, actor: Actor, *, limit: int = 200) -> list[AuditEntry]:
        self._require_admin(actor)
        return read_log(self.engine, limit=limit)
