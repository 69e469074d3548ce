"""Allocation, drift and rebalancing on small portfolios worked by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nexus.analytics.allocation import (
    ALLOCATION_SCHEMA,
    CASH_BUCKET,
    UNCLASSIFIED,
    allocation,
    classify,
)
from nexus.analytics.rebalance import (
    BUCKET_TRADES_SCHEMA,
    DRIFT_SCHEMA,
    TRADES_SCHEMA,
    drift,
    rebalance_buckets,
    rebalance_trades,
    validate_targets,
)
from nexus.analytics.valuation import HOLDINGS_SCHEMA

D = dt.date


def holdings_frame(rows: dict[str, tuple[float, float | None, str]], **extra) -> pl.DataFrame:
    """``{symbol: (quantity, market_value, currency)}`` as a HOLDINGS_SCHEMA frame."""
    frame = pl.DataFrame(
        [
            {
                "symbol": symbol,
                "quantity": quantity,
                "currency": currency,
                "avg_cost": None,
                "cost_basis": None,
                "price": None if value is None else value / quantity,
                "price_date": D(2026, 11, 25),
                "market_value": value,
                "unrealised_pnl": None,
                "unrealised_pct": None,
                "weight": None,
                "day_change": None,
            }
            for symbol, (quantity, value, currency) in rows.items()
        ],
        schema=HOLDINGS_SCHEMA,
    )
    return frame.with_columns(pl.Series(name, values) for name, values in extra.items())


# AAA 6000 equity/Tech/US, BBB 2500 etf/(no sector)/Europe in EUR, CCC 1000 not in the
# instruments table, DDD held without a price. Cash: 400 USD + 100 (EUR, in base).
# Total = 6000 + 2500 + 1000 + 500 = 10000.
PORTFOLIO = holdings_frame(
    {
        "AAA": (60.0, 6000.0, "USD"),
        "BBB": (50.0, 2500.0, "EUR"),
        "CCC": (10.0, 1000.0, "USD"),
        "DDD": (5.0, None, "USD"),
    },
    account=["ISA", "GIA", "GIA", None],
)
INSTRUMENTS = pl.DataFrame(
    {
        "symbol": ["AAA", "BBB", "DDD", "ZZZ"],
        "name": ["Aaa Inc", "Bbb ETF", "Ddd plc", "Not held"],
        "asset_class": ["equity", "etf", "equity", "equity"],
        "sector": ["Tech", None, "Energy", "Tech"],
        "region": ["US", "Europe", "  ", "US"],
        "currency": ["USD", "eur", "GBP", "USD"],
    }
)
CASH = {"USD": 400.0, "EUR": 100.0}


def as_dict(frame: pl.DataFrame, value: str = "weight") -> dict[str, float]:
    return dict(zip(frame["bucket"].to_list(), frame[value].to_list(), strict=True))


# --------------------------------------------------------------------------- allocation


def test_allocation_by_asset_class_with_cash_and_unclassified():
    result = allocation(PORTFOLIO, INSTRUMENTS, by="asset_class", cash_by_currency_base=CASH)
    assert result.schema == pl.Schema(ALLOCATION_SCHEMA)
    assert result["bucket"].to_list() == ["equity", "etf", UNCLASSIFIED, CASH_BUCKET]
    assert result["market_value"].to_list() == [6000.0, 2500.0, 1000.0, 500.0]
    assert result["weight"].to_list() == pytest.approx([0.60, 0.25, 0.10, 0.05])
    assert result["weight"].sum() == pytest.approx(1.0)


def test_allocation_by_sector_merges_nulls_and_missing_instruments():
    result = allocation(PORTFOLIO, INSTRUMENTS, by="sector", cash_by_currency_base=CASH)
    assert as_dict(result) == pytest.approx({"Tech": 0.6, UNCLASSIFIED: 0.35, "Cash": 0.05})


def test_allocation_by_currency_puts_cash_in_its_currency():
    result = allocation(PORTFOLIO, INSTRUMENTS, by="currency", cash_by_currency_base=CASH)
    # USD: AAA 6000 + CCC 1000 (holding's currency) + 400 cash; EUR: BBB 2500 + 100 cash
    assert as_dict(result, "market_value") == {"USD": 7400.0, "EUR": 2600.0}
    assert as_dict(result) == pytest.approx({"USD": 0.74, "EUR": 0.26})


def test_allocation_by_region_blank_is_unclassified():
    result = allocation(PORTFOLIO, INSTRUMENTS, by="region")
    # no cash: total 9500; DDD (blank region) has no price and is left out
    assert as_dict(result, "market_value") == {"US": 6000.0, "Europe": 2500.0, UNCLASSIFIED: 1000.0}
    assert result["weight"].to_list() == pytest.approx([6000 / 9500, 2500 / 9500, 1000 / 9500])


def test_allocation_by_symbol_and_account():
    by_symbol = allocation(PORTFOLIO, None, by="symbol", cash_by_currency_base=CASH)
    assert by_symbol["bucket"].to_list() == ["AAA", "BBB", "CCC", "Cash"]
    by_account = allocation(PORTFOLIO, None, by="account", cash_by_currency_base=CASH)
    assert as_dict(by_account, "market_value") == {"ISA": 6000.0, "GIA": 3500.0, "Cash": 500.0}


def test_allocation_edge_cases():
    empty = PORTFOLIO.clear()
    assert allocation(empty, INSTRUMENTS, by="sector").is_empty()
    cash_only = allocation(empty, INSTRUMENTS, by="sector", cash_by_currency_base={"USD": 50.0})
    assert cash_only.rows() == [("Cash", 50.0, 1.0)]
    zero_cash = allocation(PORTFOLIO, None, by="symbol", cash_by_currency_base={"USD": 0.0})
    assert "Cash" not in zero_cash["bucket"].to_list()


def test_allocation_errors():
    with pytest.raises(ValueError, match="unknown grouping 'industry'"):
        allocation(PORTFOLIO, INSTRUMENTS, by="industry")
    with pytest.raises(ValueError, match="account"):
        allocation(PORTFOLIO.drop("account"), None, by="account")
    with pytest.raises(ValueError, match="pass instruments"):
        allocation(PORTFOLIO, None, by="sector")


def test_classify_uses_a_holdings_column_when_no_instruments():
    frame = PORTFOLIO.with_columns(pl.Series("sector", ["Tech", "Tech", None, "Energy"]))
    assert classify(frame, None, by="sector")["bucket"].to_list() == [
        "Tech",
        "Tech",
        UNCLASSIFIED,
        "Energy",
    ]


# --------------------------------------------------------------------------- targets / drift


def test_targets_validation():
    frame = validate_targets({" AAA ": 0.6, "BBB": 0.4 + 5e-7})
    assert frame["bucket"].to_list() == ["AAA", "BBB"]
    with pytest.raises(ValueError, match=r"sum to 100 %.*90\.0000%"):
        validate_targets({"AAA": 0.5, "BBB": 0.4})
    with pytest.raises(ValueError, match=r"must not be negative: BBB \(-10\.00%\)"):
        validate_targets({"AAA": 1.1, "BBB": -0.1})
    with pytest.raises(ValueError, match="duplicate target bucket"):
        validate_targets(pl.DataFrame({"bucket": ["A", "A"], "target_weight": [0.5, 0.5]}))
    with pytest.raises(ValueError, match="missing or not a number for: B"):
        validate_targets({"A": 1.0, "B": None})
    with pytest.raises(ValueError, match="no targets"):
        validate_targets({})
    with pytest.raises(ValueError, match="target_weight"):
        validate_targets(pl.DataFrame({"bucket": ["A"], "weight": [1.0]}))


def test_drift_outer_joins_current_and_targets():
    current = allocation(PORTFOLIO, INSTRUMENTS, by="asset_class", cash_by_currency_base=CASH)
    result = drift(current, {"equity": 0.5, "etf": 0.3, "bond": 0.2})
    assert result.schema == pl.Schema(DRIFT_SCHEMA)
    rows = {r["bucket"]: r for r in result.iter_rows(named=True)}
    assert set(rows) == {"equity", "etf", "bond", UNCLASSIFIED, "Cash"}
    assert rows["equity"]["drift"] == pytest.approx(0.10)  # 60 % held vs 50 %
    assert rows["equity"]["drift_value"] == pytest.approx(1000.0)
    assert rows["etf"]["drift"] == pytest.approx(-0.05)
    assert rows["etf"]["drift_value"] == pytest.approx(-500.0)
    assert rows["bond"]["market_value"] == 0.0
    assert rows["bond"]["drift_value"] == pytest.approx(-2000.0)
    assert rows["Cash"]["target_weight"] == 0.0
    assert rows[UNCLASSIFIED]["drift"] == pytest.approx(0.10)
    assert result["bucket"].to_list()[:3] == ["equity", "etf", "bond"]  # by target
    assert result["drift_value"].sum() == pytest.approx(0.0)


# --------------------------------------------------------------------------- symbol trades

# AAA 10 @ 100 = 1000, BBB 20 @ 50 = 1000, CCC 5 @ 100 = 500; total 2500.
THREE = holdings_frame(
    {"AAA": (10.0, 1000.0, "USD"), "BBB": (20.0, 1000.0, "USD"), "CCC": (5.0, 500.0, "USD")}
)
TARGETS = {"AAA": 0.5, "BBB": 0.3, "CCC": 0.2}


def trades_by_symbol(plan) -> dict[str, tuple[str, float, float]]:
    return {
        r["symbol"]: (r["action"], r["quantity"], r["value"])
        for r in plan.trades.iter_rows(named=True)
    }


def test_rebalance_three_assets_exactly():
    # targets 1250 / 750 / 500: sell 250 of BBB (5 @ 50), buy 250 of AAA (2.5 @ 100)
    plan = rebalance_trades(THREE, TARGETS)
    assert plan.trades.schema == pl.Schema(TRADES_SCHEMA)
    assert plan.trades["symbol"].to_list() == ["BBB", "AAA"]  # sells first
    assert trades_by_symbol(plan) == {
        "BBB": ("sell", pytest.approx(5.0), pytest.approx(250.0)),
        "AAA": ("buy", pytest.approx(2.5), pytest.approx(250.0)),
    }
    assert plan.trades["price"].to_list() == [50.0, 100.0]
    assert plan.trades["weight_before"].to_list() == pytest.approx([0.4, 0.4])
    assert plan.trades["weight_after"].to_list() == pytest.approx([0.3, 0.5])
    assert (plan.total_value, plan.cash_before) == (2500.0, 0.0)
    assert plan.cash_after == pytest.approx(0.0)
    assert (plan.buy_value, plan.sell_value) == pytest.approx((250.0, 250.0))


def test_whole_units_round_sells_first_and_report_leftover_cash():
    # BBB 25 @ 40 = 1000. Targets 52/28/20 % of 2500 = 1300 / 700 / 500.
    # Sell 300 of BBB = 7.5 units -> 7 units = 280. Buy AAA: wants 300, only 280 is
    # raised -> 2.8 units -> 2 units = 200. Leftover cash 80.
    holdings = holdings_frame(
        {"AAA": (10.0, 1000.0, "USD"), "BBB": (25.0, 1000.0, "USD"), "CCC": (5.0, 500.0, "USD")}
    )
    plan = rebalance_trades(holdings, {"AAA": 0.52, "BBB": 0.28, "CCC": 0.20}, whole_units=True)
    assert trades_by_symbol(plan) == {
        "BBB": ("sell", 7.0, pytest.approx(280.0)),
        "AAA": ("buy", 2.0, pytest.approx(200.0)),
    }
    assert plan.cash_after == pytest.approx(80.0)
    assert plan.trades["weight_after"].to_list() == pytest.approx([720 / 2500, 1200 / 2500])


def test_whole_units_with_cash_buys_only():
    # AAA 4 @ 300, BBB 20 @ 40, CCC 10 @ 50, cash 500: total 3000 -> 1500 / 900 / 600.
    # Buys: AAA 300 = 1 unit; BBB 100 = 2.5 -> 2 units (80); CCC 100 = 2 units. Left: 20.
    holdings = holdings_frame(
        {"AAA": (4.0, 1200.0, "USD"), "BBB": (20.0, 800.0, "USD"), "CCC": (10.0, 500.0, "USD")}
    )
    plan = rebalance_trades(holdings, TARGETS, cash_available=500.0, whole_units=True)
    assert trades_by_symbol(plan) == {
        "AAA": ("buy", 1.0, pytest.approx(300.0)),
        "CCC": ("buy", 2.0, pytest.approx(100.0)),
        "BBB": ("buy", 2.0, pytest.approx(80.0)),
    }
    assert plan.total_value == 3000.0
    assert plan.cash_after == pytest.approx(20.0)
    fractional = rebalance_trades(holdings, TARGETS, cash_available=500.0)
    assert trades_by_symbol(fractional)["BBB"][1] == pytest.approx(2.5)
    assert fractional.cash_after == pytest.approx(0.0)


def test_no_sells_shares_cash_in_proportion_to_shortfall():
    # cash 500, total 3000 -> targets 1500 / 900 / 600. Shortfalls AAA 500, CCC 100
    # (BBB is 100 over but may not be sold). 500 of cash for 600 of shortfall: x 5/6.
    plan = rebalance_trades(THREE, TARGETS, cash_available=500.0, allow_sells=False)
    assert set(plan.trades["action"].to_list()) == {"buy"}
    assert trades_by_symbol(plan) == {
        "AAA": ("buy", pytest.approx(500 * 5 / 6 / 100), pytest.approx(500 * 5 / 6)),
        "CCC": ("buy", pytest.approx(100 * 5 / 6 / 100), pytest.approx(100 * 5 / 6)),
    }
    assert plan.cash_after == pytest.approx(0.0)
    assert plan.trades["weight_after"].to_list() == pytest.approx(
        [(1000 + 500 * 5 / 6) / 3000, (500 + 100 * 5 / 6) / 3000]
    )


def test_no_sells_and_no_cash_means_no_trades():
    plan = rebalance_trades(THREE, TARGETS, allow_sells=False)
    assert plan.trades.is_empty()
    assert plan.cash_after == 0.0


def test_tolerance_band_skips_small_drifts():
    assert rebalance_trades(THREE, TARGETS, tolerance=0.10).trades.is_empty()  # drifts 0.1
    assert rebalance_trades(THREE, TARGETS, tolerance=0.05).trades.height == 2
    # cash 100, total 2600: AAA 38.5 % vs 50 % trades; BBB (+3.5 pts) and CCC (+4.2 pts)
    # are inside a 6-point band and are not sold, so AAA can only use the 100 of cash.
    plan = rebalance_trades(
        THREE, {"AAA": 0.5, "BBB": 0.35, "CCC": 0.15}, cash_available=100.0, tolerance=0.06
    )
    assert trades_by_symbol(plan) == {"AAA": ("buy", pytest.approx(1.0), pytest.approx(100.0))}
    assert plan.cash_after == pytest.approx(0.0)


def test_new_symbol_untargeted_exit_and_cash_reserve():
    # Targets: AAA 50 %, DDD (new, 25 each) 30 %, keep 20 % cash. Total 2500.
    # AAA 1250 (+250), DDD 750 (30 units), BBB and CCC untargeted -> sold in full.
    plan = rebalance_trades(THREE, {"AAA": 0.5, "DDD": 0.3, "Cash": 0.2}, prices={"DDD": 25.0})
    trades = trades_by_symbol(plan)
    assert trades["BBB"] == ("sell", 20.0, pytest.approx(1000.0))
    assert trades["CCC"] == ("sell", 5.0, pytest.approx(500.0))
    assert trades["DDD"] == ("buy", pytest.approx(30.0), pytest.approx(750.0))
    assert trades["AAA"] == ("buy", pytest.approx(2.5), pytest.approx(250.0))
    assert plan.cash_after == pytest.approx(500.0)  # 20 % of 2500


def test_prices_override_holdings_valuation():
    # AAA quoted at 110: 1100 + 1000 + 500 = 2600 -> AAA target 1300, buy 200 = 1.818 units
    plan = rebalance_trades(THREE, TARGETS, prices={"AAA": 110.0})
    aaa = plan.trades.filter(pl.col("symbol") == "AAA").row(0, named=True)
    assert aaa["price"] == 110.0
    assert aaa["value"] == pytest.approx(200.0)
    assert aaa["weight_before"] == pytest.approx(1100 / 2600)


def test_bucket_targets_spread_over_held_symbols():
    # equity: AAA 1000 + BBB 500; bond: CCC 500. Total 2000, targets 50/50.
    holdings = holdings_frame(
        {"AAA": (10.0, 1000.0, "USD"), "BBB": (10.0, 500.0, "USD"), "CCC": (5.0, 500.0, "USD")}
    )
    instruments = pl.DataFrame(
        {"symbol": ["AAA", "BBB", "CCC"], "asset_class": ["equity", "equity", "bond"]}
    )
    plan = rebalance_trades(
        holdings, {"equity": 0.5, "bond": 0.5}, by="asset_class", instruments=instruments
    )
    trades = trades_by_symbol(plan)
    # equity 1000 split 2:1 -> AAA 666.67 (sell 333.33), BBB 333.33 (sell 166.67)
    assert trades["AAA"] == ("sell", pytest.approx(10 / 3), pytest.approx(1000 / 3))
    assert trades["BBB"] == ("sell", pytest.approx(10 / 3), pytest.approx(500 / 3))
    assert trades["CCC"] == ("buy", pytest.approx(5.0), pytest.approx(500.0))
    with pytest.raises(ValueError, match="no held symbol in cash-like"):
        rebalance_trades(
            holdings,
            {"equity": 0.5, "cash-like": 0.5},
            by="asset_class",
            instruments=instruments,
        )


def test_rebalance_errors():
    with pytest.raises(ValueError, match="no usable price for DDD"):
        rebalance_trades(THREE, {"AAA": 0.5, "DDD": 0.5})
    unpriced = holdings_frame({"AAA": (1.0, 100.0, "USD"), "ZZZ": (1.0, None, "USD")})
    with pytest.raises(ValueError, match="no usable price for ZZZ"):
        rebalance_trades(unpriced, {"AAA": 1.0})
    with pytest.raises(ValueError, match="rebalance_buckets"):
        rebalance_trades(THREE, TARGETS, by="account")
    with pytest.raises(ValueError, match="cash_available"):
        rebalance_trades(THREE, TARGETS, cash_available=-1.0)
    with pytest.raises(ValueError, match="tolerance"):
        rebalance_trades(THREE, TARGETS, tolerance=-0.01)
    with pytest.raises(ValueError, match="sum to 100 %"):
        rebalance_trades(THREE, {"AAA": 0.5})
    with pytest.raises(ValueError, match="worth zero"):
        rebalance_trades(THREE.clear(), {"AAA": 1.0}, prices={"AAA": 10.0})


# --------------------------------------------------------------------------- bucket trades


def test_rebalance_buckets_moves_value_between_asset_classes():
    # equity 6000, etf 2500, Unclassified 1000, Cash 500 (total 10000);
    # targets equity 50 %, etf 30 %, bond 20 %.
    current = allocation(PORTFOLIO, INSTRUMENTS, by="asset_class", cash_by_currency_base=CASH)
    plan = rebalance_buckets(current, {"equity": 0.5, "etf": 0.3, "bond": 0.2})
    assert plan.trades.schema == pl.Schema(BUCKET_TRADES_SCHEMA)
    moves = {r["bucket"]: (r["action"], r["value"]) for r in plan.trades.iter_rows(named=True)}
    assert moves == {
        "equity": ("sell", pytest.approx(1000.0)),
        UNCLASSIFIED: ("sell", pytest.approx(1000.0)),
        "bond": ("buy", pytest.approx(2000.0)),
        "etf": ("buy", pytest.approx(500.0)),
    }
    assert "Cash" not in moves
    assert (plan.total_value, plan.cash_before) == (10000.0, 500.0)
    assert plan.cash_after == pytest.approx(0.0)
    after = dict(zip(plan.trades["bucket"], plan.trades["weight_after"], strict=True))
    assert after == pytest.approx({"equity": 0.5, UNCLASSIFIED: 0.0, "bond": 0.2, "etf": 0.3})


def test_rebalance_buckets_without_sells_spends_only_cash():
    current = allocation(PORTFOLIO, INSTRUMENTS, by="asset_class", cash_by_currency_base=CASH)
    plan = rebalance_buckets(current, {"equity": 0.5, "etf": 0.3, "bond": 0.2}, allow_sells=False)
    # shortfalls etf 500 + bond 2000 = 2500, cash 500 -> 20 % of each
    moves = {r["bucket"]: (r["action"], r["value"]) for r in plan.trades.iter_rows(named=True)}
    assert moves == {"bond": ("buy", pytest.approx(400.0)), "etf": ("buy", pytest.approx(100.0))}
    assert plan.cash_after == pytest.approx(0.0)
