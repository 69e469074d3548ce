"""Figure builders: assertions on figure data and layout, not on rendered images."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import polars as pl
import pytest

from nexus.analytics.valuation import DAILY_SCHEMA, HOLDINGS_SCHEMA, daily_values, holdings
from nexus.charts.allocation import allocation_donut
from nexus.charts.theme import (
    apply_theme,
    currency_prefix,
    empty_figure,
    format_money,
    money_hover,
    nexus_template,
)
from nexus.charts.value import value_over_time

D = dt.date
NOTE = "Demo data · as of 2026-11-25"


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def assert_shared_layout(fig: go.Figure) -> None:
    assert fig.layout.hovermode == "x unified"
    assert fig.layout.legend.orientation == "h"
    assert fig.layout.legend.yanchor == "bottom"
    assert not fig.layout.title.text
    assert fig.layout.template.layout.font.family is not None


def daily_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25)],
            "holdings_value": [900.0, 950.0, 1000.0],
            "cash_value": [100.0, 100.0, 100.0],
            "total_value": [1000.0, 1050.0, 1100.0],
            "net_flows": [1000.0, 0.0, 0.0],
            "cumulative_flows": [1000.0, 1000.0, 1000.0],
            "day_change": [0.0, 50.0, 50.0],
            "income": [0.0, 0.0, 0.0],
            "missing_prices": [[], [], []],
            "missing_fx": [[], [], []],
        },
        schema=DAILY_SCHEMA,
    )


def holdings_frame(values: dict[str, float | None], currency: str = "USD") -> pl.DataFrame:
    rows = [
        {
            "symbol": symbol,
            "quantity": 1.0,
            "currency": currency,
            "avg_cost": 1.0,
            "cost_basis": 1.0,
            "price": value,
            "price_date": D(2026, 11, 25) if value is not None else None,
            "market_value": value,
            "unrealised_pnl": None,
            "unrealised_pct": None,
            "weight": None,
            "day_change": None,
        }
        for symbol, value in values.items()
    ]
    return pl.DataFrame(rows, schema=HOLDINGS_SCHEMA)


# --------------------------------------------------------------------------- theme


def test_currency_formatting_helpers():
    assert currency_prefix("usd") == "$"
    assert currency_prefix("EUR") == "€"
    assert currency_prefix("SEK") == "SEK "
    assert money_hover("USD") == "$%{y:,.2f}"
    assert money_hover("JPY", "value") == "¥%{value:,.0f}"
    assert format_money(-1234.5, "GBP") == "-£1,234.50"


def test_template_is_fresh_each_call():
    first, second = nexus_template(), nexus_template()
    first.layout.font.size = 99
    assert second.layout.font.size != 99
    assert second.layout.hovermode == "x unified"


def test_apply_theme_sets_shared_layout():
    fig = apply_theme(go.Figure(), currency="EUR")
    assert_shared_layout(fig)
    assert fig.layout.yaxis.tickprefix == "€"


def test_empty_figure_has_message_and_no_traces():
    fig = empty_figure(hint="Add something.")
    assert len(fig.data) == 0
    assert "No data yet" in annotation_texts(fig)[0]
    assert "Add something." in annotation_texts(fig)[0]


# --------------------------------------------------------------------------- value chart


def test_value_over_time_traces():
    fig = value_over_time(daily_frame(), currency="USD", source_note=NOTE)
    assert len(fig.data) == 2
    value, contributions = fig.data
    assert value.name == "Total value"
    assert list(value.x) == [D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25)]
    assert list(value.y) == [1000.0, 1050.0, 1100.0]
    assert value.fill == "tozeroy"
    assert "$%{y:,.2f}" in value.hovertemplate
    assert contributions.name == "Net contributions"
    assert list(contributions.y) == [1000.0, 1000.0, 1000.0]
    assert contributions.line.dash == "dash"
    assert NOTE in annotation_texts(fig)
    assert_shared_layout(fig)
    assert fig.layout.yaxis.tickprefix == "$"


def test_value_over_time_sorts_by_date_and_uses_currency():
    fig = value_over_time(daily_frame().reverse(), currency="EUR", source_note=NOTE)
    assert list(fig.data[0].y) == [1000.0, 1050.0, 1100.0]
    assert "€%{y:,.2f}" in fig.data[1].hovertemplate


@pytest.mark.parametrize("daily", [None, pl.DataFrame(schema=DAILY_SCHEMA)])
def test_value_over_time_empty(daily):
    fig = value_over_time(daily, currency="USD", source_note=NOTE)
    assert len(fig.data) == 0
    texts = annotation_texts(fig)
    assert any("No data yet" in t for t in texts)
    assert NOTE in texts


def test_value_over_time_from_real_daily_values():
    ledger = pl.DataFrame(
        {
            "date": [D(2026, 11, 23)],
            "kind": ["deposit"],
            "symbol": [None],
            "quantity": [0.0],
            "price": [0.0],
            "amount": [250.0],
            "fee": [0.0],
            "currency": ["USD"],
        },
        schema_overrides={"symbol": pl.Utf8},
    )
    no_closes = pl.DataFrame(
        schema={"symbol": pl.Utf8, "date": pl.Date, "close": pl.Float64, "currency": pl.Utf8}
    )
    no_fx = pl.DataFrame(schema={"date": pl.Date, "currency": pl.Utf8, "rate": pl.Float64})
    daily = daily_values(ledger, no_closes, no_fx, end=D(2026, 11, 25))
    fig = value_over_time(daily, currency="USD", source_note=NOTE)
    assert list(fig.data[0].y) == [250.0, 250.0, 250.0]
    assert list(fig.data[1].y) == [250.0, 250.0, 250.0]
    empty = allocation_donut(
        holdings(ledger, no_closes, no_fx, as_of=D(2026, 11, 25)), currency="USD"
    )
    assert any("No data yet" in t for t in annotation_texts(empty))


# --------------------------------------------------------------------------- allocation


def test_allocation_donut_by_symbol():
    fig = allocation_donut(
        holdings_frame({"AAA": 1000.0, "BBB": 2000.0, "CCC": None}), currency="USD"
    )
    assert len(fig.data) == 1
    pie = fig.data[0]
    assert isinstance(pie, go.Pie)
    assert list(pie.labels) == ["BBB", "AAA"]
    assert list(pie.values) == [2000.0, 1000.0]
    assert pie.hole > 0
    assert "$%{value:,.2f}" in pie.hovertemplate
    texts = annotation_texts(fig)
    assert "Total<br><b>$3,000</b>" in texts
    assert "Excludes 1 position(s) without a price: CCC" in texts
    assert fig.layout.legend.orientation == "h"
    assert not fig.layout.title.text


def test_allocation_donut_by_other_column():
    frame = holdings_frame({"AAA": 100.0, "BBB": 300.0}).with_columns(
        pl.Series("sector", ["Tech", None])
    )
    fig = allocation_donut(frame, by="sector", currency="EUR")
    assert list(fig.data[0].labels) == ["Unknown", "Tech"]
    assert list(fig.data[0].values) == [300.0, 100.0]
    assert "Total<br><b>€400</b>" in annotation_texts(fig)


def test_allocation_donut_groups_small_slices_into_other():
    values = {f"S{i}": float(100 - i) for i in range(5)}  # 100, 99, 98, 97, 96
    fig = allocation_donut(holdings_frame(values), currency="USD", max_slices=3)
    assert list(fig.data[0].labels) == ["S0", "S1", "Other"]
    assert list(fig.data[0].values) == [100.0, 99.0, 98.0 + 97.0 + 96.0]


@pytest.mark.parametrize(
    "frame",
    [None, pl.DataFrame(schema=HOLDINGS_SCHEMA), holdings_frame({"AAA": None})],
)
def test_allocation_donut_empty(frame):
    fig = allocation_donut(frame, currency="USD")
    assert len(fig.data) == 0
    assert any("No data yet" in t for t in annotation_texts(fig))


def test_allocation_donut_unknown_column():
    with pytest.raises(ValueError, match="sector"):
        allocation_donut(holdings_frame({"AAA": 1.0}), by="sector", currency="USD")
