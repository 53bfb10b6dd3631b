"""Issue 18 §9: absurd input values are named per row in a warning; the run goes on.

Each rule table is tried on hand-made rows: the rows that break a bound (and only those) are named, with
the value as written; a value on the bound is plausible. The oracle is the rows as built here, not the
implementation's output.
"""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from riskmap.analysis import plausibility as P
from riskmap.analysis.registry import ANALYSES
from riskmap.analysis.result import run_analysis
from riskmap.cli import main
from riskmap.i18n import set_language

GK = 4547


@pytest.fixture(autouse=True)
def chinese():
    set_language("zh")
    yield
    set_language("zh")


def flagged(frame, rules):
    found = P.implausible_rows(frame, rules)
    return sorted(zip(found["label"], found["column"], found["value"]))


def test_relocation_plants_distances_and_stock():
    plants = pd.DataFrame({
        "企业名称": ["正常", "负距离", "恰好10km", "超10km", "文字负距离", "负储量", "恰好百万吨", "超百万吨", None, "负半径"],
        "编号": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"],
        "外部安全防护距离(m)": ["500", "-300", "10000米", "15000", "−20 m", "300", "300", "300", "12000", "200"],
        "危险化学品及储量": ["液氯:30;1,3-丁二烯 5t", "", "", "", "", "液氨:-5吨", "甲醇 1000000t", "液氨 30t、甲醇 2000000吨",
                      None, ""],
        "厂区半径": [100, 100, 100, 100, 100, 100, 100, 100, 100, -50],
    })
    assert flagged(plants, P.RELOCATION_PLANTS) == sorted([
        ("负距离", "safe_dist", "-300 m"), ("超10km", "safe_dist", "15000 m"), ("文字负距离", "safe_dist", "-20 m"),
        ("负储量", "chemicals", "液氨:-5吨"), ("超百万吨", "chemicals", "甲醇 2,000,000 t"),
        ("编号 P9", "safe_dist", "12000 m"),  # no name: named by its id
        ("负半径", "site_radius_m", "-50 m"),
    ])


def test_qra_plants_check_only_the_stock():
    plants = pd.DataFrame({"name": ["甲", "乙"], "safe_dist": [-1.0, 99999.0], "chemicals": ["氯 -3t", "氨 5t"]})
    assert flagged(plants, P.QRA_PLANTS) == [("甲", "chemicals", "氯 -3t")]


def test_tailings_storage_and_dam_height():
    ponds = pd.DataFrame({
        "name": ["正常", "负库容", "恰好上限", "超上限", "全库容超", "坝高恰好300", "坝高超", "负坝高"],
        "capacity": [500.0, -1.0, 5e5, 5.1e5, 100.0, 100.0, 100.0, 100.0],
        "stage_cap": [np.nan, np.nan, np.nan, np.nan, 6e5, np.nan, np.nan, np.nan],  # the DBF name of stage_capacity
        "dam_height": [40.0, 40.0, 40.0, 40.0, 40.0, 300.0, 301.0, -5.0],
    })
    assert flagged(ponds, P.TAILINGS) == sorted([
        ("负库容", "capacity", "-1 万m³"), ("超上限", "capacity", "510,000 万m³"),
        ("全库容超", "stage_capacity", "600,000 万m³"), ("坝高超", "dam_height", "301 m"), ("负坝高", "dam_height", "-5 m"),
    ])


def test_tailings_with_chinese_headers():
    ponds = pd.DataFrame({"尾矿库名称": ["甲库", "乙库"], "总库容": ["1e12", "300"], "总坝高": [40, 40]})
    assert flagged(ponds, P.TAILINGS) == [("甲库", "capacity", "1e+12 万m³")]


def test_pipelines_diameter_and_pressure():
    lines = pd.DataFrame({
        "管道名称": ["干线", "按米填的管径", "恰好1.6m", "超1.6m", "超压", "负压", "负管径"],
        "管径": [1016.0, 1.016, 1600.0, 1700.0, 813.0, 813.0, -10.0],
        "设计压力": [10.0, 10.0, 10.0, 10.0, 25.0, -1.0, 10.0],
    })
    assert flagged(lines, P.PIPELINES) == sorted([
        ("按米填的管径", "diam_mm", "1.016 mm"), ("超1.6m", "diam_mm", "1700 mm"), ("超压", "press_mpa", "25 MPa"),
        ("负压", "press_mpa", "-1 MPa"),
        ("负管径", "diam_mm", "-10 mm"),  # once: negative, not also "under 25 mm"
    ])
    reasons = P.implausible_rows(lines, P.PIPELINES).set_index("label")["rule"]
    assert reasons["负管径"].reason_zh == "负值"


def test_roads_speed_and_accident_casualties():
    roads = pd.DataFrame({"name": ["G107", "S337", "X001", "乡道"], "speed_kmh": [80, -40, 150, 120]})
    assert flagged(roads, P.ROADS) == [("S337", "speed_kmh", "-40 km/h"), ("X001", "speed_kmh", "150 km/h")]
    accidents = pd.DataFrame({"date": ["2024-01-01"] * 3, "死亡人数": [1, -2, 0], "受伤人数": [0, 3, -1]})
    assert flagged(accidents, P.ACCIDENTS) == [("第 2 行", "deaths", "-2 人"), ("第 3 行", "injuries", "-1 人")]


def test_a_layer_without_the_columns_or_with_good_values_says_nothing():
    assert flagged(pd.DataFrame({"name": ["甲"], "x": [-1]}), P.PIPELINES) == []
    assert P.plausibility_warning(P.implausible_rows(pd.DataFrame({"dam_height": [10.0]}), P.TAILINGS),
                                  "尾矿库图层", "tailings") is None


def test_warning_names_the_layer_rows_and_values_and_caps_at_twenty():
    ponds = pd.DataFrame({"name": [f"库{i}" for i in range(25)], "dam_height": [400.0 + i for i in range(25)]})
    found = P.implausible_rows(ponds, P.TAILINGS)
    line = P.plausibility_warning(found, "尾矿库图层", "tailings", "/data/尾矿库.xlsx")
    assert "\n" not in line
    assert line.startswith("尾矿库图层（尾矿库.xlsx）数值不合理，已照常计算，请核对：库0：坝高 400 m（超过 300 m")
    assert "库19：坝高 419 m" in line and "库20" not in line and line.endswith("；另有 5 行")
    set_language("en")
    line = P.plausibility_warning(found, "尾矿库图层", "tailings", "/data/尾矿库.xlsx")
    assert line.startswith("implausible values in the tailings layer (尾矿库.xlsx); the run went on, check them: "
                           "库0: dam height 400 m (over 300 m") and line.endswith("; and 5 more rows")


def _pop(path):
    with rasterio.open(path, "w", driver="GTiff", width=50, height=50, count=1, dtype="float32", crs=f"EPSG:{GK}",
                       transform=Affine(100, 0, 495_000, 0, -100, 3_565_000), nodata=-9999) as ds:
        ds.write(np.full((1, 50, 50), 30.0, np.float32))
    return path


def test_run_analysis_puts_the_warning_in_the_provenance_and_the_report(tmp_path):
    from riskmap.exports.report import provenance_frame

    xy = gpd.GeoSeries(shapely.points([497_000, 498_000, 499_000], [3_562_000] * 3), crs=GK).to_crs(4490)
    plants = gpd.GeoDataFrame({"name": ["甲化工", "乙化工", "丙化工"], "industry": ["hazchem"] * 3,
                               "safe_dist": [300.0, -300.0, 2e6], "chemicals": ["液氯:30", "液氨:10", "液氨:10"]},
                              geometry=xy.values, crs=4490)
    result = run_analysis(ANALYSES["relocation"], {"plants": plants, "population": _pop(tmp_path / "p.tif")},
                          sources={"plants": str(tmp_path / "企业.geojson")})
    warnings = result.provenance["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith("企业图层（企业.geojson）数值不合理")
    assert "乙化工：外部安全防护距离 -300 m" in warnings[0] and "丙化工：外部安全防护距离 2,000,000 m" in warnings[0]
    assert "甲化工" not in warnings[0]
    assert len(result.layers["plants"]) == 3  # the run went on
    assert warnings[0] in result.provenance["notes"]
    sheet = provenance_frame(result.provenance)
    assert warnings[0] in sheet["内容"].tolist()  # the 来源说明 sheet lists it


def test_cli_prints_the_warning_as_one_line_and_exits_0(tmp_path, capsys):
    ponds = gpd.GeoDataFrame({"name": ["正常库", "万米坝"], "capacity": [500.0, 50.0], "dam_height": [40.0, 10000.0],
                              "downstream_az": [90.0, 90.0]},
                             geometry=[shapely.Point(114.1, 32.1), shapely.Point(114.2, 32.1)], crs=4490)
    ponds.to_file(tmp_path / "尾矿库.geojson")
    code = main(["tailings", "--tailings", str(tmp_path / "尾矿库.geojson"), "--out", str(tmp_path / "o.gpkg")])
    captured = capsys.readouterr()
    assert code == 0 and (tmp_path / "o.gpkg").exists()
    lines = [line for line in captured.err.splitlines() if "数值不合理" in line]
    assert lines == ["riskmap: 警告: 尾矿库图层（尾矿库.geojson）数值不合理，已照常计算，请核对：万米坝：坝高 10000 m"
                     "（超过 300 m，高于任何已建尾矿坝，请核对单位是否为米）"]
    assert "尾矿库 2 座" in captured.out


def test_rows_sharing_a_name_are_told_apart_by_their_row_number():
    ponds = pd.DataFrame({"name": ["尾矿库", "尾矿库", "乙库"], "dam_height": [500.0, 40.0, -1.0]})
    assert flagged(ponds, P.TAILINGS) == [("乙库", "dam_height", "-1 m"), ("尾矿库（第 1 行）", "dam_height", "500 m")]


def test_long_names_are_shortened_and_a_repeated_header_is_read_once():
    ponds = pd.DataFrame([["甲" * 300, 400.0, 1.0]], columns=["name", "dam_height", "dam_height"])
    found = P.implausible_rows(ponds, P.TAILINGS)
    assert found["label"].tolist() == ["甲" * 39 + "…"] and found["value"].tolist() == ["400 m"]
