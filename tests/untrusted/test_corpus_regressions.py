"""Regressions for what the roads/tailings/pipelines corpus (test_corpus.py) found, one small case each."""
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from riskmap import io
from riskmap.analysis.registry import ANALYSES
from riskmap.analysis.result import run_analysis
from riskmap.cli import main
from riskmap.errors import CoordinateError, DataFormatError

GK = 4547
X0, Y0 = 497_000.0, 3_562_000.0


def _dem(path):
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1, dtype="float32", crs=f"EPSG:{GK}",
                       transform=Affine(40, 0, X0 - 2000, 0, -40, Y0 + 2000), nodata=-9999) as ds:
        ds.write(np.linspace(300, 100, 100 * 100, dtype="float32").reshape(1, 100, 100))
    return path


@pytest.mark.parametrize("with_dem", [True, False])
def test_a_tailings_pond_without_a_location_is_graded_not_traced(tmp_path, with_dem):
    # was: ValueError (NaN → int) with a DEM, "getX called on empty Point" without
    ponds = gpd.GeoDataFrame({"name": ["无坐标库", "甲库"], "capacity": [500.0, 80.0], "dam_height": [40.0, 18.0],
                              "downstream_az": [90.0, 90.0]},
                             geometry=[shapely.MultiPoint(), shapely.Point(X0, Y0)], crs=GK)
    inputs = {"tailings": ponds, "dem": _dem(tmp_path / "dem.tif") if with_dem else None}
    t = run_analysis(ANALYSES["tailings"], inputs).layers["tailings"].set_index("name")
    assert t.loc["无坐标库", "grade"] == 4 and t.loc["甲库", "grade"] == 5  # graded by storage and height
    assert t.loc["无坐标库", "trace_stop"] == "无坐标，未追踪下游" and t.loc["无坐标库", "overhead_zh"] == "未判定"
    assert t.loc["无坐标库", "reason"] == "无坐标，未判定头顶库"
    assert t.loc["甲库", "trace_stop"] != "无坐标，未追踪下游"


def test_a_geos_error_is_one_line(monkeypatch):
    analysis = ANALYSES["tailings"]

    def fail(inputs, params, progress):
        raise shapely.errors.GEOSException("UnsupportedOperationException: getX called on empty Point\n")

    monkeypatch.setattr(analysis, "run", fail)
    ponds = gpd.GeoDataFrame({"name": ["甲"], "capacity": [1.0], "dam_height": [1.0]},
                             geometry=[shapely.Point(X0, Y0)], crs=GK)
    with pytest.raises(DataFormatError) as err:
        run_analysis(analysis, {"tailings": ponds})
    assert "\n" not in str(err.value) and "getX called on empty Point）" in str(err.value)


def test_info_on_a_dbf_is_a_one_line_error(tmp_path, capsys):
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490).to_file(
        tmp_path / "x.shp", encoding="UTF-8")
    assert main(["info", str(tmp_path / "x.dbf")]) == 2  # was: internal error KeyError '.dbf'
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("riskmap: error: ") and "不是 riskmap 能读取的矢量格式" in err


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_coordinates_beyond_the_earth_or_not_finite_are_refused(tmp_path):
    # a byte flip in a .shp made one coordinate 4e268 m: infinite length, "Maximum allowed size exceeded", 10 GB
    far = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.LineString([(X0, Y0), (X0 + 1e12, Y0)])], crs=GK)
    far.to_file(tmp_path / "far.gpkg")
    with pytest.raises(CoordinateError, match="超出地球上任何位置"):
        io.read_vector(tmp_path / "far.gpkg")
    nan = gpd.GeoDataFrame({"name": ["乙"]}, geometry=[shapely.LineString([(X0, Y0), (np.nan, Y0)])], crs=GK)
    nan.to_file(tmp_path / "nan.gpkg")
    with pytest.raises(CoordinateError, match="1 个顶点的坐标不是有限数"):
        io.read_vector(tmp_path / "nan.gpkg")
    near = gpd.GeoDataFrame({"name": ["丙"]}, geometry=[shapely.LineString([(X0, Y0), (X0 + 1e5, Y0)])], crs=GK)
    near.to_file(tmp_path / "near.gpkg")
    assert len(io.read_vector(tmp_path / "near.gpkg")) == 1


def test_km_posts_without_a_road_name_are_not_used(tmp_path):
    # pandas 3 kept the missing names as NaN beside text: np.unique failed ("'<' not supported")
    road = gpd.GeoDataFrame({"name": ["G107"], "speed_kmh": [60]},
                            geometry=[shapely.LineString([(X0, Y0), (X0 + 3000, Y0)])], crs=GK)
    posts = gpd.GeoDataFrame({"桩号": ["K12+000", "K13+000", "K14+000"], "road": ["G107", None, "G107"]},
                             geometry=shapely.points([X0, X0 + 1000, X0 + 2000], [Y0] * 3), crs=GK)
    result = run_analysis(ANALYSES["roads"], {"roads": road, "km_posts": posts})
    assert any("公里桩3个中有1个无桩号或距道路超过" in n for n in result.provenance["notes"])
    assert any("1条道路按公里桩确定桩号" in n for n in result.provenance["notes"])


def test_wide_gaussian_by_fft_equals_the_direct_filter():
    from scipy.ndimage import gaussian_filter1d

    from riskmap.analysis import roads

    values = np.cumsum(np.random.default_rng(3).normal(size=20_000))
    for sigma in (800.0, 5000.0):  # radius 3200 and 20000 samples: the FFT branch
        assert int(4 * sigma + 0.5) > roads.FFT_RADIUS
        np.testing.assert_allclose(roads._gaussian(values, sigma),
                                   gaussian_filter1d(values, sigma, mode="nearest", truncate=4.0), atol=1e-8)


def test_a_long_road_with_two_vertices_is_not_smoothed_by_direct_convolution(monkeypatch):
    # one 60 km segment: sigma = 0.6 × 60 km = 36 km = 7200 samples; directly that is 7200 × 12000 × 2 × 4 taps
    import scipy.ndimage

    real = scipy.ndimage.gaussian_filter1d

    def direct(values, sigma, **kwargs):
        assert 4 * sigma <= 2000 + 1, f"direct convolution with sigma {sigma}"
        return real(values, sigma, **kwargs)

    monkeypatch.setattr(scipy.ndimage, "gaussian_filter1d", direct)
    road = gpd.GeoDataFrame({"name": ["长直路"]}, geometry=[shapely.LineString([(X0, Y0), (X0 + 60_000, Y0)])],
                            crs=GK)
    result = run_analysis(ANALYSES["roads"], {"roads": road})
    assert "道路 60" in result.summary and len(result.layers["hazard_segments"]) == 0


def test_features_without_a_name_get_their_default_name():
    # pandas 3 kept NaN through astype(str): ", ".join(names) raised TypeError (internal error)
    from riskmap.errors import ParameterError

    lines = gpd.GeoDataFrame({"name": [None, "干线"], "medium": ["gas", "gas"], "diam_mm": [-1.0, 1016.0],
                              "press_mpa": [10.0, 10.0]},
                             geometry=[shapely.LineString([(X0, Y0), (X0 + 1000, Y0)])] * 2, crs=GK)
    with pytest.raises(ParameterError, match="请检查 管道1）"):
        run_analysis(ANALYSES["pipelines"], {"pipelines": lines})
    ponds = gpd.GeoDataFrame({"name": [None, "乙库"], "capacity": [500.0, 80.0], "dam_height": [40.0, 18.0],
                              "downstream_az": [90.0, 90.0]}, geometry=shapely.points([X0, X0 + 500], [Y0] * 2), crs=GK)
    t = run_analysis(ANALYSES["tailings"], {"tailings": ponds}).layers["tailings"]
    assert sorted(t["name"]) == ["乙库", "尾矿库1"]


def test_an_empty_part_in_a_multilinestring_does_not_crash_geos(tmp_path):
    # GEOS 3.14's line_locate_point segfaults on MULTILINESTRING (EMPTY, (…)) (accident snapping): seeds 7 and 99
    import json
    import subprocess
    import sys
    from pathlib import Path

    from riskmap.analysis.result import without_empty_parts

    roads = tmp_path / "roads.geojson"
    roads.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "G107"},
        "geometry": {"type": "MultiLineString", "coordinates": [[], [[113.96, 32.18], [113.98, 32.18]]]}}]}))
    accidents = tmp_path / "acc.geojson"
    gpd.GeoDataFrame({"date": ["2024-01-01"], "deaths": [1]}, geometry=[shapely.Point(113.97, 32.1801)],
                     crs=4490).to_file(accidents)
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-m", "riskmap", "roads", "--roads", str(roads), "--accidents",
                          str(accidents), "--out", str(tmp_path / "o.gpkg")], capture_output=True, text=True,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin"}, timeout=180)
    assert run.returncode == 0, (run.returncode, run.stderr[-500:])
    assert shapely.get_num_geometries(io.read_vector(roads).geometry.values).tolist() == [1]  # the reader drops it
    gdf = gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=shapely.from_wkt(
        ["MULTILINESTRING (EMPTY, (0 0, 10 0))", "MULTIPOINT (EMPTY, (1 1))"]), crs=GK)  # made in code
    cleaned = without_empty_parts({"roads": gdf, "none": None})
    assert shapely.to_wkt(cleaned["roads"].geometry.values).tolist() == ["MULTILINESTRING ((0 0, 10 0))",
                                                                        "MULTIPOINT ((1 1))"]
    assert cleaned["roads"].crs == gdf.crs and cleaned["none"] is None
    plain = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=GK)
    assert without_empty_parts({"x": plain})["x"] is plain  # untouched frames are not copied


def test_a_repeated_dbf_field_name_is_renamed_with_a_warning(tmp_path, capsys):
    path = tmp_path / "dup.shp"
    gpd.GeoDataFrame({"aa": [1.0], "bb": [2.0]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490).to_file(
        path, encoding="UTF-8")
    dbf = bytearray(path.with_suffix(".dbf").read_bytes())
    second = 32 + 32  # the second field descriptor
    assert dbf[second:second + 2] == b"bb"
    dbf[second:second + 2] = b"aa"
    path.with_suffix(".dbf").write_bytes(bytes(dbf))
    gdf = io.read_vector(path)  # was: AttributeError 'DataFrame' object has no attribute 'dtype' in info
    assert [c for c in gdf.columns if c != "geometry"] == ["aa", "aa_2"]
    assert gdf["aa_2"].tolist() == [2.0]
    assert main(["info", str(path)]) == 0
    assert "字段名重复（aa）" in capsys.readouterr().out


def test_run_analysis_hands_the_analysis_no_empty_parts(monkeypatch):
    analysis = ANALYSES["roads"]
    seen = {}

    def capture(inputs, params, progress):
        seen["wkt"] = shapely.to_wkt(inputs["roads"].geometry.values).tolist()
        raise DataFormatError("stop here")

    monkeypatch.setattr(analysis, "run", capture)
    roads = gpd.GeoDataFrame({"name": ["甲"]}, geometry=shapely.from_wkt(["MULTILINESTRING (EMPTY, (0 0, 10 0))"]),
                             crs=GK)
    with pytest.raises(DataFormatError, match="stop here"):
        run_analysis(analysis, {"roads": roads})
    assert seen["wkt"] == ["MULTILINESTRING ((0 0, 10 0))"]
