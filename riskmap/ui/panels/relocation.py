"""Analysis panel: relocation assessment of hazardous-chemical plants (搬迁评估).

Runs the declared ``relocation`` analysis (:func:`riskmap.analysis.relocation.assess_relocation`)
in the background, inputs and parameters from its declaration, puts the
plants (flagged ones in red), their safety zones (red when flagged, orange otherwise) and the dense
population areas on the map, and lists the plants in a sortable table linked to the map (click a
row: zoom to the zone and select the plant). What-if: edit a plant's distance in the table, or
drag a plant on the map with the move tool; only that plant is recomputed
(:func:`riskmap.analysis.relocation.update_plant`), only its two layers re-render, and both edits
go on the undo stack; the exported report notes every what-if edit in its provenance.
"""
from __future__ import annotations

import math
import time
from functools import partial

import numpy as np
import pandas as pd
import shapely
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QPen
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
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
from riskmap.ui.panels.common import AnalysisPanel, ResultTable
from riskmap.ui.table_model import Column, ResultTableModel

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


#: Fields shown in the panel's table; headers come from the declared ``plants`` table.
TABLE_FIELDS = ("priority", "name", "county", "safe_dist", "pop_exposed", "sensitive_n", "dense_km2", "hazard_grade",
                "relocate", "verdict", "reasons")
TABLE_COLUMNS = tuple((f,) for f in TABLE_FIELDS)


def column_header(field: str) -> str:
    """The declared header of a plants column in the UI language (with its unit)."""
    from riskmap.analysis.registry import RELOCATION

    return RELOCATION.tables["plants"].columns[field].header()
EDITABLE = {"safe_dist"}


def _fmt(field, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if field == "relocate":
        return tr("是", "yes") if bool(value) else tr("否", "no")
    if field == "priority":
        return f"{int(value)}"
    if field in ("pop_exposed", "safe_dist"):
        return f"{float(value):,.0f}"
    if field == "dense_km2":
        return f"{float(value):.2f}" if value else "0"
    return str(value)


def plant_columns(plants) -> list:
    """The table's columns of a plants frame: whole arrays, formatted only when painted.

    Parameters
    ----------
    plants : DataFrame
        ``RelocationResult.plants`` (the :data:`TABLE_FIELDS` columns are read).

    Returns
    -------
    list of Column
        One per :data:`TABLE_FIELDS`; the name and relocation flag of flagged plants in red.
    """
    relocate = plants["relocate"].fillna(False).astype(bool).to_numpy()
    red = np.where(relocate, RELOCATE_COLOR, None).astype(object)
    return [Column(plants[field], fmt=partial(_fmt, field), foreground=red if field in ("name", "relocate") else None)
            for field in TABLE_FIELDS]


class PlantsModel(ResultTableModel):
    """The assessed plants as a table (sorted by numpy on a header click); the distance column is
    editable (a what-if)."""

    def __init__(self, panel):
        super().__init__([column_header(f) for f in TABLE_FIELDS], panel)
        self.panel = panel
        self.frame = None

    def set_frame(self, frame) -> None:
        """Show a new result's plants (new rows)."""
        self.frame = frame
        self.set_columns(plant_columns(frame))

    def refresh(self) -> None:
        """Re-read the plants after a what-if edit: re-sorted, the selection kept on its plant."""
        if self.frame is not None and len(self.frame):
            self.frame = self.panel.result.plants
            self.set_columns(plant_columns(self.frame), keep_selection=True)

    def flags(self, index):
        base = Qt.ItemIsEnabled | Qt.ItemIsSelectable
        if index.isValid() and TABLE_COLUMNS[index.column()][0] in EDITABLE:
            base |= Qt.ItemIsEditable
        return base

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.EditRole and index.isValid():
            return float(self._values[index.column()][self._order[index.row()]])
        return super().data(index, role)

    def setData(self, index, value, role=Qt.EditRole):  # noqa: N802 - Qt's name
        if role != Qt.EditRole or TABLE_COLUMNS[index.column()][0] != "safe_dist":
            return False
        try:
            distance = float(str(value).replace(",", ""))
        except ValueError:
            self.panel.host.show_error(ParameterError(tr("防护距离须为正数（米）", "The distance must be a positive "
                                                           "number of metres")))
            return False
        return self.panel.change_distance(self.source_row(index.row()), distance)


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

    analysis_name = "relocation"

    def __init__(self, window):
        super().__init__(window, object_name="RelocationPanel")
        self.plants_layer: VectorLayer | None = None
        self.zones_layer: VectorLayer | None = None
        self.dense_layer: VectorLayer | None = None
        self.last_update_ms = None
        self.what_if: list[str] = []  # the what-if edits since the run, for the report's provenance
        self.move_tool = MovePlantTool(self)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.make_inputs())
        form = self.make_form(["dense_threshold", "dense_min_area_km2", "default_distance_m", "alpha_radius_m",
                               "grade_rule_min_people", "all_industries"])
        form.add_note(tr("搬迁规则（任一满足即建议搬迁）：", "Relocation rules (any one):"))
        form.add(["rule_dense", "rule_sensitive", "rule_grade"])
        layout.addWidget(form)

        buttons = QHBoxLayout()
        self.make_run_button()
        self.move_button = QPushButton(tr("拖动企业（假设分析）", "Drag a plant (what-if)"))
        self.move_button.setCheckable(True)
        self.move_button.setEnabled(False)
        self.move_button.toggled.connect(self._toggle_move_tool)
        self.make_report_button()
        for b in (self.run_button, self.move_button, self.report_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        layout.addWidget(self.make_summary())

        self.model = PlantsModel(self)
        self.table = ResultTable(self.model.headers, model=self.model)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.clicked.connect(self._on_row_clicked)
        layout.addWidget(self.table, 1)
        # the reasons of the selected plant, wrapped: a reviewer reads them whole, not in a cut-off cell
        self.details = QLabel(tr("选中一家企业查看判定理由", "Select a plant to read the reasons"))
        self.details.setObjectName("RelocationDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.show_details(self.model.source_row(current.row()) if current.isValid()
                                                         else -1))
        layout.addWidget(self.details)
        self.setWidget(body)

    def show_details(self, row: int) -> None:
        """Show the verdict, grade basis, units and reasons of a plant of the result, wrapped."""
        if self.result is None or not 0 <= row < len(self.result.plants):
            return
        plant = self.result.plants.iloc[row]
        lines = [f"{plant['name']}：{plant['verdict']}", f"{column_header('grade_basis')}：{plant['grade_basis']}"]
        if plant.get("units"):
            lines.append(f"{column_header('units')}：{plant['units']}")
        lines.append(f"{column_header('reasons')}：{plant['reasons']}")
        self.details.setText("\n".join(lines))

    # -- results ------------------------------------------------------------------
    def show_native(self, result):
        """Put the styled result layers on the map and fill the table."""
        self.what_if = []
        self.last_update_ms = None
        self.dense_layer = self.add_layer(result.dense_areas, tr("人口密集区", "Dense population areas"),
                                          dense_style(), "dense_areas")
        self.zones_layer = self.add_layer(result.zones, tr("外部安全防护区", "Safety zones"), zones_style(), "zones")
        self.plants_layer = self.add_layer(result.plants, tr("搬迁评估企业", "Relocation assessment"),
                                           plants_style(), "plants")
        self.model.set_frame(result.plants)
        self.table.sortByColumn(0, Qt.AscendingOrder)
        self.table.size_columns()
        self.move_button.setEnabled(True)
        if len(result.zones):
            self.zoom_to_frame(result.zones)

    def current_result(self):
        """The assessment as it stands after the what-if edits, the edits noted in its provenance."""
        from riskmap.analysis.result import DIGEST_SCHEME, AnalysisResult, layers_digest

        base = self.analysis_result
        if base is None or not self.what_if:
            return base
        layers, tables, zh, en, _ = self.analysis.wrap(self.result, None)
        prov = dict(base.provenance)
        prov["notes"] = [*(prov.get("notes") or []),
                         *(tr("假设分析（未重新运行）：", "what-if edit (not re-run): ") + e for e in self.what_if)]
        prov["summary_zh"], prov["summary_en"] = zh, en
        prov["what_if"] = list(self.what_if)
        prov["results_sha256"] = layers_digest(layers)
        prov["results_digest_scheme"] = DIGEST_SCHEME
        return AnalysisResult(base.analysis, layers, tables, zh, en, prov, self.result)

    def summary_text(self) -> str:
        text = self.current_result().summary
        plants = self.result.plants
        if "zone_off_raster" in plants.columns and plants["zone_off_raster"].any():
            names = "、".join(plants.loc[plants["zone_off_raster"], "name"].head(5))
            text += tr(f"。⚠ {int(plants['zone_off_raster'].sum())} 个防护区超出人口栅格（{names}），其人口偏少",
                       f". ⚠ {int(plants['zone_off_raster'].sum())} zones leave the population raster ({names}): "
                       "their people are undercounted")
        if self.last_update_ms is not None:
            text += tr(f"；上次重算 {self.last_update_ms:.0f} ms", f"; last update {self.last_update_ms:.0f} ms")
        return text

    def _update_summary(self):
        self.summary.setText(self.summary_text())

    def source_row(self, view_row: int) -> int:
        """Row of ``result.plants`` shown at table row ``view_row``."""
        return self.model.source_row(view_row)

    def _on_row_clicked(self, index):
        self.focus_plant(self.model.source_row(index.row()))

    def focus_plant(self, row: int) -> None:
        """Zoom to a plant's zone and select it on the map."""
        if self.result is None or not 0 <= row < len(self.result.plants):
            return
        self.zoom_to_frame(self.result.zones.iloc[[row]])
        if self.plants_layer is not None:
            self.plants_layer.select([row])  # the window highlights the selection

    # -- what-if ------------------------------------------------------------------
    def change_distance(self, row: int, distance: float) -> bool:
        """Set a plant's safety distance (undoable); only that plant is recomputed."""
        if self.result is None:
            return False
        if not math.isfinite(distance) or distance <= 0:
            self.host.show_error(ParameterError(tr(f"防护距离须为正数（米），不是 {distance}",
                                                     f"The distance must be a positive number of metres, "
                                                     f"not {distance}")))
            return False
        plants = self.result.plants
        old = float(plants["safe_dist"].iat[row])
        if old == distance:
            return False
        self.host.push(_DistanceCommand(self, row, old, float(distance), plants["safe_dist_src"].iat[row]))
        return True

    def move_plant(self, row: int, x: float, y: float) -> None:
        """Move a plant to map point (x, y) (undoable); its exposure and grade are recomputed."""
        if self.result is None:
            return
        plants = self.result.plants
        px, py = crs_policy.transform_xy([x], [y], self.host.project.map_crs, plants.crs)
        old = plants.geometry.iat[row]
        self.host.push(_MoveCommand(self, row, old, shapely.Point(float(px[0]), float(py[0]))))

    def apply_update(self, row: int, *, safe_dist=None, geometry=None, src=None) -> None:
        """Recompute one plant and refresh its layers, table row and summary."""
        from riskmap.analysis.relocation import update_plant

        t0 = time.perf_counter()
        dense_before = self.result.dense_areas
        try:
            update_plant(self.result, row, safe_dist=safe_dist, geometry=geometry)
        except RiskmapError as exc:
            self.host.show_error(exc)
            return
        plants = self.result.plants
        if src is not None:
            plants.iat[row, plants.columns.get_loc("safe_dist_src")] = src
        point = plants.geometry.iat[row].representative_point()
        self.what_if.append(f"{plants['name'].iat[row]}: safe_dist={float(plants['safe_dist'].iat[row]):g} m, "
                            f"position=({point.x:.6f}, {point.y:.6f}) {plants.crs.to_string() if plants.crs else ''}")
        self.plants_layer.set_data(self.result.plants)
        self.zones_layer.set_data(self.result.zones)
        if self.result.dense_areas is not dense_before and self.dense_layer is not None:
            self.dense_layer.set_data(self.result.dense_areas)  # moved out of the area searched so far
        self.last_update_ms = (time.perf_counter() - t0) * 1000.0
        self.model.refresh()  # re-sorted, the selection stays on its plant
        self._update_summary()  # set_data marked just those two layers stale: no full refresh

    def _toggle_move_tool(self, on: bool) -> None:
        self.host.use_map_tool(self.move_tool if on else None)


__all__ = ["RelocationPanel", "PlantsModel", "MovePlantTool", "plants_style", "zones_style", "dense_style"]
