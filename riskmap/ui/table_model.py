"""Fast table models over whole columns: the one table model of the attribute table and the panels.

A :class:`QSortFilterProxyModel` sorts by calling Python ``data()`` for every row, and
``ResizeToContents`` formats every cell to measure it: on 100,000 rows either freezes the
window for seconds. Here the rows are a permutation (``_order``) of the source rows, computed
by one stable whole-column sort (numpy/pandas) and one vectorised substring filter; ``data()``
formats only the cells the view paints.

- :class:`ArrayTableModel` is the base: numpy columns, sort, filter, rows ↔ source rows, and
  persistent indexes (the selection, the current row) that follow their rows through a sort.
- :class:`ResultTableModel` shows :class:`Column` s (values, a formatter, a sort key, colours)
  under fixed headers: the analysis panels' result tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from PyQt5.QtCore import QAbstractItemModel, QAbstractTableModel, QModelIndex, Qt
from PyQt5.QtGui import QBrush, QColor

from riskmap.ui.map_tools import format_value


def _is_numeric(values) -> bool:
    dtype = getattr(values, "dtype", None)
    return dtype is not None and dtype.kind in "iuf"


class ArrayTableModel(QAbstractTableModel):
    """Rows over numpy columns (``_values``), in sort/filter order (``_order``).

    Subclasses fill the columns with :meth:`set_arrays` and implement ``data()`` and
    ``headerData()``; sorting (:meth:`sort`, what a header click calls) and filtering
    (:meth:`set_filter`) are whole-column operations. ``source_row(row)`` and
    ``row_of_source(i)`` map between table rows and positions in the columns.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sort_column: int | None = None
        self.sort_order = Qt.AscendingOrder
        self.filter_text = ""
        self._values: list = []
        self._numeric: list[bool] = []
        self._n = 0
        self._text = None  # lower-cased text of every cell, built on the first filter
        self._order = np.zeros(0, dtype=np.int64)
        self._rows_of = None

    # -- columns ------------------------------------------------------------------
    def set_arrays(self, values, numeric=None, n: int | None = None) -> None:
        """Use ``values`` as the columns and re-apply the sort and the filter.

        Callers wrap this in a model reset (or :meth:`relayout`).

        Parameters
        ----------
        values : list of array-like
            One array per column, all of one length (lists become object arrays).
        numeric : list of bool, optional
            Right-align a column (default: arrays of an integer or float dtype).
        n : int, optional
            The number of rows (default: the length of the first column; needed when there are none).
        """
        self._values = [v if isinstance(v, np.ndarray) else np.asarray(v, dtype=object) for v in values]
        self._numeric = list(numeric) if numeric is not None else [_is_numeric(v) for v in self._values]
        self._n = int(n if n is not None else (len(self._values[0]) if self._values else 0))
        self._text = None
        self._apply()

    def source_count(self) -> int:
        """Rows of the columns (before the filter)."""
        return self._n

    def sort_series(self, column: int) -> pd.Series:
        """The values column ``column`` sorts by (subclasses give sort keys or typed columns)."""
        return pd.Series(self._values[column])

    def text_column(self, column: int) -> np.ndarray:
        """Lower-cased text of one column, for the filter."""
        return pd.Series(self._values[column]).astype(str).str.lower().to_numpy()

    # -- Qt model ---------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self._values)

    # -- rows ↔ source rows ---------------------------------------------------------------
    def source_row(self, row: int) -> int:
        return int(self._order[row])

    def source_rows(self, rows) -> np.ndarray:
        rows = np.asarray(list(rows), dtype=np.int64)
        return self._order[rows] if rows.size else np.zeros(0, np.int64)

    def row_of_source(self, source: int) -> int:
        """Table row showing source row ``source``, or -1 when it is filtered out."""
        rows = self._row_lookup()
        return int(rows[source]) if 0 <= source < len(rows) else -1

    def rows_of_sources(self, sources) -> np.ndarray:
        """Table rows (sorted) of the source rows that are shown."""
        rows = self._row_lookup()
        sources = np.asarray(sources, dtype=np.int64)
        sources = sources[(sources >= 0) & (sources < len(rows))]
        out = rows[sources]
        return np.sort(out[out >= 0])

    def _row_lookup(self) -> np.ndarray:
        if self._rows_of is None:
            rows = np.full(self._n, -1, dtype=np.int64)
            rows[self._order] = np.arange(len(self._order))
            self._rows_of = rows
        return self._rows_of

    # -- sort and filter -------------------------------------------------------------
    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """Sort by one column (stable; empty values last), keeping the selection on its rows."""
        self.sort_column, self.sort_order = column, order
        self.relayout(self._apply)

    def set_filter(self, text: str) -> None:
        """Show only rows with ``text`` in any column (case-insensitive)."""
        self.beginResetModel()
        self.filter_text = (text or "").strip()
        self._apply()
        self.endResetModel()

    def relayout(self, change: Callable[[], None]) -> None:
        """Run ``change()`` (which may reorder rows) as a layout change: persistent indexes (selection,
        current row, editors) move with their source rows."""
        self.layoutAboutToBeChanged.emit([], QAbstractItemModel.VerticalSortHint)
        old = self.persistentIndexList()
        order = self._order
        sources = [int(order[i.row()]) if 0 <= i.row() < len(order) else -1 for i in old]
        change()
        lookup = self._row_lookup()
        new = []
        for src, index in zip(sources, old):
            row = int(lookup[src]) if 0 <= src < len(lookup) else -1
            new.append(self.index(row, index.column()) if row >= 0 else QModelIndex())
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit([], QAbstractItemModel.VerticalSortHint)

    def _apply(self) -> None:
        n = self._n
        order = np.arange(n, dtype=np.int64)
        if self.sort_column is not None and 0 <= self.sort_column < len(self._values) and n:
            series = self.sort_series(self.sort_column).reset_index(drop=True)
            ascending = self.sort_order == Qt.AscendingOrder
            try:
                ranked = series.sort_values(ascending=ascending, na_position="last", kind="mergesort")
            except TypeError:  # mixed types: sort by text
                ranked = series.astype(str).sort_values(ascending=ascending, kind="mergesort")
            order = ranked.index.to_numpy(dtype=np.int64)
        if self.filter_text and n:
            if self._text is None:
                self._text = [self.text_column(c) for c in range(len(self._values))]
            needle = self.filter_text.lower()
            mask = np.zeros(n, dtype=bool)
            for col in self._text:
                mask |= pd.Series(col).str.contains(needle, regex=False).to_numpy(dtype=bool, na_value=False)
            order = order[mask[order]]
        self._order = order
        self._rows_of = None


# ---------------------------------------------------------------------------
# result tables of the panels
# ---------------------------------------------------------------------------
@dataclass
class Column:
    """One column of a result table.

    Parameters
    ----------
    values : array-like
        One value per row (kept as a numpy array; never copied cell by cell).
    fmt : callable, optional
        ``fmt(value) -> str`` for the cell text (default :func:`~riskmap.ui.map_tools.format_value`);
        called only for the cells painted.
    key : array-like, optional
        Sort key per row (default: ``values``); NaN / None sort last.
    background, foreground : array-like, optional
        A colour (``"#rrggbb"``) per row, or ``None`` / ``""`` for none.
    align_right : bool, optional
        Right-align the cells (default: numeric columns).
    """

    values: Any
    fmt: Callable[[Any], str] | None = None
    key: Any = None
    background: Any = None
    foreground: Any = None
    align_right: bool | None = None


def _as_array(values) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, (pd.Series, pd.Index)):
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            return values.to_numpy(dtype=float, na_value=np.nan)
        return values.to_numpy(dtype=object)
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


class ResultTableModel(ArrayTableModel):
    """A result table under fixed headers: :class:`Column` s set whole by :meth:`set_columns`."""

    def __init__(self, headers, parent=None):
        super().__init__(parent)
        self.headers = list(headers)
        self.columns: list[Column] = []
        self._keys: list = []
        self._brushes: dict = {}
        self.set_arrays([np.zeros(0, dtype=object) for _ in self.headers])

    def set_columns(self, columns, keep_selection: bool = False) -> None:
        """Show ``columns``; the sort and the filter are kept.

        Parameters
        ----------
        columns : list of Column or array-like
            One per header, all of one length (an array is ``Column(array)``).
        keep_selection : bool
            The same rows with new values (a what-if edit): a layout change, so the selected and
            current rows stay on their source rows. Otherwise the model is reset (new rows).

        Raises
        ------
        ValueError
            When the number of columns is not the number of headers.
        """
        columns = [c if isinstance(c, Column) else Column(c) for c in columns]
        if len(columns) != len(self.headers):
            raise ValueError(f"{len(columns)} columns for {len(self.headers)} headers")

        def change():
            self.columns = columns
            values = [_as_array(c.values) for c in columns]
            self._keys = [None if c.key is None else _as_array(c.key) for c in columns]
            for c, v in zip(columns, values):
                for name in ("background", "foreground"):
                    colours = getattr(c, name)
                    if colours is not None:
                        setattr(c, name, _as_array(colours))
            numeric = [(c.align_right if c.align_right is not None else _is_numeric(v))
                       for c, v in zip(columns, values)]
            self.set_arrays(values, numeric)

        if keep_selection and self.rowCount():
            self.relayout(change)
            if self.rowCount():
                self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))
        else:
            self.beginResetModel()
            change()
            self.endResetModel()

    def sort_series(self, column: int) -> pd.Series:
        key = self._keys[column] if column < len(self._keys) else None
        if key is not None:
            return pd.Series(key)
        values = pd.Series(self._values[column])
        if column < len(self.columns) and self.columns[column].fmt is str and len(values):
            # a table filled row by row with texts: numbers written as text ("1,250", "3.2e-06") sort as numbers
            text = values.astype(str).str.replace(",", "", regex=False).str.strip()
            filled = text != ""
            numbers = pd.to_numeric(text.where(filled), errors="coerce")
            if filled.any() and numbers.notna().sum() == filled.sum():
                return numbers
        return values

    def text_column(self, column: int) -> np.ndarray:
        values = self._values[column]
        fmt = self.columns[column].fmt if column < len(self.columns) else None
        text = [(fmt or format_value)(v) for v in values]  # once, on the first filter
        return pd.Series(text, dtype=object).str.lower().to_numpy()

    def set_row_texts(self, source: int, values, color=None) -> None:
        """Set the texts of source row ``source`` of a table of text columns (filled row by row); ``color``
        tints its second cell."""
        for col, value in enumerate(values):
            self._values[col][source] = "" if value is None else str(value)
        if color and len(self.columns) > 1 and self.columns[1].background is not None:
            self.columns[1].background[source] = color
        self._text = None
        row = self.row_of_source(source)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def text(self, row: int, column: int) -> str:
        """The text of the cell at table row ``row``."""
        value = self._values[column][self._order[row]]
        fmt = self.columns[column].fmt if column < len(self.columns) else None
        return (fmt or format_value)(value)

    def _brush(self, colour):
        if colour is None or (isinstance(colour, float) and colour != colour) or colour == "":
            return None
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = QBrush(QColor(str(colour)))
        return brush

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        col = index.column()
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return self.text(index.row(), col)
        if role == Qt.TextAlignmentRole and self._numeric[col]:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role in (Qt.BackgroundRole, Qt.ForegroundRole) and col < len(self.columns):
            colours = self.columns[col].background if role == Qt.BackgroundRole else self.columns[col].foreground
            if colours is not None:
                return self._brush(colours[self._order[index.row()]])
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802 - Qt's name
        if orientation == Qt.Horizontal and role in (Qt.DisplayRole, Qt.ToolTipRole) \
                and 0 <= section < len(self.headers):
            return self.headers[section]
        return None


__all__ = ["ArrayTableModel", "Column", "ResultTableModel"]
