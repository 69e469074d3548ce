"""The first line of every page: only a signed-in user with the right role gets past."""

from __future__ import annotations

import streamlit as st

from nexus.auth.models import Actor
from nexus.ui import session
from nexus.ui.auth_view import render_sign_in

ROLE_RANK = {"viewer": 0, "analyst": 1, "admin": 2}


def guard(min_role: str = "viewer") -> Actor:
    """Return the signed-in user, or show the sign-in page and stop the script.

    A user below ``min_role`` sees a plain refusal. The check runs in the page itself, so
    opening a page URL directly (even on a freshly started server, before ``Home.py`` has
    run) never shows its content to a signed-out visitor.
    """
    active = session.current_session()
    session.sync_cookie()
    if active is None:
        render_sign_in()
        st.stop()
    if ROLE_RANK.get(active.actor.role, -1) < ROLE_RANK[min_role]:
        st.error("This page needs a role you do not have. Ask an administrator.")
        st.stop()
    return active.actor
