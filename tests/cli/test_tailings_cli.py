"""``riskmap tailings``: layers written, facilities and parameters, bad input → exit 2."""
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
DAM = (X0 + 1500, Y0)


@pytest.fixture
def inputs(tmp_path):
    nx, ny, cell = 200, 120, 30.0
    xs = X0 + (np.arange(nx) + 0.5) * cell
    ys = (Y0 + ny / 2 * cell) - (np.arange(ny) + 0.5) * cell
    X, Y = np.meshgrid(xs, ys)
    z = 300 - 0.03 * (X - X0) + 0.15 * np.abs(Y - Y0)  # valley draining east
    with rasterio.open(tmp_path / "dem.tif", "w", driver="GTiff", height=ny, width=nx, count=1, dtype="float32",
                       crs=GK, transform=from_origin(X0, Y0 + ny / 2 * cell, cell, cell), nodata=-9999) as ds:
        ds.write(z.astype("float32"), 1)
    pop = np.zeros((40, 80), "float32")
    pop[19:21, 27:29] = 25.0  # a village 800 m east (downstream) of the first dam
    with rasterio.open(tmp_path / "pop.tif", "w", driver="GTiff", height=40, width=80, count=1, dtype="float32",
                       crs=GK, transform=from_origin(X0 - 500, Y0 + 2000, 100, 100), nodata=-9999) as ds:
        ds.write(pop, 1)
    ponds = gpd.GeoDataFrame(
        {"name": ["头顶库甲", "远库乙"], "capacity": [500.0, 20000.0], "dam_height": [40.0, 20.0],
         "downstream_az": [90.0, 90.0]},
        geometry=[shapely.Point(*DAM), shapely.Point(X0 + 4000, Y0 + 1000)], crs=GK).to_crs(4490)
    ponds.to_file(tmp_path / "ponds.gpkg")
    school = gpd.GeoDataFrame({"name": ["坡下小学"], "category": ["school"]},
                              geometry=[shapely.Point(X0 + 4050, Y0 + 400)], crs=GK).to_crs(4490)  # 600 m downslope
    school.to_file(tmp_path / "school.gpkg")
    return tmp_path


def test_writes_tailings_and_corridor_layers(inputs, capsys):
    out = inputs / "out.gpkg"
    code = main(["tailings", "--tailings", str(inputs / "ponds.gpkg"), "--dem", str(inputs / "dem.tif"),
                 "--population", str(inputs / "pop.tif"), "--out", str(out), "--report", str(inputs / "t.xlsx")])
    assert code == 0
    layers = {row[0] for row in pyogrio.list_layers(out)}
    assert {"tailings", "corridors", "paths", "facilities"} <= layers
    t = gpd.read_file(out, layer="tailings")
    assert t["overhead"].astype(bool).tolist() == [True, False]
    assert t["grade"].tolist() == [4, 3]
    assert len(gpd.read_file(out, layer="corridors")) == 2
    assert (inputs / "t.xlsx").exists()
    assert "头顶库 1 座（头顶库甲）" in capsys.readouterr().out
    assert t["raise_note"].tolist() == ["需论证是否提等", ""]  # a grade-四 头顶库; the other is not one


def test_facilities_flag_and_parameters(inputs):
    out = inputs / "out.gpkg"
    assert main(["tailings", "--tailings", str(inputs / "ponds.gpkg"), "--dem", str(inputs / "dem.tif"),
                 "--population", str(inputs / "pop.tif"), "--facilities", str(inputs / "school.gpkg"),
                 "--min-people", "500", "--out", str(out)]) == 0
    t = gpd.read_file(out, layer="tailings")
    assert t["overhead"].astype(bool).tolist() == [False, True]  # too few people; a school below the second dam
    assert "坡下小学" in t["downstream_facilities"].iloc[1]
    assert main(["tailings", "--tailings", str(inputs / "ponds.gpkg"), "--rules", "gb39496",
                 "--grade1-capacity", "15000", "--out", str(out)]) == 0
    t = gpd.read_file(out, layer="tailings")
    # GB 39496-2020 by default computes no grade 一 (its bounds are unconfirmed): 20000 → 二 by
    # storage, 五 by height → more than one apart → 二 lowered by one = 三
    assert t["grade"].tolist() == [4, 3]
    assert main(["tailings", "--tailings", str(inputs / "ponds.gpkg"), "--grade1-bounds",
                 "--grade1-capacity", "15000", "--out", str(out)]) == 0
    t = gpd.read_file(out, layer="tailings")
    assert t["grade"].tolist() == [4, 2]  # 20000 ≥ 15000 → 1 by storage, 5 by height → lowered by one


def test_bad_input_exits_2(inputs, capsys):
    assert main(["tailings", "--tailings", str(inputs / "nope.gpkg"), "--out", str(inputs / "o.gpkg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.gpkg" in err[0]
    assert main(["tailings", "--tailings", str(inputs / "ponds.gpkg"), "--half-width", "-5",
                 "--out", str(inputs / "o.gpkg")]) == 2
    broken = inputs / "dem_broken.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 64)
    assert main(["tailings", "--tailings", str(inputs / "ponds.gpkg"), "--dem", str(broken),
                 "--out", str(inputs / "o.gpkg")]) == 2
    assert not (inputs / "o.gpkg").exists()


def test_missing_tailings_without_sample_exits_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "riskmap.cli", "tailings", "--out", str(tmp_path / "o.gpkg")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "--tailings" in out.stderr


def test_sample_run_flags_the_placed_overhead_ponds(tmp_path):
    from riskmap import sample

    sample.sample_path("tailings")  # committed: missing data fails here
    truth = sample.truth()
    out = tmp_path / "sample.gpkg"
    assert main(["tailings", "--sample", "--out", str(out)]) == 0
    t = gpd.read_file(out, layer="tailings")
    expected = truth["overhead_tailings"]
    flagged = t.loc[t["overhead"].astype(bool)]
    key = "id" if expected and isinstance(expected[0], int) and "id" in t.columns else "name"
    assert sorted(map(str, flagged[key])) == sorted(map(str, expected))


def test_sample_report_is_chinese_and_cites_gb39496(tmp_path):
    import openpyxl

    from report_checks import english_cells

    out, report = tmp_path / "sample.gpkg", tmp_path / "sample.xlsx"
    assert main(["tailings", "--sample", "--out", str(out), "--report", str(report)]) == 0
    assert english_cells(report) == []
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(report)["来源说明"].iter_rows(min_row=2)]
    standards = " ".join(r[2] for r in rows if r[0] == "标准")
    assert "GB 39496-2020" in standards and "GB 50863-2013 §3.2.1" in standards and "3.3.1" not in standards
    params = {r[1]: r for r in rows if r[0] == "参数"}
    assert params["定等标准 (rules)"][2] == "gb39496" and "GB 39496-2020" in params["定等标准 (rules)"][4]
