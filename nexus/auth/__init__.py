"""Accounts: the AuthBackend protocol and its implementations (local now, Supabase later)."""

from nexus.auth.backend import AuthBackend, get_backend
from nexus.auth.errors import AuthError, InvalidCredentials, RegistrationError
from nexus.auth.models import Actor, SignIn

__all__ = [
    "Actor",
    "AuthBackend",
    "AuthError",
    "InvalidCredentials",
    "RegistrationError",
    "SignIn",
    "get_backend",
]
