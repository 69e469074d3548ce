"""FIFO lots, realised P&L and transaction normalisation (hand-computed expectations)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus.analytics.lots import fifo_open_lots, normalise_transactions, realised_pnl

D = dt.date
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


def txs(*rows: dict, ids: list[int] | None = None) -> pl.DataFrame:
    """Build a transactions frame; each row needs date/kind, the rest defaults to 0/USD."""
    full = [
        {
            "symbol": None,
            "quantity": 0.0,
            "price": 0.0,
            "amount": 0.0,
            "fee": 0.0,
            "currency": "USD",
            **r,
        }
        for r in rows
    ]
    frame = pl.DataFrame(full, schema=TX_SCHEMA)
    if ids is not None:
        frame = frame.with_columns(pl.Series("id", ids, dtype=pl.Int64))
    return frame


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


def test_buy_fee_is_part_of_unit_cost():
    lots = fifo_open_lots(txs(buy(D(2024, 3, 4), "AAA", 4.0, 25.0, fee=2.0)))
    # (4 * 25 + 2) / 4 = 25.5; no account column in the input -> account "".
    assert lots.to_dicts() == [
        {
            "account": "",
            "symbol": "AAA",
            "open_date": D(2024, 3, 4),
            "quantity": 4.0,
            "unit_cost": 25.5,
            "currency": "USD",
            "fx_rate": None,
        }
    ]


def test_partial_sell_consumes_oldest_lot_first():
    ledger = txs(
        buy(D(2024, 3, 4), "AAA", 10.0, 100.0),
        buy(D(2024, 3, 5), "AAA", 10.0, 120.0),
        sell(D(2024, 3, 6), "AAA", 15.0, 130.0, fee=5.0),
    )
    lots = fifo_open_lots(ledger)
    # First lot (10 @ 100) fully sold, 5 of the second (10 @ 120) sold: 5 @ 120 left.
    assert lots.select("open_date", "quantity", "unit_cost").rows() == [(D(2024, 3, 5), 5.0, 120.0)]

    pnl = realised_pnl(ledger).row(0, named=True)
    # proceeds 15 * 130 - 5 = 1945; cost 10 * 100 + 5 * 120 = 1600; pnl 345.
    assert pnl["symbol"] == "AAA"
    assert pnl["quantity_sold"] == 15.0
    assert pnl["proceeds"] == pytest.approx(1945.0)
    assert pnl["cost"] == pytest.approx(1600.0)
    assert pnl["realised_pnl"] == pytest.approx(345.0)


def test_fully_closed_position_has_no_open_lot():
    ledger = txs(buy(D(2024, 3, 4), "AAA", 3.0, 10.0), sell(D(2024, 3, 5), "AAA", 3.0, 12.0))
    assert fifo_open_lots(ledger).is_empty()
    assert realised_pnl(ledger)["realised_pnl"].to_list() == [pytest.approx(6.0)]


def test_selling_more_than_held_raises():
    ledger = txs(buy(D(2024, 3, 4), "AAA", 5.0, 10.0), sell(D(2024, 3, 5), "AAA", 6.0, 10.0))
    with pytest.raises(ValueError, match=r"cannot sell 6 AAA on 2024-03-05: only 5 held"):
        fifo_open_lots(ledger)


def test_same_day_rows_follow_id_order_not_row_order():
    rows = (sell(D(2024, 3, 4), "AAA", 2.0, 11.0), buy(D(2024, 3, 4), "AAA", 5.0, 10.0))
    with pytest.raises(ValueError, match="cannot sell"):
        fifo_open_lots(txs(*rows))  # row order: sell before buy
    lots = fifo_open_lots(txs(*rows, ids=[2, 1]))  # ids: buy (1) before sell (2)
    assert lots["quantity"].to_list() == [3.0]


def test_mixed_trade_currencies_are_rejected():
    ledger = txs(
        buy(D(2024, 3, 4), "AAA", 1.0, 10.0), buy(D(2024, 3, 5), "AAA", 1.0, 10.0, currency="EUR")
    )
    with pytest.raises(ValueError, match="more than one currency"):
        fifo_open_lots(ledger)


def test_normalise_orders_and_cleans():
    raw = txs(
        {"date": D(2024, 3, 5), "kind": " Deposit ", "amount": 5.0, "currency": "usd"},
        {"date": D(2024, 3, 4), "kind": "FEE", "amount": 1.0},
    ).with_columns(pl.lit(None, dtype=pl.Float64).alias("fee"))
    out = normalise_transactions(raw)
    assert out["kind"].to_list() == ["fee", "deposit"]
    assert out["currency"].to_list() == ["USD", "USD"]
    assert out["fee"].to_list() == [0.0, 0.0]
    assert out["seq"].to_list() == [0, 1]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"date": D(2024, 3, 4), "kind": "gift", "amount": 1.0}, "kind must be one of"),
        ({"date": D(2024, 3, 4), "kind": "buy", "quantity": 1.0, "price": 1.0}, "needs a symbol"),
        ({"date": D(2024, 3, 4), "kind": "deposit", "amount": -5.0}, "must not be negative"),
        ({**buy(D(2024, 3, 4), "AAA", 0.0, 1.0)}, "quantity > 0"),
    ],
)
def test_invalid_rows_are_rejected(row, message):
    with pytest.raises(ValueError, match=message):
        normalise_transactions(txs(row))


def test_missing_column_is_reported():
    with pytest.raises(ValueError, match="missing column"):
        normalise_transactions(txs(buy(D(2024, 3, 4), "AAA", 1.0, 1.0)).drop("fee"))


# A trade sequence: (symbol, is_buy, quantity, price); sells are clipped to what is held.
trades = st.lists(
    st.tuples(
        st.sampled_from(["AAA", "BBB"]),
        st.booleans(),
        st.integers(min_value=1, max_value=1_000),
        st.integers(min_value=1, max_value=500),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(trades)
def test_lot_quantities_and_costs_are_conserved(sequence):
    held: dict[str, float] = {"AAA": 0.0, "BBB": 0.0}
    bought = dict.fromkeys(held, 0.0)
    sold = dict.fromkeys(held, 0.0)
    buy_cost = dict.fromkeys(held, 0.0)
    rows = []
    for i, (symbol, is_buy, qty, price) in enumerate(sequence):
        day = D(2024, 1, 1) + dt.timedelta(days=i // 3)
        if is_buy:
            rows.append(buy(day, symbol, float(qty), float(price), fee=1.0))
            held[symbol] += qty
            bought[symbol] += qty
            buy_cost[symbol] += qty * price + 1.0
        elif held[symbol] > 0:
            qty = min(qty, held[symbol])
            rows.append(sell(day, symbol, float(qty), float(price)))
            held[symbol] -= qty
            sold[symbol] += qty

    ledger = txs(*rows) if rows else pl.DataFrame(schema=TX_SCHEMA)
    lots = fifo_open_lots(ledger)
    realised = {r["symbol"]: r for r in realised_pnl(ledger).to_dicts()}
    assert (lots["quantity"] > 0).all()
    for symbol in held:
        mine = lots.filter(pl.col("symbol") == symbol)
        assert mine["quantity"].sum() == pytest.approx(bought[symbol] - sold[symbol])
        # Every unit of cost is either still open or was realised on a sale.
        open_cost = (mine["quantity"] * mine["unit_cost"]).sum()
        realised_cost = realised[symbol]["cost"] if symbol in realised else 0.0
        assert open_cost + realised_cost == pytest.approx(buy_cost[symbol])
