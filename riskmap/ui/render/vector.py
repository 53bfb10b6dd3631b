"""Painting one vector layer snapshot: polygons, lines and point symbols, one call per colour."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
import shapely
from PyQt5 import sip
from PyQt5.QtCore import QLineF, QPointF, Qt
from PyQt5.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from riskmap.ui.render.geometry import PREPARED, PreparedGeometry
from riskmap.ui.render.symbols import color_codes, qcolor, sprites_for, style_palette
from riskmap.ui.render.view import MapView, new_image

if TYPE_CHECKING:
    from riskmap.ui.render.job import LayerSnapshot

#: Above this many line segments in one layer and view, lines are drawn without antialiasing
#: (so dense, mostly sub-pixel segments cost 30-40 % less; measured on 1M vertices).
AA_SEGMENT_LIMIT = 100_000
#: Widest pen (device pixels) drawn with flat caps; wider pens get square caps to close joints.
THIN_PEN_PX = 1.5


# ---------------------------------------------------------------------------------------
# painting helpers (numpy → Qt buffers, one call per colour)
# ---------------------------------------------------------------------------------------
def qpolygon(xy: np.ndarray) -> QPolygonF:
    """A ``QPolygonF`` filled from an ``(n, 2)`` array in one copy."""
    n = len(xy)
    poly = QPolygonF(n)
    if n:
        ptr = poly.data()
        ptr.setsize(16 * n)
        np.frombuffer(ptr, np.float64)[:] = np.ascontiguousarray(xy, np.float64).ravel()
    return poly


def _fragments(px: np.ndarray, py: np.ndarray, w: int, h: int):
    n = len(px)
    arr = sip.array(QPainter.PixmapFragment, n)
    buf = np.frombuffer(memoryview(arr), np.float64).reshape(n, 10)
    buf[:, 0] = px
    buf[:, 1] = py
    buf[:, 2:4] = 0.0
    buf[:, 4] = w
    buf[:, 5] = h
    buf[:, 6:8] = 1.0
    buf[:, 8] = 0.0
    buf[:, 9] = 1.0
    return arr



def _group_order(codes: np.ndarray, n_palette: int) -> list[int]:
    """Drawing order of colour groups: the 'other' colour first, then the palette order."""
    present = np.flatnonzero(np.bincount(np.asarray(codes, np.int64), minlength=n_palette))
    other = n_palette - 1
    order = [c for c in present.tolist() if c == other] + [c for c in present.tolist() if c != other]
    return order if n_palette > 1 else present.tolist()


# ---------------------------------------------------------------------------------------
# per-layer rendering
# ---------------------------------------------------------------------------------------
_codes_cache: OrderedDict = OrderedDict()
_codes_lock = threading.Lock()


def _feature_codes(snap: LayerSnapshot) -> np.ndarray:
    style = snap.style
    if style.mode not in ("categorized", "graduated") or snap.highlight:
        return np.zeros(len(snap.geoms), np.int64)
    key = (snap.layer_id, snap.revision, id(snap.table))
    with _codes_lock:
        hit = _codes_cache.get(key)
    if hit is not None:
        return hit
    codes = color_codes(style, snap.table)
    with _codes_lock:
        _codes_cache[key] = codes
        while len(_codes_cache) > 64:
            _codes_cache.popitem(last=False)
    return codes



def visible_features(snap: LayerSnapshot, pad_px: float) -> np.ndarray:
    view = snap.view
    minx, miny, maxx, maxy = view.extent
    px_x = (maxx - minx) / max(view.width, 1)
    px_y = (maxy - miny) / max(view.height, 1)
    box = shapely.box(minx - pad_px * px_x, miny - pad_px * px_y, maxx + pad_px * px_x, maxy + pad_px * px_y)
    idx = snap.tree.query(box)
    mask = np.zeros(len(snap.geoms), bool)
    mask[idx] = True
    if snap.subset is not None:
        sub = np.zeros(len(snap.geoms), bool)
        ok = snap.subset[(snap.subset >= 0) & (snap.subset < len(snap.geoms))]
        sub[ok] = True
        mask &= sub
    return mask


def render_vector(snap: LayerSnapshot) -> QImage:
    image = new_image(snap.view)
    if snap.geoms is None or len(snap.geoms) == 0:
        return image
    painter = QPainter(image)
    try:
        paint_vector(painter, snap)
    finally:
        painter.end()
    return image


def paint_vector(painter: QPainter, snap: LayerSnapshot) -> None:
    """Paint a vector snapshot with ``painter`` in the view's pixel coordinates (0..width, 0..height).

    :func:`render_vector` paints onto the layer's own image; the atlas paints straight onto a PDF
    page (translated to the map frame), so polygons and lines stay vector in the file.
    """
    view, style = snap.view, snap.style
    if snap.geoms is None or len(snap.geoms) == 0:
        return
    prepared = PREPARED.get(snap.geoms)
    snap.check()
    pad = style.size * view.scale + style.width * view.scale + 4
    visible = visible_features(snap, pad)
    if not visible.any():
        return
    codes = _feature_codes(snap)
    palette = style_palette(style)
    snap.check()
    if len(prepared.ring_coords):
        _paint_polygons(painter, snap, prepared, visible, codes, palette)
    snap.check()
    if len(prepared.line_coords):
        _paint_lines(painter, snap, prepared, visible, codes, palette)
    snap.check()
    if len(prepared.point_xy):
        _paint_points(painter, snap, prepared, visible, codes, palette)


def _pixel_grid(view: MapView) -> tuple[float, float]:
    return (view.extent[2] - view.extent[0]) / max(view.width, 1), \
        (view.extent[3] - view.extent[1]) / max(view.height, 1)


def _pen(color: QColor, width_px: float, dash: bool = False, cap=Qt.FlatCap) -> QPen:
    pen = QPen(color)
    pen.setWidthF(max(0.0, width_px) if width_px > 1.0 else 1.0)
    pen.setCapStyle(cap)
    pen.setJoinStyle(Qt.RoundJoin)
    if dash:
        pen.setStyle(Qt.CustomDashLine)
        pen.setDashPattern([4.0, 2.5])
    return pen


def _segment_starts(offsets: np.ndarray, part_mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the first vertex of every segment of the parts in ``part_mask`` (all if ``None``)."""
    lengths = np.diff(offsets)
    n = int(offsets[-1])
    if part_mask is None:
        ok = np.ones(n, bool)
    else:
        ok = np.repeat(part_mask, lengths)
    ends = offsets[1:][lengths > 0] - 1
    ok[ends] = False
    return np.flatnonzero(ok)


def _draw_segments(painter: QPainter, px, py, starts: np.ndarray, seg_codes, palette, pen_for) -> None:
    """One ``drawLines`` call per colour, the QLineF buffers filled straight from numpy."""
    groups = [(0, starts)] if seg_codes is None else \
        [(code, starts[seg_codes == code]) for code in _group_order(seg_codes, len(palette))]
    for code, sel in groups:
        if not len(sel):
            continue
        arr = sip.array(QLineF, len(sel))
        buf = np.frombuffer(memoryview(arr), np.float64).reshape(len(sel), 4)
        buf[:, 0] = px[sel]
        buf[:, 1] = py[sel]
        buf[:, 2] = px[sel + 1]
        buf[:, 3] = py[sel + 1]
        painter.setPen(pen_for(palette[code]))
        painter.drawLines(arr)


def _visible_parts(view, prepared: PreparedGeometry, kind: str, part_feature, visible):
    """The simplified parts (``"lines"`` or ``"rings"``) of the visible features, in pixels:
    ``(px, py, offsets, parts, sub_mask)``, or None when no part is visible."""
    part_mask = visible[part_feature]
    if not part_mask.any():
        return None
    rx, ry = _pixel_grid(view)
    coords, offsets, parts = prepared.simplified(kind, rx, ry, part_mask)
    px, py = view.to_pixels(coords[:, 0], coords[:, 1])
    return px, py, offsets, parts, part_mask[parts]


def _paint_lines(painter: QPainter, snap, prepared: PreparedGeometry, visible, codes, palette) -> None:
    view, style = snap.view, snap.style
    found = _visible_parts(view, prepared, "lines", prepared.line_feature, visible)
    if found is None:
        return
    px, py, offsets, parts, sub_mask = found
    part_codes = codes[prepared.line_feature[parts]]
    width_px = max(0.5, style.width * view.scale)
    if not style.dash:
        # one drawLines call per colour; square caps close the joints of wide pens (3-5x faster
        # than drawPolyline with round joins, measured on the sample roads)
        starts = _segment_starts(offsets, None if sub_mask.all() else sub_mask)
        antialias = len(starts) <= AA_SEGMENT_LIMIT
        painter.setRenderHint(QPainter.Antialiasing, antialias)
        seg_codes = None if len(palette) == 1 else np.repeat(part_codes, np.diff(offsets))[starts]
        cap = Qt.FlatCap if width_px <= THIN_PEN_PX else Qt.SquareCap
        _draw_segments(painter, px, py, starts, seg_codes, palette,
                       lambda colour: _pen(qcolor(colour), width_px, cap=cap))
        return
    painter.setRenderHint(QPainter.Antialiasing, True)
    painter.setBrush(Qt.NoBrush)
    xy = np.column_stack([px, py])
    local = np.flatnonzero(sub_mask)
    for code in _group_order(part_codes[local], len(palette)):
        painter.setPen(_pen(qcolor(palette[code]), width_px, style.dash, Qt.RoundCap))
        for i in local[part_codes[local] == code].tolist():
            s, e = offsets[i], offsets[i + 1]
            if e - s >= 2:
                painter.drawPolyline(qpolygon(xy[s:e]))
        snap.check()


def _paint_polygons(painter: QPainter, snap, prepared: PreparedGeometry, visible, codes, palette) -> None:
    view, style = snap.view, snap.style
    found = _visible_parts(view, prepared, "rings", prepared.ring_feature, visible)
    if found is None:
        return
    px, py, offsets, parts, sub_mask = found
    xy = np.column_stack([px, py])
    lengths = np.diff(offsets)
    ring_codes = codes[prepared.ring_feature[parts]]
    in_holed = prepared.ring_in_holed_poly[parts]
    ring_poly = prepared.ring_poly[parts]
    painter.setRenderHint(QPainter.Antialiasing, True)
    # fills: ring by ring (holes through one small path per holed polygon)
    fill_alpha = float(style.fill_opacity)
    if fill_alpha > 0:
        painter.setPen(Qt.NoPen)
        extent_px = _ring_extent_px(px, py, offsets)
        drawable = sub_mask & (lengths >= 3) & (extent_px >= 1.5)
        simple = drawable & ~in_holed
        holed = drawable & in_holed
        for code in _group_order(ring_codes[drawable], len(palette)):
            painter.setBrush(QBrush(qcolor(palette[code], fill_alpha)))
            for i in np.flatnonzero(simple & (ring_codes == code)).tolist():
                painter.drawPolygon(qpolygon(xy[offsets[i]:offsets[i + 1]]))
            rings = np.flatnonzero(holed & (ring_codes == code))
            if len(rings):
                polys = ring_poly[rings]
                for poly_id in np.unique(polys).tolist():
                    path = QPainterPath()
                    path.setFillRule(Qt.OddEvenFill)
                    for i in rings[polys == poly_id].tolist():
                        path.addPolygon(qpolygon(xy[offsets[i]:offsets[i + 1]]))
                    painter.drawPath(path)
            snap.check()
        # rings smaller than a pixel and a half: a dot, so small zones do not vanish at small scales
        tiny = sub_mask & (lengths >= 1) & ~prepared.ring_hole[parts] & (extent_px < 1.5)
        if tiny.any():
            firsts = offsets[:-1][tiny]
            painter.setRenderHint(QPainter.Antialiasing, False)
            for code in _group_order(ring_codes[tiny], len(palette)):
                painter.setPen(_pen(qcolor(palette[code], max(fill_alpha, 0.6)), 1.0))
                painter.drawPoints(qpolygon(xy[firsts[ring_codes[tiny] == code]]))
            painter.setRenderHint(QPainter.Antialiasing, True)
    # outlines: one drawLines call for solid pens
    if style.stroke and style.width > 0:
        stroke = qcolor(style.stroke)
        width_px = max(0.5, style.width * view.scale)
        painter.setBrush(Qt.NoBrush)
        if not style.dash:
            starts = _segment_starts(offsets, None if sub_mask.all() else sub_mask)
            painter.setRenderHint(QPainter.Antialiasing, len(starts) <= AA_SEGMENT_LIMIT)
            cap = Qt.FlatCap if width_px <= THIN_PEN_PX else Qt.SquareCap
            _draw_segments(painter, px, py, starts, None, [stroke.name(QColor.HexArgb)],
                           lambda _c: _pen(stroke, width_px, cap=cap))
        else:
            painter.setPen(_pen(stroke, width_px, style.dash, Qt.RoundCap))
            for i in np.flatnonzero(sub_mask & (lengths >= 2)).tolist():
                painter.drawPolyline(qpolygon(xy[offsets[i]:offsets[i + 1]]))


def _ring_extent_px(px, py, offsets) -> np.ndarray:
    lengths = np.diff(offsets)
    out = np.zeros(len(lengths))
    nz = lengths > 0
    if not nz.any() or len(px) == 0:
        return out
    starts = offsets[:-1][nz]
    wx = np.maximum.reduceat(px, starts) - np.minimum.reduceat(px, starts)
    wy = np.maximum.reduceat(py, starts) - np.minimum.reduceat(py, starts)
    out[nz] = np.maximum(wx, wy)
    return out


def _paint_points(painter: QPainter, snap, prepared: PreparedGeometry, visible, codes, palette) -> None:
    view = snap.view
    mask = visible[prepared.point_feature]
    if not mask.any():
        return
    xy = prepared.point_xy[mask]
    px, py = view.to_pixels(xy[:, 0], xy[:, 1])
    point_codes = codes[prepared.point_feature[mask]]
    sprites = snap.sprites or sprites_for(snap.style, view.scale)
    for code in _group_order(point_codes, len(palette)):
        sprite = sprites[min(code, len(sprites) - 1)]
        sel = point_codes == code
        if isinstance(sprite, QPixmap):
            painter.drawPixmapFragments(_fragments(px[sel], py[sel], sprite.width(), sprite.height()), sprite)
        else:  # off the GUI thread without a pre-made pixmap: stamp the image point by point
            hw, hh = sprite.width() / 2.0, sprite.height() / 2.0
            for x, y in zip((px[sel] - hw).tolist(), (py[sel] - hh).tolist()):
                painter.drawImage(QPointF(x, y), sprite)


