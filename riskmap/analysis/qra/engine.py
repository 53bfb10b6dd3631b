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

    @property
    def reach(self) -> float:
        """Largest distance (m) from the source at which P may be non-zero."""
        if self.kind == "radial":
            nz = np.flatnonzero(self.values > 0)
            return float(nz[-1] + 1) * self.step if nz.size else 0.0
        nz = np.argwhere(self.values > 0)
        if not nz.size:
            return 0.0
        return float(math.hypot(nz[:, 0].max() + 1, nz[:, 1].max() + 1) * self.step)

    def extent(self) -> tuple[float, float]:
        """``(x_max, y_max)`` of the non-zero part of a plume (m)."""
        nz = np.argwhere(self.values > 0)
        if not nz.size:
            return 0.0, 0.0
        return float(nz[:, 0].max() + 1) * self.step, float(nz[:, 1].max() + 1) * self.step

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


def plume_footprint(p_of_xy, x_max: float, y_max: float, step: float) -> Footprint:
    """A plume footprint from ``p_of_xy(x, y)`` (vectorised, m) on 0 ≤ x ≤ x_max, 0 ≤ y ≤ y_max."""
    x = np.arange(int(math.ceil(x_max / step)) + 2, dtype=float) * step
    y = np.arange(int(math.ceil(y_max / step)) + 2, dtype=float) * step
    values = np.clip(np.nan_to_num(np.asarray(p_of_xy(x[:, None], y[None, :]), float)), 0.0, 1.0)
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
    v = (values[i0, j0] * (1 - ti) * (1 - tj) + values[i0 + 1, j0] * ti * (1 - tj)
         + values[i0, j0 + 1] * (1 - ti) * tj + values[i0 + 1, j0 + 1] * ti * tj)
    out[inside] = v
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
    societal risk come from the population binned on the same lattice (:meth:`deaths`).
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
        """``(columns, P)``: the footprint on the polar lattice, only at the ψ columns where it may be non-zero."""
        if footprint.kind == "radial":
            return np.zeros(0, np.int64), footprint.sample(self.rho)
        x_max, y_max = footprint.extent()
        if x_max <= 0:
            return np.zeros(0, np.int64), np.zeros((self.n_r, 0))
        # the widest angle at which the lattice is non-zero (near the source every angle may be)
        nz = np.argwhere(footprint.values > 0)
        xs, ys = nz[:, 0] * footprint.step, (nz[:, 1] + 1) * footprint.step
        psi_max = float(np.max(np.arctan2(ys, np.maximum(xs - footprint.step, 0.0))))
        k = min(int(math.ceil(psi_max / self.dpsi)) + 1, self.n_psi // 2 - 1)  # 2k+1 distinct columns
        cols = np.arange(-k, k + 1)
        psi = cols * self.dpsi
        p = footprint.sample(self.rho[:, None] * np.cos(psi)[None, :], self.rho[:, None] * np.sin(psi)[None, :])
        return cols % self.n_psi, p

    def add(self, footprint: Footprint, frequency: float, pop_polar=None) -> np.ndarray | None:
        """Add ``frequency × footprint``; with ``pop_polar`` return the deaths N of each sector (mean over its directions)."""
        if frequency < 0 or not math.isfinite(frequency):
            raise ParameterError(tr(f"场景频率须 ≥ 0（次/年），不能是 {frequency}",
                                    f"scenario frequency must be ≥ 0 per year, not {frequency!r}"))
        cols, p = self.polar(footprint)
        if footprint.kind == "radial":
            self.q_radial += frequency * p
            if pop_polar is None:
                return None
            return np.full(self.n, float(pop_polar.sum(axis=1) @ p))
        self.q[:, cols] += frequency * p  # the columns are distinct, so a plain fancy-index add is exact
        if pop_polar is None:
            return None
        return self._sector_deaths(cols, p, pop_polar)

    def _sector_deaths(self, cols, p, pop_polar) -> np.ndarray:
        """N per sector: Σ pop(ρ, θ)·P(ρ, θ − φ), averaged over the sector's m directions φ (FFT correlation)."""
        if not cols.size:
            return np.zeros(self.n)
        rows = np.flatnonzero(p.any(axis=1))
        if not rows.size:
            return np.zeros(self.n)
        rows = slice(0, rows[-1] + 1)
        full = np.zeros((rows.stop, self.n_psi))
        full[:, cols] = p[rows]
        if getattr(self, "_pop_key", None) is not id(pop_polar):
            self._pop_fft = np.fft.rfft(pop_polar, axis=1)
            self._pop_key = id(pop_polar)
        spec = np.sum(self._pop_fft[rows] * np.conj(np.fft.rfft(full, axis=1)), axis=0)
        per_direction = np.fft.irfft(spec, n=self.n_psi)  # N(φ_k), k = 0 … n_psi − 1
        return np.maximum(per_direction.reshape(self.n, self.m).mean(axis=1), 0.0)

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
        dx = grid.xs(c0, c1)[None, :] - sx
        dy = grid.ys(r0, r1)[:, None] - sy
        rho = np.hypot(dx, dy) / self.step
        theta = (np.arctan2(dx, dy) - self.phi0) / self.dpsi % self.n_psi
        return (r0, r1, c0, c1), rho, theta

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
    out = np.zeros(fi.shape)
    fi, fj = fi[inside], fj[inside]
    i0 = fi.astype(np.int64)
    j0 = np.floor(fj).astype(np.int64) % nj
    j1 = (j0 + 1) % nj
    ti, tj = fi - i0, fj - np.floor(fj)
    out[inside] = (values[i0, j0] * (1 - ti) * (1 - tj) + values[i0 + 1, j0] * ti * (1 - tj)
                   + values[i0, j1] * (1 - ti) * tj + values[i0 + 1, j1] * ti * tj)
    return out
