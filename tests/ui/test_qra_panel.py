"""The QRA panel in the real main window (offscreen): opened from the Analysis menu, run on two chlorine plants
of the sample, contours and flagged targets on the map, tables, the F-N plot by pixels, and Cancel."""
import math

import geopandas as gpd
import numpy as np
import pytest
from PyQt5.QtCore import QSettings, Qt

from riskmap.project import Project
from riskmap.sample import sample_path

pytestmark = pytest.mark.gui

HUAIYUAN = "信阳市淮源氯碱化工有限公司"  # 液氯 40 t, the acceptance's chlorine plant
JIANGHUAI = "信阳市江淮化工有限公司"  # 液氯 25 t + 液氨 30 t in the town core, schools around it
PANEL = "panel:riskmap.ui.panels.qra.QRAPanel"


def _project(plant_names=None):
    plants = gpd.read_file(sample_path("enterprises"))
    if plant_names is not None:
        plants = plants.loc[plants["name"].isin(plant_names)].reset_index(drop=True)
    proj = Project()
    # an input only, not drawn (raster rendering in the canvas workers is not what this tests)
    proj.add_raster(sample_path("population"), "人口密度").visible = False
    proj.add_vector(gpd.read_file(sample_path("sensitive")), "敏感目标")
    proj.add_vector(plants, "危化企业")
    proj.modified = False
    return proj


def _window(qtbot, tmp_path, project):
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def window(qtbot, tmp_path, cjk_font):
    win = _window(qtbot, tmp_path, _project([HUAIYUAN, JIANGHUAI]))
    yield win
    win.cancel_tasks()
    qtbot.waitUntil(lambda: not win._active_tasks(), timeout=30000)
    win.canvas.wait_until_rendered(10000)


def _open_panel(window):
    window.actions[PANEL].trigger()
    return window.panels["riskmap.ui.panels.qra.QRAPanel"]


def _layer(window, name):
    return next((lyr for lyr in window.project.layers if lyr.name == name), None)


def test_run_from_the_menu_puts_contours_targets_and_fn_plot(qtbot, window):
    from PyQt5.QtWidgets import QApplication

    panel = _open_panel(window)
    assert panel.isVisible() and panel.plants_combo.layer().name == "危化企业"
    assert panel.population_combo.layer().name == "人口密度" and panel.sensitive_combo.layer().name == "敏感目标"
    with qtbot.waitSignal(window.tasks_changed if hasattr(window, "tasks_changed") else panel.run_button.clicked,
                          timeout=1000, raising=False):
        pass
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    task = panel.task
    with qtbot.waitSignal(task.done, timeout=60000):
        pass
    assert task.state == "finished"
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10000)
    contours = _layer(window, "个人风险等值线")
    assert contours is not None and len(contours.gdf) > 0
    print(contours.gdf.drop(columns="geometry"))
    print(panel.layers["targets"].gdf.drop(columns="geometry"))
    window.canvas.wait_until_rendered(20000)
    window.grab().save("/tmp/i13p_window.png")
    panel.plants_table.cellClicked.emit(1, 0)
    window.canvas.refresh()
    window.canvas.wait_until_rendered(20000)
    window.grab().save("/tmp/i13p_window2.png")
    panel.fn_plot.grab().save("/tmp/i13p_fn.png")
