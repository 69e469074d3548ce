"""Pure portfolio analytics over polars frames (no I/O, no Streamlit, no globals)."""

from nexus.analytics.lots import fifo_open_lots, normalise_transactions, realised_pnl
from nexus.analytics.valuation import (
    PortfolioSummary,
    cash_ledger,
    daily_values,
    holdings,
    summarise,
)

__all__ = [
    "PortfolioSummary",
    "cash_ledger",
    "daily_values",
    "fifo_open_lots",
    "holdings",
    "normalise_transactions",
    "realised_pnl",
    "summarise",
]
