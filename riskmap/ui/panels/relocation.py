"""Analysis panel: relocation assessment of hazardous-chemical plants (搬迁评估).

Runs :func:`riskmap.analysis.relocation.assess_relocation` through ``window.run_task``, puts the
plants (flagged ones in red), their safety zones (red when flagged, orange otherwise) and the dense
population areas on the map, and lists the plants in a sortable table linked to the map (click a
row: zoom to the zone and select the plant). What-if: edit a plant's distance in the table, or
drag a plant on the map with the move tool; only that plant is recomputed
(:func:`riskmap.analysis.relocation.update_plant`), and both edits go on the window's undo stack.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import shapely
from PyQt5.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PyQt5.QtGui import QBrush, QColor, QPen
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QUndoCommand,
    QVBoxLayout,
    QWidget,
)

from riskmap import crs as crs_policy
from riskmap.errors import ParameterError, RiskmapError
from riskmap.i18n import tr
from riskmap.layers import VectorLayer
from riskmap.layers.style import Style
from riskmap.ui.canvas import MapTool
from riskmap.ui.panels.common import AnalysisPanel, LayerCombo, field_score, is_raster, spin, vector_with

RELOCATE_COLOR = "#d7191c"
KEEP_COLOR = "#7f7f7f"
ZONE_COLORS = {"True": "#d7191c", "False": "#fd8d3c"}
DENSE_COLOR = "#6a3d9a"


def plants_style() -> Style:
    """Plants: flagged for relocation in red, the others grey."""
    return Style(mode="categorized", field="relocate", categories={"True": RELOCATE_COLOR, "False": KEEP_COLOR},
                 labels={"True": tr("建议搬迁", "Relocate"), "False": tr("暂不搬迁", "Keep")}, size=11,
                 stroke="#000000", width=1.2, color=KEEP_COLOR, label_field="name")


def zones_style() -> Style:
    """Safety zones: red when the plant is flagged, orange otherwise, translucent."""
    return Style(mode="categorized", field="relocate", categories=dict(ZONE_COLORS), fill_opacity=0.25, width=1.0,
                 stroke="#b30000", color=ZONE_COLORS["False"],
                 labels={"True": tr("防护区（建议搬迁）", "Zone (relocate)"),
                         "False": tr("防护区", "Safety zone")})


def dense_style() -> Style:
    """Dense population areas: translucent purple with a dashed outline."""
    return Style(color=DENSE_COLOR, stroke=DENSE_COLOR, fill_opacity=0.18, width=0.8, dash=True)


#: Table columns: (field, Chinese header, English header).
TABLE_COLUMNS = (
    ("priority", "优先序", "Priority"), ("name", "企业名称", "Plant"), ("county", "县区", "County"),
    ("safe_dist", "防护距离(m)", "Distance (m)"), ("pop_exposed", "防护距离内人口", "People exposed"),
    ("sensitive_n", "敏感目标", "Sensitive"), ("dense_km2", "密集区重叠(km²)", "Dense overlap (km²)"),
    ("hazard_grade", "重大危险源", "Major hazard"), ("relocate", "建议搬迁", "Relocate"),
    ("reasons", "搬迁理由", "Reasons"),
)
EDITABLE = {"safe_dist"}


def _fmt(field, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if field == "relocate":
        return tr("是", "yes") if bool(value) else tr("否", "no")
    if field in ("pop_exposed", "safe_dist"):
        return f"{float(value):,.0f}"
    if field == "dense_km2":
        return f"{float(value):.2f}" if value else "0"
    return str(value)


class PlantsModel(QAbstractTableModel):
    """The assessed plants as a table; the distance column is editable (a what-if)."""

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.frame = None

    def set_frame(self, frame) -> None:
        self.beginResetModel()
        self.frame = frame
        self.endResetModel()

    def refresh(self) -> None:
        if self.frame is not None and len(self.frame):
            self.frame = self.panel.result.plants
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.frame) - 1, len(TABLE_COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or self.frame is None else len(self.frame)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(TABLE_COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            _f, zh, en = TABLE_COLUMNS[section]
            return tr(zh, en)
        return None

    def flags(self, index):
        base = Qt.ItemIsEnabled | Qt.ItemIsSelectable
        if TABLE_COLUMNS[index.column()][0] in EDITABLE:
            base |= Qt.ItemIsEditable
        return base

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or self.frame is None:
            return None
        field = TABLE_COLUMNS[index.column()][0]
        value = self.frame[field].iat[index.row()]
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return _fmt(field, value)
        if role == Qt.EditRole:
            return float(value)
        if role == Qt.UserRole:  # sort key
            if field == "priority":
                return float(value) if not pd.isna(value) else 1e12
            if isinstance(value, (bool, np.bool_)):
                return int(value)
            if isinstance(value, (int, float, np.integer, np.floating)):
                return float(value)
            return str(value)
        if role == Qt.ForegroundRole and field in ("name", "relocate") and bool(self.frame["relocate"].iat[index.row()]):
            return QBrush(QColor(RELOCATE_COLOR))
        return None

    def setData(self, index, value, role=Qt.EditRole):
        if role != Qt.EditRole or TABLE_COLUMNS[index.column()][0] != "safe_dist":
            return False
        try:
            distance = float(str(value).replace(",", ""))
        except ValueError:
            self.panel.window.show_error(ParameterError(tr("防护距离须为正数（米）", "The distance must be a positive "
                                                           "number of metres")))
            return False
        return self.panel.change_distance(index.row(), distance)


class _PlantCommand(QUndoCommand):
    """A what-if edit of one plant of one assessment result (obsolete once the assessment is rerun)."""

    def __init__(self, panel, row, text):
        super().__init__(text)
        self.panel, self.row, self.result = panel, row, panel.result

    def _apply(self, **change):
        if self.panel.result is not self.result:  # the assessment was rerun: nothing to change
            self.setObsolete(True)
            return
        self.panel.apply_update(self.row, **change)


class _DistanceCommand(_PlantCommand):
    def __init__(self, panel, row, old, new, old_src):
        super().__init__(panel, row, tr(f"修改防护距离：{panel.result.plants['name'].iat[row]}",
                                        "Change safety distance"))
        self.old, self.new, self.old_src = old, new, old_src

    def redo(self):
        self._apply(safe_dist=self.new)

    def undo(self):
        self._apply(safe_dist=self.old, src=self.old_src)


class _MoveCommand(_PlantCommand):
    def __init__(self, panel, row, old_geom, new_geom):
        super().__init__(panel, row, tr(f"移动企业：{panel.result.plants['name'].iat[row]}", "Move plant"))
        self.old, self.new = old_geom, new_geom

    def redo(self):
        self._apply(geometry=self.new)

    def undo(self):
        self._apply(geometry=self.old)


class MovePlantTool(MapTool):
    """Drag a plant of the result layer to a new place; its exposure is recomputed on release."""

    cursor = Qt.OpenHandCursor

    def __init__(self, panel):
        super().__init__()
        self.panel = panel
        self.row = None
        self.start = None
        self.current = None
        self.canvas = None

    def activate(self, canvas) -> None:
        self.canvas = canvas

    def deactivate(self) -> None:
        self.row = self.start = self.current = None

    def press(self, event, x, y) -> bool:
        if event.button() != Qt.LeftButton:
            return False
        layer = self.panel.plants_layer
        if layer is None or self.canvas is None:
            return False
        from riskmap.ui.map_tools import pick_tolerance

        idx = layer.features_at(x, y, pick_tolerance(layer, self.canvas))
        if idx.size == 0:
            return False
        self.row, self.start, self.current = int(idx[0]), (x, y), (x, y)
        return True

    def move(self, event, x, y) -> bool:
        if self.row is None:
            return False
        self.current = (x, y)
        self.canvas.update()
        return True

    def release(self, event, x, y) -> bool:
        if self.row is None:
            return False
        row, start, self.row, self.start, self.current = self.row, self.start, None, None, None
        a, b = self.canvas.map_to_pixel(*start), self.canvas.map_to_pixel(x, y)
        if abs(a.x() - b.x()) >= 3 or abs(a.y() - b.y()) >= 3:
            self.panel.move_plant(row, x, y)
        self.canvas.update()
        return True

    def paint(self, painter, canvas) -> None:
        if self.row is None or self.current is None:
            return
        a, b = canvas.map_to_pixel(*self.start), canvas.map_to_pixel(*self.current)
        painter.save()
        painter.setPen(QPen(QColor(RELOCATE_COLOR), 1.5, Qt.DashLine))
        painter.drawLine(a, b)
        painter.setBrush(QColor(RELOCATE_COLOR))
        painter.drawEllipse(b, 6, 6)
        painter.restore()


class RelocationPanel(AnalysisPanel):
    """搬迁评估 — which hazardous-chemical plants should move out of dense population areas."""

    def __init__(self, window):
        super().__init__(window, tr("搬迁评估", "Relocation assessment"), "RelocationPanel")
        self.plants_layer: VectorLayer | None = None
        self.zones_layer: VectorLayer | None = None
        self.dense_layer: VectorLayer | None = None
        self.last_update_ms = None
        self.move_tool = MovePlantTool(self)
        body = QWidget()
        layout = QVBoxLayout(body)

        inputs = QGroupBox(tr("输入数据", "Inputs"))
        form = QFormLayout(inputs)
        self.plants_combo = LayerCombo(window, vector_with(kinds=("point", "polygon")),
                                       field_score("industry", "safe_dist", "chemicals", "企业名称",
                                                   words=("企业", "enterprise", "plant", "危化")))
        self.population_combo = LayerCombo(window, is_raster, field_score(words=("人口", "population", "pop")))
        self.sensitive_combo = LayerCombo(window, vector_with(kinds=("point", "polygon")),
                                          field_score("category", words=("敏感", "sensitive", "学校")), optional=True)
        form.addRow(tr("企业图层", "Plants"), self.plants_combo)
        form.addRow(tr("人口栅格", "Population raster"), self.population_combo)
        form.addRow(tr("敏感目标", "Sensitive targets"), self.sensitive_combo)
        layout.addWidget(inputs)

        from riskmap.analysis.relocation import RelocationParams

        defaults = RelocationParams()
        params = QGroupBox(tr("参数", "Parameters"))
        pform = QFormLayout(params)
        self.threshold_spin = spin(defaults.dense_threshold, 100, 100000, 500, suffix=tr(" 人/km²", " /km²"))
        self.min_area_spin = spin(defaults.dense_min_area_km2, 0.0, 100.0, 0.1, decimals=2, suffix=" km²")
        self.default_distance_spin = spin(defaults.default_distance_m, 10, 10000, 50, suffix=" m")
        self.alpha_radius_spin = spin(defaults.alpha_radius_m, 50, 5000, 50, suffix=" m")
        self.min_people_spin = spin(defaults.grade_rule_min_people, 0, 1e6, 50)
        self.hazchem_only = QCheckBox(tr("仅评估危险化学品企业", "Hazardous-chemical plants only"))
        self.hazchem_only.setChecked(True)
        self.rule_dense = QCheckBox(tr("防护区与人口密集区重叠", "Zone overlaps a dense area"))
        self.rule_sensitive = QCheckBox(tr("防护区内有敏感目标", "Sensitive target inside the zone"))
        self.rule_grade = QCheckBox(tr("一、二级重大危险源且暴露人口超过阈值", "Grade 1/2 major hazard with many exposed"))
        for box in (self.rule_dense, self.rule_sensitive, self.rule_grade):
            box.setChecked(True)
        pform.addRow(tr("人口密集区密度阈值", "Dense-area density"), self.threshold_spin)
        pform.addRow(tr("人口密集区最小面积", "Dense-area minimum"), self.min_area_spin)
        pform.addRow(tr("缺省防护距离", "Default distance"), self.default_distance_spin)
        pform.addRow(tr("α人口统计半径", "α population radius"), self.alpha_radius_spin)
        pform.addRow(tr("等级规则人数阈值", "Grade rule: people >"), self.min_people_spin)
        pform.addRow(self.hazchem_only)
        pform.addRow(QLabel(tr("搬迁规则（任一满足即建议搬迁）：", "Relocation rules (any one):")))
        pform.addRow(self.rule_dense)
        pform.addRow(self.rule_sensitive)
        pform.addRow(self.rule_grade)
        layout.addWidget(params)

        buttons = QHBoxLayout()
        self.make_run_button()
        self.move_button = QPushButton(tr("拖动企业（假设分析）", "Drag a plant (what-if)"))
        self.move_button.setCheckable(True)
        self.move_button.setEnabled(False)
        self.move_button.toggled.connect(self._toggle_move_tool)
        self.report_button = QPushButton(tr("导出报告…", "Export report…"))
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(self.export_report)
        for b in (self.run_button, self.move_button, self.report_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        layout.addWidget(self.make_summary())

        self.model = PlantsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.clicked.connect(self._on_row_clicked)
        layout.addWidget(self.table, 1)
        self.setWidget(body)

    # -- running ------------------------------------------------------------------
    def parameters(self):
        """The parameters from the form (validated)."""
        from riskmap.analysis.relocation import RelocationParams

        return RelocationParams(
            dense_threshold=self.threshold_spin.value(), dense_min_area_km2=self.min_area_spin.value(),
            default_distance_m=self.default_distance_spin.value(), alpha_radius_m=self.alpha_radius_spin.value(),
            grade_rule_min_people=self.min_people_spin.value(),
            industries=("hazchem",) if self.hazchem_only.isChecked() else None,
            rule_dense=self.rule_dense.isChecked(), rule_sensitive=self.rule_sensitive.isChecked(),
            rule_grade=self.rule_grade.isChecked()).validate()

    def run(self):
        """Start the assessment in the background (progress and Cancel in the window's status bar)."""
        from riskmap.analysis.relocation import assess_relocation

        plants = self.plants_combo.layer()
        pop = self.population_combo.layer()
        params = self.read_parameters(plants is not None and pop is not None,
                                      tr("请先选择企业图层和人口栅格", "Choose a plants layer and a population raster first"),
                                      self.parameters)
        if params is None:
            return None
        sens = self.sensitive_combo.layer()
        inputs = {"plants": plants.source or plants.name, "population": pop.path,
                  "sensitive": (sens.source or sens.name) if sens is not None else "—"}
        return self.start_task(
            assess_relocation, plants.gdf, pop.path, sens.gdf if sens is not None else None, params,
            inputs=inputs, title=tr("搬迁评估", "Relocation assessment"), on_done=self.show_result)


    # -- results ------------------------------------------------------------------
    def show_result(self, result):
        """Put the styled result layers on the map and fill the table."""
        from riskmap.analysis.relocation import COLUMN_LABELS

        self.result = result
        w = self.window
        self.dense_layer = w.add_result_layer(result.dense_areas, tr("人口密集区", "Dense population areas"),
                                              style=dense_style())
        self.zones_layer = w.add_result_layer(result.zones, tr("外部安全防护区", "Safety zones"), style=zones_style())
        self.plants_layer = w.add_result_layer(result.plants, tr("搬迁评估企业", "Relocation assessment"),
                                               style=plants_style())
        for layer in (self.plants_layer, self.zones_layer):
            layer.aliases.update({k: v for k, v in COLUMN_LABELS.items() if k in layer.gdf.columns})
        self.dense_layer.aliases.update({"area_km2": "面积(km²)", "population": "人口", "density": "密度(人/km²)"})
        self.model.set_frame(result.plants)
        self.table.sortByColumn(0, Qt.AscendingOrder)
        self.move_button.setEnabled(True)
        self.report_button.setEnabled(True)
        self._update_summary()
        if len(result.zones):
            self.zoom_to_frame(result.zones)
        w.canvas.refresh()

    def _update_summary(self):
        plants = self.result.plants
        n_flag = int(plants["relocate"].sum())
        exposed = float(plants.loc[plants["relocate"], "pop_exposed"].sum())
        text = tr(f"评估企业 {len(plants)} 家，建议搬迁 {n_flag} 家（防护距离内约 {exposed:,.0f} 人）；"
                  f"人口密集区 {len(self.result.dense_areas)} 处",
                  f"{len(plants)} plants assessed, {n_flag} to relocate ({exposed:,.0f} people in their zones); "
                  f"{len(self.result.dense_areas)} dense areas")
        if self.last_update_ms is not None:
            text += tr(f"；上次重算 {self.last_update_ms:.0f} ms", f"; last update {self.last_update_ms:.0f} ms")
        self.summary.setText(text)

    def source_row(self, view_row: int) -> int:
        """Row of ``result.plants`` shown at table row ``view_row``."""
        return self.proxy.mapToSource(self.proxy.index(view_row, 0)).row()

    def _on_row_clicked(self, index):
        self.focus_plant(self.proxy.mapToSource(index).row())

    def focus_plant(self, row: int) -> None:
        """Zoom to a plant's zone and select it on the map."""
        if self.result is None or not 0 <= row < len(self.result.plants):
            return
        self.zoom_to_frame(self.result.zones.iloc[[row]])
        if self.plants_layer is not None:
            self.plants_layer.select([row])
        self.window.canvas.refresh()

    # -- what-if ------------------------------------------------------------------
    def change_distance(self, row: int, distance: float) -> bool:
        """Set a plant's safety distance (undoable); only that plant is recomputed."""
        if self.result is None:
            return False
        if not math.isfinite(distance) or distance <= 0:
            self.window.show_error(ParameterError(tr(f"防护距离须为正数（米），不是 {distance}",
                                                     f"The distance must be a positive number of metres, "
                                                     f"not {distance}")))
            return False
        plants = self.result.plants
        old = float(plants["safe_dist"].iat[row])
        if old == distance:
            return False
        self.window.undo_stack.push(_DistanceCommand(self, row, old, float(distance), plants["safe_dist_src"].iat[row]))
        return True

    def move_plant(self, row: int, x: float, y: float) -> None:
        """Move a plant to map point (x, y) (undoable); its exposure and grade are recomputed."""
        if self.result is None:
            return
        plants = self.result.plants
        px, py = crs_policy.transform_xy([x], [y], self.window.project.map_crs, plants.crs)
        old = plants.geometry.iat[row]
        self.window.undo_stack.push(_MoveCommand(self, row, old, shapely.Point(float(px[0]), float(py[0]))))

    def apply_update(self, row: int, *, safe_dist=None, geometry=None, src=None) -> None:
        """Recompute one plant and refresh its layers, table row and summary."""
        from riskmap.analysis.relocation import update_plant

        t0 = time.perf_counter()
        try:
            update_plant(self.result, row, safe_dist=safe_dist, geometry=geometry)
        except RiskmapError as exc:
            self.window.show_error(exc)
            return
        if src is not None:
            plants = self.result.plants
            plants.iat[row, plants.columns.get_loc("safe_dist_src")] = src
        self.plants_layer.set_data(self.result.plants)
        self.zones_layer.set_data(self.result.zones)
        self.last_update_ms = (time.perf_counter() - t0) * 1000.0
        self.model.refresh()  # the proxy re-sorts on dataChanged (dynamic sort)
        self._update_summary()
        self.window.canvas.refresh()

    def _toggle_move_tool(self, on: bool) -> None:
        if on:
            self.window.canvas.set_map_tool(self.move_tool)
        elif "pan" in self.window.tools:
            self.window.set_tool("pan")
        else:
            self.window.canvas.set_map_tool(None)

    # -- export ---------------------------------------------------------------------
    def export_report(self, path=None):
        """Write the Excel report (county summary, plant detail, provenance)."""
        from riskmap.analysis.relocation import write_report

        if self.result is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, tr("导出搬迁评估报告", "Export relocation report"),
                                                  tr("搬迁评估报告.xlsx", "relocation.xlsx"), "Excel (*.xlsx)")
            if not path:
                return None
        try:
            written = write_report(self.result, path)
        except RiskmapError as exc:
            self.window.show_error(exc)
            return None
        self.window.statusBar().showMessage(tr(f"已导出：{written}", f"Written: {written}"), 5000)
        return written


__all__ = ["RelocationPanel", "PlantsModel", "MovePlantTool", "plants_style", "zones_style", "dense_style"]
