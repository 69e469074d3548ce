"""Portfolio Nexus — entry point.

``streamlit run Home.py`` finds the ASGI ``app`` below (Streamlit imports this module to
serve it, so ``__name__`` is not ``"__main__"`` then) and serves our routes and security
headers around the script; each browser session then runs this file as ``__main__``.
"""

import streamlit as st

if __name__ != "__main__":
    from starlette.middleware import Middleware

    from nexus.settings import SettingsError, get_settings
    from nexus.ui.server import SecurityHeaders, routes

    try:
        get_settings()  # a bad setting stops start-up with a message naming it
    except SettingsError as exc:
        raise SystemExit(f"Portfolio Nexus cannot start: {exc}") from None

    app = st.App(__file__, routes=routes(), middleware=[Middleware(SecurityHeaders)])
else:
    from nexus.ui.navigation import run

    run()
