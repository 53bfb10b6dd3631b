"""Societal risk: population on the risk grid (people conserved), F-N curves, GB 36894 lines (hand cases)."""
import math

import numpy as np
import pytest
from affine import Affine

from riskmap.analysis import gb36894, zonal
from riskmap.analysis.qra import engine, societal

GK = 4547


def test_population_on_an_aligned_metric_grid_is_exact():
    rng = np.random.default_rng(5)
    arr = rng.uniform(0, 50, (60, 80)).astype(np.float32)
    left, top = 500_000.0, 3_560_000.0
    src = zonal.as_grid(arr, transform=Affine(100, 0, left, 0, -100, top), crs=GK)
    grid = engine.grid_for_bounds(left + 1000, top - 4000, left + 3000, top - 1000, 10.0, src.crs)
    pop, total = societal.population_on_grid(src, grid)
    block = arr[10:40, 10:30].astype(float)  # rows 1000–4000 m below the top, columns 1000–3000 m
    assert total == pytest.approx(block.sum(), rel=1e-9)
    # each 10 m cell holds a hundredth of its 100 m source cell
    np.testing.assert_allclose(pop[:10, :10], block[0, 0] / 100, rtol=1e-6)


def test_population_from_a_geographic_raster_conserves_people():
    """A uniform 2000 persons/km² on a lon/lat raster: the grid holds 2000 × its area in km²."""
    density = 2000.0
    lon0, lat0, d = 114.0, 32.3, 0.001
    n_rows, n_cols = 300, 300
    lat = lat0 - (np.arange(n_rows) + 0.5) * d
    cell_km2 = 6371.0088 ** 2 * math.radians(d) ** 2 * np.cos(np.radians(lat))
    arr = np.repeat((density * cell_km2)[:, None], n_cols, axis=1)
    src = zonal.as_grid(arr, transform=Affine(d, 0, lon0, 0, -d, lat0), crs=4490)
    from riskmap import crs as crs_policy

    x, y = crs_policy.transform_xy(np.array([114.15]), np.array([32.15]), 4490, GK)
    grid = engine.grid_around(float(x[0]), float(y[0]), 1000.0, 10.0, crs_policy.parse_crs(GK))
    pop, total = societal.population_on_grid(src, grid)
    area_km2 = grid.width * grid.height * 1e-4
    assert total == pytest.approx(density * area_km2, rel=0.005)


def test_fn_curve_by_hand():
    f = [1e-5, 2e-6, 3e-6, 4e-6]
    n = [50.0, 10.0, 0.5, 0.0]
    curve = societal.fn_curve(f, n)
    np.testing.assert_allclose(curve["N"], [0.5, 10.0, 50.0])
    np.testing.assert_allclose(curve["F"], [1.5e-5, 1.2e-5, 1.0e-5])
    assert societal.expected_deaths(f, n) == pytest.approx(1e-5 * 50 + 2e-6 * 10 + 3e-6 * 0.5)


def test_societal_zone_against_the_gb36894_lines():
    # F·N at N=10: 1.2e-4, at N=50: 5e-4 → between the lines
    curve = societal.fn_curve([1e-5, 2e-6], [50.0, 10.0])
    assert gb36894.societal_zone(curve["N"], curve["F"]) == "alarp"
    # one more outcome of 1e-4/a with 20 deaths: F(20) = 1.1e-4 → F·N = 2.2e-3 > 1e-3
    curve = societal.fn_curve([1e-5, 2e-6, 1e-4], [50.0, 10.0, 20.0])
    assert gb36894.societal_zone(curve["N"], curve["F"]) == "unacceptable"
    curve = societal.fn_curve([1e-7], [30.0])  # F·N = 3e-6 < 1e-5
    assert gb36894.societal_zone(curve["N"], curve["F"]) == "acceptable"
    curve = societal.fn_curve([1e-3], [0.8])  # no N ≥ 1
    assert gb36894.societal_zone(curve["N"], curve["F"]) == "none"
    # the lines are parameters
    curve = societal.fn_curve([1e-5], [50.0])
    assert gb36894.societal_zone(curve["N"], curve["F"], upper=1e-4) == "unacceptable"


def test_hundred_people_in_one_cell_at_known_p_death():
    """100 people 300 m south of the source, P_death 0.4 there, wind from N with P 0.25: N = 40 with F = f/4."""
    grid = engine.grid_around(0.0, 0.0, 600.0, 10.0)
    pop = np.zeros((grid.height, grid.width))
    pop[int((grid.ymax + 305.0) // 10), int(-grid.xmin // 10)] = 100.0
    fp = engine.plume_footprint(lambda x, y: np.where((x < 500) & (np.abs(y) < 30), 0.4, 0.0), 500, 40, 1.0)
    rose = np.array([0.25] + [0.75 / 15] * 15)
    outcomes = []
    engine.add_footprint(grid, 0.0, 0.0, fp, 1e-5, rose, population=pop, outcomes=outcomes)
    curve = societal.fn_curve([o.frequency for o in outcomes], [o.deaths for o in outcomes])
    assert list(curve["N"]) == pytest.approx([40.0])
    assert list(curve["F"]) == pytest.approx([0.25e-5])


def test_criteria_table_and_classes():
    assert gb36894.criterion("high_sensitive", "new") == 3e-7
    assert gb36894.criterion("general_2", "existing") == 1e-5
    assert gb36894.criterion("general_3", "new") == 1e-5
    assert list(gb36894.target_classes(["school", "market", "whatever"])) == [
        "high_sensitive", "general_1", "general_1"]


def test_population_from_a_finer_raster_is_summed_not_sampled():
    """5 m source cells onto the 10 m risk grid: each risk cell holds the sum of its four source cells."""
    rng = np.random.default_rng(9)
    arr = rng.uniform(0, 3, (400, 400))
    left, top = 500_000.0, 3_560_000.0
    src = zonal.as_grid(arr, transform=Affine(5, 0, left, 0, -5, top), crs=GK)
    grid = engine.grid_for_bounds(left + 200, top - 1800, left + 1800, top - 200, 10.0, src.crs)
    pop, total = societal.population_on_grid(src, grid)
    block = arr[40:360, 40:360]
    assert total == pytest.approx(block.sum(), rel=1e-9)
    np.testing.assert_allclose(pop[0, 0], block[:2, :2].sum(), rtol=1e-9)
