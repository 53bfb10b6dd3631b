"""Issue 18 §1: a file is opened with the driver its extension declares, never by its content."""
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from hostile import PASSWD_RASTER_VRT, PASSWD_VRT
from riskmap import io
from riskmap.cli import main
from riskmap.errors import DataFormatError

PASSWD = Path("/etc/passwd").read_bytes()
#: Lines of /etc/passwd long enough not to occur by chance in a page (e.g. "root:x:0:0:root:/root:/bin/bash").
PASSWD_LINES = [line for line in PASSWD.decode("utf-8", "replace").splitlines() if len(line) >= 20]


def _points(path: Path) -> Path:
    gpd.GeoDataFrame({"name": ["甲化工"]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490).to_file(path)
    return path


def test_the_passwd_vrt_really_leaks_when_opened_as_a_vrt(tmp_path):
    """The oracle works: opened explicitly as .vrt, the layer holds the lines of /etc/passwd (with a warning)."""
    vrt = tmp_path / "leak.vrt"
    vrt.write_text(PASSWD_VRT)
    gdf = io.read_vector(vrt)
    assert PASSWD_LINES[0] in set(gdf["line"])
    assert any("VRT" in w for w in gdf.attrs["riskmap"]["warnings"])


@pytest.mark.parametrize("name", ["plants.geojson", "plants.json", "plants.kml", "plants.gpkg", "plants.shp"])
def test_a_vrt_under_another_extension_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_text(PASSWD_VRT)
    if name.endswith(".shp"):
        for ext in (".shx", ".dbf"):
            path.with_suffix(ext).write_bytes(b"\x00" * 100)
    with pytest.raises(DataFormatError, match="扩展名所声明的格式"):
        io.read_vector(path)
    with pytest.raises(DataFormatError, match="扩展名所声明的格式"):
        io.list_layers(path)


def test_export_html_of_a_vrt_named_geojson_holds_no_byte_of_passwd(tmp_path, capsys):
    hostile = tmp_path / "企业.geojson"
    hostile.write_text(PASSWD_VRT)
    good = _points(tmp_path / "good.geojson")
    out = tmp_path / "map.html"
    assert main(["export-html", str(good), str(hostile), "--out", str(out), "--no-font"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "企业.geojson" in err and "扩展名所声明的格式" in err
    assert not out.exists()
    assert main(["export-html", str(good), "--out", str(out), "--no-font"]) == 0
    page = out.read_text(encoding="utf-8")
    assert not any(line in page for line in PASSWD_LINES)


def test_content_of_another_ogr_format_under_geojson_is_refused(tmp_path):
    """ESRI JSON starts with '{' too: the driver GDAL picked is checked after opening."""
    path = tmp_path / "esri.geojson"
    path.write_text('{"geometryType": "esriGeometryPoint", "spatialReference": {"wkid": 4326}, "fields": '
                    '[{"name": "a", "type": "esriFieldTypeString"}], "features": [{"attributes": {"a": "x"}, '
                    '"geometry": {"x": 114.1, "y": 32.1}}]}')
    with pytest.raises(DataFormatError, match="GeoJSON"):
        io.read_vector(path)


def test_a_geopackage_named_geojson_is_refused(tmp_path):
    gpkg = _points(tmp_path / "real.gpkg")
    fake = tmp_path / "fake.geojson"
    fake.write_bytes(gpkg.read_bytes())
    with pytest.raises(DataFormatError, match="扩展名所声明的格式"):
        io.read_vector(fake)


@pytest.mark.parametrize("source", ["/vsicurl/http://127.0.0.1:9/x.geojson", "https://example.com/x.geojson",
                                    "/vsizip//tmp/x.zip/a.shp", "/vsimem/x.geojson"])
def test_virtual_and_remote_names_are_refused(source):
    with pytest.raises(DataFormatError, match="只能打开本机文件"):
        io.read_vector(source)
    with pytest.raises(DataFormatError, match="只能打开本机文件"):
        io.open_raster(source)


def _geotiff(path: Path) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(114, 32.2, 0.01, 0.01)) as ds:
        ds.write(np.ones((1, 4, 4), "float32"))
    return path


def test_a_vrt_named_tif_is_refused_and_a_real_geotiff_opens(tmp_path):
    fake = tmp_path / "population.tif"
    fake.write_text(PASSWD_RASTER_VRT)
    with pytest.raises(DataFormatError, match="扩展名所声明的格式"):
        io.open_raster(fake)
    with pytest.raises(DataFormatError, match="扩展名所声明的格式"):
        io.describe(fake)
    with io.open_raster(_geotiff(tmp_path / "ok.tif")) as ds:
        assert ds.driver == "GTiff"


def test_a_tiff_magic_in_front_of_other_content_is_still_opened_as_gtiff_only(tmp_path):
    """Bytes that start like a TIFF but are not one fail in the GTiff driver; no other driver is tried."""
    fake = tmp_path / "dem.tif"
    fake.write_bytes(b"II*\x00" + PASSWD_RASTER_VRT.encode())
    with pytest.raises(DataFormatError):
        io.open_raster(fake)


def test_a_raster_vrt_is_not_a_raster_format(tmp_path):
    vrt = tmp_path / "population.vrt"
    vrt.write_text(PASSWD_RASTER_VRT)
    with pytest.raises(DataFormatError, match="GeoTIFF"):
        io.open_raster(vrt)


def test_refused_content_never_reaches_gdal(tmp_path, monkeypatch):
    """The declared-format check runs before any driver opens the file (opening a VRT may already read files)."""
    import pyogrio

    def forbidden(*args, **kwargs):
        raise AssertionError("GDAL was asked to open a file whose content does not match its extension")

    for name in ("list_layers", "read_info", "read_dataframe"):
        monkeypatch.setattr(pyogrio, name, forbidden)
    monkeypatch.setattr(rasterio, "open", forbidden)
    for name in ("a.geojson", "a.kml", "a.gpkg", "a.tif"):
        (tmp_path / name).write_text(PASSWD_VRT)
        with pytest.raises(DataFormatError, match="扩展名所声明的格式"):
            io.describe(tmp_path / name)
