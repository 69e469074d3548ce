"""Admin: users and roles, enabling/disabling accounts, the audit log."""

import json
import uuid

import polars as pl
import streamlit as st

from nexus.auth import AuthError
from nexus.auth.models import ROLES
from nexus.ui import session
from nexus.ui.guard import guard

actor = guard(min_role="admin")  # first statement of every page

backend = session.auth_backend()
st.title("Admin")
users_tab, audit_tab = st.tabs(["Users", "Audit log"])

with users_tab:
    users = backend.list_users(actor)
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "e-mail": u.email,
                    "name": u.display_name,
                    "role": u.role,
                    "2FA": u.mfa_enabled,
                    "status": "disabled" if u.disabled else "active",
                    "created": u.created_at,
                    "last sign-in": u.last_sign_in_at,
                }
                for u in users
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    by_id = {str(u.id): u for u in users}
    chosen = st.selectbox(
        "User", list(by_id), format_func=lambda i: by_id[i].email, key="admin_user"
    )
    target = by_id[chosen]
    left, right = st.columns(2)
    with left, st.form("set_role"):
        role = st.selectbox("Role", ROLES, index=ROLES.index(target.role), key="admin_role")
        if st.form_submit_button("Save role"):
            try:
                backend.set_role(actor, uuid.UUID(chosen), role, ip=session.client_ip())
            except AuthError as exc:
                st.error(str(exc))
            else:
                st.toast(f"Role set to {role}.", icon=":material/check:")
                st.rerun()
    with right, st.container(border=True):
        st.markdown("**Account status:** " + ("disabled" if target.disabled else "active"))
        label = "Enable account" if target.disabled else "Disable account and sign it out"
        if st.button(label, key="admin_toggle"):
            try:
                backend.set_disabled(
                    actor, uuid.UUID(chosen), not target.disabled, ip=session.client_ip()
                )
            except AuthError as exc:
                st.error(str(exc))
            else:
                st.rerun()

with audit_tab:
    entries = backend.audit_log(actor, limit=500)
    st.caption(f"The {len(entries)} most recent security events, newest first (UTC).")
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "time": e.at,
                    "event": e.event,
                    "user": e.email or (str(e.user_id) if e.user_id else ""),
                    "ip": e.ip,
                    "detail": json.dumps(e.detail, sort_keys=True) if e.detail else "",
                }
                for e in entries
            ]
        ),
        hide_index=True,
        width="stretch",
    )
