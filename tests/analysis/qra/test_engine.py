"""Risk integration against closed forms (issue 13, "Validation": the heart of the QRA).

Oracles are hand computations: a footprint with P_death = 1 inside a known shape under a known
wind rose gives IR = f × (the share of the rose whose footprint covers the point).
"""
import math

import numpy as np
import pytest
import shapely

from riskmap.analysis.qra import engine

F = 1e-5  # scenario frequency per year
R = 500.0  # lethal radius (m)
CELL = 10.0


def _polar(grid, sx, sy):
    x = grid.xs()[None, :] - sx
    y = grid.ys()[:, None] - sy
    return np.hypot(x, y), np.degrees(np.arctan2(x, y)) % 360  # azimuth clockwise from north


def test_circle_footprint_gives_f_inside_and_zero_outside():
    grid = engine.grid_around(1000.0, 2000.0, 800.0, CELL)
    fp = engine.radial_footprint(lambda r: (r < R).astype(float), R + 50, 1.0)
    engine.add_footprint(grid, 1000.0, 2000.0, fp, F, engine.uniform_rose(16))
    r, _az = _polar(grid, 1000.0, 2000.0)
    np.testing.assert_allclose(grid.risk[r < R - 2], F)  # IR = f · Σ P_d · 1 = f
    assert (grid.risk[r > R + 2] == 0).all()


def test_half_disc_plume_under_uniform_rose_gives_half_f():
    """P = 1 for 0 ≤ x ≤ R downwind, any |y| < R: every point is covered by 8 of 16 directions → IR = f/2."""
    grid = engine.grid_around(0.0, 0.0, 800.0, CELL)
    fp = engine.plume_footprint(lambda x, y: ((x * x + y * y) < R * R).astype(float), R + 20, R + 20, 1.0)
    engine.add_footprint(grid, 0.0, 0.0, fp, F, engine.uniform_rose(16))
    r, az = _polar(grid, 0.0, 0.0)
    off_axis = np.abs(((az - 90.0) % 22.5) - 11.25) < 8.0  # away from the 16 sector boundaries at ±90°
    inside = (r > 20) & (r < R - 5) & off_axis
    np.testing.assert_allclose(grid.risk[inside], F / 2, rtol=1e-9)
    assert (grid.risk[r > R + 5] == 0).all()


@pytest.mark.parametrize("half_angle, covered", [(11.25, 1), (22.5, 2), (33.75, 3)])
def test_sector_plume_under_uniform_rose(half_angle, covered):
    """A sector of half-angle k·11.25° out to R: each point is covered by k of the 16 directions → IR = k·f/16."""
    grid = engine.grid_around(0.0, 0.0, 700.0, CELL)
    tan = math.tan(math.radians(half_angle))

    def p(x, y):
        return ((x > 0) & (np.abs(y) < tan * x) & (x * x + y * y < R * R)).astype(float)

    fp = engine.plume_footprint(p, R + 20, R + 20, 0.5)
    engine.add_footprint(grid, 0.0, 0.0, fp, F, engine.uniform_rose(16))
    r, az = _polar(grid, 0.0, 0.0)
    # points at least 2° of azimuth away from every sector edge (edges at multiples of 11.25°)
    phase = az % 11.25
    away = (phase > 2.0) & (phase < 9.25)
    sel = (r > 60) & (r < R - 10) & away
    np.testing.assert_allclose(grid.risk[sel], covered * F / 16, rtol=1e-9)


def test_wind_from_the_north_carries_the_plume_south():
    grid = engine.grid_around(0.0, 0.0, 600.0, CELL)
    fp = engine.plume_footprint(lambda x, y: ((x < R) & (np.abs(y) < 30)).astype(float), R, 40, 1.0)
    rose = np.zeros(16)
    rose[0] = 1.0  # wind from the north only
    engine.add_footprint(grid, 0.0, 0.0, fp, F, rose)
    south = grid.value_at([0.0], [-300.0])[0]
    north = grid.value_at([0.0], [300.0])[0]
    east = grid.value_at([300.0], [0.0])[0]
    assert south == pytest.approx(F) and north == 0 and east == 0
    rose = np.zeros(16)
    rose[4] = 1.0  # wind from the east (sector 4 = 90°) → plume to the west
    grid.risk[:] = 0
    engine.add_footprint(grid, 0.0, 0.0, fp, F, rose)
    assert grid.value_at([-300.0], [0.0])[0] == pytest.approx(F) and grid.value_at([300.0], [0.0])[0] == 0


def _exp_case(frequency, length=200.0):
    grid = engine.grid_around(0.0, 0.0, 2000.0, CELL)
    fp = engine.radial_footprint(lambda r: np.exp(-r / length), 1990.0, 1.0)
    engine.add_footprint(grid, 0.0, 0.0, fp, frequency, engine.uniform_rose(16))
    return grid


def test_contours_match_the_closed_form_radius_and_nest():
    """IR(r) = f·exp(−r/L) ⇒ the contour of level ℓ is a circle of radius L·ln(f/ℓ)."""
    f, length = 1e-4, 200.0
    grid = _exp_case(f, length)
    levels = engine.CONTOUR_LEVELS
    polys = engine.contours(grid.risk, grid.transform, levels)
    for level, poly in zip(levels, polys):
        expected = length * math.log(f / level)
        radius = math.sqrt(poly.area / math.pi)
        assert radius == pytest.approx(expected, abs=CELL), level
        assert engine.reach_of_level(grid.risk, grid, 0.0, 0.0, level) == pytest.approx(expected, abs=CELL)
    for inner, outer in zip(polys, polys[1:]):  # 3e-5 inside 1e-5 inside ... inside 3e-7
        assert outer.buffer(1e-6).contains(inner)
        assert outer.area > inner.area


def test_doubling_the_frequency_moves_contours_out_by_l_ln2():
    length = 200.0
    base = engine.contours(_exp_case(1e-4, length).risk, _exp_case(1e-4, length).transform, [1e-6])[0]
    double = engine.contours(_exp_case(2e-4, length).risk, _exp_case(2e-4, length).transform, [1e-6])[0]
    grow = math.sqrt(double.area / math.pi) - math.sqrt(base.area / math.pi)
    assert grow == pytest.approx(length * math.log(2), abs=CELL)
    assert double.contains(base)


def test_zero_frequency_gives_no_contour():
    grid = _exp_case(0.0)
    assert not grid.risk.any()
    assert engine.contours(grid.risk, grid.transform) == [None] * len(engine.CONTOUR_LEVELS)


def test_area_grids_merge_overlapping_plants_and_add_their_risk():
    xs, ys = np.array([0.0, 2000.0, 50_000.0]), np.array([0.0, 0.0, 0.0])
    areas = engine.area_grids(xs, ys, 1500.0, CELL)
    members = sorted(tuple(m) for _g, m in areas)
    assert members == [(0, 1), (2,)]
    grid = next(g for g, m in areas if len(m) == 2)
    fp = engine.radial_footprint(lambda r: (r < 1200).astype(float), 1250, 1.0)
    for x in xs[:2]:
        engine.add_footprint(grid, x, 0.0, fp, F, engine.uniform_rose())
    assert grid.value_at([1000.0], [0.0])[0] == pytest.approx(2 * F)  # inside both circles
    assert grid.value_at([-1000.0], [0.0])[0] == pytest.approx(F)
    assert grid.xmin % CELL == 0 and grid.ymax % CELL == 0  # aligned lattice


def test_outcomes_carry_n_from_the_population():
    grid = engine.grid_around(0.0, 0.0, 600.0, CELL)
    pop = np.zeros((grid.height, grid.width))
    row = int((grid.ymax - (-305.0)) // CELL)  # 100 people in the cell holding (0, −305): south of the source
    col = int((0.0 - grid.xmin) // CELL)
    pop[row, col] = 100.0
    fp = engine.plume_footprint(lambda x, y: ((x < R) & (np.abs(y) < 30)).astype(float) * 0.25, R, 40, 1.0)
    outcomes = []
    engine.add_footprint(grid, 0.0, 0.0, fp, F, engine.uniform_rose(16), population=pop, outcomes=outcomes)
    assert len(outcomes) == 16
    deaths = {o.direction: o.deaths for o in outcomes}
    assert deaths[0] == pytest.approx(25.0)  # wind from the north: 100 × 0.25
    assert sum(deaths.values()) == pytest.approx(25.0)
    assert all(o.frequency == pytest.approx(F / 16) for o in outcomes)


# --- sector-uniform directions (PolarRisk, the assessment's integrator) --------------------------------------
def _polar_case(p_of_xy, rose, reach=700.0, fp_reach=R + 20, step=1.0, pop=None):
    grid = engine.grid_around(0.0, 0.0, reach, CELL)
    fp = engine.plume_footprint(p_of_xy, fp_reach, fp_reach, step)
    acc = engine.PolarRisk(reach * 1.5, 2.0, rose)
    deaths = acc.add(fp, F, None if pop is None else acc.population_polar(grid, 0.0, 0.0, pop))
    acc.add_to(grid, 0.0, 0.0)
    return grid, deaths


@pytest.mark.parametrize("half_angle", [5.0, 11.25, 30.0, 90.0])
def test_sector_uniform_rose_gives_the_covered_share_of_the_circle(half_angle):
    """P = 1 in a sector of half-angle α out to R, directions uniform over the circle: IR = f·2α/360° for r < R."""
    tan = math.tan(math.radians(min(half_angle, 89.999)))

    def p(x, y):
        inside = (x * x + y * y < R * R) & (x >= 0)
        return (inside & (np.abs(y) <= tan * x)).astype(float) if half_angle < 90 else inside.astype(float)

    grid, _ = _polar_case(p, engine.uniform_rose(16), step=0.5)
    r, _az = _polar(grid, 0.0, 0.0)
    sel = (r > 150) & (r < R - 30)  # the sector's sharp edges are blurred by half a lattice step
    np.testing.assert_allclose(grid.risk[sel], F * 2 * half_angle / 360.0, rtol=0.03)
    assert (grid.risk[r > R + 15] == 0).all()


def test_wind_from_the_north_sector_by_hand():
    """Wind only from the north sector (±11.25°), plume |y| < 30 m: at 300 m due south the plume covers the
    directions within atan(30/300) = 5.71° of the axis, so IR = f · 2·5.71°/22.5° = 0.508·f; due north 0."""
    rose = np.zeros(16)
    rose[0] = 1.0
    grid, _ = _polar_case(lambda x, y: ((x < R) & (np.abs(y) < 30)).astype(float), rose)
    expected = F * 2 * math.degrees(math.atan(30 / 300)) / 22.5
    assert grid.value_at([5.0], [-295.0])[0] == pytest.approx(expected, rel=0.05)
    assert grid.value_at([5.0], [295.0])[0] == 0
    assert grid.value_at([295.0], [5.0])[0] == 0  # east: 90° off the sector


def test_sector_deaths_by_hand():
    """100 people 300 m due south, P = 0.4 in |y| < 30 m: wind from the north sector kills 0.4×100 in the
    5.71°/11.25° share of its directions that cover them → N_0 = 40 × 11.42/22.5 = 20.3; other sectors 0."""
    grid = engine.grid_around(0.0, 0.0, 700.0, CELL)
    pop = np.zeros((grid.height, grid.width))
    pop[int((grid.ymax + 300.0) // CELL), int(-grid.xmin // CELL)] = 100.0  # cell centred at (5, −295)
    _grid, deaths = _polar_case(lambda x, y: np.where((x < R) & (np.abs(y) < 30), 0.4, 0.0),
                                engine.uniform_rose(16), pop=pop)
    share = 2 * math.degrees(math.atan(30 / 296.0)) / 22.5
    assert deaths[0] == pytest.approx(40 * share, rel=0.05)
    assert deaths[1:].sum() == pytest.approx(0.0, abs=1e-6) or deaths[[2, 3, 4, 5, 6, 7, 8]].max() < 1e-6


def test_polar_radial_footprint_matches_the_discrete_one():
    grid_a = engine.grid_around(0.0, 0.0, 800.0, CELL)
    grid_b = engine.grid_around(0.0, 0.0, 800.0, CELL)
    fp = engine.radial_footprint(lambda r: np.exp(-r / 150.0), 790.0, 1.0)
    engine.add_footprint(grid_a, 0.0, 0.0, fp, F, engine.uniform_rose())
    acc = engine.PolarRisk(1200.0, 2.0, engine.uniform_rose())
    acc.add(fp, F)
    acc.add_to(grid_b, 0.0, 0.0)
    r, _az = _polar(grid_a, 0.0, 0.0)
    np.testing.assert_allclose(grid_b.risk[r < 780], grid_a.risk[r < 780], rtol=0.01)


def test_sector_deaths_land_in_the_sector_the_wind_comes_from():
    """People at azimuth 202.5° (SSW) are reached by the wind from 22.5° (sector 1) only."""
    grid = engine.grid_around(0.0, 0.0, 700.0, CELL)
    pop = np.zeros((grid.height, grid.width))
    x, y = 300 * math.sin(math.radians(202.5)), 300 * math.cos(math.radians(202.5))
    pop[int((grid.ymax - y) // CELL), int((x - grid.xmin) // CELL)] = 100.0
    _grid, deaths = _polar_case(lambda x, y: np.where((x < R) & (np.abs(y) < 30), 0.4, 0.0),
                                engine.uniform_rose(16), pop=pop)
    assert deaths[1] > 15 and deaths[1] == pytest.approx(deaths.sum())
