"""View controls shared by the analysis pages; each one lives in the URL.

Widgets are bound to query parameters (``bind="query-params"``), so a copied link reopens
the same view: ``?portfolio=…&range=1Y&benchmark=SPY&basis=Price&method=XIRR``. Streamlit
puts a widget's *displayed* option in the URL, so the options here are short labels that
read well there. Invalid values in a URL are ignored and fall back to the defaults.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from nexus.analytics.performance import METHOD_LABELS, Basis
from nexus.analytics.periods import Range, Window, range_window

RANGE_KEY, FROM_KEY, TO_KEY = "range", "from", "to"
BENCHMARK_KEY, BASIS_KEY, METHOD_KEY = "benchmark", "basis", "method"
NO_BENCHMARK = "None"
BASIS_LABELS: dict[str, str] = {"total": "Total return", "price": "Price return"}
_BASIS_OPTIONS: dict[str, Basis] = {"Total": "total", "Price": "price"}
_METHOD_OPTIONS: dict[str, str] = {
    "TWR": "twr",
    "XIRR": "mwr",
    "Modified Dietz": "modified_dietz",
    "Simple": "simple",
}


def range_control(first_date: dt.date, as_of: dt.date, *, default: Range = Range.YTD) -> Window:
    """Range picker (1D … MAX, Custom) → the report window; a custom range asks for its
    dates. An invalid custom range shows why and falls back to MAX."""
    code = st.segmented_control(
        "Range",
        [r.value for r in Range],
        default=default.value,
        required=True,
        wrap=True,
        key=RANGE_KEY,
        bind="query-params",
    )
    if code == Range.CUSTOM:
        left, right = st.columns(2)
        start = left.date_input(
            "From",
            value=max(first_date, as_of - dt.timedelta(days=365)),
            min_value=first_date,
            max_value=as_of,
            key=FROM_KEY,
            bind="query-params",
        )
        end = right.date_input(
            "To", value=as_of, min_value=first_date, max_value=as_of, key=TO_KEY,
            bind="query-params",
        )  # fmt: skip
        try:
            return range_window(Range.CUSTOM, as_of, first_date, start, end)
        except ValueError as exc:
            st.warning(f"{exc} Showing the whole history instead.")
            return range_window(Range.MAX, as_of, first_date)
    return range_window(code or default, as_of, first_date)


def benchmark_control(symbols: list[str], *, default: str | None = None) -> str | None:
    """Benchmark symbol picker (or none) → the symbol; ``default``: the first of
    ``symbols`` (flagged benchmarks come first)."""
    options = [NO_BENCHMARK, *symbols]
    default = default or (symbols[0] if symbols else None)
    choice = st.selectbox(
        "Benchmark",
        options,
        index=options.index(default) if default in options else 0,
        key=BENCHMARK_KEY,
        bind="query-params",
    )
    return None if choice in (None, NO_BENCHMARK) else choice


def basis_control() -> Basis:
    """Total return (income counts) or price return."""
    choice = st.segmented_control(
        "Basis",
        list(_BASIS_OPTIONS),
        default="Total",
        required=True,
        key=BASIS_KEY,
        bind="query-params",
        help="Total return counts dividends and interest (less tax); price return does not.",
    )
    return _BASIS_OPTIONS.get(choice or "Total", "total")


def method_control() -> str:
    """The return method used for breakdown tables and ranking."""
    choice = st.segmented_control(
        "Method",
        list(_METHOD_OPTIONS),
        default="TWR",
        required=True,
        key=METHOD_KEY,
        bind="query-params",
        help="Used for the per-account and per-holding tables: "
        + "; ".join(METHOD_LABELS[m] for m in _METHOD_OPTIONS.values()),
    )
    return _METHOD_OPTIONS.get(choice or "TWR", "twr")
