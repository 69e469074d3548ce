"""Streamlit-only code: guards, session cookie, reusable widgets and formatting."""
