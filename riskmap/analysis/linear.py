"""Linear referencing along roads: chainage in metres, km-post labels, substrings, snapping.

Chainage (桩号) is the distance in metres from the first vertex of a road line, measured in a
metric CRS. For a road stored as several parts (a MultiLineString that does not merge into one
line) the parts are taken in stored order and chainage continues from one part to the next,
which is GEOS's convention for ``project``/``interpolate`` on multi-part lines.

Km-post labels follow Chinese practice: ``K12+300`` is 12 km + 300 m; a range is written
``K12+300–K12+420``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import shapely

from riskmap.errors import ParameterError

_KM_RE = re.compile(r"^\s*[Kk]?\s*(\d+)\s*\+\s*(\d+(?:\.\d*)?)\s*$")


# ---------------------------------------------------------------------------
# km-post labels
# ---------------------------------------------------------------------------
def km_post(m: float, prefix: str = "K") -> str:
    """Km-post label of a chainage in metres, e.g. ``12300.4`` → ``"K12+300"`` (rounded to the metre)."""
    if m is None or not np.isfinite(m):
        return ""
    whole = int(round(float(m)))
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    return f"{sign}{prefix}{whole // 1000}+{whole % 1000:03d}"


def km_range(start_m: float, end_m: float, prefix: str = "K") -> str:
    """Km-post range label, e.g. ``"K12+300–K12+420"``."""
    return f"{km_post(start_m, prefix)}–{km_post(end_m, prefix)}"


def km_posts(values, prefix: str = "K") -> np.ndarray:
    """Km-post labels of an array of chainages."""
    return np.array([km_post(v, prefix) for v in np.asarray(values, dtype=float).ravel()], dtype=object)


def parse_km_post(text: str) -> float:
    """Chainage in metres of a km-post label (``"K12+300"``, ``"12+300.5"``) or a plain number.

    Raises
    ------
    ParameterError
        If the text is neither.
    """
    s = str(text).strip()
    match = _KM_RE.match(s)
    if match:
        return int(match.group(1)) * 1000.0 + float(match.group(2))
    try:
        return float(s)
    except ValueError:
        raise ParameterError(f"{text!r} is not a km-post; write it like K12+300 or as metres") from None


# ---------------------------------------------------------------------------
# parts and resampling
# ---------------------------------------------------------------------------
def line_parts(geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split lines into single-part LineStrings in chainage order.

    Multi-part lines are first merged (``line_merge``); parts that still do not join are kept
    in stored order.

    Returns
    -------
    parts : ndarray of LineString
    owner : ndarray of int
        Index of the input geometry each part belongs to.
    offset : ndarray of float
        Chainage at the start of each part (sum of the lengths of the earlier parts).
    """
    geoms = np.asarray(geoms, dtype=object)
    multi = shapely.get_type_id(geoms) == 5
    if multi.any():
        merged = geoms.copy()
        merged[multi] = shapely.line_merge(geoms[multi])
        # line_merge may reorder/reverse parts; keep the original when it does not give one line,
        # so chainage follows the stored part order as GEOS project() does
        still_multi = multi & (shapely.get_type_id(merged) != 1)
        merged[still_multi] = geoms[still_multi]
        geoms = merged
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 1
    lengths_all = shapely.length(parts)
    offsets_all = np.zeros(len(parts))
    if len(parts):
        cum = np.cumsum(lengths_all)
        first = np.r_[True, owner[1:] != owner[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(parts)), 0))
        offsets_all = cum - lengths_all - (cum - lengths_all)[group_start]
    keep &= lengths_all > 0
    return parts[keep], owner[keep], offsets_all[keep]


@dataclass
class Resampled:
    """Points at (nearly) fixed spacing along a set of single-part lines, concatenated.

    Attributes
    ----------
    xy : (n, 2) ndarray
        Coordinates.
    local : (n,) ndarray
        Distance from the start of the part (m).
    part : (n,) ndarray of int
        Part index of each point.
    starts : (n_parts + 1,) ndarray of int
        ``xy[starts[p]:starts[p+1]]`` are the points of part ``p``.
    spacing : (n_parts,) ndarray
        Actual spacing of each part (its length divided evenly, at most the requested spacing).
    """

    xy: np.ndarray
    local: np.ndarray
    part: np.ndarray
    starts: np.ndarray
    spacing: np.ndarray

    def __len__(self) -> int:
        return len(self.local)


def resample(parts, spacing: float) -> Resampled:
    """Resample single-part lines at equal spacing (whole-array; no Python loop over lines).

    Each part of length L gets ``ceil(L / spacing) + 1`` points, first and last vertex included,
    evenly spaced (so the spacing is at most ``spacing``).
    """
    if spacing <= 0:
        raise ParameterError("the resampling spacing must be positive (metres)")
    parts = np.asarray(parts, dtype=object)
    n_parts = len(parts)
    if n_parts == 0:
        return Resampled(np.zeros((0, 2)), np.zeros(0), np.zeros(0, int), np.zeros(1, int), np.zeros(0))
    coords, vidx = shapely.get_coordinates(parts, return_index=True)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    same = vidx[1:] == vidx[:-1]
    seg = np.where(same, seg, 0.0)
    cum = np.r_[0.0, np.cumsum(seg)]
    vstart = np.searchsorted(vidx, np.arange(n_parts), side="left")
    vend = np.r_[vstart[1:], len(vidx)]  # exclusive
    lengths = cum[vend - 1] - cum[vstart]
    counts = np.maximum(np.ceil(lengths / spacing - 1e-9).astype(np.int64), 1)
    step = lengths / counts
    npts = counts + 1
    starts = np.r_[0, np.cumsum(npts)]
    part = np.repeat(np.arange(n_parts), npts)
    k = np.arange(starts[-1]) - starts[part]
    local = k * step[part]
    local[starts[1:] - 1] = lengths  # exact end
    g = cum[vstart][part] + local
    idx = np.searchsorted(cum, g, side="right") - 1
    idx = np.clip(idx, vstart[part], vend[part] - 2)
    seglen = cum[idx + 1] - cum[idx]
    frac = np.where(seglen > 0, (g - cum[idx]) / np.where(seglen > 0, seglen, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    xy = coords[idx] + frac[:, None] * (coords[idx + 1] - coords[idx])
    return Resampled(xy, local, part, starts, step)


# ---------------------------------------------------------------------------
# locating, substrings, snapping
# ---------------------------------------------------------------------------
def locate(lines, points) -> np.ndarray:
    """Chainage (m along each line, in the lines' units) of the point nearest to each point."""
    return shapely.line_locate_point(np.asarray(lines, dtype=object), np.asarray(points, dtype=object))


def point_at(lines, chainage) -> np.ndarray:
    """Points at the given chainages along the lines (clipped to the line)."""
    return shapely.line_interpolate_point(np.asarray(lines, dtype=object), np.asarray(chainage, dtype=float))


def substring(line, start_m: float, end_m: float):
    """The part of ``line`` between two chainages, as a LineString (MultiLineString if it spans parts).

    ``start_m`` and ``end_m`` may be given in either order and are clipped to the line. A
    zero-length range gives a two-point degenerate line at that chainage.
    """
    if line is None or shapely.is_empty(line):
        return shapely.LineString()
    a, b = sorted((float(start_m), float(end_m)))
    if shapely.get_type_id(line) == 5:
        pieces = []
        offset = 0.0
        for part in shapely.get_parts(line):
            length = part.length
            lo, hi = max(a - offset, 0.0), min(b - offset, length)
            if hi > lo or (hi == lo and 0 <= lo <= length and not pieces and a == b):
                pieces.append(_substring_single(part, lo, hi))
            offset += length
        pieces = [p for p in pieces if not p.is_empty]
        if not pieces:
            return shapely.LineString()
        return pieces[0] if len(pieces) == 1 else shapely.MultiLineString(pieces)
    return _substring_single(line, a, b)


def _substring_single(line, a: float, b: float):
    coords = shapely.get_coordinates(line)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    total = cum[-1]
    a, b = min(max(a, 0.0), total), min(max(b, 0.0), total)

    def at(m):
        i = int(np.clip(np.searchsorted(cum, m, side="right") - 1, 0, len(cum) - 2))
        t = (m - cum[i]) / seg[i] if seg[i] > 0 else 0.0
        return coords[i] + t * (coords[i + 1] - coords[i])

    inner = coords[(cum > a) & (cum < b)]
    pts = np.vstack([at(a), inner, at(b)])
    return shapely.LineString(pts)


def substrings(lines, starts, ends) -> np.ndarray:
    """:func:`substring` for arrays of lines and chainage ranges."""
    lines = np.asarray(lines, dtype=object)
    starts = np.broadcast_to(np.asarray(starts, dtype=float), lines.shape)
    ends = np.broadcast_to(np.asarray(ends, dtype=float), lines.shape)
    out = np.empty(len(lines), dtype=object)
    for i in range(len(lines)):
        out[i] = substring(lines[i], starts[i], ends[i])
    return out


@dataclass
class Snapped:
    """Result of :func:`snap_points`; arrays aligned with the input points.

    ``line`` is -1 (and the other fields NaN/None) where no line lies within the tolerance.
    """

    line: np.ndarray
    chainage: np.ndarray
    distance: np.ndarray
    point: np.ndarray

    @property
    def found(self) -> np.ndarray:
        return self.line >= 0


def snap_points(points, lines, tolerance: float, tree: shapely.STRtree | None = None) -> Snapped:
    """Snap each point to the nearest line within ``tolerance`` (bulk STRtree nearest query).

    Parameters
    ----------
    points, lines : array-like of shapely geometries
        In the same metric CRS.
    tolerance : float
        Largest snapping distance (m).
    tree : shapely.STRtree, optional
        A tree already built on ``lines``.
    """
    points = np.asarray(points, dtype=object)
    lines = np.asarray(lines, dtype=object)
    n = len(points)
    line_idx = np.full(n, -1, dtype=np.int64)
    chainage = np.full(n, np.nan)
    distance = np.full(n, np.nan)
    snapped = np.full(n, None, dtype=object)
    if n == 0 or len(lines) == 0:
        return Snapped(line_idx, chainage, distance, snapped)
    tree = tree or shapely.STRtree(lines)
    valid = ~shapely.is_missing(points) & ~shapely.is_empty(points)
    (qi, li), dist = tree.query_nearest(points[valid], max_distance=tolerance, return_distance=True,
                                        all_matches=False)
    qi = np.flatnonzero(valid)[qi]
    line_idx[qi] = li
    distance[qi] = dist
    chainage[qi] = shapely.line_locate_point(lines[li], points[qi])
    snapped[qi] = shapely.line_interpolate_point(lines[li], chainage[qi])
    return Snapped(line_idx, chainage, distance, snapped)


def runs(mask: np.ndarray, breaks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (inclusive) indices of the runs of True in ``mask``.

    ``breaks`` (same length, bool) marks indices where a new run must start even if the previous
    index is also True (e.g. the first point of each line part).
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    brk = np.zeros(mask.size, bool) if breaks is None else np.asarray(breaks, dtype=bool)
    prev = np.r_[False, mask[:-1]] & ~brk
    nxt = np.r_[mask[1:], False] & ~np.r_[brk[1:], True]
    return np.flatnonzero(mask & ~prev), np.flatnonzero(mask & ~nxt)


def group_runs(values: np.ndarray, mask: np.ndarray, breaks: np.ndarray | None = None):
    """Runs of True in ``mask`` that also keep the same ``values`` (e.g. the sign of curvature)."""
    values = np.asarray(values)
    brk = np.zeros(len(values), bool) if breaks is None else np.asarray(breaks, dtype=bool).copy()
    brk[1:] |= values[1:] != values[:-1]
    return runs(mask, brk)
