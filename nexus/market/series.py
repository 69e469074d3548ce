"""Names and units of the macro series the app knows how to label (FRED ids)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeriesInfo:
    title: str
    units: str  # shown after the value: "%", "index", "bn USD"
    frequency: str


SERIES: dict[str, SeriesInfo] = {
    "DGS10": SeriesInfo("10-year Treasury yield", "%", "daily"),
    "DGS2": SeriesInfo("2-year Treasury yield", "%", "daily"),
    "T10Y2Y": SeriesInfo("Yield-curve spread (10y − 2y)", "pp", "daily"),
    "FEDFUNDS": SeriesInfo("Federal funds rate", "%", "monthly"),
    "CPIAUCSL": SeriesInfo("Consumer price index (CPI-U)", "index 1982-84=100", "monthly"),
    "UNRATE": SeriesInfo("Unemployment rate", "%", "monthly"),
    "GDPC1": SeriesInfo("Real GDP", "bn chained 2017 USD", "quarterly"),
}


def describe(series_id: str) -> SeriesInfo:
    return SERIES.get(series_id, SeriesInfo(series_id, "", ""))
