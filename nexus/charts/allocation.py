"""Allocation donut of holdings by symbol (or any grouping column)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from nexus.charts.theme import (
    MUTED,
    PALETTE,
    apply_theme,
    currency_decimals,
    currency_prefix,
    empty_figure,
    format_money,
)

OTHER_LABEL = "Other"
UNKNOWN_LABEL = "Unknown"
EMPTY_HINT = "Add holdings with a price to see your allocation."


def allocation_donut(
    holdings: pl.DataFrame | None,
    *,
    by: str = "symbol",
    currency: str,
    max_slices: int = 8,
) -> go.Figure:
    """Donut of market value (base currency) grouped by ``by``.

    Args:
        holdings: output of :func:`nexus.analytics.valuation.holdings` (optionally joined
            with extra columns such as ``sector``); needs ``by`` and ``market_value``.
        by: grouping column; null labels show as "Unknown".
        currency: base currency code, used for hover and the centre total.
        max_slices: at most this many slices; the smallest groups merge into "Other".

    Returns:
        One ``Pie`` trace (largest slice first) with the total in the centre. Positions
        without a market value (missing price) are left out and named in a note. An empty
        or entirely unpriced ``holdings`` gives an empty figure with a "No data yet" message.

    Raises:
        ValueError: ``by`` or ``market_value`` is not a column of a non-empty frame, or
            ``max_slices`` < 2.
    """
    if max_slices < 2:
        raise ValueError("max_slices must be at least 2")
    if holdings is None or holdings.is_empty():
        return empty_figure(hint=EMPTY_HINT)
    missing = [c for c in (by, "market_value") if c not in holdings.columns]
    if missing:
        raise ValueError(f"holdings frame is missing column(s): {', '.join(missing)}")

    priced = pl.col("market_value").is_not_null() & (pl.col("market_value") > 0)
    unpriced = holdings.filter(pl.col("market_value").is_null())
    groups = (
        holdings.filter(priced)
        .with_columns(pl.col(by).cast(pl.Utf8).fill_null(UNKNOWN_LABEL).alias("_label"))
        .group_by("_label")
        .agg(pl.col("market_value").sum())
        .sort(["market_value", "_label"], descending=[True, False])
    )
    if groups.is_empty():
        return empty_figure(hint=EMPTY_HINT)
    if groups.height > max_slices:
        head = groups.head(max_slices - 1)
        rest = groups.slice(max_slices - 1)["market_value"].sum()
        groups = pl.concat(
            [head, pl.DataFrame({"_label": [OTHER_LABEL], "market_value": [float(rest)]})]
        )

    total = float(groups["market_value"].sum())
    decimals = currency_decimals(currency)
    fig = go.Figure(
        go.Pie(
            labels=groups["_label"].to_list(),
            values=groups["market_value"].to_list(),
            hole=0.58,
            sort=False,
            direction="clockwise",
            textinfo="percent",
            textposition="inside",
            insidetextorientation="horizontal",
            marker={"colors": list(PALETTE), "line": {"width": 1, "color": "rgba(0,0,0,0)"}},
            hovertemplate=(
                f"%{{label}}<br>{currency_prefix(currency)}%{{value:,.{decimals}f}}"
                "<br>%{percent:.1%}<extra></extra>"
            ),
        )
    )
    apply_theme(fig)
    fig.add_annotation(
        text=f"Total<br><b>{format_money(total, currency, decimals=0)}</b>",
        name="total",
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 15},
    )
    if unpriced.height and "symbol" in unpriced.columns:
        names = ", ".join(sorted(str(s) for s in unpriced["symbol"].unique().to_list()))
        fig.add_annotation(
            text=f"Excludes {unpriced.height} position(s) without a price: {names}",
            name="missing",
            xref="paper",
            yref="paper",
            x=0,
            y=0,
            xanchor="left",
            yanchor="top",
            yshift=-8,
            showarrow=False,
            font={"size": 12, "color": MUTED},
        )
    return fig
