"""Performance, Risk and Holdings pages on the demo portfolio: the numbers on screen are
the library's, the view state comes from the URL, empty states explain what to do."""

from __future__ import annotations

import json
import math

import pytest

from nexus.analytics import performance as perf
from nexus.analytics import valuation
from nexus.analytics.periods import Range, range_window
from nexus.db.engine import get_engine
from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from nexus.portfolio.repository import PortfolioRepository
from nexus.ui.format import percent


def _demo(app_settings, signed_in, path: str):
    """AppTest of ``path`` for a user who loaded the demo portfolio (on the dashboard)."""
    at, result = signed_in("pages/dashboard.py")
    at.run()
    at.button(key="load_demo").click().run()
    assert not at.exception
    repo = PortfolioRepository(get_engine(app_settings))
    [portfolio] = repo.list_portfolios(result.actor)
    at, _ = signed_in(path)
    return at, result, repo, portfolio


def _library_daily(app_settings, repo, actor, portfolio):
    txns = repo.transactions_frame(actor, portfolio.id)
    reader = SnapshotReader(app_settings.history_path)
    info = prices.snapshot_info(reader)
    symbols = sorted(s for s in txns["symbol"].unique().to_list() if s)
    closes = prices.closes(reader, symbols)
    fx = prices.fx_to_base(reader, "USD", ["USD", "EUR", "GBP"])
    daily = valuation.daily_values(txns, closes, fx, end=info.last_date, base_currency="USD")
    return daily, info


@pytest.mark.parametrize("path", ["pages/performance.py", "pages/risk.py", "pages/holdings.py"])
def test_new_user_sees_how_to_start(app_settings, signed_in, path):
    at, _ = signed_in(path)
    at.run()
    assert not at.exception
    assert at.button(key="load_demo")  # onboarding: create a portfolio or load the demo
    assert not at.metric


def test_performance_shows_the_four_methods_from_the_url_range(app_settings, signed_in):
    at, result, repo, portfolio = _demo(app_settings, signed_in, "pages/performance.py")
    at.query_params["range"] = "1Y"
    at.query_params["basis"] = "Price"
    at.run()
    assert not at.exception
    daily, info = _library_daily(app_settings, repo, result.actor, portfolio)
    window = range_window(Range.ONE_YEAR, info.last_date, daily["date"].min())
    expected = perf.window_returns(daily, window, basis="price")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Time-weighted (TWR)"] == percent(expected.twr)
    assert shown["Money-weighted (XIRR)"] == percent(expected.mwr)
    assert shown["Modified Dietz"] == percent(expected.modified_dietz)
    assert shown["Simple"] == percent(expected.simple)
    assert at.segmented_control(key="range").value == "1Y"
    captions = " ".join(c.value for c in at.caption)
    assert "Price return" in captions and "Demo data" in captions
    # the benchmark line is drawn next to the portfolio
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    names = [t.get("name", "") for c in charts for t in c["data"]]
    assert portfolio.name in names and any("return)" in n for n in names)
    # returns by range and per account / per holding tables
    assert at.dataframe[0].value.shape[0] >= 5
    accounts = at.dataframe[1].value
    assert set(accounts["key"]) == {"Main", "Retirement"}


def test_risk_page_matches_the_library(app_settings, signed_in):
    at, result, repo, portfolio = _demo(app_settings, signed_in, "pages/risk.py")
    at.query_params["benchmark"] = "None"
    at.run()
    assert not at.exception
    daily, info = _library_daily(app_settings, repo, result.actor, portfolio)
    window = range_window(Range.MAX, info.last_date, daily["date"].min())
    returns = perf.return_series(daily, window)
    from nexus.analytics import metrics

    vol = metrics.annual_volatility(returns["return"].to_numpy())
    dd = metrics.max_drawdown(returns["return"].to_numpy())
    shown = {m.label: m.value for m in at.metric}
    assert shown["Annualised volatility"] == f"{vol * 100:.2f}%"
    assert shown["Max drawdown"] == f"{dd * 100:.2f}%"
    assert math.isfinite(vol) and dd < 0
    kinds = [json.loads(c.proto.spec)["data"][0]["type"] for c in at.get("plotly_chart")]
    assert "heatmap" in kinds  # monthly returns and correlations
    assert len(kinds) >= 5


def test_holdings_page_lots_allocation_and_targets(app_settings, signed_in):
    at, result, repo, portfolio = _demo(app_settings, signed_in, "pages/holdings.py")
    at.query_params["by"] = "Currency"
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Holdings value", "Unrealised P&L", "Realised P&L", "Income received"]
    buckets = set(at.dataframe[3].value["bucket"])
    assert {"USD", "EUR", "GBP"} <= buckets
    # targets: save 50/30/20 and see the drift chart and a plan
    repo.set_targets(result.actor, portfolio.id, "currency", {"USD": 0.5, "EUR": 0.3, "GBP": 0.2})
    at.run()
    assert not at.exception
    kinds = [json.loads(c.proto.spec)["data"][0]["type"] for c in at.get("plotly_chart")]
    assert kinds.count("bar") >= 1
    assert any("A plan only" in c.value for c in at.caption)
