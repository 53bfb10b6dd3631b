"""Analysis panel: 道路隐患排查 — find, review, mark and track road hazard segments.

- **Detect** runs :func:`riskmap.analysis.roads.detect_road_hazards` in the background; its
  segments become *candidates* in the review list, where they are accepted or rejected one by
  one, by selection or all of a kind.
- **Register** lists the accepted and hand-marked segments. "在地图上标注" activates
  :class:`~riskmap.ui.road_tools.RoadSegmentTool` (pick a road, click two points); the form sets
  kind, severity, status (排查 → 建档 → 整改中 → 已销号), deadline and note; split, merge and
  delete act on the selection. Every change is a register command pushed on
  host's undo stack.
- **Progress** shows per county how many segments of each kind there are and how many are closed.

The register is kept in the project (``project.extras``, see :mod:`riskmap.analysis.register`),
so saving the project saves it; it also shows as the layers "隐患路段登记" and "道路隐患候选".
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
from PyQt5.QtCore import QDate, Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QShortcut,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from riskmap.analysis import register as reg
from riskmap.analysis.linear import parse_km_post
from riskmap.analysis.roads import KINDS, SEVERITIES, SEVERITIES_EN
from riskmap.errors import RiskmapError
from riskmap.i18n import tr
from riskmap.kml import HAZARD_KINDS
from riskmap.layers.style import Style
from riskmap.ui.panels.common import AnalysisPanel, Column, result_table
from riskmap.ui.road_tools import RoadSegmentTool, SegmentEndTool, push

#: Text colour of a deadline that has passed.
OVERDUE_COLOR = "#d7191c"
#: Map colours of the hazard kinds (the same in the KML export).
KIND_COLORS = {kind: colour for kind, (colour, _zh) in HAZARD_KINDS.items()}

REGISTER_LAYER = ("隐患路段登记", "Hazard register")
CANDIDATE_LAYER = ("道路隐患候选", "Hazard candidates")


def kind_label(kind: str) -> str:
    return {"sharp_bend": tr("急弯", "Sharp bend"), "steep_grade": tr("陡坡", "Steep grade"),
            "near_water": tr("临水", "Near water"), "near_cliff": tr("临崖", "Near cliff"),
            "black_spot": tr("事故多发点段", "Black spot")}.get(kind, kind)


def status_label(status: str) -> str:
    return {"identified": tr("排查", "Identified"), "filed": tr("建档", "Filed"),
            "rectifying": tr("整改中", "Rectifying"), "closed": tr("已销号", "Closed")}.get(status, status)


def severity_label(severity: str) -> str:
    """The four-level risk wording with its colour (重大风险（红）…), or English."""
    if severity not in SEVERITIES:
        return severity
    return tr(SEVERITIES[severity], SEVERITIES_EN[severity])


def hazard_style(candidates: bool = False) -> Style:
    """Segments coloured by kind; candidates thinner and dashed."""
    return Style(mode="categorized", field="kind", categories=dict(KIND_COLORS), width=3.0 if candidates else 6.0,
                 dash=candidates, color="#999999", stroke="#333333",
                 labels={k: kind_label(k) for k in KIND_COLORS})


def measure_text(seg) -> str:
    a = seg.attrs
    if seg.kind == "sharp_bend" and a.get("radius_m") is not None:
        return f"R={a['radius_m']:.0f} m"
    if seg.kind == "steep_grade" and a.get("grade_pct") is not None:
        return f"{a['grade_pct']:.1f}%"
    if seg.kind == "near_cliff" and a.get("drop_m") is not None:
        return tr(f"落差 {a['drop_m']:.0f} m", f"drop {a['drop_m']:.0f} m")
    if seg.kind == "near_water" and a.get("water_dist_m") is not None:
        return tr(f"距水 {a['water_dist_m']:.0f} m", f"{a['water_dist_m']:.0f} m to water")
    if seg.kind == "black_spot" and a.get("accidents") is not None:
        return tr(f"事故 {a['accidents']:.0f} 起", f"{a['accidents']:.0f} accidents")
    return ""


class RoadHazardPanel(AnalysisPanel):
    """道路隐患排查 — road hazard detection, review, marking and tracking."""

    analysis_name = "roads"

    def __init__(self, window):
        super().__init__(window, tr("道路隐患排查", "Road hazard register"), "RoadHazardPanel")
        project = self.host.project
        self.register = reg.HazardRegister.from_project(project).bind(project)
        self.register.events.changed.connect(self._on_register_changed)
        self.tool = RoadSegmentTool(self.host, self.roads_layer, self.create_segment)
        self.end_tool = SegmentEndTool(self.host, self.register, self.roads_layer, self.move_segment_end)

        body = QWidget()
        layout = QVBoxLayout(body)
        self.tabs = QTabWidget()
        detect = QWidget()
        dl = QVBoxLayout(detect)
        dl.addWidget(self._build_inputs())
        dl.addStretch(1)
        self.tabs.addTab(detect, tr("自动识别", "Detect"))
        self.tabs.addTab(self._build_review_tab(), tr("候选审核", "Review"))
        self.tabs.addTab(self._build_register_tab(), tr("隐患登记", "Register"))
        self.tabs.addTab(self._build_progress_tab(), tr("县区进度", "Progress"))
        layout.addWidget(self.tabs, 1)
        self.setWidget(body)
        self._refresh_tables()
        self._ensure_layers()

    # ==================================================================================
    # building
    # ==================================================================================
    def _build_inputs(self) -> QWidget:
        box = self.make_inputs(title=tr("自动识别", "Detection"))
        form = box.layout()
        params = self.make_form()
        params.setFlat(True)
        form.addRow(params)
        buttons = QHBoxLayout()
        buttons.addWidget(self.make_run_button(tr("运行自动识别", "Detect")))
        buttons.addWidget(self.make_report_button())
        self.report_button.setText(tr("导出识别报告…", "Export detection report…"))
        form.addRow(buttons)
        form.addRow(self.make_summary())
        return box

    def _build_review_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        row = QHBoxLayout()
        self.kind_filter = QComboBox()
        self.kind_filter.addItem(tr("全部类型", "All kinds"), None)
        for k in KINDS:
            self.kind_filter.addItem(kind_label(k), k)
        self.kind_filter.currentIndexChanged.connect(lambda *_: self._refresh_candidates())
        row.addWidget(self.kind_filter)
        row.addStretch(1)
        v.addLayout(row)
        self.candidate_table = result_table([tr("类型", "Kind"), tr("道路", "Road"), tr("桩号", "Chainage"),
                                             tr("指标", "Measure"), tr("说明", "Note")])
        self.candidate_table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.candidate_table.cellClicked.connect(
            lambda r, c: self._zoom_to(self.register.candidates, self._cand_ids, self.candidate_table.source_row(r)))
        v.addWidget(self.candidate_table, 1)
        buttons = QHBoxLayout()
        for text, slot in ((tr("采纳所选", "Accept selected"), self.accept_selected),
                           (tr("排除所选", "Reject selected"), self.reject_selected),
                           (tr("全部采纳", "Accept all shown"), self.accept_all_shown),
                           (tr("全部排除", "Reject all shown"), self.reject_all_shown)):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, f=slot: f())
            buttons.addWidget(b)
        v.addLayout(buttons)
        return page

    def _build_register_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        row = QHBoxLayout()
        self.mark_button = QPushButton(tr("在地图上标注", "Mark on the map"))
        self.mark_button.setCheckable(True)
        self.mark_button.toggled.connect(self.set_marking)
        self.new_kind = QComboBox()
        for k in KINDS:
            self.new_kind.addItem(kind_label(k), k)
        self.drag_button = QPushButton(tr("拖动端点", "Drag ends"))
        self.drag_button.setCheckable(True)
        self.drag_button.setToolTip(tr("在地图上沿道路拖动路段的起点或终点", "Drag a segment's ends along its road"))
        self.drag_button.toggled.connect(self.set_dragging)
        row.addWidget(self.mark_button)
        row.addWidget(self.drag_button)
        row.addWidget(QLabel(tr("类型", "Kind")))
        row.addWidget(self.new_kind)
        row.addStretch(1)
        v.addLayout(row)
        self.segment_table = result_table([tr("县区", "County"), tr("道路", "Road"), tr("类型", "Kind"),
                                           tr("桩号", "Chainage"), tr("风险等级", "Risk level"), tr("状态", "Status"),
                                           tr("整改期限", "Deadline"), tr("说明", "Note")])
        self.segment_table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.segment_table.itemSelectionChanged.connect(self._on_segment_selected)
        self.segment_table.cellClicked.connect(
            lambda r, c: self._zoom_to(self.register.segments, self._seg_ids, self.segment_table.source_row(r)))
        self.segment_table.cellDoubleClicked.connect(lambda r, c: self.edit_chainage() if c == 3 else None)
        # Delete removes the selected rows (one undoable step), as in the attribute table
        self.delete_shortcut = QShortcut(QKeySequence(QKeySequence.Delete), self.segment_table)
        self.delete_shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        self.delete_shortcut.activated.connect(self.delete_selected)
        v.addWidget(self.segment_table, 1)

        edit = QGroupBox(tr("编辑所选路段", "Edit the selected segment"))
        form = QFormLayout(edit)
        self.kind_edit = QComboBox()
        for k in KINDS:
            self.kind_edit.addItem(kind_label(k), k)
        self.severity_edit = QComboBox()
        for k in SEVERITIES:
            self.severity_edit.addItem(severity_label(k), k)
        self.status_edit = QComboBox()
        for k in reg.STATUSES:
            self.status_edit.addItem(status_label(k), k)
        self.deadline_check = QCheckBox(tr("设定期限", "Deadline"))
        self.deadline_edit = QDateEdit()
        self.deadline_edit.setCalendarPopup(True)
        self.deadline_edit.setDisplayFormat("yyyy-MM-dd")
        self.deadline_edit.setDate(QDate.currentDate().addMonths(3))
        self.deadline_check.toggled.connect(self.deadline_edit.setEnabled)
        self.deadline_edit.setEnabled(False)
        deadline_row = QHBoxLayout()
        deadline_row.addWidget(self.deadline_check)
        deadline_row.addWidget(self.deadline_edit, 1)
        self.note_edit = QLineEdit()
        form.addRow(tr("类型", "Kind"), self.kind_edit)
        form.addRow(tr("风险等级", "Risk level"), self.severity_edit)
        form.addRow(tr("状态", "Status"), self.status_edit)
        form.addRow(tr("整改期限", "Deadline"), deadline_row)
        form.addRow(tr("说明", "Note"), self.note_edit)
        self.apply_button = QPushButton(tr("应用修改", "Apply"))
        self.apply_button.clicked.connect(self.apply_edit)
        form.addRow(self.apply_button)
        v.addWidget(edit)

        buttons = QHBoxLayout()
        for text, slot in ((tr("修改桩号…", "Chainage…"), self.edit_chainage),
                           (tr("拆分…", "Split…"), self.split_selected), (tr("合并", "Merge"), self.merge_selected),
                           (tr("删除", "Delete"), self.delete_selected),
                           (tr("变更记录…", "History…"), self.show_history),
                           (tr("导出Excel…", "Excel…"), self.export_excel),
                           (tr("导出GeoPackage…", "GeoPackage…"), self.export_gpkg)):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, f=slot: f())
            buttons.addWidget(b)
        v.addLayout(buttons)
        return page

    def _build_progress_tab(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        self.progress_table = result_table([tr("县区", "County")] + [kind_label(k) for k in KINDS]
                                           + [tr("合计", "Total")] + [status_label(s) for s in reg.STATUSES]
                                           + [tr("销号率", "Closed %"), tr("逾期", "Overdue")])
        v.addWidget(self.progress_table, 1)
        return page

    # ==================================================================================
    # detection and review
    # ==================================================================================
    def roads_layer(self):
        return self.roads_combo.layer()

    @property
    def record(self):
        """Provenance of the detection behind the candidates (kept in the project with the register)."""
        return self.register.detection

    def show_native(self, native):
        """Put the detected segments in the review list (one undoable step, with the detection's provenance)."""
        segments, _record = native
        candidates = reg.segments_from_candidates(segments)
        push(self.host, reg.SetCandidates(self.register, candidates, detection=self.analysis_result.provenance))
        self.tabs.setCurrentIndex(1)
        if self._cand_ids:
            # the city-wide extent makes 50–100 m segments invisible: go to the first candidate of the list
            self.candidate_table.selectRow(0)
            self._zoom_to(self.register.candidates, self._cand_ids, self.candidate_table.source_row(0))

    def summary_text(self) -> str:
        segments = self.analysis_result.native[0]
        counts = segments["kind"].value_counts()
        parts = tr("，", ", ").join(f"{kind_label(k)} {int(counts.get(k, 0))}" for k in KINDS)
        return tr(f"识别候选 {len(segments)} 处：{parts}", f"{len(segments)} candidates: {parts}")

    def _selected_ids(self, table, ids) -> list[str]:
        return [ids[r] for r in table.selected_source_rows() if r < len(ids)]

    def accept_selected(self, ids=None):
        ids = ids if ids is not None else self._selected_ids(self.candidate_table, self._cand_ids)
        if ids:
            push(self.host, reg.AcceptCandidates(self.register, ids))

    def reject_selected(self, ids=None):
        ids = ids if ids is not None else self._selected_ids(self.candidate_table, self._cand_ids)
        if ids:
            push(self.host, reg.RejectCandidates(self.register, ids))

    def accept_all_shown(self):
        self.accept_selected(list(self._cand_ids))

    def reject_all_shown(self):
        self.reject_selected(list(self._cand_ids))

    # ==================================================================================
    # marking and editing
    # ==================================================================================
    def set_marking(self, on: bool) -> None:
        """Switch the two-click marking tool on or off."""
        if on:
            if self.drag_button.isChecked():
                self.drag_button.setChecked(False)
            self.host.use_map_tool(self.tool)
        elif self.host.map_tool() is self.tool:
            self.host.use_map_tool(None)
        if self.mark_button.isChecked() != on:
            self.mark_button.setChecked(on)

    def set_dragging(self, on: bool) -> None:
        """Switch the end-dragging tool on or off."""
        if on:
            if self.mark_button.isChecked():
                self.mark_button.setChecked(False)
            self.host.use_map_tool(self.end_tool)
        elif self.host.map_tool() is self.end_tool:
            self.host.use_map_tool(None)
        if self.drag_button.isChecked() != on:
            self.drag_button.setChecked(on)

    def move_segment_end(self, seg_id, start_m, end_m, road_geom, road_crs):
        """A dragged end: the segment between the new chainages, cut from its road (one undoable step)."""
        try:
            return push(self.host, reg.SetExtent(self.register, seg_id, start_m, end_m, road_geom, road_crs))
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None

    def create_segment(self, layer, index, p1, p2):
        """Register a manual segment of road ``index`` of ``layer`` between two map clicks."""
        row = layer.gdf.iloc[index]
        name = str(row.get("name", "") or "") if hasattr(row, "get") else ""
        code = str(row.get("code", "") or "") if hasattr(row, "get") else ""
        try:
            seg = reg.segment_on_road(layer.gdf.geometry.iloc[index], layer.gdf.crs, p1, p2,
                                      points_crs=self.host.project.map_crs, road=name or code, road_code=code,
                                      kind=self.new_kind.currentData(), source="manual")
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None
        seg.county = self._county_of(seg)
        push(self.host, reg.CreateSegments(self.register, [seg]))
        self.tabs.setCurrentIndex(2)
        self.select_segment(seg.id)
        return seg

    def _county_of(self, seg) -> str:
        counties = self.counties_combo.layer()
        if counties is None or seg.geometry is None:
            return ""
        from riskmap.analysis.roads import assign_counties

        one = gpd.GeoDataFrame(geometry=[seg.geometry], crs=self.register.crs)
        return str(assign_counties(one, counties.gdf)[0])

    def select_segment(self, seg_id: str) -> None:
        if seg_id in self._seg_ids:
            self.segment_table.select_source_rows([self._seg_ids.index(seg_id)])

    def selected_segments(self) -> list[str]:
        return self._selected_ids(self.segment_table, self._seg_ids)

    def _on_segment_selected(self):
        ids = self.selected_segments()
        if len(ids) != 1:
            return
        seg = self.register.get(ids[0])
        self.kind_edit.setCurrentIndex(self.kind_edit.findData(seg.kind))
        self.severity_edit.setCurrentIndex(self.severity_edit.findData(seg.severity))
        self.status_edit.setCurrentIndex(self.status_edit.findData(seg.status))
        self.deadline_check.setChecked(bool(seg.deadline))
        if seg.deadline:
            self.deadline_edit.setDate(QDate.fromString(seg.deadline, "yyyy-MM-dd"))
        self.note_edit.setText(seg.note)

    def apply_edit(self):
        """Apply the form to the selected segment (one undoable step)."""
        ids = self.selected_segments()
        if len(ids) != 1:
            self.host.show_status(tr("请选择一个路段", "Select one segment"), 5000)
            return None
        seg = self.register.get(ids[0])
        deadline = self.deadline_edit.date().toString("yyyy-MM-dd") if self.deadline_check.isChecked() else None
        wanted = {"kind": self.kind_edit.currentData(), "severity": self.severity_edit.currentData(),
                  "status": self.status_edit.currentData(), "deadline": deadline, "note": self.note_edit.text()}
        changes = {k: v for k, v in wanted.items() if getattr(seg, k) != v}
        if not changes:
            return None
        try:
            return push(self.host, reg.EditSegment(self.register, seg.id, **changes))
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None

    def split_selected(self, at_m: float | None = None):
        ids = self.selected_segments()
        if len(ids) != 1:
            self.host.show_status(tr("请选择一个路段", "Select one segment"), 5000)
            return None
        seg = self.register.get(ids[0])
        if at_m is None:
            text, ok = QInputDialog.getText(self, tr("拆分路段", "Split segment"),
                                            tr(f"拆分点桩号（{seg.km_label} 之间）", f"Split at ({seg.km_label})"),
                                            text=seg.km((seg.start_m + seg.end_m) / 2))
            if not ok:
                return None
            try:
                at_m = seg.stations.measure(parse_km_post(text))
            except RiskmapError as exc:
                self.host.show_error(exc)
                return None
        try:
            return push(self.host, reg.SplitSegment(self.register, seg.id, at_m))
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None

    def edit_chainage(self, text: str | None = None):
        """Type new 桩号 (``K12+300–K12+420``) for the selected segment; it is cut again from its road (undoable)."""
        ids = self.selected_segments()
        if len(ids) != 1:
            self.host.show_status(tr("请选择一个路段", "Select one segment"), 5000)
            return None
        seg = self.register.get(ids[0])
        if text is None:
            text, ok = QInputDialog.getText(self, tr("修改桩号", "Chainage"),
                                            tr(f"新的桩号范围（现为 {seg.km_label}）：",
                                               f"New chainage range (now {seg.km_label}):"), text=seg.km_label)
            if not ok:
                return None
        try:
            start_m, end_m = reg.parse_km_range(text, seg.stations)
            roads = self.roads_layer()
            if roads is None:
                raise RiskmapError(tr("请先在“自动识别”页选择道路图层", "Choose the road layer first"))
            index = reg.road_of_segment(seg, roads.gdf)
            return push(self.host, reg.SetExtent(self.register, seg.id, start_m, end_m,
                                                 roads.gdf.geometry.iloc[index], roads.gdf.crs))
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None

    def show_history(self, segment: str | None = None):
        """变更记录: the history of the selected segment (or of all; a county can be chosen in the dialog)."""
        from riskmap.ui.register_history import HistoryDialog

        if segment is None:
            ids = self.selected_segments()
            segment = ids[0] if len(ids) == 1 else None
        dialog = HistoryDialog(self.register, segment, self.host.widget)
        dialog.setModal(False)
        dialog.show()
        self.history_dialog = dialog
        return dialog

    def merge_selected(self):
        ids = self.selected_segments()
        if len(ids) != 2:
            self.host.show_status(tr("请选择两个相邻路段", "Select two adjacent segments"), 5000)
            return None
        try:
            return push(self.host, reg.MergeSegments(self.register, ids[0], ids[1]))
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None

    def delete_selected(self):
        ids = self.selected_segments()
        if ids:
            return push(self.host, reg.DeleteSegments(self.register, ids))
        return None

    def export_excel(self, path=None):
        """The register (segments, per-county progress, 来源说明 with the detection's provenance) as .xlsx."""
        from riskmap.exports.report import write_register_excel

        return self._export(path, write_register_excel, tr("导出隐患登记表", "Export register"),
                            tr("道路隐患登记.xlsx", "road_hazard_register.xlsx"), "Excel (*.xlsx)")

    def export_gpkg(self, path=None):
        """The register's segments and candidates as a GeoPackage (provenance in its metadata)."""
        from riskmap.exports.report import write_register_gpkg

        return self._export(path, write_register_gpkg, tr("导出隐患路段", "Export segments"),
                            tr("道路隐患路段.gpkg", "road_hazards.gpkg"), "GeoPackage (*.gpkg)")

    def _export(self, path, write, title, default_name, file_filter):
        if path is None:
            path = self.host.ask_save_path(title, default_name, file_filter)
            if not path:
                return None
        try:
            written = write(self.register, path)
        except RiskmapError as exc:
            self.host.show_error(exc)
            return None
        self.host.show_status(tr(f"已导出：{written}", f"Written: {written}"))
        return written

    # ==================================================================================
    # views of the register
    # ==================================================================================
    def _on_register_changed(self, what=None, ids=None, **_):
        try:
            self._refresh_tables()
            self._update_layers(what)
        except RuntimeError:  # the panel was deleted
            pass

    def _refresh_tables(self):
        self._refresh_candidates()
        self._refresh_segments()
        self._refresh_progress()

    def _refresh_candidates(self):
        kind = self.kind_filter.currentData()
        cands = [c for c in self.register.candidates.values() if kind is None or c.kind == kind]
        self._cand_ids = [c.id for c in cands]
        self.candidate_table.set_columns([[kind_label(c.kind) for c in cands], [c.road for c in cands],
                                          Column([c.km_label for c in cands], key=[c.start_m for c in cands]),
                                          [measure_text(c) for c in cands], [c.note for c in cands]])

    def _refresh_segments(self):
        selected = set(self.selected_segments()) if hasattr(self, "_seg_ids") else set()
        segs = list(self.register)
        self._seg_ids = [s.id for s in segs]
        t = self.segment_table
        t.blockSignals(True)
        overdue = [OVERDUE_COLOR if s.overdue() else None for s in segs]
        t.set_columns([[s.county for s in segs], [s.road for s in segs], [kind_label(s.kind) for s in segs],
                       Column([s.km_label for s in segs], key=[s.start_m for s in segs]),
                       [severity_label(s.severity) for s in segs], [status_label(s.status) for s in segs],
                       Column([s.deadline or "" for s in segs], foreground=overdue), [s.note for s in segs]])
        t.select_source_rows([i for i, sid in enumerate(self._seg_ids) if sid in selected])
        t.blockSignals(False)

    def _refresh_progress(self):
        summary = self.register.progress_summary()
        columns = [summary[c].to_numpy() for c in summary.columns]
        pct = summary.iloc[:, -2].to_numpy(dtype=float, na_value=np.nan)
        columns[-2] = Column(pct, fmt=lambda v: "" if v != v else f"{v:.0f}%")
        self.progress_table.set_columns(columns)

    def _ensure_layers(self):
        """Show the register on the map when the project has no such layer yet."""
        names = {layer.name for layer in self.host.project.layers}
        if len(self.register) and tr(*REGISTER_LAYER) not in names:
            self._update_layers("segments")
        if self.register.candidates and tr(*CANDIDATE_LAYER) not in names:
            self._update_layers("candidates")

    def _update_layers(self, what):
        from riskmap.exports.report import register_record

        record = register_record(self.register)
        if what in (None, "segments"):
            layer = self.host.add_result_layer(self.register.to_gdf(), tr(*REGISTER_LAYER), style=hazard_style(),
                                               group="hazards", provenance=record)
            layer.aliases.update({k: v for k, v in reg.REGISTER_ALIASES.items() if k in layer.gdf.columns})
        if what in (None, "candidates"):
            layer = self.host.add_result_layer(self.register.to_gdf("candidates"), tr(*CANDIDATE_LAYER),
                                               style=hazard_style(candidates=True), provenance=record)
            layer.aliases.update({k: v for k, v in reg.REGISTER_ALIASES.items() if k in layer.gdf.columns})

    def _zoom_to(self, store, ids, row):
        if row >= len(ids) or ids[row] not in store:
            return
        seg = store[ids[row]]
        if seg.geometry is None:
            return
        self.zoom_to_frame(gpd.GeoDataFrame(geometry=[seg.geometry], crs=self.register.crs))

    def closeEvent(self, event):
        self.set_marking(False)
        self.set_dragging(False)
        super().closeEvent(event)


__all__ = ["RoadHazardPanel", "hazard_style", "KIND_COLORS"]
