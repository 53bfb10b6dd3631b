"""``riskmap relocation`` end to end on tiny files built in the test."""
import subprocess
import sys

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from riskmap.cli import main

GK = 4547
LEFT, TOP, CELL = 490_000.0, 3_570_000.0, 100.0


@pytest.fixture()
def inputs(tmp_path):
    arr = np.full((200, 200), 0.5, np.float32)
    arr[80:100, 80:100] = 80.0  # a town of 8,000 persons/km² at x 498–500 km, y 3560–3562 km
    pop = tmp_path / "人口.tif"
    with rasterio.open(pop, "w", driver="GTiff", width=200, height=200, count=1, dtype="float32",
                       crs=f"EPSG:{GK}", transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), nodata=-9999) as ds:
        ds.write(arr, 1)
    xy = gpd.GeoSeries(shapely.points([499_000, 505_000, 492_000], [3_561_000, 3_552_000, 3_555_000]),
                       crs=GK).to_crs(4490)
    table = pd.DataFrame({
        "企业名称": ["城内化工", "野外气站", "学校旁化工"],
        "行业": ["hazchem", "hazchem", "hazchem"],
        "经度": xy.x.round(7), "纬度": xy.y.round(7),
        "外部安全防护距离": [300, 400, None],
        "危险化学品及储量": ["液氯:30;液氨:20", "天然气:60", "甲醇:100"],
        "县区": ["浉河区", "平桥区", "平桥区"],
    })
    plants = tmp_path / "企业.xlsx"
    table.to_excel(plants, index=False)
    sens = tmp_path / "sensitive.gpkg"
    gpd.GeoDataFrame({"name": ["第一小学"], "category": ["school"]},
                     geometry=gpd.GeoSeries([shapely.Point(492_200, 3_555_000)], crs=GK).to_crs(4490).values,
                     crs=4490).to_file(sens)
    return {"plants": plants, "population": pop, "sensitive": sens, "dir": tmp_path}


def test_relocation_writes_layers_and_report(inputs, capsys):
    out = inputs["dir"] / "result.gpkg"
    report = inputs["dir"] / "报告.xlsx"
    code = main(["relocation", "--plants", str(inputs["plants"]), "--population", str(inputs["population"]),
                 "--sensitive", str(inputs["sensitive"]), "--out", str(out), "--report", str(report)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "评估企业 3 家，建议搬迁 2 家" in printed and "城内化工" in printed
    layers = set(gpd.list_layers(out)["name"])
    assert layers == {"plants", "zones", "dense_areas"}
    plants = gpd.read_file(out, layer="plants")
    for col in ("name", "safe_dist", "pop_exposed", "in_dense", "sensitive_n", "hazard_grade", "relocate",
                "priority", "reasons"):
        assert col in plants.columns, col
    flagged = dict(zip(plants["name"], plants["relocate"]))
    assert flagged == {"城内化工": True, "野外气站": False, "学校旁化工": True}
    town = plants.loc[plants["name"] == "城内化工"].iloc[0]
    assert town["pop_exposed"] == pytest.approx(8000 * np.pi * 0.09, rel=1e-6)
    assert "与城镇人口密集区重叠" in town["reasons"] and town["hazard_grade"] == "二级"
    assert len(gpd.read_file(out, layer="zones")) == 3
    assert len(gpd.read_file(out, layer="dense_areas")) == 1

    wb = openpyxl.load_workbook(report)
    assert [s.title for s in wb.worksheets if s.sheet_state == "visible"] == ["县区汇总", "企业明细", "来源说明"]
    header = [c.value for c in wb["企业明细"][1]]
    assert header[0] == "企业名称"
    names = [r[0].value for r in wb["企业明细"].iter_rows(min_row=2)]
    assert set(names) == {"城内化工", "野外气站", "学校旁化工"}
    prov = [(r[1].value, r[2].value) for r in wb["来源说明"].iter_rows(min_row=2)]
    assert ("plants", str(inputs["plants"].resolve())) in prov  # Chinese file name intact
    import hashlib
    assert ("plants sha256", hashlib.sha256(inputs["plants"].read_bytes()).hexdigest()) in prov


def test_parameters_change_the_result(inputs, capsys):
    out = inputs["dir"] / "strict.gpkg"
    code = main(["relocation", "--plants", str(inputs["plants"]), "--population", str(inputs["population"]),
                 "--dense-threshold", "9000", "--default-distance", "100", "--out", str(out)])
    assert code == 0
    plants = gpd.read_file(out, layer="plants")
    town = plants.loc[plants["name"] == "城内化工"].iloc[0]
    assert not town["in_dense"]  # no cell reaches 9,000 persons/km²
    assert len(gpd.read_file(out, layer="dense_areas")) == 0


def test_bad_inputs_exit_2_with_one_line(inputs, capsys, monkeypatch):
    monkeypatch.chdir(inputs["dir"])
    pop = str(inputs["population"])
    cases = [
        ("--plants", str(inputs["dir"] / "missing.shp"), "--population", pop, "--out", "o.gpkg"),
        ("--plants", str(inputs["plants"]), "--population", pop, "--out", "o.gpkg", "--dense-threshold", "-5"),
        ("--plants", str(inputs["plants"]), "--population", pop, "--out", "o.shp"),
        ("--population", pop, "--out", "o.gpkg"),
        ("--plants", str(inputs["plants"]), "--population", str(inputs["plants"]), "--out", "o.gpkg"),
    ]
    for case in cases:
        assert main(["relocation", *case]) == 2, case
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("riskmap: error:"), err
    # and as a process: no traceback
    result = subprocess.run([sys.executable, "-m", "riskmap.cli", "relocation", *cases[0]], capture_output=True,
                            text=True, cwd=inputs["dir"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "missing.shp" in result.stderr




def test_sample_run(tmp_path, capsys):
    from riskmap import sample

    sample.sample_path("enterprises"), sample.sample_path("population"), sample.truth()  # committed: must load
    out = tmp_path / "sample.gpkg"
    report = tmp_path / "sample.xlsx"
    assert main(["relocation", "--sample", "--out", str(out), "--report", str(report)]) == 0
    assert "建议搬迁" in capsys.readouterr().out
    wb = openpyxl.load_workbook(report)
    names = [r[0].value for r in wb["县区汇总"].iter_rows(min_row=2)]
    assert names[-1] == "合计" and any("县" in str(n) or "区" in str(n) for n in names[:-1])
