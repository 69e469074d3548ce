"""Plotly figure builders: frames in, ``go.Figure`` out (no I/O, no Streamlit)."""

from nexus.charts.allocation import allocation_donut
from nexus.charts.theme import apply_theme, empty_figure, nexus_template
from nexus.charts.value import value_over_time

__all__ = ["allocation_donut", "apply_theme", "empty_figure", "nexus_template", "value_over_time"]
