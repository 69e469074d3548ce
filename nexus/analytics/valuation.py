"""Portfolio valuation: pure, vectorised functions over polars frames.

No I/O, no Streamlit, no module state. Inputs follow ``docs/contracts.md``:

* transactions: ``date, kind, symbol, quantity, price, amount, fee, currency`` (+ optional
  integer ``id``); magnitudes are positive and the kind gives the sign; amounts are in the
  row's ``currency`` (for buys and sells, the instrument's currency).
* closes: ``symbol, date, close, currency`` - close in the instrument's currency, trading
  days only.
* fx: ``date, currency, rate`` - base-currency units per 1 unit of ``currency``
  (``value_in_base = value * rate``).

Conventions
-----------
* Every output column named ``*_value``, ``net_flows``, ``cumulative_flows``,
  ``day_change``, ``cost_basis``, ``market_value`` or ``unrealised_pnl`` is in the
  **base currency**; ``price``/``avg_cost``/``cash_by_currency`` are in the local (trade or
  instrument) currency. Percentages are fractions (``0.05`` = 5 %).
* Cash effect per transaction (local currency): buy ``-(quantity*price + fee)``;
  sell ``+(quantity*price - fee)``; deposit ``+amount``; withdrawal ``-amount``;
  dividend ``+(amount - fee)``; fee ``-amount``. The ``fee`` column is only used by buy,
  sell and dividend rows.
* Prices and FX rates are forward-filled: a date without a row uses the latest row on or
  before it (as-of backward join). A held symbol with no close on or before a date has a
  **null** value that day ("missing price"); totals exclude it and it is listed in
  ``missing_prices`` - never silently valued at zero. Likewise a currency without an FX
  rate on or before the date is listed in ``missing_fx`` and its amounts are excluded.
* The base currency always converts at 1.0 even when ``fx`` has no rows for it. Pass
  ``base_currency=`` to name it; when omitted, the single ledger currency that has no row
  at all in ``fx`` is taken to be the base (if there is exactly one).
* Historical conversions (external flows, lot cost basis) use the rate on or before the
  flow's date, falling back to the earliest later rate when the FX history starts after
  the flow; market values use strictly the rate on or before the valuation date.

Cash rule (decision)
--------------------
Cash is kept **per currency and never goes below zero**. A buy (or fee, or withdrawal)
that needs more cash than the currency's balance is treated as funded by an *implicit
external contribution* of the shortfall (Sharesight-style), so a user who records only
buys sees ``total_value == holdings_value`` and their purchases as contributions.
Vectorised per currency, with ``S`` = cumulative sum of raw cash effects in transaction
order::

    balance                     = S - min(0, cummin(S))
    implicit contributions (cum) = -min(0, cummin(S))

External flows = deposits - withdrawals + implicit contributions. ``day_change`` is the
change in total value not explained by external flows:
``total_value - previous total_value - net_flows``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import polars as pl

from nexus.analytics.lots import (
    QUANTITY_EPSILON,
    TRADE_KINDS,
    fifo_open_lots,
    normalise_transactions,
)

#: Cash balances whose absolute value is at or below this are treated as zero.
CASH_EPSILON = 1e-9

DAILY_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "holdings_value": pl.Float64(),
    "cash_value": pl.Float64(),
    "total_value": pl.Float64(),
    "net_flows": pl.Float64(),
    "cumulative_flows": pl.Float64(),
    "day_change": pl.Float64(),
    "missing_prices": pl.List(pl.Utf8()),
    "missing_fx": pl.List(pl.Utf8()),
}

HOLDINGS_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.Utf8(),
    "quantity": pl.Float64(),
    "currency": pl.Utf8(),
    "avg_cost": pl.Float64(),
    "cost_basis": pl.Float64(),
    "price": pl.Float64(),
    "price_date": pl.Date(),
    "market_value": pl.Float64(),
    "unrealised_pnl": pl.Float64(),
    "unrealised_pct": pl.Float64(),
    "weight": pl.Float64(),
    "day_change": pl.Float64(),
}

CASH_LEDGER_COLUMNS: tuple[str, ...] = (
    "cash_flow",
    "cash_balance",
    "implicit_contribution",
    "external_flow",
)

_EMPTY_LIST = pl.lit([], dtype=pl.List(pl.Utf8()))


@dataclass(frozen=True)
class PortfolioSummary:
    """Headline numbers at ``as_of``. Money is in the base currency unless stated.

    Attributes:
        as_of: valuation date.
        total_value: ``holdings_value + cash_value`` (base).
        holdings_value: market value of positions with a known price (base).
        cash_value: cash across currencies converted at ``as_of`` FX (base).
        cash_by_currency: cash balance per currency in **that currency** (non-zero only).
        day_change: change in total value since the previous business day's close, net of
            external flows (base). On a weekend ``as_of`` it is Friday's change.
        day_change_pct: ``day_change / (previous total_value + net flows since)``, as a
            fraction; 0.0 when that denominator is not positive.
        unrealised_pnl: market value minus cost basis over positions with a price (base).
        cost_basis: FIFO cost of all open lots at each lot's trade-date FX (base).
        net_contributions: cumulative external flows (deposits - withdrawals + implicit
            contributions), each converted at its own date's FX (base).
        missing_prices: held symbols without a usable price (or FX) at ``as_of``.
        missing_fx: currencies without an FX rate at ``as_of``.
    """

    as_of: dt.date
    total_value: float
    holdings_value: float
    cash_value: float
    cash_by_currency: dict[str, float]
    day_change: float
    day_change_pct: float
    unrealised_pnl: float
    cost_basis: float
    net_contributions: float
    missing_prices: tuple[str, ...] = ()
    missing_fx: tuple[str, ...] = ()

    @classmethod
    def empty(cls, as_of: dt.date) -> PortfolioSummary:
        """A summary of zeros (empty ledger)."""
        return cls(
            as_of=as_of,
            total_value=0.0,
            holdings_value=0.0,
            cash_value=0.0,
            cash_by_currency={},
            day_change=0.0,
            day_change_pct=0.0,
            unrealised_pnl=0.0,
            cost_basis=0.0,
            net_contributions=0.0,
        )


# --------------------------------------------------------------------------- helpers


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _previous_business_day(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _on_or_before_business_day(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _business_days(start: dt.date, end: dt.date) -> pl.DataFrame:
    """Mon-Fri dates in ``[start, end]`` as a one-column ``date`` frame."""
    return (
        pl.date_range(start, end, "1d", eager=True)
        .alias("date")
        .to_frame()
        .filter(pl.col("date").dt.weekday() <= 5)
    )


def _prepare_closes(closes: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("symbol", "date", "close", "currency") if c not in closes.columns]
    if missing:
        raise ValueError(f"closes frame is missing column(s): {', '.join(missing)}")
    return (
        closes.select(
            pl.col("symbol").cast(pl.Utf8).str.strip_chars(),
            pl.col("date").cast(pl.Date),
            pl.col("close").cast(pl.Float64),
            pl.col("currency").cast(pl.Utf8).str.strip_chars().str.to_uppercase(),
        )
        .filter(pl.col("close").is_not_null() & pl.col("close").is_finite())
        .unique(["symbol", "date"], keep="last", maintain_order=True)
        .sort("date", "symbol")
    )


def _prepare_fx(fx: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("date", "currency", "rate") if c not in fx.columns]
    if missing:
        raise ValueError(f"fx frame is missing column(s): {', '.join(missing)}")
    return (
        fx.select(
            pl.col("date").cast(pl.Date).alias("_fx_date"),
            pl.col("currency").cast(pl.Utf8).str.strip_chars().str.to_uppercase().alias("_fx_ccy"),
            pl.col("rate").cast(pl.Float64).alias("_fx_rate"),
        )
        .filter(pl.col("_fx_rate").is_finite() & (pl.col("_fx_rate") > 0))
        .unique(["_fx_date", "_fx_ccy"], keep="last", maintain_order=True)
        .sort("_fx_date", "_fx_ccy")
    )


def _resolve_base(base_currency: str | None, fx: pl.DataFrame, tx: pl.DataFrame) -> str | None:
    if base_currency:
        return base_currency.strip().upper()
    unknown = set(tx["currency"].unique().to_list()) - set(fx["_fx_ccy"].unique().to_list())
    return unknown.pop() if len(unknown) == 1 else None


def _with_rate(
    frame: pl.DataFrame,
    fx: pl.DataFrame,
    base: str | None,
    *,
    date_col: str,
    ccy_col: str,
    nearest: bool = False,
) -> pl.DataFrame:
    """Add ``rate`` (base per unit of ``ccy_col``) as of ``date_col`` (backward as-of).

    With ``nearest`` a missing backward rate falls back to the earliest later rate.
    The result is sorted by ``date_col``.
    """
    joined = frame.sort(date_col)

    def asof(left: pl.DataFrame, strategy: Literal["backward", "forward"]) -> pl.DataFrame:
        return left.join_asof(
            fx,
            left_on=date_col,
            right_on="_fx_date",
            by_left=ccy_col,
            by_right="_fx_ccy",
            strategy=strategy,
            check_sortedness=False,
        ).drop("_fx_date", "_fx_ccy", strict=False)

    joined = asof(joined, "backward")
    if nearest:
        forward = asof(joined.drop("_fx_rate"), "forward")["_fx_rate"]
        joined = joined.with_columns(pl.col("_fx_rate").fill_null(forward))
    rate = pl.col("_fx_rate")
    if base is not None:
        rate = pl.when(pl.col(ccy_col) == base).then(pl.lit(1.0)).otherwise(rate)
    return joined.with_columns(rate.alias("rate")).drop("_fx_rate")


_KIND = pl.col("kind")
_RAW_CASH = (
    pl.when(_KIND == "buy")
    .then(-(pl.col("quantity") * pl.col("price") + pl.col("fee")))
    .when(_KIND == "sell")
    .then(pl.col("quantity") * pl.col("price") - pl.col("fee"))
    .when(_KIND == "deposit")
    .then(pl.col("amount"))
    .when(_KIND == "withdrawal")
    .then(-pl.col("amount"))
    .when(_KIND == "dividend")
    .then(pl.col("amount") - pl.col("fee"))
    .when(_KIND == "fee")
    .then(-pl.col("amount"))
    .otherwise(pl.lit(0.0))
)
_EXPLICIT_FLOW = (
    pl.when(_KIND == "deposit")
    .then(pl.col("amount"))
    .when(_KIND == "withdrawal")
    .then(-pl.col("amount"))
    .otherwise(pl.lit(0.0))
)


def _cash_ledger(tx: pl.DataFrame) -> pl.DataFrame:
    """Cash columns on a normalised (application-ordered) transactions frame."""
    floor = pl.min_horizontal(pl.col("_s").cum_min().over("currency"), pl.lit(0.0))
    return (
        tx.with_columns(_RAW_CASH.alias("cash_flow"))
        .with_columns(pl.col("cash_flow").cum_sum().over("currency").alias("_s"))
        .with_columns(floor.alias("_floor"))
        .with_columns(
            (pl.col("_s") - pl.col("_floor")).alias("cash_balance"),
            (pl.col("_floor").shift(1).over("currency").fill_null(0.0) - pl.col("_floor")).alias(
                "implicit_contribution"
            ),
        )
        .with_columns((_EXPLICIT_FLOW + pl.col("implicit_contribution")).alias("external_flow"))
        .drop("_s", "_floor")
    )


def cash_ledger(transactions: pl.DataFrame) -> pl.DataFrame:
    """Per-transaction cash effects in each row's own currency.

    Returns the normalised transactions (see
    :func:`nexus.analytics.lots.normalise_transactions`) in application order plus:
    ``cash_flow`` (signed raw effect), ``cash_balance`` (balance of that currency after the
    row, never negative), ``implicit_contribution`` (shortfall funded from outside by this
    row, >= 0) and ``external_flow`` (deposit - withdrawal + implicit contribution).
    """
    return _cash_ledger(normalise_transactions(transactions))


def _value_on_days(
    tx: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    base: str | None,
    days: pl.DataFrame,
) -> pl.DataFrame:
    """State at the end of each date in ``days`` (sorted), as :data:`DAILY_SCHEMA`.

    ``net_flows`` of a day gathers the external flows dated after the previous listed day
    and up to that day; flows before the first listed day land on the first day, so callers
    prepend a reference day and drop it.
    """
    tx = tx.filter(pl.col("date") <= days["date"].max())
    ledger = _cash_ledger(tx)

    # Positions: quantity after the last trade of each (symbol, date), as-of joined per day.
    signed_qty = pl.when(_KIND == "buy").then(pl.col("quantity")).otherwise(-pl.col("quantity"))
    positions = (
        tx.filter(_KIND.is_in(list(TRADE_KINDS)))
        .with_columns(signed_qty.cum_sum().over("symbol").alias("position"))
        .group_by("symbol", "date", maintain_order=True)
        .agg(pl.col("position").last(), pl.col("currency").last().alias("trade_currency"))
        .sort("date")
    )
    prices = closes.select(
        "symbol",
        pl.col("date").alias("price_date"),
        "close",
        pl.col("currency").alias("price_currency"),
    )
    grid = (
        days.join(positions.select("symbol").unique(), how="cross")
        .sort("date")
        .join_asof(positions, on="date", by="symbol", check_sortedness=False)
        .filter(pl.col("position").abs() > QUANTITY_EPSILON)
        .join_asof(
            prices, left_on="date", right_on="price_date", by="symbol", check_sortedness=False
        )
        .with_columns(pl.coalesce("price_currency", "trade_currency").alias("value_currency"))
    )
    grid = _with_rate(grid, fx, base, date_col="date", ccy_col="value_currency")
    held = grid.group_by("date").agg(
        (pl.col("position") * pl.col("close") * pl.col("rate")).sum().alias("holdings_value"),
        pl.col("symbol")
        .filter((pl.col("close") * pl.col("rate")).is_null())
        .unique()
        .sort()
        .alias("missing_prices"),
        pl.col("value_currency")
        .filter(pl.col("close").is_not_null() & pl.col("rate").is_null())
        .unique()
        .alias("_mfx_holdings"),
    )

    # Cash: balance after the last row of each (currency, date), as-of joined per day.
    balances = (
        ledger.group_by("currency", "date", maintain_order=True)
        .agg(pl.col("cash_balance").last())
        .sort("date")
    )
    cash_grid = (
        days.join(balances.select("currency").unique(), how="cross")
        .sort("date")
        .join_asof(balances, on="date", by="currency", check_sortedness=False)
        .filter(pl.col("cash_balance").abs() > CASH_EPSILON)
    )
    cash_grid = _with_rate(cash_grid, fx, base, date_col="date", ccy_col="currency")
    cash = cash_grid.group_by("date").agg(
        (pl.col("cash_balance") * pl.col("rate")).sum().alias("cash_value"),
        pl.col("currency").filter(pl.col("rate").is_null()).unique().alias("_mfx_cash"),
    )

    # External flows, converted at their own date, bucketed onto the next listed day.
    flows = ledger.filter(pl.col("external_flow").abs() > CASH_EPSILON).select(
        "date", "currency", "external_flow"
    )
    flows = (
        _with_rate(flows, fx, base, date_col="date", ccy_col="currency", nearest=True)
        .join_asof(
            days.select(pl.col("date").alias("bucket")),
            left_on="date",
            right_on="bucket",
            strategy="forward",
        )
        .group_by("bucket")
        .agg(
            (pl.col("external_flow") * pl.col("rate")).sum().alias("net_flows"),
            pl.col("currency").filter(pl.col("rate").is_null()).unique().alias("_mfx_flows"),
        )
        .rename({"bucket": "date"})
    )

    total = pl.col("holdings_value") + pl.col("cash_value")
    return (
        days.join(held, on="date", how="left")
        .join(cash, on="date", how="left")
        .join(flows, on="date", how="left")
        .sort("date")
        .with_columns(
            pl.col("holdings_value", "cash_value", "net_flows").fill_null(0.0),
            pl.col("missing_prices", "_mfx_holdings", "_mfx_cash", "_mfx_flows").fill_null(
                _EMPTY_LIST
            ),
        )
        .with_columns(total.alias("total_value"))
        .with_columns(
            pl.col("net_flows").cum_sum().alias("cumulative_flows"),
            (
                pl.col("total_value")
                - pl.col("total_value").shift(1, fill_value=0.0)
                - pl.col("net_flows")
            ).alias("day_change"),
            pl.concat_list("_mfx_holdings", "_mfx_cash", "_mfx_flows")
            .list.unique()
            .list.sort()
            .alias("missing_fx"),
        )
        .select(list(DAILY_SCHEMA))
        .cast(DAILY_SCHEMA)
    )


# --------------------------------------------------------------------------- public API


def daily_values(
    transactions: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date,
    base_currency: str | None = None,
) -> pl.DataFrame:
    """Portfolio value at the close of every business day (Mon-Fri) in the window.

    The window runs from ``start`` (default: the first transaction's date) to ``end``,
    both inclusive; transactions before ``start`` still build the opening state and those
    after ``end`` are ignored. Weekend transactions take effect on the next business day.

    Returns :data:`DAILY_SCHEMA`, all money in the **base currency**:
    ``date``, ``holdings_value`` (positions with a known price), ``cash_value`` (never
    negative), ``total_value`` (their sum), ``net_flows`` (external flows since the previous
    business day: deposits - withdrawals + implicit contributions; inflow positive),
    ``cumulative_flows`` (all external flows up to the date, including those before
    ``start``), ``day_change`` (``total_value - previous total_value - net_flows``; the
    previous total is the business day before the window, 0 before the first transaction),
    ``missing_prices`` (held symbols excluded for lack of price/FX) and ``missing_fx``
    (currencies excluded for lack of an FX rate). An empty ledger without ``start`` gives an
    empty frame.

    Raises:
        ValueError: ``start`` after ``end`` or a malformed input frame.
    """
    end = _as_date(end)
    tx = normalise_transactions(transactions)
    closes_p, fx_p = _prepare_closes(closes), _prepare_fx(fx)
    if start is None:
        if tx.is_empty():
            return pl.DataFrame(schema=DAILY_SCHEMA)
        start = tx["date"].min()  # type: ignore[assignment]
    start = _as_date(start)  # type: ignore[arg-type]
    if start > end:
        raise ValueError(f"start ({start}) is after end ({end})")
    days = _business_days(start, end)
    if days.is_empty():
        return pl.DataFrame(schema=DAILY_SCHEMA)
    reference = pl.DataFrame(
        {"date": [_previous_business_day(days["date"][0])]}, schema={"date": pl.Date}
    )
    calendar = pl.concat([reference, days])
    base = _resolve_base(base_currency, fx_p, tx)
    return _value_on_days(tx, closes_p, fx_p, base, calendar).slice(1)


def holdings(
    transactions: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    *,
    as_of: dt.date,
    base_currency: str | None = None,
) -> pl.DataFrame:
    """Open positions at ``as_of`` (transactions dated after it are ignored).

    Returns :data:`HOLDINGS_SCHEMA`, one row per open position, largest market value first:
    ``symbol``, ``quantity``, ``currency`` (trade currency), ``avg_cost`` (FIFO open-lot
    average per share incl. buy fees, trade currency), ``cost_basis`` (open lots at each
    lot's trade-date FX, base), ``price`` (latest close on or before ``as_of``, instrument
    currency), ``price_date``, ``market_value`` (``quantity * price * fx(as_of)``, base),
    ``unrealised_pnl`` (``market_value - cost_basis``, base), ``unrealised_pct``
    (``unrealised_pnl / cost_basis``, fraction), ``weight`` (share of total holdings value,
    fraction) and ``day_change`` (``quantity * (price - previous close) * fx(as_of)``, base).
    A position without a price (or FX) has nulls in the price/value columns.

    Raises:
        ValueError: a sell exceeds the position or an input frame is malformed.
    """
    as_of = _as_date(as_of)
    tx = normalise_transactions(transactions).filter(pl.col("date") <= as_of)
    closes_p, fx_p = _prepare_closes(closes), _prepare_fx(fx)
    base = _resolve_base(base_currency, fx_p, tx)
    lots = fifo_open_lots(tx)
    if lots.is_empty():
        return pl.DataFrame(schema=HOLDINGS_SCHEMA)

    lots = _with_rate(lots, fx_p, base, date_col="open_date", ccy_col="currency", nearest=True)
    lot_cost = pl.col("quantity") * pl.col("unit_cost")
    positions = (
        lots.group_by("symbol")
        .agg(
            pl.col("quantity").sum(),
            pl.col("currency").first(),
            lot_cost.sum().alias("_cost_local"),
            pl.when(pl.col("rate").is_null().any())
            .then(pl.lit(None, dtype=pl.Float64))
            .otherwise((lot_cost * pl.col("rate")).sum())
            .alias("cost_basis"),
        )
        .with_columns((pl.col("_cost_local") / pl.col("quantity")).alias("avg_cost"))
    )
    latest = (
        closes_p.sort("symbol", "date")
        .with_columns(pl.col("close").shift(1).over("symbol").alias("prev_close"))
        .filter(pl.col("date") <= as_of)
        .group_by("symbol")
        .agg(pl.all().last())
        .rename({"date": "price_date", "close": "price", "currency": "price_currency"})
    )
    valued = _with_rate(
        positions.join(latest, on="symbol", how="left").with_columns(
            pl.lit(as_of).alias("_as_of"),
            pl.coalesce("price_currency", "currency").alias("_value_currency"),
        ),
        fx_p,
        base,
        date_col="_as_of",
        ccy_col="_value_currency",
    )
    market_value = pl.col("quantity") * pl.col("price") * pl.col("rate")
    return (
        valued.with_columns(
            market_value.alias("market_value"),
            (pl.col("quantity") * (pl.col("price") - pl.col("prev_close")) * pl.col("rate")).alias(
                "day_change"
            ),
        )
        .with_columns(
            (pl.col("market_value") - pl.col("cost_basis")).alias("unrealised_pnl"),
            pl.when(pl.col("market_value").sum() > 0)
            .then(pl.col("market_value") / pl.col("market_value").sum())
            .alias("weight"),
        )
        .with_columns(
            pl.when(pl.col("cost_basis") > 0)
            .then(pl.col("unrealised_pnl") / pl.col("cost_basis"))
            .alias("unrealised_pct"),
        )
        .sort(["market_value", "symbol"], descending=[True, False], nulls_last=True)
        .select(list(HOLDINGS_SCHEMA))
        .cast(HOLDINGS_SCHEMA)
    )


def summarise(
    transactions: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    *,
    as_of: dt.date,
    base_currency: str | None = None,
) -> PortfolioSummary:
    """Headline figures at ``as_of`` (see :class:`PortfolioSummary` for units).

    ``day_change`` compares ``as_of`` with the business day before ``as_of``'s own business
    day (Friday is the business day of a weekend ``as_of``), net of the external flows in
    between, so on a weekday it equals the last ``day_change`` of :func:`daily_values`.
    An empty ledger gives :meth:`PortfolioSummary.empty`.

    Raises:
        ValueError: a sell exceeds the position or an input frame is malformed.
    """
    as_of = _as_date(as_of)
    tx = normalise_transactions(transactions).filter(pl.col("date") <= as_of)
    if tx.is_empty():
        return PortfolioSummary.empty(as_of)
    closes_p, fx_p = _prepare_closes(closes), _prepare_fx(fx)
    base = _resolve_base(base_currency, fx_p, tx)

    reference = _previous_business_day(_on_or_before_business_day(as_of))
    days = pl.DataFrame({"date": [reference, as_of]}, schema={"date": pl.Date})
    frame = _value_on_days(tx, closes_p, fx_p, base, days)
    previous, today = frame.row(0, named=True), frame.row(1, named=True)

    positions = holdings(tx, closes, fx, as_of=as_of, base_currency=base)
    balances = (
        _cash_ledger(tx)
        .group_by("currency", maintain_order=True)
        .agg(pl.col("cash_balance").last())
        .filter(pl.col("cash_balance").abs() > CASH_EPSILON)
        .sort("currency")
    )
    denominator = previous["total_value"] + today["net_flows"]
    return PortfolioSummary(
        as_of=as_of,
        total_value=float(today["total_value"]),
        holdings_value=float(today["holdings_value"]),
        cash_value=float(today["cash_value"]),
        cash_by_currency=dict(balances.iter_rows()),
        day_change=float(today["day_change"]),
        day_change_pct=float(today["day_change"] / denominator) if denominator > 0 else 0.0,
        unrealised_pnl=float(positions["unrealised_pnl"].sum()),
        cost_basis=float(positions["cost_basis"].sum()),
        net_contributions=float(today["cumulative_flows"]),
        missing_prices=tuple(today["missing_prices"]),
        missing_fx=tuple(today["missing_fx"]),
    )
