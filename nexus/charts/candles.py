"""Candlestick chart with volume: bars in, figure out."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from nexus.charts.theme import PALETTE, add_caption, apply_theme, empty_figure


def candlestick(
    bars: pl.DataFrame | None, *, symbol: str, currency: str, source_note: str
) -> go.Figure:
    """Daily OHLC candles (prices in ``currency``) above a volume bar chart."""
    if bars is None or bars.is_empty():
        return empty_figure(hint=f"No bars for {symbol} in this range.")
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.03
    )
    fig.add_trace(
        go.Candlestick(
            x=bars["date"].to_list(),
            open=bars["open"].to_list(),
            high=bars["high"].to_list(),
            low=bars["low"].to_list(),
            close=bars["close"].to_list(),
            name=symbol,
            increasing_line_color=PALETTE[2],
            decreasing_line_color=PALETTE[5],
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=bars["date"].to_list(),
            y=bars["volume"].to_list(),
            name="Volume",
            marker_color=PALETTE[7],
            hovertemplate="%{y:,.0f}<extra>Volume</extra>",
        ),
        row=2,
        col=1,
    )
    apply_theme(fig, currency=currency)
    fig.update_layout(xaxis_rangeslider_visible=False, showlegend=False, hovermode="x")
    fig.update_yaxes(title_text=currency, row=1, col=1)
    return add_caption(fig, source_note)
