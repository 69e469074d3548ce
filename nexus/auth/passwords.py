"""Password policy and hashing (argon2id; legacy bcrypt hashes verified and rehashed).

Policy (NIST SP 800-63B style): at least 10 characters, at most 128, not a well-known
password (or one with digits/symbols tacked on), not the e-mail address or its name part,
not a single repeated character. No composition rules: length beats symbols.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 128

# argon2-cffi defaults = RFC 9106 low-memory profile (argon2id, t=3, m=64 MiB, p=4),
# above the OWASP minimum (m=19 MiB, t=2, p=1).
_hasher = PasswordHasher()


class PasswordRejected(ValueError):
    """The chosen password does not meet the policy; the message says why."""


@functools.cache
def _common() -> frozenset[str]:
    text = resources.files("nexus.auth").joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_password_policy(password: str, *, email: str = "") -> None:
    """Raise :class:`PasswordRejected` with a user-facing reason if ``password`` is weak."""
    pw = _normalise(password)
    if len(pw) < MIN_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_LENGTH} characters (a short phrase works well).")
    if len(pw) > MAX_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_LENGTH} characters.")
    lowered = pw.lower()
    core = re.sub(r"[\d\W_]+$", "", lowered)  # 'Password2024!' -> 'password'
    if lowered in _common() or core in _common() or lowered.rstrip("!?.") in _common():
        raise PasswordRejected("This password is too common; choose something less guessable.")
    if len(set(lowered)) <= 2:
        raise PasswordRejected("Use more than one or two different characters.")
    if email:
        local = email.lower().split("@", 1)[0]
        if lowered == email.lower() or (len(local) >= 4 and local in lowered):
            raise PasswordRejected("The password must not contain your e-mail address.")


def hash_password(password: str) -> str:
    """argon2id hash (PHC string) of ``password``."""
    return _hasher.hash(_normalise(password))


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-used-for-timing")


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check ``password`` against ``stored_hash``.

    Returns ``(ok, new_hash)``; ``new_hash`` is set when the stored hash should be
    replaced (legacy bcrypt or outdated argon2 parameters). With ``stored_hash=None``
    (unknown account) a dummy hash is verified so the time taken does not reveal
    whether the account exists.
    """
    pw = _normalise(password)
    if not stored_hash:  # unknown account, or one without a password (imported, reset needed)
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), pw)
        return False, None
    if stored_hash.startswith(("$2a$", "$2b$", "$2y$")):
        import bcrypt

        # Older bcrypt silently used only the first 72 bytes; bcrypt 5 raises instead.
        ok = bcrypt.checkpw(pw.encode()[:72], stored_hash.encode())
        return ok, (hash_password(password) if ok else None)
    try:
        _hasher.verify(stored_hash, pw)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, (hash_password(password) if _hasher.check_needs_rehash(stored_hash) else None)
