import math
import os
import signal
import subprocess
import sys
import textwrap

import geopandas as gpd
import numpy as np
import pytest
import shapely

from riskmap.errors import ProjectError
from riskmap.layers import Style, categorized
from riskmap.project import Project


def _project(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    tif = tmp_path / "dem.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=20, height=20, count=1, dtype="float32", crs="EPSG:4547",
                       transform=from_origin(500000, 3560000, 100, 100)) as ds:
        ds.write(np.ones((20, 20), "float32"), 1)
    project = Project()
    project.add_raster(tif, "地形")
    plants = gpd.GeoDataFrame({"name": ["甲", "乙"], "industry": ["hazchem", "fireworks"]},
                              geometry=[shapely.Point(114.0, 32.0), shapely.Point(114.2, 32.1)], crs=4490)
    layer = project.add_vector(plants, "企业", style=categorized("industry", plants["industry"]))
    layer.aliases = {"name": "企业名称"}
    layer.opacity = 0.5
    project.add_vector(gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.LineString([(114, 32), (114.3, 32.2)])],
                                        crs=4490), "道路", style=Style(color="#ff0000", width=2), visible=False)
    project.set_extent((113.9, 31.9, 114.3, 32.2))
    project.approval_number = "豫S(2026)001号"
    return project


def test_save_and_reopen_round_trip(tmp_path):
    project = _project(tmp_path)
    assert project.modified
    path = project.save(tmp_path / "demo.rmp")
    assert not project.modified
    again = Project.load(path)
    assert [l.name for l in again.layers] == ["地形", "企业", "道路"]
    assert [l.kind for l in again.layers] == ["raster", "vector", "vector"]
    assert [l.visible for l in again.layers] == [True, True, False]
    assert again.layers[1].style == project.layers[1].style
    assert again.layers[1].opacity == 0.5
    assert again.layers[1].aliases == {"name": "企业名称"}
    assert list(again.layers[1].gdf["name"]) == ["甲", "乙"]
    assert again.extent == pytest.approx(project.extent)
    assert again.approval_number == "豫S(2026)001号"
    assert [l.id for l in again.layers] == [l.id for l in project.layers]


def test_raster_path_is_relative_so_project_folders_move(tmp_path):
    project = _project(tmp_path)
    project.save(tmp_path / "demo.rmp")
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    os.rename(tmp_path, moved)
    try:
        assert Project.load(moved / "demo.rmp").layers[0].name == "地形"
    finally:
        os.rename(moved, tmp_path)


def test_bad_project_files(tmp_path):
    junk = tmp_path / "junk.rmp"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ProjectError, match="junk.rmp: 不是 riskmap 工程文件"):
        Project.load(junk)
    with pytest.raises(ProjectError, match="missing.rmp: 工程文件不存在"):
        Project.load(tmp_path / "missing.rmp")


def test_killed_save_leaves_previous_project_intact(tmp_path):
    project = _project(tmp_path)
    path = project.save(tmp_path / "demo.rmp")
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import sys, time
        import geopandas as gpd, shapely
        import riskmap.project as rp
        p = rp.Project.load({str(path)!r})
        p.add_vector(gpd.GeoDataFrame({{"k": range(5000)}},
                     geometry=[shapely.Point(114 + i * 1e-4, 32) for i in range(5000)], crs=4490), "新图层")
        real = rp._write_vectors
        def slow(tmp, vectors):
            real(tmp, vectors)          # the temporary file is fully written ...
            print("WRITING", flush=True)
            time.sleep(60)              # ... and the process is killed before the rename
        rp._write_vectors = slow
        p.save({str(path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "WRITING"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert path.read_bytes() == before
    assert [l.name for l in Project.load(path).layers] == ["地形", "企业", "道路"]


def test_layer_events_mark_project_modified(tmp_path):
    project = _project(tmp_path)
    project.save(tmp_path / "p.rmp")
    seen = []
    project.events.modified.connect(lambda modified: seen.append(modified))
    project.layers[1].visible = False
    assert project.modified and seen == [True]
    project.layers.move(0, 2)
    assert project.layers[2].name == "地形"


def test_full_extent_skips_layers_without_features():
    """An emptied layer (e.g. every candidate accepted) has no extent and never spoils 全图 (issue 19)."""
    import geopandas as gpd
    import shapely

    project = Project()
    empty = project.add_vector(gpd.GeoDataFrame({"a": []}, geometry=[], crs=4490), "空图层")
    assert all(math.isnan(v) for v in empty.extent())
    assert project.full_extent() is None
    project.add_vector(gpd.GeoDataFrame({"a": [1, 2]}, geometry=[shapely.Point(114, 32), shapely.Point(115, 33)],
                                        crs=4490), "点")
    assert project.layers.index(empty) == 0  # the empty layer is met first
    assert project.full_extent() == pytest.approx((114.0, 32.0, 115.0, 33.0))
