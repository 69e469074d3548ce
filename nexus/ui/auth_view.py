"""Sign-in and registration forms shown to signed-out visitors."""

from __future__ import annotations

import streamlit as st

from nexus.auth import AuthError
from nexus.ui import session


def _sign_in_form() -> None:
    with st.form("sign_in", border=False):
        email = st.text_input("E-mail", key="sign_in_email", autocomplete="email")
        password = st.text_input(
            "Password", type="password", key="sign_in_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
    if submitted:
        try:
            result = session.auth_backend().sign_in_with_password(
                email, password, ip=session.client_ip(), user_agent=session.user_agent()
            )
        except AuthError as exc:
            st.error(str(exc))
            return
        session.begin(result.session_id, result.ticket)
        st.rerun()


def _register_form() -> None:
    with st.form("register", border=False):
        name = st.text_input("Your name (optional)", key="register_name", max_chars=100)
        email = st.text_input("E-mail", key="register_email", autocomplete="email")
        password = st.text_input(
            "Password",
            type="password",
            key="register_password",
            autocomplete="new-password",
            help="At least 10 characters. A short phrase is easy to remember and hard to guess.",
        )
        confirm = st.text_input(
            "Repeat password", type="password", key="register_confirm", autocomplete="new-password"
        )
        submitted = st.form_submit_button("Create account", type="primary", width="stretch")
    if submitted:
        if password != confirm:
            st.error("The two passwords differ.")
            return
        backend = session.auth_backend()
        try:
            backend.sign_up(email, password, display_name=name)
            result = backend.sign_in_with_password(
                email, password, ip=session.client_ip(), user_agent=session.user_agent()
            )
        except AuthError as exc:
            st.error(str(exc))
            return
        session.begin(result.session_id, result.ticket)
        st.rerun()


def render_sign_in() -> None:
    """The whole signed-out page: product name, sign-in and register tabs."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Portfolio Nexus")
        st.caption("Portfolio analytics you can trust: sign in to see your portfolios.")
        notice = st.session_state.pop(session.NOTICE_KEY, None)
        if notice:
            st.info(notice)
        sign_in, register = st.tabs(["Sign in", "Create account"])
        with sign_in:
            _sign_in_form()
        with register:
            _register_form()
