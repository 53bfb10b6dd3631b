import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from riskmap import io
from riskmap.errors import (CoordinateError, DataFormatError, EmptyLayerError, EncodingError,
                            MissingCRSError, MissingSidecarError)

NAMES = ["信阳市平桥区化工厂", "罗山县液氨储罐", "潢川县加油站"]


@pytest.fixture
def plants():
    return gpd.GeoDataFrame(
        {"name": NAMES, "safe_dist": [300.0, 500.0, 150.0]},
        geometry=gpd.points_from_xy([114.13, 114.51, 115.05], [32.10, 32.20, 32.13]), crs=4490)


def _write_gbk_shapefile(path, gdf, ldid=0x00):
    pyogrio.write_dataframe(gdf, path, driver="ESRI Shapefile", encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[29] = ldid
    dbf.write_bytes(bytes(raw))


def test_shapefile_utf8_with_cpg(tmp_path, plants):
    path = tmp_path / "plants.shp"
    io.write_layers(path, {"plants": plants})
    gdf = io.read_vector(path)
    assert list(gdf["name"]) == NAMES
    assert gdf.attrs["riskmap"]["encoding"] == "utf-8"
    assert gdf.crs.to_epsg() == 4490


@pytest.mark.parametrize("ldid,source", [(0x00, "content"), (0x4D, "dbf language byte"), (0x57, "content")])
def test_gbk_shapefile_without_cpg_reads_correctly(tmp_path, plants, ldid, source):
    path = tmp_path / "gbk.shp"
    _write_gbk_shapefile(path, plants, ldid)
    assert not path.with_suffix(".cpg").exists()
    assert io.detect_shapefile_encoding(path) == ("gb18030", source)
    assert list(io.read_vector(path)["name"]) == NAMES


def test_cpg_naming_936_means_gbk(tmp_path, plants):
    path = tmp_path / "gbk.shp"
    _write_gbk_shapefile(path, plants)
    path.with_suffix(".cpg").write_text("936")
    assert list(io.read_vector(path)["name"]) == NAMES


def test_unknown_encoding_is_a_clear_error(tmp_path, plants):
    path = tmp_path / "bad.shp"
    gdf = plants.copy()
    gdf["name"] = ["aaaa", "bbbb", "cccc"]
    _write_gbk_shapefile(path, gdf)
    dbf = path.with_suffix(".dbf")
    raw = dbf.read_bytes().replace(b"aaaa", b"\xff\xfe\x80\xff")
    dbf.write_bytes(raw)
    with pytest.raises(EncodingError, match="bad.shp: 属性文字的编码无法识别.*.cpg"):
        io.read_vector(path)


def test_geopackage_every_layer(tmp_path, plants):
    path = tmp_path / "two.gpkg"
    lines = gpd.GeoDataFrame({"name": ["G312"]}, geometry=[shapely.LineString([(114, 32), (115, 32.2)])], crs=4490)
    io.write_layers(path, {"plants": plants, "roads": lines})
    layers = io.read_all_layers(path)
    assert set(layers) == {"plants", "roads"}
    assert len(layers["plants"]) == 3 and layers["roads"].geom_type.iloc[0] == "LineString"


def test_geojson(tmp_path, plants):
    path = tmp_path / "p.geojson"
    io.write_layers(path, {"p": plants})
    assert list(io.read_vector(path)["name"]) == NAMES


def test_kml_and_kmz(tmp_path, plants):
    kml = tmp_path / "p.kml"
    io.write_layers(kml, {"p": plants})
    gdf = io.read_vector(kml)
    assert len(gdf) == 3 and NAMES[0] in set(gdf["Name"] if "Name" in gdf else gdf["name"])
    kmz = tmp_path / "p.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.write(kml, "doc.kml")
    assert len(io.read_vector(kmz)) == 3


def test_csv_with_chinese_headers_and_gcj02(tmp_path):
    # published WGS84/GCJ-02 pairs (googollee/eviltransform python/test.py: Shanghai, Shenzhen), as literals
    lon, lat = [121.531541859215, 113.9171764808363], [31.17530398364597, 22.540796131694766]
    frame = pd.DataFrame({"企业名称": ["甲化工", "乙化工"], "经度": lon, "纬度": lat, "外部安全防护距离": [300, 500]})
    path = tmp_path / "plants.csv"
    frame.to_csv(path, index=False, encoding="gb18030")
    gdf = io.read_vector(path, offset="高德")
    assert list(gdf["企业名称"]) == ["甲化工", "乙化工"]
    assert gdf.attrs["riskmap"]["encoding"] == "gb18030"
    assert gdf.geometry.x.to_numpy() == pytest.approx([121.5272106, 113.912316], abs=5e-6)  # < 0.5 m
    assert gdf.geometry.y.to_numpy() == pytest.approx([31.1774276, 22.543847], abs=5e-6)
    assert gdf["外部安全防护距离"].dtype.kind in "if"


def test_excel_with_lon_lat_headers(tmp_path):
    path = tmp_path / "plants.xlsx"
    pd.DataFrame({"name": ["甲"], "Longitude": [114.1], "Latitude": [32.1]}).to_excel(path, index=False)
    gdf = io.read_vector(path)
    assert gdf.crs.to_epsg() == 4326 and gdf.geometry.iloc[0].x == pytest.approx(114.1)


def test_csv_without_coordinate_columns(tmp_path):
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"name": ["甲"], "value": [1]}).to_csv(path, index=False)
    with pytest.raises(CoordinateError, match="nocoords.csv: 找不到经度列.*表中的列为：name、value"):
        io.read_vector(path)


def test_csv_bad_rows_fail_or_are_skipped(tmp_path):
    path = tmp_path / "bad_rows.csv"
    path.write_text("name,lon,lat\n甲,114.1,32.1\n乙,,32.2\n丙,abc,32.3\n", encoding="utf-8")
    with pytest.raises(CoordinateError, match="2 行坐标缺失或无效（第 3、4 行）"):
        io.read_vector(path)
    gdf = io.read_vector(path, skip_bad_rows=True)
    assert list(gdf["name"]) == ["甲"] and gdf.attrs["riskmap"]["skipped_rows"] == [3, 4]


def test_swapped_lon_lat_columns(tmp_path):
    path = tmp_path / "swapped.csv"
    path.write_text("name,lon,lat\n甲,32.1,114.1\n乙,32.2,114.5\n", encoding="utf-8")
    with pytest.raises(CoordinateError, match="swapped.csv: 列“lon”/“lat”似乎经纬度填反了"):
        io.read_vector(path)


def test_out_of_range_coordinates_in_vector_file(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(500000, 3500000)], crs=4490)
    path = tmp_path / "wrong_crs.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(CoordinateError, match="坐标超出经纬度范围"):
        io.read_vector(path)


def test_missing_shx_and_dbf(tmp_path, plants):
    path = tmp_path / "p.shp"
    io.write_layers(path, {"p": plants})
    path.with_suffix(".shx").unlink()
    with pytest.raises(MissingSidecarError, match=r"p.shp: Shapefile 缺少 \.shx 文件"):
        io.read_vector(path)
    io.write_layers(path, {"p": plants})
    path.with_suffix(".dbf").unlink()
    with pytest.raises(MissingSidecarError, match=r"缺少 \.dbf 文件"):
        io.read_vector(path)


def test_missing_prj_needs_a_crs(tmp_path, plants):
    path = tmp_path / "p.shp"
    io.write_layers(path, {"p": plants})
    path.with_suffix(".prj").unlink()
    with pytest.raises(MissingCRSError, match=r"p.shp: 文件没有坐标系，请补上 \.prj 文件"):  # the window asks for one
        io.read_vector(path)
    assert io.read_vector(path, crs="EPSG:4490").crs.to_epsg() == 4490


def test_truncated_and_corrupt_files(tmp_path, plants):
    path = tmp_path / "p.shp"
    io.write_layers(path, {"p": plants})
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(DataFormatError, match="p.shp"):
        io.read_vector(path)
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"this is not a geopackage" * 10)
    with pytest.raises(DataFormatError, match="junk.gpkg: 文件内容不是其扩展名所声明的格式"):
        io.read_vector(junk)
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"empty.geojson: 文件为空（0 字节）"):
        io.read_vector(empty)
    with pytest.raises(DataFormatError, match="nope.shp: 文件不存在，请检查路径"):
        io.read_vector(tmp_path / "nope.shp")


def test_empty_layer(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(EmptyLayerError, match="empty.geojson: 图层没有要素"):
        io.read_vector(path)


def test_invalid_geometries_repaired_and_counted(tmp_path):
    bowtie = shapely.Polygon([(114, 32), (114.1, 32.1), (114.1, 32), (114, 32.1)])
    gdf = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[bowtie, shapely.box(114, 32, 114.1, 32.1)], crs=4490)
    path = tmp_path / "bowtie.gpkg"
    pyogrio.write_dataframe(gdf, path)
    out = io.read_vector(path)
    assert out.attrs["riskmap"]["repaired"] == 1
    assert shapely.is_valid(out.geometry.values).all()


def test_unsupported_extension(tmp_path):
    path = tmp_path / "a.docx"
    path.write_bytes(b"x")
    with pytest.raises(DataFormatError, match="不是 riskmap 可读的矢量格式"):
        io.read_vector(path)


def _write_tif(path, crs_value="EPSG:4547"):
    import rasterio
    from rasterio.transform import from_origin

    data = np.arange(100, dtype="float32").reshape(10, 10)
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs=crs_value, transform=from_origin(500000, 3560000, 100, 100), nodata=-9999) as ds:
        ds.write(data, 1)


def test_geotiff_open_and_describe(tmp_path):
    path = tmp_path / "pop.tif"
    _write_tif(path)
    with io.open_raster(path) as ds:
        assert ds.read(1).sum() == pytest.approx(4950)
    info = io.describe(path)[0]
    assert info["kind"] == "raster" and "4547" in info["crs"]


def test_geotiff_without_crs_and_truncated(tmp_path):
    path = tmp_path / "nocrs.tif"
    _write_tif(path, crs_value=None)
    with pytest.raises(MissingCRSError, match="nocrs.tif: 栅格没有坐标系"):
        io.open_raster(path)
    bad = tmp_path / "cut.tif"
    _write_tif(bad)
    bad.write_bytes(bad.read_bytes()[:300])
    with pytest.raises(DataFormatError, match="cut.tif"):
        io.open_raster(bad)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, plants):
    path = tmp_path / "keep.gpkg"
    io.write_layers(path, {"p": plants})
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with io.atomic_path(path) as tmp:
            tmp.write_bytes(b"half written")
            raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.gpkg"]


def test_write_excel_keeps_chinese(tmp_path):
    import openpyxl

    path = tmp_path / "r.xlsx"
    io.write_excel(path, {"汇总": pd.DataFrame({"县区": ["浉河区"], "数量": [3]})})
    ws = openpyxl.load_workbook(path)["汇总"]
    assert ws["A2"].value == "浉河区"


# -- chunked GeoPackage writes get GDAL's R-tree spatial index -------------------------------------
def _polygons(n, seed=7):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(113.0, 116.0, n), rng.uniform(30.0, 33.0, n)
    geoms = shapely.buffer(shapely.points(x, y), rng.uniform(0.001, 0.05, n), quad_segs=2)
    geoms[5] = None
    geoms[9] = shapely.Polygon()
    return gpd.GeoDataFrame({"no": np.arange(n), "name": [f"面{i}" for i in range(n)]}, geometry=geoms, crs=4490)


def _rtree_schema(path, table="t"):
    import sqlite3

    with sqlite3.connect(path) as con:
        objects = sorted(con.execute("SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'rtree%' "
                                     "OR name = 'gpkg_extensions'"))
        extensions = con.execute("SELECT * FROM gpkg_extensions").fetchall() if objects else []
    con.close()
    return objects, extensions


def _rtree_rows(path, name="rtree_t_geom"):
    import sqlite3

    with sqlite3.connect(path) as con:
        rows = np.array(con.execute(f"SELECT id, minx, maxx, miny, maxy FROM {name} ORDER BY id").fetchall())
        check = con.execute(f"SELECT rtreecheck('{name}')").fetchone()[0]
    con.close()
    return rows, check


def test_a_chunked_geopackage_write_has_gdals_spatial_index(tmp_path):
    gdf = _polygons(3000)
    path = tmp_path / "分块.gpkg"
    io.write_dataframe_chunked(gdf, str(path), "t", chunk=400)
    assert pyogrio.read_info(path, layer="t")["capabilities"]["fast_spatial_filter"]
    # the same objects, triggers and extension row as GDAL's own SPATIAL_INDEX=YES, and the same entries
    reference = tmp_path / "gdal.gpkg"
    pyogrio.write_dataframe(gdf, reference, layer="t", driver="GPKG", geometry_type="Polygon")
    assert _rtree_schema(path) == _rtree_schema(reference) and _rtree_schema(path)[1]
    rows, check = _rtree_rows(path)
    assert check == "ok"
    assert np.array_equal(rows, _rtree_rows(reference)[0])
    # one entry per non-empty geometry, its box shapely's bounds rounded outwards to float32
    present = ~(shapely.is_missing(gdf.geometry.values) | shapely.is_empty(gdf.geometry.values))
    bounds = shapely.bounds(gdf.geometry.values[present])
    assert rows[:, 0].tolist() == (np.flatnonzero(present) + 1).tolist()
    boxes = rows[:, [1, 3, 2, 4]]  # minx, miny, maxx, maxy
    assert (boxes[:, :2] <= bounds[:, :2]).all() and (boxes[:, 2:] >= bounds[:, 2:]).all()
    # SQLite moves a double that float32 rounds the wrong way by a factor 1 ± 2**-23: at most 2 float32 steps
    assert (np.abs(boxes - bounds) <= 2 * np.spacing(np.abs(bounds).astype(np.float32))).all()
    # GDAL reads through the index what a shapely filter finds
    window = (114.0, 31.0, 114.6, 31.5)
    got = pyogrio.read_dataframe(path, layer="t", bbox=window)
    expected = gdf[present & shapely.intersects(gdf.geometry.values, shapely.box(*window))]
    assert len(expected) > 20 and sorted(got["no"]) == sorted(expected["no"])


def test_the_index_of_a_chunked_write_on_a_worker_thread_follows_later_edits(tmp_path):
    import threading

    gdf = _polygons(io.CHUNK_FEATURES + 500)
    path = tmp_path / "worker.gpkg"
    failures = []

    def write():
        try:
            io.write_dataframe_chunked(gdf, str(path), "t")  # default chunk size: chunked off the main thread
        except Exception as exc:  # the assertion below reports it
            failures.append(exc)

    worker = threading.Thread(target=write)
    worker.start()
    worker.join()
    assert failures == []
    more = _polygons(50, seed=8)
    pyogrio.write_dataframe(more, path, layer="t", driver="GPKG", append=True)  # GDAL's triggers on our table
    rows, check = _rtree_rows(path)
    assert check == "ok" and len(rows) == len(gdf) - 2 + len(more) - 2
    window = (113.5, 30.5, 114.0, 31.0)
    everything = pd.concat([gdf, more], ignore_index=True)
    expected = everything[shapely.intersects(everything.geometry.values, shapely.box(*window)).astype(bool)]
    got = pyogrio.read_dataframe(path, layer="t", bbox=window)
    assert sorted(zip(got["no"], got["name"])) == sorted(zip(expected["no"], expected["name"]))


def test_a_chunked_write_asked_for_no_index_or_appending_to_a_layer_builds_none(tmp_path):
    gdf = _polygons(1200)
    path = tmp_path / "无索引.gpkg"
    io.write_dataframe_chunked(gdf, str(path), "t", chunk=300, layer_options={"SPATIAL_INDEX": "NO"})
    assert _rtree_schema(path) == ([], [])
    io.write_dataframe_chunked(gdf, str(path), "t", chunk=300, append=True)  # more rows of the same layer
    assert _rtree_schema(path) == ([], []) and pyogrio.read_info(path, layer="t")["features"] == 2400
    io.write_dataframe_chunked(gdf, str(path), "u", chunk=300, append=True)  # a new layer in the file
    assert [row[1] for row in _rtree_schema(path)[0] if row[0] == "table"][0] == "gpkg_extensions"
    assert pyogrio.read_info(path, layer="u")["capabilities"]["fast_spatial_filter"]
    assert not pyogrio.read_info(path, layer="t")["capabilities"]["fast_spatial_filter"]


@pytest.mark.parametrize("n", [30, 2700])  # a root that is a leaf; a tree three levels deep
def test_the_index_of_a_chunked_point_layer_equals_gdals(tmp_path, n):
    rng = np.random.default_rng(n)
    gdf = gpd.GeoDataFrame({"no": np.arange(n)}, geometry=shapely.points(rng.uniform(-180, 180, n),
                                                                         rng.uniform(-90, 90, n)), crs=4326)
    path, reference = tmp_path / "点.gpkg", tmp_path / "gdal.gpkg"
    io.write_dataframe_chunked(gdf, str(path), "t", chunk=10 if n < 100 else 1000)
    pyogrio.write_dataframe(gdf, reference, layer="t", driver="GPKG")
    rows, check = _rtree_rows(path)
    assert check == "ok" and len(rows) == n and np.array_equal(rows, _rtree_rows(reference)[0])
    assert _rtree_schema(path) == _rtree_schema(reference)


def test_without_sqlites_rtree_module_a_chunked_write_is_left_unindexed(tmp_path, monkeypatch):
    import sqlite3

    connect = sqlite3.connect

    class NoRtree:  # Python's sqlite3 as some builds have it: CREATE VIRTUAL TABLE … USING rtree fails
        def __init__(self, *args, **kwargs):
            self.con = connect(*args, **kwargs)

        def execute(self, sql, *args):
            if "USING rtree" in sql:
                raise sqlite3.OperationalError("no such module: rtree")
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(io.sqlite3, "connect", NoRtree)
    gdf = _polygons(900)
    path = tmp_path / "无模块.gpkg"
    io.write_dataframe_chunked(gdf, str(path), "t", chunk=300)
    monkeypatch.undo()
    assert _rtree_schema(path) == ([], [])
    back = pyogrio.read_dataframe(path, layer="t")
    assert back["no"].tolist() == gdf["no"].tolist()


def test_a_chunked_layer_without_any_geometry_gets_an_empty_index(tmp_path):
    gdf = gpd.GeoDataFrame({"no": np.arange(40)}, geometry=[None] * 20 + [shapely.Point()] * 20, crs=4326)
    path, reference = tmp_path / "空.gpkg", tmp_path / "gdal.gpkg"
    io.write_dataframe_chunked(gdf, str(path), "t", chunk=10)
    pyogrio.write_dataframe(gdf, reference, layer="t", driver="GPKG", geometry_type="Point")
    assert _rtree_rows(path)[1] == "ok" and len(_rtree_rows(path)[0]) == 0
    assert _rtree_schema(path) == _rtree_schema(reference)


@pytest.mark.parametrize("column", ["FID", "fid", "Fid"])
def test_a_column_named_fid_stays_a_field_in_geopackages(tmp_path, column):
    """GDAL takes a field named like the FID column for the FIDs: the column vanished on reopen and a
    chunked write failed on its second piece. It stays the user's field, with its own values."""
    import sqlite3

    from riskmap.project import Project

    n = 7000
    values = np.arange(n) * 3 + 11
    gdf = gpd.GeoDataFrame({column: values, "名称": [f"点{i}" for i in range(n)]},
                           geometry=shapely.points(np.linspace(114, 115, n), np.linspace(32, 33, n)), crs=4326)
    pieces = tmp_path / "pieces.gpkg"
    io.write_dataframe_chunked(gdf, str(pieces), "t", chunk=2500)  # three appended pieces
    back = pyogrio.read_dataframe(pieces)
    assert list(back.columns) == [column, "名称", "geometry"]
    np.testing.assert_array_equal(back[column], values)
    with sqlite3.connect(pieces) as con:  # and the layer still gets its R-tree
        assert con.execute("SELECT count(*) FROM rtree_t_geom").fetchone()[0] == n
    result = tmp_path / "result.gpkg"
    io.write_layers(result, {"plants": gdf.iloc[:50]})
    np.testing.assert_array_equal(pyogrio.read_dataframe(result)[column], values[:50])
    project = Project()
    project.add_vector(gdf.iloc[:20], "层", layer_id="x")
    project.save(tmp_path / "p.rmp")
    reopened = Project.load(tmp_path / "p.rmp").layers.by_id("x").gdf
    np.testing.assert_array_equal(reopened[column], values[:20])


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_refused_before_reading(tmp_path, kind):
    """Reading a named pipe blocks until a writer comes (for ever); /dev/zero never ends."""
    import os
    from pathlib import Path

    path = tmp_path / "plants.geojson"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(DataFormatError, match="不是普通文件"):
        io.read_vector(Path(path))
    raster = tmp_path / "pop.tif"
    raster.symlink_to("/dev/zero")
    with pytest.raises(DataFormatError, match="不是普通文件"):
        io.open_raster(raster)
