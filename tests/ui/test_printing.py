"""Print layout to PNG and PDF: page size, map and legend pixels, footer text, errors."""
import datetime as dt
import re
import shutil
import subprocess

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from riskmap.errors import ParameterError
from riskmap.layers import Style
from riskmap.project import Project

pytestmark = pytest.mark.gui

GREEN, RED, PURPLE = "#2ca02c", "#d62728", "#9467bd"


def print_project(approval="") -> Project:
    p = Project()
    p.title = "测试风险图"
    p.approval_number = approval
    counties = gpd.GeoDataFrame({"name": ["浉河区", "平桥区"]}, geometry=[box(114.0, 32.0, 114.5, 32.5),
                                                                      box(114.5, 32.0, 115.0, 32.5)], crs=4490)
    layer = p.add_vector(counties, "县区边界", style=Style(color=GREEN, stroke="#333333", fill_opacity=1.0,
                                                        label_field="name"), source="/data/counties.shp")
    assert layer.source.endswith("counties.shp")
    road = gpd.GeoDataFrame({"n": [1]}, geometry=[LineString([(114.0, 32.1), (115.0, 32.1)])], crs=4490)
    p.add_vector(road, "道路", style=Style(color="#ff7f0e", width=3))
    plants = gpd.GeoDataFrame({"industry": ["hazchem", "fireworks"]},
                              geometry=[Point(114.25, 32.25), Point(114.75, 32.25)], crs=4490)
    p.add_vector(plants, "企业", style=Style(mode="categorized", field="industry", size=12,
                                           categories={"hazchem": RED, "fireworks": PURPLE},
                                           labels={"hazchem": "危险化学品", "fireworks": "烟花爆竹"}))
    p.set_extent((114.0, 32.0, 115.0, 32.5))
    return p


@pytest.fixture
def printing(qapp):
    from riskmap.ui import printing as module
    from riskmap.ui.fonts import register_cjk_font

    register_cjk_font()
    return module


def colours_in(image, rect):
    x0, y0, x1, y1 = (int(v) for v in rect)
    return {image.pixelColor(x, y).name() for x in range(x0, x1, 2) for y in range(y0, y1, 2)}


def test_png_page_has_map_legend_and_title(printing, tmp_path):
    from PyQt5.QtGui import QImage

    out = tmp_path / "map.png"
    result = printing.print_map(print_project(), out, paper="A4", orientation="landscape", dpi=72)
    assert result.path == out and out.exists()
    image = QImage(str(out))
    assert (image.width(), image.height()) == printing.page_size_px("A4", "landscape", 72) == (842, 595)
    layout = printing.PageLayout(print_project(), 842, 595, 72)
    m = layout.map_rect
    map_colours = colours_in(image, (m.left() + 5, m.top() + 5, m.right() - 5, m.bottom() - 5))
    assert GREEN in map_colours
    legend = layout.legend_rect
    legend_colours = colours_in(image, (legend.left(), legend.top(), legend.right(), legend.bottom()))
    # point symbols are filled at 85 % opacity (as on the desktop and in the HTML map)
    assert any(_close(c, RED, 50) for c in legend_colours) and any(_close(c, PURPLE, 50) for c in legend_colours)
    title = layout.title_rect
    title_colours = colours_in(image, (title.left(), title.top(), title.right(), title.bottom()))
    assert any(_dark(c) for c in title_colours)  # the title is written
    assert result.extent[0] <= 114.0 and result.extent[2] >= 115.0


def test_pdf_has_the_paper_size_and_the_footer_text(printing, tmp_path):
    out = tmp_path / "map.pdf"
    printing.print_map(print_project("GS(2024)1234号"), out, paper="A3", orientation="portrait", dpi=100,
                       date=dt.date(2024, 5, 6))
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    box_ = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box_ is not None
    w_pt, h_pt = float(box_.group(1)), float(box_.group(2))
    assert w_pt == pytest.approx(297 / 25.4 * 72, abs=2) and h_pt == pytest.approx(420 / 25.4 * 72, abs=2)
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed; scripts/setup.sh test installs it")
    text = _pdf_text(out)
    # (NFKC here would hide radical look-alikes such as U+2EDB for 风; tests/ui/test_print_vector.py checks the
    # raw text has none, now that the registered font has no radical aliases)
    for expected in ("测试", "险图", "图例", "审图号", "GS(2024)1234号", "数据来源", "counties.shp", "2024-05-06",
                     "EPSG:4490", "危险化学品", "比例尺"):
        assert expected in text, expected


def test_pdf_renders_with_colours(printing, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is needed; scripts/setup.sh test installs it")
    from PyQt5.QtGui import QImage

    out = tmp_path / "map.pdf"
    printing.print_map(print_project(), out, paper="A4", orientation="landscape", dpi=72)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-singlefile", str(out), str(tmp_path / "page")], check=True)
    image = QImage(str(tmp_path / "page.png"))
    assert image.width() == pytest.approx(297 / 25.4 * 40, abs=2)
    colours = colours_in(image, (0, 0, image.width(), image.height()))
    assert any(_close(c, GREEN) for c in colours) and any(_close(c, RED) for c in colours)


def test_blank_approval_slot_when_the_project_has_none(printing, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed; scripts/setup.sh test installs it")
    out = tmp_path / "blank.pdf"
    printing.print_map(print_project(""), out, dpi=60)
    assert "审图号:________" in _pdf_text(out)  # NFKC turns the full-width colon into ":"


def test_free_size_png(printing, tmp_path):
    from PyQt5.QtGui import QImage

    out = tmp_path / "free.png"
    result = printing.print_map(print_project(), out, width=640, height=400, dpi=96,
                                extent=(114.4, 32.2, 114.6, 32.3))
    image = QImage(str(out))
    assert (image.width(), image.height()) == (640, 400) == (result.width_px, result.height_px)
    assert result.extent[0] <= 114.4 and result.extent[2] >= 114.6 and result.extent[2] - result.extent[0] < 0.5
    result = printing.print_map(print_project(), tmp_path / "w.png", width=800, dpi=96)
    assert result.height_px == round(800 * 210 / 297)


def test_bad_requests_are_parameter_errors(printing, tmp_path):
    p = print_project()
    with pytest.raises(ParameterError, match="png 或 .pdf"):
        printing.print_map(p, tmp_path / "map.jpg")
    with pytest.raises(ParameterError, match="纸张"):
        printing.print_map(p, tmp_path / "map.png", paper="B5")
    with pytest.raises(ParameterError, match="方向"):
        printing.print_map(p, tmp_path / "map.png", orientation="sideways")
    with pytest.raises(ParameterError, match="dpi"):
        printing.print_map(p, tmp_path / "map.png", dpi=5000)
    with pytest.raises(ParameterError, match="页面尺寸"):
        printing.print_map(p, tmp_path / "map.png", width=10, height=10)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_failed_print_keeps_the_previous_file(printing, tmp_path, monkeypatch):
    out = tmp_path / "map.png"
    out.write_bytes(b"previous")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(printing, "_write_png", boom)
    with pytest.raises(ParameterError, match="disk full"):
        printing.print_map(print_project(), out, dpi=50)
    assert out.read_bytes() == b"previous"
    assert [f.name for f in tmp_path.iterdir()] == ["map.png"]


def _pdf_text(path) -> str:
    import unicodedata

    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return unicodedata.normalize("NFKC", text).replace("\x01", "").replace(" ", "")


def _close(name, hex_colour, tol=30):
    a = [int(name[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def _dark(name):
    return all(int(name[i:i + 2], 16) < 80 for i in (1, 3, 5))


def test_portrait_pages_put_the_legend_under_the_map(printing):
    landscape = printing.PageLayout(print_project(), *printing.page_size_px("A4", "landscape", 100), 100)
    assert landscape.legend_rect.left() > landscape.map_rect.right() and landscape.legend_columns == 1
    portrait = printing.PageLayout(print_project(), *printing.page_size_px("A4", "portrait", 100), 100)
    assert portrait.legend_rect.top() > portrait.map_rect.bottom() and portrait.legend_columns == 3
    assert portrait.map_rect.width() > landscape.map_rect.width() * 0.6
    for layout in (landscape, portrait):
        assert layout.footer_rect.top() > max(layout.map_rect.bottom(), layout.legend_rect.bottom())
