"""Analysis panel: 安全风险四色分布图 (four-colour risk map by township and 1 km grid).

Runs the declared ``fourcolour`` analysis (:func:`riskmap.analysis.fourcolour.assess_fourcolour`) in the
background with inputs and parameters from its declaration: result layers of the relocation, pipelines,
tailings and roads analyses when the project has them, else the raw layers (the analyses then run first).
The township layer is drawn as a choropleth in the standard colours 红/橙/黄/蓝 with its legend; the risk
items are drawn on top, coloured by level; the grid layer is added hidden. A table lists the items, highest
first; a row click zooms to it.
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtWidgets import QVBoxLayout, QWidget

from riskmap.analysis.fourcolour import COLOUR_NAMES, COLOURS, LEVELS, LEVELS_EN
from riskmap.i18n import tr
from riskmap.layers.style import Style
from riskmap.ui.panels.common import AnalysisPanel, set_row


def level_labels() -> dict:
    """``{level: "重大风险（红）"}`` legend labels in the UI language."""
    return {v: tr(f"{v}（{COLOUR_NAMES[v][0]}）", f"{LEVELS_EN[v]} ({COLOUR_NAMES[v][1]})") for v in LEVELS}


def area_style(colours: dict | None = None, label_field: str | None = "name") -> Style:
    """Townships or grid cells filled in the four colours (categorised on ``level``)."""
    colours = colours or COLOURS
    return Style(mode="categorized", field="level", categories={v: colours.get(v, COLOURS[v]) for v in LEVELS},
                 labels=level_labels(), fill_opacity=0.7, stroke="#5a5a5a", width=0.6, label_field=label_field)


def item_style(colours: dict | None = None, lines: bool = False) -> Style:
    """Risk items coloured by level: points with a dark outline, or wide lines."""
    colours = colours or COLOURS
    return Style(mode="categorized", field="level", categories={v: colours.get(v, COLOURS[v]) for v in LEVELS},
                 labels=level_labels(), size=8.0, stroke="#222222", width=3.0 if lines else 1.0,
                 fill_opacity=0.95, symbol="circle")


def split_items(items):
    """``(points, lines)`` of the risk items (plants and ponds; HCAs and road segments)."""
    kinds = items.geom_type.to_numpy().astype(str)
    is_line = np.char.find(kinds, "LineString") >= 0
    return items.loc[~is_line], items.loc[is_line]


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
