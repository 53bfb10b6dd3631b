"""``riskmap print``: files, projects and the sample to PNG/PDF headless; errors are one line, exit 2."""
import os
import subprocess
import sys

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from riskmap.cli import build_parser, main
from riskmap.cli.printmap import parse_extent

pytestmark = pytest.mark.gui


def run_cli(*args, timeout=180):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "riskmap.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture
def county_file(tmp_path):
    path = tmp_path / "counties.geojson"
    gpd.GeoDataFrame({"name": ["浉河区", "平桥区"], "adcode": [411502, 411503]},
                     geometry=[box(114.0, 32.0, 114.5, 32.5), box(114.5, 32.0, 115.0, 32.5)],
                     crs=4490).to_file(path, driver="GeoJSON")
    return path


@pytest.fixture
def plant_file(tmp_path):
    path = tmp_path / "plants.geojson"
    gpd.GeoDataFrame({"name": ["甲厂"], "industry": ["hazchem"]}, geometry=[Point(114.25, 32.25)],
                     crs=4490).to_file(path, driver="GeoJSON")
    return path


def test_print_is_registered_with_its_options():
    args = build_parser().parse_args(["print", "a.rmp", "--out", "m.pdf", "--paper", "a3", "--orientation",
                                      "Portrait", "--dpi", "200", "--title", "标题", "--extent", "1,2,3,4"])
    assert args.command == "print" and args.inputs == ["a.rmp"] and args.out == "m.pdf"
    assert (args.paper, args.orientation, args.dpi, args.title) == ("A3", "portrait", 200.0, "标题")
    assert parse_extent(args.extent) == (1.0, 2.0, 3.0, 4.0)


def test_files_to_png_in_process(qapp, county_file, plant_file, tmp_path, capsys):
    from PyQt5.QtGui import QImage

    out = tmp_path / "map.png"
    code = main(["print", str(county_file), str(plant_file), "--out", str(out), "--width", "500", "--height",
                 "350", "--title", "县区图", "--extent", "114.0,32.0,115.0,32.5"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "render time" in printed and "500×350" in printed
    image = QImage(str(out))
    assert (image.width(), image.height()) == (500, 350)
    colours = {image.pixelColor(x, y).name() for x in range(0, 500, 4) for y in range(0, 350, 4)}
    assert len(colours) > 30  # a map, a legend, text — not a blank page


def test_project_to_pdf(qapp, county_file, tmp_path, capsys):
    from riskmap.io import read_vector
    from riskmap.project import Project

    project = Project()
    project.add_vector(read_vector(county_file), "县区")
    project.approval_number = "豫S(2024)001号"
    saved = project.save(tmp_path / "demo.rmp")
    out = tmp_path / "demo.pdf"
    assert main(["print", str(saved), "--out", str(out), "--dpi", "60"]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert "A4 landscape" in capsys.readouterr().out


def test_sample_prints_headless(tmp_path):
    from riskmap.sample import sample_path

    sample_path("counties"), sample_path("dem")  # committed: missing data fails here
    out = tmp_path / "sample.png"
    env_free = run_cli("print", "--sample", "--out", str(out), "--dpi", "60")
    assert env_free.returncode == 0, env_free.stderr
    assert "render time" in env_free.stdout
    assert out.exists() and out.stat().st_size > 20_000


def test_no_display_means_offscreen(tmp_path, county_file):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "m.png"
    result = subprocess.run([sys.executable, "-m", "riskmap.cli", "print", str(county_file), "--out", str(out),
                             "--width", "300", "--height", "200"], capture_output=True, text=True, env=env,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert out.exists()


@pytest.mark.parametrize("argv, message", [
    (["print", "--out", "x.png"], "没有可打印的内容"),
    (["print", "--sample", "--out", "x.jpg"], ".png 或 .pdf"),
    (["print", "--sample", "--out", "x.png", "--extent", "1,2,3"], "须为四个数"),
    (["print", "--sample", "--out", "x.png", "--extent", "3,2,1,4"], "范围为空"),
    (["print", "--sample", "--out", "x.png", "--extent", "a,b,c,d"], "须为四个数"),
    (["print", "missing.shp", "--out", "x.png"], "missing.shp"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_a_bad_data_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    result = run_cli("print", str(bad), "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2
    assert "bad.geojson" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_print_sample_raster_to_pdf(qapp, tmp_path, capsys):
    """Issue 16: ``riskmap print population.tif`` once crashed (source given twice to the raster layer)."""
    import shutil

    from riskmap.sample import sample_path

    out = tmp_path / "raster.pdf"
    code = main(["print", str(sample_path("population")), "--out", str(out), "--dpi", "60"])
    assert code == 0
    assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 1000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert "population" in text  # the legend names the raster layer
