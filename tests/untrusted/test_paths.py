"""Issue 18 §4: every file name a user can type saves and reopens (pyogrio and SQLite URIs are not paths)."""
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from riskmap import io
from riskmap.cli import main
from riskmap.project import Project

NAMES = ["会议#1", "a?b", "50%", "a;b", "x!y", "带 空格 的名字", "%23", "q&r=1", "报告!.zip", "a#b?c%d;e!f 中"]


@pytest.fixture
def layer():
    return gpd.GeoDataFrame({"name": ["甲化工", "乙化工"], "n": [1, 2]},
                            geometry=[shapely.Point(114.1, 32.1), shapely.Point(114.2, 32.2)], crs=4490)


def _raster(path):
    with rasterio.open(path, "w", driver="GTiff", width=3, height=3, count=1, dtype="float32", crs="EPSG:4490",
                       transform=Affine(0.01, 0, 114, 0, -0.01, 32.3)) as ds:
        ds.write(np.arange(9, dtype="float32").reshape(1, 3, 3))
    return path


@pytest.mark.parametrize("stem", NAMES)
def test_project_saves_and_reopens(tmp_path, layer, stem):
    folder = tmp_path / stem  # the folder name too
    folder.mkdir()
    project = Project()
    project.add_vector(layer, "企业")
    project.add_raster(_raster(folder / f"{stem}.tif"), "人口")
    saved = project.save(folder / f"{stem}.rmp")
    assert saved.name == f"{stem}.rmp"
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{stem}.rmp", f"{stem}.tif"])  # nothing beside
    back = Project.load(saved)
    assert [lyr.name for lyr in back.layers] == ["人口", "企业"]
    assert list(back.layers[1].gdf["name"]) == ["甲化工", "乙化工"]
    assert back.layers[0].path.name == f"{stem}.tif"


@pytest.mark.parametrize("ext", [".geojson", ".gpkg", ".shp", ".kml"])
@pytest.mark.parametrize("stem", NAMES)
def test_vector_files_write_and_read_back(tmp_path, layer, stem, ext):
    path = tmp_path / f"{stem}{ext}"
    io.write_layers(path, {"企业": layer})
    others = sorted(p.name for p in tmp_path.iterdir() if p.stem != stem)
    assert others == []  # no stray file written under a cut-off name (e.g. "a" for "a;b")
    back = io.read_vector(path)
    assert len(back) == 2
    assert ext == ".kml" or list(back["name"]) == ["甲化工", "乙化工"]  # KML keeps "name" as its own Name
    assert io.list_layers(path) == ([stem] if ext == ".shp" else ["企业"])


@pytest.mark.parametrize("stem", ["会议#1", "a;b", "50%", "x!y"])
def test_cli_reads_and_writes_such_names(tmp_path, layer, stem, capsys):
    src = tmp_path / f"{stem}.geojson"
    io.write_layers(src, {"x": layer})
    out = tmp_path / f"{stem}.html"
    assert main(["export-html", str(src), "--out", str(out), "--no-font"]) == 0
    assert out.exists()
    capsys.readouterr()
    assert main(["info", str(src)]) == 0
    assert "features: 2" in capsys.readouterr().out
