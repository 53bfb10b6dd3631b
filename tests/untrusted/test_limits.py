"""Issue 18 §6: sizes a file declares are checked against limits (settings) before anything is allocated."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hostile import tiny_tiff
from riskmap import io
from riskmap.cli import main
from riskmap.errors import ParameterError, ResourceLimitError

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys, time
from riskmap import io
from riskmap.errors import RiskmapError
t0 = time.perf_counter()
try:
    io.describe(sys.argv[1])
    outcome = "opened"
except RiskmapError as exc:
    outcome = type(exc).__name__ + ": " + str(exc)
# VmHWM is this program's own peak (ru_maxrss also counts the forking parent's size, kept across exec)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": time.perf_counter() - t0, "outcome": outcome, "maxrss_mb": hwm / 1024}))
"""


def _probe(path: Path) -> dict:
    run = subprocess.run([sys.executable, "-c", PROBE, str(path)], env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("width,height,compression,what", [
    (100_000, 100_000, 1, "栅格声明 100000×100000×1 个 float64"),
    (30_000, 30_000, 8, "栅格声明 30000×30000×1 个 float64"),   # unfixed: 7.1 GB RSS and 22 s
    (20_000, 12_000, 8, "数据块为 20000×12000"),                # 1.9 GB in total but one 1.9 GB strip
])
def test_a_tiny_tiff_declaring_a_huge_raster_is_refused_fast_with_bounded_memory(tmp_path, width, height,
                                                                                 compression, what):
    path = tiny_tiff(tmp_path / "huge.tif", width, height, compression=compression)
    assert path.stat().st_size < 200
    result = _probe(path)
    assert result["outcome"].startswith("ResourceLimitError") and what in result["outcome"], result
    assert "RISKMAP_MAX_" in result["outcome"]  # names the setting
    assert result["seconds"] < 1.0 and result["maxrss_mb"] < 600, result


def test_the_raster_limit_is_a_setting(tmp_path, monkeypatch):
    path = tiny_tiff(tmp_path / "small.tif", 2000, 1000, compression=8)  # 16 MB declared
    monkeypatch.setenv("RISKMAP_MAX_RASTER_MB", "10")
    with pytest.raises(ResourceLimitError, match="超过上限 10 MB"):
        io.open_raster(path)
    monkeypatch.setenv("RISKMAP_MAX_RASTER_MB", "20")
    with pytest.raises(ResourceLimitError, match="数据块"):  # the 16 MB strip is over a 10 MB block limit
        monkeypatch.setenv("RISKMAP_MAX_BLOCK_MB", "10")
        io.open_raster(path)


def test_cli_refuses_in_one_line(tmp_path, capsys):
    path = tiny_tiff(tmp_path / "人口.tif", 100_000, 100_000)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "超过上限" in err


def _bomb(path: Path, member: str, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(member, "w", force_zip64=True) as fh:
            chunk = b"\0" * 1_000_000
            for _ in range(size // len(chunk)):
                fh.write(chunk)
    return path


def test_kmz_and_xlsx_decompression_bombs_are_refused_before_unpacking(tmp_path, monkeypatch):
    kmz = _bomb(tmp_path / "bomb.kmz", "doc.kml", 50_000_000)
    xlsx = _bomb(tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml", 50_000_000)
    assert kmz.stat().st_size < 200_000
    for path in (kmz, xlsx):
        with pytest.raises(ResourceLimitError, match="解压炸弹"):
            io.read_vector(path)
    monkeypatch.setenv("RISKMAP_MAX_ARCHIVE_MB", "20")
    with pytest.raises(ResourceLimitError, match="超过上限 20 MB"):
        io.read_vector(kmz)
    with pytest.raises(ResourceLimitError, match="超过上限 20 MB"):
        io.list_layers(kmz)


def test_tiny_parameters_are_refused_by_the_declared_ranges(capsys, tmp_path):
    out = tmp_path / "never.gpkg"
    assert main(["roads", "--sample", "--spacing", "0.05", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0.5–100 m" in err
    assert not out.exists()


def test_a_kmz_bomb_is_refused_by_riskmaps_own_kml_reader(tmp_path):
    """riskmap.kml (main's KML reader) checks the archive itself, not only when called through read_vector."""
    from riskmap import kml

    kmz = _bomb(tmp_path / "bomb.kmz", "doc.kml", 50_000_000)
    for call in (kml.read_kml, kml.kml_coordinates):
        with pytest.raises(ResourceLimitError, match="解压炸弹"):
            call(kmz)


@pytest.mark.parametrize("coords", ["", "abc,def", "114.0", "114,32 115,33"])
def test_a_damaged_riskmap_kml_is_one_data_format_error(tmp_path, coords):
    """Placemarks with missing/garbled coordinates in a file marked as riskmap's are a DataFormatError."""
    import geopandas as gpd
    import shapely

    from riskmap.errors import DataFormatError
    from riskmap.kml import write_kml

    good = write_kml(gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114, 32)], crs=4326),
                     tmp_path / "good.kml")
    text = good.read_text(encoding="utf-8")
    start = text.index("<coordinates>") + len("<coordinates>")
    bad = tmp_path / "bad.kml"
    bad.write_text(text[:start] + coords + text[text.index("</coordinates>"):], encoding="utf-8")
    if coords == "114,32 115,33":  # two points for a Point: the first is taken
        assert io.read_vector(bad).geometry.iloc[0].equals(shapely.Point(114, 32))
        return
    with pytest.raises(DataFormatError, match="坐标无法读取"):
        io.read_vector(bad)
