"""Issue 18 §5: a layer of the wrong geometry kind for its role is a typed one-line error naming the layer."""
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from riskmap.analysis.registry import ANALYSES
from riskmap.analysis.result import run_analysis
from riskmap.errors import GeometryTypeError

ROOT = Path(__file__).resolve().parents[2]
GK = 4547


@pytest.fixture
def files(tmp_path):
    pop = tmp_path / "pop.tif"
    with rasterio.open(pop, "w", driver="GTiff", width=60, height=60, count=1, dtype="float32", crs=f"EPSG:{GK}",
                       transform=Affine(100, 0, 495_000, 0, -100, 3_565_000), nodata=-9999) as ds:
        ds.write(np.full((1, 60, 60), 20.0, np.float32))
    lines = gpd.GeoSeries([shapely.LineString([(496_000, 3_560_000), (500_000, 3_564_000)]),
                           shapely.LineString([(497_000, 3_561_000), (499_000, 3_561_500)])], crs=GK).to_crs(4490)
    gpd.GeoDataFrame({"name": ["甲线", "乙线"], "industry": ["hazchem"] * 2, "medium": ["gas"] * 2,
                      "pressure_mpa": [4.0] * 2, "diameter_mm": [508.0] * 2},
                     geometry=lines.values, crs=4490).to_file(tmp_path / "线.geojson")
    pts = gpd.GeoSeries(shapely.points([497_000, 498_000], [3_562_000, 3_563_000]), crs=GK).to_crs(4490)
    gpd.GeoDataFrame({"name": ["甲", "乙"], "medium": ["gas"] * 2, "pressure_mpa": [4.0] * 2,
                      "diameter_mm": [508.0] * 2}, geometry=pts.values, crs=4490).to_file(tmp_path / "点.geojson")
    return tmp_path


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "riskmap", *argv], env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"},
                          capture_output=True, text=True, timeout=120)


def test_relocation_on_a_plants_file_of_lines_exits_2_with_one_line(files):
    run = _cli("relocation", "--plants", str(files / "线.geojson"), "--population", str(files / "pop.tif"),
               "--out", str(files / "out.gpkg"))
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "线.geojson" in run.stderr and "线 2 个" in run.stderr and "只接受点或面" in run.stderr
    assert not (files / "out.gpkg").exists()


def test_pipelines_given_as_points_is_refused(files):
    run = _cli("pipelines", "--pipelines", str(files / "点.geojson"), "--out", str(files / "out.gpkg"))
    assert run.returncode == 2, run.stderr
    assert "点.geojson" in run.stderr and "点 2 个" in run.stderr and "只接受线" in run.stderr


def test_mixed_layers_and_collections_are_refused_in_the_api_too(files):
    from riskmap import io

    plants = io.read_vector(files / "线.geojson")
    mixed = plants.copy()
    mixed.loc[0, "geometry"] = shapely.GeometryCollection([shapely.Point(114.1, 32.1)])
    with pytest.raises(GeometryTypeError, match="几何集合 1 个、线 1 个|线 1 个、几何集合 1 个"):
        run_analysis(ANALYSES["relocation"], {"plants": mixed, "population": files / "pop.tif"})
    points = plants.set_geometry(shapely.line_interpolate_point(plants.geometry.values, 0.5, normalized=True))
    result = run_analysis(ANALYSES["relocation"], {"plants": points, "population": files / "pop.tif"})
    assert len(result.layers["plants"]) == 2  # the right kind runs
