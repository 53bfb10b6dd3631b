"""Geometry prepared once per data version and simplified per zoom level (per pixel grid)."""
from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict

import numpy as np
import shapely

from riskmap.layers import VectorLayer

#: Image cache of the geometry prepared per zoom level (simplified copies kept per layer).
SIMPLIFIED_LEVELS_KEPT = 4


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


