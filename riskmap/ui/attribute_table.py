"""Attribute table: a table model over a layer's GeoDataFrame and a dock showing it.

Sorting and filtering are done by the model with pandas/numpy on whole columns (a
:class:`QSortFilterProxyModel` would call Python ``data()`` millions of times on a
large layer). The table's selection and the layer's selection are kept in step both
ways: selecting rows selects the features (the canvas highlights them) and selecting
on the map selects the rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from PyQt5.QtCore import QItemSelection, QItemSelectionModel, Qt
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from riskmap.i18n import tr
from riskmap.ui.map_tools import format_value
from riskmap.ui.table_model import ArrayTableModel


class FeatureTableModel(ArrayTableModel):
    """Rows are features of a :class:`~riskmap.layers.VectorLayer` (in sort/filter order).

    ``feature_at_row(row)`` and ``row_of_feature(index)`` map between table rows and
    positional feature indices (sorting and filtering: :class:`~riskmap.ui.table_model.ArrayTableModel`).
    """

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.layer = layer
        self._load()

    # -- data ---------------------------------------------------------------
    def _load(self) -> None:
        gdf = self.layer.gdf
        self.columns = list(self.layer.fields)
        self.set_arrays([gdf[c].to_numpy() for c in self.columns],
                        [pd.api.types.is_numeric_dtype(gdf[c]) and not pd.api.types.is_bool_dtype(gdf[c])
                         for c in self.columns], n=len(gdf))

    def sort_series(self, column: int) -> pd.Series:
        return self.layer.gdf[self.columns[column]]

    def text_column(self, column: int) -> np.ndarray:
        return self.layer.gdf[self.columns[column]].astype(str).str.lower().to_numpy()

    def reload(self) -> None:
        """Re-read the layer (after its data changed), keeping sort and filter."""
        self.beginResetModel()
        self._load()
        self.endResetModel()

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return format_value(self._values[index.column()][self._order[index.row()]])
        if role == Qt.TextAlignmentRole and self._numeric[index.column()]:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal:
            if section >= len(self.columns):
                return None
            name = self.columns[section]
            if role == Qt.DisplayRole:
                return self.layer.aliases.get(name, name)
            if role == Qt.ToolTipRole:
                return name
            return None
        if role == Qt.DisplayRole and section < len(self._order):
            return str(int(self._order[section]) + 1)
        return None

    # -- rows ↔ features ----------------------------------------------------------
    feature_at_row = ArrayTableModel.source_row
    features_at_rows = ArrayTableModel.source_rows
    row_of_feature = ArrayTableModel.row_of_source
    rows_of_features = ArrayTableModel.rows_of_sources


class AttributeTableDock(QDockWidget):
    """Dock with the attribute table of one vector layer, synchronised with the map selection."""

    def __init__(self, window, layer):
        super().__init__(tr("属性表 — ", "Attributes — ") + layer.name, window)
        self.setObjectName(f"attribute_table_{layer.id}")
        self.setAttribute(Qt.WA_DeleteOnClose, True)
        self.window_ = window
        self.layer = layer
        self._syncing = False

        self.model = FeatureTableModel(layer, self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setAlternatingRowColors(True)
        self.view.doubleClicked.connect(self._zoom_to_row)
        self.view.selectionModel().selectionChanged.connect(self._on_table_selection)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(tr("筛选（任意字段包含）…", "Filter (any field contains)…"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter)
        self.count_label = QLabel(self)
        zoom_btn = QPushButton(tr("缩放到所选", "Zoom to selection"), self)
        zoom_btn.clicked.connect(self.zoom_to_selection)
        clear_btn = QPushButton(tr("清除选择", "Clear selection"), self)
        clear_btn.clicked.connect(lambda: self.layer.select([]))

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(zoom_btn)
        top.addWidget(clear_btn)
        body = QWidget(self)
        box = QVBoxLayout(body)
        box.setContentsMargins(2, 2, 2, 2)
        box.addLayout(top)
        box.addWidget(self.view, 1)
        box.addWidget(self.count_label)
        self.setWidget(body)

        layer.events.selection_changed.connect(self._on_layer_selection)
        layer.events.data_changed.connect(self._on_layer_data)
        self._on_layer_selection(layer=layer)

    # -- table → layer ------------------------------------------------------------
    def _on_table_selection(self, *_):
        if self._syncing:
            return
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        features = self.model.features_at_rows(rows)
        hidden = np.setdiff1d(self.layer.selection, self.model.features_at_rows(range(self.model.rowCount())))
        self._syncing = True
        try:  # features hidden by the filter stay selected
            self.layer.select(np.union1d(features, hidden))
        finally:
            self._syncing = False
        self._update_count()

    # -- layer → table -----------------------------------------------------------------
    def _on_layer_selection(self, layer=None, **_):
        if self._syncing:
            return
        self._syncing = True
        try:
            self.select_rows(self.model.rows_of_features(self.layer.selection))
        finally:
            self._syncing = False
        self._update_count()

    def select_rows(self, rows) -> None:
        """Select table rows (contiguous runs become one range) and show the first."""
        sm = self.view.selectionModel()
        selection = QItemSelection()
        rows = np.asarray(rows, dtype=np.int64)
        last_col = max(self.model.columnCount() - 1, 0)
        if rows.size:
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1
            for run in np.split(rows, breaks):
                selection.select(self.model.index(int(run[0]), 0), self.model.index(int(run[-1]), last_col))
        sm.select(selection, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        if rows.size:
            self.view.scrollTo(self.model.index(int(rows[0]), 0))

    def _on_layer_data(self, **_):
        self.model.reload()
        self._on_layer_selection()

    def _on_filter(self, text: str) -> None:
        self.model.set_filter(text)
        self._on_layer_selection()

    def _update_count(self) -> None:
        self.count_label.setText(tr(f"显示 {self.model.rowCount()} / {len(self.layer)} 个要素，已选 "
                                    f"{self.layer.selection.size} 个",
                                    f"{self.model.rowCount()} of {len(self.layer)} features shown, "
                                    f"{self.layer.selection.size} selected"))

    # -- zoom ------------------------------------------------------------------------
    def _zoom_to_row(self, index) -> None:
        self._zoom_to([self.model.feature_at_row(index.row())])

    def zoom_to_selection(self) -> None:
        if self.layer.selection.size:
            self._zoom_to(self.layer.selection)

    def _zoom_to(self, features) -> None:
        import shapely

        minx, miny, maxx, maxy = shapely.total_bounds(self.layer.display_geoms[np.asarray(features)])
        self.window_.zoom_to((minx, miny, maxx, maxy))

    def closeEvent(self, event):
        self.layer.events.selection_changed.disconnect(self._on_layer_selection)
        self.layer.events.data_changed.disconnect(self._on_layer_data)
        super().closeEvent(event)
