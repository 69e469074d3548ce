"""Errors of the accounts layer; each message can be shown to the user as is."""


class AuthError(Exception):
    """Base class: ``str(error)`` is a user-facing message."""


class InvalidCredentials(AuthError):
    def __init__(self, message: str = "E-mail or password is incorrect.") -> None:
        # One message for unknown e-mail, wrong password and disabled account: no enumeration.
        super().__init__(message)


class RegistrationError(AuthError):
    """Registration refused (bad e-mail, weak password, address already registered)."""


class PermissionDenied(AuthError):
    """The acting user's role does not allow this action."""


class InvalidToken(AuthError):
    """An access token failed verification (bad signature, expired, wrong audience/issuer…)."""

    def __init__(self) -> None:
        # One message whatever the reason, so the reply tells an attacker nothing.
        super().__init__("Your session is no longer valid. Please sign in again.")


class Throttled(AuthError):
    """Too many failed attempts recently; ``retry_after`` is the wait in seconds.

    The message never says which key (account, IP, 2FA) tripped, so it reveals nothing
    about whether an account exists.
    """

    def __init__(self, retry_after: float) -> None:
        import math

        self.retry_after = max(1, math.ceil(retry_after))
        unit = "second" if self.retry_after == 1 else "seconds"
        super().__init__(f"Too many attempts. Try again in {self.retry_after} {unit}.")
