"""Shared Plotly look for Nexus charts.

Pure helpers: every call builds new objects, nothing is registered globally (no
``pio.templates`` mutation), so pages can't affect each other.

The look: readable system fonts, a colour-blind-safe palette, transparent backgrounds
(works on Streamlit's light and dark themes), small fixed margins with ``automargin`` axes
so charts fit phone widths, ``hovermode="x unified"``, a horizontal legend pinned to the
bottom of the figure and no in-figure title (pages give the heading).
"""

from __future__ import annotations

import plotly.graph_objects as go

FONT_FAMILY = 'Inter, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
FONT_SIZE = 14

#: Okabe-Ito palette (colour-blind safe), blue first.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
)
MUTED = "#7f7f7f"
GRID = "rgba(128, 128, 128, 0.2)"

#: Bottom margin (px) leaving room for tick labels, a caption line and the legend.
BOTTOM_MARGIN = 96
#: Pixel offset of a caption below the plot area (under the x tick labels).
CAPTION_SHIFT = -34

NO_DATA_MESSAGE = "No data yet"

_CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "CNY": "CN¥",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "SGD": "S$",
    "CHF": "CHF ",
}
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "ISK", "HUF", "CLP", "VND"})


def currency_prefix(currency: str | None) -> str:
    """Symbol (or ``"CODE "``) shown before amounts in ``currency``; ``""`` if unknown."""
    if not currency:
        return ""
    code = currency.strip().upper()
    return _CURRENCY_SYMBOLS.get(code, f"{code} ")


def currency_decimals(currency: str | None) -> int:
    """Decimal places used when showing amounts in ``currency``."""
    return 0 if (currency or "").strip().upper() in _ZERO_DECIMAL_CURRENCIES else 2


def money_hover(currency: str | None, field: str = "y") -> str:
    """A hovertemplate fragment formatting ``%{field}`` as money, e.g. ``$%{y:,.2f}``."""
    return f"{currency_prefix(currency)}%{{{field}:,.{currency_decimals(currency)}f}}"


def format_money(value: float, currency: str | None, *, decimals: int | None = None) -> str:
    """Format ``value`` for display in text (annotations), e.g. ``-$1,234.50``."""
    places = currency_decimals(currency) if decimals is None else decimals
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_prefix(currency)}{abs(value):,.{places}f}"


def nexus_template() -> go.layout.Template:
    """A fresh copy of the shared template (fonts, palette, grid, hover, legend)."""
    axis = {
        "automargin": True,
        "gridcolor": GRID,
        "zerolinecolor": GRID,
        "linecolor": GRID,
        "ticks": "",
        "title": {"text": ""},
    }
    return go.layout.Template(
        layout=go.Layout(
            font={"family": FONT_FAMILY, "size": FONT_SIZE},
            colorway=list(PALETTE),
            paper_bgcolor="rgba(0,0,0,0)",
            plot_bgcolor="rgba(0,0,0,0)",
            hovermode="x unified",
            hoverlabel={"font": {"family": FONT_FAMILY, "size": 13}, "namelength": -1},
            xaxis=axis,
            yaxis=axis,
            legend=_legend(),
            margin=_margin(),
            autosize=True,
        )
    )


def _legend() -> dict[str, object]:
    return {
        "orientation": "h",
        "yref": "container",
        "y": 0,
        "yanchor": "bottom",
        "x": 0,
        "xanchor": "left",
        "title": {"text": ""},
        "bgcolor": "rgba(0,0,0,0)",
    }


def _margin() -> dict[str, int]:
    return {"l": 8, "r": 8, "t": 16, "b": BOTTOM_MARGIN, "pad": 0}


def apply_theme(fig: go.Figure, *, currency: str | None = None) -> go.Figure:
    """Apply the template plus explicit layout defaults; money y-axis if ``currency``.

    Returns the same figure (mutated) for chaining.
    """
    fig.update_layout(
        template=nexus_template(),
        hovermode="x unified",
        legend=_legend(),
        margin=_margin(),
        autosize=True,
        title={"text": ""},
    )
    if currency:
        fig.update_yaxes(tickprefix=currency_prefix(currency), tickformat="~s")
    return fig


def add_caption(fig: go.Figure, text: str) -> go.Figure:
    """Add a small muted caption (e.g. data source) left-aligned just below the plot."""
    fig.add_annotation(
        text=text,
        name="caption",
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        xanchor="left",
        yanchor="top",
        yshift=CAPTION_SHIFT,
        showarrow=False,
        align="left",
        font={"size": 12, "color": MUTED},
    )
    return fig


def empty_figure(message: str = NO_DATA_MESSAGE, *, hint: str | None = None) -> go.Figure:
    """A themed figure with no traces and a centred ``message`` (plus optional hint)."""
    fig = apply_theme(go.Figure())
    text = message if not hint else f"{message}<br><span style='font-size:13px'>{hint}</span>"
    fig.add_annotation(
        text=text,
        name="empty",
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 16, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(showlegend=False)
    return fig
