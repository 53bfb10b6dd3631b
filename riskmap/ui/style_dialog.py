"""Layer style dialog: colour, size, width; single / categorised / graduated; raster ramps and hillshade."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from PyQt5.QtGui import QColor, QIcon, QPixmap
from PyQt5.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QUndoCommand,
    QVBoxLayout,
)

from riskmap.i18n import tr
from riskmap.layers import RasterLayer, Style, categorized, graduated
from riskmap.layers.style import RAMPS

#: Most categories a categorised style offers (more distinct values → use graduated).
MAX_CATEGORIES = 50


class SetStyleCommand(QUndoCommand):
    """Undoable style change."""

    def __init__(self, layer, new_style: Style):
        super().__init__(tr(f"修改“{layer.name}”的样式", f"Change style of '{layer.name}'"))
        self.layer = layer
        self.old = dataclasses.replace(layer.style)
        self.new = new_style

    def redo(self):
        self.layer.style = dataclasses.replace(self.new)

    def undo(self):
        self.layer.style = dataclasses.replace(self.old)


class ColorButton(QPushButton):
    """A button showing a colour; clicking picks another."""

    def __init__(self, colour: str, parent=None):
        super().__init__(parent)
        self.clicked.connect(self._pick)
        self.set_color(colour)

    def set_color(self, colour: str) -> None:
        self.color = QColor(colour).name()
        pix = QPixmap(28, 14)
        pix.fill(QColor(self.color))
        self.setIcon(QIcon(pix))
        self.setText(self.color)

    def _pick(self):
        chosen = QColorDialog.getColor(QColor(self.color), self, tr("选择颜色", "Choose colour"))
        if chosen.isValid():
            self.set_color(chosen.name())


class StyleDialog(QDialog):
    """Edit a layer's :class:`~riskmap.layers.Style`; :meth:`result_style` returns the new one."""

    MODES = (("single", "单一符号", "Single symbol"), ("categorized", "分类", "Categorised"),
             ("graduated", "分级", "Graduated"))

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.layer = layer
        self.style = dataclasses.replace(layer.style)
        self.setWindowTitle(tr(f"样式 — {layer.name}", f"Style — {layer.name}"))
        self.form = QFormLayout()
        box = QVBoxLayout(self)
        box.addLayout(self.form)
        if isinstance(layer, RasterLayer):
            self._build_raster()
        else:
            self._build_vector()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel | QDialogButtonBox.Apply, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.apply_button = buttons.button(QDialogButtonBox.Apply)
        box.addWidget(buttons)

    # -- raster -------------------------------------------------------------------
    def _build_raster(self):
        st = self.style
        self.ramp_combo = self._ramp_combo(st.ramp)
        self.form.addRow(tr("色带", "Colour ramp"), self.ramp_combo)
        lo, hi = self.layer.statistics()
        self.auto_range = QCheckBox(tr("自动（2%–98%）", "Automatic (2–98 %)"), self)
        self.auto_range.setChecked(st.vmin is None and st.vmax is None)
        self.vmin = self._double(st.vmin if st.vmin is not None else lo)
        self.vmax = self._double(st.vmax if st.vmax is not None else hi)
        self.auto_range.toggled.connect(lambda on: (self.vmin.setEnabled(not on), self.vmax.setEnabled(not on)))
        self.vmin.setEnabled(not self.auto_range.isChecked())
        self.vmax.setEnabled(not self.auto_range.isChecked())
        self.form.addRow(tr("值域", "Range"), self.auto_range)
        self.form.addRow(tr("最小值", "Minimum"), self.vmin)
        self.form.addRow(tr("最大值", "Maximum"), self.vmax)
        self.log_check = QCheckBox(tr("对数拉伸", "Logarithmic stretch"), self)
        self.log_check.setChecked(st.log)
        self.form.addRow("", self.log_check)
        self.hillshade_check = QCheckBox(tr("山体阴影（DEM）", "Hillshade (DEM)"), self)
        self.hillshade_check.setChecked(st.hillshade)
        self.form.addRow("", self.hillshade_check)

    # -- vector -------------------------------------------------------------------
    def _build_vector(self):
        st = self.style
        layer = self.layer
        self.mode_combo = QComboBox(self)
        for key, zh, en in self.MODES:
            self.mode_combo.addItem(tr(zh, en), key)
        self.mode_combo.setCurrentIndex(max(0, [m[0] for m in self.MODES].index(st.mode)
                                            if st.mode in [m[0] for m in self.MODES] else 0))
        self.form.addRow(tr("方式", "Mode"), self.mode_combo)

        self.field_combo = QComboBox(self)
        for f in layer.fields:
            self.field_combo.addItem(layer.aliases.get(f, f), f)
        if st.field in layer.fields:
            self.field_combo.setCurrentIndex(layer.fields.index(st.field))
        self.form.addRow(tr("字段", "Field"), self.field_combo)

        self.classes_spin = QSpinBox(self)
        self.classes_spin.setRange(2, 9)
        self.classes_spin.setValue(max(2, min(9, len(st.colors) or 5)))
        self.form.addRow(tr("分级数", "Classes"), self.classes_spin)
        self.method_combo = QComboBox(self)
        self.method_combo.addItem(tr("分位数", "Quantile"), "quantile")
        self.method_combo.addItem(tr("等间距", "Equal interval"), "equal")
        self.form.addRow(tr("分级方法", "Method"), self.method_combo)
        self.ramp_combo = self._ramp_combo(st.ramp if st.ramp in RAMPS and st.ramp != "population" else "reds")
        self.form.addRow(tr("色带", "Colour ramp"), self.ramp_combo)

        self.color_button = ColorButton(st.color, self)
        self.form.addRow(tr("颜色", "Colour"), self.color_button)
        self.stroke_button = ColorButton(st.stroke, self)
        self.form.addRow(tr("边线颜色", "Outline colour"), self.stroke_button)
        self.size_spin = self._double(st.size, 0.5, 60, 0.5)
        self.form.addRow(tr("符号大小（像素）", "Symbol size (px)"), self.size_spin)
        self.width_spin = self._double(st.width, 0.0, 20, 0.25)
        self.form.addRow(tr("线宽（像素）", "Line width (px)"), self.width_spin)
        self.fill_spin = self._double(st.fill_opacity, 0.0, 1.0, 0.05)
        self.form.addRow(tr("填充不透明度", "Fill opacity"), self.fill_spin)
        self.label_combo = QComboBox(self)
        self.label_combo.addItem(tr("（无标注）", "(no labels)"), None)
        for f in layer.fields:
            self.label_combo.addItem(layer.aliases.get(f, f), f)
        if st.label_field in layer.fields:
            self.label_combo.setCurrentIndex(layer.fields.index(st.label_field) + 1)
        self.form.addRow(tr("标注字段", "Label field"), self.label_combo)

        self.classes_list = QListWidget(self)
        self.classes_list.setMaximumHeight(160)
        self.form.addRow(tr("分类预览", "Classes"), self.classes_list)
        classify = QPushButton(tr("重新分类", "Classify"), self)
        classify.clicked.connect(self.reclassify)
        self.form.addRow("", classify)
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self.field_combo.currentIndexChanged.connect(lambda *_: self.reclassify())
        self.classes_spin.valueChanged.connect(lambda *_: self.reclassify())
        self.method_combo.currentIndexChanged.connect(lambda *_: self.reclassify())
        self.ramp_combo.currentIndexChanged.connect(lambda *_: self.reclassify())
        self._mode_changed()

    def _mode_changed(self, *_):
        mode = self.mode_combo.currentData()
        for widget in (self.field_combo,):
            widget.setEnabled(mode != "single")
        for widget in (self.classes_spin, self.method_combo, self.ramp_combo):
            widget.setEnabled(mode == "graduated")
        if mode != "single" and (self.style.mode != mode or self.style.field != self.field_combo.currentData()):
            self.reclassify()
        self._fill_preview()

    def reclassify(self) -> None:
        """Rebuild categories / classes from the chosen field."""
        mode = self.mode_combo.currentData()
        field = self.field_combo.currentData()
        if mode == "single" or field is None:
            self._fill_preview()
            return
        common = self._common()
        values = self.layer.gdf[field]
        if mode == "categorized":
            uniques = pd.unique(values.dropna())
            if len(uniques) > MAX_CATEGORIES:
                uniques = uniques[:MAX_CATEGORIES]
            keep_labels = self.style.labels if self.style.field == field else {}
            self.style = categorized(field, uniques, labels=keep_labels, **common)
            if self.layer.style.field == field and self.layer.style.categories:
                self.style.categories.update({k: v for k, v in self.layer.style.categories.items()
                                              if k in self.style.categories})
        else:
            numeric = pd.to_numeric(values, errors="coerce").to_numpy(float)
            self.style = graduated(field, numeric, n_classes=self.classes_spin.value(),
                                   ramp=self.ramp_combo.currentData(), method=self.method_combo.currentData(),
                                   **common)
            if not np.isfinite(numeric).any():
                self.style.colors = self.style.colors[:1]
        self._fill_preview()

    def _common(self) -> dict:
        return dict(color=self.color_button.color, stroke=self.stroke_button.color, width=self.width_spin.value(),
                    size=self.size_spin.value(), fill_opacity=self.fill_spin.value(),
                    label_field=self.label_combo.currentData(), symbol=self.style.symbol, dash=self.style.dash)

    def _fill_preview(self):
        self.classes_list.clear()
        if self.mode_combo.currentData() == "single":
            return
        for label, colour in self.style.legend():
            pix = QPixmap(14, 14)
            pix.fill(QColor(colour))
            QListWidgetItem(QIcon(pix), label, self.classes_list)

    # -- helpers ------------------------------------------------------------------
    def _ramp_combo(self, current: str) -> QComboBox:
        combo = QComboBox(self)
        for name, stops in RAMPS.items():
            pix = QPixmap(60, 12)
            step = 60 / len(stops)
            from PyQt5.QtGui import QPainter

            p = QPainter(pix)
            for i, c in enumerate(stops):
                p.fillRect(int(i * step), 0, int(step) + 1, 12, QColor(c))
            p.end()
            combo.addItem(QIcon(pix), name, name)
        combo.setCurrentIndex(max(0, list(RAMPS).index(current) if current in RAMPS else 0))
        return combo

    def _double(self, value, lo=-1e12, hi=1e12, step=1.0) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(lo, hi)
        spin.setDecimals(2)
        spin.setSingleStep(step)
        spin.setValue(float(value))
        return spin

    # -- result -------------------------------------------------------------------
    def result_style(self) -> Style:
        """The style the dialog describes."""
        if isinstance(self.layer, RasterLayer):
            auto = self.auto_range.isChecked()
            return dataclasses.replace(self.style, mode="raster", ramp=self.ramp_combo.currentData(),
                                       vmin=None if auto else self.vmin.value(),
                                       vmax=None if auto else self.vmax.value(),
                                       log=self.log_check.isChecked(), hillshade=self.hillshade_check.isChecked())
        mode = self.mode_combo.currentData()
        common = self._common()
        if mode == "single":
            return dataclasses.replace(self.style, mode="single", **common)
        if self.style.mode != mode or self.style.field != self.field_combo.currentData():
            self.reclassify()
        return dataclasses.replace(self.style, **common)


def edit_style(layer, parent=None, undo_stack=None) -> bool:
    """Show the dialog modally; apply the chosen style (through ``undo_stack`` when given)."""
    dialog = StyleDialog(layer, parent)

    def apply():
        new = dialog.result_style()
        if new == layer.style:
            return
        if undo_stack is not None:
            undo_stack.push(SetStyleCommand(layer, new))
        else:
            layer.style = new

    dialog.apply_button.clicked.connect(apply)
    if dialog.exec_() == QDialog.Accepted:
        apply()
        return True
    return False


__all__ = ["StyleDialog", "SetStyleCommand", "edit_style"]
