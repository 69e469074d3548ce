"""The complete ledger in the analytics: lot methods, splits, DRIP, income, transfers
between accounts, FX at trade date, cash per account and per-key daily values.

Every expected number is worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus.analytics.lots import (
    LOT_METHODS,
    normalise_transactions,
    open_lots,
    realised_pnl,
    realised_trades,
)
from nexus.analytics.valuation import (
    BY_KEY_SCHEMA,
    DAILY_SCHEMA,
    cash_balances,
    cash_ledger,
    daily_values,
    daily_values_by,
    fx_rate_on,
    holdings,
    summarise,
)

D = dt.date
# March 2024: Mon 4, Tue 5, Wed 6, Thu 7, Fri 8, Mon 11, Tue 12.
MON, TUE, WED, THU, FRI, MON2, TUE2 = (D(2024, 3, d) for d in (4, 5, 6, 7, 8, 11, 12))

TX_SCHEMA = {
    "date": pl.Date,
    "kind": pl.Utf8,
    "symbol": pl.Utf8,
    "quantity": pl.Float64,
    "price": pl.Float64,
    "amount": pl.Float64,
    "fee": pl.Float64,
    "currency": pl.Utf8,
    "account": pl.Utf8,
    "fx_rate": pl.Float64,
    "transfer_id": pl.Utf8,
}
DEFAULTS = {
    "symbol": None,
    "quantity": 0.0,
    "price": 0.0,
    "amount": 0.0,
    "fee": 0.0,
    "currency": "USD",
    "account": "Main",
    "fx_rate": None,
    "transfer_id": None,
}


def txs(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame([{**DEFAULTS, **r} for r in rows], schema=TX_SCHEMA)


def buy(day, qty, price, fee=0.0, symbol="AAA", **extra):
    return {
        "date": day,
        "kind": "buy",
        "symbol": symbol,
        "quantity": qty,
        "price": price,
        "fee": fee,
        **extra,
    }


def sell(day, qty, price, fee=0.0, symbol="AAA", **extra):
    return {**buy(day, qty, price, fee, symbol, **extra), "kind": "sell"}


def split(day, ratio, symbol="AAA", **extra):
    return {"date": day, "kind": "split", "symbol": symbol, "quantity": ratio, **extra}


def cash(day, kind, amount, **extra):
    return {"date": day, "kind": kind, "amount": amount, **extra}


def transfer(day, source, target, *, tid, symbol=None, qty=0.0, amount=0.0, currency="USD"):
    common = {
        "date": day,
        "symbol": symbol,
        "quantity": qty,
        "amount": amount,
        "currency": currency,
        "transfer_id": tid,
    }
    return (
        {**common, "kind": "transfer_out", "account": source},
        {**common, "kind": "transfer_in", "account": target},
    )


def closes(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        list(rows),
        schema={"symbol": pl.Utf8, "date": pl.Date, "close": pl.Float64, "currency": pl.Utf8},
        orient="row",
    )


def fx(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        list(rows), schema={"date": pl.Date, "currency": pl.Utf8, "rate": pl.Float64}, orient="row"
    )


NO_FX = fx()


def by_date(frame: pl.DataFrame) -> dict[dt.date, dict]:
    return {row["date"]: row for row in frame.to_dicts()}


def keyed(frame: pl.DataFrame) -> dict[tuple[str, dt.date], dict]:
    return {(row["key"], row["date"]): row for row in frame.to_dicts()}


# --------------------------------------------------------------------------- lot methods


class TestLotMethodsOnOneLedger:
    """Three buys of AAA, then one sale of 15 at 130 with a 5 fee.

    lot A: Mon 10 @ 100 (cost 1000)   lot B: Tue 10 @ 120 (1200)   lot C: Wed 10 @ 90 (900)
    total cost 3100; sale proceeds = 15 * 130 - 5 = 1945.
    """

    ledger = txs(buy(MON, 10, 100), buy(TUE, 10, 120), buy(WED, 10, 90), sell(THU, 15, 130, 5))

    @pytest.mark.parametrize(
        ("method", "cost", "open_rows", "held_since"),
        [
            # FIFO: all of A (1000) + 5 of B (600) = 1600; left B 5 @ 120 + C 10 @ 90 = 1500.
            ("fifo", 1600.0, [(TUE, 5.0, 120.0), (WED, 10.0, 90.0)], MON),
            # LIFO: all of C (900) + 5 of B (600) = 1500; left A 10 @ 100 + B 5 @ 120 = 1600.
            ("lifo", 1500.0, [(MON, 10.0, 100.0), (TUE, 5.0, 120.0)], TUE),
            # HIFO: all of B (1200) + 5 of A (500) = 1700; left A 5 @ 100 + C 10 @ 90 = 1400.
            ("hifo", 1700.0, [(MON, 5.0, 100.0), (WED, 10.0, 90.0)], MON),
            # Average: 3100 / 30 = 103.33 a share; 15 * 103.33 = 1550; every lot keeps half:
            # A 5 @ 100 + B 5 @ 120 + C 5 @ 90 = 1550 = 15 * 103.33.
            ("average", 1550.0, [(MON, 5.0, 100.0), (TUE, 5.0, 120.0), (WED, 5.0, 90.0)], None),
        ],
    )
    def test_realised_and_remaining_cost(self, method, cost, open_rows, held_since):
        [trade] = realised_trades(self.ledger, method).to_dicts()
        assert trade["proceeds"] == pytest.approx(1945.0)
        assert trade["cost"] == pytest.approx(cost)
        assert trade["realised_pnl"] == pytest.approx(1945.0 - cost)  # 345, 445, 245, 395
        assert trade["holding_start"] == held_since
        assert (trade["date"], trade["account"], trade["quantity"]) == (THU, "Main", 15.0)
        lots = open_lots(self.ledger, method)
        assert lots.select("open_date", "quantity", "unit_cost").rows() == [
            (d, pytest.approx(q), pytest.approx(c)) for d, q, c in open_rows
        ]
        remaining = (lots["quantity"] * lots["unit_cost"]).sum()
        assert remaining + cost == pytest.approx(3100.0)  # nothing created or lost
        [per_symbol] = realised_pnl(self.ledger, method).to_dicts()
        assert per_symbol["realised_pnl"] == pytest.approx(1945.0 - cost)

    def test_average_cost_re_averages_after_a_buy(self):
        # After the sale: 15 shares costing 1550. Buy 5 @ 110 -> 20 shares costing 2100,
        # average 105. Sell 10 @ 100 -> cost 10 * 105 = 1050, P&L 1000 - 1050 = -50.
        ledger = pl.concat([self.ledger, txs(buy(FRI, 5, 110), sell(MON2, 10, 100))])
        trades = realised_trades(ledger, "average")
        assert trades["cost"].to_list() == pytest.approx([1550.0, 1050.0])
        assert trades["realised_pnl"].to_list() == pytest.approx([395.0, -50.0])
        lots = open_lots(ledger, "average")
        assert lots["quantity"].sum() == pytest.approx(10.0)
        assert (lots["quantity"] * lots["unit_cost"]).sum() == pytest.approx(1050.0)

    def test_by_lot_rows_for_tax_reports(self):
        # FIFO relieves A (10, opened Mon) and B (5, opened Tue); proceeds shared by
        # quantity: 1945 * 10/15 = 1296.67 and 1945 * 5/15 = 648.33.
        rows = realised_trades(self.ledger, "fifo", by_lot=True)
        assert rows.select("holding_start", "quantity", "cost").rows() == [
            (MON, 10.0, 1000.0),
            (TUE, 5.0, 600.0),
        ]
        assert rows["proceeds"].to_list() == pytest.approx([1945 * 10 / 15, 1945 * 5 / 15])

    def test_holdings_and_summary_follow_the_lot_method(self):
        prices = closes(("AAA", THU, 130.0, "USD"))
        for method, open_cost, realised in (
            ("fifo", 1500.0, 345.0),
            ("lifo", 1600.0, 445.0),
            ("hifo", 1400.0, 245.0),
            ("average", 1550.0, 395.0),
        ):
            h = holdings(self.ledger, prices, NO_FX, as_of=THU, lot_method=method).row(
                0, named=True
            )
            assert h["quantity"] == pytest.approx(15.0)
            assert h["cost_basis"] == pytest.approx(open_cost)
            assert h["avg_cost"] == pytest.approx(open_cost / 15)
            assert h["unrealised_pnl"] == pytest.approx(15 * 130 - open_cost)
            s = summarise(self.ledger, prices, NO_FX, as_of=THU, lot_method=method)
            assert s.realised_pnl == pytest.approx(realised)
            # Realised + unrealised is the same whatever the method: 1945 + 1950 - 3100.
            assert s.realised_pnl + s.unrealised_pnl == pytest.approx(795.0)

    def test_unknown_method_is_refused(self):
        with pytest.raises(ValueError, match="lot method must be one of"):
            open_lots(self.ledger, "random")


# --------------------------------------------------------------------------- splits


def test_split_then_sell():
    # Buy 10 @ 100 + 2 fee: one lot of 10 @ 100.2 (cost 1002).
    # 2-for-1 split: 20 @ 50.1 (cost still 1002, open date still Monday).
    # Sell 5 @ 60 - 1 fee: proceeds 299, cost 5 * 50.1 = 250.5, P&L 48.5.
    # Left: 15 @ 50.1 = 751.5. Then a 1-for-10 reverse split: 1.5 @ 501.
    ledger = txs(buy(MON, 10, 100, 2), split(TUE, 2.0), sell(WED, 5, 60, 1), split(THU, 0.1))
    [trade] = realised_trades(ledger).to_dicts()
    assert trade["cost"] == pytest.approx(250.5)
    assert trade["realised_pnl"] == pytest.approx(48.5)
    assert trade["holding_start"] == MON
    [lot] = open_lots(ledger).to_dicts()
    assert (lot["open_date"], lot["quantity"], lot["unit_cost"]) == (
        MON,
        pytest.approx(1.5),
        pytest.approx(501.0),
    )
    # Valuation follows the position: 10 shares Mon (close 100), 20 Tue (close 50),
    # 15 Wed (close 52), 1.5 Thu (close 520).
    prices = closes(
        ("AAA", MON, 100.0, "USD"),
        ("AAA", TUE, 50.0, "USD"),
        ("AAA", WED, 52.0, "USD"),
        ("AAA", THU, 520.0, "USD"),
    )
    daily = daily_values(ledger, prices, NO_FX, end=THU)
    assert daily["holdings_value"].to_list() == pytest.approx([1000.0, 1000.0, 780.0, 780.0])
    assert daily["net_flows"].to_list() == pytest.approx([1002.0, 0.0, 0.0, 0.0])  # split: none
    h = holdings(ledger, prices, NO_FX, as_of=THU).row(0, named=True)
    assert (h["quantity"], h["cost_basis"]) == (pytest.approx(1.5), pytest.approx(751.5))


def test_a_split_applies_to_its_own_account_only():
    # Main and ISA hold 10 each; a 3-for-1 split recorded for Main: Main 30, ISA 10.
    ledger = txs(buy(MON, 10, 30), buy(MON, 10, 30, account="ISA"), split(TUE, 3.0))
    lots = open_lots(ledger)
    assert dict(lots.select("account", "quantity").iter_rows()) == {
        "ISA": 10.0,
        "Main": pytest.approx(30.0),
    }


# --------------------------------------------------------------------------- income


class TestDividendsInterestAndTax:
    """100 AAA @ 10 on Monday (1000 USD deposited first).

    Tue: dividend 50 with 7.5 withholding, reinvested: 4 shares @ 10.5 = 42.
         cash: 50 - 7.5 - 42 = +0.5; a lot of 4 @ 10.5 opens; income 42.5.
    Wed: interest 20 (cash, income). Thu: tax 3 on AAA (income -3).
    Income = 42.5 + 20 - 3 = 59.5; cash = 0 + 0.5 + 20 - 3 = 17.5.
    """

    ledger = txs(
        cash(MON, "deposit", 1000.0),
        buy(MON, 100, 10),
        {**cash(TUE, "dividend", 50.0, fee=7.5), "symbol": "AAA", "quantity": 4.0, "price": 10.5},
        cash(WED, "interest", 20.0),
        {**cash(THU, "tax", 3.0), "symbol": "AAA"},
    )
    prices = closes(("AAA", MON, 10.0, "USD"), ("AAA", THU, 11.0, "USD"))

    def test_drip_opens_a_lot(self):
        lots = open_lots(self.ledger)
        assert lots.select("open_date", "quantity", "unit_cost").rows() == [
            (MON, 100.0, 10.0),
            (TUE, 4.0, 10.5),
        ]
        assert realised_trades(self.ledger).is_empty()  # a reinvestment sells nothing

    def test_cash_and_income(self):
        ledger = cash_ledger(self.ledger)
        assert ledger["cash_flow"].to_list() == pytest.approx([1000, -1000, 0.5, 20, -3])
        assert ledger["income"].to_list() == pytest.approx([0, 0, 42.5, 20, -3])
        daily = by_date(daily_values(self.ledger, self.prices, NO_FX, end=THU))
        assert [daily[d]["income"] for d in (MON, TUE, WED, THU)] == pytest.approx(
            [0.0, 42.5, 20.0, -3.0]
        )
        # Tue: 104 shares * 10 + 0.5 cash = 1040.5; Mon 1000; no flow -> +40.5 (the DRIP
        # shares at the close 10 plus the 0.5 cash: the income net of the 2 paid above it).
        assert daily[TUE]["total_value"] == pytest.approx(1040.5)
        assert daily[TUE]["day_change"] == pytest.approx(40.5)
        assert all(daily[d]["net_flows"] == 0.0 for d in (TUE, WED, THU))
        s = summarise(self.ledger, self.prices, NO_FX, as_of=THU)
        assert s.income == pytest.approx(59.5)
        assert s.cash_by_currency == {"USD": pytest.approx(17.5)}
        # 104 * 11 + 17.5 = 1161.5
        assert s.total_value == pytest.approx(1161.5)
        assert s.cost_basis == pytest.approx(1042.0)  # 1000 + 42

    def test_per_holding_income_and_flows(self):
        frame = keyed(daily_values_by(self.ledger, self.prices, NO_FX, by="symbol", end=THU))
        # Buy: inflow 1000 on Monday; DRIP: inflow 42 (4 * 10.5) and income 42.5 on Tuesday;
        # the tax on AAA is -3 of AAA's income on Thursday; interest has no symbol.
        assert frame[("AAA", MON)]["net_flows"] == pytest.approx(1000.0)
        assert frame[("AAA", TUE)]["net_flows"] == pytest.approx(42.0)
        assert frame[("AAA", TUE)]["income"] == pytest.approx(42.5)
        assert frame[("AAA", WED)]["income"] == 0.0
        assert frame[("AAA", THU)]["income"] == pytest.approx(-3.0)
        assert frame[("AAA", THU)]["value"] == pytest.approx(104 * 11.0)


# --------------------------------------------------------------------------- transfers


class TestInternalTransfer:
    """Main buys 10 AAA @ 100 on Monday; on Tuesday 4 move to the ISA (a pair)."""

    pair = transfer(TUE, "Main", "ISA", tid="t-1", symbol="AAA", qty=4.0)
    moved = txs(buy(MON, 10, 100), *pair)
    stayed = txs(buy(MON, 10, 100))
    prices = closes(
        ("AAA", MON, 100.0, "USD"), ("AAA", TUE, 105.0, "USD"), ("AAA", WED, 110.0, "USD")
    )

    def test_lots_move_with_cost_and_open_date(self):
        lots = open_lots(self.moved)
        assert lots.select("account", "open_date", "quantity", "unit_cost").rows() == [
            ("ISA", MON, 4.0, 100.0),
            ("Main", MON, 6.0, 100.0),
        ]
        assert normalise_transactions(self.moved)["internal"].to_list() == [False, True, True]

    def test_portfolio_values_and_flows_are_unaffected(self):
        with_pair = daily_values(self.moved, self.prices, NO_FX, end=WED)
        without = daily_values(self.stayed, self.prices, NO_FX, end=WED)
        assert with_pair.equals(without)
        # So the time-weighted return is unaffected too: Tue (1050 - 1000 - 0) / 1000 = 5 %.
        row = by_date(with_pair)[TUE]
        assert row["net_flows"] == 0.0 and row["day_change"] == pytest.approx(50.0)

    def test_per_account_flows_at_the_close(self):
        frame = keyed(daily_values_by(self.moved, self.prices, NO_FX, by="account", end=WED))
        # Tue: 4 shares at Tuesday's close 105 = 420 leave Main and reach the ISA.
        assert frame[("Main", TUE)]["net_flows"] == pytest.approx(-420.0)
        assert frame[("ISA", TUE)]["net_flows"] == pytest.approx(420.0)
        assert frame[("Main", TUE)]["value"] == pytest.approx(630.0)  # 6 * 105
        assert frame[("ISA", TUE)]["value"] == pytest.approx(420.0)
        # ISA return on Wed: (440 - 420 - 0) / 420 = 4.76 %, like the stock (110/105 - 1).
        isa = frame[("ISA", WED)]
        assert (isa["value"] - 420.0) / 420.0 == pytest.approx(110 / 105 - 1)
        # Accounts add up to the portfolio, flows included.
        portfolio = by_date(daily_values(self.moved, self.prices, NO_FX, end=WED))
        for day in (MON, TUE, WED):
            assert frame[("Main", day)]["value"] + frame[("ISA", day)]["value"] == pytest.approx(
                portfolio[day]["total_value"]
            )
            assert frame[("Main", day)]["net_flows"] + frame[("ISA", day)][
                "net_flows"
            ] == pytest.approx(portfolio[day]["net_flows"])

    def test_holdings_per_account(self):
        h = holdings(self.moved, self.prices, NO_FX, as_of=WED, by_account=True)
        # Main 6 * 110 = 660, ISA 4 * 110 = 440; weights of the 1100 total.
        assert h.select("account", "symbol", "quantity", "market_value", "weight").rows() == [
            ("Main", "AAA", 6.0, 660.0, pytest.approx(0.6)),
            ("ISA", "AAA", 4.0, 440.0, pytest.approx(0.4)),
        ]
        assert h["cost_basis"].to_list() == [600.0, 400.0]
        together = holdings(self.moved, self.prices, NO_FX, as_of=WED)
        assert together.select("quantity", "market_value").row(0) == (10.0, 1100.0)

    def test_a_sale_in_the_receiving_account_uses_the_moved_lot(self):
        ledger = pl.concat([self.moved, txs(sell(WED, 4, 110, account="ISA"))])
        [trade] = realised_trades(ledger).to_dicts()
        assert (trade["account"], trade["cost"], trade["holding_start"]) == ("ISA", 400.0, MON)
        with pytest.raises(ValueError, match="only 0 held in account ISA"):
            realised_trades(pl.concat([ledger, txs(sell(THU, 1, 110, account="ISA"))]))

    def test_cash_transfer_between_accounts(self):
        ledger = txs(
            cash(MON, "deposit", 1000.0), *transfer(TUE, "Main", "ISA", tid="c", amount=300.0)
        )
        balances = cash_balances(ledger)
        assert balances.rows() == [("ISA", "USD", 300.0), ("Main", "USD", 700.0)]
        daily = daily_values(ledger, closes(), NO_FX, end=TUE)
        assert daily["net_flows"].to_list() == [1000.0, 0.0]

    def test_malformed_pairs_are_refused(self):
        out, into = self.pair
        with pytest.raises(ValueError, match="pair exactly one transfer_out"):
            normalise_transactions(txs(buy(MON, 10, 100), out, out, into))
        with pytest.raises(ValueError, match="same date, symbol, quantity"):
            normalise_transactions(txs(buy(MON, 10, 100), out, {**into, "quantity": 3.0}))
        with pytest.raises(ValueError, match="only transfer_in/transfer_out"):
            normalise_transactions(txs({**buy(MON, 10, 100), "transfer_id": "x"}))


@pytest.mark.parametrize(
    ("method", "moved"),
    [
        # Lots A: Mon 10 @ 100, B: Tue 10 @ 120. Move 4 to the ISA on Wednesday.
        ("fifo", [(MON, 4.0, 100.0)]),  # oldest first
        ("lifo", [(TUE, 4.0, 120.0)]),  # newest first
        ("hifo", [(TUE, 4.0, 120.0)]),  # dearest first
        ("average", [(MON, 2.0, 100.0), (TUE, 2.0, 120.0)]),  # pro rata: 4/20 of each
    ],
)
def test_internal_transfer_moves_lots_by_the_lot_method(method, moved):
    ledger = txs(
        buy(MON, 10, 100),
        buy(TUE, 10, 120),
        *transfer(WED, "Main", "ISA", tid="t", symbol="AAA", qty=4.0),
    )
    lots = open_lots(ledger, method)
    isa = lots.filter(pl.col("account") == "ISA")
    assert isa.select("open_date", "quantity", "unit_cost").rows() == moved
    # Quantity and cost are conserved: 20 shares costing 2200 in all.
    assert lots["quantity"].sum() == pytest.approx(20.0)
    assert (lots["quantity"] * lots["unit_cost"]).sum() == pytest.approx(2200.0)
    assert realised_trades(ledger, method).is_empty()


def test_external_transfer_in_counts_as_an_inflow_at_its_price():
    # 5 BBB delivered from another broker on Tuesday at 20 a share: a lot of 5 @ 20 and an
    # external inflow of 100. Wednesday close 22: value 110, day change +10.
    ledger = txs(
        cash(MON, "deposit", 50.0),
        {"date": TUE, "kind": "transfer_in", "symbol": "BBB", "quantity": 5.0, "price": 20.0},
    )
    prices = closes(("BBB", TUE, 20.0, "USD"), ("BBB", WED, 22.0, "USD"))
    daily = by_date(daily_values(ledger, prices, NO_FX, end=WED))
    assert daily[TUE]["net_flows"] == pytest.approx(100.0)
    assert daily[TUE]["day_change"] == 0.0
    assert daily[WED]["day_change"] == pytest.approx(10.0)
    assert daily[WED]["cumulative_flows"] == pytest.approx(150.0)
    [lot] = open_lots(ledger).to_dicts()
    assert (lot["open_date"], lot["quantity"], lot["unit_cost"]) == (TUE, 5.0, 20.0)
    by_symbol = keyed(daily_values_by(ledger, prices, NO_FX, by="symbol", end=WED))
    assert by_symbol[("BBB", TUE)]["net_flows"] == pytest.approx(100.0)
    # Delivered out again on Wednesday at 22: an outflow of 110, no realised P&L.
    out = {"date": WED, "kind": "transfer_out", "symbol": "BBB", "quantity": 5.0, "price": 22.0}
    later = pl.concat([ledger, txs(out)])
    assert by_date(daily_values(later, prices, NO_FX, end=WED))[WED]["net_flows"] == -110.0
    assert realised_trades(later).is_empty() and open_lots(later).is_empty()


# --------------------------------------------------------------------------- cash and FX


def test_cash_per_account_and_currency():
    # Main: +1000 USD, +500 EUR, -300 USD to the ISA, -50 EUR withdrawn -> 700 USD, 450 EUR.
    # ISA: +300 USD in, buys 5 @ 100 = 500 -> short 200, funded implicitly (its own cash
    # rule: Main's USD does not pay for the ISA's buy) -> ISA cash 0.
    ledger = txs(
        cash(MON, "deposit", 1000.0),
        cash(MON, "deposit", 500.0, currency="EUR"),
        *transfer(TUE, "Main", "ISA", tid="c", amount=300.0),
        buy(WED, 5, 100, account="ISA"),
        cash(THU, "withdrawal", 50.0, currency="EUR"),
    )
    assert cash_balances(ledger).rows() == [("Main", "EUR", 450.0), ("Main", "USD", 700.0)]
    assert cash_balances(ledger, as_of=TUE).rows() == [
        ("ISA", "USD", 300.0),
        ("Main", "EUR", 500.0),
        ("Main", "USD", 700.0),
    ]
    ledger_rows = cash_ledger(ledger)
    assert ledger_rows["implicit_contribution"].to_list() == pytest.approx([0, 0, 0, 0, 200, 0])
    s = summarise(
        ledger,
        closes(("AAA", WED, 100.0, "USD")),
        fx((MON, "EUR", 1.1)),
        as_of=THU,
        base_currency="USD",
    )
    assert s.cash_by_currency == {"EUR": pytest.approx(450.0), "USD": pytest.approx(700.0)}
    # 1000 + 500 * 1.1 + 200 implicit - 50 * 1.1 = 1695
    assert s.net_contributions == pytest.approx(1695.0)


def test_fx_rate_of_a_row_beats_the_market_rate():
    # EUR deposit of 1000 with fx_rate 1.2 (the broker's rate) while the market says 1.1:
    # the inflow is 1200 USD; the EUR buy of 10 @ 50 at 1.25 costs 625 USD; the cash and
    # the shares are valued at the market rate 1.1: 500 * 1.1 + 10 * 50 * 1.1 = 1100.
    ledger = txs(
        cash(MON, "deposit", 1000.0, currency="EUR", fx_rate=1.2),
        buy(MON, 10, 50, symbol="SAP", currency="EUR", fx_rate=1.25),
    )
    prices = closes(("SAP", MON, 50.0, "EUR"))
    rates = fx((MON, "EUR", 1.1))
    daily = daily_values(ledger, prices, rates, end=MON, base_currency="USD").row(0, named=True)
    assert daily["net_flows"] == pytest.approx(1200.0)
    assert daily["total_value"] == pytest.approx(1100.0)
    h = holdings(ledger, prices, rates, as_of=MON, base_currency="USD").row(0, named=True)
    assert h["cost_basis"] == pytest.approx(625.0)
    assert open_lots(ledger)["fx_rate"].to_list() == [1.25]
    # Selling at fx 1.3: proceeds 10 * 60 * 1.3 = 780 USD - cost 625 = 155 realised (base).
    sold = pl.concat([ledger, txs(sell(TUE, 10, 60, symbol="SAP", currency="EUR", fx_rate=1.3))])
    s = summarise(sold, prices, rates, as_of=TUE, base_currency="USD")
    assert s.realised_pnl == pytest.approx(155.0)


def test_fx_rate_on_for_prefilling_a_form():
    rates = fx((TUE, "EUR", 1.1), (THU, "EUR", 1.2))
    assert fx_rate_on(rates, "EUR", WED, base_currency="USD") == 1.1  # on or before
    assert fx_rate_on(rates, "EUR", MON, base_currency="USD") == 1.1  # earliest later
    assert fx_rate_on(rates, "USD", MON, base_currency="USD") == 1.0
    assert fx_rate_on(rates, "GBP", MON, base_currency="USD") is None


def test_schemas_and_optional_columns():
    # The account/fx_rate/transfer_id columns are optional (notebooks may omit them).
    bare = txs(buy(MON, 1, 10)).drop("account", "fx_rate", "transfer_id")
    daily = daily_values(bare, closes(("AAA", MON, 10.0, "USD")), NO_FX, end=MON)
    assert daily.schema == pl.Schema(DAILY_SCHEMA)
    frame = daily_values_by(bare, closes(), NO_FX, by="account", end=MON)
    assert frame.schema == pl.Schema(BY_KEY_SCHEMA)
    assert frame["key"].to_list() == [""]
    with pytest.raises(ValueError, match="by must be"):
        daily_values_by(bare, closes(), NO_FX, by="sector", end=MON)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

# (symbol, action, quantity, price): action 0 = buy, 1 = sell (clipped to what is held),
# 2 = split with ratio from RATIOS.
RATIOS = (2.0, 3.0, 0.5, 0.1)
steps = st.lists(
    st.tuples(
        st.sampled_from(["AAA", "BBB"]),
        st.sampled_from([0, 0, 1, 1, 2]),
        st.integers(min_value=1, max_value=500),
        st.integers(min_value=1, max_value=300),
    ),
    max_size=30,
)


def _build(sequence):
    held = {"AAA": 0.0, "BBB": 0.0}
    bought_cost = dict.fromkeys(held, 0.0)
    proceeds = dict.fromkeys(held, 0.0)
    rows = []
    for i, (symbol, action, qty, price) in enumerate(sequence):
        day = D(2024, 1, 1) + dt.timedelta(days=i // 3)
        if action == 0:
            rows.append(buy(day, float(qty), float(price), 1.0, symbol))
            held[symbol] += qty
            bought_cost[symbol] += qty * price + 1.0
        elif action == 1 and held[symbol] > 1e-6:
            qty = min(float(qty), held[symbol])
            rows.append(sell(day, qty, float(price), 0.0, symbol))
            held[symbol] -= qty
            proceeds[symbol] += qty * price
        elif action == 2:
            ratio = RATIOS[qty % len(RATIOS)]
            rows.append(split(day, ratio, symbol))
            held[symbol] *= ratio
    ledger = txs(*rows) if rows else pl.DataFrame(schema=TX_SCHEMA)
    return ledger, held, bought_cost, proceeds


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from(LOT_METHODS))
def test_lots_conserve_quantity_and_cost_under_every_method(sequence, method):
    ledger, held, bought_cost, proceeds = _build(sequence)
    lots = open_lots(ledger, method)
    trades = realised_trades(ledger, method)
    assert (lots["quantity"] > 0).all()
    final_price = 100.0
    for symbol in held:
        mine = lots.filter(pl.col("symbol") == symbol)
        sold = trades.filter(pl.col("symbol") == symbol)
        # Open lots hold exactly the net position (splits multiply it).
        assert mine["quantity"].sum() == pytest.approx(held[symbol], rel=1e-9, abs=1e-6)
        # Every unit of cost is either still open or was realised on a sale.
        open_cost = (mine["quantity"] * mine["unit_cost"]).sum()
        assert open_cost + sold["cost"].sum() == pytest.approx(bought_cost[symbol], rel=1e-9)
        assert sold["proceeds"].sum() == pytest.approx(proceeds[symbol], rel=1e-9)
        # Realised + unrealised = everything received + still held - everything paid.
        unrealised = mine["quantity"].sum() * final_price - open_cost
        total = proceeds[symbol] + held[symbol] * final_price - bought_cost[symbol]
        assert sold["realised_pnl"].sum() + unrealised == pytest.approx(total, rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_average_cost_realises_at_the_running_average(sequence):
    ledger, *_ = _build(sequence)
    trades = realised_trades(ledger, "average").to_dicts()
    # An independent pooled model: quantity and cost per symbol.
    pool = {"AAA": [0.0, 0.0], "BBB": [0.0, 0.0]}
    expected = []
    for row in normalise_transactions(ledger).iter_rows(named=True):
        p = pool[row["symbol"]]
        if row["kind"] == "buy":
            p[0] += row["quantity"]
            p[1] += row["quantity"] * row["price"] + row["fee"]
        elif row["kind"] == "split":
            p[0] *= row["quantity"]
        else:
            cost = p[1] * row["quantity"] / p[0]
            expected.append(cost)
            p[0] -= row["quantity"]
            p[1] -= cost
    assert [t["cost"] for t in trades] == pytest.approx(expected, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_valuation_positions_match_the_lots(sequence):
    ledger, held, *_ = _build(sequence)
    if ledger.is_empty():
        return
    last = ledger["date"].max()
    prices = closes(("AAA", last, 10.0, "USD"), ("BBB", last, 10.0, "USD"))
    h = holdings(ledger, prices, NO_FX, as_of=last)
    by_symbol = dict(h.select("symbol", "quantity").iter_rows())
    for symbol, quantity in held.items():
        assert by_symbol.get(symbol, 0.0) == pytest.approx(quantity, rel=1e-9, abs=1e-6)
    daily = daily_values(ledger, prices, NO_FX, start=last, end=last)
    if last.weekday() < 5:
        expected = 10.0 * sum(q for q in held.values() if q > 1e-9)
        assert daily["holdings_value"][0] == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_demo_ledger_is_deterministic_and_continuous_across_its_split():
    from nexus.portfolio.demo import DEMO_ACCOUNTS, build_demo_ledger, demo_symbols
    from nexus.portfolio.model import InstrumentInfo

    instruments = {
        f"{c}{i}": InstrumentInfo(f"{c}{i}", f"{c} stock {i}", c)
        for c in ("USD", "EUR", "GBP")
        for i in range(3)
    }
    today = D(2026, 11, 25)
    days = pl.date_range(D(2023, 1, 1), today, "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5)
    # Flat prices: 100 for every stock on every business day; FX flat too.
    prices = pl.DataFrame(
        {
            "symbol": [s for s in demo_symbols(instruments) for _ in days],
            "date": [d for _ in demo_symbols(instruments) for d in days],
            "close": 100.0,
            "currency": [instruments[s].currency for s in demo_symbols(instruments) for _ in days],
        }
    )
    first = build_demo_ledger(instruments, prices, today=today)
    assert first == build_demo_ledger(instruments, prices, today=today)
    assert {d.account for d in first} == {None, *DEMO_ACCOUNTS}
    kinds = {d.kind for d in first}
    assert kinds >= {"dividend", "interest", "tax", "split", "transfer_in", "transfer_out"}
    frame = pl.DataFrame(
        [
            {
                "date": d.trade_date,
                "kind": d.kind,
                "symbol": d.symbol,
                "quantity": d.quantity,
                "price": d.price,
                "amount": d.amount,
                "fee": d.fee,
                "currency": d.currency,
                "account": d.account or "Main",
                "transfer_id": str(d.transfer_id) if d.transfer_id else None,
            }
            for d in first
        ]
    )
    rates = fx(*((day, c, 1.0) for day in (D(2023, 1, 2),) for c in ("EUR", "GBP")))
    daily = by_date(daily_values(frame, prices, rates, end=today, base_currency="USD"))
    split_day = next(d.trade_date for d in first if d.kind == "split")
    # The split doubles the shares, which are sold the same day at half the close: value
    # unchanged, the day's change is just the 4.95 sale fee.
    assert daily[split_day]["day_change"] == pytest.approx(-4.95)
    assert daily[split_day]["net_flows"] == 0.0
    transfer_day = next(d.trade_date for d in first if d.kind == "transfer_in" and d.symbol)
    assert daily[transfer_day]["day_change"] == 0.0 and daily[transfer_day]["net_flows"] == 0.0
