"""Internal access tokens: Supabase-shaped claims, and every kind of bad token refused."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from nexus.auth.errors import AuthError, InvalidToken
from nexus.auth.models import ActiveSession, Actor
from nexus.auth.tokens import (
    ISSUER,
    claims_for,
    mint_access_token,
    supabase_issuer,
    verify_access_token,
)
from nexus.settings import Settings

KEY = "k" * 48
ALICE = Actor(uuid.UUID("11111111-1111-4111-8111-111111111111"), "alice@example.com", "analyst")
SESSION = ActiveSession(ALICE, uuid.UUID("22222222-2222-4222-8222-222222222222"))


@pytest.fixture
def cfg(tmp_path: Path) -> Settings:
    return Settings(NEXUS_DATA_DIR=tmp_path, NEXUS_SECRET_KEY=KEY, NEXUS_ACCESS_TOKEN_MINUTES=15)


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _signed(claims: dict, key: str = KEY, **headers) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=headers or None)


def _valid_claims(cfg: Settings) -> dict:
    return _payload(mint_access_token(cfg, SESSION))


def test_round_trip_has_supabase_claims(cfg):
    now = datetime.now(UTC).replace(microsecond=0)
    claims = verify_access_token(cfg, mint_access_token(cfg, SESSION, now=now))
    assert claims["iss"] == ISSUER == "portfolio-nexus"
    assert claims["aud"] == "authenticated"
    assert claims["role"] == "authenticated"
    assert claims["sub"] == str(ALICE.user_id)
    assert claims["session_id"] == str(SESSION.session_id)
    assert claims["email"] == "alice@example.com"
    assert claims["phone"] == ""
    assert claims["is_anonymous"] is False
    assert claims["aal"] == "aal1"
    assert claims["amr"] == [{"method": "password", "timestamp": int(now.timestamp())}]
    assert claims["app_metadata"] == {"roles": ["analyst"], "provider": "email"}
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == claims["iat"] + 15 * 60
    assert uuid.UUID(claims["jti"])


def test_each_token_has_its_own_jti(cfg):
    a, b = (_payload(mint_access_token(cfg, SESSION)) for _ in range(2))
    assert a["jti"] != b["jti"]


def test_aal2_token_lists_totp(cfg):
    token = mint_access_token(cfg, ActiveSession(ALICE, SESSION.session_id, aal="aal2"))
    claims = verify_access_token(cfg, token)
    assert claims["aal"] == "aal2"
    assert [m["method"] for m in claims["amr"]] == ["totp", "password"]


def test_claims_for_matches_minted_identity(cfg):
    minted = _valid_claims(cfg)
    built = claims_for(ALICE, SESSION.session_id)
    for volatile in ("iat", "exp", "jti", "amr"):
        minted.pop(volatile)
    built.pop("amr")
    assert built == minted
    assert "session_id" not in claims_for(ALICE)
    with pytest.raises(ValueError):
        claims_for(ALICE, aal="aal3")


def test_forged_with_another_key_is_refused(cfg):
    token = _signed(_valid_claims(cfg), key="another key of a decent length, 32+ bytes")
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, token)


def test_expired_is_refused(cfg):
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, mint_access_token(cfg, SESSION, now=an_hour_ago))


def test_wrong_audience_is_refused(cfg):
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, _signed({**_valid_claims(cfg), "aud": "anon"}))


def test_wrong_issuer_is_refused(cfg):
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, _signed({**_valid_claims(cfg), "iss": "someone-else"}))


def test_alg_none_is_refused(cfg):
    # Crafted by hand: PyJWT would not produce it with a key.
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_valid_claims(cfg))}."
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, token)


def test_tampered_payload_is_refused(cfg):
    token = mint_access_token(cfg, SESSION)
    header, _, signature = token.split(".")
    claims = _payload(token)
    claims["app_metadata"]["roles"] = ["admin"]
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, f"{header}.{_b64(claims)}.{signature}")


@pytest.mark.parametrize("claim", ["session_id", "sub", "exp", "aud", "iss", "role"])
def test_missing_claim_is_refused(cfg, claim):
    claims = _valid_claims(cfg)
    del claims[claim]
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, _signed(claims))


@pytest.mark.parametrize(
    "change",
    [
        {"sub": "not-a-uuid"},
        {"session_id": "not-a-uuid"},
        {"role": "service_role"},
        {"aal": "aal9"},
    ],
)
def test_malformed_identity_claims_are_refused(cfg, change):
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, _signed({**_valid_claims(cfg), **change}))


@pytest.mark.parametrize("garbage", ["", "a.b.c", "not a token", "..."])
def test_garbage_is_refused(cfg, garbage):
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, garbage)


def test_refusals_share_one_generic_message(cfg):
    messages = set()
    for token in ("", _signed({**_valid_claims(cfg), "aud": "anon"}), "x.y.z"):
        with pytest.raises(InvalidToken) as info:
            verify_access_token(cfg, token)
        messages.add(str(info.value))
    assert len(messages) == 1
    assert issubclass(InvalidToken, AuthError)
    assert "aud" not in messages.pop().lower()


def test_supabase_mode_verifies_supabase_issued_tokens(tmp_path):
    secret = "super-secret-jwt-token-with-at-least-32-characters"
    cfg = Settings(
        NEXUS_DATA_DIR=tmp_path,
        NEXUS_SECRET_KEY=KEY,
        NEXUS_AUTH_BACKEND="supabase",
        SUPABASE_URL="https://abc.supabase.co",
        SUPABASE_ANON_KEY="anon-key",
        SUPABASE_JWT_SECRET=secret,
    )
    now = int(datetime.now(UTC).timestamp())
    issued = {
        **claims_for(ALICE, SESSION.session_id),
        "iss": supabase_issuer(cfg),
        "iat": now,
        "exp": now + 3600,
    }
    assert supabase_issuer(cfg) == "https://abc.supabase.co/auth/v1"
    assert verify_access_token(cfg, _signed(issued, key=secret))["sub"] == str(ALICE.user_id)
    # An internal token is not a Supabase token: other key, other issuer.
    internal = mint_access_token(cfg, SESSION)
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, internal)
    # ... but can still be checked explicitly with the internal key.
    assert verify_access_token(cfg, internal, key=cfg.signing_key())["sub"] == str(ALICE.user_id)
    # A Supabase-signed token claiming our issuer is refused.
    with pytest.raises(InvalidToken):
        verify_access_token(cfg, _signed({**issued, "iss": ISSUER}, key=secret))
