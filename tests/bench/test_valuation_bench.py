"""Valuing a portfolio from its ledger vs a per-day pandas loop, as a ratio measured in one
run (issue 5, point 9: "valuing a 200-position, 10-year portfolio from its ledger runs at
least 10× faster than a straightforward per-day pandas loop over the same ledger").

Data (seeded, deterministic; built once per module):

* 200 symbols (120 USD, 40 EUR, 40 GBP; base USD), 10 years of business days
  (2015-01-05 .. 2024-12-31): log-normal random-walk closes, one row per trading day and
  symbol, in symbol/date order as the market reader returns them. Each currency has ~9
  exchange holidays a year (no row: the close is forward-filled), 12 symbols list 3 months
  to 3 years late, and 3 symbols split (2:1, 3:1 and a 1:4 reverse split; the raw closes
  jump by the ratio on the split day).
* FX: EUR and GBP (USD per unit) random walks on business days with 50 missing days each.
* Ledger, one account, market FX (no ``fx_rate`` column), no transfers; kinds used:
  ``deposit`` (three opening deposits in USD/EUR/GBP and 10,000 USD on the 1st of every
  month - a weekend 1st is dated on the weekend and counts on Monday), ``buy`` (one
  opening buy per symbol, then buys among 3,000 random trades), ``sell`` (the other random
  trades: part or all of the position at that point, never more), ``dividend`` (quarterly
  for a third of the symbols, with 15% withholding as the row's fee outside the US; 7 of
  them reinvest: quantity/price set, DRIP), ``split`` (the three above), ``interest`` (each
  currency, month end), ``fee`` (25 USD a month), ``tax`` (April, USD and GBP) and
  ``withdrawal`` (20,000 USD each July, 50,000 EUR in some Octobers). Cash is kept per
  currency, so the cash rule bites: ~340 rows (buys in all three currencies, early
  withdrawals, a fee, taxes) need more cash of their currency than there is, and the
  shortfall is an implicit contribution. About 6,400 rows; exact counts per kind are in
  the ``figures`` fixture.

"Valuing from the ledger" (ours, timed): ``daily_values`` over the whole 10 years plus
``holdings(as_of=last day)``, from the polars frames. ``summarise`` at the last day is timed
and reported as well (``summarise_seconds_not_in_ratio``) but left out of the asserted
ratio: it re-derives its own inputs (closes and ledger again through ``holdings``, the lots
replayed twice) and about doubles our side; the baseline has no counterpart to it.

Baseline (theirs, timed): what a competent analyst writes without vectorising across days,
from pandas versions of the same frames (converted beforehand): closes and FX pivoted to
date-indexed frames, forward-filled over the business days; then one loop over the
business days that applies that day's ledger rows (and earlier weekend rows) to a dict of
positions and a dict of cash per currency under the same cash rule (never below zero, a
shortfall is an implicit contribution; see ``nexus.analytics.valuation``), converts flows
and income at the row date's FX (``Series.asof``), looks up the day's closes and rates
(``.loc[day]``) and sums each held symbol's ``quantity * close * rate`` and the cash; at the
end the open positions with their last close and market value. (Valuing each day with
Series arithmetic over the held symbols instead was about twice as slow with pandas 3,
so the per-symbol lookups are the stronger baseline.)

Asserted: both sides give the same numbers - total value on every day within 1e-6
relative, net flows and income per day, and every final position's quantity and market
value - and ours is at least 10× faster (best of several interleaved rounds per side).
"""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from nexus.analytics.valuation import daily_values, holdings, summarise
from tests.bench.interleave import interleaved

SYMBOLS = 200
CURRENCIES = ("USD", "EUR", "GBP")
BASE = "USD"
START = date(2015, 1, 5)
END = date(2024, 12, 31)
TRADES = 3000
SEED = 20240509
SPLITS = {17: (900, 2.0), 88: (1500, 3.0), 143: (2100, 0.25)}  # symbol: (day index, ratio)
EPSILON = 1e-9  # positions and cash at or below this count as zero (as in valuation)
MIN_RATIO = 10.0
OUR_ROUNDS = 15
THEIR_ROUNDS = 3
SUMMARISE_ROUNDS = 3

pytestmark = pytest.mark.bench

TX_SCHEMA = {
    "id": pl.Int64,
    "date": pl.Date,
    "kind": pl.Utf8,
    "symbol": pl.Utf8,
    "quantity": pl.Float64,
    "price": pl.Float64,
    "amount": pl.Float64,
    "fee": pl.Float64,
    "currency": pl.Utf8,
}


# --------------------------------------------------------------------------- data


def _market(rng: np.random.Generator) -> dict[str, Any]:
    days = [d.date() for d in pd.bdate_range(START, END)]
    n = len(days)
    day_array = np.array(days, dtype="datetime64[D]")
    symbols = [f"S{i:03d}" for i in range(SYMBOLS)]
    currency = [("USD", "USD", "USD", "EUR", "GBP")[i % 5] for i in range(SYMBOLS)]
    listed = np.zeros(SYMBOLS, dtype=int)
    late = rng.choice(SYMBOLS, 12, replace=False)
    listed[late] = rng.integers(60, 750, 12)
    holidays = {c: np.sort(rng.choice(np.arange(1, n), 90, replace=False)) for c in CURRENCIES}

    raw = rng.uniform(20, 300, SYMBOLS) * np.exp(
        np.cumsum(rng.normal(0.0003, 0.018, (n, SYMBOLS)), axis=0)
    )
    for s, (t, ratio) in SPLITS.items():
        raw[t:, s] /= ratio
    raw = np.round(raw, 4)
    for s in range(SYMBOLS):
        raw[: listed[s], s] = np.nan
        raw[holidays[currency[s]], s] = np.nan
    si, ti = np.nonzero(~np.isnan(raw.T))  # symbol-major: rows in symbol/date order
    closes = pl.DataFrame(
        {
            "symbol": np.array(symbols)[si],
            "date": day_array[ti],
            "close": raw[ti, si],
            "currency": np.array(currency)[si],
        },
        schema={"symbol": pl.Utf8, "date": pl.Date, "close": pl.Float64, "currency": pl.Utf8},
    )
    fx_parts = []
    for ccy, level in (("EUR", 1.10), ("GBP", 1.30)):
        rate = np.round(level * np.exp(np.cumsum(rng.normal(0, 0.005, n))), 6)
        keep = np.ones(n, dtype=bool)
        keep[rng.choice(np.arange(1, n), 50, replace=False)] = False
        fx_parts.append(
            pl.DataFrame(
                {"date": day_array[keep], "currency": ccy, "rate": rate[keep]},
                schema={"date": pl.Date, "currency": pl.Utf8, "rate": pl.Float64},
            )
        )
    return {
        "days": days,
        "symbols": symbols,
        "currency": currency,
        "listed": listed,
        "price": pd.DataFrame(raw).ffill().to_numpy(),  # as-of close per day and symbol
        "closes": closes,
        "fx": pl.concat(fx_parts),
    }


def _ledger(rng: np.random.Generator, market: dict[str, Any]) -> pl.DataFrame:
    """Generated day by day, tracking positions (splits included) so that no sell or
    dividend refers to shares that are not held."""
    days, symbols, ccy = market["days"], market["symbols"], market["currency"]
    n = len(days)
    rows: list[tuple[Any, ...]] = []
    held = np.zeros(SYMBOLS)

    def add(day, kind, s=None, qty=0.0, price=0.0, amount=0.0, fee=0.0, currency="USD"):
        symbol = None if s is None else symbols[s]
        currency = currency if s is None else ccy[s]
        rows.append((day, kind, symbol, *map(float, (qty, price, amount, fee)), currency))

    first_buy = np.maximum(market["listed"], rng.integers(0, 40, SYMBOLS))
    trades: dict[int, list[int]] = {}
    for t, s in zip(
        rng.integers(41, n, TRADES).tolist(), rng.integers(0, SYMBOLS, TRADES).tolist(), strict=True
    ):
        trades.setdefault(t, []).append(s)
    payers = [s for s in range(SYMBOLS) if s % 3 == 0]
    dividend_months: set[tuple[int, int]] = set()
    previous = days[0] - timedelta(days=3)
    for t, day in enumerate(days):
        price = market["price"][t]
        for s, (split_day, ratio) in SPLITS.items():
            if split_day == t:
                add(day, "split", s, ratio)
                held[s] *= ratio
        calendar_day = previous + timedelta(days=1)
        while calendar_day <= day:  # the 1st of a month, even on a weekend
            if calendar_day.day == 1:
                add(calendar_day, "deposit", amount=10_000.0)
            calendar_day += timedelta(days=1)
        if t == 0:
            for currency, amount in (("USD", 1_500_000.0), ("EUR", 400_000.0), ("GBP", 300_000.0)):
                add(day, "deposit", amount=amount, currency=currency)
        for s in np.nonzero(first_buy == t)[0].tolist():
            if math.isnan(price[s]):  # listed on an exchange holiday: buy the next day
                first_buy[s] += 1
                continue
            px = round(price[s] * (1 + rng.normal(0, 0.002)), 4)
            qty = math.floor(rng.uniform(5_000, 20_000) / px) or 1
            add(day, "buy", s, qty, px, fee=round(rng.uniform(1, 10), 2))
            held[s] += qty
        for s in trades.get(t, []):
            if math.isnan(price[s]):
                continue
            px = round(price[s] * (1 + rng.normal(0, 0.002)), 4)
            fee = round(rng.uniform(1, 10), 2)
            if held[s] > EPSILON and rng.random() < 0.4:
                everything = rng.random() < 0.1
                qty = held[s] if everything else math.floor(held[s] * rng.uniform(0.1, 0.6))
                if qty > 0:
                    add(day, "sell", s, qty, px, fee=fee)
                    held[s] = 0.0 if everything else held[s] - qty
            else:
                qty = math.floor(rng.uniform(2_000, 20_000) / px) or 1
                add(day, "buy", s, qty, px, fee=fee)
                held[s] += qty
        if day.month % 3 == 0 and day.day >= 15 and (day.year, day.month) not in dividend_months:
            dividend_months.add((day.year, day.month))
            for s in payers:
                if held[s] <= EPSILON or math.isnan(price[s]):
                    continue
                amount = round(held[s] * price[s] * 0.005, 2)
                fee = 0.0 if ccy[s] == "USD" else round(amount * 0.15, 2)
                if s % 30 == 0:  # reinvested
                    qty = round((amount - fee) / price[s], 4)
                    add(day, "dividend", s, qty, price[s], amount, fee)
                    held[s] += qty
                else:
                    add(day, "dividend", s, amount=amount, fee=fee)
        if t + 1 == n or days[t + 1].month != day.month:  # month end
            for currency in CURRENCIES:
                add(day, "interest", amount=round(rng.uniform(5, 200), 2), currency=currency)
            add(day, "fee", amount=25.0)
            if day.month == 4:
                add(day, "tax", amount=round(rng.uniform(500, 3_000), 2))
                add(day, "tax", amount=round(rng.uniform(100, 800), 2), currency="GBP")
            if day.month == 7:
                add(day, "withdrawal", amount=20_000.0)
            if day.month == 10 and day.year % 3 == 0:
                add(day, "withdrawal", amount=50_000.0, currency="EUR")
        previous = day
    return (
        pl.DataFrame(rows, schema=[c for c in TX_SCHEMA.items() if c[0] != "id"], orient="row")
        .with_row_index("_generated")
        .sort("date", "_generated")  # weekend deposits were generated on the Monday
        .with_row_index("id")
        .select(list(TX_SCHEMA))
        .cast(TX_SCHEMA)
    )


@pytest.fixture(scope="module")
def book() -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    market = _market(rng)
    tx = _ledger(rng, market)
    return {
        "tx": tx,
        "closes": market["closes"],
        "fx": market["fx"],
        # the baseline's inputs: the same frames as pandas (not timed)
        "tx_pd": tx.to_pandas(),
        "closes_pd": market["closes"].to_pandas(),
        "fx_pd": market["fx"].to_pandas(),
    }


# --------------------------------------------------------------------------- both sides


def ours(tx: pl.DataFrame, closes: pl.DataFrame, fx: pl.DataFrame) -> dict[str, pl.DataFrame]:
    daily = daily_values(tx, closes, fx, end=END, base_currency=BASE)
    return {
        "daily": daily,
        "holdings": holdings(tx, closes, fx, as_of=daily["date"][-1], base_currency=BASE),
    }


def pandas_loop(tx: pd.DataFrame, closes: pd.DataFrame, fx: pd.DataFrame) -> dict[str, Any]:
    """One pass over the business days; per day the ledger rows, then the valuation."""
    days = pd.bdate_range(tx["date"].min(), END)
    prices = closes.pivot(index="date", columns="symbol", values="close")
    prices = prices.reindex(prices.index.union(days)).ffill()
    rates = fx.pivot(index="date", columns="currency", values="rate")
    rates = rates.reindex(rates.index.union(days)).ffill()
    rates[BASE] = 1.0
    currency_of = closes.groupby("symbol")["currency"].first().to_dict()

    positions: dict[str, float] = {}
    cash: dict[str, float] = {}
    ledger = list(tx.sort_values(["date", "id"]).itertuples(index=False))
    next_row = 0
    out = []
    for day in days:
        flows = income = 0.0
        while next_row < len(ledger) and ledger[next_row].date <= day:
            row = ledger[next_row]
            next_row += 1
            kind, qty, price, amount, fee = row.kind, row.quantity, row.price, row.amount, row.fee
            effect = explicit = 0.0
            if kind == "buy":
                effect = -(qty * price + fee)
                positions[row.symbol] = positions.get(row.symbol, 0.0) + qty
            elif kind == "sell":
                effect = qty * price - fee
                positions[row.symbol] = positions.get(row.symbol, 0.0) - qty
            elif kind == "split":
                positions[row.symbol] = positions.get(row.symbol, 0.0) * qty
            elif kind == "dividend":
                effect = amount - fee
                if qty > 0 and price > 0:  # reinvested
                    effect -= qty * price
                    positions[row.symbol] = positions.get(row.symbol, 0.0) + qty
            elif kind in ("deposit", "interest"):
                effect = amount
                explicit = amount if kind == "deposit" else 0.0
            elif kind in ("withdrawal", "fee", "tax"):
                effect = -amount
                explicit = -amount if kind == "withdrawal" else 0.0
            balance = cash.get(row.currency, 0.0) + effect
            shortfall = -balance if balance < 0 else 0.0  # funded from outside
            cash[row.currency] = balance + shortfall
            rate = 1.0 if row.currency == BASE else rates[row.currency].asof(row.date)
            flows += (explicit + shortfall) * rate
            if kind in ("dividend", "interest", "tax"):
                income += (amount - fee if kind == "dividend" else amount) * (
                    -rate if kind == "tax" else rate
                )
        closes_today = prices.loc[day]
        rates_today = rates.loc[day]
        holdings_value = 0.0
        for symbol, qty in positions.items():
            if abs(qty) > EPSILON:
                holdings_value += qty * closes_today[symbol] * rates_today[currency_of[symbol]]
        cash_value = 0.0
        for currency, balance in cash.items():
            if abs(balance) > EPSILON:
                cash_value += balance * rates_today[currency]
        out.append((day, holdings_value + cash_value, flows, income))
    last = days[-1]
    held = pd.DataFrame(
        [
            (symbol, qty, prices.at[last, symbol] * rates.at[last, currency_of[symbol]])
            for symbol, qty in positions.items()
            if abs(qty) > EPSILON
        ],
        columns=["symbol", "quantity", "base_price"],
    )
    held["market_value"] = held["quantity"] * held["base_price"]
    daily = pd.DataFrame(out, columns=["date", "total_value", "net_flows", "income"])
    return {"daily": daily, "holdings": held.sort_values("symbol", ignore_index=True)}


def _check_same(mine: dict[str, pl.DataFrame], theirs: dict[str, Any]) -> None:
    daily, ref = mine["daily"], theirs["daily"]
    assert daily["date"].to_list() == [d.date() for d in ref["date"]]
    assert daily["missing_prices"].list.len().sum() == 0
    assert daily["missing_fx"].list.len().sum() == 0
    total = daily["total_value"].to_numpy()
    np.testing.assert_allclose(total, ref["total_value"].to_numpy(), rtol=1e-6, atol=0)
    for column in ("net_flows", "income"):
        np.testing.assert_allclose(
            daily[column].to_numpy(), ref[column].to_numpy(), rtol=1e-6, atol=1e-6
        )
    held, ref_held = mine["holdings"].sort("symbol"), theirs["holdings"]
    assert held["symbol"].to_list() == ref_held["symbol"].to_list()
    for column in ("quantity", "market_value"):
        np.testing.assert_allclose(
            held[column].to_numpy(), ref_held[column].to_numpy(), rtol=1e-9, atol=0
        )


# --------------------------------------------------------------------------- benchmark


def test_valuation_from_ledger_vs_pandas_day_loop(
    figures: dict[str, Any], book: dict[str, Any]
) -> None:
    """Ours (daily_values + holdings) ≥ 10× the per-day pandas loop, same numbers."""
    tx, closes, fx = book["tx"], book["closes"], book["fx"]
    results: dict[str, Any] = {}

    def run_theirs() -> None:
        results["theirs"] = pandas_loop(book["tx_pd"], book["closes_pd"], book["fx_pd"])

    def run_ours() -> None:
        results["ours"] = ours(tx, closes, fx)

    ours(tx, closes, fx)  # warm-up (first-touch allocations, thread pool)
    timing = interleaved(
        run_ours, run_theirs, pairs=THEIR_ROUNDS, candidate_repeat=OUR_ROUNDS // THEIR_ROUNDS
    )
    _check_same(results["ours"], results["theirs"])

    last_day = results["ours"]["daily"]["date"][-1]
    summarise_times = []
    for _ in range(SUMMARISE_ROUNDS):
        t0 = time.perf_counter()
        summary = summarise(tx, closes, fx, as_of=last_day, base_currency=BASE)
        summarise_times.append(time.perf_counter() - t0)
    last_total = results["ours"]["daily"]["total_value"][-1]
    assert summary.total_value == pytest.approx(last_total, rel=1e-9)

    daily = results["ours"]["daily"]
    figures.update(
        portfolio=f"{SYMBOLS} symbols x {daily.height} business days",
        ledger_rows=tx.height,
        ledger_kinds=dict(sorted(tx["kind"].value_counts().iter_rows())),
        close_rows=closes.height,
        fx_rows=fx.height,
        open_positions=results["ours"]["holdings"].height,
        ours_seconds=round(timing.best_candidate, 4),
        pandas_loop_seconds=round(timing.best_baseline, 3),
        speedup=round(timing.speedup, 1),
        limit=MIN_RATIO,
        summarise_seconds_not_in_ratio=round(min(summarise_times), 4),
    )
    assert timing.speedup >= MIN_RATIO, figures
