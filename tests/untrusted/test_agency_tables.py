"""Issue 16: agency spreadsheets — header rows below titles, two-row headers, total rows, aliases, datum.

The expected values are the hand-written rows of ``corpus_cases.py`` (what a user sees in the sheet), GB
18218-2018 Table 1's critical quantities (液氯 5 t, 甲醇 500 t) for the grades, and published WGS84/GCJ-02
pairs for the coordinates.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod

from corpus_cases import (AGENCY_MERGES, AGENCY_ROWS, ALIAS_ROWS, SHANGHAI_GCJ02, SHANGHAI_WGS84, population_raster,
                          write_csv, write_xlsx)
from riskmap import crs, io, tables
from riskmap.errors import CoordinateError, CRSError, EmptyLayerError

ROOT = Path(__file__).resolve().parents[2]
GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def warnings_of(gdf):
    return gdf.attrs["riskmap"]["warnings"]


# ---------------------------------------------------------------------------
# header spellings
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, key, unit", [
    ("最大储存量（t）", "最大储存量", "t"), ("储量(吨)", "储量", "吨"), (" 经度\n(°) ", "经度", "°"),
    ("外部安全防护距离（m）", "外部安全防护距离", "m"), ("县（区）", "县(区)", ""), ("Longitude", "longitude", ""),
    ("企业 名称", "企业名称", ""), ("危化品：", "危化品", ""), ("经度(GCJ-02)", "经度", "gcj-02"),
])
def test_header_key_normalises_full_width_brackets_units_and_spaces(text, key, unit):
    assert tables.header_key(text) == key
    assert tables.header_unit(text) == unit


@pytest.mark.parametrize("text, role", [("经度", "lon"), ("东经", "lon"), ("经度（°）", "lon"), ("高德经度", "lon"),
                                        ("经度(GCJ-02)", "lon"), ("X", "lon"), ("Lng", "lon"), ("北纬", "lat"),
                                        ("纬度(百度)", "lat"), ("Y坐标", "lat"), ("企业名称", None), ("经营范围", None)])
def test_coordinate_headers(text, role):
    assert tables.coordinate_role(text) == role


def test_every_plant_alias_is_a_known_header():
    """The header finder knows every spelling the relocation maps (else a sheet headed so is not found)."""
    from riskmap.analysis.relocation import PLANT_FIELD_ALIASES, SENSITIVE_FIELD_ALIASES

    unknown = [k for k in (*PLANT_FIELD_ALIASES, *SENSITIVE_FIELD_ALIASES) if not tables.is_known_header(k)]
    assert unknown == []


# ---------------------------------------------------------------------------
# title rows, two-row header, totals
# ---------------------------------------------------------------------------
def _check_agency_layer(gdf):
    assert list(gdf["企业名称"]) == ["明港化工有限公司", "浉河化肥厂", "罗山县天然气储配站"]
    assert list(gdf["所属县区"]) == ["平桥区", "浉河区", "罗山县"]
    assert list(gdf["危险化学品名称"]) == ["液氯", "液氨", "液化石油气"]
    assert list(gdf["危险化学品储量(吨)"]) == [30, 15, 40]
    assert gdf.geometry.x.to_numpy() == pytest.approx([114.0712, 114.05, 114.5301])
    assert gdf.geometry.y.to_numpy() == pytest.approx([32.1201, 32.13, 32.2033])
    said = "；".join(warnings_of(gdf))
    assert "表头取自第4–5行" in said and "2 行标题" in said and "信阳市危险化学品企业名单" in said
    assert "第9行“合计”" in said and "第10行“备注：储量为最大设计储存量。”" in said
    assert gdf.attrs["riskmap"]["header_row"] == 4


def test_xlsx_title_rows_merged_header_and_total_rows(tmp_path):
    gdf = io.read_vector(write_xlsx(tmp_path / "名单.xlsx", AGENCY_ROWS, AGENCY_MERGES))
    _check_agency_layer(gdf)


@pytest.mark.parametrize("pad", [False, True])
def test_csv_title_rows_with_and_without_padding_commas(tmp_path, pad):
    gdf = io.read_vector(write_csv(tmp_path / "名单.csv", AGENCY_ROWS, encoding="gb18030", pad=pad))
    assert gdf.attrs["riskmap"]["encoding"] == "gb18030"
    _check_agency_layer(gdf)


def test_a_plain_table_gets_no_header_warning(tmp_path):
    gdf = io.read_vector(write_csv(tmp_path / "p.csv", [["name", "lon", "lat"], ["合计化工", "114.1", "32.1"]]))
    assert list(gdf["name"]) == ["合计化工"]  # a plant whose name starts with 合计 but has a location stays
    assert not [w for w in warnings_of(gdf) if "表头" in w or "合计" in w]
    assert gdf.attrs["riskmap"]["header_row"] == 1


def test_header_is_the_best_matching_row_not_the_first_text_row(tmp_path):
    rows = [["信阳市", "危险化学品", "企业名单"], ["填报单位：应急局", "日期：2026年"], ["企业名称", "地址", "经度", "纬度"],
            ["甲化工", "平桥区", "114.1", "32.1"]]
    gdf = io.read_vector(write_csv(tmp_path / "t.csv", rows))
    assert list(gdf.columns[:4]) == ["企业名称", "地址", "经度", "纬度"] and list(gdf["企业名称"]) == ["甲化工"]
    assert any("表头取自第3行" in w for w in warnings_of(gdf))


def test_bad_coordinates_are_reported_by_the_sheets_own_row_numbers(tmp_path):
    rows = [list(r) for r in AGENCY_ROWS]
    rows[6][3] = "待补"  # sheet row 7: 浉河化肥厂 without a longitude
    path = write_xlsx(tmp_path / "名单.xlsx", rows, AGENCY_MERGES)
    with pytest.raises(CoordinateError, match=r"1 row\(s\) .*lines 7\)"):
        io.read_vector(path)
    assert io.read_vector(path, skip_bad_rows=True).attrs["riskmap"]["skipped_rows"] == [7]


def test_a_sheet_of_titles_and_totals_only_is_empty(tmp_path):
    path = write_csv(tmp_path / "空.csv", [["信阳市危险化学品企业名单"], ["企业名称", "经度", "纬度"], ["合计", "", ""]])
    with pytest.raises(EmptyLayerError, match="空.csv: 表格除标题、表头和合计/备注行外没有数据行"):
        io.read_vector(path)


def test_a_missing_coordinate_column_names_the_file_and_the_columns_found(tmp_path):
    path = write_xlsx(tmp_path / "无坐标.xlsx", [["名单"], ["企业名称", "县区", "危化品"], ["甲", "平桥区", "液氯"]])
    with pytest.raises(CoordinateError, match="无坐标.xlsx: 找不到经度列.*表中的列为：企业名称、县区、危化品"):
        io.read_vector(path)


def test_cli_info_prints_the_header_warning(tmp_path):
    path = write_xlsx(tmp_path / "名单.xlsx", AGENCY_ROWS, AGENCY_MERGES)
    run = subprocess.run([sys.executable, "-m", "riskmap", "info", str(path), "--datum", "wgs84"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "表头取自第4–5行" in run.stdout and "features: 3" in run.stdout and "--datum" not in run.stdout


# ---------------------------------------------------------------------------
# aliases: the plant gets its grade
# ---------------------------------------------------------------------------
def test_join_amounts_pairs_names_and_amounts_with_the_header_unit():
    from riskmap.analysis.relocation import join_amounts

    out = join_amounts(["液氯、液氨", "1,3-丁二烯", "液氯30吨", "汽油", "", "液氯、液氨", "甲醇"],
                       ["30、15", "5", "30", "2kg", "4", "45", None], "吨")
    assert list(out) == ["液氯30吨;液氨15吨", "1,3-丁二烯5吨", "液氯30吨", "汽油2kg", "", "液氯、液氨 45", "甲醇"]


def test_agency_aliases_give_each_plant_its_inventory_and_grade(tmp_path):
    """单位名称 / 县(区) / 危化品 / 最大储存量（t） / 外部安全防护距离（m） under a title row: S by hand from
    GB 18218-2018 Table 1 — 液氯 12 t / 5 t = 2.4, 甲醇 800 t / 500 t = 1.6 (both major hazards)."""
    from riskmap.analysis.registry import ANALYSES
    from riskmap.analysis.result import run_analysis

    plants = io.read_vector(write_xlsx(tmp_path / "一览表.xlsx", ALIAS_ROWS, ("A1:H1",)), offset="wgs84")
    result = run_analysis(ANALYSES["relocation"], {"plants": plants,
                                                   "population": population_raster(tmp_path / "pop.tif")})
    out = result.layers["plants"].set_index("name")
    assert out.loc["罗山县鑫源化工有限公司", "S"] == pytest.approx(2.4)
    assert out.loc["罗山县宏达化学品仓储有限公司", "S"] == pytest.approx(1.6)
    assert bool(out.loc["罗山县鑫源化工有限公司", "major_hazard"])
    assert list(out["county"]) == ["罗山县", "罗山县"]
    assert sorted(out["safe_dist"]) == [300.0, 600.0]
    assert any("表头取自第2行" in w for w in result.provenance["warnings"])


# ---------------------------------------------------------------------------
# datum
# ---------------------------------------------------------------------------
def test_a_gcj02_header_is_converted_to_within_a_metre_of_its_wgs84_truth(tmp_path):
    lon, lat = SHANGHAI_GCJ02
    path = write_csv(tmp_path / "高德.csv", [["企业名称", "经度(GCJ-02)", "纬度(GCJ-02)"], ["甲", repr(lon), repr(lat)]])
    gdf = io.read_vector(path)
    point = gdf.geometry.iloc[0]
    assert metres(point.x, point.y, *SHANGHAI_WGS84) < 1.0
    assert metres(lon, lat, *SHANGHAI_WGS84) > 400  # the shift the conversion removed
    assert gdf.attrs["riskmap"]["offset"] == "gcj02"
    assert any("“经度(GCJ-02)”" in w and "已换算为 WGS84" in w for w in warnings_of(gdf))
    assert not any("--datum gcj02" in w for w in warnings_of(gdf))


def test_riskmaps_own_gcj02_csv_export_reads_back_in_place(tmp_path):
    """convert --gcj02 writes 经度(GCJ-02)/纬度(GCJ-02) columns; reading that file needs no option."""
    src = write_csv(tmp_path / "wgs.csv", [["name", "经度", "纬度"], ["甲", "114.0712", "32.1201"]])
    out = tmp_path / "给高德.csv"
    run = subprocess.run([sys.executable, "-m", "riskmap", "convert", str(src), str(out), "--gcj02", "--datum",
                          "wgs84"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    point = io.read_vector(out).geometry.iloc[0]
    assert metres(point.x, point.y, 114.0712, 32.1201) < 1.0


@pytest.mark.parametrize("how", ["title", "column"])
def test_a_title_or_a_coordinate_system_column_naming_amap_converts(tmp_path, how):
    truth = (114.0712, 32.1201)
    glon, glat = (float(v) for v in crs.wgs84_to_gcj02(*truth))
    if how == "title":
        rows = [["信阳市危化企业（坐标取自高德地图）"], ["企业名称", "经度", "纬度"], ["甲", glon, glat]]
    else:
        rows = [["企业名称", "经度", "纬度", "坐标系"], ["甲", glon, glat, "GCJ-02（高德）"]]
    gdf = io.read_vector(write_xlsx(tmp_path / "t.xlsx", rows))
    point = gdf.geometry.iloc[0]
    assert metres(point.x, point.y, *truth) < 1.0 and gdf.attrs["riskmap"]["offset"] == "gcj02"


def test_a_coordinate_system_column_converts_row_by_row(tmp_path):
    truths = [(114.0712, 32.1201), (114.0500, 32.1300), (114.5301, 32.2033)]
    g = [float(v) for v in crs.wgs84_to_gcj02(*truths[0])]
    b = [float(v) for v in crs.wgs84_to_bd09(*truths[1])]
    rows = [["名称", "经度", "纬度", "坐标类型"], ["甲", *g, "高德"], ["乙", *b, "百度"], ["丙", *truths[2], "GPS"]]
    gdf = io.read_vector(write_xlsx(tmp_path / "混合.xlsx", rows))
    for (x, y), point in zip(truths, gdf.geometry):
        assert metres(point.x, point.y, x, y) < 1.0
    assert any("逐行换算" in w and "GCJ-02 1 行" in w and "BD-09 1 行" in w for w in warnings_of(gdf))


def test_the_user_option_converts_and_the_inverse_transform_is_the_oracle(tmp_path):
    truth = (114.0712, 32.1201)
    glon, glat = (float(v) for v in crs.wgs84_to_gcj02(*truth))
    path = write_csv(tmp_path / "p.csv", [["企业名称", "经度", "纬度"], ["甲", repr(glon), repr(glat)]])
    point = io.read_vector(path, offset="gcj02").geometry.iloc[0]
    assert metres(point.x, point.y, *truth) < 1.0
    assert metres(glon, glat, *truth) > 300  # unconverted it would be this far off


def test_without_a_word_on_the_datum_a_table_in_china_warns_once(tmp_path):
    path = write_csv(tmp_path / "p.csv", [["企业名称", "经度", "纬度"], ["甲", "114.07", "32.12"], ["乙", "114.1", "32.2"]])
    hints = [w for w in warnings_of(io.read_vector(path)) if "--datum gcj02" in w]
    assert len(hints) == 1 and "GCJ-02" in hints[0] and "500 m" in hints[0]
    assert not [w for w in warnings_of(io.read_vector(path, offset="wgs84")) if "--datum" in w]
    abroad = write_csv(tmp_path / "paris.csv", [["name", "lon", "lat"], ["a", "2.35", "48.85"]])
    assert not [w for w in warnings_of(io.read_vector(abroad)) if "--datum" in w]


def test_the_users_datum_wins_over_the_header_with_a_warning(tmp_path):
    lon, lat = SHANGHAI_GCJ02
    path = write_csv(tmp_path / "高德.csv", [["名称", "高德经度", "高德纬度"], ["甲", repr(lon), repr(lat)]])
    gdf = io.read_vector(path, offset="wgs84")
    assert gdf.geometry.iloc[0].x == pytest.approx(lon)
    assert any("注明为 GCJ-02" in w and "WGS84" in w for w in warnings_of(gdf))


def test_an_unknown_datum_is_refused():
    with pytest.raises(CRSError, match="未知的坐标来源"):
        io.normalise_datum("北京54")


def test_cli_datum_option_and_hint(tmp_path):
    truth = (114.0712, 32.1201)
    glon, glat = (float(v) for v in crs.wgs84_to_gcj02(*truth))
    path = write_csv(tmp_path / "p.csv", [["企业名称", "经度", "纬度"], ["甲", repr(glon), repr(glat)]])
    out = tmp_path / "p.geojson"
    hint = subprocess.run([sys.executable, "-m", "riskmap", "info", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert hint.returncode == 0 and hint.stdout.count("--datum gcj02") == 1
    run = subprocess.run([sys.executable, "-m", "riskmap", "convert", str(path), str(out), "--datum", "gcj02"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    point = io.read_vector(out).geometry.iloc[0]
    assert metres(point.x, point.y, *truth) < 1.0
    bad = subprocess.run([sys.executable, "-m", "riskmap", "info", str(path), "--datum", "beijing54"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert np.isfinite(point.x)


def test_a_row_wider_than_the_first_ones_is_still_read(tmp_path):
    """pandas' fast parser fixes the width from the first rows; a wider row later falls back to the csv module."""
    rows = [["名称", "经度", "纬度"]] + [[f"甲{i}", "114.1", "32.1"] for i in range(300)]
    rows[250] = ["乙", "114.2", "32.2", "多出的一格"]
    gdf = io.read_vector(write_csv(tmp_path / "宽.csv", rows))
    assert len(gdf) == 300 and gdf["名称"].iloc[249] == "乙" and gdf.geometry.x.iloc[249] == pytest.approx(114.2)


def test_analysis_field_aliases_ignore_units_and_name_the_columns_found():
    import geopandas as gpd
    import shapely

    from riskmap.analysis.fields import apply_field_aliases
    from riskmap.errors import ParameterError

    gdf = gpd.GeoDataFrame({"尾矿库名称": ["甲"], "总库容（万m³）": [500.0]}, geometry=[shapely.Point(114, 32)], crs=4490)
    out = apply_field_aliases(gdf, {"capacity": ("总库容",)}, layer="tailings", hint="capacity")
    assert out["capacity"].tolist() == [500.0]
    with pytest.raises(ParameterError, match=r"没有字段 'dam_height'.*图层的列为：尾矿库名称, 总库容（万m³））$"):
        apply_field_aliases(gdf, {"dam_height": ("坝高",)}, layer="tailings", hint="dam height")


@pytest.mark.parametrize("system", ["gcj02", "bd09", None])
def test_the_offset_system_is_told_by_known_features(system):
    """Points of known features given in GCJ-02 / BD-09 (forward transforms) or in place."""
    ref_lon, ref_lat = np.array([114.0712, 114.05, 114.5301]), np.array([32.1201, 32.13, 32.2033])
    forward = {"gcj02": crs.wgs84_to_gcj02, "bd09": crs.wgs84_to_bd09, None: lambda x, y: (x, y)}[system]
    lon, lat = forward(ref_lon, ref_lat)
    found, raw, shifted = crs.offset_system_from_pairs(lon, lat, ref_lon, ref_lat)
    assert found == system
    if system:
        assert raw > 300 and shifted < 1.0
