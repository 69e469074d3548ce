"""Input coercion and output rewrapping for :mod:`nexus.analytics.metrics`.

Every metric takes one of six input kinds and answers in the same kind:

=================  ==============================  ==========================  =================
input kind         assets / rows                   per-asset scalar result     series result
=================  ==============================  ==========================  =================
numpy 1-D          one asset                       ``float``                   1-D ``ndarray``
numpy 2-D          one column per asset            1-D ``ndarray``             2-D ``ndarray``
pandas Series      one asset (index kept)          ``float``                   ``pd.Series``
pandas DataFrame   one column per asset            ``pd.Series`` by column     ``pd.DataFrame``
polars Series      one asset                       ``float``                   ``pl.Series``
polars DataFrame   one column per asset, except    one-row ``pl.DataFrame``    ``pl.DataFrame``
                   the optional ``date`` column    (asset columns only)        (``date`` kept)
=================  ==============================  ==========================  =================

Internally a :class:`Panel` holds the values **asset-major**: a read-only, C-contiguous
float64 array of shape ``(assets, periods)``, so each asset's time series is contiguous.
Scans and reductions then run along the last axis (the fast one), and pandas / polars
frames - which store columns contiguously - convert without a copy. Missing values
(pandas ``NA``, polars ``null``) become ``NaN``.

Row labels are the pandas index, or the polars ``date`` column (:data:`DATE_COLUMN`);
numpy input and polars Series have none (functions that need dates take ``dates=``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl

#: Name of the polars column used as the row (date) index and excluded from the assets.
DATE_COLUMN = "date"

Kind = Literal["numpy1", "numpy2", "pandas_series", "pandas_frame", "polars_series", "polars_frame"]


def _readonly(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class Panel:
    """Asset-major float64 values ``(assets, periods)`` plus what is needed to rewrap them.

    Attributes:
        data: read-only C-contiguous float64 array, one row per asset.
        kind: the input kind (see the module docstring).
        columns: asset names (``pd.Index`` for pandas, a tuple otherwise; positions for numpy).
        index: pandas row index, else None.
        dates: polars ``date`` column, else None.
        name: the Series name (pandas / polars Series), else None.
    """

    data: np.ndarray
    kind: Kind
    columns: Any
    index: pd.Index | None = None
    dates: pl.Series | None = None
    name: Any = None

    @property
    def n(self) -> int:
        """Number of periods (rows), NaN rows included."""
        return int(self.data.shape[1])

    @property
    def k(self) -> int:
        """Number of assets (columns)."""
        return int(self.data.shape[0])

    @property
    def one_d(self) -> bool:
        return self.kind in ("numpy1", "pandas_series", "polars_series")

    # ------------------------------------------------------------------ rewrap
    def scalar(self, values: np.ndarray) -> Any:
        """One value per asset → ``float`` (1-D input) or one value per column."""
        values = np.asarray(values, dtype=np.float64).reshape(self.k)
        if self.one_d:
            return float(values[0])
        if self.kind == "numpy2":
            return values
        if self.kind == "pandas_frame":
            return pd.Series(values, index=self.columns, dtype=np.float64)
        return polars_frame(self.columns, values[:, None])

    def series(self, values: np.ndarray, rows: slice | np.ndarray | None = None) -> Any:
        """``(assets, m)`` values for the rows ``rows`` of the input → the input kind."""
        values = np.asarray(values, dtype=np.float64)
        sel = slice(None) if rows is None else rows
        if self.kind == "numpy1":
            return values[0]
        if self.kind == "numpy2":
            return values.T
        if self.kind == "pandas_series":
            assert self.index is not None
            return pd.Series(values[0], index=self.index[sel], name=self.name)
        if self.kind == "pandas_frame":
            assert self.index is not None
            return pd.DataFrame(values.T, index=self.index[sel], columns=self.columns, copy=False)
        if self.kind == "polars_series":
            return pl.Series(self.name, values[0], dtype=pl.Float64)
        frame = polars_frame(self.columns, values)
        if self.dates is not None:
            frame = frame.insert_column(0, self.dates[sel] if rows is not None else self.dates)
        return frame

    def matrix(self, values: np.ndarray) -> Any:
        """An ``(assets, assets)`` matrix → a square frame of the input kind."""
        if self.kind in ("numpy1", "numpy2"):
            return values
        if self.kind in ("pandas_frame", "pandas_series"):
            names = self.columns if self.kind == "pandas_frame" else pd.Index([self.name])
            return pd.DataFrame(values, index=names, columns=names)
        return polars_frame(self.columns, values)

    # ------------------------------------------------------------------ labels
    def labels(self) -> pd.Index | None:
        """Row labels as a pandas Index (pandas index or polars dates), else None."""
        if self.index is not None:
            return self.index
        if self.dates is not None:
            return pd.Index(self.dates.to_numpy())
        return None

    def label_at(self, position: int) -> Any:
        """The row label at ``position`` (a date for dated input), else the position."""
        if self.index is not None:
            return self.index[position]
        if self.dates is not None:
            return self.dates[position]
        return position

    def dates64(self, dates: Any = None) -> np.ndarray | None:
        """Row dates as ``datetime64[D]``: ``dates`` if given, else the input's date index."""
        if dates is not None:
            out = to_datetime64(dates)
            if len(out) != self.n:
                raise ValueError(f"dates has {len(out)} rows, the data {self.n}")
            return out
        if self.dates is not None:
            return to_datetime64(self.dates)
        if isinstance(self.index, pd.DatetimeIndex):
            return to_datetime64(self.index)
        if self.index is not None and self.index.inferred_type in ("date", "datetime"):
            return to_datetime64(pd.DatetimeIndex(self.index))
        return None


def polars_frame(names: Sequence[Any], columns: np.ndarray) -> pl.DataFrame:
    """A float64 polars frame with one column per row of ``columns`` (assets, rows)."""
    return pl.DataFrame(
        [
            pl.Series(str(name), column, dtype=pl.Float64)
            for name, column in zip(names, columns, strict=True)
        ]
    )


def to_datetime64(dates: Any) -> np.ndarray:
    """Dates (any of: sequence of date/datetime/str, numpy, pandas, polars) → ``datetime64[D]``.

    Timezone-aware pandas timestamps use their local wall-clock date.
    """
    if isinstance(dates, pl.Series):
        return dates.to_numpy().astype("datetime64[D]")
    if isinstance(dates, pd.Series):
        dates = pd.DatetimeIndex(dates)
    if isinstance(dates, pd.DatetimeIndex):
        if dates.tz is not None:
            dates = dates.tz_localize(None)
        return dates.to_numpy().astype("datetime64[D]")
    if isinstance(dates, np.ndarray) and np.issubdtype(dates.dtype, np.datetime64):
        return dates.astype("datetime64[D]")
    items = list(dates)
    if items and isinstance(items[0], dt.datetime):
        items = [d.date() for d in items]
    return np.asarray(items, dtype="datetime64[D]")


def _float_matrix(frame: pd.DataFrame) -> np.ndarray:
    if all(d == np.float64 for d in frame.dtypes):
        return frame.to_numpy()
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def as_panel(x: Any, what: str = "returns") -> Panel:
    """Coerce any supported input to a :class:`Panel` (see the module docstring).

    Raises:
        TypeError: an unsupported type, or a non-numeric polars asset column.
        ValueError: an array with more than two dimensions.
    """
    if isinstance(x, Panel):
        return x
    if isinstance(x, pd.Series):
        data = x.to_numpy(dtype=np.float64, na_value=np.nan)[None, :]
        return Panel(_readonly(data), "pandas_series", (x.name,), index=x.index, name=x.name)
    if isinstance(x, pd.DataFrame):
        data = np.ascontiguousarray(_float_matrix(x).T)
        return Panel(_readonly(data), "pandas_frame", x.columns, index=x.index)
    if isinstance(x, pl.Series):
        data = x.cast(pl.Float64).to_numpy()[None, :]
        return Panel(_readonly(np.ascontiguousarray(data)), "polars_series", (x.name,), name=x.name)
    if isinstance(x, pl.DataFrame):
        dates = x.get_column(DATE_COLUMN) if DATE_COLUMN in x.columns else None
        assets = [c for c in x.columns if c != DATE_COLUMN]
        bad = [c for c in assets if not x.schema[c].is_numeric()]
        if bad:
            raise TypeError(f"{what}: non-numeric columns {bad} (only '{DATE_COLUMN}' may be)")
        if assets:
            matrix = x.select(pl.col(assets).cast(pl.Float64)).to_numpy(order="fortran")
            data = np.ascontiguousarray(matrix.T)
        else:
            data = np.empty((0, x.height))
        return Panel(_readonly(data), "polars_frame", tuple(assets), dates=dates)
    if isinstance(x, np.ndarray | Sequence) and not isinstance(x, str | bytes):
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim == 1:
            return Panel(_readonly(arr[None, :]), "numpy1", (0,))
        if arr.ndim == 2:
            data = np.ascontiguousarray(arr.T)
            return Panel(_readonly(data), "numpy2", tuple(range(arr.shape[1])))
        raise ValueError(f"{what}: expected a 1-D or 2-D array, got {arr.ndim}-D")
    raise TypeError(f"{what}: unsupported type {type(x).__name__}")


def align(panel: Panel, other: Any, what: str) -> np.ndarray:
    """A second operand (factor returns, flows, risk-free rate) shaped to ``panel``.

    Returns a float64 array that broadcasts against ``panel.data``: ``(1, 1)`` for a
    scalar, ``(1, n)`` for a single series, ``(k, n)`` for a frame with ``k`` columns.
    When both sides carry row labels (pandas index or polars ``date`` column) ``other`` is
    matched to ``panel``'s rows by label and rows it lacks are NaN (the left join of
    empyrical's outer-join alignment: rows ``panel`` lacks would be NaN there anyway).
    Otherwise the lengths must agree.

    Raises:
        ValueError: lengths or column counts that do not match.
    """
    if isinstance(other, int | float | np.integer | np.floating):
        return np.full((1, 1), float(other))
    op = as_panel(other, what)
    data = op.data
    mine, theirs = panel.labels(), op.labels()
    if mine is not None and theirs is not None and not mine.equals(theirs):
        if isinstance(mine, pd.DatetimeIndex) or isinstance(theirs, pd.DatetimeIndex):
            mine, theirs = pd.DatetimeIndex(mine), pd.DatetimeIndex(theirs)
        if not theirs.is_unique:
            raise ValueError(f"{what}: row labels are not unique")
        where = theirs.get_indexer(mine)
        data = np.where(where >= 0, data[:, np.maximum(where, 0)] if op.n else np.nan, np.nan)
    elif op.n != panel.n:
        raise ValueError(f"{what}: {op.n} rows, expected {panel.n}")
    if op.k not in (1, panel.k):
        raise ValueError(f"{what}: {op.k} columns, expected 1 or {panel.k}")
    if op.k == panel.k and op.k > 1 and not op.one_d and not panel.one_d:
        mine_cols, their_cols = list(panel.columns), list(op.columns)
        if set(mine_cols) == set(their_cols) and mine_cols != their_cols:
            order = {c: i for i, c in enumerate(their_cols)}
            data = data[[order[c] for c in mine_cols]]
    return data
