"""Settings: profile, password, two-factor authentication and active sessions."""

import uuid

import polars as pl
import streamlit as st

from nexus.auth import AuthError
from nexus.ui import session
from nexus.ui.format import md_escape
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

ENROLMENT_KEY = "nexus_totp_enrolment"
CODES_KEY = "nexus_recovery_codes"
backend = session.auth_backend()
current_id = session.current_session_id()

st.title("Settings")
profile_tab, password_tab, mfa_tab, sessions_tab = st.tabs(
    ["Profile", "Password", "Two-factor authentication", "Sessions"]
)

with profile_tab:
    st.markdown(f"**E-mail:** {md_escape(actor.email)}  \n**Role:** {actor.role}")
    st.caption(
        "Admins manage the installation, analysts keep their own portfolios, viewers can look "
        "but not change anything."
    )
    with st.form("change_email"):
        new_email = st.text_input("New e-mail", autocomplete="email")
        password = st.text_input("Current password", type="password", key="email_pw")
        if st.form_submit_button("Change e-mail"):
            try:
                backend.change_email(actor, password, new_email, ip=session.client_ip())
            except AuthError as exc:
                st.error(str(exc))
            else:
                st.toast("E-mail changed.", icon=":material/check:")
                st.rerun()

with password_tab, st.form("change_password"):
    current = st.text_input("Current password", type="password", key="pw_current")
    new = st.text_input("New password", type="password", key="pw_new")
    repeat = st.text_input("Repeat new password", type="password", key="pw_repeat")
    st.caption("Changing your password signs out your other sessions.")
    if st.form_submit_button("Change password", type="primary"):
        if new != repeat:
            st.error("The two new passwords differ.")
        else:
            try:
                backend.change_password(
                    actor, current, new, keep=current_id, ip=session.client_ip()
                )
            except AuthError as exc:
                st.error(str(exc))
            else:
                st.success("Password changed. Other sessions were signed out.")

with mfa_tab:
    status = backend.mfa_status(actor)
    codes = st.session_state.pop(CODES_KEY, None)
    if codes:
        st.success("Two-factor authentication is on.")
        st.warning(
            "Save these recovery codes somewhere safe now: each works once if you lose your "
            "phone, and they will not be shown again."
        )
        st.code("\n".join(codes), language=None)
    elif status.enabled:
        st.success(
            f"Two-factor authentication is on. {status.recovery_codes_left} recovery codes left."
        )
        with st.form("mfa_disable"):
            st.markdown("**Turn off two-factor authentication**")
            password = st.text_input("Password", type="password", key="mfa_off_pw")
            code = st.text_input("Current code or a recovery code", key="mfa_off_code")
            if st.form_submit_button("Turn off"):
                try:
                    backend.mfa_disable(actor, password, code, ip=session.client_ip())
                except AuthError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
    else:
        enrolment = st.session_state.get(ENROLMENT_KEY)
        if enrolment is None:
            st.info(
                "Protect your account with a code from an authenticator app (Google "
                "Authenticator, 1Password, Aegis…) in addition to your password."
            )
            if st.button("Set up two-factor authentication", key="mfa_start"):
                st.session_state[ENROLMENT_KEY] = backend.mfa_enroll(actor)
                st.rerun()
        else:
            left, right = st.columns([1, 2])
            left.image(enrolment.qr_svg, caption="Scan with your authenticator app", width=220)
            with right:
                st.markdown("Can't scan? Enter this key in the app:")
                st.code(enrolment.secret, language=None)
                with st.form("mfa_confirm"):
                    code = st.text_input("6-digit code from the app", key="mfa_confirm_code")
                    if st.form_submit_button("Turn on", type="primary"):
                        try:
                            new_codes = backend.mfa_confirm(
                                actor, enrolment.factor_id, code, ip=session.client_ip()
                            )
                        except AuthError as exc:
                            st.error(str(exc))
                        else:
                            st.session_state.pop(ENROLMENT_KEY, None)
                            st.session_state[CODES_KEY] = new_codes
                            st.rerun()

with sessions_tab:
    active = backend.list_sessions(actor, current=current_id)
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "this device": "✓" if s.current else "",
                    "signed in": s.created_at,
                    "last seen": s.last_seen_at,
                    "browser": s.user_agent or "unknown",
                    "ip": s.ip,
                    "2FA": s.aal == "aal2",
                }
                for s in active
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    others = [s for s in active if not s.current]
    if others:
        labels = {
            str(s.id): f"{s.user_agent[:50] or 'unknown'} · {s.ip} · {s.created_at:%Y-%m-%d %H:%M}"
            for s in others
        }
        chosen = st.selectbox("Session", list(labels), format_func=labels.get, key="revoke_pick")
        left, right = st.columns(2)
        if left.button("Sign out this session", key="revoke_one"):
            backend.revoke_session(actor, uuid.UUID(chosen), ip=session.client_ip())
            st.rerun()
        if right.button("Sign out all other sessions", key="revoke_others"):
            n = backend.revoke_other_sessions(actor, current_id, ip=session.client_ip())
            st.toast(f"Signed out {n} other sessions.", icon=":material/check:")
            st.rerun()
    else:
        st.caption("No other active sessions.")

st.divider()
if st.button("Sign out", icon=":material/logout:", key="account_sign_out"):
    session.end()
    st.rerun()
