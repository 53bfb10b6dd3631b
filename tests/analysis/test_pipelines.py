"""Pipelines: potential impact radius, HCA identification (GB 32167-2015), protection bands."""
import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.analysis import gb32167 as rules
from riskmap.analysis.pipelines import (analyse_pipelines, find_encroachments, identify_hca, impact_radii,
                                        protection_corridors, split_line)
from riskmap.errors import CancelledError, EmptyLayerError, ParameterError

GK = "EPSG:4547"  # CGCS2000 3° GK, CM 114°E: the metric CRS chosen for data near Xinyang
X0, Y0 = 500000.0, 3550000.0
LENGTH = 20000.0


def _population(path, blocks=(), background=0.0):
    """Population raster (100 m cells) around the test line; blocks = (x0, x1, y0, y1, persons per cell)."""
    nx, ny = 220, 60
    left, top = X0 - 1000, Y0 + 3000
    pop = np.full((ny, nx), background, dtype="float32")
    xs = left + (np.arange(nx) + 0.5) * 100
    ys = top - (np.arange(ny) + 0.5) * 100
    X, Y = np.meshgrid(xs, ys)
    for x0, x1, y0, y1, value in blocks:
        pop[(X >= X0 + x0) & (X < X0 + x1) & (Y >= Y0 + y0) & (Y < Y0 + y1)] = value
    pop[0, 0] = -9999  # a nodata cell must count as nobody
    with rasterio.open(path, "w", driver="GTiff", height=ny, width=nx, count=1, dtype="float32", crs=GK,
                       transform=from_origin(left, top, 100, 100), nodata=-9999) as ds:
        ds.write(pop, 1)
    return path


def _line(medium="gas", diam=1016.0, press=10.0, name="测试管道"):
    geom = shapely.LineString([(X0, Y0), (X0 + LENGTH, Y0)])
    return gpd.GeoDataFrame({"name": [name], "medium": [medium], "diam_mm": [diam], "press_mpa": [press]},
                            geometry=[geom], crs=GK).to_crs(4490)


def _points(rows, **fields):
    """Points at (dx, dy) from the line start with names; extra fields as lists."""
    data = {"name": [r[2] for r in rows], **fields}
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(X0 + r[0], Y0 + r[1]) for r in rows], crs=GK).to_crs(4490)


@pytest.fixture
def town_pop(tmp_path):
    # 40 cells × 10 persons within 200 m of the line at 8–9 km: 400 persons ≈ 150 households
    return _population(tmp_path / "town.tif", [(8000, 9000, -300, 300, 10.0)])


# --- potential impact radius ----------------------------------------------------------------------------
def test_impact_radius_1016mm_10mpa_is_about_318m():
    assert rules.potential_impact_radius(1016, 10) == pytest.approx(318.07, abs=0.1)


def test_impact_radius_whole_array_and_invalid_values():
    r = rules.potential_impact_radius([1016, 508, 0, 219], [10, 6.3, 4, -1])
    # GB 32167-2015: r = 0.099·√(d²·p), d in mm, p in MPa; worked by hand: 0.099·1016·√10 = 318.1 m,
    # 0.099·508·√6.3 = 126.2 m (literals, not the formula again)
    assert r[0] == pytest.approx(318.1, abs=0.05)
    assert r[1] == pytest.approx(126.2, abs=0.05)
    assert np.isnan(r[2]) and np.isnan(r[3])
    radii = impact_radii(_line(diam=1016, press=10))
    assert radii.iloc[0] == pytest.approx(318.07, abs=0.1)


def test_location_class_from_households():
    assert rules.location_class([0, 15, 16, 99, 100, 1499, 1500]).tolist() == [1, 1, 2, 2, 3, 3, 4]
    assert int(rules.location_class(300, class4_households=200)) == 4


def test_gas_site_rule_pipe_classes_and_verify_parameter():
    p = rules.HCAParameters()
    assert rules.gas_site_rule(1016, 10, p)[:2] == ("c", "II")
    assert rules.gas_site_rule(219, 1.0, p)[:2] == ("d", "I")
    # GB 32167-2015 表2 e) (§6.1.2.1 clause text): other pipes with an identified site within 200 m → Ⅰ级
    assert rules.gas_site_rule(508, 6.3, p) == ("e", "I", 200.0)
    assert rules.gas_site_rule(508, 6.3, rules.HCAParameters(gas_other_site_grade="II"))[1] == "II"
    # boundaries are strict: 762 mm at 10 MPa is not "greater than 762"
    assert rules.gas_site_rule(762, 10, p)[0] == "e"


def test_parameters_are_checked():
    with pytest.raises(ParameterError):
        rules.HCAParameters(step_m=3000)
    with pytest.raises(ParameterError):
        rules.HCAParameters(persons_per_household=0)
    with pytest.raises(ParameterError):
        rules.HCAParameters(gas_other_site_grade="IV")


def test_split_line_chainage():
    line = shapely.LineString([(0, 0), (250, 0), (250, 120)])
    pieces, starts, ends = split_line(line, 100)
    assert len(pieces) == 4
    assert starts.tolist() == [0, 100, 200, 300] and ends.tolist() == [100, 200, 300, 370]
    assert shapely.length(pieces) == pytest.approx(ends - starts)
    assert pieces[2].coords[:] == [(200, 0), (250, 0), (250, 50)]


# --- density criteria (households, location class) -----------------------------------------------------
def test_gas_line_through_town_is_grade_II_two_km_segment(town_pop):
    hca, record = identify_hca(_line(), town_pop)
    assert len(hca) == 1
    seg = hca.iloc[0]
    assert seg.hca_grade == "II" and seg.criteria == "b"
    assert seg.start_m <= 8000 and seg.end_m >= 9000 and seg.length_m == pytest.approx(2000)
    assert seg.households == pytest.approx(400 / 2.66, rel=0.02)
    assert "三级地区" in seg.reason and seg.pir_m == pytest.approx(318.1, abs=0.1)
    assert hca.crs.to_epsg() == 4490
    assert shapely.length(hca.to_crs(GK).geometry.values)[0] == pytest.approx(2000, abs=1)
    assert record["parameters"]["persons_per_household"] == 2.66
    assert any("GB 32167-2015" in s for s in record["standards"])


def test_class4_threshold_is_a_parameter(town_pop):
    hca, _ = identify_hca(_line(), town_pop, params=rules.HCAParameters(class4_households=120))
    assert hca["hca_grade"].tolist() == ["III"]
    hca, _ = identify_hca(_line(), town_pop, params=rules.HCAParameters(persons_per_household=5))
    assert len(hca) == 0  # 400 persons / 5 = 80 households: class 2, no HCA


def test_empty_countryside_gives_no_hca(tmp_path):
    hca, _ = identify_hca(_line(), _population(tmp_path / "p.tif", background=0.2))
    assert len(hca) == 0


def test_long_town_windows_merge_into_one_segment(tmp_path):
    pop = _population(tmp_path / "p.tif", [(5000, 11000, -300, 300, 10.0)])
    hca, _ = identify_hca(_line(), pop)
    assert len(hca) == 1
    assert hca.iloc[0].start_m == pytest.approx(5000) and hca.iloc[0].end_m == pytest.approx(11000)


def test_oil_village_of_50_households_is_grade_II(tmp_path):
    # 20 cells × 8 persons = 160 persons ≈ 60 households: oil c) (≥ 50), but not gas class 3
    pop = _population(tmp_path / "p.tif", [(8000, 8500, -200, 200, 8.0)])
    oil, _ = identify_hca(_line("oil", 508, 6.3), pop)
    assert oil["hca_grade"].tolist() == ["II"] and oil.iloc[0].criteria == "c"
    gas, _ = identify_hca(_line("gas", 508, 6.3), pop)
    assert len(gas) == 0


# --- presence criteria ------------------------------------------------------------------------------
def test_gas_identified_site_inside_impact_radius(tmp_path):
    sites = _points([(10000, 300, "一中")], category=["school"])  # beyond 200 m but inside r = 318 m
    hca, _ = identify_hca(_line(), None, sensitive=sites)
    assert len(hca) == 1
    seg = hca.iloc[0]
    assert seg.hca_grade == "II" and seg.criteria == "c" and "一中" in seg.reason and "学校" in seg.reason
    # the stretch whose impact circle holds the site: 10000 ± √(318² − 300²) ≈ ±105 m, on 100 m steps
    assert seg.start_m == pytest.approx(9800) and seg.end_m == pytest.approx(10200)
    far = _points([(10000, 330, "远校")], category=["school"])
    assert len(identify_hca(_line(), None, sensitive=far)[0]) == 0


def test_gas_small_pipe_and_other_pipe_site_grades():
    near = _points([(10000, 15, "幼儿园")], category=["kindergarten"])
    small, _ = identify_hca(_line("gas", 219, 1.0), None, sensitive=near)  # r ≈ 21.7 m
    assert small["hca_grade"].tolist() == ["I"] and small.iloc[0].criteria == "d"
    away = _points([(10000, 50, "幼儿园")], category=["kindergarten"])
    assert len(identify_hca(_line("gas", 219, 1.0), None, sensitive=away)[0]) == 0
    site = _points([(10000, 150, "医院")], category=["hospital"])
    other, _ = identify_hca(_line("gas", 508, 6.3), None, sensitive=site)  # r ≈ 126 m; e) uses 200 m
    assert other["hca_grade"].tolist() == ["I"] and other.iloc[0].criteria == "e"  # 表2 e) → Ⅰ级
    other_ii, record = identify_hca(_line("gas", 508, 6.3), None, sensitive=site,
                                    params=rules.HCAParameters(gas_other_site_grade="II"))  # the dissenting copy
    assert other_ii["hca_grade"].tolist() == ["II"]
    assert record["parameters"]["gas_other_site_grade"] == "II"


def test_gas_flammable_site_only_outside_class_3_and_4(town_pop):
    plant = _points([(12000, 150, "化工厂")], industry=["hazchem"])
    hca, _ = identify_hca(_line(), None, enterprises=plant)
    assert hca["hca_grade"].tolist() == ["II"] and hca.iloc[0].criteria == "f"  # 表2 f) → Ⅱ级
    hca, _ = identify_hca(_line(), None, enterprises=plant, params=rules.HCAParameters(gas_flammable_grade="III"))
    assert hca["hca_grade"].tolist() == ["III"]  # the dissenting copy, kept as a parameter
    in_town = _points([(8500, 150, "镇上加油站")], industry=["hazchem"])
    hca, _ = identify_hca(_line(), town_pop, enterprises=in_town)
    assert hca["hca_grade"].tolist() == ["II"] and "f" not in hca.iloc[0].criteria
    trade = _points([(12000, 150, "商店")], industry=["industry_trade"])
    assert len(identify_hca(_line(), None, enterprises=trade)[0]) == 0


def test_oil_roads_water_and_sensitive_targets():
    roads = gpd.GeoDataFrame(
        {"name": ["G312", "X001"], "road_class": ["national", "county"]},
        geometry=[shapely.LineString([(X0 + 12000, Y0 - 2000), (X0 + 12000, Y0 + 2000)]),
                  shapely.LineString([(X0 + 4000, Y0 - 2000), (X0 + 4000, Y0 + 2000)])], crs=GK).to_crs(4490)
    water = gpd.GeoDataFrame({"name": ["淮河"], "kind": ["river"]},
                             geometry=[shapely.box(X0 + 14980, Y0 - 3000, X0 + 15020, Y0 + 3000)], crs=GK).to_crs(4490)
    school = _points([(2000, 120, "小学")], category=["school"])
    hca, _ = identify_hca(_line("oil", 508, 6.3), None, roads=roads, water=water, sensitive=school)
    by_grade = {row.hca_grade: row for row in hca.itertuples()}
    assert sorted(by_grade) == ["I", "II", "III"]
    assert by_grade["I"].start_m == pytest.approx(11900) and by_grade["I"].end_m == pytest.approx(12100)
    assert "国道" in by_grade["I"].reason and "G312" in by_grade["I"].reason
    assert by_grade["III"].start_m == pytest.approx(14700) and by_grade["III"].end_m == pytest.approx(15300)
    assert "淮河" in by_grade["III"].reason
    assert "小学" in by_grade["II"].reason
    off, _ = identify_hca(_line("oil", 508, 6.3), None, sensitive=school,
                          params=rules.HCAParameters(oil_sensitive_grade=""))
    assert len(off) == 0


def test_higher_grade_wins_where_criteria_overlap(town_pop):
    water = gpd.GeoDataFrame({"name": ["小河"], "kind": ["river"]},
                             geometry=[shapely.box(X0 + 8480, Y0 - 3000, X0 + 8520, Y0 + 3000)], crs=GK).to_crs(4490)
    hca, _ = identify_hca(_line("oil", 508, 6.3), town_pop, water=water)
    assert hca["hca_grade"].tolist() == ["II", "III", "II"]
    assert hca["start_m"].tolist() == sorted(hca["start_m"].tolist())
    assert hca.iloc[0].end_m == hca.iloc[1].start_m and hca.iloc[1].end_m == hca.iloc[2].start_m


# --- protection corridors -----------------------------------------------------------------------------
def test_protection_bands_are_rings_of_the_right_width():
    corridors = protection_corridors(_line())
    assert corridors["band"].tolist() == ["0–5 m", "5–50 m", "50–200 m"]
    assert corridors["article"].iloc[0] == "第三十条"
    areas = corridors.to_crs(GK).area.to_numpy()
    assert areas[0] == pytest.approx(2 * 5 * LENGTH + math.pi * 25, rel=1e-3)
    assert areas[1] == pytest.approx(2 * 45 * LENGTH + math.pi * (50 ** 2 - 5 ** 2), rel=1e-3)
    assert areas[2] == pytest.approx(2 * 150 * LENGTH + math.pi * (200 ** 2 - 50 ** 2), rel=1e-3)
    geoms = corridors.to_crs(GK).geometry.values
    assert shapely.area(shapely.intersection(geoms[0], geoms[1])) < 1.0


def test_encroachments_list_targets_with_band_and_distance():
    sens = _points([(3000, 3, "路边小学"), (6000, 150, "卫生院"), (9000, 300, "远处中学")],
                   category=["school", "hospital", "school"])
    plants = _points([(7000, -30, "砖厂")], industry=["industry_trade"])
    enc = find_encroachments(_line(), {"sensitive": sens, "enterprises": plants})
    assert enc["name"].tolist() == ["路边小学", "砖厂", "卫生院"]
    assert enc["article"].tolist() == ["第三十条", "第三十五条第（二）项", "第三十五条第（三）项"]
    assert enc["distance_m"].tolist() == pytest.approx([3, 30, 150], abs=0.5)
    assert enc["target_kind"].tolist() == ["敏感目标", "企业", "敏感目标"]
    assert enc.crs.to_epsg() == 4490


def test_analyse_pipelines_runs_everything_with_progress(town_pop):
    calls = []
    res = analyse_pipelines(_line(), town_pop, sensitive=_points([(500, 20, "学校")], category=["school"]),
                            progress=lambda f, m: calls.append(f))
    assert len(res.hca) == 2 and len(res.corridors) == 3 and len(res.encroachments) == 1
    assert calls and calls[-1] == 1.0 and all(0 <= f <= 1 for f in calls)
    assert res.provenance["analysis"] == "pipeline_hca"


def test_cancel_from_progress_stops_the_analysis(town_pop):
    def cancel(fraction, message):
        raise CancelledError("cancelled by user")

    with pytest.raises(CancelledError):
        identify_hca(_line(), town_pop, progress=cancel)


# --- bad input ---------------------------------------------------------------------------------------
def test_bad_pipelines_raise_typed_errors():
    line = _line()
    with pytest.raises(ParameterError, match="medium"):
        identify_hca(line.drop(columns="medium"))
    bad = line.copy()
    bad["medium"] = "water"
    with pytest.raises(ParameterError, match="unknown pipeline medium"):
        identify_hca(bad)
    bad = line.copy()
    bad["diam_mm"] = 0
    with pytest.raises(ParameterError, match="diam_mm"):
        identify_hca(bad)
    with pytest.raises(EmptyLayerError):
        identify_hca(line.iloc[:0])
    pts = _points([(0, 0, "x")], medium=["gas"], diam_mm=[100], press_mpa=[1])
    with pytest.raises(ParameterError, match="lines"):
        identify_hca(pts)


def test_chinese_field_names_and_media_are_accepted():
    line = _line().rename(columns={"name": "名称", "medium": "介质", "diam_mm": "管径", "press_mpa": "压力"})
    line["介质"] = "天然气"
    site = _points([(10000, 100, "学校")], category=["school"])
    hca, _ = identify_hca(line, None, sensitive=site)
    assert hca["medium"].tolist() == ["gas"] and hca["hca_grade"].tolist() == ["II"]


# --- the bundled sample --------------------------------------------------------------------------------
def _sample():
    """Paths and truth of the committed sample (missing or corrupt data fails the test, never skips)."""
    from riskmap import sample

    paths = {k: sample.sample_path(k) for k in ("pipelines", "population", "sensitive", "water", "roads",
                                                "enterprises", "counties")}
    return paths, sample.truth()


def test_sample_gas_trunk_line_has_hca_where_it_passes_towns():
    from riskmap import io

    paths, truth = _sample()
    trunk_name = truth["gas_trunk"]["name"]
    pipes = io.read_vector(paths["pipelines"])
    trunk = pipes.loc[pipes["name"] == trunk_name]
    assert len(trunk) == 1
    hca, _ = identify_hca(trunk, paths["population"], sensitive=io.read_vector(paths["sensitive"]),
                          water=io.read_vector(paths["water"]), roads=io.read_vector(paths["roads"]),
                          enterprises=io.read_vector(paths["enterprises"]))
    assert len(hca) > 0
    assert hca["pir_m"].iloc[0] == pytest.approx(truth["gas_trunk"]["potential_impact_radius_m"], abs=0.2)
    segs = hca.to_crs(GK)
    towns = {t["name"]: t for t in truth["towns"]}
    passed = [p for p in truth["gas_trunk"]["towns_passed"] if p["distance_m"] <= 500]
    assert passed
    for p in passed:
        t = towns[p["town"]]
        centre = gpd.GeoSeries([shapely.Point(t["lon"], t["lat"])], crs=4490).to_crs(GK).iloc[0]
        near = segs.loc[segs.distance(centre) <= p["distance_m"] + 50]
        assert len(near) > 0, f"no HCA where the trunk line passes {p['town']}"
        assert set(near["hca_grade"]) & {"II", "III"}
    # HCAs are where people are, not the whole line
    trunk_len = trunk.to_crs(GK).length.iloc[0]
    assert hca["length_m"].sum() < 0.5 * trunk_len
