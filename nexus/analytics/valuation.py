"""Portfolio valuation: pure, vectorised functions over polars frames.

No I/O, no Streamlit, no module state. Inputs follow ``docs/contracts.md``:

* transactions: ``date, kind, symbol, quantity, price, amount, fee, currency`` (+ optional
  integer ``id``, ``account``, ``fx_rate``, ``transfer_id``); magnitudes are positive and
  the kind gives the sign; amounts are in the row's ``currency`` (for anything that moves
  shares, the instrument's currency). See :mod:`nexus.analytics.lots` for lots and for
  which transfer rows are *internal* (a pair between two accounts of the portfolio).
* closes: ``symbol, date, close, currency`` - close in the instrument's currency, trading
  days only.
* fx: ``date, currency, rate`` - base-currency units per 1 unit of ``currency``
  (``value_in_base = value * rate``).

Conventions
-----------
* Every output column named ``*_value``, ``value``, ``net_flows``, ``cumulative_flows``,
  ``day_change``, ``income``, ``cost_basis``, ``market_value`` or ``unrealised_pnl`` is in
  the **base currency**; ``price``/``avg_cost``/``cash_by_currency`` are in the local
  (trade or instrument) currency. Percentages are fractions (``0.05`` = 5 %).
* Cash effect per transaction (local currency, in the row's account): buy
  ``-(quantity*price + fee)``; sell ``+(quantity*price - fee)``; deposit, interest
  ``+amount``; withdrawal, fee, tax ``-amount``; dividend ``+(amount - fee)``, minus
  ``quantity*price`` when reinvested (``quantity > 0`` and ``price > 0``: DRIP);
  transfer_in/transfer_out of cash (no symbol) ``+amount``/``-amount``; splits and
  transfers of shares move no cash. The ``fee`` column is only used by buy, sell and
  dividend rows.
* Income (base, on the pay date): dividends (``amount - fee``) + interest - tax.
* External flows of the portfolio: deposits - withdrawals + implicit contributions (cash
  rule below) + lone (external) transfers: cash ``±amount``, shares
  ``±quantity*price``. An internal transfer pair is no flow of the portfolio; for the
  accounts involved it is a flow of ``amount`` (cash) or ``quantity * close`` (shares).
* FX: a row's ``fx_rate``, when present, converts its flows, income, realised proceeds and
  the cost of the lots it opens; otherwise the market rate on or before the row's date is
  used, falling back to the earliest later rate when the FX history starts after it.
  Market values use strictly the market rate on or before the valuation date.
* Prices and FX rates are forward-filled: a date without a row uses the latest row on or
  before it (as-of backward join). A held symbol with no close on or before a date has a
  **null** value that day ("missing price"); totals exclude it and it is listed in
  ``missing_prices`` - never silently valued at zero. Likewise a currency without an FX
  rate on or before the date is listed in ``missing_fx`` and its amounts are excluded.
* The base currency always converts at 1.0 even when ``fx`` has no rows for it (and even
  when a row carries another ``fx_rate``). Pass ``base_currency=`` to name it; when
  omitted, the single ledger currency that has no row at all in ``fx`` is taken to be the
  base (if there is exactly one).

Cash rule (decision)
--------------------
Cash is kept **per account and currency and never goes below zero**. A buy (or fee, or
withdrawal, or transfer out) that needs more cash than that balance is treated as funded
by an *implicit external contribution* of the shortfall (Sharesight-style), so a user who
records only buys sees ``total_value == holdings_value`` and their purchases as
contributions. Vectorised per (account, currency), with ``S`` = cumulative sum of raw cash
effects in transaction order::

    balance                     = S - min(0, cummin(S))
    implicit contributions (cum) = -min(0, cummin(S))

``day_change`` is the change in total value not explained by external flows:
``total_value - previous total_value - net_flows``.

Returns per holding or account (:func:`daily_values_by`) follow the portfolio's
convention ``r_t = (V_t - V_{t-1} - F_t) / (V_{t-1} + F_t)`` (flows at the start of the
day). ``income`` is reported separately: it stays inside an account's (and the
portfolio's) value, so there ``r`` is the total return and ``r`` without ``income`` in the
numerator the price return; it leaves a holding (to cash), so a holding's total return
adds ``income`` to the numerator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import polars as pl

from nexus.analytics.lots import (
    MOVES_SHARES,
    QUANTITY_EPSILON,
    _disposals_frame,
    _open_lots_frame,
    check_lot_method,
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
    "income": pl.Float64(),
    "missing_prices": pl.List(pl.Utf8()),
    "missing_fx": pl.List(pl.Utf8()),
}

#: :func:`daily_values_by`: one row per key (symbol or account) per business day.
BY_KEY_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "key": pl.Utf8(),
    "value": pl.Float64(),
    "net_flows": pl.Float64(),
    "income": pl.Float64(),
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

#: :func:`holdings` with ``by_account=True``.
HOLDINGS_BY_ACCOUNT_SCHEMA: dict[str, pl.DataType] = {"account": pl.Utf8(), **HOLDINGS_SCHEMA}

CASH_BALANCES_SCHEMA: dict[str, pl.DataType] = {
    "account": pl.Utf8(),
    "currency": pl.Utf8(),
    "balance": pl.Float64(),
}

CASH_LEDGER_COLUMNS: tuple[str, ...] = (
    "cash_flow",
    "cash_balance",
    "implicit_contribution",
    "external_flow",
    "income",
)

_EMPTY_LIST = pl.lit([], dtype=pl.List(pl.Utf8()))


@dataclass(frozen=True)
class PortfolioSummary:
    """Headline numbers at ``as_of``. Money is in the base currency unless stated.

    Attributes:
        as_of: valuation date.
        total_value: ``holdings_value + cash_value`` (base).
        holdings_value: market value of positions with a known price (base).
        cash_value: cash across accounts and currencies converted at ``as_of`` FX (base).
        cash_by_currency: cash balance per currency (all accounts) in **that currency**
            (non-zero only).
        day_change: change in total value since the previous business day's close, net of
            external flows (base). On a weekend ``as_of`` it is Friday's change.
        day_change_pct: ``day_change / (previous total_value + net flows since)``, as a
            fraction; 0.0 when that denominator is not positive.
        unrealised_pnl: market value minus cost basis over positions with a price (base).
        cost_basis: cost of all open lots under the lot method, at each lot's acquisition
            FX (base).
        net_contributions: cumulative external flows (deposits - withdrawals + implicit
            contributions + external transfers), each converted at its own date's FX.
        missing_prices: held symbols without a usable price (or FX) at ``as_of``.
        missing_fx: currencies without an FX rate at ``as_of``.
        realised_pnl: realised P&L of every sale up to ``as_of`` under the lot method:
            proceeds at the sale's FX minus the relieved lots' cost at their acquisition
            FX (base; includes the currency effect).
        income: dividends (net of their fees) + interest - tax up to ``as_of``, each at
            its pay date's FX (base).
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
    realised_pnl: float = 0.0
    income: float = 0.0

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


# Integer keys ordering (code, date) pairs: ``code * _KEY_SHIFT + _day_key(date)``.
# _day_key maps every Date (i32 days) into 1..2^32, so codes < 2^29 fit in an i64.
_KEY_SHIFT = 1 << 34


def _day_key(col: str) -> pl.Expr:
    return pl.col(col).to_physical().cast(pl.Int64) + ((1 << 31) + 1)


def _prepare_closes(closes: pl.DataFrame) -> pl.DataFrame:
    """Clean closes, one row per (symbol, date) - the last one given wins - sorted by
    symbol then date: ``symbol, date, close, currency`` plus ``_code`` (0, 1, ... per
    symbol, in that order) and ``_run`` (0, 1, ... per run of one symbol and currency).

    Hot path (hundreds of thousands of rows): input that is already clean and in
    symbol/date order (as the market reader returns it) is only checked, not sorted.
    Otherwise the few distinct symbols and currencies are normalised once and mapped back
    by join, and the order and de-duplication come from one stable sort on an integer key.
    """
    missing = [c for c in ("symbol", "date", "close", "currency") if c not in closes.columns]
    if missing:
        raise ValueError(f"closes frame is missing column(s): {', '.join(missing)}")
    raw = _number_runs(
        closes.select(
            pl.col("symbol").cast(pl.Utf8),
            pl.col("date").cast(pl.Date),
            pl.col("close").cast(pl.Float64),
            pl.col("currency").cast(pl.Utf8),
        ).filter(pl.col("close").is_not_null() & pl.col("close").is_finite())
    )
    if not _clean_and_ordered(raw):
        raw = _number_runs(_sort_and_clean_closes(raw.drop("_code", "_run")))
    return raw


def _number_runs(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``_code``/``_run``: 0, 1, ... per run of one symbol / of one symbol and currency
    (in a frame sorted by symbol, a symbol's number)."""
    sym, ccy = pl.col("symbol"), pl.col("currency")
    return frame.with_columns(
        sym.rle_id().cast(pl.Int64).alias("_code"),
        pl.struct(sym, ccy).rle_id().cast(pl.Int64).alias("_run"),
    )


def _clean_and_ordered(raw: pl.DataFrame) -> bool:
    """Whether numbered raw closes are already clean: no null symbol or date, strictly
    ascending (symbol, date) - so no duplicates - and symbols/currencies that normalising
    would not change."""
    if raw.is_empty() or raw["symbol"].null_count() or raw["date"].null_count():
        return False
    code, run, date = pl.col("_code"), pl.col("_run"), pl.col("date")
    if not raw.select(
        ((code != code.shift(1)).fill_null(True) | (date > date.shift(1))).all()
    ).item():
        return False  # dates not strictly ascending within a run of a symbol
    heads = raw.filter(run.ne_missing(run.shift(1))).select("symbol", "currency")
    symbols = heads["symbol"].unique(maintain_order=True)  # one run per symbol?
    currencies = heads["currency"].unique()
    return (
        symbols.len() == raw["_code"][-1] + 1
        and symbols.is_sorted()
        and symbols.equals(symbols.str.strip_chars())
        and currencies.equals(currencies.str.strip_chars().str.to_uppercase())
    )


def _sort_and_clean_closes(raw: pl.DataFrame) -> pl.DataFrame:
    symbols = (
        raw.select(pl.col("symbol").unique().alias("_raw_symbol"))
        .with_columns(pl.col("_raw_symbol").str.strip_chars().alias("_symbol"))
        # 0 for a null symbol (sorts first), 1.. in symbol order
        .with_columns(pl.col("_symbol").rank("dense").fill_null(0).cast(pl.Int64).alias("_code"))
    )
    currencies = raw.select(pl.col("currency").unique().alias("_raw_currency")).with_columns(
        pl.col("_raw_currency").str.strip_chars().str.to_uppercase().alias("_currency")
    )
    key = pl.col("_code") * _KEY_SHIFT + _day_key("date").fill_null(0)  # null date first
    return (
        raw.join(
            symbols,
            left_on="symbol",
            right_on="_raw_symbol",
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .join(
            currencies,
            left_on="currency",
            right_on="_raw_currency",
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(key.alias("_key"))
        .sort("_key", maintain_order=True)
        .filter(pl.col("_key") != pl.col("_key").shift(-1).fill_null(-1))
        .select(
            pl.col("_symbol").alias("symbol"),
            "date",
            "close",
            pl.col("_currency").alias("currency"),
        )
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


def _historical_rate(
    frame: pl.DataFrame,
    fx: pl.DataFrame,
    base: str | None,
    *,
    date_col: str,
    ccy_col: str,
    row_rate: str,
    alias: str = "rate",
) -> pl.DataFrame:
    """Add ``alias``: the row's own rate (``row_rate`` column) when present, else the
    market rate on or before ``date_col`` (nearest later as fallback); 1.0 for the base."""
    out = _with_rate(frame, fx, base, date_col=date_col, ccy_col=ccy_col, nearest=True)
    rate = pl.coalesce(row_rate, "rate")
    if base is not None:
        rate = pl.when(pl.col(ccy_col) == base).then(pl.lit(1.0)).otherwise(rate)
    return out.with_columns(rate.alias("_hist_rate")).drop("rate").rename({"_hist_rate": alias})


_KIND = pl.col("kind")
_Q, _P, _AMT, _FEE = (pl.col(c) for c in ("quantity", "price", "amount", "fee"))
_SHARES = pl.col("symbol").is_not_null()
_INTERNAL = pl.col("internal")
_DRIP = (_KIND == "dividend") & (_Q > 0) & (_P > 0)
_IN, _OUT = _KIND == "transfer_in", _KIND == "transfer_out"

_RAW_CASH = (
    pl.when(_KIND == "buy")
    .then(-(_Q * _P + _FEE))
    .when(_KIND == "sell")
    .then(_Q * _P - _FEE)
    .when(_KIND.is_in(["deposit", "interest"]))
    .then(_AMT)
    .when(_KIND.is_in(["withdrawal", "fee", "tax"]))
    .then(-_AMT)
    .when(_KIND == "dividend")
    .then(_AMT - _FEE - pl.when(_DRIP).then(_Q * _P).otherwise(pl.lit(0.0)))
    .when(_IN & ~_SHARES)
    .then(_AMT)
    .when(_OUT & ~_SHARES)
    .then(-_AMT)
    .otherwise(pl.lit(0.0))
)
# Value of a transfer row at its own terms: cash amount, or shares at the given price.
_TRANSFER_VALUE = pl.when(_SHARES).then(_Q * _P).otherwise(_AMT)
_EXPLICIT_FLOW = (
    pl.when(_KIND == "deposit")
    .then(_AMT)
    .when(_KIND == "withdrawal")
    .then(-_AMT)
    .when(_IN & ~_INTERNAL)
    .then(_TRANSFER_VALUE)
    .when(_OUT & ~_INTERNAL)
    .then(-_TRANSFER_VALUE)
    .otherwise(pl.lit(0.0))
)
_INCOME = (
    pl.when(_KIND == "dividend")
    .then(_AMT - _FEE)
    .when(_KIND == "interest")
    .then(_AMT)
    .when(_KIND == "tax")
    .then(-_AMT)
    .otherwise(pl.lit(0.0))
)
# Flows into one holding: money put into it (buys incl. fee, reinvested dividends, shares
# delivered from outside at their price) minus money taken out (net sale proceeds).
_SYMBOL_FLOW = (
    pl.when(_KIND == "buy")
    .then(_Q * _P + _FEE)
    .when(_KIND == "sell")
    .then(-(_Q * _P - _FEE))
    .when(_DRIP)
    .then(_Q * _P)
    .when(_IN & _SHARES & ~_INTERNAL)
    .then(_Q * _P)
    .when(_OUT & _SHARES & ~_INTERNAL)
    .then(-_Q * _P)
    .otherwise(pl.lit(0.0))
)
_POSITION_DELTA = (
    pl.when((_KIND == "buy") | _DRIP | (_IN & _SHARES))
    .then(_Q)
    .when((_KIND == "sell") | (_OUT & _SHARES))
    .then(-_Q)
    .otherwise(pl.lit(0.0))
)
_SPLIT_RATIO = pl.when(_KIND == "split").then(_Q).otherwise(pl.lit(1.0))


def _cash_ledger(tx: pl.DataFrame) -> pl.DataFrame:
    """Cash columns on a normalised (application-ordered) transactions frame."""
    keys = ["account", "currency"]
    floor = pl.min_horizontal(pl.col("_s").cum_min().over(keys), pl.lit(0.0))
    return (
        tx.with_columns(_RAW_CASH.alias("cash_flow"), _INCOME.alias("income"))
        .with_columns(pl.col("cash_flow").cum_sum().over(keys).alias("_s"))
        .with_columns(floor.alias("_floor"))
        .with_columns(
            (pl.col("_s") - pl.col("_floor")).alias("cash_balance"),
            (pl.col("_floor").shift(1).over(keys).fill_null(0.0) - pl.col("_floor")).alias(
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
    ``cash_flow`` (signed raw effect), ``cash_balance`` (balance of that account and
    currency after the row, never negative), ``implicit_contribution`` (shortfall funded
    from outside by this row, >= 0), ``external_flow`` (deposit - withdrawal + external
    transfer value + implicit contribution) and ``income`` (dividend - its fee, interest,
    -tax).
    """
    return _cash_ledger(normalise_transactions(transactions))


def cash_balances(transactions: pl.DataFrame, *, as_of: dt.date | None = None) -> pl.DataFrame:
    """Cash per account and currency at ``as_of`` (default: after the last row), in that
    currency: :data:`CASH_BALANCES_SCHEMA`, non-zero balances only, sorted."""
    tx = normalise_transactions(transactions)
    if as_of is not None:
        tx = tx.filter(pl.col("date") <= _as_date(as_of))
    return (
        _cash_ledger(tx)
        .group_by("account", "currency", maintain_order=True)
        .agg(pl.col("cash_balance").last().alias("balance"))
        .filter(pl.col("balance").abs() > CASH_EPSILON)
        .sort("account", "currency")
        .cast(CASH_BALANCES_SCHEMA)
    )


def _positions(tx: pl.DataFrame) -> pl.DataFrame:
    """Shares held per (account, symbol) after the last row of each date.

    With ``d`` the signed quantity of a row and ``r`` its split ratio (1 for non-splits),
    the position follows ``p_t = p_{t-1} * r_t + d_t``; with ``M = cumprod(r)`` that is
    ``p_t = M_t * cumsum(d / M)_t`` - vectorised per (account, symbol).
    """
    keys = ["account", "symbol"]
    moves = tx.filter(MOVES_SHARES & _SHARES)
    currency = (
        moves.filter(_KIND != "split")
        .group_by("symbol")
        .agg(pl.col("currency").first().alias("trade_currency"))
    )
    return (
        moves.with_columns(_POSITION_DELTA.alias("_d"), _SPLIT_RATIO.alias("_r"))
        .with_columns(pl.col("_r").cum_prod().over(keys).alias("_m"))
        .with_columns(
            (pl.col("_m") * (pl.col("_d") / pl.col("_m")).cum_sum().over(keys)).alias("position")
        )
        .group_by("account", "symbol", "date", maintain_order=True)
        .agg(pl.col("position").last())
        .join(currency, on="symbol", how="left")
        .sort("date")
    )


@dataclass(frozen=True)
class _Components:
    # One row per held (account, symbol) per listed day, integer-coded (hundreds of
    # thousands of rows): date, _pair, position, close, _ccy, rate, value. ``pairs`` maps
    # _pair to account and symbol, ``currencies`` _ccy to value_currency.
    held: pl.DataFrame
    pairs: pl.DataFrame  # _pair, account, symbol
    currencies: pl.DataFrame  # _ccy, value_currency
    cash: pl.DataFrame  # date, account, currency, cash_balance, rate, value
    rows: pl.DataFrame  # ledger rows + account_flow, symbol_flow, rate, bucket


def _held(
    positions: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    base: str | None,
    days: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Positions valued at the end of each date in ``days``: (held, pairs, currencies) of
    :class:`_Components`.

    The big frame (positions x days) carries integer codes only and its two as-of
    lookups are plain merges on integer (code, date) keys: positions by (account, symbol)
    pair, closes by the symbol code of :func:`_prepare_closes`; the FX rate is gathered
    from a small (currency x day) table.
    """
    heads = closes.filter(pl.col("_run").ne_missing(pl.col("_run").shift(1)))
    currencies = (
        pl.concat(
            [
                heads.select(pl.col("currency").alias("value_currency")),
                positions.select(pl.col("trade_currency").alias("value_currency")),
            ]
        )
        .drop_nulls()
        .unique()
        .sort("value_currency")
        .with_row_index("_ccy")
    )
    # currency code of each close row, gathered by its run number
    run_ccy = heads.join(
        currencies, left_on="currency", right_on="value_currency", how="left"
    ).sort("_run")["_ccy"]
    prices = closes.select(
        (pl.col("_code") * _KEY_SHIFT + _day_key("date")).alias("_price_key"),
        "close",
        run_ccy.gather(closes["_run"]).alias("_price_ccy"),
    ).filter(pl.col("_price_key").is_not_null())

    # pairs numbered in symbol-code order (no closes at all: null code, first)
    pairs = (
        positions.select("account", "symbol", "trade_currency")
        .unique(["account", "symbol"])
        .join(heads.select("symbol", "_code").unique("symbol"), on="symbol", how="left")
        .join(currencies, left_on="trade_currency", right_on="value_currency", how="left")
        .rename({"_ccy": "_trade_ccy"})
        .sort("_code", "account", "symbol", nulls_last=False)
        .with_row_index("_pair")
        .with_columns(pl.col("_pair").cast(pl.Int64))
    )
    moves = (
        positions.join(pairs.select("account", "symbol", "_pair"), on=["account", "symbol"])
        .select((pl.col("_pair") * _KEY_SHIFT + _day_key("date")).alias("_key"), "position")
        .sort("_key")
    )
    n = days.height
    grid = _with_rate(
        days.with_row_index("_i").join(currencies, how="cross"),
        fx,
        base,
        date_col="date",
        ccy_col="value_currency",
    )
    rates = grid.sort("_ccy", "_i")["rate"]  # rate of currency c on day i at c * n + i

    # (pair, day) rows, pair-major: as-of the pair's position (drop what is not held)
    day_key = days.select(_day_key("date"))["date"]
    grid = (
        pairs.select("_pair")
        .join(
            days.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_i"), _day_key("date")),
            how="cross",
        )
        .select("_pair", "_i", (pl.col("_pair") * _KEY_SHIFT + pl.col("date")).alias("_key"))
    )
    if not grid["_key"].is_sorted():
        grid = grid.sort("_key")
    held = (
        grid.join_asof(
            moves.with_columns(pl.col("_key").alias("_move_key")), on="_key", check_sortedness=False
        )
        .filter(
            (pl.col("_move_key") >= pl.col("_pair") * _KEY_SHIFT)  # a move of this pair
            & (pl.col("position").abs() > QUANTITY_EPSILON)
        )
        .select("_pair", "_i", "position")
    )
    # then as-of the symbol's close; no closes (null code): a key below every close's
    code = pairs["_code"].gather(held["_pair"])
    held = held.with_columns(
        code.alias("_code"),
        (code.fill_null(-1) * _KEY_SHIFT + day_key.gather(held["_i"])).alias("_price_key"),
    )
    if not held["_price_key"].is_sorted():  # a symbol held in several accounts
        held = held.sort("_price_key")
    same_symbol = pl.col("_matched_key") >= pl.col("_code") * _KEY_SHIFT
    held = held.join_asof(
        prices.with_columns(pl.col("_price_key").alias("_matched_key")),
        on="_price_key",
        check_sortedness=False,
    )
    held = held.with_columns(
        pl.when(same_symbol).then("close").alias("close"),
        pl.coalesce(
            pl.when(same_symbol).then("_price_ccy"),
            pairs["_trade_ccy"].gather(held["_pair"]),
        ).alias("_ccy"),
    )
    held = held.select(
        days["date"].gather(held["_i"]),
        "_pair",
        "position",
        "close",
        "_ccy",
        rates.gather(held["_ccy"].cast(pl.Int64) * n + held["_i"]).alias("rate"),
    ).with_columns((pl.col("position") * pl.col("close") * pl.col("rate")).alias("value"))
    return held, pairs.select("_pair", "account", "symbol"), currencies


def _components(
    tx: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    base: str | None,
    days: pl.DataFrame,
) -> _Components:
    """Holdings and cash valued at the end of each date in ``days`` (sorted), and the
    ledger rows with their flows and income, bucketed onto the next listed day (``bucket``).
    Rows before the first listed day land on it, so callers prepend a reference day."""
    tx = tx.filter(pl.col("date") <= days["date"].max())
    ledger = _cash_ledger(tx)
    held, pairs, currencies = _held(_positions(tx), closes, fx, base, days)

    balances = (
        ledger.group_by("account", "currency", "date", maintain_order=True)
        .agg(pl.col("cash_balance").last())
        .sort("date")
    )
    cash = (
        days.join(balances.select("account", "currency").unique(), how="cross")
        .sort("date")
        .join_asof(balances, on="date", by=["account", "currency"], check_sortedness=False)
        .filter(pl.col("cash_balance").abs() > CASH_EPSILON)
    )
    cash = _with_rate(cash, fx, base, date_col="date", ccy_col="currency").with_columns(
        (pl.col("cash_balance") * pl.col("rate")).alias("value")
    )

    # Internal transfers are flows of the accounts involved: cash at its amount, shares at
    # the close on or before the transfer date (both sides alike, so they cancel out).
    moved = pl.when(_SHARES).then(_Q * pl.col("close").fill_null(0.0)).otherwise(_AMT)
    internal_flow = (
        pl.when(_INTERNAL & _IN).then(moved).when(_INTERNAL & _OUT).then(-moved).otherwise(0.0)
    )
    # Only the symbols moved between accounts need their closes here.
    moved_symbols = ledger.filter(_INTERNAL & _SHARES)["symbol"].unique()
    transfer_closes = closes.select("symbol", pl.col("date").alias("price_date"), "close")
    transfer_closes = (
        transfer_closes.clear()
        if moved_symbols.is_empty()
        else transfer_closes.filter(pl.col("symbol").is_in(moved_symbols.implode()))
    )
    rows = (
        ledger.sort("date")
        .join_asof(
            transfer_closes,
            left_on="date",
            right_on="price_date",
            by="symbol",
            check_sortedness=False,
        )
        .with_columns(
            (pl.col("external_flow") + internal_flow).alias("account_flow"),
            _SYMBOL_FLOW.alias("symbol_flow"),
        )
        .drop("close", "price_date")
    )
    rows = _historical_rate(
        rows, fx, base, date_col="date", ccy_col="currency", row_rate="fx_rate"
    ).join_asof(
        days.select(pl.col("date").alias("bucket")),
        left_on="date",
        right_on="bucket",
        strategy="forward",
    )
    return _Components(held, pairs, currencies, cash, rows)


def _portfolio_days(c: _Components, days: pl.DataFrame) -> pl.DataFrame:
    """Aggregate components to :data:`DAILY_SCHEMA` rows for every date in ``days``."""
    # The big frame is summed on its own; the (rare) unvalued rows get their names after.
    unvalued = c.held.filter(pl.col("value").is_null())
    missing_prices = (
        unvalued.join(c.pairs, on="_pair")
        .group_by("date")
        .agg(pl.col("symbol").unique().sort().alias("missing_prices"))
    )
    missing_fx = (
        unvalued.filter(pl.col("close").is_not_null())
        .join(c.currencies, on="_ccy")
        .group_by("date")
        .agg(pl.col("value_currency").unique().alias("_mfx_holdings"))
    )
    held = (
        c.held.group_by("date")
        .agg(pl.col("value").sum().alias("holdings_value"))
        .join(missing_prices, on="date", how="left")
        .join(missing_fx, on="date", how="left")
    )
    cash = c.cash.group_by("date").agg(
        pl.col("value").sum().alias("cash_value"),
        pl.col("currency").filter(pl.col("rate").is_null()).unique().alias("_mfx_cash"),
    )
    active = (pl.col("external_flow").abs() > CASH_EPSILON) | (
        pl.col("income").abs() > CASH_EPSILON
    )
    flows = (
        c.rows.filter(active)
        .group_by("bucket")
        .agg(
            (pl.col("external_flow") * pl.col("rate")).sum().alias("net_flows"),
            (pl.col("income") * pl.col("rate")).sum().alias("income"),
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
            pl.col("holdings_value", "cash_value", "net_flows", "income").fill_null(0.0),
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


def _keyed_days(c: _Components, days: pl.DataFrame, by: str) -> pl.DataFrame:
    """Aggregate components to :data:`BY_KEY_SCHEMA` rows (every key on every listed day)."""
    if by == "account":
        values = pl.concat(
            [
                c.held.join(c.pairs, on="_pair").select("date", "account", "value"),
                c.cash.select("date", "account", "value"),
            ]
        )
        rows, flow = c.rows, "account_flow"
    else:
        values = c.held.join(c.pairs, on="_pair").select("date", "symbol", "value")
        rows, flow = c.rows.filter(_SHARES), "symbol_flow"
    values = values.group_by("date", by).agg(pl.col("value").sum())
    flows = (
        rows.group_by("bucket", by)
        .agg(
            (pl.col(flow) * pl.col("rate")).sum().alias("net_flows"),
            (pl.col("income") * pl.col("rate")).sum().alias("income"),
        )
        .rename({"bucket": "date"})
    )
    keys = rows.select(by).unique()
    return (
        days.join(keys, how="cross")
        .join(values, on=["date", by], how="left")
        .join(flows, on=["date", by], how="left")
        .with_columns(pl.col("value", "net_flows", "income").fill_null(0.0))
        .rename({by: "key"})
        .sort("key", "date")
        .select(list(BY_KEY_SCHEMA))
        .cast(BY_KEY_SCHEMA)
    )


def _value_on_days(
    tx: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    base: str | None,
    days: pl.DataFrame,
) -> pl.DataFrame:
    """State at the end of each date in ``days`` (sorted), as :data:`DAILY_SCHEMA`.

    ``net_flows``/``income`` of a day gather the rows dated after the previous listed day
    and up to that day; rows before the first listed day land on the first day, so callers
    prepend a reference day and drop it.
    """
    return _portfolio_days(_components(tx, closes, fx, base, days), days)


def _calendar(tx: pl.DataFrame, start: dt.date | None, end: dt.date) -> pl.DataFrame | None:
    """Reference day + business days of the window, or ``None`` when there are none."""
    if start is None:
        if tx.is_empty():
            return None
        start = tx["date"].min()  # type: ignore[assignment]
    start = _as_date(start)  # type: ignore[arg-type]
    if start > end:
        raise ValueError(f"start ({start}) is after end ({end})")
    days = _business_days(start, end)
    if days.is_empty():
        return None
    reference = pl.DataFrame(
        {"date": [_previous_business_day(days["date"][0])]}, schema={"date": pl.Date}
    )
    return pl.concat([reference, days])


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
    business day: deposits - withdrawals + external transfers + implicit contributions;
    inflow positive), ``cumulative_flows`` (all external flows up to the date, including
    those before ``start``), ``day_change`` (``total_value - previous total_value -
    net_flows``; the previous total is the business day before the window, 0 before the
    first transaction), ``income`` (dividends net of their fees + interest - tax since the
    previous business day; already part of ``total_value``, so ``day_change - income`` is
    the price-only change), ``missing_prices`` (held symbols excluded for lack of
    price/FX) and ``missing_fx`` (currencies excluded for lack of an FX rate). An empty
    ledger without ``start`` gives an empty frame. Internal transfers between accounts
    change nothing here.

    Raises:
        ValueError: ``start`` after ``end`` or a malformed input frame.
    """
    end = _as_date(end)
    tx = normalise_transactions(transactions)
    calendar = _calendar(tx, start, end)
    if calendar is None:
        return pl.DataFrame(schema=DAILY_SCHEMA)
    closes_p, fx_p = _prepare_closes(closes), _prepare_fx(fx)
    base = _resolve_base(base_currency, fx_p, tx)
    return _value_on_days(tx, closes_p, fx_p, base, calendar).slice(1)


def daily_values_by(
    transactions: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    *,
    by: Literal["symbol", "account"],
    start: dt.date | None = None,
    end: dt.date,
    base_currency: str | None = None,
    lot_method: str = "fifo",
) -> pl.DataFrame:
    """Value, flows and income per holding (``by="symbol"``) or per account, every
    business day of the window (same window rules as :func:`daily_values`).

    Returns :data:`BY_KEY_SCHEMA` (``date, key, value, net_flows, income``, base currency),
    one row per key per business day, sorted by key then date; every key of the ledger
    appears on every day (zeros when nothing is held).

    * ``by="symbol"``: ``value`` = market value of the shares held in all accounts;
      ``net_flows`` = buys (cost incl. fee) + reinvested dividends + shares delivered from
      outside (at their price) - net sale proceeds - shares delivered outside; internal
      transfers and splits are no flow. ``income`` = the symbol's dividends (net of fees)
      + interest - tax; it leaves the holding, so total return adds it to the numerator.
    * ``by="account"``: ``value`` = shares + cash in the account; ``net_flows`` = the
      account's external flows (deposits - withdrawals + implicit contributions + every
      transfer in or out of it: cash at its amount, shares at their price or, for a
      transfer between accounts, at the close). ``income`` is already in ``value``.

    Values sum to the portfolio's ``total_value`` (accounts) or ``holdings_value``
    (symbols); account flows sum to the portfolio's ``net_flows``. Positions do not depend
    on ``lot_method``; it is checked and accepted so callers can pass one setting around.

    Raises:
        ValueError: an unknown ``by`` or ``lot_method``, ``start`` after ``end`` or a
            malformed input frame.
    """
    if by not in ("symbol", "account"):
        raise ValueError(f"by must be 'symbol' or 'account', not {by!r}")
    check_lot_method(lot_method)
    end = _as_date(end)
    tx = normalise_transactions(transactions)
    calendar = _calendar(tx, start, end)
    if calendar is None:
        return pl.DataFrame(schema=BY_KEY_SCHEMA)
    closes_p, fx_p = _prepare_closes(closes), _prepare_fx(fx)
    base = _resolve_base(base_currency, fx_p, tx)
    keyed = _keyed_days(_components(tx, closes_p, fx_p, base, calendar), calendar, by)
    return keyed.filter(pl.col("date") > calendar["date"][0])


def holdings(
    transactions: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    *,
    as_of: dt.date,
    base_currency: str | None = None,
    lot_method: str = "fifo",
    by_account: bool = False,
) -> pl.DataFrame:
    """Open positions (all accounts together) at ``as_of``; later transactions are ignored.

    Returns :data:`HOLDINGS_SCHEMA`, one row per open position, largest market value first:
    ``symbol``, ``quantity``, ``currency`` (trade currency), ``avg_cost`` (open-lot average
    per share under ``lot_method``, incl. buy fees, trade currency), ``cost_basis`` (open
    lots at each lot's acquisition FX: its ``fx_rate`` or the market rate on its open
    date, base), ``price`` (latest close on or before ``as_of``, instrument currency),
    ``price_date``, ``market_value`` (``quantity * price * fx(as_of)``, base),
    ``unrealised_pnl`` (``market_value - cost_basis``, base), ``unrealised_pct``
    (``unrealised_pnl / cost_basis``, fraction), ``weight`` (share of total holdings value,
    fraction) and ``day_change`` (``quantity * (price - previous close) * fx(as_of)``, base).
    A position without a price (or FX) has nulls in the price/value columns.

    With ``by_account`` there is one row per (account, symbol) instead, with an
    ``account`` column first (:data:`HOLDINGS_BY_ACCOUNT_SCHEMA`); weights are still shares
    of the total holdings value.

    Raises:
        ValueError: an unknown lot method, a sell exceeds the position or an input frame
            is malformed.
    """
    schema = HOLDINGS_BY_ACCOUNT_SCHEMA if by_account else HOLDINGS_SCHEMA
    keys = ["account", "symbol"] if by_account else ["symbol"]
    as_of = _as_date(as_of)
    tx = normalise_transactions(transactions).filter(pl.col("date") <= as_of)
    closes_p, fx_p = _prepare_closes(closes), _prepare_fx(fx)
    base = _resolve_base(base_currency, fx_p, tx)
    lots = _open_lots_frame(tx, lot_method)
    if lots.is_empty():
        return pl.DataFrame(schema=schema)

    lots = _historical_rate(
        lots, fx_p, base, date_col="open_date", ccy_col="currency", row_rate="fx_rate"
    )
    lot_cost = pl.col("quantity") * pl.col("unit_cost")
    positions = (
        lots.group_by(keys)
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
    # closes_p is in symbol/date order (symbol number _code): per symbol the last close on
    # or before as_of and the one before it.
    code = pl.col("_code")
    latest = (
        closes_p.filter(pl.col("date") <= as_of)
        .with_columns(
            pl.when(code == code.shift(1)).then(pl.col("close").shift(1)).alias("prev_close")
        )
        .filter(code.ne_missing(code.shift(-1)))
        .select(
            "symbol",
            pl.col("date").alias("price_date"),
            pl.col("close").alias("price"),
            pl.col("currency").alias("price_currency"),
            "prev_close",
        )
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
        .sort(
            ["market_value", *reversed(keys)],
            descending=[True] + [False] * len(keys),
            nulls_last=True,
        )
        .select(list(schema))
        .cast(schema)
    )


def fx_rate_on(
    fx: pl.DataFrame, currency: str, day: dt.date, *, base_currency: str
) -> float | None:
    """Market rate (base units per 1 ``currency``) for a transaction dated ``day``: the
    rate on or before it, else the earliest later one (the convention for flows and lot
    costs); 1.0 for the base currency; ``None`` when ``fx`` has no rate for ``currency``.
    Used to pre-fill a transaction's ``fx_rate``."""
    currency = (currency or "").strip().upper()
    if currency == base_currency.strip().upper():
        return 1.0
    request = pl.DataFrame(
        {"date": [_as_date(day)], "currency": [currency], "fx_rate": [None]},
        schema={"date": pl.Date, "currency": pl.Utf8, "fx_rate": pl.Float64},
    )
    rate = _historical_rate(
        request,
        _prepare_fx(fx),
        base_currency.strip().upper(),
        date_col="date",
        ccy_col="currency",
        row_rate="fx_rate",
    )["rate"][0]
    return None if rate is None else float(rate)


def _realised_in_base(
    tx: pl.DataFrame, fx: pl.DataFrame, base: str | None, lot_method: str
) -> float:
    sold = _disposals_frame(tx, lot_method)
    if sold.is_empty():
        return 0.0
    sold = _historical_rate(
        sold, fx, base, date_col="date", ccy_col="currency", row_rate="sale_fx_rate", alias="_sale"
    )
    sold = _historical_rate(
        sold, fx, base, date_col="open_date", ccy_col="currency", row_rate="lot_fx_rate"
    )
    pnl = pl.col("proceeds") * pl.col("_sale") - pl.col("cost") * pl.col("rate")
    return float(sold.select(pnl.sum()).item() or 0.0)


def summarise(
    transactions: pl.DataFrame,
    closes: pl.DataFrame,
    fx: pl.DataFrame,
    *,
    as_of: dt.date,
    base_currency: str | None = None,
    lot_method: str = "fifo",
) -> PortfolioSummary:
    """Headline figures at ``as_of`` (see :class:`PortfolioSummary` for units).

    ``day_change`` compares ``as_of`` with the business day before ``as_of``'s own business
    day (Friday is the business day of a weekend ``as_of``), net of the external flows in
    between, so on a weekday it equals the last ``day_change`` of :func:`daily_values`.
    ``cost_basis``, ``unrealised_pnl`` and ``realised_pnl`` follow ``lot_method``.
    An empty ledger gives :meth:`PortfolioSummary.empty`.

    Raises:
        ValueError: an unknown lot method, a sell exceeds the position or an input frame
            is malformed.
    """
    as_of = _as_date(as_of)
    lot_method = check_lot_method(lot_method)
    tx = normalise_transactions(transactions).filter(pl.col("date") <= as_of)
    if tx.is_empty():
        return PortfolioSummary.empty(as_of)
    closes_p, fx_p = _prepare_closes(closes), _prepare_fx(fx)
    base = _resolve_base(base_currency, fx_p, tx)

    reference = _previous_business_day(_on_or_before_business_day(as_of))
    days = pl.DataFrame({"date": [reference, as_of]}, schema={"date": pl.Date})
    frame = _value_on_days(tx, closes_p, fx_p, base, days)
    previous, today = frame.row(0, named=True), frame.row(1, named=True)

    positions = holdings(tx, closes, fx, as_of=as_of, base_currency=base, lot_method=lot_method)
    balances = (
        _cash_ledger(tx)
        .group_by("account", "currency", maintain_order=True)
        .agg(pl.col("cash_balance").last())
        .group_by("currency", maintain_order=True)
        .agg(pl.col("cash_balance").sum())
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
        realised_pnl=_realised_in_base(tx, fx_p, base, lot_method),
        # Rows before the reference day land on it: the two rows hold all income to as_of.
        income=float(frame["income"].sum()),
    )
