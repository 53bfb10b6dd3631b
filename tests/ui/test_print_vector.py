"""A printed PDF keeps vector layers vector and its text copies as drawn (风险, not ⻛险)."""
import re
import shutil
import subprocess

import geopandas as gpd
import pytest
import shapely

from riskmap.layers.style import Style
from riskmap.project import Project

pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(shutil.which("pdfimages") is None, reason="needs poppler-utils")]


def test_pdf_print_draws_polygons_as_paths_and_text_without_radicals(qapp, tmp_path):
    from riskmap.ui.fonts import register_cjk_font
    from riskmap.ui.printing import print_map

    register_cjk_font()
    project = Project()
    project.title = "风险图"
    areas = gpd.GeoDataFrame({"name": ["风县", "长龙区"]},
                             geometry=[shapely.box(114.0, 32.0, 114.5, 32.5), shapely.box(114.5, 32.0, 115.0, 32.5)],
                             crs=4490)
    project.add_vector(areas, "县区", style=Style(color="#2ca02c", stroke="#333333", fill_opacity=1.0))
    out = tmp_path / "map.pdf"
    print_map(project, out, paper="A4", dpi=150)
    images = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert all(int(line.split()[3]) < 300 for line in images), images  # no picture of the whole map
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, check=True).stdout.decode("utf-8")
    assert "风险图" in text and not re.search("[\u2e80-\u2fdf]", text)
    png = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-singlefile", str(out), str(png)], check=True)
    from PyQt5.QtGui import QColor, QImage

    image = QImage(str(png) + ".png")
    greens = sum(1 for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)
                 if QColor(image.pixel(x, y)).name() in ("#2ca02c", "#2ca12c", "#2da02c"))
    assert greens > 50  # the polygons are drawn
