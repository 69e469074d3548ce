"""Risk figures: drawdown, monthly-return heatmap, rolling metrics, correlation, VaR.

Pure builders: data in, ``go.Figure`` out (no I/O, no Streamlit). Returns, drawdowns,
volatility, VaR and CVaR are fractions (``-0.05`` = -5 %) shown as percentages. Every
builder takes ``source`` (e.g. ``"Demo data"`` or a page's source note) and ``as_of`` (a
date or a naive-UTC datetime); together they form the caption under the plot, e.g.
``"Demo data · as of 2026-11-25"``. Empty input gives a "No data yet" figure (with the
caption) instead of raising.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from nexus.charts.theme import MUTED, PALETTE, add_caption, apply_theme, empty_figure

NEGATIVE = PALETTE[5]  # vermillion
POSITIVE = PALETTE[2]  # bluish green
NEUTRAL = "#f2f2f2"
#: Diverging scale for returns: red (loss) - neutral at 0 - green (gain); use ``zmid=0``.
RETURN_SCALE: list[list[float | str]] = [[0.0, NEGATIVE], [0.5, NEUTRAL], [1.0, POSITIVE]]
#: Diverging scale for correlations -1..1: red - neutral - blue.
CORRELATION_SCALE: list[list[float | str]] = [
    [0.0, NEGATIVE],
    [0.5, NEUTRAL],
    [1.0, PALETTE[0]],
]
#: Axis tick format for fractions shown as percentages ("12%", "0.5%").
PERCENT_TICKS = ",.1~%"
MONTHS: tuple[str, ...] = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
#: Monthly returns are printed in the heatmap cells up to this many years (columns).
MAX_LABELLED_YEARS = 6
#: Correlation values are printed in the cells up to this many symbols.
MAX_LABELLED_SYMBOLS = 15

DRAWDOWN_NAME = "Drawdown"
RETURNS_NAME = "Returns"

AsOf = dt.date | dt.datetime | None


# --------------------------------------------------------------------------- shared helpers


def source_caption(source: str | None, as_of: AsOf) -> str:
    """``"<source> · as of <date>"``; a datetime shows ``YYYY-MM-DD HH:MM UTC``."""
    parts = [source.strip()] if source and source.strip() else []
    if isinstance(as_of, dt.datetime):
        parts.append(f"as of {as_of:%Y-%m-%d %H:%M} UTC")
    elif isinstance(as_of, dt.date):
        parts.append(f"as of {as_of:%Y-%m-%d}")
    return " · ".join(parts)


def finish(fig: go.Figure, source: str | None, as_of: AsOf) -> go.Figure:
    """Add the source/as-of caption (if any) and return ``fig``."""
    text = source_caption(source, as_of)
    return add_caption(fig, text) if text else fig


def no_data(hint: str, source: str | None, as_of: AsOf) -> go.Figure:
    """The shared "No data yet" figure, with ``hint`` and the caption."""
    return finish(empty_figure(hint=hint), source, as_of)


def percent(value: float, decimals: int = 1) -> str:
    """``-0.1234`` -> ``"-12.3%"`` (ASCII minus, for annotations)."""
    return f"{value:.{decimals}%}"


def _day(value: dt.date) -> str:
    """``3 Jan 2026`` (no zero padding)."""
    return f"{value.day} {value:%b %Y}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _series(values: Sequence[object] | pl.Series, name: str) -> pl.Series:
    return values.alias(name) if isinstance(values, pl.Series) else pl.Series(name, values)


def _floats(values: Sequence[float | None] | pl.Series, name: str) -> pl.Series:
    """Float64 series; ints, ``None`` and ``NaN`` (to null) accepted."""
    if not isinstance(values, pl.Series):
        values = pl.Series(name, values, dtype=pl.Float64, strict=False)
    return values.alias(name).cast(pl.Float64).fill_nan(None)


def _size_rows(fig: go.Figure, rows: int, *, per_row: int, minimum: int) -> None:
    """Height that grows with the number of categorical rows (width stays responsive)."""
    fig.update_layout(height=max(minimum, per_row * rows + 140))


# --------------------------------------------------------------------------- drawdown


def drawdown_chart(
    dates: Sequence[dt.date] | pl.Series,
    drawdown: Sequence[float | None] | pl.Series,
    *,
    source: str = "",
    as_of: AsOf = None,
) -> go.Figure:
    """Underwater chart: drawdown from the running peak, with the maximum annotated.

    Args:
        dates: valuation dates.
        drawdown: fraction below the running peak on each date (``0`` at a peak,
            ``-0.2`` = 20 % below it). Null or NaN points are skipped.

    Returns:
        One filled ``Scatter`` (``name="Drawdown"``) and an annotation named
        ``"max_drawdown"`` at the deepest point (first one on ties), or a "No data yet"
        figure.

    Raises:
        ValueError: ``dates`` and ``drawdown`` differ in length.
    """
    if len(dates) != len(drawdown):
        raise ValueError(f"dates ({len(dates)}) and drawdown ({len(drawdown)}) differ in length")
    frame = (
        pl.DataFrame([_series(dates, "date"), _floats(drawdown, "drawdown")])
        .drop_nulls("drawdown")
        .sort("date")
    )
    if frame.is_empty():
        return no_data("Drawdowns appear once the portfolio has a value history.", source, as_of)

    trough = frame.row(int(frame["drawdown"].arg_min()), named=True)  # type: ignore[arg-type]
    fig = go.Figure(
        go.Scatter(
            x=frame["date"].to_list(),
            y=frame["drawdown"].to_list(),
            name=DRAWDOWN_NAME,
            mode="lines",
            line={"color": NEGATIVE, "width": 1.5},
            fill="tozeroy",
            fillcolor="rgba(213, 94, 0, 0.25)",
            hovertemplate=f"{DRAWDOWN_NAME}: %{{y:.2%}}<extra></extra>",
        )
    )
    apply_theme(fig)
    fig.update_xaxes(type="date", hoverformat="%a %d %b %Y")
    fig.update_yaxes(tickformat=PERCENT_TICKS, rangemode="tozero")
    fig.update_layout(showlegend=False)
    right_half = frame["date"].search_sorted(trough["date"]) > frame.height / 2
    fig.add_annotation(
        name="max_drawdown",
        x=trough["date"],
        y=trough["drawdown"],
        text=f"Max drawdown {percent(trough['drawdown'])}<br>{_day(trough['date'])}",
        showarrow=True,
        arrowhead=2,
        arrowcolor=MUTED,
        ax=-40 if right_half else 40,
        ay=-30,
        xanchor="right" if right_half else "left",
        align="left",
        font={"size": 13},
    )
    return finish(fig, source, as_of)


# --------------------------------------------------------------------------- monthly heatmap


def monthly_heatmap(
    table: pl.DataFrame | None,
    *,
    show_values: bool | None = None,
    source: str = "",
    as_of: AsOf = None,
) -> go.Figure:
    """Year x month heatmap of monthly returns, laid out for a phone.

    Months are rows (Jan at the top) and years are columns (oldest on the left), so the
    twelve months stack down a narrow screen instead of squeezing across it.

    Args:
        table: :func:`nexus.analytics.periods.monthly_returns_table` output (``year``,
            ``month`` 1-12, ``return`` as a fraction).
        show_values: print the percentage in each cell; by default only up to
            :data:`MAX_LABELLED_YEARS` years (wider grids stay legible on a 375-px screen
            and show values on hover/tap).

    Returns:
        One ``Heatmap``: ``x`` years as strings, ``y`` month names, ``z`` one row per
        month (``None`` where a month has no data), a red/green scale centred at 0; or a
        "No data yet" figure.
    """
    hint = "Monthly returns appear after the first month of history."
    if table is None or table.is_empty():
        return no_data(hint, source, as_of)
    missing = [c for c in ("year", "month", "return") if c not in table.columns]
    if missing:
        raise ValueError(f"monthly table is missing column(s): {', '.join(missing)}")

    values = table.select(
        pl.col("year").cast(pl.Int32), pl.col("month").cast(pl.Int32), pl.col("return")
    )
    years = values.select(pl.col("year").unique().sort())
    months = pl.DataFrame({"month": range(1, 13)}, schema={"month": pl.Int32})
    grid = (
        months.join(years, how="cross")
        .join(values, on=["year", "month"], how="left")
        .sort("month", "year")
        .group_by("month", maintain_order=True)
        .agg(pl.col("return"))
    )
    labelled = years.height <= MAX_LABELLED_YEARS if show_values is None else show_values
    fig = go.Figure(
        go.Heatmap(
            x=[str(y) for y in years["year"].to_list()],
            y=list(MONTHS),
            z=grid["return"].to_list(),
            colorscale=RETURN_SCALE,
            zmid=0,
            showscale=False,
            xgap=2,
            ygap=2,
            texttemplate="%{z:.1%}" if labelled else None,
            textfont={"size": 13},
            hoverongaps=False,
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
        )
    )
    apply_theme(fig)
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_xaxes(type="category", side="top", showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", showgrid=False)
    _size_rows(fig, len(MONTHS), per_row=30, minimum=240)
    return finish(fig, source, as_of)


# --------------------------------------------------------------------------- rolling metrics


def rolling_chart(
    frame: pl.DataFrame | None,
    columns: Sequence[str],
    title: str,
    *,
    percent_axis: bool = False,
    names: dict[str, str] | None = None,
    source: str = "",
    as_of: AsOf = None,
) -> go.Figure:
    """Lines of rolling metrics (volatility, Sharpe, beta...) over time.

    Args:
        frame: ``date`` plus the metric ``columns``; nulls (the warm-up window) are gaps.
        columns: columns to draw, one line each, in palette order.
        title: what is shown, e.g. ``"Rolling 63-day volatility"``; used as the y-axis
            title (the page gives the heading, as for every Nexus chart).
        percent_axis: values are fractions (volatility) - percent axis and hover; else
            plain ratios with two decimals (Sharpe, beta).
        names: legend labels per column (default: the column name).

    Returns:
        One ``Scatter`` per column, or a "No data yet" figure when there is no non-null
        value.

    Raises:
        ValueError: ``columns`` is empty or names a missing column.
    """
    if not columns:
        raise ValueError("rolling_chart needs at least one column")
    hint = "Rolling metrics need a longer history than the rolling window."
    if frame is None or frame.is_empty():
        return no_data(hint, source, as_of)
    missing = [c for c in ("date", *columns) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing column(s): {', '.join(missing)}")
    data = frame.sort("date").select("date", *(pl.col(c).cast(pl.Float64) for c in columns))
    if data.select(pl.any_horizontal(pl.col(*columns).is_not_null()).any()).item() is not True:
        return no_data(hint, source, as_of)

    labels = names or {}
    value_format = ".2%" if percent_axis else ".2f"
    fig = go.Figure()
    for i, column in enumerate(columns):
        label = labels.get(column, column)
        fig.add_trace(
            go.Scatter(
                x=data["date"].to_list(),
                y=data[column].to_list(),
                name=label,
                mode="lines",
                line={"color": PALETTE[i % len(PALETTE)], "width": 2},
                hovertemplate=f"{label}: %{{y:{value_format}}}<extra></extra>",
            )
        )
    apply_theme(fig)
    fig.update_xaxes(type="date", hoverformat="%a %d %b %Y")
    fig.update_yaxes(title_text=title, tickformat=PERCENT_TICKS if percent_axis else ".2~f")
    return finish(fig, source, as_of)


# --------------------------------------------------------------------------- correlation


def _correlation_grid(matrix: pl.DataFrame) -> tuple[list[str], list[list[float | None]]]:
    if "symbol" not in matrix.columns or matrix["symbol"].dtype != pl.Utf8:
        labels = list(matrix.columns)
        if len(labels) != matrix.height:
            raise ValueError(
                f"correlation matrix must be square: {matrix.height} rows, {len(labels)} columns"
            )
    else:
        labels = [str(s) for s in matrix["symbol"].to_list()]
        missing = [s for s in labels if s not in matrix.columns]
        if missing:
            raise ValueError(f"correlation matrix has no column for: {', '.join(missing)}")
    values = matrix.select(pl.col(labels).cast(pl.Float64).fill_nan(None))
    return labels, [list(row) for row in values.rows()]


def correlation_heatmap(
    matrix_frame: pl.DataFrame | None, *, source: str = "", as_of: AsOf = None
) -> go.Figure:
    """Symbols x symbols correlation heatmap on a fixed -1..1 diverging scale.

    Args:
        matrix_frame: either a ``symbol`` label column plus one column per symbol, or a
            square frame whose rows follow its column order (``polars.DataFrame.corr``).

    Returns:
        One ``Heatmap`` (rows top-to-bottom in label order, so the diagonal runs from the
        top left); values are printed in the cells when there are at most
        :data:`MAX_LABELLED_SYMBOLS` symbols, otherwise a colour bar is shown. A frame
        without symbols gives a "No data yet" figure.

    Raises:
        ValueError: the frame is not square or a label has no column.
    """
    hint = "Correlations need at least two holdings with a shared price history."
    if matrix_frame is None or matrix_frame.is_empty():
        return no_data(hint, source, as_of)
    labels, z = _correlation_grid(matrix_frame)
    if not labels:
        return no_data(hint, source, as_of)
    labelled = len(labels) <= MAX_LABELLED_SYMBOLS
    fig = go.Figure(
        go.Heatmap(
            x=labels,
            y=labels,
            z=z,
            zmin=-1,
            zmax=1,
            zmid=0,
            colorscale=CORRELATION_SCALE,
            xgap=1,
            ygap=1,
            texttemplate="%{z:.2f}" if labelled else None,
            textfont={"size": 12},
            showscale=not labelled,
            colorbar={"orientation": "h", "thickness": 12, "y": -0.25, "len": 0.8},
            hoverongaps=False,
            hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>",
        )
    )
    apply_theme(fig)
    fig.update_layout(hovermode="closest", showlegend=False)
    # labels on top: rotated names would collide with the caption below the plot
    fig.update_xaxes(type="category", side="top", showgrid=False, tickangle=-45)
    fig.update_yaxes(type="category", showgrid=False, autorange="reversed")
    _size_rows(fig, len(labels), per_row=32, minimum=320)
    return finish(fig, source, as_of)


# --------------------------------------------------------------------------- distribution


def return_distribution(
    returns: Sequence[float | None] | pl.Series,
    var: float | None = None,
    cvar: float | None = None,
    *,
    confidence: float | None = None,
    source: str = "",
    as_of: AsOf = None,
) -> go.Figure:
    """Histogram of periodic returns with Value-at-Risk and CVaR lines.

    Args:
        returns: periodic (e.g. daily) returns as fractions; null/NaN skipped.
        var: Value at Risk as a fraction. Either sign is accepted (a loss of 2 % may be
            given as ``0.02`` or as the return quantile ``-0.02``); the line is drawn at
            the return ``-abs(var)``.
        cvar: Conditional VaR (expected shortfall), same convention as ``var``.
        confidence: e.g. ``0.95``, shown in the legend ("VaR 95%").

    Returns:
        A ``Histogram`` (``name="Returns"``) plus dashed vertical line shapes named
        in the legend groups ``"var"`` and ``"cvar"`` (legend text e.g. ``"VaR 95%:
        -2.10%"``), or a "No data yet" figure.
    """
    values = _floats(returns, "return").drop_nulls()
    if values.is_empty():
        return no_data("The distribution appears once there are daily returns.", source, as_of)

    fig = go.Figure(
        go.Histogram(
            x=values.to_list(),
            name=RETURNS_NAME,
            marker={"color": PALETTE[0], "line": {"width": 0}},
            opacity=0.85,
            hovertemplate="%{x}<br>Count: %{y}<extra></extra>",
            xhoverformat=".2%",
        )
    )
    apply_theme(fig)
    fig.update_layout(hovermode="closest", bargap=0.05)
    fig.update_xaxes(tickformat=PERCENT_TICKS)
    level = f" {confidence:.0%}" if confidence is not None else ""
    for key, label, value, colour in (
        ("var", f"VaR{level}", var, PALETTE[1]),
        ("cvar", f"CVaR{level}", cvar, NEGATIVE),
    ):
        if not _is_number(value):
            continue
        x = -abs(float(value))  # type: ignore[arg-type]
        fig.add_shape(
            type="line",
            name=f"{label}: {percent(x, 2)}",
            legendgroup=key,
            x0=x,
            x1=x,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"color": colour, "width": 2, "dash": "dash"},
            showlegend=True,
        )
    return finish(fig, source, as_of)
