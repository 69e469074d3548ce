"""Allocation of a portfolio's value by asset class, sector, region, currency, account...

Pure functions over polars frames: no I/O, no Streamlit, no module state.

Conventions
-----------
* ``holdings`` is :data:`nexus.analytics.valuation.HOLDINGS_SCHEMA` (``market_value`` in
  the **base currency**), optionally with an ``account`` column.
* ``instruments`` has ``symbol, name, asset_class, sector, region, currency`` (the market
  snapshot's ``symbols`` table); any classification may be null.
* Cash is a ``{currency: value in base currency}`` mapping. It is its own bucket
  :data:`CASH_BUCKET` for every grouping except ``"currency"``, where it joins its currency.
* Weights are fractions of the total **including cash** (``0.05`` = 5 %) and sum to 1.
* Null or blank classifications are reported as :data:`UNCLASSIFIED`. Positions without a
  market value (missing price or FX) are left out, as in the valuation totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl

CASH_BUCKET = "Cash"
UNCLASSIFIED = "Unclassified"

Grouping = Literal["asset_class", "sector", "region", "currency", "account", "symbol"]
GROUPINGS: tuple[str, ...] = ("asset_class", "sector", "region", "currency", "account", "symbol")

ALLOCATION_SCHEMA: dict[str, pl.DataType] = {
    "bucket": pl.Utf8(),
    "market_value": pl.Float64(),
    "weight": pl.Float64(),
}

#: Cash amounts whose absolute value is at or below this are ignored.
CASH_EPSILON = 1e-9


def _label(expr: pl.Expr) -> pl.Expr:
    """Strip a classification; null or blank becomes :data:`UNCLASSIFIED`."""
    text = expr.cast(pl.Utf8).str.strip_chars()
    return pl.when(text.is_null() | (text == "")).then(pl.lit(UNCLASSIFIED)).otherwise(text)


def _currency_label(expr: pl.Expr) -> pl.Expr:
    """Upper-case ISO code; null or blank becomes :data:`UNCLASSIFIED`."""
    return _label(expr.cast(pl.Utf8).str.to_uppercase())


def classify(
    holdings: pl.DataFrame, instruments: pl.DataFrame | None, *, by: Grouping | str
) -> pl.DataFrame:
    """``holdings`` with an added ``bucket`` column (the position's group for ``by``).

    Classification columns come from ``instruments`` (joined on ``symbol``); when
    ``instruments`` is ``None`` a column of that name already in ``holdings`` is used.
    ``"currency"`` is the instrument's currency, falling back to the holding's currency.

    Raises:
        ValueError: unknown ``by`` or a required column is missing.
    """
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; expected one of {', '.join(GROUPINGS)}")
    missing = [c for c in ("symbol", "market_value") if c not in holdings.columns]
    if by == "account" and "account" not in holdings.columns:
        missing.append("account")
    if missing:
        raise ValueError(f"holdings frame is missing column(s): {', '.join(missing)}")

    frame = holdings.with_columns(pl.col("symbol").cast(pl.Utf8).str.strip_chars())
    if by in ("symbol", "account"):
        return frame.with_columns(_label(pl.col(by)).alias("bucket"))

    fallback = pl.col(by) if by in holdings.columns else pl.lit(None, dtype=pl.Utf8)
    if instruments is None:
        if by != "currency" and by not in holdings.columns:
            raise ValueError(f"pass instruments (or a {by!r} column in holdings) to group by {by}")
        source = fallback
    else:
        if "symbol" not in instruments.columns or by not in instruments.columns:
            raise ValueError(f"instruments frame needs columns symbol and {by}")
        lookup = instruments.select(
            pl.col("symbol").cast(pl.Utf8).str.strip_chars(),
            pl.col(by).cast(pl.Utf8).alias("_class"),
        ).unique("symbol", keep="first", maintain_order=True)
        frame = frame.join(lookup, on="symbol", how="left")
        source = pl.col("_class")
        if by == "currency":
            blank = pl.col("_class").str.strip_chars().fill_null("") == ""
            source = pl.when(blank).then(fallback).otherwise(pl.col("_class"))
    bucket = _currency_label(source) if by == "currency" else _label(source)
    return frame.with_columns(bucket.alias("bucket")).drop("_class", strict=False)


def _cash_frame(cash_by_currency_base: Mapping[str, float] | None, by: str) -> pl.DataFrame:
    cash = dict(cash_by_currency_base or {})
    frame = pl.DataFrame(
        {"currency": list(cash), "market_value": list(cash.values())},
        schema={"currency": pl.Utf8, "market_value": pl.Float64},
    ).filter(pl.col("market_value").abs() > CASH_EPSILON)
    bucket = _currency_label(pl.col("currency")) if by == "currency" else pl.lit(CASH_BUCKET)
    return frame.select(bucket.cast(pl.Utf8).alias("bucket"), "market_value")


def allocation(
    holdings: pl.DataFrame,
    instruments: pl.DataFrame | None,
    *,
    by: Grouping | str,
    cash_by_currency_base: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Market value and weight per bucket of ``by``.

    Args:
        holdings: :data:`~nexus.analytics.valuation.HOLDINGS_SCHEMA` frame (``account``
            column needed for ``by="account"``).
        instruments: ``symbol`` plus the classification columns; may be ``None`` for
            ``symbol``/``account``/``currency`` (or when ``holdings`` carries the column).
        by: one of :data:`GROUPINGS`.
        cash_by_currency_base: cash per currency, each value already converted to the base
            currency. A separate ``"Cash"`` bucket, except for ``by="currency"``.

    Returns:
        :data:`ALLOCATION_SCHEMA` - ``bucket``, ``market_value`` (base), ``weight``
        (fraction of the total including cash) - largest value first, ties by bucket name.
        Empty when there is nothing to allocate; weights are null if the total is not
        positive.

    Raises:
        ValueError: unknown ``by`` or missing columns.
    """
    positions = (
        classify(holdings, instruments, by=by)
        .filter(pl.col("market_value").is_not_null() & pl.col("market_value").is_not_nan())
        .select("bucket", pl.col("market_value").cast(pl.Float64))
    )
    total = pl.col("market_value").sum()
    return (
        pl.concat([positions, _cash_frame(cash_by_currency_base, by)])
        .group_by("bucket")
        .agg(pl.col("market_value").sum())
        .with_columns(pl.when(total > 0).then(pl.col("market_value") / total).alias("weight"))
        .sort(["market_value", "bucket"], descending=[True, False])
        .select(list(ALLOCATION_SCHEMA))
        .cast(ALLOCATION_SCHEMA)
    )
