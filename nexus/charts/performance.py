"""Performance figures: cumulative return vs benchmark, return methods, allocation drift.

Pure builders: data in, ``go.Figure`` out (no I/O, no Streamlit). Returns and weights are
fractions (``0.05`` = 5 %) shown as percentages. ``source`` and ``as_of`` form the caption
under the plot (see :func:`nexus.charts.risk.source_caption`); empty input gives a
"No data yet" figure with that caption.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import plotly.graph_objects as go
import polars as pl

from nexus.charts.risk import (
    NEGATIVE,
    PERCENT_TICKS,
    POSITIVE,
    AsOf,
    finish,
    no_data,
    percent,
)
from nexus.charts.theme import MUTED, PALETTE, apply_theme

#: Default legend labels of :func:`cumulative_chart` columns.
DEFAULT_NAMES: dict[str, str] = {"portfolio": "Portfolio", "benchmark": "Benchmark"}
CURRENT_NAME = "Current"
TARGET_NAME = "Target"
NOT_AVAILABLE = "n/a"


def cumulative_chart(
    frame: pl.DataFrame | None,
    *,
    names: Mapping[str, str] | None = None,
    source: str = "",
    as_of: AsOf = None,
) -> go.Figure:
    """Cumulative return lines (portfolio first, then benchmarks) on a percent axis.

    Args:
        frame: ``date`` plus one column per line - cumulative return since the window's
            opening valuation as a fraction (``0.12`` = +12 %), e.g. ``portfolio`` and
            ``benchmark``. Nulls are gaps.
        names: legend labels per column; defaults to :data:`DEFAULT_NAMES`, else the
            column name.

    Returns:
        One ``Scatter`` per non-date column in frame order (the first drawn thicker), or
        a "No data yet" figure.

    Raises:
        ValueError: ``frame`` has rows but no ``date`` column or no value column.
    """
    hint = "Cumulative returns appear once the portfolio has a value history."
    if frame is None or frame.is_empty():
        return no_data(hint, source, as_of)
    columns = [c for c in frame.columns if c != "date"]
    if "date" not in frame.columns or not columns:
        raise ValueError("frame needs a date column and at least one return column")
    data = frame.sort("date").select("date", *(pl.col(c).cast(pl.Float64) for c in columns))
    if data.select(pl.any_horizontal(pl.col(*columns).is_not_null()).any()).item() is not True:
        return no_data(hint, source, as_of)

    labels = {**DEFAULT_NAMES, **(names or {})}
    fig = go.Figure()
    for i, column in enumerate(columns):
        label = labels.get(column, column)
        fig.add_trace(
            go.Scatter(
                x=data["date"].to_list(),
                y=data[column].to_list(),
                name=label,
                mode="lines",
                line={"color": PALETTE[i % len(PALETTE)], "width": 2.5 if i == 0 else 2},
                hovertemplate=f"{label}: %{{y:+.2%}}<extra></extra>",
            )
        )
    apply_theme(fig)
    fig.update_xaxes(type="date", hoverformat="%a %d %b %Y")
    fig.update_yaxes(tickformat=PERCENT_TICKS, zeroline=True, zerolinecolor=MUTED)
    return finish(fig, source, as_of)


def method_comparison(
    values: Mapping[str, float | None] | None, *, source: str = "", as_of: AsOf = None
) -> go.Figure:
    """Horizontal bars comparing return methods (TWR, XIRR, Modified Dietz, Simple...).

    Args:
        values: method label -> return as a fraction, in display order (top first). A
            ``None`` or non-finite value (e.g. XIRR that did not converge) is drawn as an
            empty bar labelled ``"n/a"``.

    Returns:
        One ``Bar`` (``orientation="h"``) whose ``text`` holds the percentages (two
        decimals), green for gains and red for losses; or a "No data yet" figure when no
        value is available.
    """
    hint = "Return figures appear once the portfolio has a value history."
    items = list((values or {}).items())
    numbers = [float(v) if _finite(v) else None for _, v in items]
    known = [v for v in numbers if v is not None]
    if not known:
        return no_data(hint, source, as_of)

    labels = [str(k) for k, _ in items]
    text = [percent(v, 2) if v is not None else NOT_AVAILABLE for v in numbers]
    colours = [NEGATIVE if (v or 0.0) < 0 else POSITIVE for v in numbers]
    fig = go.Figure(
        go.Bar(
            x=[v if v is not None else 0.0 for v in numbers],
            y=labels,
            orientation="h",
            name="Return",
            marker={"color": colours},
            text=text,
            textposition="outside",
            cliponaxis=False,
            textfont={"size": 14},
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    apply_theme(fig)
    low, high = min(0.0, *known), max(0.0, *known)
    pad = 0.5 * ((high - low) or 0.01)  # room for the outside labels on narrow screens
    fig.update_layout(hovermode="closest", showlegend=False, bargap=0.35)
    fig.update_xaxes(tickformat=PERCENT_TICKS, range=[low - pad, high + pad])
    fig.update_yaxes(type="category", autorange="reversed", ticklabelstandoff=6)
    fig.update_layout(height=max(240, 56 * len(items) + 140))
    return finish(fig, source, as_of)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def allocation_drift_chart(
    drift_frame: pl.DataFrame | None, *, source: str = "", as_of: AsOf = None
) -> go.Figure:
    """Current versus target weight per bucket as grouped horizontal bars.

    Args:
        drift_frame: :func:`nexus.analytics.rebalance.drift` output - ``bucket``,
            ``weight`` and ``target_weight`` (fractions); ``drift`` is shown in the hover
            when present. Rows are drawn top-to-bottom in frame order.

    Returns:
        Two ``Bar`` traces, ``"Current"`` then ``"Target"``, or a "No data yet" figure.

    Raises:
        ValueError: a non-empty frame lacks a required column.
    """
    hint = "Set target weights to compare them with your allocation."
    if drift_frame is None or drift_frame.is_empty():
        return no_data(hint, source, as_of)
    missing = [c for c in ("bucket", "weight", "target_weight") if c not in drift_frame.columns]
    if missing:
        raise ValueError(f"drift frame is missing column(s): {', '.join(missing)}")
    data = drift_frame.with_columns(pl.col("weight", "target_weight").cast(pl.Float64))
    if "drift" not in data.columns:
        data = data.with_columns((pl.col("weight") - pl.col("target_weight")).alias("drift"))
    buckets = [str(b) for b in data["bucket"].to_list()]
    drifts = data["drift"].cast(pl.Float64).to_list()

    fig = go.Figure()
    for name, column, colour in (
        (CURRENT_NAME, "weight", PALETTE[0]),
        (TARGET_NAME, "target_weight", PALETTE[7]),
    ):
        fig.add_trace(
            go.Bar(
                x=data[column].to_list(),
                y=buckets,
                orientation="h",
                name=name,
                marker={"color": colour},
                customdata=drifts,
                hovertemplate=(
                    f"{name}: %{{x:.1%}}"
                    + (" (drift %{customdata:+.1%})" if column == "weight" else "")
                    + "<extra></extra>"
                ),
            )
        )
    apply_theme(fig)
    fig.update_layout(barmode="group", hovermode="y unified", bargap=0.25, bargroupgap=0.05)
    fig.update_xaxes(tickformat=PERCENT_TICKS, rangemode="tozero")
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(height=max(280, 48 * len(buckets) + 140))
    return finish(fig, source, as_of)
