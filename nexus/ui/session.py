"""Who is signed in, for this Streamlit session.

Resolution order on every rerun: the session id kept in ``st.session_state`` (set at
sign-in), else the HttpOnly ``nexus_session`` cookie sent with the page request. Both are
checked against the database each time, so a revoked or expired session ends at once.
"""

from __future__ import annotations

import json
import uuid

import streamlit as st

from nexus.auth import AuthBackend, get_backend
from nexus.auth.models import ActiveSession
from nexus.settings import get_settings
from nexus.ui.server import COOKIE_NAME, ESTABLISH_PATH, SIGN_OUT_PATH

SESSION_KEY = "nexus_session_id"
PENDING_TICKET_KEY = "nexus_pending_ticket"
CLEAR_COOKIE_KEY = "nexus_clear_cookie"
DEAD_COOKIE_KEY = "nexus_dead_cookie"
NOTICE_KEY = "nexus_auth_notice"


@st.cache_resource
def auth_backend() -> AuthBackend:
    backend = get_backend(get_settings())
    throttle = getattr(backend, "throttle", None)
    if throttle is not None:
        throttle.purge()  # housekeeping once per process: forget expired failure counters
    return backend


def client_ip() -> str:
    """The browser's address (``st.context`` gives None for loopback)."""
    ip = st.context.ip_address
    return ip if isinstance(ip, str) and ip else "127.0.0.1"


def user_agent() -> str:
    agent = st.context.headers.get("User-Agent")
    return agent[:300] if isinstance(agent, str) else ""


def current_session() -> ActiveSession | None:
    """The live session of this browser tab, or ``None`` when signed out."""
    backend = auth_backend()
    sid = st.session_state.get(SESSION_KEY)
    if sid is not None:
        active = backend.session_from_id(uuid.UUID(str(sid)))
        if active is not None:
            return active
        del st.session_state[SESSION_KEY]
        st.session_state[NOTICE_KEY] = "Your session has ended. Please sign in again."
        st.session_state[CLEAR_COOKIE_KEY] = True
        return None
    token = st.context.cookies.get(COOKIE_NAME)
    if isinstance(token, str) and token and st.session_state.get(DEAD_COOKIE_KEY) != token:
        active = backend.session_from_token(token)
        if active is not None:
            st.session_state[SESSION_KEY] = str(active.session_id)
            return active
        st.session_state[DEAD_COOKIE_KEY] = token
    return None


def current_session_id() -> uuid.UUID | None:
    sid = st.session_state.get(SESSION_KEY)
    return uuid.UUID(str(sid)) if sid is not None else None


def begin(session_id: uuid.UUID, ticket: str) -> None:
    """Mark this Streamlit session signed in; the cookie is set on the next run."""
    st.session_state[SESSION_KEY] = str(session_id)
    st.session_state[PENDING_TICKET_KEY] = ticket
    st.session_state.pop(NOTICE_KEY, None)


def end() -> None:
    """Sign out: revoke server-side now, clear the cookie on the next run."""
    sid = st.session_state.pop(SESSION_KEY, None)
    if sid is not None:
        auth_backend().sign_out(uuid.UUID(str(sid)), ip=client_ip())
    st.session_state[CLEAR_COOKIE_KEY] = True


def _post(path: str, body: str = "") -> None:
    # The only script we ever inject; its inputs are our own constants and a URL-safe ticket,
    # JSON-encoded with '<' escaped so no value can close the script element.
    payload = json.dumps({"path": path, "body": body}).replace("<", "\\u003c")
    st.html(
        "<script>(function(){const p=" + payload + ";"
        "fetch(p.path,{method:'POST',credentials:'same-origin',"
        "headers:{'Content-Type':'application/x-www-form-urlencoded'},body:p.body});})();"
        "</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def sync_cookie() -> None:
    """Send pending cookie changes to the browser (call once per run, from Home.py)."""
    ticket = st.session_state.pop(PENDING_TICKET_KEY, None)
    if ticket:
        _post(ESTABLISH_PATH, "ticket=" + ticket)
    if st.session_state.pop(CLEAR_COOKIE_KEY, False):
        _post(SIGN_OUT_PATH)
