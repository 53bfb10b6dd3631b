"""Issue 16: a shapefile cut short (or whose parts disagree) is refused in one line before GDAL reads it.

The damaged files are copies of the bundled sample, cut with plain byte slicing (corpus_cases.py); what
they should declare is computed here from the ESRI Shapefile Technical Description (1998) layout: a 100-byte
header with the file length in 16-bit words at bytes 24–27, 8 bytes per .shx record, and the DBF header's
record count, header length and record length at bytes 4–11.
"""
import struct
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from corpus_cases import (SAMPLE_SHAPEFILES, cut, dbf_count_mismatch, sample_copy, truncated_header_rewritten_shp)
from riskmap import io
from riskmap.errors import DataFormatError

ROOT = Path(__file__).resolve().parents[2]


def _info(path):
    return subprocess.run([sys.executable, "-m", "riskmap", "info", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.mark.parametrize("shp", sorted(SAMPLE_SHAPEFILES.glob("*.shp")), ids=lambda p: p.stem)
def test_intact_shapefiles_pass_and_the_count_is_the_features(shp):
    n = io.check_shapefile_complete(shp)
    assert n == len(gpd.read_file(shp)) > 0


def test_gdal_written_shapefiles_of_every_kind_pass(tmp_path):
    for kind, geoms in {"points": [shapely.Point(114, 32), None],
                        "lines": [shapely.LineString([(114, 32), (114.1, 32.1)])],
                        "polygons": [shapely.box(114, 32, 114.1, 32.1), shapely.Polygon()]}.items():
        path = tmp_path / f"{kind}.shp"
        gpd.GeoDataFrame({"name": ["甲"] * len(geoms)}, geometry=geoms, crs=4490).to_file(path, encoding="UTF-8")
        assert io.check_shapefile_complete(path) == len(geoms)


def test_a_shp_cut_in_half_is_refused_naming_the_file(tmp_path):
    shp = sample_copy(tmp_path)
    declared = struct.unpack(">i", shp.read_bytes()[24:28])[0] * 2
    assert declared == shp.stat().st_size  # the header is right on the intact copy
    cut(shp)
    with pytest.raises(DataFormatError, match=rf"企业.shp: 文件不完整/已截断：.shp 文件声明 {declared:,} 字节，"
                                              rf"实际只有 {declared // 2:,} 字节"):
        io.read_vector(shp)
    run = _info(shp)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("riskmap: error: ") and "文件不完整/已截断" in lines[0]
    assert "企业.shp" in lines[0]


def test_a_cut_shp_whose_header_was_rewritten_is_found_by_its_index(tmp_path):
    shp = truncated_header_rewritten_shp(tmp_path)
    assert struct.unpack(">i", shp.read_bytes()[24:28])[0] * 2 == shp.stat().st_size  # the header agrees…
    with pytest.raises(DataFormatError, match="文件不完整/已截断：索引（.shx）"):  # …the index does not
        io.list_layers(shp)


@pytest.mark.parametrize("part, fraction", [(".shx", 0.7), (".dbf", 0.6), (".shx", 0.02), (".dbf", 0.05)])
def test_a_cut_shx_or_dbf_is_refused_naming_that_part(tmp_path, part, fraction):
    shp = sample_copy(tmp_path)
    cut(shp.with_suffix(part), fraction)
    with pytest.raises(DataFormatError, match=rf"企业\{part}: 文件不完整/已截断"):
        io.read_vector(shp)
    assert _info(shp).returncode == 2


def test_a_dbf_with_more_records_than_shapes_is_refused(tmp_path):
    shp = dbf_count_mismatch(tmp_path)
    shapes = (shp.with_suffix(".shx").stat().st_size - 100) // 8
    records = struct.unpack("<I", shp.with_suffix(".dbf").read_bytes()[4:8])[0]
    assert records == shapes + 3
    with pytest.raises(DataFormatError, match=rf"道路.shp: 文件不完整/不一致：.dbf 有 {records} 条属性记录，"
                                              rf".shx 有 {shapes} 个要素"):
        io.read_vector(shp)
