"""KML/KMZ export of the register (styled, Chinese, optional GCJ-02) and ``riskmap convert``: round trips and GDAL."""
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from riskmap import crs as crs_policy
from riskmap import io
from riskmap import kml
from riskmap.analysis import register as reg
from riskmap.cli import main
from riskmap.exports.convert import export_layer

METRIC = 4547
X0, Y0 = 460000.0, 3555000.0  # near 信阳 (114.1°E, 32.1°N)
NS = {"k": kml.KML_NS}


def road():
    return shapely.LineString([(X0, Y0), (X0 + 3000, Y0), (X0 + 3000, Y0 + 2000)])


def to_map(x, y):
    lon, lat = crs_policy.transform_xy([x], [y], METRIC, 4490)
    return float(lon[0]), float(lat[0])


def segment(a, b, **fields):
    """A segment between chainages a and b (clicked a few metres off the road)."""
    fields.setdefault("road", "X035鸡公山路")
    line = road()
    pa, pb = (shapely.line_interpolate_point(line, m) for m in (a, b))
    off = [(0, -4) if m < 3000 else (4, 0) for m in (a, b)]  # across the road, not along it
    return reg.segment_on_road(line, METRIC, to_map(pa.x + off[0][0], pa.y + off[0][1]),
                               to_map(pb.x + off[1][0], pb.y + off[1][1]), **fields)


@pytest.fixture
def register_gdf():
    r = reg.HazardRegister([
        segment(100, 400, kind="sharp_bend", status="identified", note="护栏<破损> & “缺失”"),
        segment(500, 900, kind="near_water", status="rectifying", severity="high", county="浉河区"),
        segment(2800, 3900, kind="near_cliff", status="closed", deadline="2026-06-30"),  # round the corner
    ])
    return r.to_gdf()


def metres_apart(a, b):
    """Largest distance (m) between two lon/lat geometries (Hausdorff, in the Gauss–Krüger zone)."""
    ga = crs_policy.transform_geometries(np.array([a], dtype=object), 4326, METRIC)[0]
    gb = crs_policy.transform_geometries(np.array([b], dtype=object), 4326, METRIC)[0]
    return shapely.hausdorff_distance(ga, gb)


@pytest.mark.parametrize("ext", [".kml", ".kmz"])
@pytest.mark.parametrize("gcj02", [False, True])
def test_register_round_trip(tmp_path, register_gdf, ext, gcj02):
    path = export_layer(register_gdf, tmp_path / f"隐患{ext}", name="隐患路段登记", gcj02=gcj02)
    back = io.read_vector(path)
    assert back.attrs["riskmap"]["kml_coordinates"] == ("GCJ-02" if gcj02 else "WGS84")
    assert len(back) == 3
    wgs = register_gdf.to_crs(4326)
    for i in range(3):
        assert metres_apart(back.geometry.iloc[i], wgs.geometry.iloc[i]) <= 0.5
    assert back["status"].tolist() == ["identified", "rectifying", "closed"]
    assert back["km_label"].tolist() == ["K0+100–K0+400", "K0+500–K0+900", "K2+800–K3+900"]
    np.testing.assert_allclose(back["start_m"], register_gdf["start_m"])
    assert back["note"].iloc[0] == "护栏<破损> & “缺失”"
    assert back["kml_name"].tolist() == ["急弯 X035鸡公山路 K0+100–K0+400【排查】",
                                         "临水 X035鸡公山路 K0+500–K0+900【整改中】",
                                         "临崖 X035鸡公山路 K2+800–K3+900【已销号】"]
    assert back["overdue"].dtype == bool and back["id"].tolist() == register_gdf["id"].tolist()


def _doc(path):
    data = zipfile.ZipFile(path).read("doc.kml") if str(path).endswith(".kmz") else path.read_bytes()
    return ET.fromstring(data)


def test_gcj02_is_shifted_and_labelled(tmp_path, register_gdf):
    plain = export_layer(register_gdf, tmp_path / "a.kml", name="隐患路段登记")
    mars = export_layer(register_gdf, tmp_path / "b.kml", name="隐患路段登记", gcj02=True)
    doc_plain, doc_mars = _doc(plain), _doc(mars)
    assert doc_mars.find("k:Document/k:name", NS).text == "隐患路段登记（GCJ-02 坐标）"
    assert "GCJ-02" in doc_mars.find("k:Document/k:description", NS).text
    assert "GCJ-02" not in doc_plain.find("k:Document/k:name", NS).text
    first = [doc.find(".//k:Placemark/k:LineString/k:coordinates", NS).text.split()[0] for doc in (doc_plain, doc_mars)]
    (lon0, lat0), (lon1, lat1) = [tuple(map(float, c.split(","))) for c in first]
    shift = crs_policy.geod().inv(lon0, lat0, lon1, lat1)[2]
    assert 200 < shift < 900  # GCJ-02 moves points in central China by a few hundred metres
    assert (lon0, lat0) == pytest.approx(to_map(X0 + 100, Y0), abs=2e-8)


def test_styles_by_kind_and_status(tmp_path, register_gdf):
    doc = _doc(export_layer(register_gdf, tmp_path / "s.kml"))
    styles = {s.get("id"): (s.find("k:LineStyle/k:color", NS).text, float(s.find("k:LineStyle/k:width", NS).text))
              for s in doc.iterfind(".//k:Style", NS)}
    used = [pm.find("k:styleUrl", NS).text for pm in doc.iterfind(".//k:Placemark", NS)]
    assert used == ["#sharp_bend_identified", "#near_water_rectifying", "#near_cliff_closed"]
    # KML colours are aabbggrr: 急弯 #e41a1c opaque, 临水 #1f78b4, 临崖 #6a3d9a faded once 已销号
    assert styles["sharp_bend_identified"] == ("ff1c1ae4", 4.0)
    assert styles["near_water_rectifying"] == ("ffb4781f", 6.0)
    assert styles["near_cliff_closed"] == ("6e9a3d6a", 3.0)
    desc = doc.find(".//k:Placemark/k:description", NS).text
    assert "护栏<破损> & “缺失”" in desc  # escaped in the file, intact when parsed
    raw = (tmp_path / "s.kml").read_text(encoding="utf-8")
    assert "护栏&lt;破损&gt; &amp; “缺失”" in raw


GDAL_READ = """
import json, sys, warnings
warnings.simplefilter("error")  # any warning from the read fails it
import pyogrio
info = pyogrio.read_info(sys.argv[1])
gdf = pyogrio.read_dataframe(sys.argv[1])
print(json.dumps({"driver": info["driver"], "n": len(gdf), "types": sorted(set(gdf.geom_type)),
                  "columns": list(gdf.columns), "first": gdf.iloc[0].drop("geometry").astype(str).to_dict()},
                 ensure_ascii=False))
"""


@pytest.mark.parametrize("skip, driver", [("LIBKML", "KML"), ("", "LIBKML")])
def test_gdal_reads_the_file_without_errors(tmp_path, register_gdf, skip, driver):
    """A second reader: GDAL's KML driver and its LIBKML driver (a fresh process each: GDAL_SKIP acts at start)."""
    import json
    import os
    import subprocess
    import sys

    path = export_layer(register_gdf, tmp_path / "g.kml", gcj02=True)
    env = dict(os.environ, GDAL_SKIP=skip, CPL_LOG_ERRORS="ON")
    done = subprocess.run([sys.executable, "-c", GDAL_READ, str(path)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr and "Warning" not in done.stderr, done.stderr
    out = json.loads(done.stdout)
    assert out["driver"] == driver and out["n"] == 3 and out["types"] == ["LineString"]
    assert out["first"]["Name"] == "急弯 X035鸡公山路 K0+100–K0+400【排查】"
    if driver == "LIBKML":  # LIBKML also reads the typed fields of the Schema
        assert out["first"]["status"] == "identified" and out["first"]["km_label"] == "K0+100–K0+400"


def test_other_geometries_round_trip(tmp_path):
    poly = shapely.Polygon([(114.0, 32.0), (114.1, 32.0), (114.1, 32.1), (114.0, 32.1)],
                           [[(114.02, 32.02), (114.03, 32.02), (114.03, 32.03)]])
    gdf = gpd.GeoDataFrame({"名称": ["南湾水库", "两点"], "面积": [12.5, np.nan], "编号": [1, 2]},
                           geometry=[poly, shapely.MultiPoint([(114.2, 32.2), (114.3, 32.3)])], crs=4490)
    back = io.read_vector(export_layer(gdf, tmp_path / "o.kmz", gcj02=True))
    assert back["kml_name"].tolist() == ["南湾水库", "两点"]
    assert back["编号"].tolist() == [1, 2] and np.isnan(back["面积"].iloc[1])
    for i in range(2):
        assert back.geometry.iloc[i].geom_type == gdf.geometry.iloc[i].geom_type
        assert metres_apart(back.geometry.iloc[i], gdf.to_crs(4326).geometry.iloc[i]) <= 0.5


# -- riskmap convert ----------------------------------------------------------------------
@pytest.fixture
def shp(tmp_path, register_gdf):
    path = tmp_path / "in" / "segments.shp"
    path.parent.mkdir()
    io.write_layers(path, {"segments": register_gdf[["road", "kind", "status", "km_label", "geometry"]]})
    return path


def test_convert_to_every_format(tmp_path, shp, capsys):
    outs = {ext: tmp_path / f"out{ext}" for ext in (".gpkg", ".shp", ".geojson", ".kml", ".kmz", ".csv", ".xlsx")}
    for out in outs.values():
        assert main(["convert", str(shp), str(out)]) == 0
    assert capsys.readouterr().out.count("wrote ") == len(outs)
    assert outs[".shp"].with_suffix(".cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    for ext in (".gpkg", ".shp", ".geojson", ".kml", ".kmz"):
        back = io.read_vector(outs[ext])
        assert back["road"].tolist() == ["X035鸡公山路"] * 3 and back["status"].tolist()[2] == "closed"
        assert metres_apart(back.to_crs(4326).geometry.iloc[2], gpd.read_file(shp).to_crs(4326).geometry.iloc[2]) <= 0.5
    assert gpd.read_file(outs[".geojson"]).crs.to_epsg() == 4326
    csv = pd.read_csv(outs[".csv"], encoding="utf-8-sig")
    assert list(csv.columns[:2]) == ["经度", "纬度"] and csv["road"].iloc[0] == "X035鸡公山路"
    first = shapely.from_wkt(csv["WKT"].iloc[0])
    assert shapely.intersects(first.buffer(1e-7), shapely.points(csv["经度"].iloc[0], csv["纬度"].iloc[0]))
    xlsx = pd.read_excel(outs[".xlsx"])
    assert list(xlsx.columns[:2]) == ["经度", "纬度"] and xlsx["km_label"].iloc[1] == "K0+500–K0+900"


def test_convert_gcj02_csv_is_labelled_and_shifted(tmp_path, shp):
    assert main(["convert", str(shp), str(tmp_path / "m.csv"), "--gcj02"]) == 0
    assert main(["convert", str(shp), str(tmp_path / "w.csv")]) == 0
    m = pd.read_csv(tmp_path / "m.csv", encoding="utf-8-sig")
    w = pd.read_csv(tmp_path / "w.csv", encoding="utf-8-sig")
    assert list(m.columns[:2]) == ["经度(GCJ-02)", "纬度(GCJ-02)"]
    lon, lat = crs_policy.wgs84_to_gcj02(w["经度"].to_numpy(), w["纬度"].to_numpy())
    np.testing.assert_allclose(m["经度(GCJ-02)"], lon, atol=2e-8)
    np.testing.assert_allclose(m["纬度(GCJ-02)"], lat, atol=2e-8)


def test_kml_through_convert_and_back(tmp_path, shp):
    assert main(["convert", str(shp), str(tmp_path / "m.kmz"), "--gcj02"]) == 0
    assert main(["convert", str(tmp_path / "m.kmz"), str(tmp_path / "back.gpkg")]) == 0  # shifted back on reading
    back = io.read_vector(tmp_path / "back.gpkg")
    src = gpd.read_file(shp).to_crs(4326)
    assert max(metres_apart(a, b) for a, b in zip(back.geometry, src.geometry)) <= 0.5


@pytest.mark.parametrize("args, words", [
    (["missing.shp", "out.kml"], "文件不存在"),
    (["{shp}", "out.txt"], ".gpkg"),
    (["{shp}", "out.gpkg", "--gcj02"], "GCJ-02"),
])
def test_convert_bad_input_exits_2_with_one_line(tmp_path, shp, capsys, args, words):
    args = [a.format(shp=shp) if "{" in a else (a if a.startswith("-") or "{" in a else str(tmp_path / a))
            for a in args]
    assert main(["convert", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and err.startswith("riskmap: error:")
