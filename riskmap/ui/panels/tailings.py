"""Analysis panel: tailings-pond grades and 头顶库 (overhead ponds).

Runs :func:`riskmap.analysis.tailings.assess_tailings` through ``window.run_task``; on the
map the 头顶库 stand out in red with their downstream corridors, other ponds are grey, and a
table lists every pond (grade, 头顶库, people and facilities downstream); a row click zooms
to the pond's corridor.
"""
from __future__ import annotations

from PyQt5.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QVBoxLayout, QWidget

from riskmap.i18n import tr
from riskmap.layers import VectorLayer
from riskmap.layers.style import Style
from riskmap.ui.panels.common import (AnalysisPanel, LayerCombo, field_score, geometry_kinds, is_raster, set_row, spin,
                                      vector_with)

OVERHEAD_COLORS = {"是": "#d7191c", "否": "#8c8c8c", "未判定": "#7b3294"}


def tailings_style() -> Style:
    """Ponds: 头顶库 large red points, others grey, undetermined purple."""
    return Style(mode="categorized", field="overhead_zh", categories=dict(OVERHEAD_COLORS), size=11.0,
                 stroke="#ffffff", symbol="triangle", label_field="name",
                 labels={"是": tr("头顶库", "Overhead pond"), "否": tr("非头顶库", "Not overhead"),
                         "未判定": tr("未判定", "Undetermined")})


def corridor_style() -> Style:
    """Downstream corridors: red fill for 头顶库, faint grey otherwise."""
    return Style(mode="categorized", field="overhead_zh", categories={"是": "#d7191c", "否": "#bdbdbd"},
                 fill_opacity=0.35, width=1.2, stroke="#a50f15",
                 labels={"是": tr("头顶库下游1km范围", "Overhead pond: 1 km downstream"),
                         "否": tr("下游1km范围", "1 km downstream")})


def path_style() -> Style:
    return Style(color="#2171b5", stroke="#2171b5", width=2.0, dash=True)


class TailingsPanel(AnalysisPanel):
    """尾矿库定等与头顶库识别 — tailings grades and overhead ponds."""

    def __init__(self, window):
        super().__init__(window, tr("尾矿库等别与头顶库", "Tailings grades and overhead ponds"), "TailingsPanel")
        body = QWidget()
        layout = QVBoxLayout(body)

        inputs = QGroupBox(tr("输入数据", "Inputs"))
        form = QFormLayout(inputs)
        self.tailings_combo = LayerCombo(window, vector_with(kinds=("point", "polygon")),
                                         field_score("capacity", "dam_height", words=("尾矿", "tailings")))
        self.dem_combo = LayerCombo(window, is_raster, field_score(words=("dem", "地形", "高程", "elevation")),
                                    optional=True)
        self.population_combo = LayerCombo(window, is_raster, field_score(words=("人口", "population", "pop")),
                                           optional=True)
        form.addRow(tr("尾矿库图层", "Tailings ponds"), self.tailings_combo)
        form.addRow(tr("DEM（流向追踪）", "DEM (flow trace)"), self.dem_combo)
        form.addRow(tr("人口栅格", "Population raster"), self.population_combo)
        layout.addWidget(inputs)

        self.facility_box = QGroupBox(tr("下游设施图层", "Downstream facility layers"))
        self.facility_layout = QVBoxLayout(self.facility_box)
        self.facility_checks: dict[str, QCheckBox] = {}
        layout.addWidget(self.facility_box)
        self._refresh_facilities()
        events = window.project.layers.events
        events.inserted.connect(self._on_layers_changed)
        events.removed.connect(self._on_layers_changed)

        params = QGroupBox(tr("参数", "Parameters"))
        pform = QFormLayout(params)
        self.downstream_spin = spin(1000, 100, 10000, 100, suffix=" m")
        self.half_width_spin = spin(250, 10, 2000, 10, suffix=" m")
        self.min_people_spin = spin(1, 0, 10000, 1)
        self.rules_combo = QComboBox()
        self.rules_combo.addItem("AQ 2006-2005", "aq2006")
        self.rules_combo.addItem(tr("GB 39496-2020（一、二等界限待核实）", "GB 39496-2020 (grade 1/2 bounds unverified)"),
                                 "gb39496")
        pform.addRow(tr("下游距离（含）", "Downstream distance (incl.)"), self.downstream_spin)
        pform.addRow(tr("走廊半宽", "Corridor half-width"), self.half_width_spin)
        pform.addRow(tr("最少人数", "Minimum people"), self.min_people_spin)
        pform.addRow(tr("定等标准", "Grade table"), self.rules_combo)
        layout.addWidget(params)

        self.add_run_and_results(layout, [tr("尾矿库", "Pond"), tr("头顶库", "Overhead"), tr("等别", "Grade"),
                                          tr("下游人数", "People downstream"), tr("原因", "Reason")])
        self.setWidget(body)

    # -- facility layers --------------------------------------------------------------
    def _on_layers_changed(self, **_):
        try:
            self._refresh_facilities()
        except RuntimeError:  # the widget was deleted
            pass

    def _refresh_facilities(self):
        previous = {lid: box.isChecked() for lid, box in self.facility_checks.items()}
        for box in self.facility_checks.values():
            self.facility_layout.removeWidget(box)
            box.deleteLater()
        self.facility_checks = {}
        for layer in self.window.project.layers:
            if not isinstance(layer, VectorLayer) or len(layer.gdf) == 0:
                continue
            cols = set(layer.gdf.columns)
            if {"capacity", "dam_height"} <= cols or "medium" in cols:
                continue  # the ponds themselves and pipelines are not downstream facilities
            if not geometry_kinds(layer):
                continue
            box = QCheckBox(layer.name)
            # data layers of targets, plants and roads; not earlier analysis results
            likely = bool(cols & {"category", "industry", "road_class"}) and getattr(layer, "group", "") != "analysis"
            box.setChecked(previous.get(layer.id, likely))
            self.facility_layout.addWidget(box)
            self.facility_checks[layer.id] = box

    def facilities(self) -> dict:
        """``{kind: GeoDataFrame}`` of the checked facility layers."""
        from riskmap.analysis.tailings import facility_kind

        out = {}
        for layer_id, box in self.facility_checks.items():
            if not box.isChecked():
                continue
            try:
                layer = self.window.project.layers.by_id(layer_id)
            except KeyError:
                continue
            kind = facility_kind(layer.gdf)
            key = kind if kind not in out else f"{kind}:{layer.name}"
            out[key] = layer.gdf
        return out

    # -- running ----------------------------------------------------------------------
    def run(self):
        """Start the analysis in the background."""
        from riskmap.analysis import tailings_rules as rules
        from riskmap.analysis.tailings import assess_tailings

        ponds = self.tailings_combo.layer()
        params = self.read_parameters(
            ponds is not None, tr("请先选择尾矿库图层", "Choose a tailings layer first"),
            lambda: rules.OverheadParameters(downstream_m=self.downstream_spin.value(),
                                             half_width_m=self.half_width_spin.value(),
                                             min_people=self.min_people_spin.value()))
        if params is None:
            return None
        grade_rules = rules.RULES_BY_NAME[self.rules_combo.currentData()]
        dem = self.dem_combo.layer()
        pop = self.population_combo.layer()
        facilities = self.facilities()
        return self.start_task(
            assess_tailings, ponds.gdf, dem.path if dem is not None else None,
            pop.path if pop is not None else None,
            facilities=facilities, grade_rules=grade_rules, params=params,
            title=tr("尾矿库头顶库识别", "Overhead tailings ponds"), on_done=self.show_result)

    # -- results ------------------------------------------------------------------------
    def show_result(self, result):
        """Put the result layers on the map and fill the table."""
        self.result = result
        w = self.window
        corridors = w.add_result_layer(result.corridors, tr("尾矿库下游范围", "Tailings downstream corridors"),
                                       style=corridor_style())
        w.add_result_layer(result.paths, tr("尾矿库下游流径", "Tailings downstream paths"), style=path_style())
        ponds = w.add_result_layer(result.tailings, tr("尾矿库等别与头顶库", "Tailings grades and overhead ponds"),
                                   style=tailings_style())
        ponds.aliases.update({"grade": "等别", "grade_basis": "定等依据", "overhead_zh": "头顶库",
                              "downstream_pop": "下游人数", "downstream_facilities": "下游重要设施",
                              "n_facilities": "下游设施数", "trace_method": "流向方法", "trace_length_m": "追踪长度(m)",
                              "pits_crossed": "穿越洼地数", "trace_stop": "追踪结束原因", "reason": "原因"})
        corridors.aliases.update({"overhead_zh": "头顶库", "downstream_pop": "下游人数",
                                  "downstream_facilities": "下游重要设施"})
        t = result.tailings.sort_values(["overhead", "grade"], ascending=[False, True], kind="stable")
        self._order = list(t.index)
        self.table.setRowCount(len(t))
        for i, (name, zh, grade, pop, reason) in enumerate(zip(t["name"], t["overhead_zh"], t["grade"],
                                                               t["downstream_pop"], t["reason"])):
            grade_text = "" if grade is None or str(grade) in ("<NA>", "nan") else f"{int(grade)}"
            pop_text = "" if pop != pop else f"{pop:.0f}"
            set_row(self.table, i, [name, zh, grade_text, pop_text, reason], OVERHEAD_COLORS.get(zh))
        n_over = int(result.tailings["overhead"].sum())
        self.summary.setText(tr(f"尾矿库 {len(t)} 座，其中头顶库 {n_over} 座（红色，含下游1km范围）",
                                f"{len(t)} tailings ponds, {n_over} overhead (red, with their 1 km corridors)"))
        flagged = result.corridors.loc[result.corridors["overhead"]]
        target = flagged if len(flagged) else result.tailings
        if len(target):
            self.zoom_to_frame(target)
        w.canvas.refresh()

    def _zoom_to_row(self, row, _col=None):
        if self.result is None or row >= len(getattr(self, "_order", [])):
            return
        idx = self._order[row]
        name = self.result.tailings.loc[idx, "name"]
        corridor = self.result.corridors.loc[self.result.corridors["name"] == name]
        target = corridor if len(corridor) else self.result.tailings.loc[[idx]]
        self.zoom_to_frame(target)


__all__ = ["TailingsPanel", "tailings_style", "corridor_style"]
