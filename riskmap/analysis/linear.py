"""Linear referencing along roads: chainage in metres, km-post labels, substrings, snapping.

Chainage (桩号) is the distance in metres from the first vertex of a road line, measured in a
metric CRS. For a road stored as several parts (a MultiLineString that does not merge into one
line) the parts are taken in stored order and chainage continues from one part to the next,
which is GEOS's convention for ``project``/``interpolate`` on multi-part lines.

Km-post labels follow Chinese practice: ``K12+300`` is 12 km + 300 m; a range is written
``K12+300–K12+420``.

The 桩号 a road authority writes are not always the measured chainage: a road may start at a
station other than K0+000 (起点桩号, e.g. a county's stretch of a national road starting at
K812+300), and realignments leave chainage breaks (断链) where the stationing jumps: written
``K15+200=K15+150`` (the station coming from the start = the station going on). When the
station before the break is larger than after it the road is longer than its stations say
(长链, the stations K15+150…K15+200 occur twice); when smaller, stations are skipped (短链).
:class:`Stationing` converts measured chainage to the written station and back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import shapely

from riskmap.errors import ParameterError
from riskmap.i18n import tr

_KM_RE = re.compile(r"^\s*[Kk]?\s*(\d+)\s*\+\s*(\d+(?:\.\d*)?)\s*(?:m|米)?\s*$")
#: Full-width characters users type in Chinese input methods, mapped to ASCII.
_FULL_WIDTH = str.maketrans({"＋": "+", "Ｋ": "K", "ｋ": "k", "＝": "=", "．": ".", "　": " ", "；": ";", "，": ","})


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
    """Chainage in metres of a km-post label (``"K12+300"``, ``"k812+300.5"``, ``"K812 + 300"``) or a plain number.

    A plain number is metres. Full-width ``＋``/``Ｋ`` are accepted.

    Raises
    ------
    ParameterError
        If the text is neither.
    """
    s = str(text).translate(_FULL_WIDTH).strip()
    match = _KM_RE.match(s)
    if match:
        return int(match.group(1)) * 1000.0 + float(match.group(2))
    try:
        return float(s)
    except ValueError:
        raise ParameterError(tr(f"“{text}”不是桩号，请写成K12+300或米数",
                                f"{text!r} is not a km-post; write it like K12+300 or as metres")) from None


# ---------------------------------------------------------------------------
# stationing: start station and chainage breaks (断链)
# ---------------------------------------------------------------------------
_BREAK_RE = re.compile(r"^(.+?)=(.+)$")


@dataclass(frozen=True)
class Stationing:
    """The 桩号 of a road as its authority writes them: a start station and chainage breaks.

    Parameters
    ----------
    start : float
        Station (m) at the road's first vertex (起点桩号; 0 = K0+000).
    breaks : tuple of (float, float)
        Chainage breaks (断链) in order along the road, each ``(back, ahead)``: the station
        reached coming from the start and the station the road carries on with, as written in
        ``K15+200=K15+150``. ``back > ahead`` is a 长链, ``back < ahead`` a 短链.

    Notes
    -----
    A break lies where the stationing before it reads ``back``: at measured chainage
    ``back − start − Σ(ahead − back of the earlier breaks)``. Beyond it every station is shifted
    by ``ahead − back``.
    """

    start: float = 0.0
    breaks: tuple = ()

    def __post_init__(self):
        offset = float(self.start)
        at = []
        for back, ahead in self.breaks:
            m = float(back) - offset
            if m < 0 or (at and m < at[-1]):
                raise ParameterError(tr(f"断链{km_post(back)}={km_post(ahead)}不在前一桩号之后，断链应按里程顺序填写",
                                        f"chainage break {km_post(back)}={km_post(ahead)} is out of order"))
            at.append(m)
            offset += float(ahead) - float(back)
        object.__setattr__(self, "_at", np.asarray(at, dtype=float))
        shifts = np.r_[float(self.start), float(self.start) + np.cumsum([a - b for b, a in self.breaks])]
        object.__setattr__(self, "_offset", shifts)

    @property
    def is_plain(self) -> bool:
        """True when the stations are the measured chainage (K0+000 at the start, no break)."""
        return self.start == 0 and not self.breaks

    @property
    def break_chainages(self) -> np.ndarray:
        """Measured chainage (m from the first vertex) of each break."""
        return self._at.copy()

    def station(self, m) -> np.ndarray:
        """Written station (m) at measured chainage(s) ``m``; at a break the station going on."""
        m = np.asarray(m, dtype=float)
        k = np.searchsorted(self._at, m, side="right")
        return m + self._offset[k]

    def label(self, m: float, prefix: str = "K") -> str:
        """Km-post label of the station at measured chainage ``m``."""
        if m is None or not np.isfinite(m):
            return ""
        return km_post(float(self.station(m)), prefix)

    def labels(self, values, prefix: str = "K") -> np.ndarray:
        """Km-post labels at an array of measured chainages."""
        values = np.asarray(values, dtype=float).ravel()
        st = self.station(values)
        return np.array([km_post(v, prefix) if np.isfinite(m) else "" for v, m in zip(st, values)], dtype=object)

    def range_label(self, start_m: float, end_m: float, prefix: str = "K") -> str:
        """Km-post range label of measured chainages, e.g. ``"K812+300–K812+420"``."""
        return f"{self.label(start_m, prefix)}–{self.label(end_m, prefix)}"

    def measure(self, station: float) -> float:
        """Measured chainage of a written station (the first place it occurs, for a 长链).

        Raises
        ------
        ParameterError
            If the station falls in the stations a 短链 skips or before the start.
        """
        station = float(station)
        bounds = np.r_[0.0, self._at, np.inf]
        for k in range(len(self._offset)):
            m = station - self._offset[k]
            if bounds[k] - 1e-9 <= m <= bounds[k + 1] + 1e-9:
                return float(m)
        raise ParameterError(tr(f"桩号{km_post(station)}不在本路段的桩号范围内（短链跳过的桩号或起点之前）",
                                f"station {km_post(station)} is not on this road"))

    def to_text(self) -> str:
        """``"K812+300；K815+200=K815+150"`` (start, then the breaks); ``""`` when plain."""
        if self.is_plain:
            return ""
        parts = [km_post(self.start)] + [f"{km_post(b)}={km_post(a)}" for b, a in self.breaks]
        return "；".join(parts)

    def describe(self) -> str:
        """Chinese description, e.g. ``"起点K812+300；断链K815+200=K815+150（长链50 m）"``."""
        if self.is_plain:
            return ""
        parts = [f"起点{km_post(self.start)}"]
        for b, a in self.breaks:
            kind = "长链" if b > a else "短链"
            parts.append(f"断链{km_post(b)}={km_post(a)}（{kind}{abs(b - a):g} m）")
        return "；".join(parts)

    @classmethod
    def from_text(cls, text) -> "Stationing":
        """Inverse of :meth:`to_text` (``""`` or None: plain)."""
        if text is None or (isinstance(text, float) and not np.isfinite(text)) or not str(text).strip():
            return cls()
        items = [t for t in re.split(r"[;,]", str(text).translate(_FULL_WIDTH)) if t.strip()]
        start = 0.0
        if items and "=" not in items[0]:
            start = parse_km_post(items.pop(0))
        return cls.parse(start, ";".join(items))

    @classmethod
    def parse(cls, start=None, breaks=None) -> "Stationing":
        """From a start-station value and a break text as found in road attributes.

        Parameters
        ----------
        start : str, float or None
            ``"K812+300"`` (or metres); empty/None/NaN: K0+000.
        breaks : str or None
            One or more ``back=ahead`` pairs separated by ``;`` or ``,`` (``"K15+200=K15+150"``).
        """
        s0 = 0.0
        if start is not None and not (isinstance(start, float) and not np.isfinite(start)) and str(start).strip():
            s0 = parse_km_post(start)
        pairs = []
        if breaks is not None and not (isinstance(breaks, float) and not np.isfinite(breaks)):
            for item in re.split(r"[;,]", str(breaks).translate(_FULL_WIDTH)):
                if not item.strip():
                    continue
                match = _BREAK_RE.match(item.strip())
                if not match:
                    raise ParameterError(tr(f"断链“{item.strip()}”应写成K15+200=K15+150",
                                            f"chainage break {item.strip()!r}: write it like K15+200=K15+150"))
                pairs.append((parse_km_post(match.group(1)), parse_km_post(match.group(2))))
        return cls(s0, tuple(pairs))


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


def vertex_chainage(coords, vidx, base: float = 0.0) -> np.ndarray:
    """Cumulative length at every vertex of concatenated parts, continuing from ``base``.

    Parts do not add length to each other (the step between one part's last vertex and the next
    part's first is 0). The sum runs on from ``base`` in order, so the parts of a later batch,
    given the total of the earlier ones as ``base``, get the very same (rounded) values as when
    all parts are summed at once.
    """
    seg = np.hypot(*np.diff(coords, axis=0).T)
    seg = np.where(vidx[1:] == vidx[:-1], seg, 0.0)
    return np.cumsum(np.r_[float(base), seg])


def resample_counts(lengths, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Intervals and actual spacing of parts of ``lengths`` (from :func:`vertex_chainage`) in :func:`resample`.

    A part gets ``counts + 1`` points, ``step`` apart.
    """
    lengths = np.asarray(lengths, float)
    counts = np.maximum(np.ceil(lengths / spacing - 1e-9).astype(np.int64), 1)
    return counts, lengths / counts


def resample(parts, spacing: float, base: float = 0.0) -> Resampled:
    """Resample single-part lines at equal spacing (whole-array; no Python loop over lines).

    Each part of length L gets ``ceil(L / spacing) + 1`` points, first and last vertex included,
    evenly spaced (so the spacing is at most ``spacing``).

    Parameters
    ----------
    parts : array-like of LineString
    spacing : float
        Largest spacing (m).
    base : float, default 0
        Cumulative length of the parts before these ones (:func:`vertex_chainage`): a batch of
        a larger set of parts given its ``base`` is resampled exactly as within the whole set.
    """
    if spacing <= 0:
        raise ParameterError(tr("重采样间距须为正数（米）", "the resampling spacing must be positive (metres)"))
    parts = np.asarray(parts, dtype=object)
    n_parts = len(parts)
    if n_parts == 0:
        return Resampled(np.zeros((0, 2)), np.zeros(0), np.zeros(0, int), np.zeros(1, int), np.zeros(0))
    coords, vidx = shapely.get_coordinates(parts, return_index=True)
    cum = vertex_chainage(coords, vidx, base)
    vstart = np.searchsorted(vidx, np.arange(n_parts), side="left")
    vend = np.r_[vstart[1:], len(vidx)]  # exclusive
    lengths = cum[vend - 1] - cum[vstart]
    counts, step = resample_counts(lengths, spacing)
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
