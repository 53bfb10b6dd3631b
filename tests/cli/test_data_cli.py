import subprocess
import sys

import geopandas as gpd
import shapely

from riskmap.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "sample" in out and "info" in out


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "riskmap.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "riskmap" in out.stdout


def test_info_describes_a_layer(tmp_path, capsys):
    path = tmp_path / "p.gpkg"
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114, 32)], crs=4490).to_file(path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "EPSG:4490" in out and "features: 1" in out and "name" in out


def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "broken.shp"
    bad.write_bytes(b"garbage" * 20)
    out = subprocess.run([sys.executable, "-m", "riskmap.cli", "info", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.shp" in lines[0]
