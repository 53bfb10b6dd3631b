"""Attribute editing: undo commands, 添加字段 / 删除字段 dialogs and the 字段计算器 (field calculator).

Every edit is a :class:`QUndoCommand` on the window's undo stack that changes the layer only
through its Qt-free edit methods (:meth:`~riskmap.layers.VectorLayer.set_values`, ``add_field``,
``delete_field``), so the map, the other views, the autosave journal and the project see it.
Commands remember exactly what they replaced (values, dtype, position, alias), so an undo
restores the old column bit for bit, NaN and dtype included.
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QCheckBox,
    QUndoCommand,
    QVBoxLayout,
)

from riskmap.errors import RiskmapError
from riskmap.i18n import tr
from riskmap.layers import expressions
from riskmap.layers.fields import (
    NEW_FIELD_KINDS,
    check_new_name,
    convert_values,
    edit_text,
    empty_column,
    kind_of,
)

#: Rows the field calculator previews.
PREVIEW_ROWS = 5
_ERROR_STYLE = "color: #c62828;"


class SetValuesCommand(QUndoCommand):
    """Undoable write of values into one field of some features (a cell edit, a calculator run)."""

    def __init__(self, layer, features, column: str, values, text: str | None = None, session=None):
        super().__init__(text or tr(f"编辑“{layer.name}”的字段 {column}", f"Edit field {column} of '{layer.name}'"))
        self.layer, self.column, self.session = layer, column, session
        self.features = np.asarray(features, dtype=np.int64)
        old = layer.gdf[column]
        self.old_dtype = old.dtype
        self.old_values = old.iloc[self.features].array.copy()
        self.new_values = values

    def redo(self):
        self.layer.set_values(self.features, self.column, self.new_values)

    def undo(self):
        self.layer.set_values(self.features, self.column, self.old_values, dtype=self.old_dtype)


class AddFieldCommand(QUndoCommand):
    """Undoable new field (empty, or holding the field calculator's results)."""

    def __init__(self, layer, name: str, values, text: str | None = None, session=None):
        name = check_new_name(name, layer.gdf.columns)  # refused here, never inside redo()
        super().__init__(text or tr(f"为“{layer.name}”添加字段 {name}", f"Add field {name} to '{layer.name}'"))
        self.layer, self.name, self.values, self.session = layer, name, values, session

    def redo(self):
        self.layer.add_field(self.name, self.values)

    def undo(self):
        self.layer.delete_field(self.name)


class DeleteFieldCommand(QUndoCommand):
    """Undoable removal of a field; undo puts the same column back where it was, with its alias."""

    def __init__(self, layer, name: str, session=None):
        super().__init__(tr(f"删除“{layer.name}”的字段 {name}", f"Delete field {name} of '{layer.name}'"))
        self.layer, self.name, self.session = layer, name, session
        self.alias = layer.aliases.get(name)
        self.position, self.column = None, None

    def redo(self):
        self.position, self.column = self.layer.delete_field(self.name)
        self.layer.aliases.pop(self.name, None)

    def undo(self):
        self.layer.add_field(self.name, self.column, position=self.position)
        if self.alias is not None:
            self.layer.aliases[self.name] = self.alias


def _error_label(parent) -> QLabel:
    label = QLabel("", parent)
    label.setObjectName("error_label")
    label.setStyleSheet(_ERROR_STYLE)
    label.setWordWrap(True)
    return label


def _kind_combo(parent) -> QComboBox:
    combo = QComboBox(parent)
    for kind, labels in NEW_FIELD_KINDS.items():
        combo.addItem(tr(*labels), kind)
    return combo


class AddFieldDialog(QDialog):
    """添加字段: a name (checked against the layer's fields, ignoring case) and a type."""

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr(f"添加字段 — {layer.name}", f"Add field — {layer.name}"))
        self.layer = layer
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("field_name")
        self.kind_combo = _kind_combo(self)
        self.error_label = _error_label(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(tr("字段名：", "Name:"), self.name_edit)
        form.addRow(tr("类型：", "Type:"), self.kind_combo)
        form.addRow(self.error_label)
        form.addRow(self.buttons)
        self.name = None

    def accept(self):
        try:
            self.name = check_new_name(self.name_edit.text(), self.layer.gdf.columns)
        except RiskmapError as exc:
            self.error_label.setText(str(exc))
            return
        super().accept()

    def command(self, session=None) -> AddFieldCommand:
        """The undo command adding the field chosen."""
        kind = self.kind_combo.currentData()
        return AddFieldCommand(self.layer, self.name, empty_column(kind, len(self.layer)), session=session)


class DeleteFieldDialog(QDialog):
    """删除字段: which field (the table's current column first); the dock asks to confirm."""

    def __init__(self, layer, current: str | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr(f"删除字段 — {layer.name}", f"Delete field — {layer.name}"))
        self.layer = layer
        self.field_combo = QComboBox(self)
        for name in layer.fields:
            alias = layer.aliases.get(name)
            self.field_combo.addItem(f"{name}（{alias}）" if alias else name, name)
        if current in layer.fields:
            self.field_combo.setCurrentIndex(layer.fields.index(current))
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(tr("字段：", "Field:"), self.field_combo)
        form.addRow(self.buttons)

    @property
    def field(self) -> str | None:
        return self.field_combo.currentData()


#: (text inserted, description) of the calculator's function list; "(" ends a function.
FUNCTIONS = (
    ("$area", ("面积（平方米，椭球面）", "area (m², on the ellipsoid)")),
    ("$length", ("长度或周长（米，椭球面）", "length or perimeter (m, on the ellipsoid)")),
    ("$id", ("要素序号（从 0 起）", "feature number (from 0)")),
    ("round(", ("四舍五入 round(x, 位数)", "round(x, digits)")),
    ("abs(", ("绝对值", "absolute value")),
    ("sqrt(", ("平方根", "square root")),
    ("min(", ("较小值 min(a, b)", "smaller of a, b")),
    ("max(", ("较大值 max(a, b)", "larger of a, b")),
    ("to_int(", ("转为整数", "to integer")),
    ("to_real(", ("转为小数", "to decimal")),
    ("to_string(", ("转为文本", "to text")),
    ("upper(", ("大写", "upper case")),
    ("lower(", ("小写", "lower case")),
    ("length(", ("文本长度", "text length")),
    ("substr(", ("截取 substr(文本, 起始, 长度)", "substr(text, start, length)")),
    ("concat(", ("连接文本", "join texts")),
    ("coalesce(", ("第一个非空值", "first non-null value")),
    ("if(", ("if(条件, 是, 否)", "if(condition, then, else)")),
    ("CASE WHEN  THEN  ELSE  END", ("多条件分支", "conditions")),
)


class FieldCalculatorDialog(QDialog):
    """字段计算器: an expression of the safe expression language written into a new or an existing field.

    The expression is parsed by :mod:`riskmap.layers.expressions` (never ``eval``); a parse or
    evaluation error is shown in the dialog and nothing is written. With 仅选中要素 ticked,
    only the selected features get the results (a new field is null elsewhere).
    """

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr(f"字段计算器 — {layer.name}", f"Field calculator — {layer.name}"))
        self.layer = layer
        self.resize(640, 480)

        self.new_radio = QRadioButton(tr("新建字段", "New field"), self)
        self.existing_radio = QRadioButton(tr("更新现有字段", "Update existing field"), self)
        group = QButtonGroup(self)
        group.addButton(self.new_radio)
        group.addButton(self.existing_radio)
        self.new_radio.setChecked(True)
        self.new_name = QLineEdit(self)
        self.new_name.setObjectName("new_field_name")
        self.new_kind = _kind_combo(self)
        self.new_kind.setCurrentIndex(list(NEW_FIELD_KINDS).index("float"))
        self.existing_combo = QComboBox(self)
        for name in layer.fields:
            if kind_of(layer.gdf[name].dtype) != "other":
                self.existing_combo.addItem(name, name)
        n_sel = int(layer.selection.size)
        self.selected_only = QCheckBox(tr(f"仅选中要素（{n_sel} 个）", f"Selected features only ({n_sel})"), self)
        self.selected_only.setEnabled(n_sel > 0)

        self.expr_edit = QLineEdit(self)
        self.expr_edit.setObjectName("expression")
        self.expr_edit.setPlaceholderText(tr("例如 $area / 10000 或 \"safe_dist\" * 2",
                                             "e.g. $area / 10000 or \"safe_dist\" * 2"))
        self.field_list = QListWidget(self)
        self.field_list.setObjectName("field_list")
        for name in layer.fields:
            alias = layer.aliases.get(name)
            item = QListWidgetItem(f"{name}（{alias}）" if alias else name)
            item.setData(Qt.UserRole, '"' + name.replace('"', '""') + '"')
            self.field_list.addItem(item)
        self.function_list = QListWidget(self)
        self.function_list.setObjectName("function_list")
        for text, labels in FUNCTIONS:
            item = QListWidgetItem(f"{text.rstrip('(') if text.endswith('(') else text} — {tr(*labels)}")
            item.setData(Qt.UserRole, text)
            self.function_list.addItem(item)
        self.field_list.itemDoubleClicked.connect(self._insert_item)
        self.function_list.itemDoubleClicked.connect(self._insert_item)
        self.preview_list = QListWidget(self)
        self.preview_list.setObjectName("preview")
        self.error_label = _error_label(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        grid = QGridLayout()
        grid.addWidget(self.new_radio, 0, 0)
        grid.addWidget(self.new_name, 0, 1)
        grid.addWidget(self.new_kind, 0, 2)
        grid.addWidget(self.existing_radio, 1, 0)
        grid.addWidget(self.existing_combo, 1, 1, 1, 2)
        lists = QGridLayout()
        lists.addWidget(QLabel(tr("字段（双击插入）", "Fields (double-click inserts)"), self), 0, 0)
        lists.addWidget(QLabel(tr("函数（双击插入）", "Functions (double-click inserts)"), self), 0, 1)
        lists.addWidget(self.field_list, 1, 0)
        lists.addWidget(self.function_list, 1, 1)
        box = QVBoxLayout(self)
        box.addLayout(grid)
        box.addWidget(self.selected_only)
        box.addWidget(QLabel(tr("表达式：", "Expression:"), self))
        box.addWidget(self.expr_edit)
        box.addLayout(lists, 1)
        box.addWidget(QLabel(tr(f"预览（前 {PREVIEW_ROWS} 个要素）：", f"Preview (first {PREVIEW_ROWS} features):"),
                                self))
        box.addWidget(self.preview_list)
        box.addWidget(self.error_label)
        box.addWidget(self.buttons)

        for signal in (self.expr_edit.textChanged, self.new_name.textChanged, self.selected_only.toggled,
                       self.new_radio.toggled, self.existing_combo.currentIndexChanged,
                       self.new_kind.currentIndexChanged):
            signal.connect(lambda *_: self.update_preview())
        self.update_preview()

    # -- building the expression ------------------------------------------------------
    def _insert_item(self, item) -> None:
        self.expr_edit.insert(item.data(Qt.UserRole))
        self.expr_edit.setFocus()

    # -- target and features ------------------------------------------------------------
    def target(self) -> tuple[str, str, bool]:
        """(field name, kind, is new); raises :class:`RiskmapError` for a bad new name."""
        if self.new_radio.isChecked():
            return check_new_name(self.new_name.text(), self.layer.gdf.columns), self.new_kind.currentData(), True
        name = self.existing_combo.currentData()
        if name is None:
            raise RiskmapError(tr("没有可更新的字段", "there is no field to update"))
        return name, kind_of(self.layer.gdf[name].dtype), False

    def features(self) -> np.ndarray:
        """The features written: the selection when 仅选中要素 is ticked, else all."""
        if self.selected_only.isChecked() and self.layer.selection.size:
            return np.asarray(self.layer.selection, dtype=np.int64)
        return np.arange(len(self.layer), dtype=np.int64)

    # -- preview ------------------------------------------------------------------------
    def update_preview(self) -> bool:
        """Evaluate the expression on the first features; show the values or the error. True when valid."""
        self.preview_list.clear()
        ok = False
        try:
            name, kind, _ = self.target()
            text = self.expr_edit.text()
            expressions.parse(text)  # a grammar error is told before anything is evaluated
            rows = self.features()[:PREVIEW_ROWS]
            values = convert_values(expressions.evaluate(text, self.layer.gdf.iloc[rows]), kind, name)
            for feature, value in zip(rows, values):
                self.preview_list.addItem(f"{int(feature) + 1}：{edit_text(value) or tr('（空）', '(null)')}")
            self.error_label.setText("")
            ok = True
        except RiskmapError as exc:
            self.error_label.setText(str(exc))
        self.ok_button.setEnabled(ok)
        return ok

    # -- running ----------------------------------------------------------------------
    def accept(self):
        if not self.update_preview():
            return
        QApplication.setOverrideCursor(Qt.WaitCursor)  # $area over a large layer takes a moment
        try:
            self.result_command = self.command()
        except RiskmapError as exc:
            self.error_label.setText(str(exc))
            self.ok_button.setEnabled(False)
            return
        finally:
            QApplication.restoreOverrideCursor()
        super().accept()

    def command(self, session=None) -> QUndoCommand:
        """Evaluate over the layer and return the undo command writing the results."""
        name, kind, is_new = self.target()
        features = self.features()
        subset = self.layer.gdf if len(features) == len(self.layer) else self.layer.gdf.iloc[features]
        values = convert_values(expressions.evaluate(self.expr_edit.text(), subset), kind, name)
        text = tr(f"字段计算器：{name} = {self.expr_edit.text()}", f"Field calculator: {name} = {self.expr_edit.text()}")
        if is_new:
            column = empty_column(kind, len(self.layer))
            column.iloc[features] = values.array
            return AddFieldCommand(self.layer, name, column, text=text, session=session)
        return SetValuesCommand(self.layer, features, name, values.array, text=text, session=session)


__all__ = ["SetValuesCommand", "AddFieldCommand", "DeleteFieldCommand", "AddFieldDialog", "DeleteFieldDialog",
           "FieldCalculatorDialog"]
