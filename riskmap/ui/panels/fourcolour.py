"""Analysis panel: 安全风险四色分布图 (four-colour risk map by township and 1 km grid).

Runs the declared ``fourcolour`` analysis (:func:`riskmap.analysis.fourcolour.assess_fourcolour`) in the
background with inputs and parameters from its declaration: result layers of the relocation, pipelines,
tailings and roads analyses when the project has them, else the raw layers (the analyses then run first).
The township layer is drawn as a choropleth in the standard colours 红/橙/黄/蓝 with its legend; the risk
items are drawn on top, coloured by level; the grid layer is added hidden. A table lists the items, highest
first; a row click zooms to it.
"""
from __future__ import annotations

from PyQt5.QtWidgets import QVBoxLayout, QWidget

from riskmap.analysis.fourcolour import COLOURS
from riskmap.exports.fourcolour_style import area_style, item_style, level_labels, split_items
from riskmap.i18n import tr
from riskmap.ui.panels.common import AnalysisPanel, set_row


class FourColourPanel(AnalysisPanel):
    """安全风险四色分布图 — the four-colour risk map."""

    analysis_name = "fourcolour"

    def __init__(self, window):
        super().__init__(window, object_name="FourColourPanel")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.make_inputs())
        layout.addWidget(self.make_form())
        self.add_run_and_results(layout, [tr("县区", "County"), tr("名称", "Name"), tr("类别", "Source"),
                                          tr("风险等级", "Risk level"), tr("说明", "Detail")])
        self.setWidget(body)

    def show_native(self, result):
        """The township choropleth, the grid (hidden) and the items on the map; the items in the table."""
        colours = result.rules.get("colours") or COLOURS
        grid = self.add_layer(result.grid, tr("四色风险网格", "Four-colour grid"), area_style(colours, None),
                              "grid_risk")
        grid.visible = False
        if result.areas is not None:
            self.add_layer(result.areas, tr("安全风险四色分布图（乡镇）", "Four-colour risk map (townships)"),
                           area_style(colours), "township_risk")
        points, lines = split_items(result.items)
        if len(lines):
            self.add_layer(lines, tr("风险路段与管段", "Risk segments"), item_style(colours, lines=True), "risk_items")
        if len(points):
            self.add_layer(points, tr("风险点", "Risk points"), item_style(colours), "risk_items")
        items = result.items
        self._order = list(items.index)
        self.table.setRowCount(len(items))
        for i, (county, name, source, level, detail) in enumerate(zip(
                items["county"], items["name"], items["source_zh"], items["level"], items["detail"])):
            set_row(self.table, i, [county, name, source, level_labels().get(level, level), detail],
                    colours.get(level))
        target = result.areas if result.areas is not None else items
        if target is not None and len(target):
            self.zoom_to_frame(target)

    def _zoom_to_row(self, row, _col=None):
        if self.result is None or row >= len(getattr(self, "_order", [])):
            return
        self.zoom_to_frame(self.result.items.loc[[self._order[row]]])


__all__ = ["FourColourPanel", "area_style", "item_style", "level_labels", "split_items"]
