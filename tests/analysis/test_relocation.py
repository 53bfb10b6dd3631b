"""Relocation assessment: zones, exposure, dense areas, sensitive targets, GB 18218 grade, rules, report."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from riskmap.analysis import relocation, zonal
from riskmap.analysis.relocation import RelocationParams, assess_relocation, update_plant
from riskmap.errors import CRSError, EmptyLayerError, ParameterError

GK = 4547
LEFT, TOP, CELL = 490_000.0, 3_570_000.0, 100.0


def population(background=0.5, town=80.0):
    """20 × 20 km at 100 m: a 2 × 2 km town of 8,000 persons/km², a tiny dense blob, a nodata patch."""
    arr = np.full((200, 200), background, np.float32)
    arr[80:100, 80:100] = town  # x 498–500 km, y 3560–3562 km
    arr[10:13, 10:13] = town  # 0.09 km²: below the minimum dense area
    arr[150:155, 10:20] = -9999
    return arr, zonal.as_grid(arr, transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), crs=GK, nodata=-9999)


def gk_points(xy):
    xy = np.asarray(xy, float)
    return gpd.GeoSeries(shapely.points(xy[:, 0], xy[:, 1]), crs=GK).to_crs(4490).values


def plants_frame(chinese_headers=True):
    cols = {
        "企业名称": ["城内化工", "学校旁化工", "野外气站", "冶金厂", "未知物厂"],
        "行业": ["hazchem", "危险化学品", "hazchem", "metallurgy", "hazchem"],
        "外部安全防护距离(m)": [300, np.nan, "400米", 200, None],
        "危险化学品及储量": ["液氯:30;液氨:20", "甲醇:100", "天然气:60", "", "神秘物质:5"],
        "县区": ["浉河区", "平桥区", "平桥区", "浉河区", "罗山县"],
        "企业类型": ["生产", "", "储存", "", "危险化学品生产"],  # 学校旁化工: type from its name
    }
    if not chinese_headers:
        cols = dict(zip(["name", "industry", "safe_dist", "chemicals", "county", "ent_type"], cols.values()))
    xy = [(499_000, 3_561_000), (492_000, 3_555_000), (505_000, 3_552_000), (499_500, 3_561_500),
          (485_000 + 8_000, 3_565_000)]
    return gpd.GeoDataFrame(cols, geometry=gk_points(xy), crs=4490)


def sensitive_frame():
    return gpd.GeoDataFrame(
        {"名称": ["第一小学", "阳光幼儿园", "人民医院"], "类别": ["学校", "kindergarten", "hospital"]},
        geometry=gk_points([(492_200, 3_555_000), (491_750, 3_555_000), (506_000, 3_553_000)]), crs=4490)


@pytest.fixture(scope="module")
def result():
    _arr, grid = population()
    return assess_relocation(plants_frame(), grid, sensitive_frame())


def row(result, name):
    plants = result.plants
    return plants.loc[plants["name"] == name].iloc[0]


def test_only_hazchem_plants_with_chinese_headers(result):
    names = list(result.plants["name"])
    assert names == ["城内化工", "学校旁化工", "野外气站", "未知物厂"]
    for col in ("name", "safe_dist", "pop_exposed", "in_dense", "sensitive_n", "hazard_grade", "relocate",
                "priority", "reasons"):
        assert col in result.plants.columns
    assert result.plants.crs.to_epsg() == 4490
    assert len(result.zones) == 4 and result.zones.crs.to_epsg() == 4490


def test_safety_distance_sources(result):
    assert row(result, "城内化工")["safe_dist"] == 300
    assert row(result, "野外气站")["safe_dist"] == 400  # "400米"
    other = row(result, "学校旁化工")
    assert other["safe_dist"] == relocation.DEFAULT_DISTANCE_TABLE["other"]
    assert other["safe_dist_src"].startswith("默认表")
    unknown = row(result, "未知物厂")
    assert unknown["safe_dist"] == RelocationParams().default_distance_m
    assert unknown["safe_dist_src"] == "默认距离"


def test_exposure_is_exact(result):
    town = row(result, "城内化工")
    assert town["pop_exposed"] == pytest.approx(8000 * np.pi * 0.3 ** 2, rel=1e-6)
    gas = row(result, "野外气站")
    assert gas["pop_exposed"] == pytest.approx(50 * np.pi * 0.4 ** 2, rel=1e-6)


def test_in_town_plant_flagged_for_dense_overlap(result):
    town = row(result, "城内化工")
    assert town["in_dense"] and town["site_in_dense"] and town["relocate"]
    assert town["dense_km2"] == pytest.approx(np.pi * 0.3 ** 2, rel=1e-3)
    assert "与城镇人口密集区重叠0.28 km²" in town["reasons"]
    assert town["reasons"].startswith("外部安全防护距离300 m（安全评价报告）")
    # 液氯 30/5·4 + 液氨 20/10·2 = 28; α = 2 (> 100 people within 500 m) → R = 56 → 二级
    assert town["R"] == pytest.approx(56.0) and town["hazard_grade"] == "二级"
    assert "二级重大危险源" in town["reasons"]


def test_sensitive_targets_inside_zone(result):
    near = row(result, "学校旁化工")
    assert near["sensitive_n"] == 2
    assert near["sensitive"] == "第一小学、阳光幼儿园"  # nearest first
    assert near["sens_nearest"] == "第一小学" and near["sens_nearest_m"] == pytest.approx(200.0, abs=0.5)
    assert near["relocate"] and not near["in_dense"]
    assert "范围内有学校1所、幼儿园1所" in near["reasons"] and "非重大危险源（S=0.20）" in near["reasons"]
    assert near["ent_type"] == "production" and near["ent_type_src"] == "按名称推断"
    gas = row(result, "野外气站")
    assert gas["sensitive_n"] == 0 and gas["sens_nearest"] == "人民医院"
    assert gas["sens_nearest_m"] == pytest.approx(np.hypot(1000, 1000), abs=0.5)


def test_outside_plants_not_flagged_and_priorities(result):
    assert not row(result, "野外气站")["relocate"]
    assert not row(result, "未知物厂")["relocate"]
    assert pd.isna(row(result, "野外气站")["priority"])
    flagged = result.plants.loc[result.plants["relocate"]].sort_values("priority")
    assert list(flagged["priority"]) == [1, 2]
    assert flagged["score"].is_monotonic_decreasing
    assert flagged["name"].iloc[0] == "城内化工"


def test_major_hazard_and_unknown_chemicals(result):
    gas = row(result, "野外气站")
    assert gas["S"] == pytest.approx(1.2) and gas["major_hazard"] and gas["hazard_grade"] == "四级"
    near = row(result, "学校旁化工")
    assert near["S"] == pytest.approx(0.2) and not near["major_hazard"] and near["hazard_grade"] == ""
    unknown = row(result, "未知物厂")
    assert unknown["chem_unknown"] == "神秘物质" and unknown["S"] == 0
    assert any("神秘物质" in n for n in result.provenance["notes"])


def test_dense_areas_respect_threshold_and_minimum_area(result):
    dense = result.dense_areas
    assert len(dense) == 1  # the 0.09 km² blob is dropped
    assert dense["area_km2"].iat[0] == pytest.approx(4.0)
    assert dense["density"].iat[0] == pytest.approx(8000.0)
    _arr, grid = population()
    assert len(relocation.dense_areas(grid, 5000, 0.05)) == 2
    assert len(relocation.dense_areas(grid, 9000, 0.05)) == 0
    area = dense.to_crs(GK).area.iat[0] / 1e6
    assert area == pytest.approx(4.0, rel=1e-6)


def test_nodata_in_zone_is_reported():
    _arr, grid = population()
    plants = plants_frame().iloc[[0]].copy()
    plants.geometry = gk_points([(491_500, 3_554_700)])  # beside the nodata patch (x 491–492 km, y 3554.5–3555)
    res = assess_relocation(plants, grid)
    assert res.plants["nodata_cells"].iat[0] > 0
    assert any("无数据" in n for n in res.provenance["notes"])


def test_worked_example_through_the_pipeline():
    # uniform density so that exactly 60 people live within 500 m: R = 1.5 × 2 × 200/20 = 30 → 三级
    density = 60.0 / (np.pi * 0.5 ** 2)
    arr = np.full((100, 100), density * 0.01, np.float64)
    grid = zonal.as_grid(arr, transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), crs=GK)
    plant = gpd.GeoDataFrame({"name": ["二氧化硫库"], "industry": ["hazchem"], "safe_dist": [200.0],
                              "chemicals": ["二氧化硫:200"]}, geometry=gk_points([(LEFT + 5000, TOP - 5000)]),
                             crs=4490)
    res = assess_relocation(plant, grid)
    r = res.plants.iloc[0]
    assert r["pop_alpha"] == pytest.approx(60.0, rel=1e-6)
    assert r["alpha"] == 1.5 and r["R"] == pytest.approx(30.0) and r["hazard_grade"] == "三级"


def test_grade_rule_parameters():
    _arr, grid = population(background=5.0)  # 500/km² (not dense): a 1 km zone holds ~1,570 people
    plant = gpd.GeoDataFrame({"name": ["大氯库"], "safe_dist": [1000.0], "chemicals": ["液氯:200"], "ent_type": ["储存"]},
                             geometry=gk_points([(505_000, 3_552_000)]), crs=4490)
    flagged = assess_relocation(plant, grid).plants.iloc[0]  # no industry column: assessed
    assert flagged["hazard_grade"] == "一级" and flagged["relocate"]
    assert "一级重大危险源" in flagged["reasons"] and "防护距离内约" in flagged["reasons"]
    lenient = assess_relocation(plant, grid, params=RelocationParams(grade_rule_min_people=2000)).plants.iloc[0]
    assert not lenient["relocate"] and lenient["verdict"] == "暂不搬迁"
    off = assess_relocation(plant, grid, params=RelocationParams(rule_grade=False)).plants.iloc[0]
    assert not off["relocate"]


def test_english_headers_and_all_industries():
    _arr, grid = population()
    res = assess_relocation(plants_frame(chinese_headers=False), grid, params=RelocationParams(all_industries=True))
    assert "冶金厂" in set(res.plants["name"])


def test_what_if_distance_matches_a_full_rerun():
    _arr, grid = population()
    res = assess_relocation(plants_frame(), grid, sensitive_frame())
    before = res.plants.copy()
    updated = update_plant(res, 1, safe_dist=150.0)
    assert updated["safe_dist"] == 150 and updated["sensitive_n"] == 0 and not updated["relocate"]
    assert updated["safe_dist_src"] == "手动调整"
    plants = plants_frame()
    plants.loc[1, "外部安全防护距离(m)"] = 150.0
    rerun = assess_relocation(plants, grid, sensitive_frame()).plants
    assert "（手动调整）" in res.plants["reasons"].iat[1]  # the reason states the distance's source
    for col in ("pop_exposed", "sensitive_n", "relocate", "score", "dense_km2"):
        assert list(res.plants[col]) == pytest.approx(list(rerun[col])) if col in ("pop_exposed", "score",
                                                                                    "dense_km2") \
            else list(res.plants[col]) == list(rerun[col]), col
    assert list(res.plants["priority"].fillna(0)) == list(rerun["priority"].fillna(0))
    # other plants untouched
    for i in (0, 2, 3):
        assert res.plants["pop_exposed"].iat[i] == before["pop_exposed"].iat[i]
    zone_area = res.zones.to_crs(GK).area.iat[1]
    assert zone_area == pytest.approx(np.pi * 150 ** 2, rel=1e-3)


def test_what_if_move_matches_a_full_rerun():
    _arr, grid = population()
    res = assess_relocation(plants_frame(), grid, sensitive_frame())
    new_location = gk_points([(498_500, 3_560_500)])[0]  # into town
    updated = update_plant(res, 2, geometry=new_location)
    plants = plants_frame()
    plants.loc[2, "geometry"] = new_location
    rerun = assess_relocation(plants, grid, sensitive_frame()).plants
    assert updated["in_dense"] and updated["relocate"]
    for col in ("pop_exposed", "pop_alpha", "R", "dense_km2"):
        assert updated[col] == pytest.approx(rerun[col].iat[2]), col
    assert updated["reasons"] == rerun["reasons"].iat[2]
    assert list(res.plants["priority"].fillna(0)) == list(rerun["priority"].fillna(0))
    with pytest.raises(ParameterError):
        update_plant(res, 2, safe_dist=-5)
    with pytest.raises(ParameterError):
        update_plant(res, 99, safe_dist=5)


def test_report_has_chinese_sheets(tmp_path, result):
    import openpyxl

    from riskmap.exports.report import write_relocation_report

    path = write_relocation_report(result, tmp_path / "报告.xlsx")
    wb = openpyxl.load_workbook(path)
    assert [s.title for s in wb.worksheets if s.sheet_state == "visible"] == ["县区汇总", "企业明细", "来源说明"]
    summary = [[c.value for c in r] for r in wb["县区汇总"].iter_rows()]
    assert summary[0][:3] == ["县区", "评估企业数", "建议搬迁数"]
    assert summary[-1][0] == "合计" and summary[-1][1] == 4 and summary[-1][2] == 2
    detail = [[c.value for c in r] for r in wb["企业明细"].iter_rows()]
    assert detail[0][0] == "企业名称" and "判定理由" in detail[0]
    assert detail[1][0] == "城内化工"  # priority 1 first
    assert "与城镇人口密集区重叠" in detail[1][detail[0].index("判定理由")]
    rows = [(r[0].value, r[1].value, r[2].value) for r in wb["来源说明"].iter_rows(min_row=2)]
    assert ("分析", "relocation", "搬迁评估") in rows
    assert any(k == "标准" and str(v).startswith("GB 18218-2018") for k, _i, v in rows)
    assert any(k == "说明" and "神秘物质" in str(v) for k, _i, v in rows)
    assert any(k == "参数" and i == "人口密集区密度阈值 (dense_threshold)" and v == "5000" for k, i, v in rows)
    assert any(k == "运行" and i == "时间" for k, i, _v in rows)


def test_geopackage_layers(tmp_path, result):
    from riskmap import io

    path = io.write_layers(tmp_path / "out.gpkg", relocation.output_layers(result))
    back = gpd.read_file(path, layer="plants")
    assert list(back["name"]) == list(result.plants["name"])
    assert set(gpd.list_layers(path)["name"]) == {"plants", "zones", "dense_areas"}


def test_bad_inputs_raise_typed_errors():
    _arr, grid = population()
    plants = plants_frame()
    with pytest.raises(CRSError):
        assess_relocation(plants.set_crs(None, allow_override=True), grid)
    with pytest.raises(EmptyLayerError):
        assess_relocation(plants.iloc[[3]], grid)  # only the metallurgy plant
    with pytest.raises(ParameterError):
        assess_relocation(plants, grid, params=RelocationParams(dense_threshold=0))
    with pytest.raises(ParameterError):
        assess_relocation(plants, grid, params=RelocationParams(grade_rule_grades=("五级",)))


def test_progress_is_reported_and_cancellable():
    from riskmap.errors import CancelledError

    _arr, grid = population()
    seen = []
    assess_relocation(plants_frame(), grid, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)

    from riskmap.i18n import set_language

    messages = {}
    try:
        for code in ("zh", "en"):
            set_language(code)
            messages[code] = []
            assess_relocation(plants_frame(), grid, progress=lambda f, m: messages[code].append(m))
    finally:
        set_language("zh")
    assert (messages["zh"][0], messages["zh"][-1]) == ("准备数据", "完成")  # one language at a time
    assert (messages["en"][0], messages["en"][-1]) == ("preparing", "done")
    assert not any(m.isascii() for m in messages["zh"]) and all(m.isascii() for m in messages["en"])

    def cancel(frac, msg):
        if frac > 0.3:
            raise CancelledError("cancelled")

    with pytest.raises(CancelledError):
        assess_relocation(plants_frame(), grid, progress=cancel)


# The sample data are committed: a missing or corrupt file is a failure, never a skip.
def test_sample_list_survives_a_review():
    """Issue 11 on the sample: every flagged plant is in scope and a major hazard or a production plant;
    no shop, fuel station or gas depot is flagged; the 30 t chlorine + 24 t H₂S plant (310 m) is flagged
    for review of its distance; out-of-scope sites are listed with their reason."""
    from riskmap import io, sample

    truth = sample.truth()
    plants = io.read_vector(sample.sample_path("enterprises"))
    res = assess_relocation(plants, sample.sample_path("population"),
                            io.read_vector(sample.sample_path("sensitive")))
    p = res.plants
    flagged = p.loc[p["relocate"]]
    assert len(flagged) >= 1
    assert flagged["in_scope"].all()
    assert (flagged["major_hazard"] | (flagged["ent_type"] == "production")).all()
    assert not flagged["ent_type"].isin(["trade", "fuel_station", "city_gas", "civil_explosive", "fireworks",
                                         "ammonia_refrigeration"]).any()
    assert not flagged["in_park"].any()
    assert set(flagged["id"].astype(str)) <= {str(v) for v in truth["hazchem_in_dense_towns"]}
    # every planted expectation (data/sample_truth.json "relocation", each with its clause) holds
    by_id = p.set_index(p["id"].astype(int))
    expected = truth["relocation"]["expected"]
    assert len(expected) >= 18
    for case in expected:
        got = by_id.loc[case["id"]]
        assert got["verdict"] == case["verdict"], (case["name"], got["reasons"], case["clause"])
        assert bool(got["relocate"]) == case["relocate"], case["name"]
        if "review" in case:
            assert bool(got["review"]) == case["review"], case["name"]
        if "S" in case:
            assert got["S"] == pytest.approx(case["S"], rel=1e-6), case["name"]
        if "ent_type" in case:
            assert got["ent_type_src"] == "字段" and relocation.ENTERPRISE_TYPES[got["ent_type"]] == case["ent_type"]
    assert not by_id.loc[truth["relocation"]["never_relocated"], "relocate"].any()
    assert {c["id"] for c in expected if c["relocate"]} == set(flagged["id"].astype(int))
    # the production plants flagged in town cores rank by hazard: the 二级 plant (R = 52) first
    first = flagged.sort_values("priority").iloc[0]
    assert first["hazard_grade"] == "二级" and first["ent_type"] == "production"
    chlorine = p.loc[p["chemicals"].str.contains("液氯:30") & p["chemicals"].str.contains("硫化氢:24")].iloc[0]
    assert chlorine["review"] and chlorine["verdict"] == "复核外部安全防护距离"
    assert "310 m 偏小" in chlorine["reasons"] and chlorine["hazard_grade"] == "二级"
    out = p.loc[~p["in_scope"]]
    assert len(out) and out["reasons"].str.len().gt(0).all() and (out["verdict"] == "不适用").all()
    stations = p.loc[p["name"].str.contains("加油站")]
    assert len(stations) and (stations["verdict"] == "不适用").all()
    assert stations["reasons"].str.contains("GB/T 37243-2019（§3）").all()
    # ranking: hazard first — priority 1 has the most severe grade among the flagged
    order = {"一级": 0, "二级": 1, "三级": 2, "四级": 3}
    ranked = flagged.sort_values("priority")
    grades = ranked["hazard_grade"].str.lstrip("≥").map(order).fillna(4).to_numpy()
    assert list(grades) == sorted(grades)


def _uniform_grid(per_cell=0.5):
    """20 × 20 km of 100 m cells holding ``per_cell`` persons (50 persons/km² by default)."""
    arr = np.full((200, 200), per_cell, np.float32)
    return zonal.as_grid(arr, transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), crs=GK)


def test_alpha_is_counted_from_the_site_boundary():
    """GB 18218-2018 §4.3: residents from the 厂区边界 out to 500 m, the site itself not counted (hand areas)."""
    grid = _uniform_grid()
    cx, cy = 500_000.0, 3_560_000.0
    square = shapely.box(cx - 200, cy - 200, cx + 200, cy + 200)
    sites = gpd.GeoDataFrame(
        {"name": ["点", "半径", "厂区面"], "ent_type": ["生产"] * 3, "safe_dist": [600.0] * 3,
         "chemicals": ["液氯:6"] * 3, "site_radius_m": [np.nan, 200.0, np.nan]},
        geometry=gpd.GeoSeries([shapely.Point(cx, cy), shapely.Point(cx, cy), square], crs=GK).to_crs(4490).values,
        crs=4490)
    p = assess_relocation(sites, grid).plants.set_index("name")
    density = 50.0  # persons/km²
    assert p.loc["点", "pop_alpha"] == pytest.approx(density * np.pi * 0.5 ** 2, rel=1e-4)
    assert p.loc["点", "alpha_basis"].startswith("按厂址点估算，偏小")
    assert p.loc["半径", "pop_alpha"] == pytest.approx(density * np.pi * (0.7 ** 2 - 0.2 ** 2), rel=1e-4)
    ring_km2 = 4 * 0.4 * 0.5 + np.pi * 0.5 ** 2  # the square's 500 m buffer without the square itself
    assert p.loc["厂区面", "pop_alpha"] == pytest.approx(density * ring_km2, rel=2e-3)
    assert p.loc["厂区面", "alpha_basis"] == "厂区边界外500 m（厂区面）"
    # 39 people → α 1.2; 56 → 1.5; 79 → 1.5 (Table 5); R = α · 4 · 6/5
    assert p.loc["点", "alpha"] == 1.2 and p.loc["厂区面", "alpha"] == 1.5
    assert p.loc["厂区面", "R"] == pytest.approx(1.5 * 4 * 6 / 5)


def test_scope_park_and_raster_edge():
    _arr, grid = population()
    town = (499_000, 3_561_000)
    frame = gpd.GeoDataFrame(
        {"name": ["城中化工", "城中加油站", "园区化工", "边缘化工", "城中试剂经营部"],
         "ent_type": ["生产", "", "生产", "生产", ""], "in_park": ["否", "否", "是", "否", "否"],
         "park": ["", "", "信阳化工产业园", "", ""], "safe_dist": [300.0, 300.0, 300.0, 800.0, 300.0],
         "chemicals": ["液氯:30", "汽油:80", "液氯:30", "甲醇:10", "甲醇:2"]},
        geometry=gk_points([town, (499_200, 3_561_200), (505_000, 3_552_000), (LEFT + 100, TOP - 100),
                            (498_800, 3_560_800)]), crs=4490)
    p = assess_relocation(frame, grid).plants.set_index("name")
    assert p.loc["城中化工", "relocate"] and "退城入园：最近园区 信阳化工产业园" in p.loc["城中化工", "reasons"]
    assert p.loc["城中加油站", "verdict"] == "不适用" and not p.loc["城中加油站", "relocate"]
    assert "GB/T 37243-2019（§3）" in p.loc["城中加油站", "reasons"]
    assert p.loc["城中试剂经营部", "verdict"] == "不适用"  # a shop: named type from its name, reason given
    assert not p.loc["园区化工", "relocate"] and p.loc["园区化工", "in_park"]
    assert p.loc["边缘化工", "zone_off_raster"] and "超出人口栅格" in p.loc["边缘化工", "reasons"]


def _unit_table(rows, xy):
    """One row per unit: (企业名称, 单元, 单元类型, 危险化学品及储量, 外部安全防护距离)."""
    cols = dict(zip(["企业名称", "单元名称", "单元类型", "危险化学品及储量", "外部安全防护距离"], zip(*rows)))
    cols["企业类型"] = ["生产"] * len(rows)
    return gpd.GeoDataFrame({k: list(v) for k, v in cols.items()}, geometry=gk_points(xy), crs=4490)


def test_units_are_identified_and_graded_separately():
    """GB 18218-2018 grades each 生产单元/储存单元; two sub-threshold units are no major hazard (hand S/R)."""
    grid = _uniform_grid(0.0)  # nobody outside: α = 0.5 (Table 5)
    site_a, site_b = (500_000, 3_560_000), (505_000, 3_555_000)
    table = _unit_table([
        ("甲化工", "液氯储罐区", "储存单元", "液氯20吨", 500),
        ("甲化工", "合成车间", "生产单元", "液氨5吨", 800),
        ("乙化工", "液氯库房", "储存", "液氯:3", 400),
        ("乙化工", "氨制冷装置", "装置", "液氨:6", 400),
        ("丁化工", "甲醇罐区", "储存单元", "甲醇 700t", 300),
        ("丁化工", "氯化装置", "生产单元", "6吨液氯", 300),
    ], [site_a, site_a, site_b, site_b, (495_000, 3_565_000), (495_000, 3_565_000)])
    res = assess_relocation(table, grid)
    moved = update_plant(res, 0, geometry=gk_points([(501_000, 3_561_000)])[0])  # a what-if move regrades by unit
    assert moved["S"] == pytest.approx(4.0) and moved["grade_basis"].startswith("按单元辨识")
    p = res.plants.set_index("name")
    assert len(p) == 3  # six unit rows, three enterprises
    a = p.loc["甲化工"]
    # governing unit 液氯储罐区: S = 20/5 = 4, R = 0.5 · 4 · 4 = 8 → 四级; the whole-plant total would be S = 4.5
    assert a["S"] == pytest.approx(4.0) and a["R"] == pytest.approx(8.0) and a["hazard_grade"] == "四级"
    assert a["major_hazard"] and a["safe_dist"] == 800.0  # the larger of the rows' distances
    assert a["grade_basis"] == "按单元辨识（2个单元，1个构成重大危险源；定级单元：液氯储罐区）"
    assert "液氯储罐区（储存单元）：S=4.00，R=8.0，四级重大危险源" in a["units"]
    assert "合成车间（生产单元）：S=0.50，R=0.5，非重大危险源" in a["units"]
    b = p.loc["乙化工"]
    # 3/5 = 0.6 and 6/10 = 0.6: neither unit reaches its threshold, though the plant total (1.2) would
    assert not b["major_hazard"] and b["hazard_grade"] == "" and b["S"] == pytest.approx(0.6)
    assert b["grade_basis"] == "按单元辨识（2个单元，均不构成重大危险源）"
    assert "非重大危险源" in b["reasons"] and "储存单元" in b["units"] and "生产单元" in b["units"]
    # both units are major: 甲醇 S = 1.4 (β 1, R 0.7) and 液氯 S = 1.2 (β 4, R 2.4); the grade follows the higher R
    d = p.loc["丁化工"]
    assert d["S"] == pytest.approx(1.2) and d["R"] == pytest.approx(2.4)
    assert d["grade_basis"].endswith("2个单元，2个构成重大危险源；定级单元：氯化装置）")


def test_whole_plant_total_is_labelled_an_estimate():
    grid = _uniform_grid(0.0)
    frame = gpd.GeoDataFrame({"name": ["丙化工"], "ent_type": ["生产"], "safe_dist": [500.0],
                              "chemicals": ["液氯:3;液氨:6"]}, geometry=gk_points([(500_000, 3_560_000)]), crs=4490)
    res = assess_relocation(frame, grid)
    p = res.plants.iloc[0]
    assert p["grade_basis"] == "按全厂合计估算" and p["major_hazard"] and p["S"] == pytest.approx(1.2)
    assert "（按全厂合计估算）" in p["reasons"] and p["units"] == ""
    assert any("按全厂合计估算" in n for n in res.provenance["notes"])


def test_in_park_plant_is_never_relocated_even_with_a_school_in_its_zone():
    """退城入园: a park is where plants go; its plant with a school inside the zone is reviewed, not relocated."""
    _arr, grid = population()
    frame = gpd.GeoDataFrame(
        {"name": ["园区氯碱", "城中氯碱"], "ent_type": ["生产", "生产"], "in_park": ["是", "否"],
         "park": ["信阳化工产业园", ""], "safe_dist": [800.0, 800.0], "chemicals": ["液氯:30", "液氯:30"]},
        geometry=gk_points([(505_000, 3_552_000), (492_000, 3_552_000)]), crs=4490)
    school = gpd.GeoDataFrame({"name": ["园区旁小学", "城中小学"], "category": ["school", "school"]},
                              geometry=gk_points([(505_400, 3_552_000), (492_400, 3_552_000)]), crs=4490)
    p = assess_relocation(frame, grid, school).plants.set_index("name")
    assert not p.loc["园区氯碱", "relocate"] and p.loc["园区氯碱", "verdict"] == "园区内企业，复核防护距离内目标"
    assert p.loc["城中氯碱", "relocate"] and p.loc["城中氯碱", "verdict"] == "建议搬迁"


def test_drawn_zones_are_128_gons_on_the_circle(result):
    """The zone layer's polygons: 4 × ZONE_DRAWN_QUAD_SEGS vertices, each at the safety distance from its plant
    (geodesic, within the metric CRS's scale error), never outside the circle by more than that."""
    import shapely
    from pyproj import Geod

    from riskmap.analysis.relocation import ZONE_DRAWN_QUAD_SEGS

    zones = result.zones.to_crs(4326)
    plants = result.plants.to_crs(4326)
    counts = shapely.get_num_coordinates(zones.geometry.values)
    assert set(counts) == {4 * ZONE_DRAWN_QUAD_SEGS + 1}
    coords, which = shapely.get_coordinates(zones.geometry.values, return_index=True)
    centre = plants.geometry.values[which]
    _az, _baz, d = Geod(ellps="WGS84").inv(shapely.get_x(centre), shapely.get_y(centre), coords[:, 0], coords[:, 1])
    r = result.plants["safe_dist"].to_numpy()[which]
    np.testing.assert_allclose(d, r, rtol=1e-3)  # Gauss–Krüger scale within ~2° of the central meridian
