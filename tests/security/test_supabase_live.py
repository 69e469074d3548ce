"""Optional live check of the Supabase backend against a real (throwaway) Supabase project.

Runs only when ``SUPABASE_URL``, ``SUPABASE_ANON_KEY`` and ``SUPABASE_SERVICE_ROLE_KEY`` are
set in the environment; otherwise it is skipped, also under ``CI=true`` (it needs a project
and network, so it is never a required part). ``SUPABASE_JWT_SECRET`` is used when set.
Each run creates one user ``nexus-live-<random>@<NEXUS_LIVE_EMAIL_DOMAIN>`` (default
``example.com``; set a domain your project accepts) and deletes it at the end with the
service-role key. Point it at a project used for nothing else.
"""

from __future__ import annotations

import os
import secrets

import pytest

from nexus.auth.errors import InvalidCredentials
from nexus.auth.models import SignIn
from nexus.auth.tokens import verify_access_token
from nexus.settings import load_settings

REQUIRED = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY")
MISSING = [name for name in REQUIRED if not os.environ.get(name)]

pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason="live Supabase suite (optional): set " + ", ".join(MISSING) + " to run it",
)


@pytest.fixture
def live_backend(tmp_path):
    from nexus.auth.supabase import SupabaseBackend
    from nexus.db.engine import get_engine
    from nexus.db.migrate import upgrade

    env = {name: os.environ[name] for name in REQUIRED}
    if os.environ.get("SUPABASE_JWT_SECRET"):
        env["SUPABASE_JWT_SECRET"] = os.environ["SUPABASE_JWT_SECRET"]
    env.update({"NEXUS_DATA_DIR": str(tmp_path / "data"), "NEXUS_AUTH_BACKEND": "supabase"})
    settings = load_settings(env)
    upgrade(settings)
    backend = SupabaseBackend(get_engine(settings), settings)
    created: list[str] = []
    yield backend, created
    with backend._client(admin=True) as admin:
        for user_id in created:
            admin.auth.admin.delete_user(user_id)


def test_live_sign_up_sign_in_and_sign_out(live_backend):
    backend, created = live_backend
    domain = os.environ.get("NEXUS_LIVE_EMAIL_DOMAIN", "example.com")
    email = f"nexus-live-{secrets.token_hex(6)}@{domain}"
    password = f"live test {secrets.token_hex(8)}"
    actor = backend.sign_up(email, password)
    created.append(str(actor.user_id))
    # Projects with e-mail confirmation on: confirm with the admin API instead of a mail.
    backend._admin_update(actor.user_id, {"email_confirm": True})

    with pytest.raises(InvalidCredentials):
        backend.sign_in_with_password(email, password + " wrong")
    result = backend.sign_in_with_password(email, password)
    assert isinstance(result, SignIn) and result.actor.user_id == actor.user_id
    cookie = backend.redeem_ticket(result.ticket)
    active = backend.session_from_token(cookie)
    token = backend.access_token(active)
    if backend.settings.supabase_jwt_secret.get_secret_value():
        assert verify_access_token(backend.settings, token)["sub"] == str(actor.user_id)

    backend.sign_out(result.session_id)
    assert backend.session_from_token(cookie) is None
