"""Analysis panel: pipeline high-consequence areas (GB 32167-2015) and protection corridors.

Runs the declared ``pipelines`` analysis (:func:`riskmap.analysis.pipelines.analyse_pipelines`)
in the background; inputs and parameters come from its declaration. It shows the HCA segments
(grades I/II/III in yellow/orange/red), the protection bands and the targets inside them on the
map, with a table whose rows zoom to their segment, and exports the report.
"""
from __future__ import annotations

from PyQt5.QtWidgets import QVBoxLayout, QWidget

from riskmap.i18n import tr
from riskmap.layers.style import Style
from riskmap.ui.panels.common import AnalysisPanel, set_row

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

    analysis_name = "pipelines"

    def __init__(self, window):
        super().__init__(window, object_name="PipelinesPanel")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.make_inputs())
        layout.addWidget(self.make_form())
        self.add_run_and_results(layout, [tr("管道", "Pipeline"), tr("等级", "Grade"), tr("起点(m)", "From (m)"),
                                          tr("终点(m)", "To (m)"), tr("原因", "Reason")])
        self.setWidget(body)

    # -- results ------------------------------------------------------------------
    def show_native(self, result):
        """Put the result layers on the map and fill the table."""
        self.add_layer(result.corridors, tr("管道保护范围", "Pipeline protection bands"), corridor_style(),
                       "corridors")
        self.add_layer(result.hca, tr("管道高后果区", "Pipeline HCAs"), hca_style(), "hca")
        self.add_layer(result.encroachments, tr("保护范围内目标", "Targets in protection bands"),
                       encroachment_style(), "encroachments")
        hca_df = result.hca
        self.table.setRowCount(len(hca_df))
        for i, (name, grade, s, e, reason) in enumerate(zip(hca_df["name"], hca_df["hca_grade"], hca_df["start_m"],
                                                            hca_df["end_m"], hca_df["reason"])):
            set_row(self.table, i, [name, grade, f"{s:.0f}", f"{e:.0f}", reason], HCA_COLORS.get(grade))
        if len(hca_df):
            self.zoom_to_frame(hca_df)

    def _zoom_to_row(self, row, _col=None):
        if self.result is None or row >= len(self.result.hca):
            return
        self.zoom_to_frame(self.result.hca.iloc[[row]])


__all__ = ["PipelinesPanel", "hca_style", "corridor_style", "HCA_COLORS"]
