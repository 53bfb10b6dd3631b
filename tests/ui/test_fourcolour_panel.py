"""The 安全风险四色分布图 panel in the real window (offscreen): run from the Analysis menu on result layers,
the townships drawn in the four colours (each the highest level of its items), then File → 导出图集."""
import re
import shutil
import subprocess

import geopandas as gpd
import pytest
import shapely
from PyQt5.QtCore import QSettings, Qt

from riskmap.project import Project
from window_helpers import pixel_at

pytestmark = pytest.mark.gui

GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0
PANEL = "panel:riskmap.ui.panels.fourcolour.FourColourPanel"


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=GK).to_crs(4490)


@pytest.fixture
def window(qtbot, tmp_path):
    from riskmap.ui.main_window import MainWindow

    proj = Project()
    proj.add_vector(_gdf({"name": ["风县"], "adcode": [419901]}, [shapely.box(X0, Y0, X0 + 30000, Y0 + 10000)]),
                    "县区边界")
    proj.add_vector(_gdf({"name": ["甲镇", "乙镇", "丙乡"], "county": ["风县"] * 3},
                         [shapely.box(X0 + i * 10000, Y0, X0 + (i + 1) * 10000, Y0 + 10000) for i in range(3)]),
                    "乡镇边界")
    proj.add_vector(_gdf({"name": ["二级厂", "四级厂"], "hazard_grade": ["二级", "四级"], "relocate": [False, False],
                          "county": ["风县", "风县"]},
                         [shapely.Point(X0 + 2000, Y0 + 2000), shapely.Point(X0 + 12000, Y0 + 2000)]), "搬迁评估结果")
    proj.add_vector(_gdf({"name": ["头顶库"], "grade": [4], "overhead": [True], "county": ["风县"]},
                         [shapely.Point(X0 + 22000, Y0 + 8000)]), "尾矿库结果")
    proj.set_extent(tuple(proj.layers["县区边界"].extent()))
    win = MainWindow(proj, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    win.cancel_tasks()
    qtbot.waitUntil(lambda: not win._active_tasks(), timeout=30000)
    win.canvas.wait_until_rendered(10000)


def _run(qtbot, window):
    window.actions[PANEL].trigger()
    panel = window.panels["riskmap.ui.panels.fourcolour.FourColourPanel"]
    assert panel.areas_combo.layer().name == "乡镇边界"
    assert panel.enterprises_combo.layer().name == "搬迁评估结果"
    assert panel.tailings_combo.layer().name == "尾矿库结果"
    for role in ("pipelines", "roads", "population", "dem", "water", "accidents", "sensitive", "qra_plants"):
        panel.combos[role].setCurrentIndex(0)  # (不使用)
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    return panel


def test_townships_are_drawn_in_the_colour_of_their_highest_item(qtbot, window):
    panel = _run(qtbot, window)
    layer = next(lyr for lyr in window.project.layers if lyr.name == "安全风险四色分布图（乡镇）")
    levels = dict(zip(layer.gdf["name"], layer.gdf["level"]))
    assert levels == {"甲镇": "较大风险", "乙镇": "一般风险", "丙乡": "重大风险"}
    colours = dict(zip(layer.gdf["name"], layer.feature_colors()))
    assert colours == {"甲镇": "#FF9900", "乙镇": "#FFFF00", "丙乡": "#FF0000"}
    assert [label for label, _c in layer.style.legend()][:4] == ["重大风险（红）", "较大风险（橙）", "一般风险（黄）",
                                                                  "低风险（蓝）"]
    assert layer.provenance["derived"]["rule_table"] == "riskmap-fourcolour-default-1"
    # pixels: 丙乡 away from its pond is red-ish, 乙镇 yellow-ish (fill opacity 0.7 over the white map)
    ll = gpd.GeoSeries([shapely.Point(X0 + 25000, Y0 + 2000), shapely.Point(X0 + 15000, Y0 + 7000)],
                       crs=GK).to_crs(4490)
    def red_and_yellow():  # the view change to the result and its drawing have finished
        (r1, g1, b1), (r2, g2, b2) = (pixel_at(window, p.x, p.y) for p in ll)
        return r1 > 200 and g1 < 140 and b1 < 140 and r2 > 200 and g2 > 200 and b2 < 140

    try:
        qtbot.waitUntil(red_and_yellow, timeout=20000)
    except AssertionError:
        raise AssertionError([pixel_at(window, p.x, p.y) for p in ll]) from None
    assert panel.table.rowCount() == 3 and panel.table.item(0, 1).text() == "头顶库"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_export_atlas_from_the_file_menu_and_cancel(qtbot, window, tmp_path, monkeypatch):
    _run(qtbot, window)
    out = tmp_path / "atlas.pdf"
    written = window.export_atlas(str(out))
    assert written is not None and written.pages == 2 and out.exists()
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, check=True).stdout.decode()
    assert "风县安全风险四色分布图" in text and "头顶库" in text and not re.search("[\u2e80-\u2fdf]", text)
    assert "导出图集" in window.actions["export_atlas"].text()
    # cancel in the progress dialog: nothing is written
    from PyQt5.QtWidgets import QProgressDialog

    monkeypatch.setattr(QProgressDialog, "wasCanceled", lambda self: True)
    again = tmp_path / "again.pdf"
    assert window.export_atlas(str(again)) is None and not again.exists()
    assert "取消" in window.statusBar().currentMessage()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_atlas_from_a_reopened_project(qtbot, window, tmp_path):
    """After save and reopen there is no panel result: the atlas is rebuilt from the four-colour layers."""
    from riskmap.ui.atlas import result_from_layers

    _run(qtbot, window)
    path = tmp_path / "p.rmp"
    assert window._save_to(str(path), wait=True)
    reopened = Project.load(path)
    result = result_from_layers(reopened)
    assert result is not None and list(result.layers["risk_items"]["name"]) == ["头顶库", "二级厂", "四级厂"]
    assert set(result.layers["township_risk"]["name"]) == {"甲镇", "乙镇", "丙乡"}
    assert result.provenance["analysis"] == "fourcolour"


@pytest.mark.slow
def test_sample_window_runs_the_four_colour_map_from_raw_layers(qtbot, tmp_path):
    """The journey on the sample: the panel picks the raw layers, runs the four analyses first, draws 74 townships."""
    from riskmap.app import sample_project
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(sample_project(), settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                     restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.actions[PANEL].trigger()
    panel = win.panels["riskmap.ui.panels.fourcolour.FourColourPanel"]
    assert panel.areas_combo.layer().name == "乡镇（街道）边界（示意）"
    assert panel.enterprises_combo.layer().name == "企业" and panel.roads_combo.layer().name == "道路"
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=280000)
    layer = next(lyr for lyr in win.project.layers if lyr.name == "安全风险四色分布图（乡镇）")
    assert len(layer.gdf) == 74 and layer.visible
    assert set(panel.result.upstream) == {"relocation", "pipelines", "tailings", "roads"}
    image = tmp_path / "window.png"
    win.resize(1366, 768)
    win.show()
    assert win.canvas.wait_until_rendered(30000)
    win.grab().save(str(image))
    win.cancel_tasks()
