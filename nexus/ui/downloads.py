"""Download buttons for any computed series: the same frame as CSV and as Parquet.

Pages call :func:`series_downloads` under a chart or table so every number on screen can
be taken away: ``series_downloads(frame, "performance-twr", key="twr")``. The file names
are the stem plus today's date, e.g. ``performance-twr-2026-11-25.csv``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

import polars as pl
import streamlit as st

from nexus.portfolio.export import frame_csv, frame_parquet


def file_stem(text: str) -> str:
    """A safe, readable file-name stem: lower case, letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-")
    return stem[:60] or "data"


def series_downloads(frame: pl.DataFrame, stem: str, *, key: str) -> None:
    """A pair of download buttons (CSV, Parquet) for ``frame``; ``key`` keeps them apart
    when a page has several."""
    name = f"{file_stem(stem)}-{datetime.now(UTC):%Y-%m-%d}"
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "CSV",
            data=frame_csv(frame),
            file_name=f"{name}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key=f"{key}_csv",
            help="The series as comma-separated text (ISO dates, decimal point).",
        )
        st.download_button(
            "Parquet",
            data=frame_parquet(frame),
            file_name=f"{name}.parquet",
            mime="application/vnd.apache.parquet",
            icon=":material/download:",
            on_click="ignore",
            key=f"{key}_parquet",
            help="The series as Parquet (column types kept), for pandas, polars, DuckDB …",
        )
