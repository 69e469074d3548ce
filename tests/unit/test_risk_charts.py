"""Risk and performance figure builders: assertions on figure data and layout."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest

from nexus.analytics.rebalance import drift
from nexus.charts.performance import (
    allocation_drift_chart,
    cumulative_chart,
    method_comparison,
)
from nexus.charts.risk import (
    MAX_LABELLED_SYMBOLS,
    MAX_LABELLED_YEARS,
    NEGATIVE,
    POSITIVE,
    correlation_heatmap,
    drawdown_chart,
    monthly_heatmap,
    return_distribution,
    rolling_chart,
    source_caption,
)

D = dt.date
AS_OF = D(2026, 11, 25)
CAPTION = "Demo data · as of 2026-11-25"
DATES = [D(2026, 11, 16), D(2026, 11, 17), D(2026, 11, 18), D(2026, 11, 19), D(2026, 11, 20)]


def texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def assert_no_data(fig: go.Figure) -> None:
    assert len(fig.data) == 0
    assert any("No data yet" in t for t in texts(fig))
    assert CAPTION in texts(fig)


def assert_phone_layout(fig: go.Figure) -> None:
    assert fig.layout.legend.orientation == "h"
    assert fig.layout.legend.yanchor == "bottom"
    assert fig.layout.autosize is True
    assert not fig.layout.title.text
    assert fig.layout.font.size is None or fig.layout.font.size >= 12
    assert fig.layout.template.layout.font.size >= 12
    pio.to_json(fig, validate=True)  # every property is a real Plotly property


# --------------------------------------------------------------------------- caption


def test_source_caption_formats():
    assert source_caption("Demo data", AS_OF) == CAPTION
    assert (
        source_caption("Source: tiingo", dt.datetime(2026, 11, 25, 21, 40))
        == "Source: tiingo · as of 2026-11-25 21:40 UTC"
    )
    assert source_caption("", AS_OF) == "as of 2026-11-25"
    assert source_caption("Demo data", None) == "Demo data"
    assert source_caption(None, None) == ""


# --------------------------------------------------------------------------- drawdown


def test_drawdown_chart_traces_and_max_annotation():
    fig = drawdown_chart(DATES, [0.0, -0.05, -0.125, None, -0.02], source="Demo data", as_of=AS_OF)
    assert len(fig.data) == 1
    area = fig.data[0]
    assert list(area.x) == [DATES[0], DATES[1], DATES[2], DATES[4]]  # null point skipped
    assert list(area.y) == [0.0, -0.05, -0.125, -0.02]
    assert area.fill == "tozeroy"
    assert "%{y:.2%}" in area.hovertemplate
    (marker,) = [a for a in fig.layout.annotations if a.name == "max_drawdown"]
    assert (marker.x, marker.y) == (D(2026, 11, 18), -0.125)
    assert marker.text.startswith("Max drawdown -12.5%")
    assert "18 Nov 2026" in marker.text
    assert CAPTION in texts(fig)
    assert fig.layout.yaxis.tickformat.endswith("%")
    assert_phone_layout(fig)


def test_drawdown_chart_accepts_series_and_sorts():
    fig = drawdown_chart(pl.Series(DATES[::-1]), pl.Series([-0.3, 0.0, -0.1, 0.0, 0.0]))
    assert list(fig.data[0].y) == [0.0, 0.0, -0.1, 0.0, -0.3]
    (marker,) = [a for a in fig.layout.annotations if a.name == "max_drawdown"]
    assert marker.x == DATES[4]  # -0.3 belongs to the last date
    assert marker.ax < 0  # label points back into the plot near the right edge


def test_drawdown_chart_empty_and_mismatch():
    assert_no_data(drawdown_chart([], [], source="Demo data", as_of=AS_OF))
    assert_no_data(drawdown_chart(DATES[:1], [None], source="Demo data", as_of=AS_OF))
    with pytest.raises(ValueError, match="differ in length"):
        drawdown_chart(DATES, [0.0])


# --------------------------------------------------------------------------- monthly heatmap


def test_monthly_heatmap_grid_and_formatting():
    table = pl.DataFrame(
        {"year": [2026, 2025, 2025], "month": [2, 11, 12], "return": [0.05, 0.012, -0.034]}
    )
    fig = monthly_heatmap(table, source="Demo data", as_of=AS_OF)
    (heat,) = fig.data
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    months += ["Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    assert list(heat.y) == months
    assert list(heat.x) == ["2025", "2026"]
    # one row per month, one column per year
    expected = [[None, None] for _ in range(12)]
    expected[1][1] = 0.05  # Feb 2026
    expected[10][0] = 0.012  # Nov 2025
    expected[11][0] = -0.034  # Dec 2025
    assert [list(row) for row in heat.z] == expected
    assert heat.zmid == 0
    assert heat.colorscale[0][1] == NEGATIVE
    assert heat.colorscale[-1][1] == POSITIVE
    assert heat.texttemplate == "%{z:.1%}"
    assert "%{z:.2%}" in heat.hovertemplate
    assert heat.textfont.size >= 12
    assert fig.layout.yaxis.autorange == "reversed"  # January at the top
    assert CAPTION in texts(fig)
    assert_phone_layout(fig)


def test_monthly_heatmap_hides_cell_values_when_too_many_years():
    years = list(range(2026 - MAX_LABELLED_YEARS, 2027))  # one more than fits
    table = pl.DataFrame({"year": years, "month": [1] * len(years), "return": [0.01] * len(years)})
    assert monthly_heatmap(table).data[0].texttemplate is None
    assert monthly_heatmap(table, show_values=True).data[0].texttemplate == "%{z:.1%}"
    assert monthly_heatmap(table.head(MAX_LABELLED_YEARS)).data[0].texttemplate is not None


def test_monthly_heatmap_empty_and_bad_columns():
    assert_no_data(monthly_heatmap(None, source="Demo data", as_of=AS_OF))
    empty = pl.DataFrame(schema={"year": pl.Int32, "month": pl.Int32, "return": pl.Float64})
    assert_no_data(monthly_heatmap(empty, source="Demo data", as_of=AS_OF))
    with pytest.raises(ValueError, match="return"):
        monthly_heatmap(pl.DataFrame({"year": [2026], "month": [1]}))


# --------------------------------------------------------------------------- rolling


def rolling_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": DATES,
            "volatility": [None, None, 0.12, 0.15, 0.14],
            "sharpe": [None, None, 1.2, 0.8, -0.1],
        }
    )


def test_rolling_chart_lines_and_axes():
    fig = rolling_chart(
        rolling_frame(),
        ["volatility"],
        "Rolling 63-day volatility",
        percent_axis=True,
        names={"volatility": "Volatility"},
        source="Demo data",
        as_of=AS_OF,
    )
    (line,) = fig.data
    assert line.name == "Volatility"
    assert list(line.y) == [None, None, 0.12, 0.15, 0.14]
    assert "%{y:.2%}" in line.hovertemplate
    assert fig.layout.yaxis.title.text == "Rolling 63-day volatility"
    assert fig.layout.yaxis.tickformat.endswith("%")
    assert CAPTION in texts(fig)
    assert_phone_layout(fig)

    ratios = rolling_chart(rolling_frame(), ["sharpe", "volatility"], "Rolling Sharpe")
    assert [t.name for t in ratios.data] == ["sharpe", "volatility"]
    assert "%{y:.2f}" in ratios.data[0].hovertemplate
    assert not ratios.layout.yaxis.tickformat.endswith("%")
    assert ratios.data[0].line.color != ratios.data[1].line.color


def test_rolling_chart_empty_and_errors():
    warm_up = rolling_frame().with_columns(pl.lit(None, dtype=pl.Float64).alias("volatility"))
    assert_no_data(rolling_chart(warm_up, ["volatility"], "x", source="Demo data", as_of=AS_OF))
    assert_no_data(rolling_chart(None, ["volatility"], "x", source="Demo data", as_of=AS_OF))
    with pytest.raises(ValueError, match="beta"):
        rolling_chart(rolling_frame(), ["beta"], "x")
    with pytest.raises(ValueError, match="at least one column"):
        rolling_chart(rolling_frame(), [], "x")


# --------------------------------------------------------------------------- correlation


def test_correlation_heatmap_from_labelled_matrix():
    matrix = pl.DataFrame(
        {"symbol": ["AAA", "BBB"], "BBB": [-0.4, 1.0], "AAA": [1.0, -0.4], "extra": [0.0, 0.0]}
    )
    fig = correlation_heatmap(matrix, source="Demo data", as_of=AS_OF)
    (heat,) = fig.data
    assert list(heat.x) == ["AAA", "BBB"]
    assert list(heat.y) == ["AAA", "BBB"]
    assert [list(r) for r in heat.z] == [[1.0, -0.4], [-0.4, 1.0]]
    assert (heat.zmin, heat.zmax, heat.zmid) == (-1, 1, 0)
    assert heat.texttemplate == "%{z:.2f}"
    assert heat.showscale is False
    assert fig.layout.yaxis.autorange == "reversed"  # diagonal from the top left
    assert CAPTION in texts(fig)
    assert_phone_layout(fig)


def test_correlation_heatmap_from_polars_corr_and_many_symbols():
    returns = pl.DataFrame({"A": [0.01, 0.02, -0.01], "B": [0.02, 0.04, -0.02]})
    fig = correlation_heatmap(returns.corr())
    assert fig.data[0].z[0][1] == pytest.approx(1.0)  # B = 2 * A
    n = MAX_LABELLED_SYMBOLS + 1
    names = [f"S{i:02d}" for i in range(n)]
    identity = pl.DataFrame(
        {s: [1.0 if i == j else 0.0 for i in range(n)] for j, s in enumerate(names)}
    )
    crowded = correlation_heatmap(identity)
    assert crowded.data[0].texttemplate is None
    assert crowded.data[0].showscale is True
    with pytest.raises(ValueError, match="square"):
        correlation_heatmap(pl.DataFrame({"A": [1.0, 0.5]}))
    assert_no_data(correlation_heatmap(None, source="Demo data", as_of=AS_OF))


# --------------------------------------------------------------------------- distribution


def test_return_distribution_histogram_and_risk_lines():
    fig = return_distribution(
        [0.01, -0.02, None, float("nan"), 0.005, -0.04],
        0.021,  # VaR as a positive loss
        -0.035,  # CVaR as a return quantile
        confidence=0.95,
        source="Demo data",
        as_of=AS_OF,
    )
    (hist,) = fig.data
    assert isinstance(hist, go.Histogram)
    assert list(hist.x) == [0.01, -0.02, 0.005, -0.04]
    assert fig.layout.xaxis.tickformat.endswith("%")
    lines = {s.legendgroup: s for s in fig.layout.shapes}
    assert lines["var"].x0 == lines["var"].x1 == pytest.approx(-0.021)
    assert lines["cvar"].x0 == pytest.approx(-0.035)
    assert lines["var"].name == "VaR 95%: -2.10%"
    assert lines["cvar"].name == "CVaR 95%: -3.50%"
    assert all(s.showlegend for s in fig.layout.shapes)
    assert CAPTION in texts(fig)
    assert_phone_layout(fig)


def test_return_distribution_without_lines_or_data():
    fig = return_distribution(pl.Series([0.01, 0.02]), None, float("nan"))
    assert len(fig.layout.shapes) == 0
    assert_no_data(return_distribution([], 0.02, 0.03, source="Demo data", as_of=AS_OF))


# --------------------------------------------------------------------------- cumulative


def test_cumulative_chart_lines_in_percent():
    frame = pl.DataFrame(
        {
            "date": DATES[2::-1],
            "portfolio": [0.031, 0.01, 0.0],
            "benchmark": [None, -0.005, 0.0],
        }
    )
    fig = cumulative_chart(frame, names={"benchmark": "S&P 500"}, source="Demo data", as_of=AS_OF)
    portfolio, benchmark = fig.data
    assert portfolio.name == "Portfolio"
    assert benchmark.name == "S&P 500"
    assert list(portfolio.x) == DATES[:3]
    assert list(portfolio.y) == [0.0, 0.01, 0.031]
    assert list(benchmark.y) == [0.0, -0.005, None]
    assert portfolio.line.width > benchmark.line.width
    assert "%{y:+.2%}" in portfolio.hovertemplate
    assert fig.layout.yaxis.tickformat.endswith("%")
    assert CAPTION in texts(fig)
    assert_phone_layout(fig)


def test_cumulative_chart_empty():
    assert_no_data(cumulative_chart(None, source="Demo data", as_of=AS_OF))
    nulls = pl.DataFrame(
        {"date": DATES[:2], "portfolio": [None, None]}, schema_overrides={"portfolio": pl.Float64}
    )
    assert_no_data(cumulative_chart(nulls, source="Demo data", as_of=AS_OF))
    with pytest.raises(ValueError, match="date"):
        cumulative_chart(pl.DataFrame({"portfolio": [0.1]}))


# --------------------------------------------------------------------------- methods


def test_method_comparison_bars_labelled_in_percent():
    fig = method_comparison(
        {"TWR": 0.1234, "XIRR": None, "Modified Dietz": -0.0205, "Simple": 0.1},
        source="Demo data",
        as_of=AS_OF,
    )
    (bars,) = fig.data
    assert bars.orientation == "h"
    assert list(bars.y) == ["TWR", "XIRR", "Modified Dietz", "Simple"]
    assert list(bars.x) == [0.1234, 0.0, -0.0205, 0.1]
    assert list(bars.text) == ["12.34%", "n/a", "-2.05%", "10.00%"]
    assert list(bars.marker.color) == [POSITIVE, POSITIVE, NEGATIVE, POSITIVE]
    assert fig.layout.yaxis.autorange == "reversed"  # first method on top
    low, high = fig.layout.xaxis.range
    assert low < -0.0205 and high > 0.1234  # room for the outside labels
    assert CAPTION in texts(fig)
    assert_phone_layout(fig)


def test_method_comparison_empty():
    assert_no_data(method_comparison({}, source="Demo data", as_of=AS_OF))
    assert_no_data(method_comparison({"XIRR": None}, source="Demo data", as_of=AS_OF))


# --------------------------------------------------------------------------- drift


def test_allocation_drift_chart_from_drift_output():
    current = pl.DataFrame({"bucket": ["equity", "bond"], "market_value": [700.0, 300.0]})
    frame = drift(current, {"equity": 0.6, "bond": 0.3, "gold": 0.1})
    fig = allocation_drift_chart(frame, source="Demo data", as_of=AS_OF)
    current_bars, target_bars = fig.data
    assert (current_bars.name, target_bars.name) == ("Current", "Target")
    assert list(current_bars.y) == ["equity", "bond", "gold"]
    assert list(current_bars.x) == pytest.approx([0.7, 0.3, 0.0])
    assert list(target_bars.x) == pytest.approx([0.6, 0.3, 0.1])
    assert list(current_bars.customdata) == pytest.approx([0.1, 0.0, -0.1])
    assert "%{customdata:+.1%}" in current_bars.hovertemplate
    assert fig.layout.barmode == "group"
    assert fig.layout.xaxis.tickformat.endswith("%")
    assert CAPTION in texts(fig)
    assert_phone_layout(fig)


def test_allocation_drift_chart_empty_and_bad_frame():
    assert_no_data(allocation_drift_chart(None, source="Demo data", as_of=AS_OF))
    with pytest.raises(ValueError, match="target_weight"):
        allocation_drift_chart(pl.DataFrame({"bucket": ["a"], "weight": [1.0]}))
