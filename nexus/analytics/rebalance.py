"""Target weights, drift and rebalancing trades.

Pure functions over polars frames: no I/O, no Streamlit, no module state.

Conventions
-----------
* Targets are ``bucket, target_weight`` with weights as fractions (``0.25`` = 25 %), none
  negative, summing to 1 within :data:`TARGET_SUM_TOLERANCE`. A bucket is a symbol or a
  group of :func:`nexus.analytics.allocation.allocation` (asset class, sector, ...). A
  target for the bucket ``"Cash"`` is a cash reserve to keep; without one, all cash is
  meant to be invested.
* Money is in the **base currency**. Trade ``price`` is per unit **in the base currency**
  (``market_value / quantity`` of the holding, or the given ``prices``), so
  ``value = quantity * price``.
* Trade ``quantity`` and ``value`` are positive magnitudes; ``action`` (``"buy"`` or
  ``"sell"``) gives the direction, as in the transaction ledger.
* Weights before and after are fractions of the same total (positions + cash); trades move
  money between cash and positions, so the total does not change. Fees, taxes and FX
  costs are not modelled.
* ``drift = weight - target_weight`` (positive = overweight) and ``drift_value =
  market_value - target_weight * total`` (the amount above target; negative = to buy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from nexus.analytics.allocation import CASH_BUCKET, GROUPINGS, classify

#: Target weights must sum to 1 within this.
TARGET_SUM_TOLERANCE = 1e-6
#: Trades worth at most this (base currency) are dropped as float dust.
MIN_TRADE_VALUE = 1e-6
#: Holdings with a quantity at or below this are ignored.
QUANTITY_EPSILON = 1e-9
# Slack for rounding down to whole units (so 2.9999999999 units counts as 3).
_UNIT_SLACK = 1e-9
# Slack for the tolerance comparison (so a drift of exactly ``tolerance`` holds).
_TOLERANCE_SLACK = 1e-12

TARGETS_SCHEMA: dict[str, pl.DataType] = {"bucket": pl.Utf8(), "target_weight": pl.Float64()}

DRIFT_SCHEMA: dict[str, pl.DataType] = {
    "bucket": pl.Utf8(),
    "market_value": pl.Float64(),
    "weight": pl.Float64(),
    "target_weight": pl.Float64(),
    "drift": pl.Float64(),
    "drift_value": pl.Float64(),
}

TRADES_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.Utf8(),
    "action": pl.Utf8(),
    "quantity": pl.Float64(),
    "price": pl.Float64(),
    "value": pl.Float64(),
    "weight_before": pl.Float64(),
    "weight_after": pl.Float64(),
}

BUCKET_TRADES_SCHEMA: dict[str, pl.DataType] = {
    "bucket": pl.Utf8(),
    "action": pl.Utf8(),
    "value": pl.Float64(),
    "weight_before": pl.Float64(),
    "target_weight": pl.Float64(),
    "weight_after": pl.Float64(),
}


@dataclass(frozen=True)
class RebalancePlan:
    """Trades plus the cash they leave (all money in the base currency).

    Attributes:
        trades: :data:`TRADES_SCHEMA` (symbol level) or :data:`BUCKET_TRADES_SCHEMA`
            (bucket level); sells first, then buys, each largest first.
        total_value: positions + cash, before and after the trades.
        cash_before: cash available to the plan.
        cash_after: cash left after all trades (the leftover of whole-unit rounding, a
            cash reserve target, or cash the buys could not use).
    """

    trades: pl.DataFrame
    total_value: float
    cash_before: float
    cash_after: float

    @property
    def buy_value(self) -> float:
        """Total value bought."""
        return float(self.trades.filter(pl.col("action") == "buy")["value"].sum())

    @property
    def sell_value(self) -> float:
        """Total value sold."""
        return float(self.trades.filter(pl.col("action") == "sell")["value"].sum())


# --------------------------------------------------------------------------- targets


def validate_targets(targets: pl.DataFrame | Mapping[str, float]) -> pl.DataFrame:
    """Check and normalise targets to :data:`TARGETS_SCHEMA` (buckets stripped).

    Accepts a ``bucket, target_weight`` frame or a ``{bucket: weight}`` mapping.

    Raises:
        ValueError: missing columns, no rows, a blank or duplicate bucket, a missing or
            negative weight, or weights not summing to 1 (100 %).
    """
    if isinstance(targets, Mapping):
        frame = pl.DataFrame(
            {"bucket": list(targets), "target_weight": list(targets.values())},
            schema=TARGETS_SCHEMA,
        )
    else:
        missing = [c for c in TARGETS_SCHEMA if c not in targets.columns]
        if missing:
            raise ValueError(f"targets frame is missing column(s): {', '.join(missing)}")
        frame = targets.select(list(TARGETS_SCHEMA)).cast(TARGETS_SCHEMA)
    frame = frame.with_columns(pl.col("bucket").str.strip_chars())
    if frame.is_empty():
        raise ValueError("no targets given: add at least one bucket with a target weight")
    if frame.filter(pl.col("bucket").is_null() | (pl.col("bucket") == "")).height:
        raise ValueError("every target needs a bucket name")
    weight = pl.col("target_weight")
    unset = frame.filter(weight.is_null() | ~weight.is_finite())["bucket"].to_list()
    if unset:
        raise ValueError(f"target weight missing or not a number for: {', '.join(unset)}")
    negative = frame.filter(weight < 0)
    if negative.height:
        listed = ", ".join(f"{b} ({w:.2%})" for b, w in negative.iter_rows())
        raise ValueError(f"target weights must not be negative: {listed}")
    duplicated = frame.filter(pl.col("bucket").is_duplicated())["bucket"].unique().sort()
    if duplicated.len():
        raise ValueError(f"duplicate target bucket(s): {', '.join(duplicated.to_list())}")
    total = float(frame["target_weight"].sum())
    if abs(total - 1.0) > TARGET_SUM_TOLERANCE:
        raise ValueError(
            f"target weights must sum to 100 % (1.0); they sum to {total:.4%} ({total:.6g})"
        )
    return frame


def _check_options(cash_available: float, tolerance: float) -> None:
    if not math.isfinite(cash_available) or cash_available < 0:
        raise ValueError(f"cash_available must be zero or positive, got {cash_available}")
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a zero or positive fraction, got {tolerance}")


def _cash_target(goals: pl.DataFrame) -> float:
    return float(goals.filter(pl.col("bucket") == CASH_BUCKET)["target_weight"].sum())


def drift(current: pl.DataFrame, targets: pl.DataFrame | Mapping[str, float]) -> pl.DataFrame:
    """Current versus target weight per bucket.

    Args:
        current: ``bucket, market_value`` (base currency), e.g. the output of
            :func:`~nexus.analytics.allocation.allocation` (including its ``Cash`` row).
        targets: see :func:`validate_targets`.

    Returns:
        :data:`DRIFT_SCHEMA`, the outer join on ``bucket`` (a side without the bucket counts
        as 0): ``weight`` (of the current total), ``target_weight``, ``drift`` (``weight -
        target_weight``, fraction) and ``drift_value`` (``market_value - target_weight *
        total``, base). Sorted by target weight, then current weight, largest first.

    Raises:
        ValueError: invalid targets or ``current`` lacks a column.
    """
    goals = validate_targets(targets)
    missing = [c for c in ("bucket", "market_value") if c not in current.columns]
    if missing:
        raise ValueError(f"current allocation is missing column(s): {', '.join(missing)}")
    held = (
        current.select(pl.col("bucket").cast(pl.Utf8), pl.col("market_value").cast(pl.Float64))
        .group_by("bucket")
        .agg(pl.col("market_value").sum())
    )
    total = float(held["market_value"].sum())
    weight = pl.col("market_value") / total if total > 0 else pl.lit(0.0)
    return (
        held.join(goals, on="bucket", how="full", coalesce=True)
        .with_columns(pl.col("market_value", "target_weight").fill_null(0.0))
        .with_columns(weight.alias("weight"))
        .with_columns(
            (pl.col("weight") - pl.col("target_weight")).alias("drift"),
            (pl.col("market_value") - pl.col("target_weight") * total).alias("drift_value"),
        )
        .sort(
            ["target_weight", "weight", "bucket"], descending=[True, True, False], nulls_last=True
        )
        .select(list(DRIFT_SCHEMA))
        .cast(DRIFT_SCHEMA)
    )


# --------------------------------------------------------------------------- planning core


def _fund_buys(frame: pl.DataFrame, available: float) -> pl.DataFrame:
    """Scale buys (``delta > 0``) so they cost at most ``available`` cash plus the sells."""
    delta = frame["delta"]
    sells = float(-delta.clip(upper_bound=0.0).sum())
    buys = float(delta.clip(lower_bound=0.0).sum())
    budget = max(0.0, available + sells)
    if buys <= budget:
        return frame
    scale = budget / buys
    return frame.with_columns(
        pl.when(pl.col("delta") > 0)
        .then(pl.col("delta") * scale)
        .otherwise(pl.col("delta"))
        .alias("delta")
    )


def _deltas(frame: pl.DataFrame, *, available: float, allow_sells: bool) -> pl.DataFrame:
    """Add ``delta``: the signed trade value (base; + buy, - sell) of each row.

    ``frame`` needs ``value`` (current), ``target_value`` and ``hold`` (within tolerance:
    no trade). ``available`` is the cash the buys may use beyond the sells' proceeds.
    """
    raw = pl.when(pl.col("hold")).then(0.0).otherwise(pl.col("target_value") - pl.col("value"))
    if not allow_sells:
        raw = raw.clip(lower_bound=0.0)
    return _fund_buys(frame.with_columns(raw.alias("delta")), available)


def _action(signed: pl.Expr) -> pl.Expr:
    return pl.when(signed > 0).then(pl.lit("buy")).otherwise(pl.lit("sell"))


# --------------------------------------------------------------------------- symbol level


def _quotes(prices: Mapping[str, float] | pl.DataFrame | None) -> pl.DataFrame:
    schema = {"symbol": pl.Utf8, "_quote": pl.Float64}
    if prices is None:
        return pl.DataFrame(schema=schema)
    if isinstance(prices, Mapping):
        frame = pl.DataFrame({"symbol": list(prices), "_quote": list(prices.values())}, schema)
    else:
        if "symbol" not in prices.columns or "price" not in prices.columns:
            raise ValueError("prices frame needs columns symbol and price")
        frame = prices.select("symbol", pl.col("price").alias("_quote")).cast(schema)
    frame = frame.with_columns(pl.col("symbol").str.strip_chars()).unique(
        "symbol", keep="last", maintain_order=True
    )
    bad = frame.filter(~(pl.col("_quote").is_finite() & (pl.col("_quote") > 0)))
    if bad.height:
        raise ValueError(f"prices must be positive numbers: {', '.join(bad['symbol'].to_list())}")
    return frame


def _positions(
    holdings: pl.DataFrame,
    goals: pl.DataFrame,
    *,
    by: str,
    instruments: pl.DataFrame | None,
    prices: Mapping[str, float] | pl.DataFrame | None,
) -> pl.DataFrame:
    """Held symbols (plus symbol targets not held) with ``bucket, quantity, price, value``."""
    if "quantity" not in holdings.columns:
        raise ValueError("holdings frame is missing column(s): quantity")
    held = (
        classify(holdings, instruments, by=by)
        .filter(pl.col("quantity") > QUANTITY_EPSILON)
        .group_by("symbol")
        .agg(
            pl.col("quantity").cast(pl.Float64).sum(),
            pl.when(pl.col("market_value").is_null().any())
            .then(pl.lit(None, dtype=pl.Float64))
            .otherwise(pl.col("market_value").cast(pl.Float64).sum())
            .alias("market_value"),
            pl.col("bucket").first(),
        )
    )
    if by == "symbol":
        new = (
            goals.filter(pl.col("bucket") != CASH_BUCKET)
            .join(held, left_on="bucket", right_on="symbol", how="anti")
            .select(
                pl.col("bucket").alias("symbol"),
                pl.lit(0.0).alias("quantity"),
                pl.lit(0.0).alias("market_value"),
                pl.col("bucket"),
            )
            .cast(held.schema)
        )
        held = pl.concat([held, new])

    quote = pl.col("_quote")
    frame = held.join(_quotes(prices), on="symbol", how="left").with_columns(
        pl.coalesce(
            quote,
            pl.when(pl.col("quantity") > QUANTITY_EPSILON).then(
                pl.col("market_value") / pl.col("quantity")
            ),
        ).alias("price"),
        pl.when(quote.is_not_null())
        .then(pl.col("quantity") * quote)
        .otherwise(pl.col("market_value"))
        .alias("value"),
    )
    unpriced = frame.filter(
        pl.col("value").is_null() | pl.col("price").is_null() | ~(pl.col("price") > 0)
    )["symbol"]
    if unpriced.len():
        names = ", ".join(sorted(unpriced.to_list()))
        raise ValueError(
            f"no usable price for {names}; pass prices={{symbol: price in base currency}}"
        )
    return frame.select("symbol", "bucket", "quantity", "price", "value")


def _trade_units(frame: pl.DataFrame, *, available: float, whole_units: bool) -> pl.DataFrame:
    """Add ``units`` (quantity to trade) for each row's ``delta``; may adjust ``delta``.

    A sell never exceeds the held quantity and a zero-target position is sold in full.
    With ``whole_units`` sells are rounded down first, buys are re-funded from the actual
    proceeds (:func:`_fund_buys`) and then rounded down.
    """
    delta, price, held = pl.col("delta"), pl.col("price"), pl.col("quantity")
    sell = delta < 0
    exit_all = pl.col("target_value") <= 0
    sell_units = pl.min_horizontal(-delta / price, held)
    if whole_units:
        sell_units = (sell_units + _UNIT_SLACK).floor()
    sell_units = pl.when(exit_all).then(held).otherwise(sell_units)
    frame = frame.with_columns(
        pl.when(sell).then(sell_units).otherwise(delta / price).alias("units")
    )
    if not whole_units:
        return frame
    frame = _fund_buys(
        frame.with_columns(
            pl.when(sell).then(-pl.col("units") * price).otherwise(delta).alias("delta")
        ),
        available,
    )
    whole = (pl.col("delta") / price + _UNIT_SLACK).floor()
    return frame.with_columns(
        pl.when(pl.col("delta") > 0).then(whole).otherwise(pl.col("units")).alias("units")
    )


def rebalance_trades(
    holdings: pl.DataFrame,
    targets: pl.DataFrame | Mapping[str, float],
    *,
    by: str = "symbol",
    instruments: pl.DataFrame | None = None,
    prices: Mapping[str, float] | pl.DataFrame | None = None,
    cash_available: float = 0.0,
    whole_units: bool = False,
    allow_sells: bool = True,
    tolerance: float = 0.0,
) -> RebalancePlan:
    """Buy and sell orders that bring the portfolio to its target weights.

    Args:
        holdings: :data:`~nexus.analytics.valuation.HOLDINGS_SCHEMA` frame (``symbol``,
            ``quantity``, ``market_value`` in base currency); rows of the same symbol are
            combined.
        targets: per symbol (``by="symbol"``; a target symbol not held is bought at its
            ``prices`` entry) or per bucket of ``by`` (asset_class, sector, region,
            currency), in which case a bucket's target is spread over its held symbols in
            proportion to their current values. An optional ``"Cash"`` target is kept
            as cash.
        by: grouping of the targets (not ``"account"``; see :func:`rebalance_buckets`).
        instruments: classification frame for ``by`` other than ``"symbol"`` (see
            :func:`~nexus.analytics.allocation.classify`).
        prices: per-unit prices **in the base currency** (mapping or ``symbol, price``
            frame). A listed symbol is valued and traded at this price; others at
            ``market_value / quantity``.
        cash_available: cash (base currency, >= 0) counted in the total and used for buys.
        whole_units: round quantities down to whole units; sells are rounded first and the
            buys re-funded from the actual proceeds; the remainder stays in ``cash_after``.
            A position with a zero target is still sold in full (fractions included).
        allow_sells: if ``False``, only underweight positions are bought, with the
            available cash shared in proportion to each one's shortfall from target.
        tolerance: a bucket whose ``|weight - target|`` is at most this (fraction) gets
            no trade.

    Returns:
        :class:`RebalancePlan` with :data:`TRADES_SCHEMA` trades. With sells allowed, no
        tolerance and fractional units every weight after equals its target. Buys never
        spend more than the cash plus the sells' proceeds (less any cash reserve).

    Raises:
        ValueError: invalid targets or options, ``by="account"``, a missing price, or a
            bucket target with no held symbol to buy.
    """
    if by == "account" or by not in GROUPINGS:
        allowed = ", ".join(g for g in GROUPINGS if g != "account")
        raise ValueError(
            f"rebalance_trades groups by one of {allowed}; use rebalance_buckets for {by!r}"
        )
    _check_options(cash_available, tolerance)
    goals = validate_targets(targets)
    frame = _positions(holdings, goals, by=by, instruments=instruments, prices=prices)
    total = float(frame["value"].sum()) + cash_available
    if total <= 0:
        raise ValueError("nothing to rebalance: the portfolio and cash are worth zero")

    buckets = (
        frame.group_by("bucket")
        .agg(pl.col("value").sum().alias("bucket_value"))
        .join(goals.rename({"target_weight": "bucket_target"}), on="bucket", how="full")
        .with_columns(
            pl.coalesce("bucket", "bucket_right").alias("bucket"),
            pl.col("bucket_value", "bucket_target").fill_null(0.0),
        )
        .drop("bucket_right")
        .filter(pl.col("bucket") != CASH_BUCKET)
    )
    unfunded = buckets.filter((pl.col("bucket_target") > 0) & (pl.col("bucket_value") <= 0))
    if by != "symbol" and unfunded.height:
        names = ", ".join(sorted(unfunded["bucket"].to_list()))
        raise ValueError(
            f"no held symbol in {names} to buy; set symbol targets (by='symbol') instead"
        )

    # A symbol's share of its bucket's target: 1 by symbol, else its share of the bucket.
    share = pl.when(pl.col("bucket_value") > 0).then(pl.col("value") / pl.col("bucket_value"))
    if by == "symbol":
        share = pl.lit(1.0)
    drifted = (pl.col("bucket_value") / total - pl.col("bucket_target")).abs()
    frame = frame.join(buckets, on="bucket", how="left").with_columns(
        (pl.col("bucket_target") * share.fill_null(0.0) * total).alias("target_value"),
        (drifted <= tolerance + _TOLERANCE_SLACK).alias("hold"),
    )
    available = cash_available - _cash_target(goals) * total
    frame = _deltas(frame, available=available, allow_sells=allow_sells)

    frame = _trade_units(frame, available=available, whole_units=whole_units)
    trades = (
        frame.with_columns(
            (pl.col("delta").sign() * pl.col("units") * pl.col("price")).alias("signed")
        )
        .filter(pl.col("signed").abs() > MIN_TRADE_VALUE)
        .select(
            "symbol",
            _action(pl.col("signed")).alias("action"),
            pl.col("units").alias("quantity"),
            "price",
            pl.col("signed").abs().alias("value"),
            (pl.col("value") / total).alias("weight_before"),
            ((pl.col("value") + pl.col("signed")) / total).alias("weight_after"),
            "signed",
        )
        .sort(["action", "value", "symbol"], descending=[True, True, False])
    )
    cash_after = cash_available - float(trades["signed"].sum())
    return RebalancePlan(
        trades=trades.select(list(TRADES_SCHEMA)).cast(TRADES_SCHEMA),
        total_value=total,
        cash_before=cash_available,
        cash_after=cash_after,
    )


# --------------------------------------------------------------------------- bucket level


def rebalance_buckets(
    current: pl.DataFrame,
    targets: pl.DataFrame | Mapping[str, float],
    *,
    allow_sells: bool = True,
    tolerance: float = 0.0,
) -> RebalancePlan:
    """Amounts to move into or out of each bucket (asset class, sector, account, ...).

    Args:
        current: ``bucket, market_value`` (base), e.g. the output of
            :func:`~nexus.analytics.allocation.allocation`. Its ``"Cash"`` row is the cash
            available for buys (none: buys are funded by sells only).
        targets: see :func:`validate_targets`; a ``"Cash"`` target is a reserve to keep.
        allow_sells: if ``False``, only underweight buckets are bought, with the cash
            shared in proportion to each one's shortfall from target.
        tolerance: a bucket whose ``|weight - target|`` is at most this (fraction) gets
            no trade.

    Returns:
        :class:`RebalancePlan` with :data:`BUCKET_TRADES_SCHEMA` trades: ``value`` is the
        amount (base currency) to buy or sell in the bucket, with no quantities. The
        ``Cash`` bucket is the funding side and never appears as a trade.

    Raises:
        ValueError: invalid targets or options, a missing column, or a zero total.
    """
    _check_options(0.0, tolerance)
    goals = validate_targets(targets)
    missing = [c for c in ("bucket", "market_value") if c not in current.columns]
    if missing:
        raise ValueError(f"current allocation is missing column(s): {', '.join(missing)}")
    held = (
        current.select(pl.col("bucket").cast(pl.Utf8), pl.col("market_value").cast(pl.Float64))
        .group_by("bucket")
        .agg(pl.col("market_value").fill_null(0.0).sum().alias("value"))
    )
    total = float(held["value"].sum())
    if total <= 0:
        raise ValueError("nothing to rebalance: the allocation is worth zero")
    cash = float(held.filter(pl.col("bucket") == CASH_BUCKET)["value"].sum())

    weight = pl.col("value") / total
    frame = (
        held.join(goals, on="bucket", how="full", coalesce=True)
        .filter(pl.col("bucket") != CASH_BUCKET)
        .with_columns(pl.col("value", "target_weight").fill_null(0.0))
        .with_columns(
            (pl.col("target_weight") * total).alias("target_value"),
            ((weight - pl.col("target_weight")).abs() <= tolerance + _TOLERANCE_SLACK).alias(
                "hold"
            ),
        )
    )
    frame = _deltas(frame, available=cash - _cash_target(goals) * total, allow_sells=allow_sells)
    trades = (
        frame.filter(pl.col("delta").abs() > MIN_TRADE_VALUE)
        .select(
            "bucket",
            _action(pl.col("delta")).alias("action"),
            pl.col("delta").abs().alias("value"),
            weight.alias("weight_before"),
            "target_weight",
            ((pl.col("value") + pl.col("delta")) / total).alias("weight_after"),
            "delta",
        )
        .sort(["action", "value", "bucket"], descending=[True, True, False])
    )
    return RebalancePlan(
        trades=trades.select(list(BUCKET_TRADES_SCHEMA)).cast(BUCKET_TRADES_SCHEMA),
        total_value=total,
        cash_before=cash,
        cash_after=cash - float(trades["delta"].sum()),
    )
