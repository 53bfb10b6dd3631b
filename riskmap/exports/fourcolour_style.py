"""How the 安全风险四色分布图 layers are drawn (Qt-free, shared by the window, the atlas and the HTML map).

Areas (townships, grid cells) and items are categorised on ``level`` with the rule table's colours
(standard 红 #FF0000 / 橙 #FF9900 / 黄 #FFFF00 / 蓝 #0070C0 by default) and legend labels such as
"重大风险（红）"; the styles are plain :class:`~riskmap.layers.style.Style` data, so they travel into the
project file and the HTML export unchanged.
"""
from __future__ import annotations

import numpy as np

from riskmap.analysis.fourcolour import COLOUR_NAMES, COLOURS, LEVELS, LEVELS_EN
from riskmap.i18n import tr
from riskmap.layers.style import Style


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


def add_fourcolour_layers(project, result, provenance=None) -> list:
    """Add a four-colour result's layers to ``project`` (grid hidden; townships; segments; points), styled.

    ``result`` is a :class:`~riskmap.analysis.fourcolour.FourColourResult` or its ``layers()`` dict.
    Returns the layers added.
    """
    layers = result.layers() if hasattr(result, "layers") and callable(result.layers) else dict(result)
    rules = getattr(result, "rules", None) or (provenance or {}).get("attachments", {}).get("rules") or {}
    colours = rules.get("colours") or COLOURS
    added = []
    grid = layers.get("grid_risk")
    if grid is not None and len(grid):
        layer = project.add_vector(grid, tr("四色风险网格", "Four-colour grid"), style=area_style(colours, None),
                                   group="analysis")
        layer.visible = False
        added.append(layer)
    areas = layers.get("township_risk")
    if areas is not None and len(areas):
        added.append(project.add_vector(areas, tr("安全风险四色分布图（乡镇）", "Four-colour risk map (townships)"),
                                        style=area_style(colours), group="analysis"))
    items = layers.get("risk_items")
    if items is not None and len(items):
        points, lines = split_items(items)
        if len(lines):
            added.append(project.add_vector(lines, tr("风险路段与管段", "Risk segments"),
                                            style=item_style(colours, lines=True), group="analysis"))
        if len(points):
            added.append(project.add_vector(points, tr("风险点", "Risk points"), style=item_style(colours),
                                            group="analysis"))
    for layer in added:
        if provenance is not None:
            layer.provenance = provenance
    return added


__all__ = ["add_fourcolour_layers", "area_style", "item_style", "level_labels", "split_items"]
