"""安全风险四色分布图: every area's colour is the maximum of its items under the rule table (hand-made case)."""
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from riskmap.analysis import fourcolour as fc
from riskmap.analysis.registry import FOURCOLOUR
from riskmap.analysis.result import run_analysis
from riskmap.errors import DataFormatError

GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=GK).to_crs(4490)


@pytest.fixture
def case():
    """Townships A | B | C side by side (1 km squares); C holds nothing."""
    areas = _gdf({"name": ["甲镇", "乙镇", "丙乡"], "county": ["一县"] * 3},
                 [shapely.box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(3)])
    plants = _gdf({"name": ["二级厂", "搬迁厂", "四级厂", "下限厂", "一级厂"],
                   "hazard_grade": ["二级", "", "四级", "≥四级", "一级"],
                   "relocate": [False, True, False, False, False], "county": ["一县"] * 5,
                   "sr_zone": [None, None, None, None, "尽可能降低区"]},  # a later, lower rule never lowers a level
                  [shapely.Point(X0 + 300, Y0 + 300), shapely.Point(X0 + 700, Y0 + 700),
                   shapely.Point(X0 + 1500, Y0 + 500), shapely.Point(X0 + 1600, Y0 + 400),
                   shapely.Point(X0 + 800, Y0 + 300)])
    hca = _gdf({"name": ["输气管道"], "hca_grade": ["II"], "start_m": [0.0], "end_m": [1200.0]},
               [shapely.LineString([(X0 + 200, Y0 + 100), (X0 + 1400, Y0 + 100)])])  # spans A and B
    tailings = _gdf({"name": ["五等库"], "grade": [5], "overhead": [False]}, [shapely.Point(X0 + 1800, Y0 + 800)])
    roads = _gdf({"name": ["县道"], "kind": ["sharp_bend"], "severity": ["一般风险"], "km_label": ["K1+000–K1+100"]},
                 [shapely.LineString([(X0 + 1100, Y0 + 900), (X0 + 1200, Y0 + 900)])])
    return areas, {"enterprises": plants, "pipelines": hca, "tailings": tailings, "roads": roads}


def test_item_levels_follow_the_rule_table(case):
    _, sources = case
    items = fc.risk_items(sources, fc.load_rules())
    level = dict(zip(items["name"], items["level"]))
    assert level["二级厂"] == "较大风险"
    assert level["搬迁厂"] == "重大风险"
    assert level["四级厂"] == "一般风险"
    assert level["下限厂"] == "一般风险"  # ≥四级 counts as 四级
    assert level["一级厂"] == "重大风险"  # the highest of the rules matched (一级; 尽可能降低区 is lower)
    assert level["输气管道"] == "较大风险"
    assert level["五等库"] == "低风险"
    assert level["县道"] == "一般风险"
    assert list(items["rank"]) == sorted(items["rank"], reverse=True)  # highest first


def test_area_colour_is_the_maximum_of_its_items(case):
    areas, sources = case
    items = fc.risk_items(sources, fc.load_rules())
    out = fc.aggregate(items, areas).set_index("name")
    assert out.loc["甲镇", "level"] == "重大风险" and out.loc["甲镇", "colour"] == "#FF0000"
    assert (out.loc["甲镇", ["n_major", "n_high", "n_moderate", "n_low"]] == [2, 2, 0, 0]).all()
    # the pipeline spans 甲 and 乙 and counts in each
    assert out.loc["乙镇", "level"] == "较大风险" and out.loc["乙镇", "colour"] == "#FF9900"
    assert (out.loc["乙镇", ["n_major", "n_high", "n_moderate", "n_low"]] == [0, 1, 3, 1]).all()
    assert out.loc["丙乡", "n_items"] == 0 and out.loc["丙乡", "level"] == "低风险"
    assert out.loc["丙乡", "colour"] == "#0070C0"


def test_an_edited_rule_table_changes_the_map(case, tmp_path):
    areas, sources = case
    table = fc.load_rules()
    for rule in table["sources"]["enterprises"]["rules"]:
        if "四级" in (rule.get("value") or []):
            rule["value"] = [v for v in rule["value"] if "四级" not in v]
    table["sources"]["enterprises"]["rules"].append(
        {"field": "hazard_grade", "op": "in", "value": ["四级"], "level": "重大风险", "basis": "test"})
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    edited = fc.load_rules(path)
    out = fc.aggregate(fc.risk_items(sources, edited), areas).set_index("name")
    assert out.loc["乙镇", "level"] == "重大风险"
    assert fc.rules_sha256(edited) != fc.rules_sha256(fc.load_rules())


def test_grid_cells_are_aligned_and_hold_their_items(case):
    _, sources = case
    items = fc.risk_items(sources, fc.load_rules())
    grid = fc.grid_cells(items, 500.0, metric_crs=GK)
    cells = fc.aggregate(items, grid, metric_crs=GK).to_crs(GK)
    x0 = cells.geometry.bounds["minx"].to_numpy()
    assert np.allclose(x0 / 500.0, np.round(x0 / 500.0), atol=1e-6)
    assert (cells["n_items"] >= 1).all()
    # the pipeline (y = Y0+100, x from X0+200 to X0+1400) crosses three 500 m cells
    pipe_cells = cells.loc[cells.geometry.intersects(shapely.LineString([(X0 + 200, Y0 + 100),
                                                                          (X0 + 1400, Y0 + 100)]))]
    assert len(pipe_cells) == 3
    assert (pipe_cells["rank"] >= fc.LEVEL_RANK["较大风险"]).all()


def test_bad_rule_table_is_one_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"sources": {"enterprises": {"rules": [{"field": "x", "op": "in", "level": "红"}]}}}',
                    encoding="utf-8")
    with pytest.raises(DataFormatError, match="level"):
        fc.load_rules(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataFormatError, match="JSON"):
        fc.load_rules(path)


def test_declared_analysis_records_the_rule_table(case):
    areas, sources = case
    result = run_analysis(FOURCOLOUR, {"areas": areas, **sources})
    assert set(result.layers) == {"township_risk", "risk_items", "grid_risk"}
    derived = result.provenance["derived"]
    assert derived["rule_table"] == fc.DEFAULT_RULES["name"]
    assert derived["rule_table_sha256"] == fc.rules_sha256(fc.DEFAULT_RULES)
    assert "rules" in result.tables and len(result.tables["rules"])
    summary = result.tables["county_summary"].set_index("县区")
    assert summary.loc["一县", "合计"] == 5 and summary.loc["未分县", "合计"] == 3  # only the plants name a county
