"""Formatting for display: money, percentages, and escaping user text for Markdown."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CHF": "CHF ", "JPY": "¥"}


def md_escape(text: str) -> str:
    """Escape user text so Markdown shows it literally (no links, images or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def money(value: float | None, currency: str, *, signed: bool = False, whole: bool = False) -> str:
    """``$12,345.67``; ``None`` shows as an em dash. JPY has no decimals; ``whole`` drops
    them for every currency (headline tiles, where the cents do not fit)."""
    if value is None:
        return "—"
    decimals = 0 if currency == "JPY" or whole else 2
    sign = "+" if signed and value > 0 else ("−" if value < 0 else "")
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{abs(value):,.{decimals}f}"


def percent(fraction: float | None, *, signed: bool = True, decimals: int = 2) -> str:
    """A fraction (0.0123) as ``+1.23%`` (typographic minus for losses)."""
    if fraction is None:
        return "—"
    sign = "+" if signed and fraction > 0 else ("−" if fraction < 0 else "")
    return f"{sign}{abs(fraction) * 100:.{decimals}f}%"


def delta(fraction: float | None) -> str | None:
    """A change for ``st.metric(delta=...)``: ``-1.22%`` with an ASCII minus, which is how
    Streamlit tells a fall (red, arrow down) from a rise; ``None`` shows no delta."""
    return None if fraction is None else f"{fraction * 100:+.2f}%"
