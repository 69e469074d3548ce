"""Pure portfolio analytics over polars frames (no I/O, no Streamlit, no globals)."""

from nexus.analytics.lots import (
    LOT_METHODS,
    fifo_open_lots,
    normalise_transactions,
    open_lots,
    realised_pnl,
    realised_trades,
)
from nexus.analytics.valuation import (
    PortfolioSummary,
    cash_balances,
    cash_ledger,
    daily_values,
    daily_values_by,
    holdings,
    summarise,
)

__all__ = [
    "LOT_METHODS",
    "PortfolioSummary",
    "cash_balances",
    "cash_ledger",
    "daily_values",
    "daily_values_by",
    "fifo_open_lots",
    "holdings",
    "normalise_transactions",
    "open_lots",
    "realised_pnl",
    "realised_trades",
    "summarise",
]
