"""TOTP second factor for the local backend (pyotp; RFC 6238: SHA-1, 6 digits, 30 s).

- Secrets are Fernet-encrypted at rest (:mod:`nexus.auth.crypto`).
- A factor is ``unverified`` until its first good code; only then does sign-in ask for codes.
- Replay: the accepted 30-s step is stored; a code is accepted only by an atomic
  ``UPDATE … WHERE last_timecode < :step`` (pyotp README, "Preventing replay attacks").
- Recovery codes: 10 × 10 hex characters, shown once, stored as HMACs, single use.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import uuid
from datetime import UTC, datetime

import pyotp
import segno
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import Connection, delete, func, insert, or_, select, update

from nexus.auth.crypto import decrypt, encrypt
from nexus.auth.models import MfaStatus, TotpEnrollment
from nexus.db.schema import MfaFactor, MfaRecoveryCode
from nexus.settings import Settings

ISSUER = "Portfolio Nexus"
PURPOSE = "totp-secret"
RECOVERY_CODES = 10


def _code_hash(settings: Settings, code: str) -> str:
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    return hmac.new(settings.signing_key(), normalised.encode(), hashlib.sha256).hexdigest()


def _qr_svg(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return buffer.getvalue().decode()


def enroll(conn: Connection, settings: Settings, user_id: uuid.UUID, email: str) -> TotpEnrollment:
    """Create a new unverified factor (replacing any earlier unverified one)."""
    conn.execute(
        delete(MfaFactor).where(MfaFactor.user_id == user_id, MfaFactor.status == "unverified")
    )
    secret = pyotp.random_base32()  # 160 bits
    factor_id = uuid.uuid4()
    conn.execute(
        insert(MfaFactor).values(
            id=factor_id,
            user_id=user_id,
            secret_enc=encrypt(settings, secret, purpose=PURPOSE),
            status="unverified",
        )
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return TotpEnrollment(factor_id=factor_id, secret=secret, uri=uri, qr_svg=_qr_svg(uri))


def verified_factor(conn: Connection, user_id: uuid.UUID):
    return conn.execute(
        select(MfaFactor.__table__).where(
            MfaFactor.user_id == user_id, MfaFactor.status == "verified"
        )
    ).first()


def accept_code(
    conn: Connection,
    settings: Settings,
    user_id: uuid.UUID,
    code: str,
    *,
    factor_id: uuid.UUID | None = None,
    status: str = "verified",
) -> bool:
    """True if ``code`` is a current TOTP code of the user's factor not used before.

    Accepts ±1 step of clock skew. The step is recorded atomically, so the same code (or an
    older one) is refused afterwards, even by a concurrent request.
    """
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return False
    stmt = select(MfaFactor.__table__).where(
        MfaFactor.user_id == user_id, MfaFactor.status == status
    )
    if factor_id is not None:
        stmt = stmt.where(MfaFactor.id == factor_id)
    factor = conn.execute(stmt).first()
    if factor is None:
        return False
    secret = decrypt(settings, factor.secret_enc, purpose=PURPOSE)
    if secret is None:
        return False
    try:
        step = pyotp.TOTP(secret).verify_and_get_timecode(code, valid_window=1)
    except OTPVerificationError:
        return False
    result = conn.execute(
        update(MfaFactor)
        .where(
            MfaFactor.id == factor.id,
            or_(MfaFactor.last_timecode.is_(None), MfaFactor.last_timecode < step),
        )
        .values(last_timecode=step)
    )
    return result.rowcount == 1


def confirm(
    conn: Connection, settings: Settings, user_id: uuid.UUID, factor_id: uuid.UUID, code: str
) -> list[str] | None:
    """Verify the first code of an unverified factor; on success the factor takes effect,
    earlier factors are removed and a fresh set of recovery codes is returned."""
    if not accept_code(conn, settings, user_id, code, factor_id=factor_id, status="unverified"):
        return None
    conn.execute(delete(MfaFactor).where(MfaFactor.user_id == user_id, MfaFactor.id != factor_id))
    conn.execute(update(MfaFactor).where(MfaFactor.id == factor_id).values(status="verified"))
    return new_recovery_codes(conn, settings, user_id)


def new_recovery_codes(conn: Connection, settings: Settings, user_id: uuid.UUID) -> list[str]:
    """Replace the user's recovery codes; return the new ones (shown once)."""
    conn.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id))
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    conn.execute(
        insert(MfaRecoveryCode),
        [{"user_id": user_id, "code_hash": _code_hash(settings, c)} for c in codes],
    )
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def use_recovery_code(conn: Connection, settings: Settings, user_id: uuid.UUID, code: str) -> bool:
    """Spend one recovery code (atomically); False if unknown or already used."""
    result = conn.execute(
        update(MfaRecoveryCode)
        .where(
            MfaRecoveryCode.user_id == user_id,
            MfaRecoveryCode.code_hash == _code_hash(settings, code),
            MfaRecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
    )
    return result.rowcount == 1


def status(conn: Connection, user_id: uuid.UUID) -> MfaStatus:
    factor = verified_factor(conn, user_id)
    if factor is None:
        return MfaStatus(enabled=False)
    left = conn.execute(
        select(func.count()).where(
            MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None)
        )
    ).scalar_one()
    return MfaStatus(enabled=True, factor_id=factor.id, recovery_codes_left=left)


def remove(conn: Connection, user_id: uuid.UUID) -> None:
    conn.execute(delete(MfaFactor).where(MfaFactor.user_id == user_id))
    conn.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id))
