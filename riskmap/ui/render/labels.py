"""Labels: anchors, greedy placement on an occupancy grid, the CJK font with a halo."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import shapely
from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QBrush, QColor, QFontMetricsF, QImage, QPainter, QPainterPath, QPen

from riskmap.ui.fonts import pixel_font
from riskmap.ui.render.geometry import PREPARED
from riskmap.ui.render.vector import visible_features
from riskmap.ui.render.view import new_image

if TYPE_CHECKING:
    from riskmap.ui.render.job import LayerSnapshot

#: Most label candidates considered per layer and view (collision keeps far fewer).
MAX_LABEL_CANDIDATES = 1500


# ---------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------
def label_font_px(geom_type: str, scale: float) -> float:
    """Label text height in device pixels."""
    return (14.0 if geom_type == "Polygon" else 12.0) * scale


def wants_labels(snap: LayerSnapshot) -> bool:
    """Whether ``snap`` has labels to draw (a vector layer with a label field present)."""
    return (snap.kind == "vector" and not snap.highlight and bool(snap.style.label_field)
            and snap.table is not None and snap.style.label_field in snap.table)


def is_obstacle(snap: LayerSnapshot) -> bool:
    """Whether labels should keep off this snapshot's features (point symbols, as in QGIS)."""
    return snap.kind == "vector" and not snap.highlight and snap.geom_type == "Point"


class _Occupancy:
    """A coarse boolean grid of where labels and point symbols already are."""

    def __init__(self, width: int, height: int, cell: float):
        self.cell = cell
        self.grid = np.zeros((int(height // cell) + 2, int(width // cell) + 2), bool)  # labels and symbols
        self.labels = np.zeros_like(self.grid)  # labels only

    def _cells(self, rect: QRectF):
        c = self.cell
        gh, gw = self.grid.shape
        x0 = min(max(int(math.floor(rect.left() / c)), 0), gw)
        x1 = min(max(int(math.floor(rect.right() / c)) + 1, 0), gw)
        y0 = min(max(int(math.floor(rect.top() / c)), 0), gh)
        y1 = min(max(int(math.floor(rect.bottom() / c)) + 1, 0), gh)
        return slice(y0, y1), slice(x0, x1)

    def free(self, rect: QRectF) -> bool:
        return not self.grid[self._cells(rect)].any()

    def free_of_labels(self, rect: QRectF) -> bool:
        return not self.labels[self._cells(rect)].any()

    def take(self, rect: QRectF) -> None:
        cells = self._cells(rect)
        self.grid[cells] = True
        self.labels[cells] = True

    def take_points(self, px: np.ndarray, py: np.ndarray, radius: float) -> None:
        """Mark the squares of side ``2 · radius`` around points (one scatter, then a dilation)."""
        c = self.cell
        gh, gw = self.grid.shape
        gx = np.floor(px / c)
        gy = np.floor(py / c)
        ok = np.isfinite(gx) & np.isfinite(gy) & (gx >= 0) & (gx < gw) & (gy >= 0) & (gy < gh)
        centres = np.zeros_like(self.grid)
        centres[gy[ok].astype(np.int64), gx[ok].astype(np.int64)] = True
        reach = int(math.ceil(radius / c))
        self.grid |= _dilate(centres, reach)


#: Candidate shifts of an area label from its anchor, in label widths and heights.
_AREA_LABEL_SHIFTS = ((0.0, 0.0), (0.0, -1.1), (0.0, 1.1), (-0.6, 0.0), (0.6, 0.0), (0.0, -2.2), (0.0, 2.2),
                      (-0.6, -1.1), (0.6, -1.1), (-0.6, 1.1), (0.6, 1.1))


def _dilate(mask: np.ndarray, reach: int) -> np.ndarray:
    """``mask`` grown by ``reach`` cells in x and y (a square), by OR-ing shifted copies."""
    if reach <= 0:
        return mask
    out = mask.copy()
    for d in range(1, reach + 1):
        out[:, d:] |= mask[:, :-d]
        out[:, :-d] |= mask[:, d:]
    rows = out.copy()
    for d in range(1, reach + 1):
        out[d:, :] |= rows[:-d, :]
        out[:-d, :] |= rows[d:, :]
    return out


def render_labels(snaps, obstacles=()) -> QImage | None:
    """One image with the labels of every snapshot in ``snaps`` (bottom layer first), or ``None``.

    Labels use the CJK font with a white halo. Placement is greedy and collision-light:
    point symbols of ``obstacles`` (snapshots of point layers) are kept clear, upper layers
    are placed first, and a label that finds no free candidate position is dropped.
    """
    snaps = [s for s in snaps if wants_labels(s)]
    if not snaps:
        return None
    view = snaps[0].view
    occupancy = _Occupancy(view.width, view.height, max(2.0, 2.0 * view.scale))
    for snap in obstacles:
        if is_obstacle(snap):
            _mark_points(snap, occupancy)
    image = new_image(view)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing, True)
    painter.setRenderHint(QPainter.TextAntialiasing, True)
    try:
        for snap in reversed(snaps):
            _place_labels(painter, snap, occupancy)
    finally:
        painter.end()
    return image


def _mark_points(snap: LayerSnapshot, occupancy: _Occupancy) -> None:
    prepared = PREPARED.get(snap.geoms)
    if not len(prepared.point_xy):
        return
    visible = visible_features(snap, snap.style.size * snap.view.scale)
    mask = visible[prepared.point_feature]
    xy = prepared.point_xy[mask]
    px, py = snap.view.to_pixels(xy[:, 0], xy[:, 1])
    occupancy.take_points(px, py, snap.style.size * snap.view.scale / 2.0)


def _place_labels(painter: QPainter, snap: LayerSnapshot, occupancy: _Occupancy) -> None:
    style, view = snap.style, snap.view
    visible = visible_features(snap, 0)
    idx = np.flatnonzero(visible)
    if idx.size == 0:
        return
    texts = snap.table[style.label_field].to_numpy()[idx]
    texts = np.array(["" if (t is None or (isinstance(t, float) and not np.isfinite(t))) else str(t)
                      for t in texts.tolist()], dtype=object)
    ok = texts != ""
    idx, texts = idx[ok][:MAX_LABEL_CANDIDATES], texts[ok][:MAX_LABEL_CANDIDATES]
    if idx.size == 0:
        return
    snap.check()
    anchors, placed_ok = _label_anchors(snap, idx)
    px, py = view.to_pixels(anchors[:, 0], anchors[:, 1])
    font = pixel_font(label_font_px(snap.geom_type, view.scale), bold=snap.geom_type == "Polygon")
    metrics = QFontMetricsF(font)
    halo_pen = QPen(QBrush(QColor(255, 255, 255, 230)), max(2.0, 3.0 * view.scale), Qt.SolidLine, Qt.RoundCap,
                    Qt.RoundJoin)
    text_brush = QBrush(QColor("#202020"))
    offset = style.size * view.scale / 2.0 + 3 * view.scale
    frame = QRectF(0, 0, view.width, view.height)
    for x, y, text, ok_anchor in zip(px.tolist(), py.tolist(), texts.tolist(), placed_ok.tolist()):
        if not ok_anchor or not (math.isfinite(x) and math.isfinite(y)):
            continue
        w, h = metrics.horizontalAdvance(text), metrics.height()
        if snap.geom_type == "Point":  # right, left, above, below the symbol
            candidates = (QRectF(x + offset, y - h / 2.0, w, h), QRectF(x - offset - w, y - h / 2.0, w, h),
                          QRectF(x - w / 2.0, y - offset - h, w, h), QRectF(x - w / 2.0, y + offset, w, h))
        else:  # on the anchor, else around it
            candidates = tuple(QRectF(x - w / 2.0 + dx * w, y - h / 2.0 + dy * h, w, h)
                               for dx, dy in _AREA_LABEL_SHIFTS)
        inner = [c for c in candidates if frame.contains(c.center())]
        rect = next((c for c in inner if occupancy.free(c.adjusted(1, 1, -1, -1))), None)
        if rect is None and snap.geom_type == "Polygon":
            # area names (counties) matter more than keeping clear of point symbols
            rect = next((c for c in inner[:1] if occupancy.free_of_labels(c.adjusted(1, 1, -1, -1))), None)
        if rect is None:
            continue
        occupancy.take(rect.adjusted(-2, -1, 2, 1))
        path = QPainterPath()
        path.addText(QPointF(rect.left(), rect.top() + metrics.ascent()), font, text)
        painter.strokePath(path, halo_pen)
        painter.fillPath(path, text_brush)


def _label_anchors(snap: LayerSnapshot, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    geoms = snap.geoms[idx]
    minx, miny, maxx, maxy = snap.view.extent
    if snap.geom_type == "Point":
        pts = shapely.get_coordinates(shapely.centroid(geoms))
        return pts, np.ones(len(pts), bool)
    view_box = shapely.box(minx, miny, maxx, maxy)
    inside = shapely.contains_properly(view_box, geoms)
    clipped = np.where(inside, geoms, shapely.intersection(geoms, view_box))  # label the visible part
    if snap.geom_type == "LineString":
        merged = shapely.line_merge(clipped)
        anchor = shapely.line_interpolate_point(merged, 0.5, normalized=True)
        anchor = np.where(shapely.is_empty(anchor) | shapely.is_missing(anchor), shapely.centroid(clipped), anchor)
    else:
        anchor = shapely.point_on_surface(clipped)
    empty = shapely.is_empty(anchor) | shapely.is_missing(anchor)
    coords = np.full((len(idx), 2), np.nan)
    if (~empty).any():
        coords[~empty] = shapely.get_coordinates(anchor[~empty])
    return coords, ~empty


