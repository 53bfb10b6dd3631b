"""Map tools of the main window: identify, measure distance / area, select features.

Tools follow the canvas' :class:`~riskmap.ui.canvas.MapTool` protocol: they receive
mouse events with map coordinates (map CRS, EPSG:4490 lon/lat) and paint their overlay
(rubber bands, measured lines) in pixel space. Hit-testing uses each layer's STRtree
(:meth:`VectorLayer.features_at`) with a tolerance of a few pixels.
"""
from __future__ import annotations

import math

import numpy as np
import shapely
from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen, QPolygonF
from PyQt5.QtWidgets import QDockWidget, QHeaderView, QTreeWidget, QTreeWidgetItem

from riskmap import crs as crs_policy
from riskmap.crs import format_distance
from riskmap.i18n import tr
from riskmap.layers import RasterLayer, VectorLayer
from riskmap.ui.canvas import MapTool

#: Pick radius of the identify and select tools, in screen pixels.
PICK_TOLERANCE_PX = 5
#: Most features listed per layer by one identify click.
IDENTIFY_MAX_PER_LAYER = 20

_RUBBER = QColor(220, 20, 60)


# ---------------------------------------------------------------------------
# geodesic measurement (pure functions)
# ---------------------------------------------------------------------------
def _to_lonlat(xs, ys, crs):
    crs = crs_policy.parse_crs(crs)
    if crs.is_geographic:
        return np.asarray(xs, float), np.asarray(ys, float)
    lon, lat = crs_policy.transform_xy(np.asarray(xs, float), np.asarray(ys, float), crs, crs_policy.MAP_CRS)
    return np.asarray(lon, float), np.asarray(lat, float)


def geodesic_length(points, crs=crs_policy.MAP_CRS) -> float:
    """Length in metres of the polyline through ``points`` [(x, y), ...] on the ellipsoid."""
    if len(points) < 2:
        return 0.0
    xs, ys = zip(*points)
    lon, lat = _to_lonlat(xs, ys, crs)
    return float(crs_policy.geod().line_length(lon, lat))


def geodesic_area(points, crs=crs_policy.MAP_CRS) -> float:
    """Area in m² of the polygon through ``points`` (closed automatically) on the ellipsoid."""
    if len(points) < 3:
        return 0.0
    xs, ys = zip(*points)
    lon, lat = _to_lonlat(xs, ys, crs)
    area, _ = crs_policy.geod().polygon_area_perimeter(lon, lat)
    return abs(float(area))


def format_area(square_metres: float) -> str:
    """``"m²"`` below 0.1 km², ``"km²"`` above (with hectares for mid-sized areas)."""
    if square_metres < 100_000:
        return f"{square_metres:,.0f} m²"
    text = f"{square_metres / 1e6:,.3f} km²"
    if square_metres < 1e8:
        text += f" ({square_metres / 1e4:,.1f} {tr('公顷', 'ha')})"
    return text


# ---------------------------------------------------------------------------
# identify
# ---------------------------------------------------------------------------
def pick_tolerance(layer, canvas, pixels: float = PICK_TOLERANCE_PX) -> float:
    """Pick radius in map units: ``pixels`` plus half the point symbol for point layers."""
    px = float(pixels)
    if isinstance(layer, VectorLayer) and layer.geom_type == "Point":
        px = max(px, layer.style.size / 2.0 + 2.0)
    return px * canvas.map_units_per_pixel()


def identify(layers, x: float, y: float, canvas, max_per_layer: int = IDENTIFY_MAX_PER_LAYER) -> list[dict]:
    """Features and raster values under (x, y), topmost layer first.

    Returns ``[{"layer": layer, "indices": array}]`` for vector layers and
    ``[{"layer": layer, "value": float | None}]`` for rasters.
    """
    results = []
    for layer in reversed(list(layers)):
        if not layer.visible:
            continue
        if isinstance(layer, VectorLayer):
            idx = layer.features_at(x, y, pick_tolerance(layer, canvas))
            if idx.size:
                results.append({"layer": layer, "indices": idx[:max_per_layer]})
        elif isinstance(layer, RasterLayer):
            value = raster_value(layer, x, y, canvas)
            if value is not None:
                results.append({"layer": layer, "value": value})
    return results


def raster_value(layer: RasterLayer, x: float, y: float, canvas) -> float | None:
    """The raster cell value at a map point, or None outside the data / on nodata."""
    half = canvas.map_units_per_pixel() * 0.5
    try:
        arr = layer.read_view((x - half, y - half, x + half, y + half), 1, 1, canvas_crs(canvas))
    except Exception:  # outside the raster's domain: nothing to report
        return None
    if np.ma.is_masked(arr[0, 0]) or not np.isfinite(float(arr[0, 0])):
        return None
    return float(arr[0, 0])


def canvas_crs(canvas):
    project = getattr(canvas, "project", None)
    return getattr(project, "map_crs", crs_policy.MAP_CRS)


def format_value(value) -> str:
    """An attribute value as text (NaN / None → empty, floats without noise)."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return ""
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, (np.integer,)):
        return str(int(value))
    try:
        import pandas as pd

        if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def feature_title(layer: VectorLayer, index: int) -> str:
    """A short label of a feature: its name (or id) field, else ``#index``."""
    for field in ("name", "名称", "企业名称", "id"):
        if field in layer.gdf.columns:
            text = format_value(layer.gdf[field].iat[index])
            if text:
                return text
    return f"#{index + 1}"


class IdentifyDock(QDockWidget):
    """Dock listing the identified features: layer → feature → field (alias): value."""

    def __init__(self, window):
        super().__init__(tr("识别结果", "Identify results"), window)
        self.setObjectName("identify_dock")
        self.window_ = window
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([tr("字段", "Field"), tr("值", "Value")])
        self.tree.header().setSectionResizeMode(0, QHeaderView.Interactive)
        self.tree.setColumnWidth(0, 170)
        self.tree.setMinimumWidth(320)
        self.tree.itemClicked.connect(self._on_item_clicked)
        self.setWidget(self.tree)
        self.results: list[dict] = []

    def show_results(self, results: list[dict]) -> None:
        """Fill the tree; the first feature is expanded and highlighted."""
        self.results = results
        self.tree.clear()
        if not results:
            QTreeWidgetItem(self.tree, [tr("此处没有要素", "Nothing here"), ""])
        first = None
        for entry in results:
            layer = entry["layer"]
            top = QTreeWidgetItem(self.tree, [layer.name, ""])
            top.setFirstColumnSpanned(True)
            font = QFont(top.font(0))
            font.setBold(True)
            top.setFont(0, font)
            if "value" in entry:
                QTreeWidgetItem(top, [tr("像元值", "Cell value"), format_value(entry["value"])])
                top.setExpanded(True)
                continue
            for i in entry["indices"]:
                feat = QTreeWidgetItem(top, [feature_title(layer, int(i)), ""])
                feat.setFirstColumnSpanned(True)
                feat.setData(0, Qt.UserRole, (layer.id, int(i)))
                row = layer.gdf.iloc[int(i)]
                coded = layer.style.labels if layer.style.field else {}
                for field in layer.fields:
                    label = layer.aliases.get(field, field)
                    text = format_value(row[field])
                    if field == layer.style.field and text in coded and coded[text] != text:
                        text = f"{coded[text]}（{text}）"  # the legend's name for a coded value
                    child = QTreeWidgetItem(feat, [label, text])
                    child.setToolTip(0, field)
                if first is None:
                    first = feat
            top.setExpanded(True)
        if first is not None:
            first.setExpanded(True)
            self.tree.setCurrentItem(first)
            self._highlight(first)
        self.show()
        self.raise_()

    def values(self) -> dict[str, str]:
        """``{label: value}`` of the first identified feature (for tests and copying)."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                feat = top.child(j)
                if feat.childCount():
                    return {feat.child(k).text(0): feat.child(k).text(1) for k in range(feat.childCount())}
                return {feat.text(0): feat.text(1)}
        return {}

    def _on_item_clicked(self, item, _column):
        while item is not None and item.data(0, Qt.UserRole) is None:
            item = item.parent()
        if item is not None:
            self._highlight(item)

    def _highlight(self, item) -> None:
        layer_id, index = item.data(0, Qt.UserRole)
        try:
            layer = self.window_.project.layers.by_id(layer_id)
        except KeyError:
            return
        self.window_.canvas.set_highlight(layer, [index])


class IdentifyTool(MapTool):
    """Click → attributes of the features under the cursor in the identify dock."""

    cursor = Qt.WhatsThisCursor

    def __init__(self, window):
        super().__init__()
        self.window = window

    def press(self, event, x, y) -> bool:
        if event.button() != Qt.LeftButton:
            return False
        results = identify(self.window.project.layers, x, y, self.window.canvas)
        self.window.show_identify_results(results)
        return True


# ---------------------------------------------------------------------------
# measure
# ---------------------------------------------------------------------------
class MeasureTool(MapTool):
    """Click points to measure a geodesic distance (``mode="distance"``) or area (``"area"``).

    Left click adds a vertex, double click or right click finishes, Backspace removes the
    last vertex, Esc starts again. The running result is shown on the map and in the
    status bar.
    """

    cursor = Qt.CrossCursor

    def __init__(self, window, mode: str = "distance"):
        super().__init__()
        if mode not in ("distance", "area"):
            raise ValueError(f"mode must be 'distance' or 'area', not {mode!r}")
        self.window = window
        self.mode = mode
        self.points: list[tuple[float, float]] = []
        self.hover: tuple[float, float] | None = None
        self.finished = False
        self.canvas = None

    def activate(self, canvas) -> None:
        self.canvas = canvas
        self.reset()

    def deactivate(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.points, self.hover, self.finished = [], None, False
        self._update()

    # -- measurement ---------------------------------------------------------
    def _crs(self):
        return self.window.project.map_crs

    def current_points(self) -> list[tuple[float, float]]:
        pts = list(self.points)
        if self.hover is not None and not self.finished:
            pts.append(self.hover)
        return pts

    def value(self) -> float:
        """Metres (distance) or square metres (area) of the current shape."""
        pts = self.current_points()
        if self.mode == "distance":
            return geodesic_length(pts, self._crs())
        return geodesic_area(pts, self._crs())

    def text(self) -> str:
        if self.mode == "distance":
            return tr("距离：", "Distance: ") + format_distance(self.value())
        pts = self.current_points()
        perimeter = geodesic_length(pts + pts[:1], self._crs()) if len(pts) >= 3 else 0.0
        return (tr("面积：", "Area: ") + format_area(self.value()) + tr("，周长：", ", perimeter: ")
                + format_distance(perimeter))

    # -- events -----------------------------------------------------------------
    def press(self, event, x, y) -> bool:
        if event.button() == Qt.RightButton:
            self.finish()
            return True
        if event.button() != Qt.LeftButton:
            return False
        if self.finished:
            self.points, self.finished = [], False
        self.points.append((x, y))
        self._update()
        return True

    def move(self, event, x, y) -> bool:
        if self.points and not self.finished:
            self.hover = (x, y)
            self._update()
        return False  # the canvas still reports the cursor position

    def double_click(self, event, x, y) -> bool:
        self.finish()
        return True

    def key_press(self, event) -> bool:
        if event.key() == Qt.Key_Escape:
            self.reset()
            return True
        if event.key() == Qt.Key_Backspace and self.points and not self.finished:
            self.points.pop()
            self._update()
            return True
        return False

    def finish(self) -> None:
        """End the current shape and keep its result on the map."""
        self.hover = None
        self.finished = bool(self.points)
        self._update()

    def _update(self) -> None:
        if self.points:
            self.window.statusBar().showMessage(self.text())
        if self.canvas is not None:
            self.canvas.update()

    def paint(self, painter, canvas) -> None:
        pts = self.current_points()
        if not pts:
            return
        poly = QPolygonF([canvas.map_to_pixel(x, y) for x, y in pts])
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing, True)
        pen = QPen(_RUBBER, 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        if self.mode == "area" and len(pts) >= 3:
            fill = QColor(_RUBBER)
            fill.setAlpha(50)
            painter.setBrush(QBrush(fill))
            painter.drawPolygon(poly)
        else:
            painter.setBrush(Qt.NoBrush)
            painter.drawPolyline(poly)
        painter.setBrush(QBrush(Qt.white))
        for p in poly:
            painter.drawEllipse(p, 3, 3)
        _draw_label(painter, poly[poly.size() - 1] + QPointF(10, -10), self.text())
        painter.restore()


def _draw_label(painter, anchor: QPointF, text: str) -> None:
    metrics = QFontMetrics(painter.font())
    rect = QRectF(metrics.boundingRect(text)).adjusted(-4, -2, 4, 2)
    rect.moveBottomLeft(anchor)
    painter.setPen(Qt.NoPen)
    painter.setBrush(QColor(255, 255, 255, 220))
    painter.drawRoundedRect(rect, 3, 3)
    painter.setPen(QColor(40, 40, 40))
    painter.drawText(rect, Qt.AlignCenter, text)


# ---------------------------------------------------------------------------
# select
# ---------------------------------------------------------------------------
class SelectTool(MapTool):
    """Click or drag a rectangle to select features of the current (or topmost hit) layer.

    Shift or Ctrl adds to the selection; a click on empty map clears it.
    """

    cursor = Qt.PointingHandCursor

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.start = None
        self.end = None
        self.canvas = None

    def activate(self, canvas) -> None:
        self.canvas = canvas

    def deactivate(self) -> None:
        self.start = self.end = None

    def press(self, event, x, y) -> bool:
        if event.button() != Qt.LeftButton:
            return False
        self.start = self.end = (x, y)
        return True

    def move(self, event, x, y) -> bool:
        if self.start is None:
            return False
        self.end = (x, y)
        if self.canvas is not None:
            self.canvas.update()
        return True

    def release(self, event, x, y) -> bool:
        if self.start is None:
            return False
        start, self.start, self.end = self.start, None, None
        additive = bool(event.modifiers() & (Qt.ShiftModifier | Qt.ControlModifier))
        canvas = self.window.canvas
        a, b = canvas.map_to_pixel(*start), canvas.map_to_pixel(x, y)
        if abs(a.x() - b.x()) < 4 and abs(a.y() - b.y()) < 4:
            self.select_at(x, y, additive)
        else:
            self.select_box((min(start[0], x), min(start[1], y), max(start[0], x), max(start[1], y)), additive)
        canvas.update()
        return True

    def _targets(self) -> list[VectorLayer]:
        current = self.window.current_layer()
        if isinstance(current, VectorLayer) and current.visible:
            return [current]
        return [lyr for lyr in reversed(list(self.window.project.layers))
                if isinstance(lyr, VectorLayer) and lyr.visible]

    def select_at(self, x: float, y: float, additive: bool = False) -> VectorLayer | None:
        """Select the nearest feature under (x, y) in the first target layer with a hit."""
        targets = self._targets()
        for layer in targets:
            idx = layer.features_at(x, y, pick_tolerance(layer, self.window.canvas))
            if idx.size:
                chosen = idx[:1]
                layer.select(np.union1d(layer.selection, chosen) if additive else chosen)
                return layer
        if not additive:
            for layer in targets:
                if layer.selection.size:
                    layer.select([])
        return None

    def select_box(self, bbox, additive: bool = False) -> VectorLayer | None:
        """Select the features meeting ``bbox`` (map CRS) in the first target layer with any."""
        box = shapely.box(*bbox)
        for layer in self._targets():
            cand = layer.features_in_bbox(bbox)
            if cand.size:
                cand = cand[shapely.intersects(layer.display_geoms[cand], box)]
            if cand.size:
                layer.select(np.union1d(layer.selection, cand) if additive else cand)
                return layer
        return None

    def paint(self, painter, canvas) -> None:
        if self.start is None or self.end is None:
            return
        a, b = canvas.map_to_pixel(*self.start), canvas.map_to_pixel(*self.end)
        painter.save()
        pen = QPen(QColor(30, 100, 220), 1, Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(30, 100, 220, 40))
        painter.drawRect(QRectF(a, b).normalized())
        painter.restore()


__all__ = ["IdentifyTool", "MeasureTool", "SelectTool", "IdentifyDock", "identify", "geodesic_length",
           "geodesic_area", "format_distance", "format_area", "format_value", "feature_title"]
