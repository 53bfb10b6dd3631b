"""Reads in pieces (a worker thread gives the GIL back between them) equal a one-call read.

Random-access files (GeoPackage, FlatGeobuf) are read with skip_features/max_features; GeoJSON and KML,
which GDAL parses whole at each open, through a FlatGeobuf copy made by a child process; CSV tables in
pandas chunks. A small piece size makes every read here take several pieces. Each comparison is with
``pyogrio.read_dataframe`` (or the one-call table read): same rows, order, dtypes, geometry and CRS.
"""
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from riskmap import io

N = 23
CHUNK = 5


def mixed_frame(n: int = N, seed: int = 3):
    """Points, lines, polygons and multi-polygons, null geometries, and fields of each type with nulls."""
    rng = np.random.default_rng(seed)
    geoms = []
    for i in range(n):
        x, y = 114 + rng.uniform(0, 1), 32 + rng.uniform(0, 0.5)
        kind = i % 5
        if kind == 0:
            geoms.append(shapely.Point(x, y))
        elif kind == 1:
            geoms.append(shapely.LineString([(x, y), (x + 0.01, y + 0.02), (x + 0.03, y)]))
        elif kind == 2:
            geoms.append(shapely.box(x, y, x + 0.01, y + 0.01))
        elif kind == 3:
            geoms.append(shapely.MultiPolygon([shapely.box(x, y, x + 0.01, y + 0.01),
                                               shapely.box(x + 0.02, y, x + 0.03, y + 0.01)]))
        else:
            geoms.append(None)
    value = rng.uniform(0, 100, n).round(3)
    value[::7] = np.nan
    names = [f"企业{i}" if i % 6 else None for i in range(n)]
    return gpd.GeoDataFrame({"fid_no": np.arange(n, dtype="int64"), "count": rng.integers(0, 9, n).astype("int32"),
                             "value": value, "name": names, "flag": rng.integers(0, 2, n).astype(bool)},
                            geometry=geoms, crs=4326)


def on_worker(fn):
    """``fn()`` run on a worker thread (where riskmap reads in pieces), its result or its exception."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # re-raised on the test's thread
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture
def copies(monkeypatch):
    """How many reads went through the child process's copy (and came back with a frame)."""
    seen = []
    real = io._read_copy

    def spy(*args, **kwargs):
        gdf = real(*args, **kwargs)
        seen.append(gdf is not None)
        return gdf

    monkeypatch.setattr(io, "_read_copy", spy)
    return seen


@pytest.mark.parametrize("driver, ext", [("GeoJSON", ".geojson"), ("KML", ".kml"), ("GPKG", ".gpkg"),
                                         ("GeoJSONSeq", ".geojsonl")])
def test_a_pieced_read_equals_a_one_call_read(tmp_path, driver, ext, copies):
    path = tmp_path / f"混合{ext}"
    pyogrio.write_dataframe(mixed_frame(), path, driver=driver)
    expected = pyogrio.read_dataframe(path)
    fractions = []
    got = on_worker(lambda: io.read_dataframe_chunked(str(path), chunk=CHUNK, progress=fractions.append))
    pd.testing.assert_frame_equal(got, expected)
    assert got.crs == expected.crs and got.geometry.isna().sum() == expected.geometry.isna().sum() > 0
    assert len(fractions) >= N // CHUNK and fractions == sorted(fractions) and fractions[-1] == 1.0
    if driver != "GPKG":  # GeoJSON, KML: through the child process's copy, not the one-call fallback
        assert copies == [True]


def test_a_field_type_the_copy_lacks_falls_back_to_one_call(tmp_path, copies):
    path = tmp_path / "日期.geojson"
    gdf = mixed_frame()
    gdf["day"] = pd.to_datetime("2024-03-01") + pd.to_timedelta(np.arange(N), unit="D")
    gdf["day"] = gdf["day"].dt.strftime("%Y-%m-%d")  # GeoJSON readers type this as a Date; FlatGeobuf has none
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON")
    expected = pyogrio.read_dataframe(path)
    got = on_worker(lambda: io.read_dataframe_chunked(str(path), chunk=CHUNK))
    pd.testing.assert_frame_equal(got, expected)
    assert copies == [False]


def test_read_vector_on_a_worker_equals_the_main_thread_read(tmp_path):
    path = tmp_path / "点.geojson"
    n = 3 * io.CHUNK_FEATURES + 17
    rng = np.random.default_rng(1)
    frame = gpd.GeoDataFrame({"no": np.arange(n), "name": [f"点{i}" for i in range(n)]},
                             geometry=shapely.points(rng.uniform(114, 115, n), rng.uniform(32, 33, n)), crs=4490)
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    expected = io.read_vector(path)
    got = on_worker(lambda: io.read_vector(path))
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["riskmap"] == expected.attrs["riskmap"]


def test_riskmaps_own_kml_read_in_small_blocks_equals_one_block(tmp_path, monkeypatch):
    from riskmap import kml

    path = tmp_path / "导出.kml"
    frame = mixed_frame().dropna(subset=["geometry"]).reset_index(drop=True)
    kml.write_kml(frame.drop(columns="flag"), path, gcj02=True)
    monkeypatch.setattr(kml, "PARSE_BLOCK", 1 << 30)
    whole = kml.read_kml(path)
    monkeypatch.setattr(kml, "PARSE_BLOCK", 97)  # blocks end inside tags and inside UTF-8 characters
    fractions = []

    def read():
        with io.chunk_progress(fractions.append):
            return kml.read_kml(path)

    pieces = on_worker(read)
    pd.testing.assert_frame_equal(pieces, whole)
    assert len(fractions) > 10 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(whole) == len(frame) and whole["fid_no"].tolist() == frame["fid_no"].tolist()
    assert kml.kml_coordinates(path) == "GCJ-02" == whole.attrs["riskmap_kml_coordinates"]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temporary folder of the test's own for the copies, to see that none is left behind."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_the_copy_started_beside_the_driver_check_gives_the_same_frame(tmp_path, monkeypatch, copies, private_tmp):
    path = tmp_path / "早.geojson"
    pyogrio.write_dataframe(mixed_frame(), path, driver="GeoJSON")
    monkeypatch.setattr(io, "EARLY_COPY_BYTES", 0)
    monkeypatch.setattr(io, "CHUNK_FEATURES", CHUNK)  # the default piece size: pieces grow from it
    early, real = [], io.early_copy
    monkeypatch.setattr(io, "early_copy", lambda *a, **k: early.append(real(*a, **k)) or early[-1])
    expected = io.read_vector(path)
    got = on_worker(lambda: io.read_vector(path))
    pd.testing.assert_frame_equal(got, expected)
    assert early[0] is None and isinstance(early[1], io.LayerCopy)  # the main thread's read makes no copy
    assert copies == [True] and list(private_tmp.iterdir()) == []


def test_cancelling_during_the_copy_ends_the_child_and_leaves_nothing(tmp_path, monkeypatch, private_tmp):
    import subprocess

    from riskmap.errors import CancelledError

    path = tmp_path / "取消.geojson"
    pyogrio.write_dataframe(mixed_frame(), path, driver="GeoJSON")
    children = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        children.append(real_popen(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(subprocess, "Popen", popen)

    def cancel(fraction):
        raise CancelledError("取消")

    with pytest.raises(CancelledError):
        on_worker(lambda: io.read_dataframe_chunked(str(path), chunk=CHUNK, progress=cancel))
    assert len(children) == 1 and children[0].poll() is not None  # ended, not left running
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("newline, encoding", [("\n", "utf-8"), ("\r\n", "utf-8-sig"), ("\r\n", "gb18030")])
def test_a_table_read_in_row_pieces_equals_a_one_piece_read(tmp_path, monkeypatch, newline, encoding):
    """Title rows, blank lines, a 合计 row, a quoted field over two lines, columns whose pieces differ (ints,
    floats, blanks, a text); decoded and parsed in blocks that split characters and rows."""
    from riskmap import tables

    lines = ["信阳市企业名单（坐标：WGS84）", "", "序号,企业名称,经度,纬度,人数,储量(吨),备注"]
    for i in range(40):
        people = "" if i % 9 == 0 else str(i * 3)  # blanks in some pieces only
        amount = f"{i}.5" if i >= 30 else str(i)  # whole numbers first, decimals in the last pieces
        note = "见附件" if i == 33 else ('"两行' + newline + '备注"' if i == 12 else "")
        lines.append(f"{i + 1},企业{i}, {114 + i / 100:.4f} ,{32 + i / 200:.4f},{people},{amount},{note}")
        if i == 20:
            lines.append("")
    lines.append("合计,,,,,999,")
    path = tmp_path / "名单.csv"
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    monkeypatch.setattr(tables, "CHUNK_ROWS", 10**9)
    monkeypatch.setattr(tables, "TEXT_BLOCK", 1 << 30)
    whole = io.read_vector(path, offset="wgs84")
    monkeypatch.setattr(tables, "CHUNK_ROWS", 7)
    monkeypatch.setattr(tables, "TEXT_BLOCK", 13)  # inside characters (UTF-8, GB18030) and rows
    pieces = on_worker(lambda: io.read_vector(path, offset="wgs84"))
    pd.testing.assert_frame_equal(pieces, whole)
    assert pieces.attrs["riskmap"] == whole.attrs["riskmap"] and len(whole) == 40
    assert whole["储量(吨)"].dtype == "float64" and whole["人数"].dtype == "float64"
    assert whole["备注"].tolist().count("见附件") == 1 and whole["备注"][12] == "两行" + newline + "备注"


def test_the_head_rows_of_a_csv_are_the_first_rows_of_the_whole_text(monkeypatch):
    import csv
    import io as stdio

    from riskmap import tables

    text = "".join(f'{i},"名称{i}\r\n第二行",{"x" * (i % 17)}\r\n' for i in range(300))
    expected = list(csv.reader(stdio.StringIO(text, newline="")))
    monkeypatch.setattr(tables, "TEXT_BLOCK", 29)  # prefixes end inside rows and inside quoted fields
    assert tables._head_rows(text, 200) == expected[:200]
    assert tables._head_rows(text, 1000) == expected


def test_the_marker_is_looked_for_before_the_documents_features_only(tmp_path):
    from riskmap import kml

    head = '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
    marker = '<ExtendedData><Data name="riskmap:coordinates"><value>WGS84</value></Data></ExtendedData>'
    placemark = "<Placemark><name>a</name><Point><coordinates>114,32</coordinates></Point></Placemark>"
    for body, expected in ((marker + placemark, "WGS84"), (placemark + marker, None), (placemark, None)):
        path = tmp_path / "m.kml"
        path.write_text(head + body + "</Document></kml>", encoding="utf-8")
        assert kml.kml_coordinates(path) == expected
