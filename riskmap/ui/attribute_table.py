"""Attribute table: a table model over a layer's GeoDataFrame and a dock showing it.

The dock has an edit session (开始编辑 / 保存编辑 / 放弃编辑): while it is on, cells are edited
in place (type-checked against their field, a wrong value refused with one line in the status
bar and the dock), fields are added and deleted and the 字段计算器 runs; every edit is an undo
command on the window's stack (:mod:`riskmap.ui.attribute_edit`). 放弃编辑 undoes back to the
session's start; 保存编辑 keeps the edits in the project (saved with it).

Sorting and filtering are done by the model with pandas/numpy on whole columns (a
:class:`QSortFilterProxyModel` would call Python ``data()`` millions of times on a
large layer). The table's selection and the layer's selection are kept in step both
ways: selecting rows selects the features (the canvas highlights them) and selecting
on the map selects the rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from PyQt5.QtCore import QItemSelection, QItemSelectionModel, Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QAction,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from riskmap.errors import RiskmapError
from riskmap.i18n import tr
from riskmap.layers.fields import edit_text, is_null, kind_of, parse_text
from riskmap.ui.map_tools import format_value
from riskmap.ui.table_model import ArrayTableModel


class FeatureTableModel(ArrayTableModel):
    """Rows are features of a :class:`~riskmap.layers.VectorLayer` (in sort/filter order).

    ``feature_at_row(row)`` and ``row_of_feature(index)`` map between table rows and
    positional feature indices (sorting, filtering and the row maps:
    :class:`~riskmap.ui.table_model.ArrayTableModel`). With ``editable`` on, a cell's new text is type-checked
    (:func:`riskmap.layers.fields.parse_text`) and handed to ``edit_handler(feature, column,
    value)``, which makes the undoable edit; a refused text emits ``edit_rejected(message)``.
    """

    edit_rejected = pyqtSignal(str)

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.layer = layer
        self.editable = False
        self.edit_handler = None
        self._load()

    # -- data ---------------------------------------------------------------
    def _load(self) -> None:
        gdf = self.layer.gdf
        self.columns = list(self.layer.fields)
        self._n = len(gdf)
        self._values = [gdf[c].to_numpy() for c in self.columns]
        self._read_kinds()
        self._text = None  # lower-cased text of every cell, built on the first filter
        self._order = np.arange(len(gdf), dtype=np.int64)
        self._rows_of = None

    def _read_kinds(self) -> None:
        gdf = self.layer.gdf
        self._numeric = [pd.api.types.is_numeric_dtype(gdf[c]) and not pd.api.types.is_bool_dtype(gdf[c])
                         for c in self.columns]
        self._kinds = [kind_of(gdf[c].dtype) for c in self.columns]

    def reload(self) -> None:
        """Re-read the layer (after its data changed), keeping sort and filter."""
        self.beginResetModel()
        self._load()
        self._apply()
        self.endResetModel()

    def update_fields(self, fields) -> bool:
        """Re-read only the columns ``fields`` (values edited, rows and columns unchanged).

        Rows keep their place (an edited value is not re-sorted away from under the cursor).
        Returns False when a full :meth:`reload` is needed instead.
        """
        if len(self.layer.gdf) != self._n or list(self.layer.fields) != self.columns:
            return False
        gdf = self.layer.gdf
        for name in fields:
            c = self.columns.index(name)
            self._values[c] = gdf[name].to_numpy()
        self._read_kinds()
        self._text = None
        for name in fields:
            c = self.columns.index(name)
            self.dataChanged.emit(self.index(0, c), self.index(max(self.rowCount() - 1, 0), c))
        return True

    def sort_series(self, column: int) -> pd.Series:
        return self.layer.gdf[self.columns[column]]

    def text_column(self, column: int) -> np.ndarray:
        return self.layer.gdf[self.columns[column]].astype(str).str.lower().to_numpy()

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            value = self._values[index.column()][self._order[index.row()]]
            return edit_text(value) if self._kinds[index.column()] == "date" else format_value(value)
        if role == Qt.EditRole:
            return edit_text(self._values[index.column()][self._order[index.row()]])
        if role == Qt.TextAlignmentRole and self._numeric[index.column()]:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def flags(self, index):
        flags = super().flags(index)
        if self.editable and index.isValid() and self._kinds[index.column()] != "other":
            flags |= Qt.ItemIsEditable
        return flags

    def setData(self, index, value, role=Qt.EditRole) -> bool:
        """A cell typed by the user: type-check, then hand it to ``edit_handler`` (an undo command)."""
        if role != Qt.EditRole or not index.isValid() or not self.editable or self.edit_handler is None:
            return False
        column = self.columns[index.column()]
        feature = int(self._order[index.row()])
        try:
            parsed = parse_text(value, self.layer.gdf[column].dtype, column)
        except RiskmapError as exc:
            self.edit_rejected.emit(str(exc))
            return False
        if _unchanged(self._values[index.column()][feature], parsed):
            return False  # the same value: no undo step
        self.edit_handler(feature, column, parsed)
        return True

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


def _unchanged(old, new) -> bool:
    if is_null(old) or is_null(new):
        return is_null(old) and is_null(new)
    try:
        return bool(old == new)
    except (TypeError, ValueError):
        return False


class AttributeTableDock(QDockWidget):
    """Dock with the attribute table of one vector layer, synchronised with the map selection."""

    def __init__(self, window, layer):
        super().__init__(tr("属性表 — ", "Attributes — ") + layer.name, window)
        self.setObjectName(f"attribute_table_{layer.id}")
        self.setAttribute(Qt.WA_DeleteOnClose, True)
        self.window_ = window
        self.layer = layer
        self._syncing = False
        self.editing = False
        self._session = None  # a token the session's undo commands carry
        self._session_start = 0  # undo-stack index when the session started
        self.dialog = None  # the open 添加字段 / 删除字段 / 字段计算器 dialog

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
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.doubleClicked.connect(self._zoom_to_row)
        self.model.edit_handler = self._edit_cell
        self.model.edit_rejected.connect(self.show_message)
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

        self.message_label = QLabel("", self)
        self.message_label.setObjectName("edit_message")
        self.message_label.setStyleSheet("color: #c62828;")
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)

        top = QHBoxLayout()  # one row: the edit tools beside the filter keep the table tall
        top.addWidget(self._build_edit_toolbar())
        top.addWidget(self.filter_edit, 1)
        top.addWidget(zoom_btn)
        top.addWidget(clear_btn)
        body = QWidget(self)
        box = QVBoxLayout(body)
        box.setContentsMargins(2, 2, 2, 2)
        box.addLayout(top)
        box.addWidget(self.view, 1)
        box.addWidget(self.message_label)
        box.addWidget(self.count_label)
        self.setWidget(body)

        layer.events.selection_changed.connect(self._on_layer_selection)
        layer.events.data_changed.connect(self._on_layer_data)
        self._on_layer_selection(layer=layer)

    # -- edit session ----------------------------------------------------------------
    def _build_edit_toolbar(self) -> QToolBar:
        bar = QToolBar(self)
        bar.setObjectName("edit_toolbar")
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        bar.setStyleSheet("QToolBar { border: 0; padding: 0; spacing: 1px; }")
        self.edit_actions: dict[str, QAction] = {}
        for key, zh, en, slot, tip in (
                ("start", "开始编辑", "Start editing", self._on_start_toggled,
                 ("编辑此图层的属性（可撤销）", "Edit this layer's attributes (undoable)")),
                ("save", "保存编辑", "Save edits", self.save_edits,
                 ("保留本次编辑并结束编辑；保存工程时写入工程文件",
                  "Keep the edits and stop editing; saving the project writes them")),
                ("discard", "放弃编辑", "Discard edits", self.discard_edits,
                 ("撤销本次编辑会话的全部修改", "Undo every change of this edit session")),
                (None, None, None, None, None),
                ("add_field", "添加字段", "Add field", self.add_field, ("添加一个新字段", "Add a new field")),
                ("delete_field", "删除字段", "Delete field", self.delete_field,
                 ("删除一个字段（可撤销）", "Delete a field (undoable)")),
                ("calculator", "字段计算器", "Field calculator", self.open_calculator,
                 ("用表达式计算字段值（如 $area）", "Compute a field from an expression (e.g. $area)"))):
            if key is None:
                bar.addSeparator()
                continue
            action = QAction(tr(zh, en), self)
            action.setObjectName(f"edit_{key}")
            action.setToolTip(tr(*tip))
            if key == "start":
                action.setCheckable(True)
                action.triggered.connect(slot)
            else:
                action.triggered.connect(lambda checked=False, f=slot: f())
            bar.addAction(action)
            self.edit_actions[key] = action
        self._update_edit_state()
        return bar

    def _undo_stack(self):
        return self.window_.undo_stack

    def _on_start_toggled(self, checked: bool) -> None:
        if checked:
            self.start_editing()
        elif not self.end_session():
            self.edit_actions["start"].setChecked(True)  # cancelled: still editing

    def start_editing(self) -> None:
        """开始编辑: cells become editable; edits are undo commands from here on."""
        if self.editing:
            return
        self.editing = True
        self._session = object()
        self._session_start = self._undo_stack().index()
        self._update_edit_state()
        self.window_.statusBar().showMessage(tr(f"正在编辑“{self.layer.name}”的属性", f"Editing '{self.layer.name}'"),
                                             5000)

    def _session_commands(self) -> tuple[list, list]:
        """(this session's applied commands, other applied commands since the session started)."""
        stack = self._undo_stack()
        start = min(self._session_start, stack.index())
        mine, others = [], []
        for i in range(start, stack.index()):
            cmd = stack.command(i)
            (mine if getattr(cmd, "session", None) is self._session else others).append(cmd)
        return mine, others

    def has_unsaved_edits(self) -> bool:
        """True while editing with edits that are neither saved nor discarded."""
        return self.editing and bool(self._session_commands()[0])

    def save_edits(self) -> bool:
        """保存编辑: keep the edits (the project is then modified) and stop editing."""
        if not self.editing:
            return False
        if self._session_commands()[0]:
            self.window_.project.modified = True
        self._stop()
        self.window_.statusBar().showMessage(
            tr("已保存编辑；保存工程即写入工程文件", "Edits kept; save the project to write them to its file"), 8000)
        return True

    def discard_edits(self, ask: bool = True) -> bool:
        """放弃编辑: undo back to the session's start and stop editing (False when cancelled)."""
        if not self.editing:
            return False
        stack = self._undo_stack()
        mine, others = self._session_commands()
        if others and ask:
            answer = QMessageBox.question(
                self, tr("放弃编辑", "Discard edits"),
                tr(f"开始编辑之后还有 {len(others)} 项其他修改（如样式），放弃编辑会一并撤销。继续吗？",
                   f"{len(others)} other changes (e.g. styles) were made after editing started; "
                   "discarding undoes them too. Go on?"),
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer != QMessageBox.Yes:
                return False
        stack.setIndex(min(self._session_start, stack.index()))
        self._stop()
        self.window_.statusBar().showMessage(tr("已放弃编辑", "Edits discarded"), 5000)
        return True

    def end_session(self) -> bool:
        """Stop editing; with unsaved edits ask 保存 / 放弃 / 取消. False when cancelled."""
        if not self.editing:
            return True
        if not self.has_unsaved_edits():
            self._stop()
            return True
        answer = QMessageBox.question(
            self, tr("未保存的编辑", "Unsaved edits"),
            tr(f"图层“{self.layer.name}”有未保存的属性编辑。是否保存？",
               f"Layer '{self.layer.name}' has unsaved attribute edits. Keep them?"),
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save_edits()
        if answer == QMessageBox.Discard:
            return self.discard_edits()
        return False

    def stop_editing_silently(self) -> None:
        """End the session keeping its edits, without asking (the layer or the project is going away)."""
        if self.editing:
            self._stop()

    def _stop(self) -> None:
        self.editing = False
        self._session = None
        if self.dialog is not None:
            self.dialog.reject()
        self._update_edit_state()

    def _update_edit_state(self) -> None:
        self.model.editable = self.editing
        self.view.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed
                                  | QAbstractItemView.AnyKeyPressed if self.editing
                                  else QAbstractItemView.NoEditTriggers)
        actions = getattr(self, "edit_actions", {})
        if actions:
            actions["start"].setChecked(self.editing)
            actions["start"].setText(tr("编辑中", "Editing") if self.editing else tr("开始编辑", "Start editing"))
            for key in ("save", "discard", "add_field", "delete_field", "calculator"):
                actions[key].setEnabled(self.editing)
        title = tr("属性表 — ", "Attributes — ") + self.layer.name
        self.setWindowTitle(title + (tr("（编辑中）", " (editing)") if self.editing else ""))
        self.message_label.setVisible(False)

    def show_message(self, text: str) -> None:
        """A refused edit: one line in the dock and in the status bar."""
        self.message_label.setText(text)
        self.message_label.setVisible(True)
        self.window_.statusBar().showMessage(text, 10000)

    def _push(self, command) -> None:
        command.session = self._session
        self.message_label.setVisible(False)
        self._undo_stack().push(command)  # runs redo(): commands are checked when made, never raise here

    def _edit_cell(self, feature: int, column: str, value) -> None:
        from riskmap.ui.attribute_edit import SetValuesCommand

        self._push(SetValuesCommand(self.layer, [feature], column, [value],
                                    text=tr(f"编辑“{self.layer.name}”要素 {feature + 1} 的 {column}",
                                            f"Edit {column} of feature {feature + 1} of '{self.layer.name}'")))

    def _current_field(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.columns[index.column()] if index.isValid() else None

    def _open_dialog(self, dialog, on_accept) -> None:
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = dialog
        dialog.setAttribute(Qt.WA_DeleteOnClose, True)
        dialog.accepted.connect(lambda d=dialog: on_accept(d))
        dialog.finished.connect(lambda *_, d=dialog: setattr(self, "dialog", None) if self.dialog is d else None)
        dialog.open()

    def add_field(self) -> None:
        """添加字段: ask a name and a type (non-blocking dialog), then add the field (undoable)."""
        from riskmap.ui.attribute_edit import AddFieldDialog

        if self.editing:
            self._open_dialog(AddFieldDialog(self.layer, self), lambda d: self._push(d.command()))

    def delete_field(self) -> None:
        """删除字段: choose the field (the current column first), confirm, delete (undoable)."""
        from riskmap.ui.attribute_edit import DeleteFieldCommand, DeleteFieldDialog

        if not self.editing or not self.layer.fields:
            return

        def confirmed(dialog):
            name = dialog.field
            answer = QMessageBox.question(
                self, tr("删除字段", "Delete field"),
                tr(f"删除字段“{name}”及其全部值？（可撤销）", f"Delete field '{name}' and all its values? (undoable)"),
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer == QMessageBox.Yes:
                self._push(DeleteFieldCommand(self.layer, name))

        self._open_dialog(DeleteFieldDialog(self.layer, self._current_field(), self), confirmed)

    def open_calculator(self) -> None:
        """字段计算器: an expression into a new or an existing field (undoable)."""
        from riskmap.ui.attribute_edit import FieldCalculatorDialog

        if self.editing:
            self._open_dialog(FieldCalculatorDialog(self.layer, self), lambda d: self._push(d.result_command))

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

    def _on_layer_data(self, fields=None, **_):
        if not (fields and all(f in self.model.columns for f in fields) and self.model.update_fields(fields)):
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
        if self.editing:  # a double click edits the cell
            return
        self._zoom_to([self.model.feature_at_row(index.row())])

    def zoom_to_selection(self) -> None:
        if self.layer.selection.size:
            self._zoom_to(self.layer.selection)

    def _zoom_to(self, features) -> None:
        import shapely

        minx, miny, maxx, maxy = shapely.total_bounds(self.layer.display_geoms[np.asarray(features)])
        self.window_.zoom_to((minx, miny, maxx, maxy))

    def closeEvent(self, event):
        if self.editing and not self.end_session():
            event.ignore()
            return
        self.layer.events.selection_changed.disconnect(self._on_layer_selection)
        self.layer.events.data_changed.disconnect(self._on_layer_data)
        super().closeEvent(event)
