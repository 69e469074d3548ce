"""Errors of the accounts layer; each message can be shown to the user as is."""


class AuthError(Exception):
    """Base class: ``str(error)`` is a user-facing message."""


class InvalidCredentials(AuthError):
    def __init__(self) -> None:
        # One message for unknown e-mail, wrong password and disabled account: no enumeration.
        super().__init__("E-mail or password is incorrect.")


class RegistrationError(AuthError):
    """Registration refused (bad e-mail, weak password, address already registered)."""


class PermissionDenied(AuthError):
    """The acting user's role does not allow this action."""
