"""``riskmap pipelines``: layers written, parameters passed, bad input → exit 2."""
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.cli import main

GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0


@pytest.fixture
def inputs(tmp_path):
    line = gpd.GeoDataFrame({"name": ["西气东输"], "medium": ["gas"], "diam_mm": [1016.0], "press_mpa": [10.0]},
                            geometry=[shapely.LineString([(X0, Y0), (X0 + 20000, Y0)])], crs=GK).to_crs(4490)
    line.to_file(tmp_path / "pipes.gpkg")
    pop = np.zeros((60, 220), "float32")
    pop[26:34, 90:100] = 10.0  # a town of 400 people within 200 m at 8–9 km
    with rasterio.open(tmp_path / "pop.tif", "w", driver="GTiff", height=60, width=220, count=1, dtype="float32",
                       crs=GK, transform=from_origin(X0 - 1000, Y0 + 3000, 100, 100), nodata=-9999) as ds:
        ds.write(pop, 1)
    sens = gpd.GeoDataFrame({"name": ["沿线小学"], "category": ["school"]},
                            geometry=[shapely.Point(X0 + 15000, Y0 + 20)], crs=GK).to_crs(4490)
    sens.to_file(tmp_path / "sens.gpkg")
    return tmp_path


def test_writes_hca_corridors_and_encroachments(inputs, capsys):
    out = inputs / "out.gpkg"
    code = main(["pipelines", "--pipelines", str(inputs / "pipes.gpkg"), "--population", str(inputs / "pop.tif"),
                 "--sensitive", str(inputs / "sens.gpkg"), "--out", str(out), "--report", str(inputs / "r.xlsx")])
    assert code == 0
    layers = {row[0] for row in pyogrio.list_layers(out)}
    assert {"hca", "corridors", "encroachments"} <= layers
    hca = gpd.read_file(out, layer="hca")
    assert sorted(hca["hca_grade"]) == ["II", "II"] and hca.crs.to_epsg() == 4490
    enc = gpd.read_file(out, layer="encroachments")
    assert enc["name"].tolist() == ["沿线小学"] and enc["verdict"].iloc[0] == "安全间距不足"  # 20 m < 30 m
    assert (inputs / "r.xlsx").exists()
    printed = capsys.readouterr().out
    assert "高后果区 2 段" in printed and str(out) in printed


def test_parameters_reach_the_analysis(inputs):
    out = inputs / "out.gpkg"
    assert main(["pipelines", "--pipelines", str(inputs / "pipes.gpkg"), "--population", str(inputs / "pop.tif"),
                 "--class4-households", "120", "--out", str(out)]) == 0
    assert gpd.read_file(out, layer="hca")["hca_grade"].tolist() == ["III"]


def test_bad_input_exits_2_with_one_line(inputs, capsys):
    code = main(["pipelines", "--pipelines", str(inputs / "missing.shp"), "--population", str(inputs / "pop.tif"),
                 "--out", str(inputs / "o.gpkg")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.shp" in err[0]
    assert main(["pipelines", "--pipelines", str(inputs / "pipes.gpkg"), "--population", str(inputs / "pop.tif"),
                 "--step", "0", "--out", str(inputs / "o.gpkg")]) == 2
    assert main(["pipelines", "--pipelines", str(inputs / "pipes.gpkg"), "--out", str(inputs / "o.shp"),
                 "--population", str(inputs / "pop.tif")]) == 2
    assert not (inputs / "o.gpkg").exists()


def test_missing_required_input_without_sample_exits_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "riskmap.cli", "pipelines", "--out", str(tmp_path / "o.gpkg")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--pipelines" in out.stderr


def test_sample_run(tmp_path):
    from riskmap import sample

    sample.sample_path("pipelines")  # committed: missing data fails here
    sample.sample_path("population")
    out = tmp_path / "sample.gpkg"
    assert main(["pipelines", "--sample", "--out", str(out)]) == 0
    hca = gpd.read_file(out, layer="hca")
    assert len(hca) > 0 and set(hca["hca_grade"]) <= {"I", "II", "III"}
    assert len(gpd.read_file(out, layer="corridors")) > 0


def test_sample_report_is_chinese_and_city_gas_is_listed_not_graded(tmp_path):
    import openpyxl

    from report_checks import english_cells

    out, report = tmp_path / "sample.gpkg", tmp_path / "sample.xlsx"
    assert main(["pipelines", "--sample", "--out", str(out), "--report", str(report)]) == 0
    # headers, notes, reasons, verdicts and values in Chinese; criterion letters are GB 32167 row names
    assert english_cells(report, {"识别准则": r"^[a-f](,[a-f])*$"}) == []
    wb = openpyxl.load_workbook(report)
    assert [s.title for s in wb.worksheets if s.sheet_state == "visible"] == [
        "高后果区", "占压与安全间距核查", "管道适用范围", "来源说明"]
    hca_names = {r[0].value for r in wb["高后果区"].iter_rows(min_row=2)}
    scope = {r[0].value: r for r in wb["管道适用范围"].iter_rows(min_row=2)}
    mains = [n for n in scope if "燃气" in n and "支线" not in n]
    assert len(mains) == 5 and not hca_names & set(mains)  # 0.4 MPa mains: not in the HCA table
    header = [c.value for c in wb["管道适用范围"][1]]
    for name in mains:
        row = [c.value for c in scope[name]]
        assert row[header.index("高后果区识别")] == "否"
        assert row[header.index("适用标准与说明")].startswith("城镇燃气管道（GB 50028），不适用GB 32167")
    oil = [c.value for c in scope["兰郑长成品油管道信阳段"]]
    assert oil[header.index("潜在影响半径(m)")] == "不适用（输油管道）"
