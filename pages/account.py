"""Account: who you are, your role, and signing out."""

import streamlit as st

from nexus.ui import session
from nexus.ui.format import md_escape
from nexus.ui.guard import guard

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

st.title("Account")
with st.container(border=True):
    st.markdown(f"**E-mail:** {md_escape(actor.email)}")
    if actor.display_name:
        st.markdown(f"**Name:** {md_escape(actor.display_name)}")
    st.markdown(f"**Role:** {actor.role}")
    st.caption(
        "Admins manage the installation, analysts keep their own portfolios, viewers can look "
        "but not change anything."
    )
st.write("Signing out ends this session everywhere it was used, including copied links.")
if st.button("Sign out", icon=":material/logout:", key="account_sign_out"):
    session.end()
    st.rerun()
