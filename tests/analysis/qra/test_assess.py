"""The QRA assessment: GB/T 37243 scope by hand, a hydrogen plant whose IR is the hand sum of its radial outcomes,
target verdicts against GB 36894 (在役/新建), and the sample run (chlorine plant's contours)."""
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from riskmap.analysis import zonal
from riskmap.analysis.qra import assess, data, models

GK = 4547
X0, Y0 = 520_000.0, 3_560_000.0


def _plants(rows):
    return gpd.GeoDataFrame({"name": [r[0] for r in rows], "industry": "hazchem", "chemicals": [r[1] for r in rows],
                             "ent_type": [r[2] for r in rows]},
                            geometry=shapely.points([X0 + 20_000 * i for i in range(len(rows))], Y0), crs=GK)


def _population(value=1.0):
    arr = np.full((200, 600), value)  # 100 m cells around the plants
    return zonal.as_grid(arr, transform=Affine(100, 0, X0 - 10_000, 0, -100, Y0 + 10_000), crs=GK)


def test_scope_follows_gbt37243_by_hand():
    plants = _plants([("氢厂", "氢:10", "生产"), ("少氯", "液氯:4", "生产"), ("燃气", "液化石油气:80", "城镇燃气"),
                      ("油库", "汽油:300", "储存")])
    res = assess.assess_qra(plants, _population(), params=assess.QRAParams(radius_m=500.0))
    scope = dict(zip(res.plants["name"], res.plants["qra_scope"]))
    assert scope == {"氢厂": True, "少氯": False, "燃气": False, "油库": False}
    reasons = dict(zip(res.plants["name"], res.plants["scope_reason"]))
    assert "S=2.00" in reasons["氢厂"] and "0.80" in reasons["少氯"] and "城镇燃气" in reasons["燃气"]


def test_hydrogen_plant_ir_is_the_hand_sum_of_its_fire_outcomes():
    """10 t H₂ at 15 MPa, delayed ignition off: IR(r) = Σ f·P_direct·P_death(r) over the fireball (G.1) and the
    jet fires (G.2, G.3), all radial (no wind dependence), by the CPR 18E ignition table for high reactivity."""
    params = assess.QRAParams(radius_m=600.0, delayed_ignition=0.0)
    res = assess.assess_qra(_plants([("氢厂", "氢:10", "生产")]), _population(), params=params)
    grid, _members = res.grids[0]
    r = 55.0
    ir = grid.value_at([X0 + r], [Y0 + 5.0])[0]  # cell centre at (55, 5) from the plant
    dist = math.hypot(r, 5.0)
    mass = 10_000.0
    # G.1 fireball, P_direct = 0.7 (instantaneous ≥ 1000 kg, high reactivity)
    _d, t_fb, _h = models.fireball(mass)
    p_fb = models.probit_probability(models.thermal_probit(models.fireball_flux(mass, dist), min(t_fb, 20.0)))
    # G.2 jet fire at 10 000/600 kg/s (P_direct 0.7 for ≥ 10 kg/s); G.3 choked 10 mm at 15 MPa (P_direct 0.5)
    def jet(rate):
        flux = models.point_source_flux(rate * 120e6, dist, 0.2)
        return models.probit_probability(models.thermal_probit(flux, 20.0))
    rate3 = models.gas_discharge(15e6, 293.15, 2.02e-3, 1.41, 0.01, 0.62)
    expected = 5e-7 * 0.7 * p_fb + 5e-7 * 0.7 * jet(mass / 600) + 1e-5 * 0.5 * jet(rate3)
    assert ir == pytest.approx(expected, rel=0.02)
    # the frequencies are parameters: doubling G.3 adds its term once more
    params2 = assess.QRAParams(radius_m=600.0, delayed_ignition=0.0, freq_g3=2e-5)
    res2 = assess.assess_qra(_plants([("氢厂", "氢:10", "生产")]), _population(), params=params2)
    ir2 = res2.grids[0][0].value_at([X0 + r], [Y0 + 5.0])[0]
    assert ir2 - ir == pytest.approx(1e-5 * 0.5 * jet(rate3), rel=0.02)


def test_target_verdicts_by_class_and_installation():
    plants = _plants([("氢厂", "氢:10", "生产")])
    sens = gpd.GeoDataFrame({"name": ["近校", "远校", "场外"], "category": ["school", "school", "school"]},
                            geometry=shapely.points([X0 + 40, X0 + 400, X0 + 9000], Y0), crs=GK)
    existing = assess.assess_qra(plants, _population(), sens, assess.QRAParams(radius_m=600.0))
    t = existing.targets.set_index("name")
    assert "场外" not in t.index  # outside every risk grid: not a target of this QRA
    ir_near = t.loc["近校", "ir"]
    assert t.loc["近校", "criterion"] == 3e-6 and bool(t.loc["近校", "exceeds"]) == (ir_near > 3e-6)
    new = assess.assess_qra(plants, _population(), sens, assess.QRAParams(radius_m=600.0, installation="new"))
    tn = new.targets.set_index("name")
    assert tn.loc["近校", "criterion"] == 3e-7
    assert tn.loc["近校", "ir"] == pytest.approx(ir_near)
    assert bool(tn.loc["近校", "exceeds"]) == (ir_near > 3e-7)
    assert ir_near > 3e-7 and "新建" in tn.loc["近校", "verdict"]


def test_societal_risk_scales_with_the_population():
    plants = _plants([("氢厂", "氢:10", "生产")])
    p1 = assess.assess_qra(plants, _population(1.0), params=assess.QRAParams(radius_m=600.0))
    p3 = assess.assess_qra(plants, _population(3.0), params=assess.QRAParams(radius_m=600.0))
    assert p3.plants["pll"].iat[0] == pytest.approx(3 * p1.plants["pll"].iat[0], rel=1e-9)
    fn1 = p1.fn[p1.fn["scope"] == "企业"]
    fn3 = p3.fn[p3.fn["scope"] == "企业"]
    assert fn3["N"].max() == pytest.approx(3 * fn1["N"].max(), rel=1e-9)
    assert fn3["F"].max() == pytest.approx(fn1["F"].max(), rel=1e-9)  # the same outcomes, each with 3× the deaths


@pytest.fixture(scope="module")
def sample_run():
    from riskmap.sample import sample_path

    plants = gpd.read_file(sample_path("enterprises"))
    sens = gpd.read_file(sample_path("sensitive"))
    return assess.assess_qra(plants, sample_path("population"), sens)


def test_sample_chlorine_plant_has_contours_and_targets_inside(sample_run):
    plants = sample_run.plants.set_index("name")
    row = plants.loc["信阳市淮源氯碱化工有限公司"]  # 液氯 40 t: S = 8
    assert bool(row["qra_scope"]) and row["chemicals_modelled"] == "氯" and row["n_scenarios"] == 3
    contours = sample_run.contours
    mine = contours[contours["plants"].str.contains("信阳市淮源氯碱化工有限公司")]
    assert len(mine) >= 1
    lowest = mine.sort_values("level").iloc[0]
    assert lowest.geometry.contains(plants.loc["信阳市淮源氯碱化工有限公司"].geometry)
    # nesting: every higher level inside the lower one of the same area
    for _area, group in contours.groupby("area"):
        g = group.sort_values("level")
        for low, high in zip(g.geometry.iloc[:-1], g.geometry.iloc[1:]):
            assert low.buffer(1e-9).contains(high)
    # the town-core chlorine plant (液氯 25 t, 液氨 30 t) has schools around it: each target is inside a contour
    # exactly when its IR reaches the level (the contour is the outline of the cells at or above it)
    t = sample_run.targets
    jianghuai = contours[contours["plants"].str.contains("信阳市江淮化工有限公司")]
    assert len(jianghuai) and len(t)
    t_m, jh_m = t.to_crs(GK), jianghuai.to_crs(GK)
    for (_i, c), geom_m in zip(jianghuai.iterrows(), jh_m.geometry):
        near_mask = (t_m.distance(geom_m) < 4000).to_numpy()  # the targets of this area
        near = t[near_mask]
        inside = near.within(c.geometry).to_numpy()
        assert len(near) and ((near["ir"] >= c["level"]).to_numpy() == inside).all()
    # gases not modelled are said, not silently dropped
    assert "环氧乙烷" in plants.loc["潢川县光州化工有限公司", "not_modelled"]


def test_event_tree_branch_frequencies_by_hand():
    """10 t H₂ (high reactivity), delayed ignition 0.5, explosion share 0.4 (CPR 18E ch. 4)."""
    params = assess.QRAParams()
    by = {(sc.event, sc.outcome): sc.frequency for sc in assess.plant_scenarios(0, "全厂", "氢", 10.0, params)}
    assert by[("G.1", "fireball")] == pytest.approx(5e-7 * 0.7)
    assert by[("G.1", "vce")] == pytest.approx(5e-7 * 0.3 * 0.5 * 0.4)
    assert by[("G.1", "flash_fire")] == pytest.approx(5e-7 * 0.3 * 0.5 * 0.6)
    assert by[("G.3", "jet_fire")] == pytest.approx(1e-5 * 0.5)  # 0.456 kg/s < 10 kg/s
    assert by[("G.3", "flash_fire")] == pytest.approx(1e-5 * 0.5 * 0.5)
    assert sum(by.values()) < 5e-7 + 5e-7 + 1e-5  # unignited clouds kill no one
    toxic = assess.plant_scenarios(0, "全厂", "氯", 40.0, params)
    assert [(sc.event, sc.outcome, sc.frequency) for sc in toxic] == [
        ("G.1", "toxic", 5e-7), ("G.2", "toxic", 5e-7), ("G.3", "toxic", 1e-5)]
    assert toxic[1].rate_kg_s == pytest.approx(40000 / 600)
