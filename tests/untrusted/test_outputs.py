"""Issue 18 §3: an output path that is an input file is refused with one line; inputs are never touched."""
import hashlib
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from riskmap import io
from riskmap.cli import main
from riskmap.errors import ParameterError
from riskmap.project import Project

GK = 4547


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def files(tmp_path):
    pop = tmp_path / "pop.tif"
    with rasterio.open(pop, "w", driver="GTiff", width=50, height=50, count=1, dtype="float32", crs=f"EPSG:{GK}",
                       transform=Affine(100, 0, 495_000, 0, -100, 3_565_000), nodata=-9999) as ds:
        ds.write(np.full((1, 50, 50), 10.0, np.float32))
    xy = gpd.GeoSeries(shapely.points([497_000, 498_000], [3_562_000, 3_563_000]), crs=GK).to_crs(4490)
    plants = gpd.GeoDataFrame({"name": ["甲化工", "乙化工"], "industry": ["hazchem", "hazchem"],
                               "safe_dist": [300.0, 300.0]}, geometry=xy.values, crs=4490)
    gpkg = tmp_path / "inputs.gpkg"
    io.write_layers(gpkg, {"plants": plants, "other": plants.head(1)})
    shp = tmp_path / "plants.shp"
    io.write_layers(shp, {"plants": plants})
    return {"pop": pop, "gpkg": gpkg, "shp": shp, "dir": tmp_path}


def _relocation(files, plants, *extra):
    return main(["relocation", "--plants", str(plants), "--plants-layer", "plants", "--population",
                 str(files["pop"]), *extra]) if str(plants).endswith(".gpkg") else \
        main(["relocation", "--plants", str(plants), "--population", str(files["pop"]), *extra])


def _assert_one_line_refusal(capsys, code):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "输出文件与输入文件相同" in err and "Traceback" not in err


@pytest.mark.parametrize("how", ["same", "dot", "symlink", "hardlink"])
def test_out_naming_the_input_geopackage_is_refused_and_the_input_kept(files, capsys, how, monkeypatch):
    gpkg = files["gpkg"]
    before = _digest(gpkg)
    monkeypatch.chdir(files["dir"])
    target = {"same": str(gpkg), "dot": "./inputs.gpkg", "symlink": "link.gpkg", "hardlink": "hard.gpkg"}[how]
    if how == "symlink":
        os.symlink(gpkg, files["dir"] / target)
    if how == "hardlink":
        os.link(gpkg, files["dir"] / target)
    _assert_one_line_refusal(capsys, _relocation(files, gpkg, "--out", target))
    assert _digest(gpkg) == before
    assert io.list_layers(gpkg) == ["plants", "other"]


def test_report_naming_the_input_table_or_a_shapefile_part_is_refused(files, capsys):
    plants = io.read_vector(files["shp"])
    table = files["dir"] / "企业.xlsx"
    plants.assign(经度=plants.geometry.x, 纬度=plants.geometry.y).drop(columns="geometry").to_excel(table, index=False)
    before = _digest(table)
    _assert_one_line_refusal(capsys, _relocation(files, table, "--out", str(files["dir"] / "r.gpkg"),
                                                 "--report", str(table)))
    assert _digest(table) == before
    shp = files["shp"]
    with pytest.raises(ParameterError, match="输出文件与输入文件相同"):
        io.check_output_not_input(shp.with_suffix(".dbf"), [shp])
    with pytest.raises(ParameterError, match="输出文件与输入文件相同"):
        io.check_output_not_input(shp.with_suffix(".CPG"), [shp])
    io.check_output_not_input(shp.with_name("other.dbf"), [shp])


def test_a_different_output_is_written(files, capsys):
    out = files["dir"] / "result.gpkg"
    assert _relocation(files, files["gpkg"], "--out", str(out)) == 0
    assert "plants" in io.list_layers(out)


def test_saving_a_project_over_a_layer_file_is_refused(files):
    project = Project()
    gdf = io.read_vector(files["gpkg"], "plants")
    project.add_vector(gdf, "plants", source=str(files["gpkg"]))
    project.add_raster(files["pop"], "人口")
    before = _digest(files["gpkg"])
    with pytest.raises(ParameterError, match="输出文件与输入文件相同"):
        project.save(files["gpkg"])
    with pytest.raises(ParameterError, match="输出文件与输入文件相同"):
        project.check_output(files["pop"])
    assert _digest(files["gpkg"]) == before
    saved = project.save(files["dir"] / "工程.rmp")
    assert Project.load(saved).save() == saved  # saving a project over itself stays allowed


@pytest.mark.parametrize("how", ["same", "dot", "symlink", "dbf"])
def test_convert_onto_its_input_is_refused_and_the_input_kept(files, capsys, how, monkeypatch):
    """``riskmap convert IN OUT`` (main's new command) refuses OUT = IN in one line, before reading."""
    monkeypatch.chdir(files["dir"])
    if how == "symlink":
        os.symlink(files["gpkg"], files["dir"] / "link.gpkg")
    src, target = {"same": (files["gpkg"], str(files["gpkg"])), "dot": (files["gpkg"], "./inputs.gpkg"),
                   "symlink": (files["gpkg"], "link.gpkg"), "dbf": (files["shp"], "plants.shp")}[how]
    before = {p: _digest(p) for p in (src, src.with_suffix(".dbf")) if p.exists()}
    _assert_one_line_refusal(capsys, main(["convert", str(src), target]))
    assert {p: _digest(p) for p in before} == before
    assert main(["convert", str(files["shp"]), "converted.kml"]) == 0
    capsys.readouterr()
