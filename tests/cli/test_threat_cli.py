"""``riskmap threat`` on the sample chlorine plant: zones drawn downwind, numbers in the report, bad input → exit 2."""
from __future__ import annotations

import math

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
from report_checks import check_report

from riskmap.analysis.registry import ANALYSES
from riskmap.cli import main
from riskmap.sample import sample_path

PLANT = "信阳市淮源氯碱化工有限公司"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("threat")
    gpkg, xlsx = d / "zones.gpkg", d / "zones.xlsx"
    assert main(["threat", "--sample", "--plant", PLANT, "--chemical", "液氯", "--wind-from", "45",
                 "--release", "hole", "--hole-mm", "25", "--stability", "D", "--wind-speed", "5",
                 "--out", str(gpkg), "--report", str(xlsx)]) == 0
    return gpkg, xlsx


def _rows(sheet):
    return [[c.value for c in r] for r in sheet.iter_rows()]


def test_the_acceptance_command_writes_zones_and_report(tmp_path, capsys):
    gpkg, xlsx = tmp_path / "zones.gpkg", tmp_path / "zones.xlsx"
    assert main(["threat", "--sample", "--plant", PLANT, "--chemical", "液氯", "--wind-from", "45",
                 "--out", str(gpkg), "--report", str(xlsx)]) == 0
    assert "AEGL-3" in capsys.readouterr().out
    zones = gpd.read_file(gpkg, layer="threat_zones")
    assert sorted(zones["tier"]) == [1, 2, 3] and set(zones["hazard"]) == {"toxic"}
    check_report(xlsx, ANALYSES["threat"], {"plants": sample_path("enterprises")})


def test_zones_lie_to_the_southwest_for_a_wind_from_the_northeast(run):
    gpkg, _ = run
    zones = gpd.read_file(gpkg, layer="threat_zones")
    src = gpd.read_file(gpkg, layer="threat_source").geometry.iat[0]
    assert zones.crs.to_epsg() == 4547  # CGCS2000 3° Gauss–Krüger CM 114E
    for geom in zones.geometry:
        c = geom.centroid
        az = math.degrees(math.atan2(c.x - src.x, c.y - src.y)) % 360
        assert az == pytest.approx(225.0 - 0.056, abs=0.01)  # downwind 225° true, minus γ ≈ 0.056° at the plant
    red = zones.loc[zones["tier"] == 3].iloc[0]
    assert 500 < red["max_distance_m"] < 10000 and not red["capped"]


def test_the_report_has_the_distances_and_inputs(run):
    gpkg, xlsx = run
    zones = gpd.read_file(gpkg, layer="threat_zones").sort_values("tier", ascending=False)
    wb = openpyxl.load_workbook(xlsx)
    sheet = _rows(wb["事故后果威胁区"])
    header = sheet[0]
    assert "下风向最远距离(m)" in header and "面积(km²)" in header and "模型" in header
    col = header.index("下风向最远距离(m)")
    assert [r[col] for r in sheet[1:]] == [round(v) for v in zones["max_distance_m"]]
    assert [r[header.index("关注值")] for r in sheet[1:]] == ["AEGL-3（60 min）", "AEGL-2（60 min）", "AEGL-1（60 min）"]
    numbers = {r[0]: r[1] for r in _rows(wb["威胁区计算数据"])[1:]}
    assert numbers["泄漏源"] == PLANT and numbers["泄漏量"] == "40" and numbers["风向（风来向，真北起算）"] == "45"
    assert float(numbers["子午线收敛角γ"]) == pytest.approx(0.056, abs=0.002)
    assert numbers["毒性 AEGL-3（60 min）（20 ppm）"] == f"{zones['max_distance_m'].iat[0]:,.0f} m"
    prov = _rows(wb["来源说明"])
    assert any(r[0] == "标准" and "AEGL" in str(r[2]) for r in prov)
    assert any(r[0] == "说明" and "比空气重" in str(r[2]) for r in prov)
    assert any(r[0] == "计算值" and r[1] == "grid_convergence_deg" for r in prov)
    assert [row[0] for row in pyogrio.list_layers(gpkg)] == ["threat_zones", "threat_source"]


@pytest.mark.parametrize("args,words", [(["--plant", "无此企业"], "没有名为"),
                                        (["--chemical", "苯"], "暂无威胁区模型参数"),
                                        (["--lon", "114.1"], "经度和纬度"),
                                        (["--wind-from", "400"], "风向")])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, words):
    assert main(["threat", "--sample", *args, "--out", str(tmp_path / "z.gpkg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
