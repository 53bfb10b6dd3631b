"""County selector for the toolbar: pick a county to zoom to it; counties are labelled on the map."""
from __future__ import annotations

import dataclasses

import shapely
from PyQt5.QtWidgets import QComboBox, QSizePolicy

from riskmap.i18n import tr
from riskmap.layers import VectorLayer

#: Layer names recognised as the county boundaries (the sample's and common ones).
COUNTY_LAYER_NAMES = ("县区边界", "县区", "区县", "行政区划", "counties", "county")
NAME_FIELDS = ("name", "名称", "县区", "NAME", "county")


def find_county_layer(project) -> VectorLayer | None:
    """The county-boundary layer: ``extras["county_layer"]`` (a layer id), else by name, else by fields."""
    wanted = project.extras.get("county_layer")
    polygons = [lyr for lyr in project.layers if isinstance(lyr, VectorLayer) and lyr.geom_type == "Polygon"]
    for layer in polygons:
        if wanted and layer.id == wanted:
            return layer
    for layer in polygons:
        if layer.name.strip().lower() in COUNTY_LAYER_NAMES:
            return layer
    for layer in polygons:
        if "adcode" in layer.gdf.columns and name_field(layer):
            return layer
    return None


def name_field(layer) -> str | None:
    """The field holding the county names."""
    for field in NAME_FIELDS:
        if field in layer.gdf.columns:
            return field
    return None


def ensure_labels(project, layer) -> None:
    """Label the counties with their names unless the style labels something already.

    This is a display default, not a user edit, so the project stays unmodified.
    """
    field = name_field(layer)
    if field and not layer.style.label_field:
        was_modified = project.modified
        layer.style = dataclasses.replace(layer.style, label_field=field)
        project.modified = was_modified


class CountyNavigator(QComboBox):
    """Combo box of county names; choosing one zooms the map to it."""

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window_ = window
        self.layer: VectorLayer | None = None
        self.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setToolTip(tr("缩放到县区", "Zoom to a county"))
        self.activated.connect(self._on_activated)
        self.addItem(tr("— 选择县区 —", "— County —"), None)

    def refresh(self) -> None:
        """Re-read the county list from the window's project."""
        self.blockSignals(True)
        self.clear()
        self.addItem(tr("— 选择县区 —", "— County —"), None)
        project = self.window_.project
        self.layer = find_county_layer(project) if project is not None else None
        if self.layer is not None:
            ensure_labels(self.window_.project, self.layer)
            field = name_field(self.layer)
            names = self.layer.gdf[field].astype(str).tolist() if field else []
            for i, name in enumerate(names):
                self.addItem(name, i)
        self.setEnabled(self.count() > 1)
        self.blockSignals(False)

    def county_names(self) -> list[str]:
        return [self.itemText(i) for i in range(1, self.count())]

    def zoom_to_county(self, name: str) -> bool:
        """Zoom to the county called ``name``; False when there is none."""
        index = self.findText(name)
        if index < 1:
            return False
        self.setCurrentIndex(index)
        self._on_activated(index)
        return True

    def _on_activated(self, index: int) -> None:
        feature = self.itemData(index)
        if feature is None or self.layer is None or feature >= len(self.layer):
            return
        bounds = shapely.bounds(self.layer.display_geoms[feature])
        self.window_.zoom_to(tuple(float(v) for v in bounds))
