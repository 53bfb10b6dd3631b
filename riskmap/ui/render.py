"""Map rendering with QPainter on QImage: no widgets, safe in worker threads.

The canvas, the print layout and ``riskmap print`` all draw maps through this module
(DESIGN.md, "The map canvas"):

1. :func:`snapshot` (GUI thread) freezes what a layer needs for one view: the view, a copy
   of the style and references to the layer's immutable data (shapely array, STRtree,
   attribute table, raster handle factory). Point symbols are pre-rendered here.
2. :func:`render_layer` (any thread) queries the STRtree for the visible extent, simplifies
   the geometry to about one pixel (snap to the pixel grid and drop repeated vertices;
   cached per zoom level), transforms coordinates to pixels with numpy and paints onto the
   layer's own ``QImage``: one ``drawPixmapFragments`` call per colour for points, one
   ``drawLines`` call per colour for thin lines and outlines, a ``drawPolygon`` per ring
   for fills. Rasters are read at the window and overview the view needs.
3. :func:`compose` stacks the layer images with their opacities; labels go on top.

Why not one big ``QPainterPath`` per colour: Qt's antialiased rasteriser is superlinear in
the number of subpaths (measured: 20k rings filled as one path 4.4 s, ring by ring 0.4 s;
stroking 1M vertices with a 2 px pen as one path over 30 s) and PyQt holds the GIL while
Qt paints, so the wins are doing less work and fewer Python-level calls.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely
from PyQt5 import sip
from PyQt5.QtCore import QLineF, QPointF, QRectF, QThread, Qt
from PyQt5.QtGui import (QBrush, QColor, QFontMetricsF, QGuiApplication, QImage, QLinearGradient, QPainter,
                         QPainterPath, QPen, QPixmap, QPolygonF)

from riskmap import crs as crs_policy
from riskmap.layers import RasterLayer, VectorLayer
from riskmap.layers.style import RAMPS, Style
from riskmap.ui.fonts import pixel_font

#: Map background.
BACKGROUND = "#ffffff"
#: Selection highlight colour (QGIS's default yellow).
HIGHLIGHT_COLOR = "#ffff00"
#: Most label candidates considered per layer and view (collision keeps far fewer).
MAX_LABEL_CANDIDATES = 1500
#: Above this many line segments in one layer and view, lines are drawn without antialiasing
#: (so dense, mostly sub-pixel segments cost 30-40 % less; measured on 1M vertices).
AA_SEGMENT_LIMIT = 100_000
#: Widest pen (device pixels) drawn with flat caps; wider pens get square caps to close joints.
THIN_PEN_PX = 1.5
#: Image cache of the geometry prepared per zoom level (simplified copies kept per layer).
SIMPLIFIED_LEVELS_KEPT = 4


class RenderCancelled(Exception):
    """Raised inside a render when its snapshot was cancelled (a newer view superseded it)."""


# ---------------------------------------------------------------------------------------
# the view
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapView:
    """What a render covers: ``extent`` (map CRS) drawn into ``width × height`` device pixels.

    ``dpi`` scales symbol sizes, line widths and fonts (styles are in pixels at 96 dpi).
    """

    extent: tuple
    width: int
    height: int
    dpi: float = 96.0
    map_crs: object = field(default=crs_policy.MAP_CRS, compare=False, hash=False)
    #: WKT of the map CRS and whether it is geographic, fixed on the creating (GUI) thread:
    #: workers use these and never touch a shared pyproj object (not thread-safe).
    crs_wkt: str = field(default="", compare=False, hash=False)
    geographic: bool = field(default=True, compare=False, hash=False)

    def __post_init__(self):
        if not self.crs_wkt:
            object.__setattr__(self, "crs_wkt", crs_policy.crs_wkt(self.map_crs))
            object.__setattr__(self, "geographic", crs_policy.is_geographic(self.crs_wkt))

    @property
    def scale(self) -> float:
        """Device pixels per style pixel (``dpi / 96``)."""
        return self.dpi / 96.0

    @property
    def sx(self) -> float:
        return self.width / max(self.extent[2] - self.extent[0], 1e-300)

    @property
    def sy(self) -> float:
        return self.height / max(self.extent[3] - self.extent[1], 1e-300)

    @property
    def key(self) -> tuple:
        """Hashable identity of the view for image caches."""
        return (tuple(round(v, 12) for v in self.extent), int(self.width), int(self.height), round(self.dpi, 3))

    def to_pixels(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates → device pixel coordinates (numpy, vectorised)."""
        minx, _, _, maxy = self.extent
        return (np.asarray(x, float) - minx) * self.sx, (maxy - np.asarray(y, float)) * self.sy


def aspect_factor(map_crs, lat: float, geographic: bool | None = None) -> float:
    """Map x units per pixel divided by y units per pixel for an undistorted look.

    In a geographic map CRS a degree of longitude is ``cos(lat)`` times shorter than a
    degree of latitude, so views are stretched by ``1 / cos(lat)`` in x (at Xinyang,
    32° N, 1.18); projected CRSs use 1.
    """
    if geographic is None:
        try:
            geographic = crs_policy.is_geographic(map_crs)
        except Exception:  # noqa: BLE001 - an unusual CRS object: draw it square
            geographic = False
    if not geographic or not np.isfinite(lat):
        return 1.0
    return 1.0 / math.cos(math.radians(min(abs(float(lat)), 80.0)))


def fit_extent(bbox, width: int, height: int, map_crs=crs_policy.MAP_CRS, aspect: float | None = None) -> tuple:
    """``bbox`` grown (about its centre) to the shape of a ``width × height`` image.

    ``aspect`` is x-units-per-pixel over y-units-per-pixel (default :func:`aspect_factor`
    at the box's centre latitude).
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if aspect is None:
        aspect = aspect_factor(map_crs, cy)
    w = max(maxx - minx, 1e-9)
    h = max(maxy - miny, 1e-9)
    res_y = max(w / aspect / max(width, 1), h / max(height, 1))
    half_w = res_y * aspect * width / 2.0
    half_h = res_y * height / 2.0
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


# ---------------------------------------------------------------------------------------
# geometry prepared once per data version, simplified per zoom level
# ---------------------------------------------------------------------------------------
class PreparedGeometry:
    """A layer's display geometries flattened into numpy arrays (built once per data version).

    ``points``: ``xy`` and ``feature`` per point. ``lines`` and ``rings``: ``coords`` with
    ``offsets`` per part and ``feature`` per part; rings also carry ``poly`` (which polygon
    a ring belongs to) and ``hole``. Polygons are oriented (exteriors counter-clockwise).
    """

    def __init__(self, geoms: np.ndarray):
        geoms = np.asarray(geoms, dtype=object)
        self.n_features = len(geoms)
        parts, part_feature = shapely.get_parts(geoms, return_index=True)
        ptype = shapely.get_type_id(parts)
        if np.any(ptype == 7):  # nested collections: one more level
            nested = ptype == 7
            sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
            parts = np.concatenate([parts[~nested], sub])
            part_feature = np.concatenate([part_feature[~nested], part_feature[nested][sub_idx]])
            ptype = shapely.get_type_id(parts)
        keep = ~shapely.is_empty(parts)
        parts, part_feature, ptype = parts[keep], part_feature[keep], ptype[keep]

        pts = ptype == 0
        self.point_xy = shapely.get_coordinates(parts[pts]) if pts.any() else np.zeros((0, 2))
        self.point_feature = part_feature[pts]

        lin = (ptype == 1) | (ptype == 2)
        line_parts = parts[lin]
        self.line_feature = part_feature[lin]
        order = _spatial_order(line_parts)
        if order is not None:
            line_parts, self.line_feature = line_parts[order], self.line_feature[order]
        self.line_coords, self.line_offsets = _flatten(line_parts)

        pol = ptype == 3
        polys = shapely.orient_polygons(parts[pol], exterior_cw=False) if pol.any() else parts[pol]
        rings, ring_poly = shapely.get_rings(polys, return_index=True) if len(polys) else (polys, np.zeros(0, int))
        ring_hole = np.ones(len(ring_poly), bool)
        if len(ring_poly):
            ring_hole[0] = False
            ring_hole[1:] = ring_poly[1:] == ring_poly[:-1]
        poly_ring_count = np.bincount(ring_poly, minlength=len(polys)) if len(polys) else np.zeros(0, int)
        ring_feature = part_feature[pol][ring_poly] if len(ring_poly) else np.zeros(0, np.int64)
        order = _spatial_order(rings)
        if order is not None:
            rings, ring_poly, ring_hole, ring_feature = rings[order], ring_poly[order], ring_hole[order], \
                ring_feature[order]
        self.ring_coords, self.ring_offsets = _flatten(rings)
        self.ring_poly, self.ring_hole, self.ring_feature = ring_poly, ring_hole, ring_feature
        self.ring_in_holed_poly = poly_ring_count[ring_poly] > 1 if len(ring_poly) else np.zeros(0, bool)
        self._chunks = {"lines": _chunk_bounds(self.line_offsets), "rings": _chunk_bounds(self.ring_offsets)}
        self._simplified: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    @property
    def n_vertices(self) -> int:
        return len(self.point_xy) + len(self.line_coords) + len(self.ring_coords)

    def simplified(self, which: str, rx: float, ry: float, part_mask: np.ndarray | None = None):
        """``(coords, offsets, parts)`` of ``"lines"`` or ``"rings"`` simplified to about a pixel.

        ``rx × ry`` is the pixel size in map units; ``parts`` are the indices of the parts
        returned (whole chunks of spatially sorted parts, covering every part in
        ``part_mask``). Each chunk is simplified once per zoom level and cached: the pixel
        grid is anchored at the map origin, so a pan reuses every chunk seen before and a
        zoom only simplifies the chunks in view.
        """
        coords, offsets = (self.line_coords, self.line_offsets) if which == "lines" else \
            (self.ring_coords, self.ring_offsets)
        bounds = self._chunks[which]
        n_parts = len(offsets) - 1
        if n_parts == 0:
            return coords, offsets, np.arange(0)
        if part_mask is None:
            wanted = range(len(bounds) - 1)
        else:
            hits = np.add.reduceat(part_mask.astype(np.int64), bounds[:-1])
            wanted = np.flatnonzero(hits).tolist()
        # zoom levels quantised to steps of √2 (rounded to the finer side): nearby zooms, e.g.
        # wheel steps, share simplified chunks; the tolerance is at most one pixel either way
        level_rx = 2.0 ** (math.floor(math.log2(rx) * 2.0) / 2.0)
        ry, rx = ry * level_rx / rx, level_rx
        level = (which, float(f"{rx:.6g}"), float(f"{ry:.6g}"))
        pieces = []
        for chunk in wanted:
            key = level + (chunk,)
            with self._lock:
                hit = self._simplified.get(key)
                if hit is not None:
                    self._simplified.move_to_end(key)
            if hit is None:
                a, b = bounds[chunk], bounds[chunk + 1]
                lo, hi = offsets[a], offsets[b]
                hit = simplify_lines(coords[lo:hi], offsets[a:b + 1] - lo, rx, ry)
                with self._lock:
                    self._simplified[key] = hit
                    limit = SIMPLIFIED_LEVELS_KEPT * 2 * (len(bounds) - 1)
                    while len(self._simplified) > limit:
                        self._simplified.popitem(last=False)
            pieces.append((chunk, hit))
        if len(pieces) == 1:
            chunk, (c, o) = pieces[0]
            return c, o, np.arange(bounds[chunk], bounds[chunk + 1])
        if not pieces:
            return np.zeros((0, 2)), np.zeros(1, np.int64), np.arange(0)
        out_coords = np.concatenate([c for _, (c, _) in pieces])
        shifts = np.cumsum([0] + [len(c) for _, (c, _) in pieces[:-1]])
        out_offsets = np.concatenate([[0]] + [o[1:] + shift for (_, (_, o)), shift in zip(pieces, shifts)])
        parts = np.concatenate([np.arange(bounds[chunk], bounds[chunk + 1]) for chunk, _ in pieces])
        return out_coords, out_offsets.astype(np.int64), parts


#: Parts per simplification chunk (chunks are cached per zoom level).
CHUNK_PARTS = 128
#: Vertices per chunk at most (long parts make smaller chunks).
CHUNK_VERTICES = 10_000


def _spatial_order(parts: np.ndarray) -> np.ndarray | None:
    """A z-order permutation of parts by their centre (``None`` for small layers: keep the order)."""
    if len(parts) <= CHUNK_PARTS:
        return None
    b = shapely.bounds(parts)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    ok = np.isfinite(cx) & np.isfinite(cy)
    cx, cy = np.where(ok, cx, np.nanmin(cx[ok]) if ok.any() else 0), np.where(ok, cy, np.nanmin(cy[ok]) if ok.any() else 0)
    span_x = max(np.ptp(cx), 1e-12)
    span_y = max(np.ptp(cy), 1e-12)
    qx = ((cx - cx.min()) / span_x * 65535).astype(np.uint64)
    qy = ((cy - cy.min()) / span_y * 65535).astype(np.uint64)
    return np.argsort(_interleave(qx) | (_interleave(qy) << np.uint64(1)), kind="stable")


def _interleave(v: np.ndarray) -> np.ndarray:
    """Spread the 16 low bits of ``v`` to the even bit positions (Morton code half)."""
    v = v & np.uint64(0xFFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
    v = (v | (v << np.uint64(1))) & np.uint64(0x55555555)
    return v


def _chunk_bounds(offsets: np.ndarray) -> np.ndarray:
    """Part indices where chunks start (and the end): ≤ CHUNK_PARTS parts, ≈ ≤ CHUNK_VERTICES vertices."""
    n = len(offsets) - 1
    if n <= 0:
        return np.zeros(1, np.int64)
    bounds = [0]
    start = 0
    while start < n:
        end = min(n, start + CHUNK_PARTS)
        limit = offsets[start] + CHUNK_VERTICES
        cut = int(np.searchsorted(offsets[start + 1:end + 1], limit, side="right")) + start + 1
        end = max(start + 1, min(end, cut))
        bounds.append(end)
        start = end
    return np.asarray(bounds, np.int64)


def simplify_lines(coords: np.ndarray, offsets: np.ndarray, rx: float, ry: float, tolerance_px: float = 0.4,
                   passes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Simplify parts to about one pixel: :func:`snap_to_grid`, then :func:`decimate` passes."""
    coords, offsets = snap_to_grid(coords, offsets, rx, ry)
    return decimate(coords, offsets, rx, ry, tolerance_px, passes)


def decimate(coords: np.ndarray, offsets: np.ndarray, rx: float, ry: float, tolerance_px: float = 0.4,
             passes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised near-collinear vertex removal, error at most ``passes × tolerance_px`` pixels.

    Each pass looks at every second interior vertex of every part and drops it when it lies
    within ``tolerance_px`` of the chord joining its neighbours (and projects onto it). As
    no two neighbours are dropped in one pass, each pass moves the line by at most the
    tolerance; smooth curves lose up to half their vertices per pass. A numpy stand-in for
    Douglas–Peucker that needs no per-part loop.
    """
    n = len(coords)
    if n < 3:
        return coords, offsets
    # pixel units relative to the first vertex: float32 keeps 1e-3 px here, and halves the traffic
    x = ((coords[:, 0] - coords[0, 0]) / rx).astype(np.float32)
    y = ((coords[:, 1] - coords[0, 1]) / ry).astype(np.float32)
    lengths = np.diff(offsets).astype(np.int32)
    part = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    kept = np.arange(n, dtype=np.int32)
    tol2 = np.float32(tolerance_px * tolerance_px)
    for _ in range(passes):
        n = len(x)
        local = np.arange(n, dtype=np.int32) - offsets[:-1].astype(np.int32)[part]
        cand = np.flatnonzero((local & 1).astype(bool) & (local < lengths[part] - 1))
        if cand.size == 0:
            break
        xa, xp, xb = x[cand - 1], x[cand], x[cand + 1]
        ya, yp, yb = y[cand - 1], y[cand], y[cand + 1]
        abx = xb - xa
        aby = yb - ya
        apx = xp - xa
        apy = yp - ya
        len2 = abx * abx + aby * aby
        cross = abx * apy - aby * apx
        dot = abx * apx + aby * apy
        drop = (cross * cross <= tol2 * len2) & (dot >= 0) & (dot <= len2)
        drop |= (len2 == 0) & (apx * apx + apy * apy <= tol2)
        if not drop.any():
            break
        keep = np.ones(n, bool)
        keep[cand[drop]] = False
        cum = np.zeros(n + 1, np.int64)
        np.cumsum(keep, out=cum[1:])
        offsets = cum[offsets]
        lengths = np.diff(offsets).astype(np.int32)
        x, y, part, kept = x[keep], y[keep], part[keep], kept[keep]
    return coords[kept], offsets


def _flatten(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(parts) == 0:
        return np.zeros((0, 2)), np.zeros(1, np.int64)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(idx, minlength=len(parts))
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return coords, offsets


def snap_to_grid(coords: np.ndarray, offsets: np.ndarray, rx: float, ry: float) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertices that fall in the same ``rx × ry`` cell as their predecessor (per part).

    The pixel-grid simplification QGIS-style renderers use instead of Douglas–Peucker: one
    vectorised pass, no shape is moved by more than a cell, and first and last vertices of
    every part are kept so parts never vanish or detach.
    """
    n = len(coords)
    if n == 0:
        return coords, offsets
    gx = np.floor(coords[:, 0] / rx)
    gy = np.floor(coords[:, 1] / ry)
    keep = np.empty(n, bool)
    keep[0] = True
    np.not_equal(gx[1:], gx[:-1], out=keep[1:])
    keep[1:] |= gy[1:] != gy[:-1]
    starts, ends = offsets[:-1], offsets[1:] - 1
    nonempty = ends >= starts
    keep[starts[nonempty]] = True
    keep[ends[nonempty]] = True
    cum = np.zeros(n + 1, np.int64)
    np.cumsum(keep, out=cum[1:])
    return coords[keep], cum[offsets]


class _PreparedCache:
    """PreparedGeometry per display-geometry array (weakly keyed: a replaced array frees it)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[int, tuple] = {}
        self._building: dict[int, threading.Event] = {}

    def get(self, geoms: np.ndarray) -> PreparedGeometry:
        key = id(geoms)
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry[0]() is geoms:
                    return entry[1]
                waiter = self._building.get(key)
                if waiter is None:
                    waiter = self._building[key] = threading.Event()
                    break
            waiter.wait()  # another thread builds it
        try:
            prepared = PreparedGeometry(geoms)
            with self._lock:
                self._entries[key] = (weakref.ref(geoms, self._forget(key)), prepared)
            return prepared
        finally:
            with self._lock:
                self._building.pop(key, None)
            waiter.set()

    def _forget(self, key):
        # Runs inside garbage collection, possibly on a thread that holds self._lock: take no
        # lock (dict operations are atomic under the GIL) and drop only our own entry, not a
        # newer array that happens to reuse the id.
        def callback(ref):
            entry = self._entries.get(key)
            if entry is not None and entry[0] is ref:
                self._entries.pop(key, None)
        return callback


PREPARED = _PreparedCache()


def prepared_geometry(layer: VectorLayer) -> PreparedGeometry:
    """The flattened geometry of ``layer`` (built on first use, then cached)."""
    return PREPARED.get(layer.display_geoms)


# ---------------------------------------------------------------------------------------
# colours
# ---------------------------------------------------------------------------------------
def style_palette(style: Style) -> list[str]:
    """Colours a style can give features; the last one is for values the style does not list."""
    if style.mode == "categorized" and style.field:
        return [str(c) for c in style.categories.values()] + [style.color]
    if style.mode == "graduated" and style.field and style.colors:
        return [str(c) for c in style.colors] + [style.color]
    return [style.color]


def color_codes(style: Style, table) -> np.ndarray:
    """Index into :func:`style_palette` per feature (vectorised; matches ``Style.colors_for``)."""
    n = len(table)
    if style.mode == "categorized" and style.field and style.field in table:
        keys = [str(k) for k in style.categories]
        values = pd.Series(table[style.field].to_numpy(), copy=False).astype(str)
        codes = pd.Index(keys).get_indexer(values) if len(set(keys)) == len(keys) else \
            values.map({k: i for i, k in reversed(list(enumerate(keys)))}).fillna(-1).to_numpy(int)
        codes = np.asarray(codes, np.int64)
        codes[codes < 0] = len(keys)
        return codes
    if style.mode == "graduated" and style.field and style.colors and style.field in table:
        vals = pd.to_numeric(pd.Series(table[style.field].to_numpy(), copy=False), errors="coerce").to_numpy(float)
        idx = np.searchsorted(np.asarray(style.breaks, float), vals, side="right")
        idx = np.clip(idx, 0, len(style.colors) - 1).astype(np.int64)
        idx[~np.isfinite(vals)] = len(style.colors)
        return idx
    return np.zeros(n, np.int64)


def qcolor(value, alpha: float | None = None) -> QColor:
    """A ``QColor`` from a CSS/hex colour, optionally with alpha in [0, 1]."""
    c = QColor(str(value)) if value else QColor(0, 0, 0, 0)
    if not c.isValid():
        c = QColor("#808080")
    if alpha is not None:
        c.setAlphaF(max(0.0, min(1.0, float(alpha))))
    return c


def point_fill_alpha(style: Style) -> float:
    """Fill opacity of point symbols (same rule as the HTML map: strong enough to read)."""
    return float(np.clip(style.fill_opacity + 0.5, 0.6, 1.0))


# ---------------------------------------------------------------------------------------
# point symbols
# ---------------------------------------------------------------------------------------
SYMBOLS = ("circle", "square", "triangle", "diamond", "star", "cross", "ring")


def symbol_path(symbol: str, size: float) -> QPainterPath:
    """Outline of a point symbol of ``size`` pixels centred on (0, 0)."""
    r = size / 2.0
    path = QPainterPath()
    if symbol == "square":
        path.addRect(QRectF(-r * 0.9, -r * 0.9, 1.8 * r, 1.8 * r))
    elif symbol == "triangle":
        path.addPolygon(QPolygonF([QPointF(0, -r * 1.1), QPointF(r, r * 0.75), QPointF(-r, r * 0.75),
                                   QPointF(0, -r * 1.1)]))
    elif symbol == "diamond":
        path.addPolygon(QPolygonF([QPointF(0, -r), QPointF(r, 0), QPointF(0, r), QPointF(-r, 0), QPointF(0, -r)]))
    elif symbol == "star":
        pts = []
        for i in range(11):
            a = math.pi / 2 + i * math.pi / 5
            rr = r if i % 2 == 0 else r * 0.45
            pts.append(QPointF(rr * math.cos(a), -rr * math.sin(a)))
        path.addPolygon(QPolygonF(pts))
    elif symbol == "cross":
        w = r * 0.35
        path.addRect(QRectF(-w, -r, 2 * w, 2 * r))
        path.addRect(QRectF(-r, -w, 2 * r, 2 * w))
        path.setFillRule(Qt.WindingFill)
    else:
        path.addEllipse(QPointF(0, 0), r, r)
    return path


def symbol_image(symbol: str, size: float, fill: QColor, stroke: QColor | None, stroke_width: float) -> QImage:
    """A pre-rendered, antialiased point symbol (transparent background)."""
    pad = stroke_width + 2.0
    side = int(math.ceil(size * 1.25 + 2 * pad))
    side += side % 2 == 0  # odd: the centre falls on a pixel centre
    img = QImage(side, side, QImage.Format_ARGB32_Premultiplied)
    img.fill(0)
    p = QPainter(img)
    p.setRenderHint(QPainter.Antialiasing, True)
    p.translate(side / 2.0, side / 2.0)
    if stroke is not None and stroke_width > 0 and stroke.alpha() > 0:
        pen = QPen(stroke)
        pen.setWidthF(stroke_width)
        pen.setJoinStyle(Qt.MiterJoin)
        p.setPen(pen)
    else:
        p.setPen(Qt.NoPen)
    p.setBrush(QBrush(fill) if symbol != "ring" else Qt.NoBrush)
    p.drawPath(symbol_path("circle" if symbol == "ring" else symbol, size))
    p.end()
    return img


_symbol_lock = threading.Lock()


@lru_cache(maxsize=512)
def _symbol_pixmap_cached(symbol, size, fill_rgba, stroke_rgba, stroke_width):
    fill = QColor.fromRgba(fill_rgba)
    stroke = QColor.fromRgba(stroke_rgba) if stroke_rgba is not None else None
    return QPixmap.fromImage(symbol_image(symbol, size, fill, stroke, stroke_width))


def _on_gui_thread() -> bool:
    app = QGuiApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def symbol_sprite(symbol: str, size: float, fill: QColor, stroke: QColor | None, stroke_width: float):
    """The symbol as a ``QPixmap`` for ``drawPixmapFragments`` (made on the GUI thread, read-only after)
    or as a ``QImage`` when called off the GUI thread."""
    args = (symbol, round(float(size), 2), fill.rgba(), stroke.rgba() if stroke is not None else None,
            round(float(stroke_width), 2))
    if _on_gui_thread():
        with _symbol_lock:
            return _symbol_pixmap_cached(*args)
    return symbol_image(symbol, size, fill, stroke, stroke_width)


# ---------------------------------------------------------------------------------------
# snapshots
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LayerSnapshot:
    """Everything one render of one layer needs, frozen on the GUI thread."""

    layer_id: str
    kind: str
    view: MapView
    style: Style
    revision: int
    name: str = ""
    geoms: np.ndarray | None = None
    tree: object = None
    table: object = None
    geom_type: str = ""
    subset: np.ndarray | None = None
    sprites: tuple = ()
    raster: object = None
    raster_extent: tuple | None = None
    raster_cache: str = "build"
    highlight: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise :class:`RenderCancelled` if this render is no longer wanted."""
        if self.cancel.is_set():
            raise RenderCancelled(self.layer_id)


def highlight_style(style: Style, geom_type: str) -> Style:
    """How selected features of a layer with ``style`` are drawn on top."""
    if geom_type == "Point":
        return Style(color=HIGHLIGHT_COLOR, stroke=HIGHLIGHT_COLOR, size=style.size + 7, symbol="ring", width=3.0)
    if geom_type == "LineString":
        return Style(color=HIGHLIGHT_COLOR, stroke=HIGHLIGHT_COLOR, width=max(style.width + 3.0, 4.0))
    return Style(color=HIGHLIGHT_COLOR, stroke=HIGHLIGHT_COLOR, width=3.0, fill_opacity=0.3)


def snapshot(layer, view: MapView, *, subset=None, highlight: bool = False,
             raster_cache: str = "build") -> LayerSnapshot:
    """Freeze ``layer`` for rendering ``view`` (call on the GUI thread).

    ``subset`` restricts a vector layer to those feature indices; ``highlight`` draws them
    in the selection style. ``raster_cache`` says how a raster is drawn: ``"build"`` colours
    the whole raster once (then every view is a fast gather), ``"later"`` (the canvas) uses
    that display if it is built and otherwise reads just this view and has the display built
    afterwards in the worker threads, ``"off"`` (prints) reads and colours just this view at
    its own resolution.
    """
    if raster_cache not in ("build", "later", "off"):
        raise ValueError(f"raster_cache must be build, later or off, not {raster_cache!r}")
    style = copy.deepcopy(layer.style)
    if isinstance(layer, VectorLayer):
        geom_type = layer.geom_type
        if highlight:
            style = highlight_style(style, geom_type)
        sprites = ()
        if _has_points(layer):
            sprites = _sprites_for(style, view.scale)
        return LayerSnapshot(layer.id, "vector", view, style, layer.revision, name=layer.name,
                             geoms=layer.display_geoms, tree=layer.tree, table=layer.gdf, geom_type=geom_type,
                             subset=None if subset is None else np.asarray(subset, np.int64), sprites=sprites,
                             highlight=highlight)
    if isinstance(layer, RasterLayer):
        return LayerSnapshot(layer.id, "raster", view, style, layer.revision, name=layer.name, raster=layer,
                             raster_extent=tuple(layer.extent(view.crs_wkt)),
                             raster_cache=raster_cache)
    raise TypeError(f"cannot render a {type(layer).__name__}")


def _has_points(layer: VectorLayer) -> bool:
    if layer.geom_type == "Point":
        return True
    if layer.geom_type in ("LineString", "Polygon"):
        return False
    return True  # mixed or unknown: be ready


def _sprites_for(style: Style, scale: float) -> tuple:
    symbol = style.symbol if style.symbol in SYMBOLS else "circle"
    size = max(1.0, style.size * scale)
    stroke = qcolor(style.stroke) if style.stroke else None
    if symbol == "ring":
        stroke_width = max(1.0, style.width * scale)
        return tuple(symbol_sprite(symbol, size, qcolor(c, 0.0), qcolor(c), stroke_width)
                     for c in style_palette(style))
    stroke_width = max(0.8, 1.0 * scale) if stroke is not None else 0.0
    alpha = point_fill_alpha(style)
    return tuple(symbol_sprite(symbol, size, qcolor(c, alpha), stroke, stroke_width) for c in style_palette(style))


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


def _new_image(view: MapView) -> QImage:
    img = QImage(max(1, int(view.width)), max(1, int(view.height)), QImage.Format_ARGB32_Premultiplied)
    img.fill(0)
    dpm = int(round(view.dpi / 0.0254))
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    return img


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


def render_layer(snap: LayerSnapshot) -> QImage:
    """Paint one layer snapshot onto a new transparent ``QImage`` of the view's size.

    Thread-safe (QPainter on QImage). Raises :class:`RenderCancelled` when the snapshot is
    cancelled midway.
    """
    if snap.kind == "raster":
        return _render_raster(snap)
    return _render_vector(snap)


def pan_offset(old: MapView, new: MapView) -> tuple[int, int] | None:
    """Whole-pixel shift ``(dx, dy)`` from ``old`` to ``new`` when only a pan separates them.

    Positive ``dx``: the view moved east (content moves left); positive ``dy``: it moved
    south. ``None`` when size, resolution or DPI differ, the shift is not whole pixels, or
    nothing of the old view is left.
    """
    if (old.width, old.height, old.dpi) != (new.width, new.height, new.dpi):
        return None
    ow, oh = old.extent[2] - old.extent[0], old.extent[3] - old.extent[1]
    nw, nh = new.extent[2] - new.extent[0], new.extent[3] - new.extent[1]
    if abs(ow - nw) > 1e-9 * abs(ow) or abs(oh - nh) > 1e-9 * abs(oh):
        return None
    fx = (new.extent[0] - old.extent[0]) / ow * new.width
    fy = (old.extent[3] - new.extent[3]) / oh * new.height
    dx, dy = round(fx), round(fy)
    if abs(fx - dx) > 1e-3 or abs(fy - dy) > 1e-3 or abs(dx) >= new.width or abs(dy) >= new.height:
        return None
    return int(dx), int(dy)


def exposed_rects(width: int, height: int, dx: int, dy: int) -> list[tuple[int, int, int, int]]:
    """``(x, y, w, h)`` device rectangles a pan by (dx, dy) uncovers (at most two, no overlap)."""
    rects = []
    if dx > 0:
        rects.append((width - dx, 0, dx, height))
    elif dx < 0:
        rects.append((0, 0, -dx, height))
    x0, w = (0, width - dx) if dx > 0 else (-dx, width + dx) if dx < 0 else (0, width)
    if dy > 0:
        rects.append((x0, height - dy, w, dy))
    elif dy < 0:
        rects.append((x0, 0, w, -dy))
    return [r for r in rects if r[2] > 0 and r[3] > 0]


def render_layer_panned(snap: LayerSnapshot, previous: QImage, dx: int, dy: int) -> QImage:
    """The layer for ``snap.view`` made from its image of a view ``(dx, dy)`` pixels away.

    The previous image is shifted and only the uncovered strips are rendered (features are
    queried, simplified on the same origin-anchored pixel grid and clipped to each strip), so
    a pan costs in proportion to what it reveals.
    """
    view = snap.view
    image = _new_image(view)
    painter = QPainter(image)
    try:
        painter.setCompositionMode(QPainter.CompositionMode_Source)
        painter.drawImage(-dx, -dy, previous)
        painter.setCompositionMode(QPainter.CompositionMode_SourceOver)
        minx, _, _, maxy = view.extent
        rx = (view.extent[2] - view.extent[0]) / view.width
        ry = (view.extent[3] - view.extent[1]) / view.height
        for x, y, w, h in exposed_rects(view.width, view.height, dx, dy):
            sub = MapView((minx + x * rx, maxy - (y + h) * ry, minx + (x + w) * rx, maxy - y * ry), w, h,
                          view.dpi, view.map_crs, view.crs_wkt, view.geographic)
            strip = render_layer(dataclasses.replace(snap, view=sub))
            painter.drawImage(x, y, strip)
    finally:
        painter.end()
    return image


def _visible_features(snap: LayerSnapshot, pad_px: float) -> np.ndarray:
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


def _render_vector(snap: LayerSnapshot) -> QImage:
    view, style = snap.view, snap.style
    image = _new_image(view)
    if snap.geoms is None or len(snap.geoms) == 0:
        return image
    prepared = PREPARED.get(snap.geoms)
    snap.check()
    pad = style.size * view.scale + style.width * view.scale + 4
    visible = _visible_features(snap, pad)
    if not visible.any():
        return image
    codes = _feature_codes(snap)
    palette = style_palette(style)
    snap.check()
    painter = QPainter(image)
    try:
        if len(prepared.ring_coords):
            _paint_polygons(painter, snap, prepared, visible, codes, palette)
        snap.check()
        if len(prepared.line_coords):
            _paint_lines(painter, snap, prepared, visible, codes, palette)
        snap.check()
        if len(prepared.point_xy):
            _paint_points(painter, snap, prepared, visible, codes, palette)
    finally:
        painter.end()
    return image


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
    sprites = snap.sprites or _sprites_for(snap.style, view.scale)
    for code in _group_order(point_codes, len(palette)):
        sprite = sprites[min(code, len(sprites) - 1)]
        sel = point_codes == code
        if isinstance(sprite, QPixmap):
            painter.drawPixmapFragments(_fragments(px[sel], py[sel], sprite.width(), sprite.height()), sprite)
        else:  # off the GUI thread without a pre-made pixmap: stamp the image point by point
            hw, hh = sprite.width() / 2.0, sprite.height() / 2.0
            for x, y in zip((px[sel] - hw).tolist(), (py[sel] - hh).tolist()):
                painter.drawImage(QPointF(x, y), sprite)


def _render_raster(snap: LayerSnapshot) -> QImage:
    view = snap.view
    layer: RasterLayer = snap.raster
    if snap.raster_extent is not None and not _bbox_intersects(snap.raster_extent, view.extent):
        return _new_image(view)
    if snap.raster_cache == "later":
        # interactive: never wait for the whole raster to be coloured (0.5-1 s); draw this view
        # from a windowed read now and let the worker threads build the display afterwards
        display = RASTER_DISPLAYS.peek(layer, snap.style, view)
        if display is None:
            RASTER_DISPLAYS.build_later(layer, snap.style, view)
    elif snap.raster_cache == "build":
        display = RASTER_DISPLAYS.get(layer, snap.style, view)
    else:
        display = None
    snap.check()
    if display is not None:
        return rgba_to_qimage(display.view_rgba(view), view, premultiplied=True)
    # read only the window and overview level of the view, colour that
    data = layer.read_view(view.extent, view.width, view.height, view.crs_wkt)
    snap.check()
    cell = (view.extent[2] - view.extent[0]) / max(view.width, 1)
    if view.geographic:
        cell *= 111_320.0 * math.cos(math.radians((view.extent[1] + view.extent[3]) / 2.0))
    rgba = fast_colorize(data, snap.style, layer.statistics(), cell)
    snap.check()
    return rgba_to_qimage(rgba, view, premultiplied=True)


# ---------------------------------------------------------------------------------------
# rasters: colour once at native resolution, then resample per view
# ---------------------------------------------------------------------------------------
#: Rasters up to this many cells are coloured once at native resolution and resampled
#: per view (pans and zooms cost one gather); larger ones are read per view.
RASTER_CACHE_CELLS = 16_000_000


def fast_colorize(data, style: Style, stats=(0.0, 1.0), cell_size: float = 90.0) -> np.ndarray:
    """Premultiplied RGBA of raster values with the style's ramp, log scale and hillshade.

    The same mapping as :func:`riskmap.layers.colorize` (index = ⌊t · 255⌋ into the ramp's
    256-colour table; hillshade factor 0.35 + 0.65 · shade, here in 8-bit fixed point so a
    channel may differ by 1), computed in float32 and packed 32-bit pixels (about 5× faster
    on the sample DEM). Masked, NaN and nodata cells are transparent.
    """
    values = np.asarray(np.ma.getdata(data), dtype=np.float32)
    valid = np.isfinite(values)
    mask = np.ma.getmask(data)
    if mask is not np.ma.nomask:
        valid &= ~mask
    vmin = style.vmin if style.vmin is not None else stats[0]
    vmax = style.vmax if style.vmax is not None else stats[1]
    if style.log:
        t = np.clip(values, 0, None)
        t += np.float32(1.0)
        np.log10(t, out=t)
        vmin, vmax = np.log10(max(vmin, 0) + 1.0), np.log10(max(vmax, 0) + 1.0)
    else:
        t = values.copy()
    span = (vmax - vmin) or 1.0
    t -= np.float32(vmin)
    t *= np.float32(255.0 / span)
    np.copyto(t, 0, where=~valid)
    np.clip(t, 0, 255, out=t)
    packed = _packed_lut(style.ramp)[t.astype(np.uint8)]
    if style.hillshade:
        fill = np.float32(values[valid].mean()) if valid.any() else np.float32(0)
        elevation = np.where(valid, values, fill)
        factor = fast_hillshade(elevation, cell_size)
        factor *= np.float32(0.65 * 256)
        factor += np.float32(0.35 * 256)
        channels = packed.view(np.uint8).reshape(values.shape + (4,))
        rgb = channels[..., :3].astype(np.uint16)
        rgb *= factor.astype(np.uint16)[..., None]
        rgb >>= 8
        channels[..., :3] = rgb
    packed *= valid  # transparent (and, premultiplied, black) where there is no value
    return packed.view(np.uint8).reshape(values.shape + (4,))


@lru_cache(maxsize=32)
def _packed_lut(name: str) -> np.ndarray:
    """A ramp's 256 colours as little-endian RGBA8888 words with opaque alpha."""
    lut = ramp_lut(name).astype(np.uint32)
    packed = lut[:, 0] | (lut[:, 1] << 8) | (lut[:, 2] << 16) | np.uint32(0xFF000000)
    if np.little_endian:
        return packed
    return packed.byteswap()


def ramp_lut(name: str) -> np.ndarray:
    """The 256-colour table of a ramp (cached)."""
    return _ramp_lut_cached(name)


@lru_cache(maxsize=32)
def _ramp_lut_cached(name: str) -> np.ndarray:
    from riskmap.layers.style import ramp_lut as style_ramp_lut

    lut = style_ramp_lut(name)
    lut.setflags(write=False)
    return lut


def fast_hillshade(elevation: np.ndarray, cell_size: float, azimuth: float = 315.0,
                   altitude: float = 45.0) -> np.ndarray:
    """Lambertian hillshade in [0, 1], float32; the same as :func:`riskmap.layers.hillshade`.

    ``sin(alt)·sin(slope) + cos(alt)·cos(slope)·cos(az − aspect)`` simplifies, with the
    gradient (dx, dy), to ``(sin(alt) + cos(alt)·(cos(az)·dy − sin(az)·dx)) / √(1 + dx² + dy²)``:
    no trigonometry per cell.
    """
    elev = np.asarray(elevation, np.float32)
    if elev.shape[0] < 2 or elev.shape[1] < 2:
        return np.full(elev.shape, math.sin(math.radians(altitude)), np.float32)
    dy, dx = np.gradient(elev, np.float32(cell_size))
    az = math.radians(360.0 - azimuth + 90.0)
    alt = math.radians(altitude)
    num = dy * np.float32(math.cos(alt) * math.cos(az))
    num -= dx * np.float32(math.cos(alt) * math.sin(az))
    num += np.float32(math.sin(alt))
    dx *= dx
    dy *= dy
    dx += dy
    dx += np.float32(1.0)
    np.sqrt(dx, out=dx)
    num /= dx
    np.clip(num, 0, 1, out=num)
    return num


class RasterDisplay:
    """A raster coloured once, warped once onto a grid of the map CRS, with 2× reduced levels.

    Built once per (layer, style, map CRS) in a worker thread: the band is read whole,
    coloured (ramp, log scale, hillshade at native resolution), then resampled onto a
    north-up grid in the map CRS a little finer than the native cells (the exact CRS
    transform on a coarse lattice, bilinear in between). In that grid a view is separable,
    so drawing any pan or zoom is one nearest-neighbour gather (~10 ms for 1600×1000).
    """

    #: Warped cells per native cell along each axis (a little finer, so nearest twice stays sharp).
    OVERSAMPLE = 1.15

    def __init__(self, layer: RasterLayer, style: Style, map_wkt: str, map_geographic: bool):
        import rasterio

        with rasterio.open(layer.path) as ds:  # a private handle: GDAL handles are per thread
            data = ds.read(layer.band, masked=True)
            transform = ds.transform
        if transform.b != 0 or transform.d != 0:
            raise ValueError("rotated rasters are read per view")
        src_wkt = getattr(layer, "_crs_wkt", None) or crs_policy.crs_wkt(layer.crs)
        src_geographic = crs_policy.is_geographic(src_wkt)
        cell_m = abs(transform.a)
        if src_geographic:
            lat_mid = (layer.bounds_native[1] + layer.bounds_native[3]) / 2.0
            cell_m *= 111_320.0 * math.cos(math.radians(lat_mid))
        native = fast_colorize(data, style, layer.statistics(), cell_m).view(np.uint32)[..., 0]
        if crs_policy.same_crs(src_wkt, map_wkt):
            self.origin = (transform.c, transform.f)
            self.res = (abs(transform.a), abs(transform.e))
            grid = np.ascontiguousarray(native)
        else:
            minx, miny, maxx, maxy = layer.extent(map_wkt)
            if map_geographic:
                lat = (miny + maxy) / 2.0
                res_y = cell_m / 111_320.0 / self.OVERSAMPLE
                res_x = res_y / math.cos(math.radians(lat))
            else:
                res_x = res_y = cell_m / self.OVERSAMPLE
            nx = max(2, int(math.ceil((maxx - minx) / res_x)))
            ny = max(2, int(math.ceil((maxy - miny) / res_y)))
            self.origin, self.res = (minx, maxy), (res_x, res_y)
            step = 16  # the exact transform every 16 cells, bilinear in between (error ≪ a cell)
            gxs = minx + (np.arange(int(math.ceil(nx / step)) + 2) * step) * res_x
            gys = maxy - (np.arange(int(math.ceil(ny / step)) + 2) * step) * res_y
            X, Y = np.meshgrid(gxs, gys)
            sx, sy = crs_policy.transform_xy(X.ravel(), Y.ravel(), map_wkt, src_wkt)
            gcols = ((np.asarray(sx) - transform.c) / transform.a).reshape(X.shape)
            grows = ((np.asarray(sy) - transform.f) / transform.e).reshape(X.shape)
            grid = _warp_grid(np.ascontiguousarray(native), gcols, grows, nx, ny, step)
        self.levels = [grid]

    def level(self, k: int) -> np.ndarray:
        while len(self.levels) <= k:
            prev = self.levels[-1]
            h, w = prev.shape[0] // 2, prev.shape[1] // 2
            if h < 2 or w < 2:
                break
            quads = prev[:2 * h, :2 * w].view(np.uint8).reshape(h, 2, w, 2, 4).astype(np.uint16)
            mean = (quads.sum(axis=(1, 3)) // 4).astype(np.uint8)  # premultiplied: averaging is right
            self.levels.append(np.ascontiguousarray(mean).view(np.uint32).reshape(h, w))
        return self.levels[min(k, len(self.levels) - 1)]

    def view_rgba(self, view: MapView) -> np.ndarray:
        """The view's premultiplied RGBA: a nearest-neighbour gather from the best level."""
        minx, miny, maxx, maxy = view.extent
        px_w = (maxx - minx) / max(view.width, 1)
        ratio = px_w / self.res[0]
        k = int(math.floor(math.log2(ratio))) if ratio >= 2 else 0  # keep ≥ 1 cell per pixel
        img = self.level(k)
        fx = self.levels[0].shape[1] / img.shape[1]
        fy = self.levels[0].shape[0] / img.shape[0]
        x0, y0 = self.origin
        xs = minx + (np.arange(view.width) + 0.5) * px_w
        ys = maxy - (np.arange(view.height) + 0.5) * ((maxy - miny) / max(view.height, 1))
        cols = np.floor((xs - x0) / (self.res[0] * fx)).astype(np.int64)
        rows = np.floor((y0 - ys) / (self.res[1] * fy)).astype(np.int64)
        h, w = img.shape
        col_ok = (cols >= 0) & (cols < w)
        row_ok = (rows >= 0) & (rows < h)
        out = np.zeros((view.height, view.width), np.uint32)
        if col_ok.any() and row_ok.any():
            ci, ri = np.flatnonzero(col_ok), np.flatnonzero(row_ok)
            block = img.take(rows[ri], axis=0).take(cols[ci], axis=1)
            out[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1] = block  # valid rows/columns are contiguous
        return out.view(np.uint8).reshape(view.height, view.width, 4)


def _warp_grid(native: np.ndarray, gcols: np.ndarray, grows: np.ndarray, nx: int, ny: int, step: int,
               block_rows: int = 128) -> np.ndarray:
    """Nearest cells of ``native`` for an ``ny × nx`` grid whose native column/row positions are
    known every ``step`` cells (``gcols``/``grows``), interpolated bilinearly; in row blocks so
    the temporaries stay in cache."""
    out = np.empty((ny, nx), np.uint32)
    gcols = gcols.astype(np.float32)
    grows = grows.astype(np.float32)
    gh, gw = gcols.shape
    xi = (np.arange(nx, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    i0 = np.clip(xi.astype(np.int64), 0, gw - 2)
    tx = (xi - i0).astype(np.float32)
    across_c = gcols[:, i0] * (np.float32(1) - tx) + gcols[:, i0 + 1] * tx  # (gh, nx)
    across_r = grows[:, i0] * (np.float32(1) - tx) + grows[:, i0 + 1] * tx
    yi = (np.arange(ny, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    j0 = np.clip(yi.astype(np.int64), 0, gh - 2)
    ty = (yi - j0).astype(np.float32)
    for start in range(0, ny, block_rows):
        sl = slice(start, min(ny, start + block_rows))
        j, t = j0[sl], ty[sl, None]
        cols = across_c[j] * (np.float32(1) - t)
        cols += across_c[j + 1] * t
        rows = across_r[j] * (np.float32(1) - t)
        rows += across_r[j + 1] * t
        out[sl] = _gather(native, rows, cols)
    return out


def _gather(native: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Nearest cells of ``native`` at fractional ``rows``/``cols`` (transparent outside)."""
    h, w = native.shape
    ci = cols.astype(np.int32)
    ri = rows.astype(np.int32)
    valid = (cols >= 0) & (ci < w) & (rows >= 0) & (ri < h)
    flat = ri
    flat *= w
    flat += ci
    flat[~valid] = 0
    out = np.take(native.reshape(-1), flat)
    out[~valid] = 0
    return out


def _upsample(grid: np.ndarray, width: int, height: int, step: int) -> np.ndarray:
    """Bilinear interpolation (float32) of a coarse ``grid`` (a value every ``step`` pixels) to every pixel."""
    gh, gw = grid.shape
    xi = (np.arange(width, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    i0 = np.clip(xi.astype(np.int64), 0, gw - 2)
    tx = (xi - i0).astype(np.float32)
    across = grid[:, i0] * (np.float32(1) - tx) + grid[:, i0 + 1] * tx  # (gh, width)
    yi = (np.arange(height, dtype=np.float32) + np.float32(0.5)) / np.float32(step)
    j0 = np.clip(yi.astype(np.int64), 0, gh - 2)
    ty = (yi - j0).astype(np.float32)[:, None]
    out = across[j0]
    out *= np.float32(1) - ty
    out += across[j0 + 1] * ty
    return out


class _RasterDisplays:
    """RasterDisplay per (layer id, path, band, style), built once (thread-safe), a few kept."""

    def __init__(self, keep: int = 6):
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()
        self._building: dict = {}
        self._queued: set = set()
        self._keep = keep

    @staticmethod
    def _key(layer: RasterLayer, style: Style, view: MapView):
        import json

        rows, cols = layer.shape
        if rows * cols > RASTER_CACHE_CELLS:
            return None
        return (layer.id, str(layer.path), layer.band, json.dumps(style.to_dict(), sort_keys=True, default=str),
                view.crs_wkt)

    def peek(self, layer: RasterLayer, style: Style, view: MapView) -> RasterDisplay | None:
        """The display if it is built already (never waits)."""
        key = self._key(layer, style, view)
        with self._lock:
            return self._entries.get(key) if key is not None else None

    def build_later(self, layer: RasterLayer, style: Style, view: MapView) -> None:
        """Queue the display's construction behind the work already in the render threads."""
        key = self._key(layer, style, view)
        if key is None:
            return
        with self._lock:
            if key in self._entries or key in self._building or key in self._queued:
                return
            self._queued.add(key)

        def build():
            try:
                self.get(layer, style, view)
            finally:
                with self._lock:
                    self._queued.discard(key)

        worker_pool().submit(build)

    def get(self, layer: RasterLayer, style: Style, view: MapView) -> RasterDisplay | None:
        """The display of ``layer`` in ``style`` for the view's map CRS, built now if needed
        (``None``: too large or rotated, read per view instead)."""
        key = self._key(layer, style, view)
        if key is None:
            return None
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key]
                waiter = self._building.get(key)
                if waiter is None:
                    waiter = self._building[key] = threading.Event()
                    break
            waiter.wait()
        try:
            display = RasterDisplay(layer, style, view.crs_wkt, view.geographic)
        except Exception:  # noqa: BLE001 - fall back to reading per view
            display = None
        finally:
            with self._lock:
                self._building.pop(key, None)
            waiter.set()
        with self._lock:
            self._entries[key] = display
            while len(self._entries) > self._keep:
                self._entries.popitem(last=False)
        return display


RASTER_DISPLAYS = _RasterDisplays()


def rgba_to_qimage(rgba: np.ndarray, view: MapView | None = None, premultiplied: bool = False) -> QImage:
    """An ``(h, w, 4)`` uint8 RGBA array as a premultiplied ``QImage`` owning its pixels."""
    rgba = np.ascontiguousarray(rgba, np.uint8)
    h, w = rgba.shape[:2]
    fmt = QImage.Format_RGBA8888_Premultiplied if premultiplied else QImage.Format_RGBA8888
    img = QImage(rgba.data, w, h, 4 * w, fmt)
    out = img.convertToFormat(QImage.Format_ARGB32_Premultiplied)  # a deep copy in the fast format
    if view is not None:
        dpm = int(round(view.dpi / 0.0254))
        out.setDotsPerMeterX(dpm)
        out.setDotsPerMeterY(dpm)
    return out


def _bbox_intersects(a, b) -> bool:
    return not (a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3])


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
    image = _new_image(view)
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
    visible = _visible_features(snap, snap.style.size * snap.view.scale)
    mask = visible[prepared.point_feature]
    xy = prepared.point_xy[mask]
    px, py = snap.view.to_pixels(xy[:, 0], xy[:, 1])
    occupancy.take_points(px, py, snap.style.size * snap.view.scale / 2.0)


def _place_labels(painter: QPainter, snap: LayerSnapshot, occupancy: _Occupancy) -> None:
    style, view = snap.style, snap.view
    visible = _visible_features(snap, 0)
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


# ---------------------------------------------------------------------------------------
# whole maps
# ---------------------------------------------------------------------------------------
_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def worker_pool() -> ThreadPoolExecutor:
    """The render worker threads (Python threads; see :mod:`riskmap.ui.canvas` for why not QThreadPool)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            import os

            _executor = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)),
                                           thread_name_prefix="riskmap-render")
        return _executor


def compose(entries, width: int, height: int, background: str | None = BACKGROUND, dpi: float = 96.0) -> QImage:
    """Stack ``[(image, opacity), ...]`` (bottom first) onto a background."""
    out = QImage(max(1, int(width)), max(1, int(height)), QImage.Format_ARGB32_Premultiplied)
    out.fill(qcolor(background) if background else QColor(0, 0, 0, 0))
    dpm = int(round(dpi / 0.0254))
    out.setDotsPerMeterX(dpm)
    out.setDotsPerMeterY(dpm)
    painter = QPainter(out)
    for image, opacity in entries:
        if image is None or opacity <= 0:
            continue
        painter.setOpacity(float(opacity))
        painter.drawImage(0, 0, image)
    painter.end()
    return out


def render_layers(layers, extent, width: int, height: int, map_crs=crs_policy.MAP_CRS, dpi: float = 96.0,
                  background: str | None = BACKGROUND, highlights=None, parallel: bool = True,
                  raster_cache: str = "build") -> QImage:
    """Render ``layers`` (bottom first; hidden ones skipped) for ``extent`` into a new ``QImage``.

    Synchronous; call on the GUI thread (snapshots are made here). Layers render in parallel
    worker threads. ``extent`` is drawn exactly into ``width × height`` (use
    :func:`fit_extent` first to keep the map's proportions). ``highlights`` is an optional
    ``{layer: indices}`` drawn in the selection colour on top. ``raster_cache``: see
    :func:`snapshot` (``"off"`` for one-off pictures such as prints).
    """
    view = MapView(tuple(float(v) for v in extent), int(width), int(height), float(dpi), map_crs)
    layers = [layer for layer in layers if layer.visible]
    snaps = [snapshot(layer, view, raster_cache=raster_cache) for layer in layers]
    for layer, indices in (highlights or {}).items():
        if isinstance(layer, VectorLayer) and len(indices):
            snaps.append(snapshot(layer, view, subset=indices, highlight=True))
    if parallel and len(snaps) > 1:
        pool = worker_pool()
        label_future = pool.submit(render_labels, snaps, snaps)
        images = list(pool.map(render_layer, snaps))
        labels = label_future.result()
    else:
        images = [render_layer(s) for s in snaps]
        labels = render_labels(snaps, snaps)
    opacities = [layer.opacity for layer in layers] + [1.0] * (len(snaps) - len(layers))
    entries = list(zip(images, opacities)) + [(labels, 1.0)]
    return compose(entries, width, height, background, dpi)


# ---------------------------------------------------------------------------------------
# map decorations shared by the canvas and the print layout
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _geod():
    from pyproj import Geod

    return Geod(ellps="GRS80")  # the CGCS2000 ellipsoid


def metres_per_pixel(extent, width: int, map_crs=crs_policy.MAP_CRS, geographic: bool | None = None) -> float:
    """Ground metres per device pixel along the parallel through the view centre (geodesic).

    ``geographic=True`` says the map CRS is longitude/latitude already (no transform).
    """
    minx, miny, maxx, maxy = extent
    cy = (miny + maxy) / 2.0
    cx = (minx + maxx) / 2.0
    half = (maxx - minx) / 4.0
    xs = np.array([cx - half, cx + half])
    ys = np.array([cy, cy])
    if geographic is None:
        geographic = crs_policy.is_geographic(map_crs)
    if geographic:
        lon, lat = xs, ys
    else:
        lon, lat = crs_policy.transform_xy(xs, ys, map_crs, crs_policy.MAP_CRS)
    _, _, dist = _geod().inv(lon[0], lat[0], lon[1], lat[1])
    return float(dist) / max(width / 2.0, 1e-9)


def nice_length(max_metres: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ metres not above ``max_metres``."""
    if not np.isfinite(max_metres) or max_metres <= 0:
        return 0.0
    exp = math.floor(math.log10(max_metres))
    for m in (5, 2, 1):
        if m * 10 ** exp <= max_metres:
            return float(m * 10 ** exp)
    return float(10 ** exp)


def format_distance(metres: float) -> str:
    """``"500 m"`` or ``"20 km"``."""
    if metres >= 1000:
        km = metres / 1000.0
        return f"{km:g} km"
    return f"{metres:g} m"


def draw_scale_bar(painter: QPainter, x: float, y_bottom: float, metres_per_px: float, scale: float = 1.0,
                   max_width: float = 160.0, background: bool = True) -> QRectF:
    """A two-segment scale bar (geodesic length) with its left end at ``x``; returns its rectangle."""
    length_m = nice_length(metres_per_px * max_width * scale)
    if length_m <= 0:
        return QRectF()
    bar_w = length_m / metres_per_px
    bar_h = 6.0 * scale
    font = pixel_font(12 * scale)
    metrics = QFontMetricsF(font)
    label = format_distance(length_m)
    text_h = metrics.height()
    pad = 5.0 * scale
    box = QRectF(x, y_bottom - bar_h - text_h - 3 * pad, bar_w + 2 * pad + metrics.horizontalAdvance("0") + 2,
                 bar_h + text_h + 3 * pad)
    box.setWidth(max(box.width(), metrics.horizontalAdvance(label) + 2 * pad))
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    if background:
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(255, 255, 255, 210))
        painter.drawRoundedRect(box, 3 * scale, 3 * scale)
    bx, by = box.left() + pad, box.bottom() - pad - bar_h
    painter.setPen(QPen(QColor("#222222"), max(1.0, scale)))
    half = bar_w / 2.0
    painter.setBrush(QColor("#222222"))
    painter.drawRect(QRectF(bx, by, half, bar_h))
    painter.setBrush(QColor("#ffffff"))
    painter.drawRect(QRectF(bx + half, by, half, bar_h))
    painter.setFont(font)
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(bx - 20 * scale, box.top() + pad * 0.5, 40 * scale, text_h), Qt.AlignCenter, "0")
    painter.drawText(QRectF(bx + bar_w - 60 * scale, box.top() + pad * 0.5, 120 * scale, text_h),
                     Qt.AlignCenter, label)
    painter.restore()
    return box


def draw_north_arrow(painter: QPainter, center_x: float, top: float, scale: float = 1.0,
                     background: bool = True) -> QRectF:
    """A north arrow (half-filled triangle and “北 N”) centred at ``center_x`` below ``top``."""
    w, h = 22.0 * scale, 30.0 * scale
    font = pixel_font(12 * scale, bold=True)
    text_h = QFontMetricsF(font).height()
    box = QRectF(center_x - w / 2 - 6 * scale, top, w + 12 * scale, h + text_h + 10 * scale)
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    if background:
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(255, 255, 255, 210))
        painter.drawRoundedRect(box, 3 * scale, 3 * scale)
    painter.setFont(font)
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(box.left(), top + 3 * scale, box.width(), text_h), Qt.AlignCenter, "北 N")
    tip = QPointF(center_x, top + text_h + 5 * scale)
    base_y = tip.y() + h
    left = QPolygonF([tip, QPointF(center_x - w / 2, base_y), QPointF(center_x, base_y - h * 0.3)])
    right = QPolygonF([tip, QPointF(center_x + w / 2, base_y), QPointF(center_x, base_y - h * 0.3)])
    painter.setPen(QPen(QColor("#222222"), max(1.0, scale)))
    painter.setBrush(QColor("#222222"))
    painter.drawPolygon(left)
    painter.setBrush(QColor("#ffffff"))
    painter.drawPolygon(right)
    painter.restore()
    return box


def ramp_gradient(ramp: str, rect: QRectF, t0: float = 0.0, t1: float = 1.0) -> QLinearGradient:
    """A left-to-right gradient along the part ``t0``–``t1`` of a named colour ramp (raster legends)."""
    lut = ramp_lut(ramp if ramp in RAMPS else "greys")
    grad = QLinearGradient(rect.topLeft(), rect.topRight())
    for i in range(9):
        t = t0 + (t1 - t0) * i / 8.0
        r, g, b = (int(v) for v in lut[min(255, int(t * 255))])
        grad.setColorAt(i / 8.0, QColor(r, g, b))
    return grad
