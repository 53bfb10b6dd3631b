"""Analysis panel: pipeline high-consequence areas (GB 32167-2015) and protection corridors.

Runs :func:`riskmap.analysis.pipelines.analyse_pipelines` through ``window.run_task`` and
shows the HCA segments (grades I/II/III in yellow/orange/red), the protection bands and the
targets inside them on the map, with a table whose rows zoom to their segment.
"""
from __future__ import annotations

from PyQt5.QtWidgets import QComboBox, QFormLayout, QGroupBox, QVBoxLayout, QWidget

from riskmap.i18n import tr
from riskmap.layers.style import Style
from riskmap.ui.panels.common import AnalysisPanel, LayerCombo, field_score, is_raster, set_row, spin, vector_with

#: HCA grade colours: I yellow, II orange, III red.
HCA_COLORS = {"I": "#f2d600", "II": "#ff8c00", "III": "#d7191c"}
BAND_COLORS = {"0–5 m": "#d7191c", "5–50 m": "#fdae61", "50–200 m": "#fee08b"}


def hca_style() -> Style:
    """HCA segments: thick lines, grade I/II/III in yellow/orange/red."""
    return Style(mode="categorized", field="hca_grade", categories=dict(HCA_COLORS), width=5.0,
                 labels={"I": tr("Ⅰ级高后果区", "HCA grade I"), "II": tr("Ⅱ级高后果区", "HCA grade II"),
                         "III": tr("Ⅲ级高后果区", "HCA grade III")}, color="#999999", stroke="#666666")


def corridor_style() -> Style:
    """Protection bands: translucent rings, red inside 5 m to yellow at 200 m."""
    return Style(mode="categorized", field="band", categories=dict(BAND_COLORS), fill_opacity=0.25, width=0.6,
                 stroke="#b35806", labels={"0–5 m": tr("5m（第三十条）", "5 m (Art. 30)"),
                                           "5–50 m": tr("5–50m（第三十五条）", "5–50 m (Art. 35)"),
                                           "50–200 m": tr("200m（第三十五条）", "200 m (Art. 35)")})


def encroachment_style() -> Style:
    return Style(color="#7b3294", stroke="#ffffff", size=9.0, symbol="circle")


# ---------------------------------------------------------------------------
# the panel
# ---------------------------------------------------------------------------
class PipelinesPanel(AnalysisPanel):
    """高后果区识别 — pipeline HCA identification and protection corridors."""

    def __init__(self, window):
        super().__init__(window, tr("管道高后果区识别", "Pipeline high-consequence areas"), "PipelinesPanel")
        body = QWidget()
        layout = QVBoxLayout(body)

        inputs = QGroupBox(tr("输入数据", "Inputs"))
        form = QFormLayout(inputs)
        self.pipelines_combo = LayerCombo(window, vector_with(kinds=("line",)),
                                          field_score("medium", "diam_mm", "press_mpa", words=("管道", "pipeline")))
        self.population_combo = LayerCombo(window, is_raster, field_score(words=("人口", "population", "pop")),
                                           optional=True)
        self.sensitive_combo = LayerCombo(window, vector_with(kinds=("point", "polygon")),
                                          field_score("category", words=("敏感", "sensitive", "学校")), optional=True)
        self.water_combo = LayerCombo(window, vector_with(kinds=("polygon", "line")),
                                      field_score(words=("水体", "water", "河", "水库")), optional=True)
        self.roads_combo = LayerCombo(window, vector_with(kinds=("line",)),
                                      field_score("road_class", words=("道路", "road", "铁路")), optional=True)
        self.enterprises_combo = LayerCombo(window, vector_with(kinds=("point", "polygon")),
                                            field_score("industry", words=("企业", "enterprise", "plant")),
                                            optional=True)
        form.addRow(tr("管道图层", "Pipelines"), self.pipelines_combo)
        form.addRow(tr("人口栅格", "Population raster"), self.population_combo)
        form.addRow(tr("特定场所/敏感目标", "Identified sites"), self.sensitive_combo)
        form.addRow(tr("水体", "Water"), self.water_combo)
        form.addRow(tr("道路/铁路", "Roads/railways"), self.roads_combo)
        form.addRow(tr("企业（易燃易爆场所）", "Enterprises (flammable sites)"), self.enterprises_combo)
        layout.addWidget(inputs)

        params = QGroupBox(tr("参数", "Parameters"))
        pform = QFormLayout(params)
        self.window_spin = spin(2000, 200, 10000, 100, suffix=" m")
        self.step_spin = spin(100, 10, 2000, 10, suffix=" m")
        self.pph_spin = spin(2.66, 1.0, 10.0, 0.01, decimals=2)
        self.class4_spin = spin(1500, 100, 100000, 100)
        self.gas_e_combo = QComboBox()
        self.gas_e_combo.addItems(["II", "I"])
        self.gas_f_combo = QComboBox()
        self.gas_f_combo.addItems(["III", "II"])
        pform.addRow(tr("滑动窗口长度", "Window length"), self.window_spin)
        pform.addRow(tr("窗口步长", "Window step"), self.step_spin)
        pform.addRow(tr("每户人数", "Persons per household"), self.pph_spin)
        pform.addRow(tr("四级地区户数（近似）", "Class-4 households (approx.)"), self.class4_spin)
        pform.addRow(tr("输气e)等级（待核实）", "Gas e) grade (verify)"), self.gas_e_combo)
        pform.addRow(tr("输气f)等级（待核实）", "Gas f) grade (verify)"), self.gas_f_combo)
        layout.addWidget(params)

        self.add_run_and_results(layout, [tr("管道", "Pipeline"), tr("等级", "Grade"), tr("起点(m)", "From (m)"),
                                          tr("终点(m)", "To (m)"), tr("原因", "Reason")])
        self.setWidget(body)

    # -- running ------------------------------------------------------------------
    def parameters(self):
        from riskmap.analysis.gb32167 import HCAParameters

        return HCAParameters(window_m=self.window_spin.value(), step_m=self.step_spin.value(),
                             persons_per_household=self.pph_spin.value(), class4_households=self.class4_spin.value(),
                             gas_other_site_grade=self.gas_e_combo.currentText(),
                             gas_flammable_grade=self.gas_f_combo.currentText())

    def run(self):
        """Start the analysis in the background."""
        from riskmap.analysis.pipelines import analyse_pipelines

        pipes = self.pipelines_combo.layer()
        params = self.read_parameters(pipes is not None, tr("请先选择管道图层", "Choose a pipelines layer first"),
                                      self.parameters)
        if params is None:
            return None
        pop = self.population_combo.layer()

        def gdf_of(combo):
            layer = combo.layer()
            return layer.gdf if layer is not None else None

        return self.start_task(
            analyse_pipelines, pipes.gdf, pop.path if pop is not None else None,
            sensitive=gdf_of(self.sensitive_combo), water=gdf_of(self.water_combo), roads=gdf_of(self.roads_combo),
            enterprises=gdf_of(self.enterprises_combo), params=params,
            title=tr("管道高后果区识别", "Pipeline HCA identification"), on_done=self.show_result)

    # -- results ------------------------------------------------------------------
    def show_result(self, result):
        """Put the result layers on the map and fill the table."""
        self.result = result
        w = self.window
        w.add_result_layer(result.corridors, tr("管道保护范围", "Pipeline protection bands"),
                                       style=corridor_style())
        hca = w.add_result_layer(result.hca, tr("管道高后果区", "Pipeline HCAs"), style=hca_style())
        enc = w.add_result_layer(result.encroachments, tr("保护范围内目标", "Targets in protection bands"),
                                 style=encroachment_style())
        for layer, aliases in ((hca, {"name": "管道名称", "medium": "介质", "diam_mm": "管径(mm)",
                                      "press_mpa": "压力(MPa)", "pir_m": "潜在影响半径(m)", "hca_grade": "高后果区等级",
                                      "start_m": "起点里程(m)", "end_m": "终点里程(m)", "length_m": "长度(m)",
                                      "households": "估算户数", "criteria": "识别准则", "reason": "原因"}),
                               (enc, {"target_kind": "类型", "name": "名称", "category": "类别",
                                      "pipeline": "管道", "distance_m": "距管道(m)", "band": "范围",
                                      "article": "条款", "rule": "规定"})):
            layer.aliases.update(aliases)
        hca_df = result.hca
        self.table.setRowCount(len(hca_df))
        for i, (name, grade, s, e, reason) in enumerate(zip(hca_df["name"], hca_df["hca_grade"], hca_df["start_m"],
                                                            hca_df["end_m"], hca_df["reason"])):
            set_row(self.table, i, [name, grade, f"{s:.0f}", f"{e:.0f}", reason], HCA_COLORS.get(grade))
        counts = hca_df["hca_grade"].value_counts()
        self.summary.setText(tr(
            f"高后果区 {len(hca_df)} 段（Ⅲ级 {counts.get('III', 0)}，Ⅱ级 {counts.get('II', 0)}，"
            f"Ⅰ级 {counts.get('I', 0)}），共 {hca_df['length_m'].sum() / 1000:.1f} km；"
            f"保护范围内目标 {len(result.encroachments)} 个",
            f"{len(hca_df)} HCA segments (III {counts.get('III', 0)}, II {counts.get('II', 0)}, "
            f"I {counts.get('I', 0)}), {hca_df['length_m'].sum() / 1000:.1f} km; "
            f"{len(result.encroachments)} targets inside protection bands"))
        if len(hca_df):
            self.zoom_to_frame(hca_df)
        w.canvas.refresh()

    def _zoom_to_row(self, row, _col=None):
        if self.result is None or row >= len(self.result.hca):
            return
        self.zoom_to_frame(self.result.hca.iloc[[row]])


__all__ = ["PipelinesPanel", "LayerCombo", "hca_style", "corridor_style", "HCA_COLORS"]
