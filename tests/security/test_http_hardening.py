"""HTTP hardening of a real server: headers, the cookie routes, no secrets in logs."""

from __future__ import annotations

import re

import pytest
import requests

from nexus.auth.local import LocalBackend
from nexus.db.engine import engine_for
from nexus.settings import load_settings

pytestmark = pytest.mark.e2e

PASSWORD = "a long and unusual phrase"


@pytest.fixture
def server(fresh_server):
    return fresh_server


def _backend(server) -> LocalBackend:
    settings = load_settings({"NEXUS_DATA_DIR": str(server.data_dir)})
    return LocalBackend(engine_for(settings.sqlalchemy_url), settings)


def test_security_headers_on_every_response(server):
    for path in ("/", "/dashboard", "/_stcore/health", "/nexus-auth/establish"):
        r = requests.get(server.url + path, timeout=5)
        h = r.headers
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"], path
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in h  # plain HTTP: no HSTS
    https = requests.get(server.url + "/", headers={"X-Forwarded-Proto": "https"}, timeout=5)
    assert https.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_establish_sets_an_httponly_cookie_once(server):
    backend = _backend(server)
    backend.sign_up("ann@example.com", PASSWORD)
    ticket = backend.sign_in_with_password("ann@example.com", PASSWORD).ticket
    # Only a POST redeems; a GET (a link, an image tag) falls through to the app page.
    got = requests.get(server.url + "/nexus-auth/establish", params={"ticket": ticket}, timeout=5)
    assert "Set-Cookie" not in got.headers or "nexus_session" not in got.headers["Set-Cookie"]
    r = requests.post(server.url + "/nexus-auth/establish", data={"ticket": ticket}, timeout=5)
    assert r.status_code == 204
    cookie = r.headers["Set-Cookie"]
    assert re.match(r"nexus_session=[\w-]{40,};", cookie)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert ticket not in cookie
    again = requests.post(server.url + "/nexus-auth/establish", data={"ticket": ticket}, timeout=5)
    assert again.status_code == 400 and "Set-Cookie" not in again.headers


def test_cookie_is_secure_behind_https_and_cross_site_posts_are_refused(server):
    backend = _backend(server)
    backend.sign_up("ann@example.com", PASSWORD)
    t1 = backend.sign_in_with_password("ann@example.com", PASSWORD).ticket
    r = requests.post(
        server.url + "/nexus-auth/establish",
        data={"ticket": t1},
        headers={"X-Forwarded-Proto": "https"},
        timeout=5,
    )
    assert "Secure" in r.headers["Set-Cookie"]
    t2 = backend.sign_in_with_password("ann@example.com", PASSWORD).ticket
    evil = requests.post(
        server.url + "/nexus-auth/establish",
        data={"ticket": t2},
        headers={"Origin": "https://evil.example"},
        timeout=5,
    )
    assert evil.status_code == 403 and "Set-Cookie" not in evil.headers


def test_sign_out_route_revokes_the_cookie_session(server):
    backend = _backend(server)
    backend.sign_up("ann@example.com", PASSWORD)
    ticket = backend.sign_in_with_password("ann@example.com", PASSWORD).ticket
    token = backend.redeem_ticket(ticket)
    assert backend.session_from_token(token) is not None
    r = requests.post(
        server.url + "/nexus-auth/sign-out", cookies={"nexus_session": token}, timeout=5
    )
    assert r.status_code == 204
    assert 'nexus_session=""' in r.headers["Set-Cookie"] or "Max-Age=0" in r.headers["Set-Cookie"]
    assert backend.session_from_token(token) is None


def test_no_secret_reaches_the_server_log(server, context):
    from tests.fixtures.browser import settle, wait_for_session_cookie

    page = context.new_page()
    page.goto(server.url + "/")
    settle(page)
    page.get_by_role("tab", name="Create account").click()
    form = page.locator("[data-testid='stForm']").filter(has_text="Repeat password")
    form.get_by_label("E-mail").fill("logcheck@example.com")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    settle(page)
    cookie = wait_for_session_cookie(context)
    log = server.log.read_text()
    assert PASSWORD not in log
    assert cookie["value"] not in log
