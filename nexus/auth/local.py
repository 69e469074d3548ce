"""Local accounts: users in the app database, argon2id passwords, server-side sessions."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from nexus.auth import sessions
from nexus.auth.audit import record
from nexus.auth.errors import InvalidCredentials, RegistrationError
from nexus.auth.models import ActiveSession, Actor, SignIn
from nexus.auth.passwords import (
    PasswordRejected,
    check_password_policy,
    hash_password,
    verify_password,
)
from nexus.db.schema import User, UserPreferences
from nexus.settings import Settings

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is proven by
# mail, not by regex.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


class LocalBackend:
    """:class:`~nexus.auth.backend.AuthBackend` on the app's own database."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def sign_up(
        self, email: str, password: str, *, display_name: str = "", role: str | None = None
    ) -> Actor:
        email = normalise_email(email)
        if not EMAIL_RE.match(email) or len(email) > 254:
            raise RegistrationError("Enter a valid e-mail address, like name@example.com.")
        try:
            check_password_policy(password, email=email)
        except PasswordRejected as exc:
            raise RegistrationError(str(exc)) from None
        pw_hash = hash_password(password)
        user_id = uuid.uuid4()
        try:
            with self.engine.begin() as conn:
                # The first account of a new installation administers it.
                is_first = conn.execute(select(func.count()).select_from(User)).scalar_one() == 0
                role = role or ("admin" if is_first else "analyst")
                conn.execute(
                    insert(User).values(
                        id=user_id,
                        email=email,
                        pw_hash=pw_hash,
                        role=role,
                        display_name=display_name.strip()[:100],
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
        return Actor(user_id, email, role, display_name.strip()[:100])

    def sign_in_with_password(
        self, email: str, password: str, *, ip: str = "", user_agent: str = ""
    ) -> SignIn:
        email = normalise_email(email)
        with self.engine.connect() as conn:
            user = conn.execute(select(User.__table__).where(User.email == email)).first()
        ok, new_hash = verify_password(user.pw_hash if user else None, password)
        if user is None or not ok or user.disabled_at is not None:
            with self.engine.begin() as conn:
                record(
                    conn,
                    "signin.failed",
                    user_id=user.id if user else None,
                    ip=ip,
                    email_known=user is not None,
                )
            raise InvalidCredentials()
        values: dict = {"last_sign_in_at": datetime.now(UTC)}
        if new_hash:
            values["pw_hash"] = new_hash
        with self.engine.begin() as conn:
            conn.execute(update(User).where(User.id == user.id).values(**values))
            record(conn, "signin.succeeded", user_id=user.id, ip=ip)
        session_id, ticket = sessions.start_session(
            self.engine, self.settings, user.id, ip=ip, user_agent=user_agent
        )
        return SignIn(Actor(user.id, user.email, user.role, user.display_name), session_id, ticket)

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

    def redeem_ticket(self, ticket: str) -> str | None:
        return sessions.redeem_ticket(self.engine, self.settings, ticket)

    def session_from_token(self, token: str) -> ActiveSession | None:
        return sessions.resolve_token(self.engine, self.settings, token)

    def session_from_id(self, session_id: uuid.UUID) -> ActiveSession | None:
        return sessions.resolve_session(self.engine, self.settings, session_id)

    def revoke_token(self, token: str) -> None:
        sessions.revoke_token(self.engine, self.settings, token)
