"""Portfolio value over time (line/area) with cumulative net contributions."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from nexus.charts.theme import (
    PALETTE,
    add_caption,
    apply_theme,
    empty_figure,
    money_hover,
)

VALUE_NAME = "Total value"
CONTRIBUTIONS_NAME = "Net contributions"
EMPTY_HINT = "Add a transaction to see your portfolio value over time."


def value_over_time(daily: pl.DataFrame | None, *, currency: str, source_note: str) -> go.Figure:
    """Total value (filled line) and cumulative net contributions (dashed line).

    Args:
        daily: output of :func:`nexus.analytics.valuation.daily_values` - needs ``date``,
            ``total_value`` and ``cumulative_flows`` (base currency).
        currency: base currency code, used for axis and hover formatting.
        source_note: caption shown below the plot, e.g. ``"Demo data · as of 2026-11-25"``.

    Returns:
        Two traces (value first), or an empty figure with a "No data yet" message when
        ``daily`` is empty. The caption is added either way.
    """
    if daily is None or daily.is_empty():
        fig = empty_figure(hint=EMPTY_HINT)
        return add_caption(fig, source_note) if source_note else fig
    missing = [c for c in ("date", "total_value", "cumulative_flows") if c not in daily.columns]
    if missing:
        raise ValueError(f"daily frame is missing column(s): {', '.join(missing)}")

    frame = daily.sort("date")
    dates = frame["date"].to_list()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=frame["total_value"].to_list(),
            name=VALUE_NAME,
            mode="lines",
            line={"color": PALETTE[0], "width": 2.5},
            fill="tozeroy",
            fillcolor="rgba(0, 114, 178, 0.12)",
            hovertemplate=f"{VALUE_NAME}: {money_hover(currency)}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=frame["cumulative_flows"].to_list(),
            name=CONTRIBUTIONS_NAME,
            mode="lines",
            line={"color": PALETTE[1], "width": 2, "dash": "dash"},
            hovertemplate=f"{CONTRIBUTIONS_NAME}: {money_hover(currency)}<extra></extra>",
        )
    )
    apply_theme(fig, currency=currency)
    fig.update_xaxes(type="date", hoverformat="%a %d %b %Y")
    fig.update_yaxes(rangemode="tozero")
    if source_note:
        add_caption(fig, source_note)
    return fig
