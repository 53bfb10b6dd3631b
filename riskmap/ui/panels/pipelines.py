"""Analysis panel: pipeline high-consequence areas (GB 32167-2015) and protection corridors.

Runs the declared ``pipelines`` analysis (:func:`riskmap.analysis.pipelines.analyse_pipelines`)
in the background; inputs (including the optional protected areas and buildings) and parameters
come from its declaration. It shows the HCA segments of the transmission lines (grades I/II/III
in yellow/orange/red), the protection bands (Art. 30/35 rings, Art. 32 river crossings, Art. 33
tunnels, GB 50028 bands of city-gas mains) and the targets with a verdict (占压, 安全间距不足,
位于潜在影响半径内) on the map, with a table whose rows zoom to their segment; city-gas mains are
listed below the HCAs as 城镇燃气管道（GB 50028），不适用GB 32167. The report exports from the panel.
"""
from __future__ import annotations

import math

import numpy as np
from PyQt5.QtWidgets import QVBoxLayout, QWidget

from riskmap.i18n import tr
from riskmap.layers.style import Style
from riskmap.ui.panels.common import AnalysisPanel, Column

#: HCA grade colours: I yellow, II orange, III red.
HCA_COLORS = {"I": "#f2d600", "II": "#ff8c00", "III": "#d7191c"}
BAND_COLORS = {"art30": "#d7191c", "art35_2": "#fdae61", "art35_3": "#fee08b", "art32": "#2c7bb6",
               "art33": "#7b3294", "gb50028": "#1a9641"}


def hca_style() -> Style:
    """HCA segments: thick lines, grade I/II/III in yellow/orange/red."""
    return Style(mode="categorized", field="hca_grade", categories=dict(HCA_COLORS), width=5.0,
                 labels={"I": tr("Ⅰ级高后果区", "HCA grade I"), "II": tr("Ⅱ级高后果区", "HCA grade II"),
                         "III": tr("Ⅲ级高后果区", "HCA grade III")}, color="#999999", stroke="#666666")


def corridor_style() -> Style:
    """Protection bands: translucent rings, red inside 5 m to yellow at 200 m."""
    return Style(mode="categorized", field="band_key", categories=dict(BAND_COLORS), fill_opacity=0.25, width=0.6,
                 stroke="#b35806", labels={"art30": tr("5m（第三十条，占压）", "5 m (Art. 30)"),
                                           "art35_2": tr("5–50m（第三十五条，新建工程申请）", "5–50 m (Art. 35)"),
                                           "art35_3": tr("200m（第三十五条，爆破等申请）", "200 m (Art. 35)"),
                                           "art32": tr("穿越河流两侧500m（第三十二条）", "River crossing 500 m (Art. 32)"),
                                           "art33": tr("隧道两侧1000m（第三十三条）", "Tunnel 1000 m (Art. 33)"),
                                           "gb50028": tr("城镇燃气管道净距（GB 50028）", "City-gas spacing (GB 50028)")})


def _metres(value) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.0f}"


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
        self.add_layer(result.encroachments, tr("占压与安全间距核查", "Encroachments and spacing"),
                       encroachment_style(), "encroachments")
        hca_df = result.hca
        scope = result.scope
        outside = scope.loc[~scope["assessed"].astype(bool)] if scope is not None else scope
        n_out = 0 if outside is None else len(outside)

        def joined(hca_values, other_values, dtype=object):
            return np.concatenate([np.asarray(hca_values, dtype=dtype), np.asarray(other_values, dtype=dtype)])

        grades = joined(hca_df["hca_grade"], [tr("不适用", "n/a")] * n_out)
        metres = np.full(n_out, np.nan)
        self.table.set_columns([
            Column(joined(hca_df["name"], [] if outside is None else outside["name"])),
            Column(grades, background=joined(hca_df["hca_grade"].map(HCA_COLORS), [None] * n_out)),
            Column(joined(hca_df["start_m"], metres, float), fmt=_metres),
            Column(joined(hca_df["end_m"], metres, float), fmt=_metres),
            Column(joined(hca_df["reason"], [] if outside is None else outside["scope"])),
        ])
        if len(hca_df):
            self.zoom_to_frame(hca_df)

    def _zoom_to_row(self, row, _col=None):
        if self.result is None or row >= len(self.result.hca):
            return
        self.zoom_to_frame(self.result.hca.iloc[[row]])


__all__ = ["PipelinesPanel", "hca_style", "corridor_style", "HCA_COLORS"]
