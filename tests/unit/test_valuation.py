"""Valuation: every expected number below is worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus.analytics.valuation import (
    DAILY_SCHEMA,
    HOLDINGS_SCHEMA,
    PortfolioSummary,
    cash_ledger,
    daily_values,
    holdings,
    summarise,
)

D = dt.date
# March 2024: Mon 4, Tue 5, Wed 6, Thu 7, Fri 8, Sat 9, Sun 10, Mon 11.
MON, TUE, WED, THU, FRI, SAT, SUN, MON2 = (D(2024, 3, d) for d in (4, 5, 6, 7, 8, 9, 10, 11))

TX_SCHEMA = {
    "date": pl.Date,
    "kind": pl.Utf8,
    "symbol": pl.Utf8,
    "quantity": pl.Float64,
    "price": pl.Float64,
    "amount": pl.Float64,
    "fee": pl.Float64,
    "currency": pl.Utf8,
}


def txs(*rows: dict) -> pl.DataFrame:
    defaults = {
        "symbol": None,
        "quantity": 0.0,
        "price": 0.0,
        "amount": 0.0,
        "fee": 0.0,
        "currency": "USD",
    }
    return pl.DataFrame([{**defaults, **r} for r in rows], schema=TX_SCHEMA)


def buy(day, symbol, qty, price, fee=0.0, currency="USD"):
    return {
        "date": day,
        "kind": "buy",
        "symbol": symbol,
        "quantity": qty,
        "price": price,
        "fee": fee,
        "currency": currency,
    }


def sell(day, symbol, qty, price, fee=0.0, currency="USD"):
    return {**buy(day, symbol, qty, price, fee, currency), "kind": "sell"}


def cash(day, kind, amount, currency="USD", fee=0.0, symbol=None):
    return {
        "date": day,
        "kind": kind,
        "amount": amount,
        "currency": currency,
        "fee": fee,
        "symbol": symbol,
    }


def closes(*rows: tuple) -> pl.DataFrame:
    """Rows of (symbol, date, close, currency)."""
    return pl.DataFrame(
        list(rows),
        schema={"symbol": pl.Utf8, "date": pl.Date, "close": pl.Float64, "currency": pl.Utf8},
        orient="row",
    )


def fx(*rows: tuple) -> pl.DataFrame:
    """Rows of (date, currency, rate)."""
    return pl.DataFrame(
        list(rows),
        schema={"date": pl.Date, "currency": pl.Utf8, "rate": pl.Float64},
        orient="row",
    )


NO_FX = fx()
NO_CLOSES = closes()


def by_date(frame: pl.DataFrame) -> dict[dt.date, dict]:
    return {row["date"]: row for row in frame.to_dicts()}


# --------------------------------------------------------------------------- FX


class TestForeignStockInUsdPortfolio:
    """10 SAP bought at 100 EUR + 5 EUR fee on Monday when EUR = 1.10 USD.

    SAP closes 108 EUR on Thursday and 110 EUR on Friday; EUR = 1.20 USD from Friday.
    """

    ledger = txs(buy(MON, "SAP", 10.0, 100.0, fee=5.0, currency="EUR"))
    prices = closes(
        ("SAP", MON, 100.0, "EUR"), ("SAP", THU, 108.0, "EUR"), ("SAP", FRI, 110.0, "EUR")
    )
    rates = fx((MON, "EUR", 1.10), (FRI, "EUR", 1.20))

    def test_holding_cost_at_trade_fx_value_at_current_fx(self):
        row = holdings(self.ledger, self.prices, self.rates, as_of=FRI, base_currency="USD").row(
            0, named=True
        )
        assert row["symbol"] == "SAP"
        assert row["quantity"] == 10.0
        assert row["currency"] == "EUR"
        assert row["avg_cost"] == pytest.approx(100.5)  # (1000 + 5) / 10 EUR
        assert row["cost_basis"] == pytest.approx(1105.5)  # 1005 EUR * 1.10
        assert row["price"] == 110.0
        assert row["price_date"] == FRI
        assert row["market_value"] == pytest.approx(1320.0)  # 10 * 110 * 1.20
        assert row["unrealised_pnl"] == pytest.approx(214.5)  # 1320 - 1105.5
        assert row["unrealised_pct"] == pytest.approx(214.5 / 1105.5)
        assert row["weight"] == pytest.approx(1.0)
        assert row["day_change"] == pytest.approx(24.0)  # 10 * (110 - 108) * 1.20

    def test_summary(self):
        s = summarise(self.ledger, self.prices, self.rates, as_of=FRI, base_currency="USD")
        assert s.total_value == pytest.approx(1320.0)
        assert s.holdings_value == pytest.approx(1320.0)
        assert s.cash_value == 0.0
        assert s.cash_by_currency == {}
        # The buy was funded implicitly: 1005 EUR at Monday's 1.10.
        assert s.net_contributions == pytest.approx(1105.5)
        assert s.cost_basis == pytest.approx(1105.5)
        assert s.unrealised_pnl == pytest.approx(214.5)
        # Thursday: 10 * 108 * 1.10 (rate forward-filled from Monday) = 1188.
        assert s.day_change == pytest.approx(1320.0 - 1188.0)
        assert s.day_change_pct == pytest.approx(132.0 / 1188.0)
        assert s.missing_prices == ()

    def test_base_inferred_when_missing_from_fx(self):
        # fx has no USD rows; USD is the only ledger currency without rates -> base.
        ledger = pl.concat([self.ledger, txs(cash(MON, "deposit", 50.0))])
        s = summarise(ledger, self.prices, self.rates, as_of=FRI)
        assert s.total_value == pytest.approx(1320.0 + 50.0)
        assert s.cash_by_currency == {"USD": 50.0}

    def test_missing_fx_is_listed_not_valued(self):
        s = summarise(self.ledger, self.prices, NO_FX, as_of=FRI, base_currency="USD")
        assert s.holdings_value == 0.0
        assert s.missing_prices == ("SAP",)
        assert s.missing_fx == ("EUR",)

    def test_daily_values_follow_fx_and_prices(self):
        daily = by_date(
            daily_values(self.ledger, self.prices, self.rates, end=FRI, base_currency="USD")
        )
        assert list(daily) == [MON, TUE, WED, THU, FRI]
        assert daily[MON]["total_value"] == pytest.approx(1100.0)  # 10 * 100 * 1.10
        assert daily[MON]["net_flows"] == pytest.approx(1105.5)
        assert daily[MON]["day_change"] == pytest.approx(-5.5)  # the fee, in USD
        assert daily[WED]["total_value"] == pytest.approx(1100.0)  # Monday close carried
        assert daily[THU]["total_value"] == pytest.approx(1188.0)
        assert daily[FRI]["total_value"] == pytest.approx(1320.0)
        assert daily[FRI]["cumulative_flows"] == pytest.approx(1105.5)


# --------------------------------------------------------------------------- cash rule


def test_implicit_contributions_cover_shortfalls_only():
    ledger = cash_ledger(
        txs(
            cash(MON, "deposit", 200.0),
            buy(TUE, "AAA", 10.0, 50.0, fee=1.0),  # needs 501, has 200 -> 301 implicit
            sell(WED, "AAA", 5.0, 60.0),  # +300
            cash(THU, "fee", 10.0),  # -10 -> 290
            cash(FRI, "withdrawal", 400.0),  # needs 400, has 290 -> 110 implicit
        )
    )
    assert ledger["cash_balance"].to_list() == pytest.approx([200.0, 0.0, 300.0, 290.0, 0.0])
    assert ledger["implicit_contribution"].to_list() == pytest.approx([0.0, 301.0, 0.0, 0.0, 110.0])
    assert ledger["external_flow"].to_list() == pytest.approx([200.0, 301.0, 0.0, 0.0, -290.0])


def test_buys_only_portfolio_value_equals_holdings():
    ledger = txs(buy(MON, "AAA", 10.0, 50.0, fee=1.0), buy(TUE, "AAA", 5.0, 60.0))
    prices = closes(("AAA", MON, 52.0, "USD"), ("AAA", TUE, 60.0, "USD"), ("AAA", WED, 61.0, "USD"))
    daily = daily_values(ledger, prices, NO_FX, end=WED)
    assert daily["cash_value"].to_list() == [0.0, 0.0, 0.0]
    assert daily["total_value"].to_list() == daily["holdings_value"].to_list()
    # Mon: 10 * 52 = 520; Tue: 15 * 60 = 900; Wed: 15 * 61 = 915.
    assert daily["total_value"].to_list() == pytest.approx([520.0, 900.0, 915.0])
    assert daily["net_flows"].to_list() == pytest.approx([501.0, 300.0, 0.0])
    assert daily["cumulative_flows"].to_list() == pytest.approx([501.0, 801.0, 801.0])
    # Mon: 520 - 0 - 501; Tue: 900 - 520 - 300; Wed: 915 - 900.
    assert daily["day_change"].to_list() == pytest.approx([19.0, 80.0, 15.0])


def test_cash_is_per_currency():
    # 100 EUR of cash does not fund a USD buy: the USD buy is an implicit contribution.
    ledger = cash_ledger(
        txs(cash(MON, "deposit", 100.0, currency="EUR"), buy(TUE, "AAA", 1.0, 80.0))
    )
    assert ledger["cash_balance"].to_list() == [100.0, 0.0]
    assert ledger["implicit_contribution"].to_list() == [0.0, 80.0]


def test_dividend_net_of_fee_is_income_not_a_flow():
    ledger = txs(
        buy(MON, "AAA", 10.0, 10.0),
        cash(TUE, "dividend", 5.0, fee=1.0, symbol="AAA"),
    )
    prices = closes(("AAA", MON, 10.0, "USD"))
    daily = by_date(daily_values(ledger, prices, NO_FX, end=TUE))
    assert daily[TUE]["cash_value"] == pytest.approx(4.0)
    assert daily[TUE]["net_flows"] == 0.0
    assert daily[TUE]["day_change"] == pytest.approx(4.0)


# --------------------------------------------------------------------------- deposits


class TestDepositThenBuys:
    ledger = txs(
        cash(MON, "deposit", 10_000.0),
        buy(TUE, "AAA", 20.0, 100.0, fee=10.0),  # cash 10000 - 2010 = 7990
        buy(WED, "BBB", 10.0, 200.0, fee=10.0),  # cash 7990 - 2010 = 5980
    )
    prices = closes(
        ("AAA", TUE, 101.0, "USD"), ("AAA", WED, 102.0, "USD"), ("BBB", WED, 205.0, "USD")
    )

    def test_daily(self):
        daily = daily_values(self.ledger, self.prices, NO_FX, end=WED)
        assert daily["date"].to_list() == [MON, TUE, WED]
        assert daily["holdings_value"].to_list() == pytest.approx([0.0, 2020.0, 4090.0])
        assert daily["cash_value"].to_list() == pytest.approx([10_000.0, 7990.0, 5980.0])
        assert daily["total_value"].to_list() == pytest.approx([10_000.0, 10_010.0, 10_070.0])
        assert daily["net_flows"].to_list() == pytest.approx([10_000.0, 0.0, 0.0])
        assert daily["cumulative_flows"].to_list() == pytest.approx([10_000.0] * 3)
        assert daily["day_change"].to_list() == pytest.approx([0.0, 10.0, 60.0])
        assert daily.schema == pl.Schema(DAILY_SCHEMA)

    def test_holdings_weights_and_order(self):
        h = holdings(self.ledger, self.prices, NO_FX, as_of=WED)
        assert h["symbol"].to_list() == ["BBB", "AAA"]  # 2050 before 2040
        assert h["market_value"].to_list() == pytest.approx([2050.0, 2040.0])
        assert h["weight"].to_list() == pytest.approx([2050 / 4090, 2040 / 4090])
        assert h["avg_cost"].to_list() == pytest.approx([201.0, 100.5])
        # AAA has a previous close (101): 20 * (102 - 101); BBB has none.
        assert h["day_change"].to_list() == [None, pytest.approx(20.0)]

    def test_summary_matches_last_daily_row(self):
        s = summarise(self.ledger, self.prices, NO_FX, as_of=WED)
        assert s.total_value == pytest.approx(10_070.0)
        assert s.cash_by_currency == {"USD": pytest.approx(5980.0)}
        assert s.net_contributions == pytest.approx(10_000.0)
        assert s.day_change == pytest.approx(60.0)
        assert s.day_change_pct == pytest.approx(60.0 / 10_010.0)
        assert s.cost_basis == pytest.approx(4020.0)
        assert s.unrealised_pnl == pytest.approx(4090.0 - 4020.0)

    def test_start_window_keeps_opening_state(self):
        daily = daily_values(self.ledger, self.prices, NO_FX, start=WED, end=WED)
        assert daily.height == 1
        row = daily.row(0, named=True)
        assert row["cumulative_flows"] == pytest.approx(10_000.0)  # flow before the window
        assert row["net_flows"] == 0.0
        assert row["day_change"] == pytest.approx(60.0)  # vs Tuesday's 10,010


def test_sell_realises_into_cash_with_fifo_cost():
    ledger = txs(
        buy(MON, "AAA", 10.0, 100.0),
        buy(TUE, "AAA", 10.0, 120.0),
        sell(WED, "AAA", 15.0, 130.0, fee=5.0),
    )
    prices = closes(("AAA", WED, 130.0, "USD"))
    h = holdings(ledger, prices, NO_FX, as_of=WED).row(0, named=True)
    assert h["quantity"] == 5.0
    assert h["avg_cost"] == pytest.approx(120.0)  # only the second lot is left
    assert h["cost_basis"] == pytest.approx(600.0)
    assert h["unrealised_pnl"] == pytest.approx(5 * 130.0 - 600.0)
    s = summarise(ledger, prices, NO_FX, as_of=WED)
    assert s.cash_by_currency == {"USD": pytest.approx(1945.0)}  # 15 * 130 - 5
    assert s.net_contributions == pytest.approx(2200.0)  # both buys funded implicitly


# --------------------------------------------------------------------------- prices


def test_prices_forward_fill_over_a_holiday():
    ledger = txs(buy(MON, "AAA", 2.0, 10.0))
    prices = closes(("AAA", MON, 10.0, "USD"), ("AAA", WED, 13.0, "USD"))  # Tuesday closed
    daily = daily_values(ledger, prices, NO_FX, end=WED)
    assert daily["holdings_value"].to_list() == pytest.approx([20.0, 20.0, 26.0])
    assert daily["missing_prices"].to_list() == [[], [], []]
    h = holdings(ledger, prices, NO_FX, as_of=TUE).row(0, named=True)
    assert (h["price"], h["price_date"]) == (10.0, MON)


def test_missing_price_is_null_and_listed_not_zero():
    ledger = txs(buy(MON, "AAA", 1.0, 100.0), buy(MON, "ZZZ", 3.0, 10.0))
    prices = closes(("AAA", MON, 100.0, "USD"), ("AAA", TUE, 110.0, "USD"))
    daily = daily_values(ledger, prices, NO_FX, end=TUE)
    assert daily["holdings_value"].to_list() == pytest.approx([100.0, 110.0])
    assert daily["missing_prices"].to_list() == [["ZZZ"], ["ZZZ"]]

    h = holdings(ledger, prices, NO_FX, as_of=TUE)
    assert h["symbol"].to_list() == ["AAA", "ZZZ"]  # unpriced last
    zzz = h.row(1, named=True)
    assert zzz["quantity"] == 3.0
    assert zzz["cost_basis"] == pytest.approx(30.0)
    for column in ("price", "price_date", "market_value", "unrealised_pnl", "weight"):
        assert zzz[column] is None
    assert h.row(0, named=True)["weight"] == pytest.approx(1.0)

    s = summarise(ledger, prices, NO_FX, as_of=TUE)
    assert s.missing_prices == ("ZZZ",)
    assert s.holdings_value == pytest.approx(110.0)
    assert s.unrealised_pnl == pytest.approx(10.0)  # priced positions only


def test_price_history_starting_late_is_missing_only_before_it():
    ledger = txs(buy(MON, "AAA", 1.0, 100.0))
    prices = closes(("AAA", WED, 90.0, "USD"))
    daily = daily_values(ledger, prices, NO_FX, end=WED)
    assert daily["missing_prices"].to_list() == [["AAA"], ["AAA"], []]
    assert daily["holdings_value"].to_list() == pytest.approx([0.0, 0.0, 90.0])


# --------------------------------------------------------------------------- day change


def test_day_change_excludes_same_day_deposit():
    ledger = txs(
        cash(MON, "deposit", 1000.0),
        buy(MON, "AAA", 10.0, 100.0),
        cash(TUE, "deposit", 500.0),
    )
    prices = closes(("AAA", MON, 100.0, "USD"), ("AAA", TUE, 101.0, "USD"))
    daily = by_date(daily_values(ledger, prices, NO_FX, end=TUE))
    # Tue: holdings 1010 + cash 500 = 1510; previous 1000; flows 500 -> change 10.
    assert daily[TUE]["total_value"] == pytest.approx(1510.0)
    assert daily[TUE]["net_flows"] == pytest.approx(500.0)
    assert daily[TUE]["day_change"] == pytest.approx(10.0)
    s = summarise(ledger, prices, NO_FX, as_of=TUE)
    assert s.day_change == pytest.approx(10.0)
    assert s.day_change_pct == pytest.approx(10.0 / 1500.0)


def test_weekend_transactions_land_on_monday_and_weekends_are_skipped():
    ledger = txs(cash(FRI, "deposit", 100.0), cash(SAT, "deposit", 50.0))
    daily = daily_values(ledger, NO_CLOSES, NO_FX, end=MON2)
    assert daily["date"].to_list() == [FRI, MON2]
    assert daily["net_flows"].to_list() == [100.0, 50.0]
    assert daily["day_change"].to_list() == [0.0, 0.0]


def test_weekend_summary_reports_fridays_move():
    ledger = txs(buy(MON, "AAA", 1.0, 10.0))
    prices = closes(("AAA", THU, 10.0, "USD"), ("AAA", FRI, 12.0, "USD"))
    s = summarise(ledger, prices, NO_FX, as_of=SUN)
    assert s.total_value == pytest.approx(12.0)
    assert s.day_change == pytest.approx(2.0)  # Friday 12 vs Thursday 10


def test_transactions_after_as_of_are_ignored():
    ledger = txs(cash(MON, "deposit", 100.0), cash(WED, "deposit", 1.0))
    s = summarise(ledger, NO_CLOSES, NO_FX, as_of=TUE)
    assert s.total_value == 100.0
    assert s.net_contributions == 100.0


# --------------------------------------------------------------------------- empty


def test_empty_ledger():
    empty = txs().clear()
    s = summarise(empty, NO_CLOSES, NO_FX, as_of=FRI)
    assert s == PortfolioSummary.empty(FRI)
    assert (s.total_value, s.day_change, s.net_contributions, s.missing_prices) == (
        0.0,
        0.0,
        0.0,
        (),
    )
    daily = daily_values(empty, NO_CLOSES, NO_FX, end=FRI)
    assert daily.is_empty()
    assert daily.schema == pl.Schema(DAILY_SCHEMA)
    h = holdings(empty, NO_CLOSES, NO_FX, as_of=FRI)
    assert h.is_empty()
    assert h.schema == pl.Schema(HOLDINGS_SCHEMA)


def test_empty_ledger_with_start_gives_zero_rows():
    daily = daily_values(txs().clear(), NO_CLOSES, NO_FX, start=THU, end=FRI)
    assert daily["date"].to_list() == [THU, FRI]
    assert daily["total_value"].to_list() == [0.0, 0.0]


def test_start_after_end_raises():
    with pytest.raises(ValueError, match="after end"):
        daily_values(txs().clear(), NO_CLOSES, NO_FX, start=FRI, end=MON)


# --------------------------------------------------------------------------- properties

flows = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "withdrawal", "fee"]),
        st.integers(min_value=1, max_value=10_000),
        st.sampled_from(["USD", "EUR"]),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(flows)
def test_cash_never_negative_and_reconciles(sequence):
    rows = [
        cash(D(2024, 1, 1) + dt.timedelta(days=i), kind, float(amount), currency)
        for i, (kind, amount, currency) in enumerate(sequence)
    ]
    ledger = cash_ledger(txs(*rows))
    assert (ledger["cash_balance"] >= -1e-9).all()
    assert (ledger["implicit_contribution"] >= -1e-9).all()
    for _, group in ledger.group_by("currency"):
        # Final balance = all raw cash effects + everything implicitly contributed.
        expected = group["cash_flow"].sum() + group["implicit_contribution"].sum()
        assert group["cash_balance"][-1] == pytest.approx(expected)
