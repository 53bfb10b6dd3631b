"""Threat zones of one release (riskmap/analysis/qra/threat.py) against hand computations.

Oracles are written out here from the published formulas (Briggs σ, Gaussian plume and puff, point-source and
fireball radiation, Kinney–Graham) and solved with scipy's brentq, independently of riskmap's own lattice and
bisection; the grid convergence is checked against the spherical formula tan γ = tan Δλ · sin φ and, end to
end, against the geodesic azimuth of the drawn zone.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pyproj import Geod
from scipy.optimize import brentq

from riskmap import crs as crs_policy
from riskmap.analysis.qra import threat
from riskmap.analysis.qra.threat import ThreatParams, threat_zones
from riskmap.errors import ParameterError

CM114 = 114.0  # central meridian of the CGCS2000 3° Gauss–Krüger zone riskmap uses for Xinyang


def sig_d_rural(x):
    """Briggs open-country class D (Gifford's table): σy = 0.08x(1+0.0001x)^-½, σz = 0.06x(1+0.0015x)^-½."""
    return 0.08 * x / math.sqrt(1 + 1e-4 * x), 0.06 * x / math.sqrt(1 + 1.5e-3 * x)


def sig_f_rural(x):
    """Class F: σy = 0.04x(1+0.0001x)^-½, σz = 0.016x/(1+0.0003x)."""
    return 0.04 * x / math.sqrt(1 + 1e-4 * x), 0.016 * x / (1 + 3e-4 * x)


def run_point(lon=CM114, lat=32.1, **kw):
    kw.setdefault("chemical", "氯")
    kw.setdefault("amount_t", 10.0)
    return threat_zones(None, ThreatParams(lon=lon, lat=lat, **kw))


def zone(result, hazard, tier):
    z = result.zones
    row = z[(z["hazard"] == hazard) & (z["tier"] == tier)]
    assert len(row) == 1, (hazard, tier, z[["hazard", "tier"]].to_dict("records"))
    return row.iloc[0]


def source_xy(result):
    p = result.source.geometry.iat[0]
    return p.x, p.y


# ---------------------------------------------------------------------------
# dispersion
# ---------------------------------------------------------------------------
def test_continuous_plume_reach_and_width_match_the_gaussian_formula_solved_independently():
    # 10 t over 600 s = 16.67 kg/s; ground release: C(x, 0, 0) = Q / (π u σy σz)
    q, u = 10000.0 / 600.0 * 1e6, 5.0  # mg/s, m/s
    result = run_point(release="ten_minutes", stability="D", wind_speed=u, toxic_3_ppm=200.0, toxic_2_ppm=50.0,
                       toxic_1_ppm=20.0, max_distance_m=20000.0)
    for tier, ppm in ((3, 200.0), (2, 50.0), (1, 20.0)):
        level = ppm * 70.9 / 24.45

        def f(x):
            sy, sz = sig_d_rural(x)
            return math.log(q / (math.pi * u * sy * sz)) - math.log(level)

        expected = brentq(f, 10.0, 20000.0, xtol=1e-6)
        row = zone(result, "toxic", tier)
        assert not row["capped"]
        assert row["max_distance_m"] == pytest.approx(expected, rel=1e-4), tier
        assert row["threshold_mg_m3"] == pytest.approx(level, rel=1e-9)
        # the zone's width half-way out, measured on the drawn polygon (wind from 0: the zone runs south)
        x_half = expected / 2
        sy, sz = sig_d_rural(x_half)
        c0 = q / (math.pi * u * sy * sz)
        width = 2 * sy * math.sqrt(2 * math.log(c0 / level))
        sx_, sy_ = source_xy(result)
        gamma = threat.grid_convergence(CM114, 32.1, result.zones.crs)
        assert abs(gamma) < 1e-6  # on the central meridian grid north is true north
        cut = shapely.LineString([(sx_ - 1e5, sy_ - x_half), (sx_ + 1e5, sy_ - x_half)])
        assert row.geometry.intersection(cut).length == pytest.approx(width, rel=2e-3), tier


def test_instantaneous_puff_reach_matches_the_peak_formula():
    # peak of a ground-level puff passing overhead: C = 2M / ((2π)^1.5 σy² σz)
    m = 100.0 * 1e6  # mg
    result = run_point(amount_t=0.1, release="instantaneous", stability="F", wind_speed=1.5, max_distance_m=50000.0)
    for tier, ppm in ((3, 20.0), (2, 2.0)):
        level = ppm * 70.9 / 24.45

        def f(x):
            sy, sz = sig_f_rural(x)
            return math.log(2 * m / ((2 * math.pi) ** 1.5 * sy * sy * sz)) - math.log(level)

        expected = brentq(f, 10.0, 50000.0, xtol=1e-6)
        assert zone(result, "toxic", tier)["max_distance_m"] == pytest.approx(expected, rel=1e-4)


def test_ppm_to_mg_per_m3_at_25_degrees():
    assert float(threat.ppm_to_mg_m3(20.0, 70.9)) == pytest.approx(20 * 70.9 / 24.45)
    assert float(threat.ppm_to_mg_m3(1100.0, 17.0)) == pytest.approx(764.83, abs=0.01)


def test_default_levels_are_the_60_min_aegls_and_erpg_on_request():
    p = ThreatParams()
    assert [v for _t, v, _l in threat.toxic_levels_ppm("氯", p)] == [20.0, 2.0, 0.5]
    assert [v for _t, v, _l in threat.toxic_levels_ppm("氨", p)] == [1100.0, 160.0, 30.0]
    assert [v for _t, v, _l in threat.toxic_levels_ppm("氯", ThreatParams(toxic_guideline="ERPG"))] == [20.0, 3.0,
                                                                                                       1.0]
    given = threat.toxic_levels_ppm("氯", ThreatParams(toxic_2_ppm=7.0))
    assert [v for _t, v, _l in given] == [20.0, 7.0, 0.5]


def test_zones_nest_and_a_larger_amount_gives_larger_zones():
    small = run_point(amount_t=1.0, release="hole", hole_mm=10.0, stability="D", wind_speed=5.0)
    g3, g2, g1 = (zone(small, "toxic", t).geometry for t in (3, 2, 1))
    assert g2.buffer(1e-6).contains(g3) and g1.buffer(1e-6).contains(g2)
    assert g3.area < g2.area < g1.area
    levels = {"toxic_3_ppm": 200.0, "toxic_2_ppm": 50.0, "toxic_1_ppm": 20.0}
    one = run_point(amount_t=0.5, release="instantaneous", stability="D", wind_speed=5.0, **levels)
    two = run_point(amount_t=1.0, release="instantaneous", stability="D", wind_speed=5.0, **levels)
    for tier in (3, 2, 1):
        a, b = zone(one, "toxic", tier), zone(two, "toxic", tier)
        assert not b["capped"]
        assert b["max_distance_m"] > a["max_distance_m"] and b["area_km2"] > a["area_km2"]
        assert b.geometry.buffer(1e-6).contains(a.geometry)


def test_a_zone_beyond_the_largest_distance_is_cut_there_and_flagged():
    result = run_point(amount_t=40.0, release="ten_minutes", max_distance_m=5000.0)
    row = zone(result, "toxic", 1)
    assert row["capped"] and row["max_distance_m"] == 5000.0
    assert any("最大计算距离处仍被超过" in n for n in result.provenance["notes"])


def test_a_release_shorter_than_the_travel_time_says_the_steady_plume_is_conservative():
    result = run_point(amount_t=40.0, release="ten_minutes", stability="F", wind_speed=1.5)
    assert any("其间烟羽只传播约 900 m" in n for n in result.provenance["notes"])
    long = run_point(amount_t=40.0, release="hole", hole_mm=5.0, stability="D", wind_speed=5.0,
                     toxic_1_ppm=20.0, toxic_2_ppm=50.0, toxic_3_ppm=200.0)  # hours of release, a short plume
    assert not any("其间烟羽只传播" in n for n in long.provenance["notes"])


def test_dense_gas_note_for_chlorine():
    notes = run_point().provenance["notes"]
    assert any("比空气重" in n and "中性气体高斯模型" in n for n in notes)


# ---------------------------------------------------------------------------
# direction
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("wind_from,dx,dy", [(0.0, 0, -1), (90.0, -1, 0), (180.0, 0, 1), (270.0, 1, 0),
                                             (45.0, -1, -1)])
def test_the_zone_lies_downwind_of_the_source(wind_from, dx, dy):
    """Wind from the north (0°) blows the zone south; from the east (90°) west (meteorological convention)."""
    result = run_point(wind_from=wind_from, release="hole", stability="D", wind_speed=5.0)
    sx_, sy_ = source_xy(result)
    c = zone(result, "toxic", 3).geometry.centroid
    vx, vy = c.x - sx_, c.y - sy_
    r = math.hypot(vx, vy)
    assert r > 100
    assert vx / r == pytest.approx(dx / math.hypot(dx, dy), abs=1e-6)
    assert vy / r == pytest.approx(dy / math.hypot(dx, dy), abs=1e-6)


def test_grid_convergence_matches_the_spherical_formula_across_xinyang():
    for lon in (113.7, 114.1, 115.0, 115.5):
        lat = 32.1
        metric = crs_policy.metric_crs_for_bounds((lon, lat, lon, lat))
        assert "CM 114E" in metric.name
        expected = math.degrees(math.atan(math.tan(math.radians(lon - CM114)) * math.sin(math.radians(lat))))
        assert threat.grid_convergence(lon, lat, metric) == pytest.approx(expected, abs=2e-3), lon
    # ≈ 0.8° in the east of the city (115.5 °E), ≈ 0.06° at the sample chlor-alkali plant
    assert threat.grid_convergence(115.5, 32.1, crs_policy.CRS.from_epsg(4547)) == pytest.approx(0.80, abs=0.01)


def test_wind_from_north_gives_a_zone_due_south_on_the_ground_where_grid_north_is_not_true_north():
    lon, lat = 115.5, 32.1  # γ ≈ 0.8°: a zone drawn along grid south would point 0.8° off true south
    result = run_point(lon=lon, lat=lat, wind_from=0.0, release="hole", stability="D", wind_speed=5.0)
    row = zone(result, "toxic", 3)
    sx_, sy_ = source_xy(result)
    coords = np.asarray(row.geometry.exterior.coords)
    far = coords[np.argmax(np.hypot(coords[:, 0] - sx_, coords[:, 1] - sy_))]
    grid_az = math.degrees(math.atan2(far[0] - sx_, far[1] - sy_)) % 360
    gamma = threat.grid_convergence(lon, lat, result.zones.crs)
    assert gamma == pytest.approx(0.797, abs=0.01)
    assert grid_az == pytest.approx(180.0 - gamma, abs=0.01)
    flon, flat = crs_policy.transform_xy([far[0]], [far[1]], result.zones.crs, crs_policy.MAP_CRS)
    true_az = Geod(ellps="GRS80").inv(lon, lat, float(flon[0]), float(flat[0]))[0] % 360
    assert true_az == pytest.approx(180.0, abs=0.01)
    numbers = dict(zip(result.numbers["item"], result.numbers["value"]))
    assert float(numbers["子午线收敛角γ"]) == pytest.approx(gamma, abs=1e-4)


# ---------------------------------------------------------------------------
# fire and explosion
# ---------------------------------------------------------------------------
def test_jet_fire_radii_are_the_point_source_closed_form():
    result = run_point(chemical="液化石油气", amount_t=10.0, release="ten_minutes")
    rate = 10000.0 / 600.0
    q = rate * 46.4e6
    for tier, kw in ((3, 10.0), (2, 5.0), (1, 2.0)):
        expected = math.sqrt(0.2 * q / (4 * math.pi * kw * 1e3))
        row = zone(result, "thermal", tier)
        assert row["max_distance_m"] == pytest.approx(expected, rel=1e-6)
        assert row["area_km2"] == pytest.approx(math.pi * expected ** 2 / 1e6, rel=2e-3)
    assert not (result.zones["hazard"] == "overpressure").any()
    assert any("未计蒸气云爆炸" in n for n in result.provenance["notes"])


def test_fireball_and_overpressure_radii_by_hand():
    m = 5000.0
    result = run_point(chemical="液化石油气", amount_t=m / 1000, release="instantaneous")
    d = 5.8 * m ** (1 / 3)
    h = 0.75 * d
    for tier, kw in ((3, 10.0), (2, 5.0), (1, 2.0)):
        expected = math.sqrt(350e3 * (d / 2) ** 2 / (kw * 1e3) - h * h)
        assert zone(result, "thermal", tier)["max_distance_m"] == pytest.approx(expected, rel=1e-6)
    w = 0.03 * m * 46.4e6 / 4.68e6

    def kg(z):
        return 1616 * (1 + (z / 4.5) ** 2) / math.sqrt((1 + (z / 0.048) ** 2) * (1 + (z / 0.32) ** 2)
                                                      * (1 + (z / 1.35) ** 2))

    for tier, kpa in ((3, 55.2), (2, 24.1), (1, 6.89)):
        z = brentq(lambda z: kg(z) - kpa * 1e3 / 101325.0, 0.5, 500.0, xtol=1e-10)
        assert zone(result, "overpressure", tier)["max_distance_m"] == pytest.approx(z * w ** (1 / 3), rel=1e-6)
    assert set(result.zones.loc[result.zones["hazard"] == "flammable", "tier"]) == {3, 1}


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------
def test_chemical_names_resolve_and_unknown_ones_are_one_line():
    assert threat.resolve_chemical("液氯") == "氯" and threat.resolve_chemical("液氨") == "氨"
    with pytest.raises(ParameterError) as err:
        threat.resolve_chemical("苯")
    assert "\n" not in str(err.value) and "氯" in str(err.value)


def test_a_point_needs_its_amount_and_both_coordinates():
    with pytest.raises(ParameterError, match="泄漏量"):
        threat_zones(None, ThreatParams(lon=114.0, lat=32.0, chemical="氯"))
    with pytest.raises(ParameterError, match="经度和纬度"):
        ThreatParams(lon=114.0)


def test_a_named_plant_takes_its_stock(sample_enterprises):
    result = threat_zones(sample_enterprises, ThreatParams(plant="信阳市淮源氯碱化工有限公司", chemical="液氯"))
    src = result.source.iloc[0]
    assert src["amount_t"] == 40.0 and src["chemical"] == "氯" and src["rate_kg_s"] == pytest.approx(40000 / 600)
    with pytest.raises(ParameterError, match="没有名为"):
        threat_zones(sample_enterprises, ThreatParams(plant="无此企业"))


@pytest.fixture(scope="module")
def sample_enterprises():
    from riskmap import io
    from riskmap.sample import sample_path

    return io.read_vector(sample_path("enterprises"))


@pytest.mark.parametrize("tonnes", [7.0, 9.0])
def test_jack_rabbit_ii_hazard_bands_are_met_conservatively(tonnes):
    """Jack Rabbit II (7–9 t liquefied chlorine, measured concentrations): AEGL-3 exceeded to 2–5 km, AEGL-2 to
    11 km, AEGL-1 beyond 11 km. The neutral puff in class D reaches each band and overshoots by at most ~2.5×
    (docs/validation.md: a plausibility check of a conservative screening model, not a validation)."""
    result = run_point(amount_t=tonnes, release="instantaneous", stability="D", wind_speed=3.0,
                       max_distance_m=50000.0)
    d3, d2, d1 = (zone(result, "toxic", t)["max_distance_m"] / 1000 for t in (3, 2, 1))
    assert 2.0 <= d3 <= 2.5 * 5.0
    assert 11.0 <= d2 <= 2.5 * 11.0
    assert d1 > 11.0
