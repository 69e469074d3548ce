"""What signed-out visitors see: sign in (with a 2FA step), create account, reset password."""

from __future__ import annotations

import contextlib

import streamlit as st

from nexus.auth import AuthError
from nexus.auth.models import MfaRequired
from nexus.ui import session

MFA_KEY = "nexus_mfa_challenge"
RESET_KEY = "nexus_reset_token"
RESET_NOTICE = (
    "If an account exists for that address, we have sent it a link to reset the password. "
    "The link works once, for 30 minutes."
)


def _finish(result) -> None:
    st.session_state.pop(MFA_KEY, None)
    session.begin(result.session_id, result.ticket)
    st.rerun()


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
        if isinstance(result, MfaRequired):
            st.session_state[MFA_KEY] = result
            st.rerun()
        _finish(result)


def _mfa_form(pending: MfaRequired) -> None:
    st.markdown("**Two-factor authentication**")
    st.caption("Enter the 6-digit code from your authenticator app, or one of your recovery codes.")
    with st.form("mfa", border=False):
        code = st.text_input("Code", key="mfa_code", autocomplete="one-time-code", max_chars=11)
        left, right = st.columns(2)
        submitted = left.form_submit_button("Verify", type="primary", width="stretch")
        cancelled = right.form_submit_button("Cancel", width="stretch")
    if cancelled:
        st.session_state.pop(MFA_KEY, None)
        st.rerun()
    if submitted:
        try:
            result = session.auth_backend().verify_mfa(
                pending.challenge, code, ip=session.client_ip(), user_agent=session.user_agent()
            )
        except AuthError as exc:
            st.error(str(exc))
            return
        _finish(result)


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
        _finish(result)


def _forgot_form() -> None:
    with st.form("forgot", border=False):
        email = st.text_input("E-mail", key="forgot_email", autocomplete="email")
        submitted = st.form_submit_button("Send reset link", width="stretch")
    if submitted:
        # The reply must not depend on whether the account exists.
        with contextlib.suppress(AuthError):
            session.auth_backend().request_password_reset(email, ip=session.client_ip())
        st.success(RESET_NOTICE)


def _reset_form(token: str) -> None:
    st.markdown("**Choose a new password**")
    with st.form("reset", border=False):
        password = st.text_input(
            "New password", type="password", key="reset_password", autocomplete="new-password"
        )
        confirm = st.text_input(
            "Repeat new password", type="password", key="reset_confirm",
            autocomplete="new-password",
        )  # fmt: skip
        submitted = st.form_submit_button("Set new password", type="primary", width="stretch")
    if submitted:
        if password != confirm:
            st.error("The two passwords differ.")
            return
        try:
            session.auth_backend().reset_password(token, password, ip=session.client_ip())
        except AuthError as exc:
            st.error(str(exc))
            return
        st.session_state.pop(RESET_KEY, None)
        st.session_state[session.NOTICE_KEY] = (
            "Your password has been changed and every session signed out. Sign in with it now."
        )
        st.rerun()
    if st.button("Back to sign in", key="reset_back"):
        st.session_state.pop(RESET_KEY, None)
        st.rerun()


def render_sign_in() -> None:
    """The whole signed-out page."""
    # A reset link lands here as ?reset=<token> (local backend) or, with Supabase's e-mail
    # template, ?token_hash=<hash>&type=recovery: keep it server-side, drop it from the URL.
    token = st.query_params.get("reset")
    if not token and st.query_params.get("type") == "recovery":
        token = st.query_params.get("token_hash")
    if token:
        st.session_state[RESET_KEY] = token
        for key in ("reset", "token_hash", "type"):
            if key in st.query_params:
                del st.query_params[key]
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Portfolio Nexus")
        st.caption("Portfolio analytics you can trust: sign in to see your portfolios.")
        notice = st.session_state.pop(session.NOTICE_KEY, None)
        if notice:
            st.info(notice)
        if st.session_state.get(RESET_KEY):
            _reset_form(st.session_state[RESET_KEY])
            return
        pending = st.session_state.get(MFA_KEY)
        if isinstance(pending, MfaRequired):
            _mfa_form(pending)
            return
        sign_in, register, forgot = st.tabs(["Sign in", "Create account", "Forgot password"])
        with sign_in:
            _sign_in_form()
        with register:
            _register_form()
        with forgot:
            _forgot_form()
