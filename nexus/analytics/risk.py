"""The risk report of one return series (and a benchmark): every scalar metric at once.

Pure; the arithmetic is :mod:`nexus.analytics.metrics` (empyrical conventions). Inputs are
daily simple returns as fractions; ``risk_free`` is per period; annualised figures use
``periods`` (252 trading days). VaR/CVaR are returns (negative = loss) at ``cutoff``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from nexus.analytics import metrics

#: key → (label, kind, help). kind: "pct" (fraction shown as %), "ratio", "days".
RISK_METRICS: dict[str, tuple[str, str, str]] = {
    "cumulative_return": ("Cumulative return", "pct", "Time-weighted, over the range."),
    "annual_return": ("Annualised return", "pct", "Compound annual growth rate (CAGR)."),
    "annual_volatility": (
        "Annualised volatility",
        "pct",
        "Standard deviation of daily returns × √252.",
    ),
    "sharpe_ratio": ("Sharpe ratio", "ratio", "Mean excess return / volatility, annualised."),
    "sortino_ratio": ("Sortino ratio", "ratio", "Like Sharpe, but only downside volatility."),
    "downside_risk": ("Downside risk", "pct", "Annualised deviation of returns below 0."),
    "max_drawdown": ("Max drawdown", "pct", "Largest peak-to-trough fall."),
    "drawdown_days": ("Drawdown length", "days", "Trading days from the peak to the trough."),
    "recovery_days": (
        "Recovery",
        "days",
        "Trading days from the peak back to it (blank: not yet recovered).",
    ),
    "calmar_ratio": ("Calmar ratio", "ratio", "Annualised return / |max drawdown|."),
    "omega_ratio": ("Omega ratio", "ratio", "Gains above 0 over losses below 0."),
    "tail_ratio": ("Tail ratio", "ratio", "95th percentile / |5th percentile| of returns."),
    "var_historical": ("VaR 95 % (historical)", "pct", "A 1-in-20 bad day, from history."),
    "cvar_historical": (
        "CVaR 95 % (historical)",
        "pct",
        "Average of the days worse than the VaR.",
    ),
    "var_parametric": ("VaR 95 % (normal)", "pct", "The VaR if returns were normal."),
    "cvar_parametric": ("CVaR 95 % (normal)", "pct", "Expected shortfall, normal model."),
    "alpha": ("Alpha", "pct", "Annualised return not explained by the benchmark (CAPM)."),
    "beta": ("Beta", "ratio", "Sensitivity to the benchmark's daily moves."),
    "excess_sharpe": ("Excess Sharpe", "ratio", "Mean active return / tracking error (daily)."),
    "correlation": ("Correlation", "ratio", "Correlation of daily returns with the benchmark."),
}


@dataclass(frozen=True)
class RiskReport:
    """Scalar metrics (``values``, keys of :data:`RISK_METRICS`; NaN when undefined) and
    the drawdown details of the series."""

    values: dict[str, float]
    drawdown: metrics.DrawdownDetails
    observations: int

    def frame(self) -> pl.DataFrame:
        """``metric, label, kind, value, help`` in :data:`RISK_METRICS` order."""
        return pl.DataFrame(
            [
                {
                    "metric": key,
                    "label": label,
                    "kind": kind,
                    "value": self.values.get(key, math.nan),
                    "help": help_text,
                }
                for key, (label, kind, help_text) in RISK_METRICS.items()
                if key in self.values
            ],
            schema={
                "metric": pl.Utf8(),
                "label": pl.Utf8(),
                "kind": pl.Utf8(),
                "value": pl.Float64(),
                "help": pl.Utf8(),
            },
        )


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def risk_report(
    returns: Any,
    benchmark: Any = None,
    *,
    risk_free: float = 0.0,
    periods: int = 252,
    cutoff: float = 0.05,
) -> RiskReport:
    """Every scalar risk metric of ``returns`` (1-D), plus alpha, beta, excess Sharpe and
    correlation against ``benchmark`` (aligned, same length) when given."""
    r = np.asarray(returns, dtype=np.float64)
    details = metrics.drawdown_details(r)
    values = {
        "cumulative_return": metrics.cum_returns_final(r),
        "annual_return": metrics.annual_return(r, periods=periods),
        "annual_volatility": metrics.annual_volatility(r, periods=periods),
        "sharpe_ratio": metrics.sharpe_ratio(r, risk_free=risk_free, periods=periods),
        "sortino_ratio": metrics.sortino_ratio(r, required_return=risk_free, periods=periods),
        "downside_risk": metrics.downside_risk(r, required_return=risk_free, periods=periods),
        "max_drawdown": metrics.max_drawdown(r),
        "drawdown_days": details.peak_to_trough,
        "recovery_days": details.peak_to_recovery,
        "calmar_ratio": metrics.calmar_ratio(r, periods=periods),
        "omega_ratio": metrics.omega_ratio(r, risk_free=risk_free, annualization=periods),
        "tail_ratio": metrics.tail_ratio(r),
        "var_historical": metrics.value_at_risk(r, cutoff=cutoff),
        "cvar_historical": metrics.conditional_value_at_risk(r, cutoff=cutoff),
        "var_parametric": metrics.parametric_var(r, cutoff=cutoff),
        "cvar_parametric": metrics.parametric_cvar(r, cutoff=cutoff),
    }
    if benchmark is not None:
        b = np.asarray(benchmark, dtype=np.float64)
        if b.shape != r.shape:
            raise ValueError(f"{r.size} returns but {b.size} benchmark returns")
        alpha, beta = metrics.alpha_beta(r, b, risk_free=risk_free, periods=periods)
        both = np.isfinite(r) & np.isfinite(b)
        corr = (
            float(np.corrcoef(r[both], b[both])[0, 1])
            if both.sum() > 2 and r[both].std() > 0 and b[both].std() > 0
            else math.nan
        )
        values |= {
            "alpha": alpha,
            "beta": beta,
            "excess_sharpe": metrics.excess_sharpe(r, b),
            "correlation": corr,
        }
    return RiskReport(
        values={k: _float(v) for k, v in values.items()},
        drawdown=details,
        observations=int(np.isfinite(r).sum()),
    )
