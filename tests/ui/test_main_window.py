"""The main window: panel contract, background tasks, status bar, county navigation, closing."""
import sys
import threading
import time
import types

import geopandas as gpd
import pytest
from PyQt5.QtCore import QPoint, QPointF, Qt
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtWidgets import QApplication, QDockWidget, QLabel, QMessageBox
from shapely.geometry import Point
from window_helpers import COUNTY_B, PLANTS, canvas_image, close_to, pixel_at

from riskmap.errors import CancelledError, ParameterError
from riskmap.layers import VectorLayer
from riskmap.ui.canvas import PanZoomTool

pytestmark = pytest.mark.gui


def test_panel_contract(window, project):
    assert window.project is project
    for name in ("refresh", "set_extent", "extent"):
        assert callable(getattr(window.canvas, name))
    assert window.undo_stack.count() == 0
    for name in ("run_task", "add_result_layer", "show_error", "zoom_to"):
        assert callable(getattr(window, name))
    assert "浉河区" in window.county_nav.county_names()
    assert window.windowTitle().startswith(project.title)


def test_zoom_to_shows_the_box_with_a_margin(window):
    window.zoom_to(COUNTY_B)
    minx, miny, maxx, maxy = window.canvas.extent()
    assert minx <= COUNTY_B[0] and maxx >= COUNTY_B[2] and miny <= COUNTY_B[1] and maxy >= COUNTY_B[3]
    assert maxx - minx < 1.0  # closer than the full view of both counties
    window.zoom_to((114.25, 32.25, 114.25, 32.25))  # a point: a minimum span, not a zero-size view
    minx, miny, maxx, maxy = window.canvas.extent()
    assert 0.005 < maxx - minx < 0.1 and minx < 114.25 < maxx


def test_zoom_to_county_from_the_toolbar(window):
    full = window.canvas.extent()
    assert window.county_nav.zoom_to_county("平桥区")
    minx, miny, maxx, maxy = window.canvas.extent()
    assert minx <= COUNTY_B[0] + 1e-9 and maxx >= COUNTY_B[2] - 1e-9
    assert (maxx - minx) < (full[2] - full[0])
    assert not window.county_nav.zoom_to_county("不存在的县")
    county_layer = window.county_nav.layer
    assert county_layer.style.label_field == "name"  # counties are labelled on the map
    assert not window.project.modified  # labelling is a display default, not an edit


def test_add_result_layer_adds_then_replaces(window, project):
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(114.6, 32.3)], crs=4490)
    layer = window.add_result_layer(gdf, "搬迁评估结果")
    assert isinstance(layer, VectorLayer) and layer.group == "analysis" and project.layers[-1] is layer
    n = len(project.layers)
    gdf2 = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(114.6, 32.3), Point(114.7, 32.3)], crs=4490)
    again = window.add_result_layer(gdf2, "搬迁评估结果")
    assert again is layer and len(project.layers) == n and len(layer) == 2


def test_show_error_uses_a_message_box(window, errors):
    window.show_error(ParameterError("bad radius; use a positive number"))
    window.show_error("plain text")
    assert errors == ["bad radius; use a positive number", "plain text"]


def test_run_task_delivers_result_on_gui_thread(window, qtbot, errors):
    seen = {}

    def work(a, b, progress=None, scale=1):
        seen["worker"] = threading.current_thread() is threading.main_thread()
        for i in range(5):
            progress(i / 5, f"step {i}")
        return (a + b) * scale

    def done(result):
        seen["result"] = result
        seen["gui"] = threading.current_thread() is threading.main_thread()

    task = window.run_task(work, 2, 3, title="加法", on_done=done, scale=10)
    assert window.progress_bar.isVisible()
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen == {"worker": False, "result": 50, "gui": True}
    qtbot.waitUntil(lambda: not window.progress_bar.isVisible(), timeout=2000)
    assert task.state == "finished" and errors == []


def test_run_task_cancel_stops_the_work_without_error(window, qtbot, errors):
    calls = []
    started = threading.Event()

    def endless(progress=None):
        i = 0
        while True:  # stops only through the progress callback
            started.set()
            progress((i % 100) / 100, "working")
            calls.append(i)
            i += 1
            time.sleep(0.005)

    done = []
    task = window.run_task(endless, title="长任务", on_done=done.append)
    assert started.wait(5)
    qtbot.waitUntil(lambda: window.task_label.text().startswith("长任务"), timeout=3000)
    window.cancel_button.click()
    qtbot.waitUntil(lambda: task.state == "cancelled", timeout=5000)
    qtbot.waitUntil(lambda: not window.cancel_button.isVisible(), timeout=2000)
    n = len(calls)
    time.sleep(0.05)
    assert len(calls) == n  # the worker really stopped
    assert done == [] and errors == []
    assert "已取消" in window.statusBar().currentMessage()


def test_run_task_error_goes_to_a_message_box(window, qtbot, errors):
    def failing(progress=None):
        progress(0.5, "half")
        raise ParameterError("population raster has no CRS; choose another file")

    task = window.run_task(failing, title="失败的任务")
    qtbot.waitUntil(lambda: task.state == "failed" and bool(errors), timeout=5000)
    assert errors == ["population raster has no CRS; choose another file"]


def test_tasks_using_pyproj_repeatedly_do_not_crash(window, qtbot, errors):
    # pyproj 3.7 crashed on the second job of a Qt pool thread (freed per-thread PROJ context)
    results = []

    def project_point(progress=None):
        from pyproj import CRS, Transformer

        progress(0.5, "")
        transformer = Transformer.from_crs(4490, CRS.from_epsg(4547), always_xy=True)
        return transformer.transform(114.0, 32.0)

    for _ in range(6):
        window.run_task(project_point, title="投影", on_done=results.append)
        qtbot.waitUntil(lambda n=len(results): len(results) == n + 1, timeout=5000)
    assert len(results) == 6 and results[0][0] == pytest.approx(500_000.0) and errors == []


def test_cancelled_error_raised_by_progress():
    from riskmap.ui.tasks import Task

    task = Task(lambda progress=None: None)
    task.report(0.1, "ok")
    task.cancel()
    with pytest.raises(CancelledError):
        task.report(0.2, "next")


def test_status_bar_shows_coordinates_and_scale(window):
    window.canvas.cursor_moved.emit(114.07123, 32.12345)
    assert "114.07123" in window.coord_label.text() and "32.12345" in window.coord_label.text()
    assert "经度" in window.coord_label.text()
    window.canvas.scale_changed.emit(250000.0)
    assert window.scale_label.text().endswith("1:250,000")


def test_analysis_menu_opens_registered_panels(monkeypatch, project, qtbot, cjk_font):
    module = types.ModuleType("riskmap_test_dummy_panel")

    class DummyPanel(QDockWidget):
        def __init__(self, host):
            super().__init__("测试面板", host.widget)
            self.received = host
            self.setWidget(QLabel(f"{len(host.project.layers)} layers"))

    module.DummyPanel = DummyPanel
    monkeypatch.setitem(sys.modules, "riskmap_test_dummy_panel", module)
    import riskmap.ui.panels as panels

    monkeypatch.setattr(panels, "PANELS", (("riskmap_test_dummy_panel", "DummyPanel", "测试分析", "Test analysis"),))
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, restore=False)
    qtbot.addWidget(win)
    win._force_close = True
    actions = [a for a in win.analysis_menu.actions() if a.text() == "测试分析"]
    assert len(actions) == 1
    actions[0].trigger()
    dock = win.panels["riskmap_test_dummy_panel.DummyPanel"]
    assert dock.received is win.host and win.dockWidgetArea(dock) != 0  # panels get the narrow host
    actions[0].trigger()
    assert len(win.panels) == 1  # shown again, not created twice


def test_close_with_unsaved_changes_asks(window, monkeypatch, project):
    window._force_close = False
    asked = []
    answer = {"value": QMessageBox.Cancel}

    def question(*args, **kwargs):
        asked.append(args[2] if len(args) > 2 else "")
        return answer["value"]

    monkeypatch.setattr(QMessageBox, "question", question)
    window.close()  # nothing changed: no question
    assert asked == []
    window.show()
    project.layers[0].visible = False
    assert project.modified and window.isWindowModified()
    assert not window.close()
    assert len(asked) == 1 and window.isVisible()
    answer["value"] = QMessageBox.Discard
    assert window.close()
    assert len(asked) == 2 and not window.isVisible()


def test_language_setting_is_remembered(window, monkeypatch):
    infos = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: infos.append(a))
    window.actions["lang_en"].trigger()
    assert window.settings.value("language") == "en" and len(infos) == 1


def test_english_interface(project, qtbot, cjk_font):
    from riskmap.i18n import set_language
    from riskmap.ui.main_window import MainWindow

    set_language("en")
    win = MainWindow(project, restore=False)
    qtbot.addWidget(win)
    win._force_close = True
    titles = [a.text() for a in win.menuBar().actions()]
    assert "&File" in titles and "&Analysis" in titles
    assert win.actions["open"].text() == "Open project…"


def test_map_is_painted_with_layer_colours(window):
    image = canvas_image(window)
    assert close_to(pixel_at(window, 114.3, 32.35, image), "#2ca02c")  # county fill
    assert close_to(pixel_at(window, *PLANTS[0], image), "#d62728")  # hazchem plant
    assert close_to(pixel_at(window, *PLANTS[1], image), "#1f77b4")  # fireworks plant


# -- the bundled sample ---------------------------------------------------------------------
def _sample_project(**kwargs):
    """The committed sample as a project (a missing or broken sample fails the test)."""
    from riskmap.exports.sample_project import build_sample_project

    return build_sample_project(**kwargs)


def test_sample_window_counties_zoom_and_identify(qtbot, cjk_font):
    from PyQt5.QtCore import QPoint, Qt

    from riskmap.ui.main_window import MainWindow

    project = _sample_project(include_rasters=False)
    win = MainWindow(project, restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    assert win.canvas.wait_until_rendered(30000)
    names = win.county_nav.county_names()
    assert len(names) == 10 and "平桥区" in names and "固始县" in names
    counties = win.county_nav.layer
    assert counties.name == "县区边界" and counties.style.label_field == "name"
    bounds = counties.gdf.to_crs(4490).geometry[counties.gdf["name"] == "平桥区"].total_bounds
    assert win.county_nav.zoom_to_county("平桥区")
    minx, miny, maxx, maxy = win.canvas.extent()
    assert minx <= bounds[0] and maxx >= bounds[2] and miny <= bounds[1] and maxy >= bounds[3]
    assert (maxx - minx) < 1.2  # much closer than the whole city (~2.3°)
    assert win.canvas.wait_until_rendered(30000)

    plants = project.layers["企业"]
    inside = plants.features_in_bbox(win.canvas.extent())
    target = int(inside[0])
    win.zoom_to(plants.display_geoms[target].buffer(0.002).bounds)  # close enough to hit one plant
    assert win.canvas.wait_until_rendered(30000)
    win.set_tool("identify")
    p = win.canvas.map_to_pixel(plants.display_geoms[target].x, plants.display_geoms[target].y)
    qtbot.mouseClick(win.canvas, Qt.LeftButton, pos=QPoint(int(round(p.x())), int(round(p.y()))))
    values = win.identify_dock.values()
    assert values["企业名称"] == plants.gdf["name"].iat[target]
    assert "行业类别" in values and "危险化学品(t)" in values


def test_window_geometry_and_recent_projects_are_remembered(window, qtbot, project, tmp_path):
    from riskmap.ui.main_window import MainWindow

    window.resize(900, 640)
    window.save_project_as(tmp_path / "p.rmp")
    window.close()
    assert window.settings.value("window/geometry") is not None
    again = MainWindow(project, restore=True)
    again._force_close = True
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (900, 640)
    assert again.recent_projects() == [str((tmp_path / "p.rmp").resolve())]
    assert again.recent_menu.isEnabled() and len(again.recent_menu.actions()) == 1


def test_view_actions_and_shortcuts(window, project):
    full = window.canvas.extent()
    assert window.actions["zoom_in"].shortcut().toString() == "Ctrl++"
    window.actions["zoom_in"].trigger()
    e = window.canvas.extent()
    assert (e[2] - e[0]) == pytest.approx((full[2] - full[0]) / 2, rel=1e-6)
    window.actions["zoom_out"].trigger()
    window.actions["zoom_out"].trigger()
    e = window.canvas.extent()
    assert (e[2] - e[0]) == pytest.approx((full[2] - full[0]) * 2, rel=1e-6)
    window.layer_panel.set_current_layer(project.layers["道路"])
    window.actions["zoom_layer"].trigger()
    e = window.canvas.extent()
    assert e[0] <= 114.0 and e[2] >= 115.0 and (e[2] - e[0]) < 1.5
    window.actions["zoom_full"].trigger()
    e = window.canvas.extent()
    assert e[0] <= 114.0 and e[2] >= 115.0 and e[1] <= 32.0 and e[3] >= 32.5
    for key in ("identify", "select", "measure_distance", "measure_area"):
        window.actions[key].trigger()
        assert window.canvas.map_tool() is window.tools[key] and window.current_tool() is window.tools[key]
    window.actions["pan"].trigger()
    assert isinstance(window.canvas.map_tool(), PanZoomTool)
    assert window.actions["pan"].isChecked() and window.current_tool() is None
    assert window.actions["open"].shortcut().toString() == "Ctrl+O"
    assert window.actions["save"].shortcut().toString() == "Ctrl+S"
    assert window.actions["add_data"].shortcut().toString() == "Ctrl+Shift+A"


@pytest.mark.parametrize("previous", ["identify", "select", "measure_distance", "measure_area"])
def test_pan_button_replaces_the_previous_tool(window, qtbot, previous):
    """Clicking the toolbar's pan button after another tool makes pan/zoom the canvas tool and unchecks the other."""
    def click(key):
        button = window.toolbar.widgetForAction(window.actions[key])
        assert button is not None and button.isVisible(), key
        qtbot.mouseClick(button, Qt.LeftButton)

    click(previous)
    tool = window.tools[previous]
    assert window.canvas.map_tool() is tool and window.actions[previous].isChecked()
    click("pan")
    active = window.canvas.map_tool()
    assert isinstance(active, PanZoomTool) and active is not tool
    assert window.actions["pan"].isChecked() and not window.actions[previous].isChecked()
    assert window.current_tool() is None
    # a drag on the canvas pans the view instead of feeding the previous tool
    before = window.canvas.extent()
    qtbot.mousePress(window.canvas, Qt.LeftButton, pos=QPoint(400, 300))
    move = QMouseEvent(QMouseEvent.MouseMove, QPointF(500, 300), Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window.canvas, move)  # qtbot.mouseMove carries no pressed button
    qtbot.mouseRelease(window.canvas, Qt.LeftButton, pos=QPoint(500, 300))
    after = window.canvas.extent()
    assert after[0] < before[0] and after[2] < before[2] and after[1] == pytest.approx(before[1])


def test_a_failing_on_done_shows_a_message_not_a_crash(window, qtbot, errors, capsys):
    def broken_panel_callback(result):
        raise ValueError("panel bug")

    task = window.run_task(lambda progress=None: 1, title="x", on_done=broken_panel_callback)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert task.state == "finished" and "内部错误" in errors[0]
    assert "panel bug" not in errors[0] and "ValueError: panel bug" in errors.details[0]  # only under 详细信息
    assert "ValueError" in capsys.readouterr().err  # the traceback is kept for the developer


def test_all_panels_fit_a_laptop_screen_tabbed_with_room_for_tables(window, qtbot):
    """Issue 19: on 1366×768 all the analysis panels open at once stay on screen, tabbed; tables keep 8 rows."""
    from PyQt5.QtWidgets import QAbstractItemView, QScrollArea

    from riskmap.ui.panels import PANELS

    window.resize(1366, 768)
    for module, cls_name, label, _en in PANELS:
        action = next(a for a in window.analysis_menu.actions() if a.text() == label)
        action.trigger()  # as a user opens them from the 分析 menu
    qtbot.wait(50)  # let the layout settle (no timing assertion)
    docks = list(window.panels.values())
    assert len(docks) == len(PANELS) >= 6  # relocation, roads, pipelines, tailings; QRA and threat zones (issue 13)
    assert window.width() <= 1366 and window.height() <= 768  # the docks did not grow the window
    assert all(window.dockWidgetArea(d) == Qt.RightDockWidgetArea for d in docks)
    assert all(len(window.tabifiedDockWidgets(d)) == len(docks) - 1 for d in docks), "one tabbed dock area"
    for dock in docks:
        assert isinstance(dock.widget(), QScrollArea)  # a tall form scrolls instead of growing the window
        dock.raise_()
        qtbot.waitUntil(dock.isVisible, timeout=5000)
        for table in dock.findChildren(QAbstractItemView):
            if table.isVisibleTo(dock) and hasattr(table, "horizontalHeader"):
                rows = (table.viewport().height()) / table.verticalHeader().defaultSectionSize()
                assert rows >= 8, (dock.objectName(), rows)


def test_panel_place_is_remembered(project, qtbot, tmp_path):
    """A panel the user moved to the left comes back there in the next session (saved window state)."""
    from PyQt5.QtCore import QSettings

    from riskmap.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "state.ini"), QSettings.IniFormat)
    first = MainWindow(project, settings=settings, restore=False)
    first._force_close = True
    qtbot.addWidget(first)
    first.show()
    dock = first.show_panel("riskmap.ui.panels.tailings", "TailingsPanel")
    first.addDockWidget(Qt.LeftDockWidgetArea, dock)  # the user drags it to the left
    first.save_settings()
    first.close()
    second = MainWindow(project, settings=QSettings(str(tmp_path / "state.ini"), QSettings.IniFormat), restore=True)
    second._force_close = True
    qtbot.addWidget(second)
    second.show()
    again = second.show_panel("riskmap.ui.panels.tailings", "TailingsPanel")
    assert second.dockWidgetArea(again) == Qt.LeftDockWidgetArea
    fresh = second.show_panel("riskmap.ui.panels.pipelines", "PipelinesPanel")
    assert second.dockWidgetArea(fresh) == Qt.RightDockWidgetArea  # never placed: the default area
