"""Risk integration on a metric grid: individual risk per year and its contours.

Individual risk (个人风险, GB 36894-2018 §3: the yearly frequency of death of a person who stays
at a place all the time, unprotected) at a cell centre (x, y) is

    IR(x, y) = Σ_s Σ_w Σ_d  f_s · P_w · P_d · P_death(x, y | s, w, d)

over the scenarios s (frequency f_s per year, already multiplied by the event-tree branch), the
weather classes w (probability P_w) and the wind directions d (P_d of the wind rose). This is the
summation of GB/T 37243-2019 §6.7 and of the Purple Book (CPR 18E, §6.2 "individual risk").

How it is computed, whole-array:

- Each (scenario, weather) outcome is a :class:`Footprint`: P_death sampled once on its own small
  lattice, either *radial* (a function of the distance only: fires, explosions; the wind direction
  does not matter, so it is spread onto the grid once with weight f·P_w·ΣP_d) or a *plume*
  (a function of the downwind distance x ≥ 0 and the crosswind distance |y|).
- For each wind direction, only the grid cells inside the rotated bounding box of the plume
  footprint are visited; their downwind/crosswind coordinates are computed with numpy and
  P_death is read from the lattice by bilinear interpolation. No Python loop runs over cells.
- Grids are aligned to multiples of the cell size in the metric CRS, so the grids of several
  plants of one area (:func:`area_grids`) share one lattice and their risks simply add.

Contours (:func:`contours`) are the outlines of the cells whose IR is at or above each level
(3×10⁻⁵ … 3×10⁻⁷ /a by default), traced with ``rasterio.features.shapes``: a staircase at the
cell size (10 m by default), exact in the sense that a cell is inside when its centre's IR is.
Levels nest by construction.

Directions: the wind rose gives the probability that the wind blows *from* each of the n sectors
(sector 0 from the north, then clockwise); the plume travels towards the opposite azimuth.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: Default individual-risk contour levels (per year): GB 36894-2018 criteria values (STANDARDS.md §2).
CONTOUR_LEVELS = (3e-5, 1e-5, 3e-6, 1e-6, 3e-7)


@dataclass
class Footprint:
    """P_death around a source for one (scenario, weather) outcome.

    Attributes
    ----------
    kind : {"radial", "plume"}
    step : float
        Lattice spacing (m).
    values : ndarray
        ``radial``: P at r = i·step (1-D); ``plume``: ``values[i, j]`` is P at downwind x = i·step
        and crosswind |y| = j·step (2-D). Outside the lattice P is 0.
    """

    kind: str
    step: float
    values: np.ndarray

    def last_nonzero(self) -> tuple[int, int]:
        """The largest row and column index of a non-zero P of a plume.

        Returns
        -------
        (int, int)
            ``(i, j)``, or ``(−1, −1)`` when P is 0 everywhere.
        """
        mask = self.values > 0
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        return (int(rows[-1]), int(cols[-1])) if rows.size else (-1, -1)

    @property
    def reach(self) -> float:
        """Largest distance (m) from the source at which P may be non-zero."""
        if self.kind == "radial":
            nz = np.flatnonzero(self.values > 0)
            return float(nz[-1] + 1) * self.step if nz.size else 0.0
        i, j = self.last_nonzero()
        if i < 0:
            return 0.0
        return float(math.hypot(i + 1, j + 1) * self.step)

    def extent(self) -> tuple[float, float]:
        """``(x_max, y_max)`` of the non-zero part of a plume (m)."""
        i, j = self.last_nonzero()
        if i < 0:
            return 0.0, 0.0
        return float(i + 1) * self.step, float(j + 1) * self.step

    def sample(self, x, y=None):
        """P at downwind ``x`` and crosswind ``y`` (plume) or at distance ``x`` (radial), bilinear."""
        if self.kind == "radial":
            r = np.asarray(x, float) / self.step
            grid = np.arange(self.values.size, dtype=float)
            return np.interp(r, grid, self.values, left=self.values[0], right=0.0)
        return _bilinear(self.values, np.asarray(x, float) / self.step, np.abs(np.asarray(y, float)) / self.step)


def radial_footprint(p_of_r, reach: float, step: float) -> Footprint:
    """A radial footprint from ``p_of_r(r)`` (vectorised, r in m) sampled out to ``reach``."""
    r = np.arange(int(math.ceil(reach / step)) + 2, dtype=float) * step
    values = np.clip(np.nan_to_num(np.asarray(p_of_r(r), float)), 0.0, 1.0)
    values[-1] = 0.0
    return Footprint("radial", float(step), values)


def plume_footprint(p_of_xy, x_max: float, y_max: float, step: float, *,
                    crosswind_decreasing: bool = False) -> Footprint:
    """A plume footprint from ``p_of_xy(x, y)`` sampled on 0 ≤ x ≤ x_max, 0 ≤ y ≤ y_max.

    Parameters
    ----------
    p_of_xy : callable
        P_death at downwind ``x`` and crosswind ``y`` (m), vectorised (broadcasting arrays).
    x_max, y_max : float
        Extent of the lattice (m).
    step : float
        Lattice spacing (m).
    crosswind_decreasing : bool, default False
        Promise that P never grows with |y| at a fixed x (a Gaussian plume's load does not). Then the
        rows beyond the last downwind distance with P(x, 0) > 0 are all zero and are not evaluated.

    Returns
    -------
    Footprint
    """
    x = np.arange(int(math.ceil(x_max / step)) + 2, dtype=float) * step
    y = np.arange(int(math.ceil(y_max / step)) + 2, dtype=float) * step
    rows = x.size
    if crosswind_decreasing:
        centre = np.broadcast_to(np.asarray(p_of_xy(x[:, None], y[None, :1]), float), (x.size, 1))
        nz = np.flatnonzero(np.clip(np.nan_to_num(centre[:, 0]), 0.0, 1.0) > 0)
        rows = int(nz[-1]) + 1 if nz.size else 0
    values = np.zeros((x.size, y.size))
    if rows:
        values[:rows] = np.clip(np.nan_to_num(np.asarray(p_of_xy(x[:rows, None], y[None, :]), float)), 0.0, 1.0)
    values[-1, :] = 0.0
    values[:, -1] = 0.0
    return Footprint("plume", float(step), values)


def _bilinear(values, fi, fj):
    """Bilinear interpolation of ``values`` at fractional indices (0 outside)."""
    ni, nj = values.shape
    inside = (fi >= 0) & (fj >= 0) & (fi < ni - 1) & (fj < nj - 1)
    out = np.zeros(np.broadcast(fi, fj).shape)
    if not inside.any():
        return out
    fi, fj = np.broadcast_to(fi, out.shape)[inside], np.broadcast_to(fj, out.shape)[inside]
    i0, j0 = fi.astype(np.int64), fj.astype(np.int64)
    ti, tj = fi - i0, fj - j0
    ui, uj = 1 - ti, 1 - tj
    flat = i0 * nj + j0
    v = np.ravel(values)
    out[inside] = (v[flat] * ui * uj + v[flat + nj] * ti * uj + v[flat + 1] * ui * tj + v[flat + nj + 1] * ti * tj)
    return out


# ---------------------------------------------------------------------------
# grids
# ---------------------------------------------------------------------------
@dataclass
class RiskGrid:
    """A north-up metric grid: ``risk`` (per year) and optional ``population`` (persons per cell).

    Row 0 is the northern row; the cell (row, col) has its centre at
    ``x = xmin + (col + 0.5)·cell``, ``y = ymax − (row + 0.5)·cell``.
    """

    xmin: float
    ymax: float
    cell: float
    width: int
    height: int
    crs: object = None
    risk: np.ndarray = field(default=None, repr=False)
    population: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.risk is None:
            self.risk = np.zeros((self.height, self.width))

    @property
    def transform(self):
        from affine import Affine

        return Affine(self.cell, 0.0, self.xmin, 0.0, -self.cell, self.ymax)

    @property
    def bounds(self):
        return self.xmin, self.ymax - self.height * self.cell, self.xmin + self.width * self.cell, self.ymax

    def xs(self, c0=0, c1=None):
        c1 = self.width if c1 is None else c1
        return self.xmin + (np.arange(c0, c1) + 0.5) * self.cell

    def ys(self, r0=0, r1=None):
        r1 = self.height if r1 is None else r1
        return self.ymax - (np.arange(r0, r1) + 0.5) * self.cell

    def window(self, x0, y0, x1, y1):
        """``(r0, r1, c0, c1)`` of the cells whose centres may lie in the box (clipped; may be empty)."""
        c0 = max(int(math.floor((x0 - self.xmin) / self.cell)), 0)
        c1 = min(int(math.ceil((x1 - self.xmin) / self.cell)) + 1, self.width)
        r0 = max(int(math.floor((self.ymax - y1) / self.cell)), 0)
        r1 = min(int(math.ceil((self.ymax - y0) / self.cell)) + 1, self.height)
        return r0, max(r1, r0), c0, max(c1, c0)

    def value_at(self, x, y, array=None):
        """Values of ``array`` (default ``risk``) at points (0 outside the grid), by the cell holding each point."""
        array = self.risk if array is None else array
        x, y = np.asarray(x, float), np.asarray(y, float)
        col = np.floor((x - self.xmin) / self.cell).astype(np.int64)
        row = np.floor((self.ymax - y) / self.cell).astype(np.int64)
        ok = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        out = np.zeros(x.shape)
        out[ok] = array[row[ok], col[ok]]
        return out


def grid_around(x: float, y: float, radius: float, cell: float, crs=None) -> RiskGrid:
    """A grid aligned to multiples of ``cell`` covering the square of half-side ``radius`` around (x, y)."""
    return grid_for_bounds(x - radius, y - radius, x + radius, y + radius, cell, crs)


def grid_for_bounds(x0, y0, x1, y1, cell: float, crs=None) -> RiskGrid:
    """A grid aligned to multiples of ``cell`` that covers the box."""
    if not (cell > 0 and math.isfinite(cell)):
        raise ParameterError(tr(f"网格单元大小须为正数（米），不能是 {cell}",
                                f"grid cell must be a positive size in metres, not {cell!r}"))
    xmin = math.floor(x0 / cell) * cell
    ymax = math.ceil(y1 / cell) * cell
    width = int(math.ceil((x1 - xmin) / cell))
    height = int(math.ceil((ymax - y0) / cell))
    return RiskGrid(xmin, ymax, float(cell), max(width, 1), max(height, 1), crs)


def area_grids(xs, ys, radius: float, cell: float, crs=None):
    """One shared grid per *area*: plants whose squares of half-side ``radius`` overlap (transitively).

    Returns
    -------
    list of (RiskGrid, ndarray of plant indices)
    """
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    n = len(xs)
    parent = np.arange(n)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n:
        import shapely

        boxes = shapely.box(xs - radius, ys - radius, xs + radius, ys + radius)
        a, b = shapely.STRtree(boxes).query(boxes, predicate="intersects")
        for i, j in zip(a[a < b], b[a < b]):
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    out = []
    for root in np.unique(roots):
        members = np.flatnonzero(roots == root)
        grid = grid_for_bounds(xs[members].min() - radius, ys[members].min() - radius,
                               xs[members].max() + radius, ys[members].max() + radius, cell, crs)
        out.append((grid, members))
    return out


# ---------------------------------------------------------------------------
# integration
# ---------------------------------------------------------------------------
def uniform_rose(n: int = 16) -> np.ndarray:
    """A uniform wind rose of ``n`` sectors (probability 1/n each)."""
    return np.full(int(n), 1.0 / int(n))


def plume_azimuths(n: int) -> np.ndarray:
    """Azimuths (radians, clockwise from north) towards which the plume travels, per 'wind from' sector."""
    return (np.arange(n) * 2 * math.pi / n + math.pi) % (2 * math.pi)


@dataclass
class Outcome:
    """One (scenario, weather, direction) outcome: its frequency per year and expected deaths N."""

    source: int
    scenario: str
    weather: str
    direction: int  # -1 for a radial footprint (all directions give the same N)
    frequency: float
    deaths: float


def add_footprint(grid: RiskGrid, sx: float, sy: float, footprint: Footprint, frequency: float,
                  rose, *, population=None, source: int = 0, scenario: str = "", weather: str = "",
                  outcomes: list | None = None, risk=None) -> None:
    """Add ``frequency · P_d · P_death`` of one (scenario, weather) footprint to ``grid.risk`` (in place).

    Parameters
    ----------
    grid : RiskGrid
    sx, sy : float
        Source position in the grid's CRS (m).
    footprint : Footprint
    frequency : float
        f_s · P_w (per year).
    rose : array
        Probability of the wind blowing from each of n sectors (sums to 1).
    population : ndarray, optional
        Persons per cell on the grid (for N of each outcome); when given, one :class:`Outcome`
        per direction (per footprint for a radial one) is appended to ``outcomes``.
    risk : ndarray, optional
        Array to add to instead of ``grid.risk`` (same shape).
    """
    risk = grid.risk if risk is None else risk
    rose = np.asarray(rose, float)
    if frequency < 0 or not math.isfinite(frequency):
        raise ParameterError(tr(f"场景频率须 ≥ 0（次/年），不能是 {frequency}",
                                f"scenario frequency must be ≥ 0 per year, not {frequency!r}"))
    if frequency == 0 and outcomes is None:
        return
    reach = footprint.reach
    if reach <= 0:
        return
    if footprint.kind == "radial":
        r0, r1, c0, c1 = grid.window(sx - reach, sy - reach, sx + reach, sy + reach)
        if r1 <= r0 or c1 <= c0:
            return
        dx = grid.xs(c0, c1)[None, :] - sx
        dy = grid.ys(r0, r1)[:, None] - sy
        p = footprint.sample(np.hypot(dx, dy))
        risk[r0:r1, c0:c1] += frequency * rose.sum() * p
        if outcomes is not None and population is not None:
            outcomes.append(Outcome(source, scenario, weather, -1, frequency * rose.sum(),
                                    float(np.sum(p * population[r0:r1, c0:c1]))))
        return
    x_max, y_max = footprint.extent()
    for d, (az, pd) in enumerate(zip(plume_azimuths(rose.size), rose)):
        if pd <= 0:
            continue
        ux, uy = math.sin(az), math.cos(az)  # downwind unit vector
        corners_u = np.array([0.0, x_max, x_max, 0.0])
        corners_v = np.array([-y_max, -y_max, y_max, y_max])
        cx = sx + corners_u * ux + corners_v * uy
        cy = sy + corners_u * uy - corners_v * ux
        r0, r1, c0, c1 = grid.window(cx.min(), cy.min(), cx.max(), cy.max())
        if r1 <= r0 or c1 <= c0:
            continue
        dx = grid.xs(c0, c1)[None, :] - sx
        dy = grid.ys(r0, r1)[:, None] - sy
        along = dx * ux + dy * uy
        across = dx * uy - dy * ux
        p = footprint.sample(along, across)
        risk[r0:r1, c0:c1] += frequency * pd * p
        if outcomes is not None and population is not None:
            outcomes.append(Outcome(source, scenario, weather, d, frequency * pd,
                                    float(np.sum(p * population[r0:r1, c0:c1]))))


# ---------------------------------------------------------------------------
# contours
# ---------------------------------------------------------------------------
def contours(risk, transform, levels=CONTOUR_LEVELS):
    """Polygons of IR ≥ each level (one MultiPolygon or None per level), in the grid's CRS.

    The outline follows the cell edges: a cell is inside when the IR at its centre reaches the level.
    """
    import shapely
    from rasterio import features

    out = []
    for level in levels:
        mask = np.asarray(risk) >= float(level)
        if not mask.any():
            out.append(None)
            continue
        polys = [shapely.geometry.shape(g) for g, v in
                 features.shapes(mask.astype(np.uint8), mask=mask, connectivity=4, transform=transform) if v]
        out.append(shapely.union_all(np.asarray(polys, dtype=object)))
    return out


def reach_of_level(risk, grid: RiskGrid, sx: float, sy: float, level: float) -> float:
    """Largest distance (m) from (sx, sy) to a cell centre with IR ≥ ``level`` (0 when none)."""
    rows, cols = np.nonzero(np.asarray(risk) >= level)
    if rows.size == 0:
        return 0.0
    x = grid.xmin + (cols + 0.5) * grid.cell
    y = grid.ymax - (rows + 0.5) * grid.cell
    return float(np.hypot(x - sx, y - sy).max())


__all__ = ["CONTOUR_LEVELS", "Footprint", "Outcome", "PolarRisk", "RiskGrid", "add_footprint", "area_grids", "contours",
           "grid_around", "grid_for_bounds", "plume_azimuths", "plume_footprint", "radial_footprint",
           "reach_of_level", "uniform_rose"]


# ---------------------------------------------------------------------------
# sector-uniform wind directions (the assessment's integrator)
# ---------------------------------------------------------------------------
class PolarRisk:
    """Risk of one source with the wind direction uniform *within* each sector of the rose.

    With 16 discrete directions a narrow plume leaves rays of zero risk between them (a plume of
    angular half-width 3° covers only a quarter of the circle). Treating the direction as uniform
    over each 22.5° sector (as sector-averaged plume models do) removes the gaps:

        IR(ρ, θ) = Σ_s f_s · Σ_d P_d · (1/Δθ) ∫_{sector d} P_s(ρ cos(θ−φ), ρ sin(θ−φ)) dφ.

    Footprints are sampled on a polar lattice (ρ = i·step, ψ = j·dψ with ``per_sector`` angles per
    sector) relative to the plume axis and summed, weighted by frequency, into one array per source;
    because the sum over directions is a circular convolution in ψ of that array with the rose (a
    step function), it is done once per source with an FFT (:meth:`risk_polar`) and the cells take
    their value by bilinear interpolation in (ρ, θ) (:meth:`add_to`). Deaths per sector for the
    societal risk come from the population binned on the same lattice (:meth:`population_polar`).

    Cost: a footprint is sampled only at the nodes each ring can reach (:meth:`polar`), a few per
    cent of the ring × widest-angle rectangle for a long plume, and its deaths per sector are one
    gather of 16 sector-mean populations per node (:meth:`_sector_deaths`), so the per-footprint work
    grows with the footprint's area, not with the lattice's.
    """

    def __init__(self, reach: float, step: float, rose, per_sector: int = 90):
        self.rose = np.asarray(rose, float)
        self.n = self.rose.size
        self.m = int(per_sector)
        self.n_psi = self.n * self.m
        self.dpsi = 2 * math.pi / self.n_psi
        self.step = float(step)
        self.n_r = int(math.ceil(reach / step)) + 2
        self.rho = np.arange(self.n_r) * self.step
        self.q = np.zeros((self.n_r, self.n_psi))  # Σ f·P in the plume frame (column j: ψ = j·dψ)
        self.q_radial = np.zeros(self.n_r)  # Σ f·P of radial footprints
        # the first plume direction of sector 0 (wind from the north → towards the south)
        self.phi0 = math.pi - math.pi / self.n + self.dpsi / 2

    def polar(self, footprint: Footprint) -> tuple[np.ndarray, np.ndarray]:
        """The footprint at the polar lattice nodes where it may be non-zero.

        Parameters
        ----------
        footprint : Footprint

        Returns
        -------
        (ndarray, ndarray)
            ``radial``: an empty index array and P at every ρ (1-D). ``plume``: the flat indices
            ``i·n_psi + (j mod n_psi)`` of the nodes (ρ_i, ψ_j) with P > 0 (distinct) and P there.

        Notes
        -----
        A node can only be non-zero when one of the four lattice points around it is. A lattice point
        (a, b) reaches the distances hypot(a − 1, b − 1)·step … hypot(a + 1, b + 1)·step and the angles up
        to atan2((b + 1)·step, (a − 1)·step), so each ring of the polar lattice is sampled only over the
        angles that its own non-zero lattice points can reach. Near the source every angle may be
        reached; further out a plume covers a few columns, so most of the 2k + 1 columns of its widest
        angle are never visited.
        """
        if footprint.kind == "radial":
            return np.zeros(0, np.int64), footprint.sample(self.rho)
        a, b = np.nonzero(footprint.values > 0)
        if not a.size:
            return np.zeros(0, np.int64), np.zeros(0)
        s = footprint.step
        psi = np.arctan2((b + 1) * s, np.maximum((a - 1) * s, 0.0))
        k_node = np.minimum(np.ceil(psi / self.dpsi).astype(np.int64) + 1, self.n_psi // 2 - 1)
        lo = np.floor(np.hypot(np.maximum(a - 1, 0), np.maximum(b - 1, 0)) * s / self.step).astype(np.int64)
        hi = np.minimum(np.ceil(np.hypot(a + 1, b + 1) * s / self.step).astype(np.int64), self.n_r - 1)
        k_row = np.full(self.n_r, -1, np.int64)  # widest column reached on each ring (−1: none)
        for t in range(int((hi - lo).max()) + 1):
            ring = lo + t
            ok = ring <= hi
            np.maximum.at(k_row, ring[ok], k_node[ok])
        rows = np.flatnonzero(k_row >= 0)
        k = k_row[rows]
        counts = 2 * k + 1
        ri = np.repeat(rows, counts)
        j = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts + k, counts)
        rho = self.rho[ri]
        cos, sin = self._trig()
        half = self.n_psi // 2
        p = footprint.sample(rho * cos[j + half], rho * sin[j + half])
        keep = p > 0
        return ri[keep] * self.n_psi + j[keep] % self.n_psi, p[keep]

    def _trig(self):
        """cos ψ_j and sin ψ_j for j = −n_psi/2 … n_psi/2 (index j + n_psi/2)."""
        if getattr(self, "_trig_table", None) is None:
            half = self.n_psi // 2
            psi = np.arange(-half, half + 1) * self.dpsi
            self._trig_table = (np.cos(psi), np.sin(psi))
        return self._trig_table

    def add(self, footprint: Footprint, frequency: float, pop_polar=None) -> np.ndarray | None:
        """Add ``frequency × footprint`` to the source's risk.

        Parameters
        ----------
        footprint : Footprint
        frequency : float
            f_s · P_w (per year).
        pop_polar : ndarray, optional
            The population on the lattice (:meth:`population_polar`).

        Returns
        -------
        ndarray or None
            With ``pop_polar``: the deaths N of each sector (mean over its directions).
        """
        if frequency < 0 or not math.isfinite(frequency):
            raise ParameterError(tr(f"场景频率须 ≥ 0（次/年），不能是 {frequency}",
                                    f"scenario frequency must be ≥ 0 per year, not {frequency!r}"))
        flat, p = self.polar(footprint)
        if footprint.kind == "radial":
            self.q_radial += frequency * p
            if pop_polar is None:
                return None
            return np.full(self.n, float(self._sector_population(pop_polar)[1] @ p))
        self.q.ravel()[flat] += frequency * p  # the indices are distinct, so a plain fancy-index add is exact
        if pop_polar is None:
            return None
        return self._sector_deaths(flat, p, pop_polar)

    def _sector_population(self, pop_polar):
        """``(box, ring totals)`` of a population lattice, computed once per lattice.

        ``box[i, r, l]`` is the mean population of the m columns starting at column (l mod n)·m + r of
        ring i (l < 2n, so that any n consecutive sectors are one contiguous slice).
        """
        if getattr(self, "_pop_ref", None) is not pop_polar:
            n, m = self.n, self.m
            blocks = np.asarray(pop_polar, float).reshape(self.n_r, n, m)
            # a window of m columns is the tail of one sector plus the head of the next: both partial sums
            # are of non-negative terms, so an empty window stays exactly 0 (a running total would not)
            head = np.cumsum(blocks, axis=2)
            tail = np.cumsum(blocks[:, :, ::-1], axis=2)[:, :, ::-1]
            tail[:, :-1, 1:] += head[:, 1:, :-1]
            tail[:, -1, 1:] += head[:, 0, :-1]
            tail /= m
            box = np.empty((self.n_r, m, 2 * n))
            box[:, :, :n] = tail.transpose(0, 2, 1)
            box[:, :, n:] = box[:, :, :n]
            self._pop_box = box
            self._pop_rings = blocks.sum(axis=(1, 2))
            self._pop_ref = pop_polar
        return self._pop_box, self._pop_rings

    def _sector_deaths(self, flat, p, pop_polar) -> np.ndarray:
        """N per sector: Σ pop(ρ, θ)·P(ρ, θ − φ), averaged over the sector's m directions φ.

        With the footprint node (ρ_i, ψ_j) and the plume direction φ_k = phi0 + k·dψ, the person at
        column j + k is exposed; averaged over the sector d (k = d·m … d·m + m − 1) this is P(i, j) times
        the mean population of the m columns from j + d·m, i.e. ``box`` (:meth:`_sector_population`).
        """
        if not flat.size:
            return np.zeros(self.n)
        box, _rings = self._sector_population(pop_polar)
        n, m = self.n, self.m
        ri, col = np.divmod(flat, self.n_psi)
        q, r = np.divmod(col, m)
        base = (ri * m + r) * (2 * n) + q
        box = box.ravel()
        out = np.zeros(self.n)
        offsets = np.arange(n)
        # chunks keep the gathered rows in cache; einsum rather than a BLAS product, whose threads only
        # wait for each other on a busy machine at these sizes
        for c0 in range(0, base.size, 8192):
            sl = slice(c0, c0 + 8192)
            out += np.einsum("i,ij->j", p[sl], box[base[sl, None] + offsets])
        return np.maximum(out, 0.0)

    def risk_polar(self) -> np.ndarray:
        """IR on the lattice of absolute azimuths θ_l = phi0 + l·dψ (rows ρ)."""
        w = np.repeat(self.rose / self.m, self.m)  # weight of each plume direction φ_k = phi0 + k·dψ
        conv = np.fft.irfft(np.fft.rfft(self.q, axis=1) * np.fft.rfft(w)[None, :], n=self.n_psi, axis=1)
        peak = float(np.abs(conv).max()) if conv.size else 0.0
        conv[conv < 1e-12 * peak] = 0.0  # FFT round-off (≈1e-16 relative) is no risk
        return conv + self.q_radial[:, None]

    def cell_coordinates(self, grid: RiskGrid, sx: float, sy: float, window=None):
        """``(window, fractional ρ index, fractional θ index)`` of the grid cells within reach."""
        reach = (self.n_r - 2) * self.step
        r0, r1, c0, c1 = window or grid.window(sx - reach, sy - reach, sx + reach, sy + reach)
        key = (grid.xmin, grid.ymax, grid.cell, grid.width, grid.height, float(sx), float(sy), (r0, r1, c0, c1))
        cached = getattr(self, "_coords", None)
        if cached is not None and cached[0] == key:  # population_polar and add_to ask for the same cells
            return cached[1]
        dx = grid.xs(c0, c1)[None, :] - sx
        dy = grid.ys(r0, r1)[:, None] - sy
        rho = np.hypot(dx, dy) / self.step
        theta = (np.arctan2(dx, dy) - self.phi0) / self.dpsi % self.n_psi
        self._coords = (key, ((r0, r1, c0, c1), rho, theta))
        return self._coords[1]

    def add_to(self, grid: RiskGrid, sx: float, sy: float, risk=None) -> None:
        """Add this source's IR to ``risk`` (default ``grid.risk``) at the cell centres."""
        risk = grid.risk if risk is None else risk
        (r0, r1, c0, c1), rho, theta = self.cell_coordinates(grid, sx, sy)
        if r1 <= r0 or c1 <= c0:
            return
        lattice = self.risk_polar()
        risk[r0:r1, c0:c1] += _bilinear_circular(lattice, rho, theta)

    def population_polar(self, grid: RiskGrid, sx: float, sy: float, population) -> np.ndarray:
        """The grid's population binned on the (ρ, θ) lattice (each cell to its nearest node)."""
        (r0, r1, c0, c1), rho, theta = self.cell_coordinates(grid, sx, sy)
        out = np.zeros((self.n_r, self.n_psi))
        if r1 <= r0 or c1 <= c0:
            return out
        pop = np.asarray(population)[r0:r1, c0:c1]
        i = np.rint(rho).astype(np.int64)
        j = np.rint(theta).astype(np.int64) % self.n_psi
        ok = (pop > 0) & (i < self.n_r)
        flat = np.bincount(i[ok] * self.n_psi + j[ok], weights=pop[ok], minlength=self.n_r * self.n_psi)
        return flat.reshape(self.n_r, self.n_psi)


def _bilinear_circular(values, fi, fj):
    """Bilinear interpolation with the second axis circular (0 beyond the first axis)."""
    ni, nj = values.shape
    inside = fi < ni - 1
    whole = bool(inside.all())  # the usual case: the square around a plant lies within the lattice
    out = np.zeros(fi.shape)
    if not whole:
        fi, fj = fi[inside], fj[inside]
    i0 = fi.astype(np.int64)
    fl = np.floor(fj)
    j0 = fl.astype(np.int64) % nj
    j1 = (j0 + 1) % nj
    ti, tj = fi - i0, fj - fl
    ui, uj = 1 - ti, 1 - tj
    row0, row1 = i0 * nj, (i0 + 1) * nj
    v = np.ravel(values)
    got = v[row0 + j0] * ui * uj + v[row1 + j0] * ti * uj + v[row0 + j1] * ui * tj + v[row1 + j1] * ti * tj
    if whole:
        return got
    out[inside] = got
    return out
