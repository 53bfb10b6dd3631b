"""Issue 18 §7: library warnings never print before riskmap's own line; they are folded into it."""
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely

ROOT = Path(__file__).resolve().parents[2]


def _info(path):
    return subprocess.run([sys.executable, "-m", "riskmap", "info", str(path)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"}, timeout=120)


def test_not_georeferenced_warning_is_folded_into_the_error_line(tmp_path):
    path = tmp_path / "无坐标.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as ds:
        ds.write(np.ones((1, 4, 4), "uint8"))
    run = _info(path)
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("riskmap: error: ")
    assert "栅格没有坐标系" in lines[0] and "no geotransform" in lines[0]  # folded, after ours


def test_gdal_warning_1_is_folded_into_the_error_line(tmp_path):
    path = tmp_path / "坏坐标.gpkg"
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490).to_file(path)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE gpkg_spatial_ref_sys SET definition = 'junk', organization = 'x', "
                    "organization_coordsys_id = 1 WHERE srs_id = 4490")
    con.close()
    run = _info(path)
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("riskmap: error: ") and "Unable to parse" in lines[0]

