"""QRA results on the print: ``riskmap print --sample --qra QRA.gpkg --qra-focus 淮源`` shows the chlorine plant's
contours (their outline in the map frame) and their legend (个人风险 3×10⁻⁵/年 …) and the 结果来源 line."""
import subprocess
import shutil
import sys
import os
import unicodedata

import geopandas as gpd
import numpy as np
import pytest

from riskmap.cli import main
from riskmap.sample import sample_path

pytestmark = pytest.mark.gui

HUAIYUAN = "信阳市淮源氯碱化工有限公司"
STROKE = "#7f0000"  # the contours' outline (riskmap.exports.qra_map.contour_style)


@pytest.fixture(scope="module")
def qra_gpkg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qra_print")
    plants = gpd.read_file(sample_path("enterprises"))
    plants.loc[plants["name"] == HUAIYUAN].to_file(tmp / "plants.gpkg")
    out = tmp / "qra.gpkg"
    assert main(["qra", "--plants", str(tmp / "plants.gpkg"), "--population", str(sample_path("population")),
                 "--sensitive", str(sample_path("sensitive")), "--out", str(out)]) == 0
    return out


def _pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed; scripts/setup.sh test installs it")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return _norm(text)


def _norm(text: str) -> str:
    # pdftotext gives CJK radicals (⼈ for 人) and drops spaces; NFKC folds both forms (and ⁻⁵ to -5)
    # and ⻛ (U+2EDB, a radical without a compatibility mapping) for 风
    return unicodedata.normalize("NFKC", text).replace("⻛", "风").replace("\x01", "").replace(" ", "")


def _print(*args, timeout=180):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "-m", "riskmap.cli", "print", "--sample", *args], capture_output=True,
                         text=True, env=env, timeout=timeout)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_print_pdf_has_the_contour_legend_and_the_qra_source(qra_gpkg, tmp_path):
    out = tmp_path / "qra.pdf"
    _print("--qra", str(qra_gpkg), "--qra-focus", "淮源氯碱", "--out", str(out))
    text = _pdf_text(out)
    assert _norm("个人风险等值线") in text and _norm("定量风险评价企业") in text
    for level in ("3×10⁻⁵", "1×10⁻⁵", "3×10⁻⁶", "1×10⁻⁶", "3×10⁻⁷"):
        assert _norm(f"个人风险 {level}/年") in text, level
    assert _norm("结果来源") in text and _norm("定量风险评价") in text


def test_print_map_frame_shows_the_contours(qapp, qra_gpkg):
    """Drawing the contour layer changes the map frame's pixels where its polygons are, and only there: as many
    pixels as the contours' area covers at the page's scale (fill 30 % over the map), none elsewhere."""
    import shapely
    from PyQt5.QtGui import QColor, QImage, QPainter

    from riskmap.exports.qra_map import add_qra_layers
    from riskmap.exports.sample_project import build_sample_project
    from riskmap.ui.fonts import register_cjk_font
    from riskmap.ui.printing import PageLayout

    register_cjk_font()
    project = build_sample_project(include_rasters=False)
    contours = add_qra_layers(project, qra_gpkg, focus="淮源氯碱")[0]
    images = []
    for visible in (True, False):
        contours.visible = visible
        layout = PageLayout(project, 1200, 850, 96)
        image = QImage(layout.width, layout.height, QImage.Format_ARGB32_Premultiplied)
        image.fill(QColor("#ffffff"))
        painter = QPainter(image)
        try:
            layout.paint(painter)
        finally:
            painter.end()
        images.append((_rgb_array(image), layout))
    (shown, layout), (hidden, _layout) = images
    m = layout.map_rect
    rows, cols = slice(int(m.top()) + 1, int(m.bottom()) - 1), slice(int(m.left()) + 1, int(m.right()) - 1)
    changed = (np.abs(shown[rows, cols].astype(int) - hidden[rows, cols].astype(int)).sum(axis=2) > 6)
    # the oracle: the outer contour's share of the map extent, in pixels of the map frame
    x0, y0, x1, y1 = layout.map_extent
    outer = contours.gdf.loc[contours.gdf["level"] == contours.gdf["level"].min()].to_crs(project.map_crs)
    share = shapely.intersection(outer.union_all(), shapely.box(x0, y0, x1, y1)).area / ((x1 - x0) * (y1 - y0))
    expected = share * changed.size
    assert expected > 2000  # the focus makes the contour large on the page
    assert changed.sum() == pytest.approx(expected, rel=0.12)
    # and the changed pixels are where the contour is: its bounding box in frame pixels
    ys, xs = np.nonzero(changed)
    bx0, by0, bx1, by1 = outer.total_bounds
    px0 = (bx0 - x0) / (x1 - x0) * changed.shape[1]
    px1 = (bx1 - x0) / (x1 - x0) * changed.shape[1]
    py0 = (y1 - by1) / (y1 - y0) * changed.shape[0]
    py1 = (y1 - by0) / (y1 - y0) * changed.shape[0]
    assert xs.min() >= px0 - 3 and xs.max() <= px1 + 3 and ys.min() >= py0 - 3 and ys.max() <= py1 + 3


def _rgb_array(image):
    """``(h, w, 3)`` uint8 RGB of a QImage."""
    from PyQt5.QtGui import QImage

    img = image.convertToFormat(QImage.Format_RGB32)
    ptr = img.constBits()
    ptr.setsize(img.height() * img.bytesPerLine())
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[:, :img.width()]
    return arr[..., 2::-1].copy()  # BGRA in memory on little-endian
