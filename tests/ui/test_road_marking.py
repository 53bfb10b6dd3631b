"""The road hazard panel in the real main window (offscreen): mark, edit, undo/redo, review, save and reopen."""
import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import shapely
from PyQt5.QtCore import QDate, QPoint, QSettings, Qt

from riskmap import crs as crs_policy
from riskmap.analysis import register as reg
from riskmap.project import Project

pytestmark = pytest.mark.gui

GK = "EPSG:4547"
X0, Y0 = 500_000.0, 3_560_000.0


def to_map(x, y):
    lon, lat = crs_policy.transform_xy([x], [y], GK, 4490)
    return float(lon[0]), float(lat[0])


@pytest.fixture
def project():
    a = np.radians(np.linspace(0, 90, 40))
    bend = [(X0, Y0), (X0 + 1500, Y0)] + list(zip(X0 + 1500 + 30 * np.sin(a), Y0 + 30 * (1 - np.cos(a)))) + \
        [(X0 + 1530, Y0 + 1200)]
    roads = gpd.GeoDataFrame({"name": ["Y108天台寨路"], "code": ["Y108"], "road_class": ["county"], "speed_kmh": [40]},
                             geometry=[shapely.LineString(bend)], crs=GK).to_crs(4490)
    water = gpd.GeoDataFrame({"name": ["南湾水库"]}, geometry=[shapely.box(X0 + 200, Y0 - 400, X0 + 900, Y0 - 25)],
                             crs=GK).to_crs(4490)
    counties = gpd.GeoDataFrame({"name": ["浉河区"], "adcode": [411502]},
                                geometry=[shapely.box(X0 - 3000, Y0 - 3000, X0 + 3000, Y0 + 3000)], crs=GK).to_crs(4490)
    proj = Project()
    proj.add_vector(counties, "县区边界")
    proj.add_vector(water, "水体")
    proj.add_vector(roads, "道路")
    proj.set_extent(tuple(roads.total_bounds + np.array([-0.002, -0.002, 0.002, 0.002])))
    proj.modified = False
    return proj


@pytest.fixture
def window(qtbot, project, tmp_path):
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.cancel_tasks()


def click(qtbot, window, x, y, button=Qt.LeftButton):
    p = window.canvas.map_to_pixel(x, y)
    qtbot.mouseClick(window.canvas, button, pos=QPoint(int(round(p.x())), int(round(p.y()))))


def open_panel(window):
    from riskmap.ui.panels.roads import RoadHazardPanel

    assert "panel:riskmap.ui.panels.roads.RoadHazardPanel" in window.actions
    panel = window.show_panel("riskmap.ui.panels.roads", "RoadHazardPanel")
    assert isinstance(panel, RoadHazardPanel)
    return panel


def mark(qtbot, window, panel, start_x, end_x):
    """Mark a segment on the map: pick the road, click start and end (slightly off the road)."""
    panel.set_marking(True)
    assert window.canvas.map_tool() is panel.tool
    window.zoom_to((*to_map(X0 - 100, Y0 - 300), *to_map(X0 + 1700, Y0 + 300)))
    click(qtbot, window, *to_map(X0 + 700, Y0 + 2))
    assert panel.tool.step == "start"
    click(qtbot, window, *to_map(start_x, Y0 + 3))
    assert panel.tool.step == "end"
    click(qtbot, window, *to_map(end_x, Y0 - 3))
    assert panel.tool.step == "start"  # ready for the next segment on the same road


def test_mark_edit_undo_redo_save_and_reopen(qtbot, window, tmp_path):
    panel = open_panel(window)
    panel.new_kind.setCurrentIndex(panel.new_kind.findData("near_water"))
    mark(qtbot, window, panel, X0 + 300, X0 + 800)
    assert len(panel.register) == 1
    seg = next(iter(panel.register))
    assert seg.kind == "near_water" and seg.road == "Y108天台寨路" and seg.county == "浉河区"
    # the click positions are map pixels: the snapped chainage is close to the clicked one
    assert seg.start_m == pytest.approx(300, abs=10) and seg.end_m == pytest.approx(800, abs=10)
    assert panel.segment_table.rowCount() == 1 and panel.segment_table.item(0, 2).text() == "临水"
    layer = next(lyr for lyr in window.project.layers if lyr.name == "隐患路段登记")
    assert len(layer.gdf) == 1

    # edit through the form: status, deadline, note, severity
    panel.select_segment(seg.id)
    panel.status_edit.setCurrentIndex(panel.status_edit.findData("filed"))
    panel.severity_edit.setCurrentIndex(panel.severity_edit.findData("重大风险"))
    panel.deadline_check.setChecked(True)
    panel.deadline_edit.setDate(QDate(2026, 6, 30))
    panel.note_edit.setText("增设护栏和警示标志")
    panel.apply_edit()
    seg = panel.register.get(seg.id)
    assert (seg.status, seg.severity, seg.deadline, seg.note) == ("filed", "重大风险", "2026-06-30", "增设护栏和警示标志")
    assert panel.segment_table.item(0, 5).text() == "建档"

    stack = window.undo_stack
    stack.undo()  # the edit
    assert (seg.status, seg.severity, seg.deadline, seg.note) == ("identified", "较大风险", None, "")
    assert panel.segment_table.item(0, 5).text() == "排查"
    stack.undo()  # the creation
    assert len(panel.register) == 0 and panel.segment_table.rowCount() == 0
    assert len(layer.gdf) == 0
    stack.redo()
    stack.redo()
    seg = panel.register.get(seg.id)
    assert (seg.status, seg.deadline) == ("filed", "2026-06-30")
    assert len(layer.gdf) == 1

    # save, reopen the project, find the segment again (also in a new window's panel)
    assert window.project.modified
    path = window.project.save(tmp_path / "道路隐患.rmp")
    reopened = Project.load(path)
    back = reg.HazardRegister.from_project(reopened).get(seg.id)
    assert (back.kind, back.status, back.deadline, back.note, back.km_label) == (
        "near_water", "filed", "2026-06-30", "增设护栏和警示标志", seg.km_label)
    window.set_project(reopened)
    panel2 = open_panel(window)
    assert panel2.register.ids() == [seg.id]
    assert panel2.segment_table.item(0, 5).text() == "建档"
    assert not window.project.modified  # opening the panel does not change the project


def test_split_merge_delete_with_undo(qtbot, window):
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 200, X0 + 1000)
    (seg,) = panel.register
    panel.select_segment(seg.id)
    panel.split_selected(at_m=600)
    assert [round(s.end_m) for s in panel.register] == [600, round(seg.end_m)]
    assert panel.segment_table.rowCount() == 2
    panel.segment_table.selectAll()
    panel.merge_selected()
    assert len(panel.register) == 1
    panel.segment_table.selectAll()
    panel.delete_selected()
    assert len(panel.register) == 0
    for _ in range(3):
        window.undo_stack.undo()
    assert len(panel.register) == 1 and panel.register.get(seg.id).end_m == pytest.approx(seg.end_m)
    assert window.undo_stack.undoText().startswith("新增隐患路段")


def test_detect_review_and_progress(qtbot, window, tmp_path):
    panel = open_panel(window)
    assert panel.roads_combo.layer().name == "道路"
    assert panel.water_combo.layer().name == "水体"
    task = panel.run()
    qtbot.waitUntil(lambda: not task.is_running, timeout=30000)
    qtbot.waitUntil(lambda: len(panel.register.candidates) > 0, timeout=5000)
    kinds = sorted(c.kind for c in panel.register.candidates.values())
    assert kinds == ["near_water", "sharp_bend"]
    assert panel.candidate_table.rowCount() == 2
    panel.kind_filter.setCurrentIndex(panel.kind_filter.findData("sharp_bend"))
    assert panel.candidate_table.rowCount() == 1
    assert panel.candidate_table.item(0, 3).text().startswith("R=")
    panel.accept_all_shown()
    panel.kind_filter.setCurrentIndex(0)
    assert panel.candidate_table.rowCount() == 1
    panel.candidate_table.selectRow(0)
    panel.reject_selected()
    assert not panel.register.candidates
    (bend,) = panel.register
    assert bend.kind == "sharp_bend" and bend.county == "浉河区" and bend.source == "auto"
    # progress table: one county row and the total
    assert panel.progress_table.rowCount() == 2
    assert panel.progress_table.item(0, 0).text() == "浉河区"
    assert panel.progress_table.item(0, 1).text() == "1"
    window.undo_stack.undo()  # the rejection
    assert len(panel.register.candidates) == 1
    out = panel.export_excel(tmp_path / "登记.xlsx")
    assert [s.title for s in openpyxl.load_workbook(out).worksheets if s.sheet_state == "visible"] == [
        "隐患路段登记", "县区进度", "变更记录", "来源说明"]
    gpkg = panel.export_gpkg(tmp_path / "登记.gpkg")
    assert gpd.read_file(gpkg, layer="hazard_register").kind.tolist() == ["sharp_bend"]


def test_escape_and_right_click_step_back(qtbot, window):
    panel = open_panel(window)
    panel.set_marking(True)
    window.zoom_to((*to_map(X0 - 100, Y0 - 300), *to_map(X0 + 1700, Y0 + 300)))
    click(qtbot, window, *to_map(X0 + 700, Y0 + 2))
    click(qtbot, window, *to_map(X0 + 300, Y0))
    assert panel.tool.step == "end"
    click(qtbot, window, *to_map(X0 + 300, Y0), button=Qt.RightButton)
    assert panel.tool.step == "start"
    qtbot.keyClick(window.canvas, Qt.Key_Escape)
    assert panel.tool.step == "road"
    click(qtbot, window, *to_map(X0 + 700, Y0 + 2000))  # nowhere near the road
    assert panel.tool.step == "road"
    panel.set_marking(False)
    assert window.canvas.map_tool() is not panel.tool


def test_panel_in_english(qtbot, window):
    from riskmap.i18n import set_language

    set_language("en")
    try:
        window.set_project(window.project)
        panel = open_panel(window)
        assert panel.windowTitle() == "Road hazard register"
        assert panel.tabs.tabText(2) == "Register"
        assert panel.kind_filter.itemText(1) == "Sharp bend"
    finally:
        set_language("zh")


def test_accept_all_then_full_extent_and_candidates_in_view(qtbot, window, errors):
    """Issue 19: after 全部采纳 the empty candidate layer does not break 全图; detection shows the first candidate."""
    far = gpd.GeoDataFrame({"name": ["远处"]}, geometry=[shapely.box(X0 + 40_000, Y0 + 30_000, X0 + 41_000,
                                                                     Y0 + 31_000)], crs=GK).to_crs(4490)
    window.project.add_vector(far, "远处图层")
    window.actions["zoom_full"].trigger()
    full = window.canvas.extent()
    panel = open_panel(window)
    task = panel.run()
    qtbot.waitUntil(lambda: not task.is_running, timeout=30000)
    qtbot.waitUntil(lambda: len(panel.register.candidates) > 0, timeout=5000)
    view = window.canvas.extent()
    first = panel.register.candidates[panel._cand_ids[0]].geometry
    fx0, fy0, fx1, fy1 = gpd.GeoSeries([first], crs=panel.register.crs).to_crs(4490).total_bounds
    assert view[0] <= fx0 and fx1 <= view[2] and view[1] <= fy0 and fy1 <= view[3]
    assert (view[2] - view[0]) < 0.2 * (full[2] - full[0])  # zoomed in, not the whole area
    assert panel.candidate_table.selectionModel().isRowSelected(0, panel.candidate_table.rootIndex())
    panel.accept_all_shown()
    assert not panel.register.candidates
    window.actions["zoom_full"].trigger()
    after = window.canvas.extent()
    assert all(np.isfinite(after)) and not errors
    fx0, fy0, fx1, fy1 = far.total_bounds
    assert after[0] <= fx0 and fx1 <= after[2] and after[1] <= fy0 and fy1 <= after[3]  # the far layer too
    rx0, ry0, rx1, ry1 = window.project.layers["道路"].gdf.total_bounds
    assert after[0] <= rx0 and rx1 <= after[2] and after[1] <= ry0 and ry1 <= after[3]
    union_w = fx1 - window.project.layers["县区边界"].gdf.total_bounds[0]
    assert (after[2] - after[0]) < 1.6 * union_w  # fitted to the layers, not a fallback extent
