"""Pipelines: potential impact radius, HCA identification (GB 32167-2015), protection bands."""
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.analysis import gb32167 as rules
from riskmap.analysis.pipelines import (analyse_pipelines, find_encroachments, identify_hca, impact_radii,
                                        pipeline_scope, protection_corridors, split_line)
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
def test_gas_line_through_town_is_grade_II_town_extent_plus_200m_each_side(town_pop):
    # GB 32167-2015 §6.1.1.2: the HCA ends 200 m beyond the outermost building; the 2 km window only
    # decides the class. The town occupies chainage 8000–9000 m, so the HCA is 7800–9200 m (1400 m).
    hca, record = identify_hca(_line(), town_pop)
    assert len(hca) == 1
    seg = hca.iloc[0]
    assert seg.hca_grade == "II" and seg.criteria == "b"
    assert (seg.start_m, seg.end_m, seg.length_m) == (7800.0, 9200.0, 1400.0)
    assert seg.households == pytest.approx(400 / 2.66, rel=0.02)
    assert "三级地区" in seg.reason and "§6.1.1.2" in seg.reason and seg.pir_m == pytest.approx(318.1, abs=0.1)
    assert hca.crs.to_epsg() == 4490
    assert shapely.length(hca.to_crs(GK).geometry.values)[0] == pytest.approx(1400, abs=1)
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
    assert len(hca) == 1  # three 2 km windows, one town: 5000 − 200 to 11000 + 200
    assert hca.iloc[0].start_m == pytest.approx(4800) and hca.iloc[0].end_m == pytest.approx(11200)


def test_single_village_on_a_long_line_is_village_extent_plus_2x200m(tmp_path):
    # oil c): a village of 60 households at chainage 12300–12700 m on a 20 km line: one HCA of
    # 400 + 2 × 200 = 800 m (12100–12900), not the 2000 m window that found it
    pop = _population(tmp_path / "p.tif", [(12300, 12700, -200, 200, 10.0)])  # 16 cells × 10 = 160 persons
    hca, _ = identify_hca(_line("oil", 508, 6.3), pop)
    assert hca[["hca_grade", "criteria", "start_m", "end_m", "length_m"]].values.tolist() == [
        ["II", "c", 12100.0, 12900.0, 800.0]]
    # the boundary is a declared parameter (§6.1.1.2: 200 m); 0 m leaves the village alone
    bare, record = identify_hca(_line("oil", 508, 6.3), pop, params=rules.HCAParameters(hca_boundary_m=0))
    assert (bare.iloc[0].start_m, bare.iloc[0].end_m) == (12300.0, 12700.0)
    assert record["parameters"]["hca_boundary_m"] == 0


def test_two_villages_in_one_window_give_two_segments_and_rural_background_is_not_built_up(tmp_path):
    # 1 person per 100 m cell (100 /km²) everywhere: below the built-up density (250 /km²); two
    # hamlets of 8 cells × 12 persons at 3000–3200 and 4300–4500 m make one 2 km window ≥ 50 households
    pop = _population(tmp_path / "p.tif", [(3000, 3200, -200, 200, 12.0), (4300, 4500, -200, 200, 12.0)],
                      background=1.0)
    hca, _ = identify_hca(_line("oil", 508, 6.3), pop)
    assert hca[["start_m", "end_m"]].values.tolist() == [[2800.0, 3400.0], [4100.0, 4700.0]]
    assert set(hca["hca_grade"]) == {"II"}


def test_oil_village_of_50_households_is_grade_II(tmp_path):
    # 20 cells × 8 persons = 160 persons ≈ 60 households: oil c) (≥ 50), but not gas class 3
    pop = _population(tmp_path / "p.tif", [(8000, 8500, -200, 200, 8.0)])
    oil, _ = identify_hca(_line("oil", 508, 6.3), pop)
    assert oil["hca_grade"].tolist() == ["II"] and oil.iloc[0].criteria == "c"
    assert np.isnan(oil.iloc[0].pir_m) and "潜在影响半径" not in oil.iloc[0].reason  # no PIR for oil lines
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
    # "除三级、四级地区外" is the location class of the 2 km window (7500–9500 m, centred on the town), not
    # the trimmed HCA (7800–9200 m): a station at 7650 m, 190 m off the line, is in a class-3 location
    edge = _points([(7650, 190, "窗口内加油站")], industry=["hazchem"])
    hca, _ = identify_hca(_line(), town_pop, enterprises=edge)
    assert hca[["start_m", "end_m", "criteria"]].values.tolist() == [[7800.0, 9200.0, "b"]]
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


def test_encroachment_verdicts_of_hand_placed_buildings():
    # gas line 1016 mm / 10 MPa: PIR = 0.099·1016·√10 = 318.1 m; Art. 31 spacing 30 m (parameter)
    houses = _points([(2000, 3, "压管民房"), (4000, 20, "近管民房"), (6000, 200, "半径内民房"),
                      (8000, 330, "半径外民房")])
    sens = _points([(9000, 25, "路边小学")], category=["school"])
    plants = _points([(7000, -20, "砖厂"), (7500, 28, "加油站")], industry=["industry_trade", "hazchem"])
    enc = find_encroachments(_line(), {"buildings": houses, "sensitive": sens, "enterprises": plants})
    got = dict(zip(enc["name"], enc["verdict"]))
    assert got == {"压管民房": "占压", "近管民房": "安全间距不足", "路边小学": "安全间距不足", "加油站": "安全间距不足",
                   "砖厂": "位于潜在影响半径内",  # a brickworks is neither a dense building nor flammable (Art. 31)
                   "半径内民房": "位于潜在影响半径内"}
    assert "半径外民房" not in got  # 330 m > 318.1 m: no verdict, and no Art. 35 text for an existing house
    by = enc.set_index("name")
    assert by.loc["压管民房", "article"] == "第三十条" and by.loc["压管民房", "limit_m"] == 5
    assert by.loc["近管民房", "article"].startswith("第三十一条") and by.loc["近管民房", "limit_m"] == 30
    assert by.loc["半径内民房", "limit_m"] == pytest.approx(318.1, abs=0.1)
    assert by.loc["路边小学", "category"] == "学校" and by.loc["加油站", "category"] == "危化企业"
    assert enc["distance_m"].tolist()[0] == pytest.approx(3, abs=0.5)  # most severe first
    assert not enc["rule"].str.contains("申请").any()
    assert enc.crs.to_epsg() == 4490
    # each line its own radius: next to a 219 mm / 1.0 MPa line (r = 0.099·219·√1 = 21.7 m) a house at 100 m
    # has no verdict, though the 1016 mm line in the same layer reaches 318 m
    small_line = _line("gas", 219, 1.0, name="小口径输气管道").to_crs(GK)
    small_line.geometry = small_line.geometry.translate(0, 5000)
    two = gpd.GeoDataFrame(pd.concat([_line(), small_line.to_crs(4490)], ignore_index=True), crs=4490)
    small = find_encroachments(two, {"buildings": _points([(3000, 5100, "小管旁民房"), (3000, 5010, "小管贴近民房")])})
    assert small[["name", "pipeline", "verdict"]].values.tolist() == [["小管贴近民房", "小口径输气管道", "安全间距不足"]]
    # the spacing is the declared parameter: 15 m makes the house at 20 m a PIR case only
    loose = find_encroachments(_line(), {"buildings": houses}, rules.HCAParameters(spacing_gas_m=15))
    assert dict(zip(loose["name"], loose["verdict"]))["近管民房"] == "位于潜在影响半径内"


def test_oil_lines_have_no_potential_impact_radius_verdict_or_value():
    houses = _points([(2000, 3, "压管民房"), (4000, 20, "近管民房"), (6000, 100, "百米民房")])
    oil = _line("oil", 323.9, 8.0, name="某成品油管道")
    enc = find_encroachments(oil, {"buildings": houses})
    # products line: Art. 31 spacing 30 m (parameter); nothing at 100 m (no PIR for oil)
    assert dict(zip(enc["name"], enc["verdict"])) == {"压管民房": "占压", "近管民房": "安全间距不足"}
    assert np.isnan(impact_radii(oil).iloc[0])
    scope = pipeline_scope(oil)
    assert scope["pir_text"].tolist() == ["不适用（输油管道）"] and np.isnan(scope["pir_m"].iloc[0])
    crude = find_encroachments(_line("oil", 323.9, 8.0, name="原油管道"), {"buildings": houses})
    assert dict(zip(crude["name"], crude["verdict"])) == {"压管民房": "占压"}  # crude: 15 m


def _city_main(press=0.4, name="市区中压燃气干管"):
    line = _line("gas", 400, press, name=name)
    line["kind"] = "urban_main"
    return line


def test_city_gas_main_next_to_a_school_is_outside_gb32167():
    school = _points([(10000, 20, "实验小学"), (12000, 1.0, "贴管商铺")], category=["school", "market"])
    main = _city_main()
    hca, record = identify_hca(main, None, sensitive=school)
    assert len(hca) == 0  # a 0.4 MPa city-gas main is not HCA-assessed
    assert any("城镇燃气管道（GB 50028），不适用GB 32167" in n for n in record["notes"])
    scope = pipeline_scope(main)
    row = scope.iloc[0]
    assert not row.assessed and row.scope.startswith("城镇燃气管道（GB 50028），不适用GB 32167")
    assert row.pressure_class == "中压A" and row.spacing_m == 1.5 and np.isnan(row.pir_m)
    # with a transmission line in the same layer, only that line is assessed
    both = gpd.GeoDataFrame(pd.concat([_line(), main], ignore_index=True), crs=4490)
    hca, _ = identify_hca(both, None, sensitive=school)
    assert set(hca["name"]) == {"测试管道"}
    res = analyse_pipelines(both, None, sensitive=school)
    assert res.scope.set_index("name")["assessed"].to_dict() == {"测试管道": True, "市区中压燃气干管": False}
    # its verdicts follow GB 50028 (1.5 m for 中压A), not the Protection Law
    enc = res.encroachments[res.encroachments["pipeline"] == "市区中压燃气干管"]
    assert enc[["name", "verdict", "limit_m"]].values.tolist() == [["贴管商铺", "间距不足（GB 50028）", 1.5]]
    bands = res.corridors[res.corridors["name"] == "市区中压燃气干管"]
    assert bands["band_key"].tolist() == ["gb50028"]


def test_river_crossing_and_tunnel_bands():
    river = gpd.GeoDataFrame({"name": ["淮河", "南湾水库"], "kind": ["river", "reservoir"]},
                             geometry=[shapely.box(X0 + 9900, Y0 - 3000, X0 + 10100, Y0 + 3000),
                                       shapely.box(X0 + 14000, Y0 - 3000, X0 + 15000, Y0 + 3000)],
                             crs=GK).to_crs(4490)
    bands = protection_corridors(_line(), water=river)
    art32 = bands[bands["band_key"] == "art32"]
    assert len(art32) == 1 and art32["article"].iloc[0] == "第三十二条" and "淮河" in art32["band"].iloc[0]
    # the river (200 m wide) within 500 m each side of the centreline: 200 m × 1000 m
    assert art32.to_crs(GK).area.iloc[0] == pytest.approx(200 * 1000, rel=0.01)
    assert "抛锚" in art32["rule"].iloc[0] and "挖砂" in art32["rule"].iloc[0]
    line_river = gpd.GeoDataFrame({"name": ["小河"]}, geometry=[shapely.LineString([(X0 + 5000, Y0 - 900),
                                                                                   (X0 + 5000, Y0 + 900)])],
                                  crs=GK).to_crs(4490)
    disc = protection_corridors(_line(), water=line_river)
    disc = disc[disc["band_key"] == "art32"]
    assert disc.to_crs(GK).area.iloc[0] == pytest.approx(math.pi * 500 ** 2, rel=0.01)
    assert not (protection_corridors(_line())["band_key"] == "art33").any()
    tunnel = _line()
    tunnel["tunnel"] = "是"
    t = protection_corridors(tunnel)
    t = t[t["band_key"] == "art33"]
    assert t["article"].tolist() == ["第三十三条"]
    assert t.to_crs(GK).area.iloc[0] == pytest.approx(2 * 1000 * LENGTH + math.pi * 1000 ** 2, rel=1e-3)
    res = analyse_pipelines(_line(), None, water=river)
    assert any("穿越河流1处" in n for n in res.provenance["notes"])
    assert any("未评价第三十三条" in n for n in res.provenance["notes"])


def test_oil_e_protected_area_within_200m():
    def area(dy):
        return gpd.GeoDataFrame({"name": ["南湾湿地"], "kind": ["wetland"]},
                                geometry=[shapely.box(X0 + 6000, Y0 + dy, X0 + 7000, Y0 + dy + 500)],
                                crs=GK).to_crs(4490)

    oil = _line("oil", 508, 6.3)
    hca, record = identify_hca(oil, None, protected=area(150))  # 150 m from the line: 表1 e) → Ⅱ级
    assert hca[["hca_grade", "criteria"]].values.tolist() == [["II", "e"]]
    assert "湿地" in hca.iloc[0].reason and "南湾湿地" in hca.iloc[0].reason
    assert hca.iloc[0].start_m == pytest.approx(5800) and hca.iloc[0].end_m == pytest.approx(7200)
    assert record["inputs"]["protected"]
    assert len(identify_hca(oil, None, protected=area(250))[0]) == 0  # 250 m: outside 200 m
    assert len(identify_hca(_line(), None, protected=area(150))[0]) == 0  # 表2 (gas) has no such row
    _, rec = identify_hca(oil, None)
    assert any("未评价输油e)" in n for n in rec["notes"])


def test_analyse_pipelines_runs_everything_with_progress(town_pop):
    calls = []
    res = analyse_pipelines(_line(), town_pop, sensitive=_points([(500, 20, "学校")], category=["school"]),
                            progress=lambda f, m: calls.append(f))
    assert len(res.hca) == 2 and len(res.corridors) == 3 and len(res.encroachments) == 1
    assert res.encroachments["verdict"].tolist() == ["安全间距不足"]
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
    with pytest.raises(ParameterError, match="无法识别的管道介质：water"):
        identify_hca(bad)
    bad = line.copy()
    bad["diam_mm"] = 0
    with pytest.raises(ParameterError, match="diam_mm"):
        identify_hca(bad)
    with pytest.raises(EmptyLayerError):
        identify_hca(line.iloc[:0])
    pts = _points([(0, 0, "x")], medium=["gas"], diam_mm=[100], press_mpa=[1])
    with pytest.raises(ParameterError, match="管道图层须为线要素"):
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


def test_sample_hca_table_has_no_city_gas_main_and_is_not_quantised_to_the_window():
    from riskmap import io

    paths, truth = _sample()
    res = analyse_pipelines(io.read_vector(paths["pipelines"]), paths["population"],
                            sensitive=io.read_vector(paths["sensitive"]), water=io.read_vector(paths["water"]),
                            roads=io.read_vector(paths["roads"]), enterprises=io.read_vector(paths["enterprises"]))
    scope = truth["pipelines_scope"]  # GB 32167 scope: transmission lines; city gas by GB 50028
    assert not set(res.hca["name"]) & set(scope["city_gas_mains"])
    assert set(res.hca["name"]) <= set(scope["hca_assessed"])
    by = res.scope.set_index("name")
    assert not by.loc[scope["city_gas_mains"], "assessed"].any()
    assert by.loc[scope["city_gas_mains"], "scope"].str.startswith("城镇燃气管道（GB 50028），不适用GB 32167").all()
    assert (by.loc[scope["no_pir"], "pir_text"] == "不适用（输油管道）").all()
    assert res.hca.loc[res.hca["medium"] == "oil", "pir_m"].isna().all()
    # §6.1.1.2: extents follow the buildings, not the 2 km window (before: 34 of 54 segments exactly 2000 m)
    window = truth["hca_extent"]["window_m"]
    lengths = res.hca["length_m"].to_numpy()
    assert len(lengths) > 10
    assert (np.mod(lengths, window) != 0).mean() > 0.8
    assert (lengths == window).sum() <= 0.1 * len(lengths)
