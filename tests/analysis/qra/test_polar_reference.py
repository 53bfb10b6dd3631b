"""The fast polar integrator against the straightforward one it replaced (issue 13, "Speed").

:class:`~riskmap.analysis.qra.engine.PolarRisk` samples each plume footprint only on the polar
nodes its rings can reach and gets the deaths per sector from a sector-box gather. The oracle
here is the straightforward computation, kept in this file as reference functions: the footprint
on every ring × every column up to its widest angle, added into the lattice column by column, and
the deaths per direction by a circular FFT correlation with the population, averaged per sector.
The two must agree to round-off; so must a row-trimmed plume lattice and the full one.
"""
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from riskmap.analysis import zonal
from riskmap.analysis.qra import assess, engine

F = 1e-5
GK = 4547
X0, Y0 = 520_000.0, 3_560_000.0


# --- the reference (straightforward) integrator ------------------------------------------------------------
def _reference_polar(acc, fp):
    """``(columns, P)``: the footprint on all rings × the 2k + 1 columns of its widest angle."""
    if fp.kind == "radial":
        return np.zeros(0, np.int64), fp.sample(acc.rho)
    nz = np.argwhere(fp.values > 0)
    if not nz.size:
        return np.zeros(0, np.int64), np.zeros((acc.n_r, 0))
    xs, ys = nz[:, 0] * fp.step, (nz[:, 1] + 1) * fp.step
    psi_max = float(np.max(np.arctan2(ys, np.maximum(xs - fp.step, 0.0))))
    k = min(int(math.ceil(psi_max / acc.dpsi)) + 1, acc.n_psi // 2 - 1)
    cols = np.arange(-k, k + 1)
    psi = cols * acc.dpsi
    p = fp.sample(acc.rho[:, None] * np.cos(psi)[None, :], acc.rho[:, None] * np.sin(psi)[None, :])
    return cols % acc.n_psi, p


def _reference_deaths(acc, cols, p, pop_polar):
    """N per sector: the FFT circular correlation of P with the population, mean over each sector's directions."""
    full = np.zeros((acc.n_r, acc.n_psi))
    full[:, cols] = p
    spec = np.sum(np.fft.rfft(pop_polar, axis=1) * np.conj(np.fft.rfft(full, axis=1)), axis=0)
    per_direction = np.fft.irfft(spec, n=acc.n_psi)
    return np.maximum(per_direction.reshape(acc.n, acc.m).mean(axis=1), 0.0)


def _reference_add(acc, q, q_radial, fp, frequency, pop_polar):
    cols, p = _reference_polar(acc, fp)
    if fp.kind == "radial":
        q_radial += frequency * p
        return np.full(acc.n, float(pop_polar.sum(axis=1) @ p))
    q[:, cols] += frequency * p
    return _reference_deaths(acc, cols, p, pop_polar)


# --- cases ---------------------------------------------------------------------------------------------------
def _gaussian(x, y):
    sy = 0.08 * np.maximum(x, 1.0)
    p = np.exp(-x / 400.0) * np.exp(-y * y / (2 * sy * sy))
    return np.where(p > 0.01, p, 0.0)


def _ring_with_hole(x, y):
    """Non-zero in two separate bands downwind, and wider than the source region: rings with nothing between."""
    r = np.hypot(x, y)
    return np.where(((r < 120) | ((r > 300) & (r < 420) & (np.abs(y) < 0.3 * x))) & (x >= 0), 0.7, 0.0)


def _footprints():
    prm = assess.QRAParams().validate()
    out = [engine.plume_footprint(_gaussian, 1500.0, 400.0, 5.0),
           engine.plume_footprint(_ring_with_hole, 500.0, 500.0, 5.0),
           engine.plume_footprint(lambda x, y: np.where(np.hypot(x, y) < 200, 0.5, 0.0), 300.0, 300.0, 5.0),
           engine.radial_footprint(lambda r: np.exp(-r / 150.0), 700.0, 5.0)]
    for chem, tonnes in (("氯", 5.0), ("液化石油气", 20.0)):
        for s in assess.plant_scenarios(0, "u", chem, tonnes, prm):
            if s.outcome in ("toxic", "flash_fire"):
                out.append(assess.footprint(s, "D", 5.0, prm))
    return out


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(7)
    grid = engine.grid_around(0.0, 0.0, 1500.0, 10.0)
    pop = rng.gamma(0.5, 2.0, (grid.height, grid.width))
    pop[rng.random(pop.shape) < 0.3] = 0.0
    rose = rng.random(16)
    rose /= rose.sum()
    return grid, pop, rose, _footprints()


def test_fast_polar_integrator_equals_the_reference(case):
    grid, pop, rose, fps = case
    acc = engine.PolarRisk(1500.0 * math.sqrt(2) + 10.0, 5.0, rose)
    pop_polar = acc.population_polar(grid, 0.0, 0.0, pop)
    q_ref, q_radial_ref = np.zeros_like(acc.q), np.zeros(acc.n_r)
    for n, fp in enumerate(fps):
        frequency = F * (n + 1)
        deaths = acc.add(fp, frequency, pop_polar)
        expected = _reference_add(acc, q_ref, q_radial_ref, fp, frequency, pop_polar)
        np.testing.assert_allclose(deaths, expected, rtol=1e-9, atol=1e-9 * max(expected.max(), 1.0))
    np.testing.assert_allclose(acc.q, q_ref, rtol=1e-12, atol=0.0)
    np.testing.assert_array_equal(acc.q_radial, q_radial_ref)
    ref = engine.PolarRisk(1500.0 * math.sqrt(2) + 10.0, 5.0, rose)
    ref.q, ref.q_radial = q_ref, q_radial_ref
    fast_grid, ref_grid = engine.grid_around(0.0, 0.0, 1500.0, 10.0), engine.grid_around(0.0, 0.0, 1500.0, 10.0)
    acc.add_to(fast_grid, 0.0, 0.0)
    ref.add_to(ref_grid, 0.0, 0.0)
    assert ref_grid.risk.max() > 0
    np.testing.assert_allclose(fast_grid.risk, ref_grid.risk, rtol=1e-12, atol=1e-15 * ref_grid.risk.max())


def test_sector_deaths_are_exactly_zero_where_no_one_lives():
    """People in one sector only: the other sectors' N is exactly 0 (no round-off F-N points at N ≈ 1e-16)."""
    grid = engine.grid_around(0.0, 0.0, 700.0, 10.0)
    pop = np.zeros((grid.height, grid.width))
    pop[int((grid.ymax + 300.0) // 10.0), int(-grid.xmin // 10.0)] = 100.0  # 300 m due south
    acc = engine.PolarRisk(1050.0, 2.0, engine.uniform_rose())
    fp = engine.plume_footprint(lambda x, y: np.where((x < 500) & (np.abs(y) < 30), 0.4, 0.0), 500, 40, 1.0)
    deaths = acc.add(fp, F, acc.population_polar(grid, 0.0, 0.0, pop))
    assert deaths[0] > 15
    assert (deaths[2:15] == 0).all()


def test_trimmed_plume_lattice_equals_the_full_one():
    prm = assess.QRAParams().validate()
    for chem, tonnes in (("氯", 30.0), ("氨", 5.0), ("二甲醚", 40.0)):
        for s in assess.plant_scenarios(0, "u", chem, tonnes, prm):
            if s.outcome not in ("toxic", "flash_fire"):
                continue
            for stability, wind in (("D", 5.0), ("F", 1.5)):
                fast = assess.footprint(s, stability, wind, prm)
                original = engine.plume_footprint
                try:
                    engine.plume_footprint = lambda *a, crosswind_decreasing=False: original(*a)
                    full = assess.footprint(s, stability, wind, prm)
                finally:
                    engine.plume_footprint = original
                assert fast.values.shape == full.values.shape
                np.testing.assert_array_equal(fast.values, full.values)


def test_assessment_with_the_reference_integrator_gives_the_same_result(monkeypatch):
    """A small run of assess_qra, once as shipped and once with PolarRisk.add replaced by the reference."""
    plants = gpd.GeoDataFrame({"name": ["氯碱", "气站"], "industry": "hazchem", "ent_type": "生产",
                               "chemicals": ["液氯:8;液氨:20", "液化石油气:60;氢:5"]},
                              geometry=shapely.points([X0, X0 + 700.0], [Y0, Y0 + 300.0]), crs=GK)
    rng = np.random.default_rng(3)
    pop = zonal.as_grid(rng.gamma(0.6, 3.0, (60, 60)), transform=Affine(100, 0, X0 - 3000, 0, -100, Y0 + 3000),
                        crs=GK)
    params = assess.QRAParams(radius_m=900.0)
    fast = assess.assess_qra(plants, pop, params=params)

    def reference_add(self, footprint, frequency, pop_polar=None):
        return _reference_add(self, self.q, self.q_radial, footprint, frequency, pop_polar)

    monkeypatch.setattr(engine.PolarRisk, "add", reference_add)
    ref = assess.assess_qra(plants, pop, params=params)
    for (g_fast, _m), (g_ref, _m2) in zip(fast.grids, ref.grids):
        np.testing.assert_allclose(g_fast.risk, g_ref.risk, rtol=1e-12, atol=1e-15 * g_ref.risk.max())
    assert fast.fn[["scope", "name"]].equals(ref.fn[["scope", "name"]])
    np.testing.assert_allclose(fast.fn["N"], ref.fn["N"], rtol=1e-9)
    np.testing.assert_allclose(fast.fn["F"], ref.fn["F"], rtol=1e-12)
    for col in ("ir_max", "d_general_1", "d_general_2", "d_general_3", "pll", "fn_max"):
        np.testing.assert_allclose(fast.plants[col].to_numpy(float), ref.plants[col].to_numpy(float), rtol=1e-9)
