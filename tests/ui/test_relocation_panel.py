"""The relocation panel in the real main window (offscreen): run, styled layers, table ↔ map, what-if, undo."""
import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import rasterio
import shapely
from PyQt5.QtCore import QSettings, Qt
from rasterio.transform import from_origin

from riskmap.project import Project

pytestmark = pytest.mark.gui

GK = "EPSG:4547"
LEFT, TOP, CELL = 490_000.0, 3_570_000.0, 100.0
TOWN_XY = (499_000, 3_561_000)  # centre of a 2 × 2 km town of 8,000 persons/km²
FIELD_XY = (505_000, 3_552_000)  # rural, 50 persons/km²
SCHOOL_SIDE_XY = (492_000, 3_555_000)


def _to_lonlat(xy):
    xy = np.asarray(xy, float)
    return gpd.GeoSeries(shapely.points(xy[:, 0], xy[:, 1]), crs=GK).to_crs(4490).values


@pytest.fixture
def project(tmp_path):
    pop = np.full((200, 200), 0.5, "float32")
    pop[80:100, 80:100] = 80.0
    pop[5:25, 170:190] = 80.0  # a second town, in the north-east corner, far from every plant
    path = tmp_path / "人口.tif"
    with rasterio.open(path, "w", driver="GTiff", height=200, width=200, count=1, dtype="float32", crs=GK,
                       transform=from_origin(LEFT, TOP, CELL, CELL), nodata=-9999) as ds:
        ds.write(pop, 1)
    proj = Project()
    proj.add_raster(path, "人口密度")
    plants = gpd.GeoDataFrame(
        {"name": ["城内化工", "野外气站", "学校旁化工", "冶金厂"],
         "industry": ["hazchem", "hazchem", "hazchem", "metallurgy"],
         "safe_dist": [300.0, 400.0, np.nan, 200.0],
         "chemicals": ["液氯:30;液氨:20", "天然气:60", "甲醇:100", ""],
         "county": ["浉河区", "平桥区", "平桥区", "浉河区"],
         "企业类型": ["生产", "储存", "生产", ""]},
        geometry=_to_lonlat([TOWN_XY, FIELD_XY, SCHOOL_SIDE_XY, (499_500, 3_561_500)]), crs=4490)
    proj.add_vector(plants, "企业")
    sens = gpd.GeoDataFrame({"name": ["第一小学"], "category": ["school"]},
                            geometry=_to_lonlat([(492_200, 3_555_000)]), crs=4490)
    proj.add_vector(sens, "敏感目标")
    return proj


@pytest.fixture
def window(qtbot, project, tmp_path):
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True  # no "save changes?" question when the test closes the window
    qtbot.addWidget(win)
    yield win
    win.cancel_tasks()


def _layer(window, name):
    return next((lyr for lyr in window.project.layers if lyr.name == name), None)


@pytest.fixture
def panel(qtbot, window):
    panel = window.show_panel("riskmap.ui.panels.relocation", "RelocationPanel")
    assert panel.plants_combo.layer().name == "企业"
    assert panel.population_combo.layer().name == "人口密度"
    assert panel.sensitive_combo.layer().name == "敏感目标"
    panel.run()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    return panel


def _row_of(panel, name):
    names = list(panel.result.plants["name"])
    return names.index(name)


def _view_row_of(panel, name):
    model = panel.model
    for r in range(model.rowCount()):
        if model.index(r, 1).data() == name:
            return r
    raise AssertionError(name)


def test_panel_is_registered_in_the_analysis_menu(window):
    from riskmap.ui.panels import PANELS

    assert ("riskmap.ui.panels.relocation", "RelocationPanel") in {(p[0], p[1]) for p in PANELS}
    assert "panel:riskmap.ui.panels.relocation.RelocationPanel" in window.actions


def test_run_adds_styled_layers_and_a_ranked_table(panel, window):
    plants = _layer(window, "搬迁评估企业")
    zones = _layer(window, "外部安全防护区")
    dense = _layer(window, "人口密集区")
    assert plants is not None and zones is not None and dense is not None
    assert list(plants.gdf["name"]) == ["城内化工", "野外气站", "学校旁化工"]  # hazchem only
    assert plants.style.mode == "categorized" and plants.style.field == "relocate"
    colours = dict(zip(plants.gdf["name"], plants.feature_colors()))
    assert colours["城内化工"] == colours["学校旁化工"] != colours["野外气站"]
    zone_colours = dict(zip(zones.gdf["name"], zones.feature_colors()))
    assert zone_colours["城内化工"] != zone_colours["野外气站"]
    assert len(dense.gdf) == 1
    # table: sorted by priority, flagged first, reasons in Chinese
    assert panel.model.rowCount() == 3
    assert panel.model.index(0, 1).data() == "城内化工" and panel.model.index(0, 0).data() == "1"
    assert "与城镇人口密集区重叠" in panel.model.index(0, 10).data()  # the reasons column
    assert panel.model.index(2, 1).data() == "野外气站" and panel.model.index(2, 0).data() == ""
    assert "建议搬迁 2 家" in panel.summary.text()


def test_clicking_a_row_zooms_and_selects(panel, window):
    before = window.canvas.extent()
    view_row = _view_row_of(panel, "野外气站")
    panel.table.clicked.emit(panel.model.index(view_row, 1))
    after = window.canvas.extent()
    assert after != before
    x, y = _to_lonlat([FIELD_XY])[0].coords[0]
    assert after[0] < x < after[2] and after[1] < y < after[3]
    assert after[2] - after[0] < 0.05  # zoomed to the 400 m zone
    plants = _layer(window, "搬迁评估企业")
    assert list(plants.selection) == [_row_of(panel, "野外气站")]


def test_editing_the_distance_recomputes_one_plant_and_undoes(panel, window):
    view_row = _view_row_of(panel, "学校旁化工")
    index = panel.model.index(view_row, 3)
    assert index.flags() & Qt.ItemIsEditable
    other_before = panel.result.plants.loc[panel.result.plants["name"] == "城内化工", "pop_exposed"].iat[0]
    assert panel.model.setData(index, "150", Qt.EditRole)
    plants = panel.result.plants.set_index("name")
    assert plants.loc["学校旁化工", "safe_dist"] == 150 and not plants.loc["学校旁化工", "relocate"]
    assert plants.loc["城内化工", "pop_exposed"] == other_before
    layer_row = _layer(window, "搬迁评估企业").gdf.set_index("name").loc["学校旁化工"]
    assert layer_row["safe_dist"] == 150 and not layer_row["relocate"]
    zone = _layer(window, "外部安全防护区").gdf.set_index("name").loc["学校旁化工"]
    assert gpd.GeoSeries([zone.geometry], crs=4490).to_crs(GK).area.iat[0] == pytest.approx(np.pi * 150 ** 2, rel=2e-3)
    assert "建议搬迁 1 家" in panel.summary.text() and panel.last_update_ms is not None
    window.undo_stack.undo()
    plants = panel.result.plants.set_index("name")
    assert plants.loc["学校旁化工", "safe_dist"] == 300 and plants.loc["学校旁化工", "relocate"]
    assert plants.loc["学校旁化工", "safe_dist_src"].startswith("默认表")
    window.undo_stack.redo()
    assert panel.result.plants.set_index("name").loc["学校旁化工", "safe_dist"] == 150


def test_a_bad_distance_is_refused_with_an_error(panel, window, monkeypatch):
    shown = []
    monkeypatch.setattr(window, "show_error", lambda exc: shown.append(str(exc)))
    index = panel.model.index(_view_row_of(panel, "学校旁化工"), 3)
    assert not panel.model.setData(index, "-3", Qt.EditRole)
    assert not panel.model.setData(panel.model.index(_view_row_of(panel, "学校旁化工"), 3), "abc", Qt.EditRole)
    assert len(shown) == 2 and "防护距离" in shown[0]
    assert panel.result.plants.set_index("name").loc["学校旁化工", "safe_dist"] == 300
    assert window.undo_stack.count() == 0


def test_moving_a_plant_into_a_far_town_finds_that_town_and_draws_it(panel, window, monkeypatch):
    """Dense areas are looked for where the zones reach; a plant moved beyond that gets them looked for there."""
    monkeypatch.setattr(window, "show_error", lambda exc: (_ for _ in ()).throw(AssertionError(str(exc))))
    dense = _layer(window, "人口密集区")
    assert len(dense.gdf) == 1  # the far town is not where any zone reaches
    row = _row_of(panel, "野外气站")
    x, y = _to_lonlat([(508_000, 3_568_500)])[0].coords[0]  # the far town's centre
    panel.move_plant(row, x, y)
    moved = panel.result.plants.iloc[row]
    assert moved["in_dense"] and moved["dense_km2"] == pytest.approx(np.pi * 0.4 ** 2, rel=1e-3)
    assert len(panel.result.dense_areas) == 2 and len(dense.gdf) == 2  # the map's layer has it too
    window.undo_stack.undo()
    assert not panel.result.plants.iloc[row]["in_dense"]


def test_moving_a_plant_into_town_flags_it(panel, window, monkeypatch):
    monkeypatch.setattr(window, "show_error", lambda exc: (_ for _ in ()).throw(AssertionError(str(exc))))
    row = _row_of(panel, "野外气站")
    x, y = _to_lonlat([(498_500, 3_560_500)])[0].coords[0]
    panel.move_plant(row, x, y)
    moved = panel.result.plants.iloc[row]
    assert moved["relocate"] and moved["in_dense"]
    assert "与城镇人口密集区重叠" in moved["reasons"]
    assert moved["pop_exposed"] == pytest.approx(8000 * np.pi * 0.4 ** 2, rel=1e-3)
    assert _layer(window, "搬迁评估企业").gdf["relocate"].iat[row]
    window.undo_stack.undo()
    back = panel.result.plants.iloc[row]
    assert not back["relocate"] and back["pop_exposed"] == pytest.approx(50 * np.pi * 0.4 ** 2, rel=1e-3)


def test_move_tool_drags_a_plant(panel, window, qtbot):
    from PyQt5.QtCore import QPoint

    panel.move_button.setChecked(True)
    row = _row_of(panel, "野外气站")
    start = _to_lonlat([FIELD_XY])[0].coords[0]
    end = _to_lonlat([(498_500, 3_560_500)])[0].coords[0]
    window.zoom_to((min(start[0], end[0]), min(start[1], end[1]), max(start[0], end[0]), max(start[1], end[1])))
    canvas = window.canvas
    a, b = canvas.map_to_pixel(*start), canvas.map_to_pixel(*end)
    qtbot.mousePress(canvas, Qt.LeftButton, pos=QPoint(int(a.x()), int(a.y())))
    qtbot.mouseMove(canvas, QPoint(int(b.x()), int(b.y())))
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=QPoint(int(b.x()), int(b.y())))
    moved = panel.result.plants.iloc[row]
    assert moved["relocate"] and moved["in_dense"]
    panel.move_button.setChecked(False)


def test_export_report(panel, tmp_path):
    path = panel.export_report(tmp_path / "搬迁评估报告.xlsx")
    wb = openpyxl.load_workbook(path)
    assert [s.title for s in wb.worksheets if s.sheet_state == "visible"] == ["县区汇总", "企业明细", "来源说明"]
    assert wb["企业明细"]["A2"].value == "城内化工"


def test_run_without_a_raster_shows_an_error(qtbot, window, monkeypatch):
    from riskmap.ui.panels.relocation import RelocationPanel

    shown = []
    monkeypatch.setattr(window, "show_error", lambda exc: shown.append(str(exc)))
    for layer in [lyr for lyr in window.project.layers if lyr.name == "人口密度"]:
        window.project.layers.remove(layer)
    panel = RelocationPanel(window)
    assert panel.run() is None and shown and "人口" in shown[0]


def test_undo_after_a_rerun_leaves_the_new_result_alone(panel, window, qtbot):
    assert panel.change_distance(_row_of(panel, "学校旁化工"), 150.0)
    first = panel.result
    panel.run()
    qtbot.waitUntil(lambda: panel.result is not first, timeout=30000)
    window.undo_stack.undo()
    assert panel.result.plants.set_index("name").loc["学校旁化工", "safe_dist"] == 300
    assert panel.result.plants.set_index("name").loc["学校旁化工", "relocate"]


def test_a_spreadsheet_the_user_adds_is_picked_and_assessed(window, qtbot, tmp_path):
    """An agency spreadsheet (Chinese headers, 经纬度, stock written "液氯30吨、液氨15吨"): added to the project,
    the panel picks it (not the layer that was there) and the reasons quote its numbers."""
    import openpyxl
    from PyQt5.QtCore import Qt

    from riskmap import io

    lon, lat = _to_lonlat([TOWN_XY])[0].x, _to_lonlat([TOWN_XY])[0].y
    path = tmp_path / "危化企业台账.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["企业名称", "经度", "纬度", "企业类型", "危险化学品及储量", "外部安全防护距离"])
    ws.append(["台账化工厂", lon, lat, "生产", "液氯30吨、液氨15吨", "700米"])
    ws.append(["台账加油站", lon + 0.001, lat, "加油加气站", "汽油 80t", 100])
    wb.save(path)
    panel = window.show_panel("riskmap.ui.panels.relocation", "RelocationPanel")
    assert panel.plants_combo.layer().name == "企业"
    layer = window.project.add_vector(io.read_vector(path), "危化企业台账", source=str(path))
    assert panel.plants_combo.layer() is layer  # the layer just added
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    with qtbot.waitSignal(panel.task.done, timeout=60000):
        pass
    plants = panel.result.plants.set_index("name")
    plant = plants.loc["台账化工厂"]
    # 液氯 30/5 + 液氨 15/10 = 7.5 ≥ 1: a major hazard; in town → relocate
    assert plant["S"] == pytest.approx(7.5) and plant["major_hazard"] and plant["relocate"]
    assert plant["reasons"].startswith("外部安全防护距离700 m（安全评价报告）")
    station = plants.loc["台账加油站"]
    assert not station["relocate"] and station["verdict"] == "不适用" and "加油加气站" in station["reasons"]
    assert panel.analysis_result.provenance["inputs"]["plants"]["path"].endswith("危化企业台账.xlsx")


def test_clicking_a_row_shows_its_reasons_wrapped(panel, qtbot):
    """The reasons of the selected plant are shown whole below the table (a cell cuts them off)."""
    from PyQt5.QtCore import Qt

    view_row = _view_row_of(panel, "城内化工")
    rect = panel.table.visualRect(panel.model.index(view_row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=rect.center())
    text = panel.details.text()
    reasons = panel.result.plants["reasons"].iat[_row_of(panel, "城内化工")]
    assert text.startswith("城内化工：建议搬迁") and reasons in text and "分级依据：" in text
    assert panel.details.wordWrap()
