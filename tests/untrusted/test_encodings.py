"""Issue 18 §8: attribute encodings from .cpg spellings and DBF language bytes — a known-answer table.

Each case writes a one-record DBF whose bytes are known (GBK 中文, cp1252/latin-1 é, UTF-8), then
sets the .cpg text and the LDID byte (offset 29) and checks the decoded value.
"""
import geopandas as gpd
import pyogrio
import pytest
import shapely

from riskmap import io

ZH, FR = "信阳市化工厂", "Café Élise"

#: (text written, codec of the bytes, .cpg content or None, LDID byte, expected codec family)
CASES = [
    (ZH, "gbk", "936", 0x00, "gb18030"),
    (ZH, "gbk", "GBK", 0x00, "gb18030"),
    (ZH, "gbk", "ANSI 936", 0x00, "gb18030"),
    (ZH, "gbk", "CP936", 0x00, "gb18030"),
    (ZH, "gbk", "GB2312", 0x00, "gb18030"),
    (ZH, "utf-8", "UTF8", 0x00, "utf-8"),
    (ZH, "utf-8", "UTF-8", 0x00, "utf-8"),
    (ZH, "utf-8", "65001", 0x00, "utf-8"),
    (FR, "cp1252", "1252", 0x00, "cp1252"),
    (FR, "cp1252", "CP1252", 0x00, "cp1252"),
    (FR, "cp1252", "ANSI 1252", 0x00, "cp1252"),
    (FR, "iso-8859-1", "88591", 0x00, "cp1252"),
    (FR, "iso-8859-1", "ISO-8859-1", 0x00, "cp1252"),
    (ZH, "gbk", None, 0x4D, "gb18030"),      # LDID 0x4D = code page 936
    (ZH, "gbk", None, 0x57, "gb18030"),      # LDID 0x57 = "ANSI": try UTF-8, then GBK
    (ZH, "gbk", None, 0x00, "gb18030"),      # no LDID: the same
    (ZH, "utf-8", None, 0x00, "utf-8"),
    (FR, "cp1252", None, 0x03, "cp1252"),    # LDID 0x03 = Windows ANSI 1252
    (FR, "cp1252", None, 0x58, "cp1252"),
    (ZH, "gbk", "UTF-8", 0x00, "gb18030"),   # a .cpg the bytes contradict gives way to the content
    (ZH, "gbk", "ANSI", 0x4D, "gb18030"),    # bare "ANSI" names no code page: the LDID decides
]


def _shapefile(path, text, codec, cpg, ldid):
    gdf = gpd.GeoDataFrame({"name": [text]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490)
    pyogrio.write_dataframe(gdf, path, driver="ESRI Shapefile", encoding=codec)
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    assert text.encode(codec) in raw  # the known bytes are there
    raw[29] = ldid
    dbf.write_bytes(bytes(raw))
    path.with_suffix(".cpg").unlink(missing_ok=True)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    return path


@pytest.mark.parametrize("text,codec,cpg,ldid,expected", CASES,
                         ids=[f"{c[1]}-cpg={c[2]}-ldid={c[3]:#04x}" for c in CASES])
def test_known_answer(tmp_path, text, codec, cpg, ldid, expected):
    path = _shapefile(tmp_path / "t.shp", text, codec, cpg, ldid)
    found, _source = io.detect_shapefile_encoding(path)
    assert found == expected
    assert list(io.read_vector(path)["name"]) == [text]


def test_the_table_beats_plain_gdal(tmp_path):
    """Plain GDAL (pyogrio without an encoding) on the same files gets fewer right than riskmap."""
    ours = gdal = 0
    for i, (text, codec, cpg, ldid, _expected) in enumerate(CASES):
        path = _shapefile(tmp_path / f"t{i}.shp", text, codec, cpg, ldid)
        ours += list(io.read_vector(path)["name"]) == [text]
        try:
            gdal += list(pyogrio.read_dataframe(path)["name"]) == [text]
        except Exception:
            pass
    assert ours == len(CASES) and gdal < ours
