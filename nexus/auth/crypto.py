"""Encryption at rest for small secrets (TOTP secrets, provider refresh tokens).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from ``NEXUS_SECRET_KEY`` by HKDF, so
one configured secret serves every purpose without reusing it directly. Rotating the secret
key makes stored secrets unreadable: users then re-enrol 2FA.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nexus.settings import Settings


@functools.cache
def _fernet(key_material: bytes, purpose: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        key_material
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(settings: Settings, plaintext: str, *, purpose: str) -> str:
    return _fernet(settings.signing_key(), purpose.encode()).encrypt(plaintext.encode()).decode()


def decrypt(settings: Settings, ciphertext: str, *, purpose: str) -> str | None:
    """The plaintext, or ``None`` when the ciphertext was made with another key."""
    try:
        return _fernet(settings.signing_key(), purpose.encode()).decrypt(ciphertext).decode()
    except InvalidToken:
        return None
