"""The pipeline-HCA and tailings panels in the real main window (offscreen)."""
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from PyQt5.QtCore import QSettings
from rasterio.transform import from_origin

from riskmap.layers import RasterLayer
from riskmap.project import Project

pytestmark = pytest.mark.gui

GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0
DAM = (X0 + 1500, Y0)


def _raster(path, data, left, top, cell):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype="float32", crs=GK, transform=from_origin(left, top, cell, cell), nodata=-9999) as ds:
        ds.write(data.astype("float32"), 1)
    return path


@pytest.fixture
def project(tmp_path):
    # population: a town by the pipeline (8–9 km) and a village 800 m below the dam
    pop = np.zeros((60, 220), "float32")  # 100 m cells from (X0 - 1000, Y0 + 3000)
    pop[7:13, 90:100] = 10.0   # town at x 8–9 km, y 1.7–2.3 km: 400 people within 200 m of the pipeline
    pop[29:31, 32:34] = 25.0   # village at x 2.2–2.4 km, y ±100 m: 800 m below the dam
    pop_path = _raster(tmp_path / "人口.tif", pop, X0 - 1000, Y0 + 3000, 100)
    nx, ny, cell = 200, 120, 30.0
    xs = X0 + (np.arange(nx) + 0.5) * cell
    ys = (Y0 + ny / 2 * cell) - (np.arange(ny) + 0.5) * cell
    X, Y = np.meshgrid(xs, ys)
    dem_path = _raster(tmp_path / "dem.tif", 300 - 0.03 * (X - X0) + 0.15 * np.abs(Y - Y0), X0, Y0 + ny / 2 * cell,
                       cell)
    proj = Project()
    # the rasters are inputs here, not drawn: concurrent raster rendering in the canvas workers has crashed
    # inside PROJ (pyproj + rasterio's own PROJ) during teardown; reported to the lead
    proj.add_raster(dem_path, "DEM").visible = False
    proj.add_raster(pop_path, "人口密度").visible = False
    line = gpd.GeoDataFrame({"name": ["西气东输", "镇区燃气干管"], "medium": ["gas", "gas"], "diam_mm": [1016.0, 315.0],
                             "press_mpa": [10.0, 0.4], "kind": ["trunk", "urban_main"]},
                            geometry=[shapely.LineString([(X0, Y0 + 2000), (X0 + 20000, Y0 + 2000)]),
                                      shapely.LineString([(X0 + 8000, Y0 + 2100), (X0 + 9000, Y0 + 2100)])],
                            crs=GK).to_crs(4490)
    proj.add_vector(line, "油气管道")
    sens = gpd.GeoDataFrame({"name": ["沿线小学"], "category": ["school"]},
                            geometry=[shapely.Point(X0 + 15000, Y0 + 2030)], crs=GK).to_crs(4490)
    proj.add_vector(sens, "敏感目标")
    ponds = gpd.GeoDataFrame({"name": ["头顶库甲", "远库乙"], "capacity": [500.0, 50.0], "dam_height": [40.0, 20.0],
                              "downstream_az": [90.0, 90.0]},
                             geometry=[shapely.Point(*DAM), shapely.Point(X0 + 4500, Y0 - 1500)], crs=GK).to_crs(4490)
    proj.add_vector(ponds, "尾矿库")
    return proj


@pytest.fixture
def window(qtbot, project, tmp_path):
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True  # results make the project "modified": no save question on close
    qtbot.addWidget(win)
    yield win
    win.cancel_tasks()
    qtbot.waitUntil(lambda: not win._active_tasks(), timeout=30000)
    win.canvas.wait_until_rendered(10000)


def _layer(window, name):
    return next((lyr for lyr in window.project.layers if lyr.name == name), None)


def test_both_panels_are_in_the_analysis_menu(window):
    from riskmap.ui.panels import PANELS

    modules = {p[0] for p in PANELS}
    assert {"riskmap.ui.panels.pipelines", "riskmap.ui.panels.tailings"} <= modules
    assert "panel:riskmap.ui.panels.pipelines.PipelinesPanel" in window.actions
    assert "panel:riskmap.ui.panels.tailings.TailingsPanel" in window.actions


def test_pipelines_panel_runs_and_styles_hca_grades(qtbot, window):
    panel = window.show_panel("riskmap.ui.panels.pipelines", "PipelinesPanel")
    assert panel.pipelines_combo.layer().name == "油气管道"
    assert panel.population_combo.layer().name == "人口密度"
    assert panel.sensitive_combo.layer().name == "敏感目标"
    assert panel.roads_combo.layer() is None
    # the optional protected-area (oil e) and buildings inputs come from the declaration, unset here
    assert panel.protected_combo.layer() is None and panel.buildings_combo.layer() is None
    panel.run()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    hca = _layer(window, "管道高后果区")
    assert hca is not None and len(hca.gdf) == 2
    assert hca.style.mode == "categorized" and hca.style.field == "hca_grade"
    assert len(set(hca.style.categories.values())) == 3 and set(hca.style.categories) == {"I", "II", "III"}
    colours = hca.feature_colors()
    assert set(colours) == {hca.style.categories["II"]}
    assert _layer(window, "管道保护范围") is not None and len(_layer(window, "占压与安全间距核查").gdf) == 1
    # the two HCA rows of the trunk line, then the city-gas main, which is not HCA-assessed
    assert panel.table.rowCount() == 3 and "高后果区" in panel.table.item(0, 4).text()
    assert panel.table.item(2, 0).text() == "镇区燃气干管"
    assert panel.table.item(2, 4).text().startswith("城镇燃气管道（GB 50028），不适用GB 32167")
    qtbot.waitUntil(panel.run_button.isEnabled, timeout=5000)  # re-enabled when the task is done
    before = window.canvas.extent()
    panel.table.cellClicked.emit(1, 0)
    after = window.canvas.extent()
    assert after != before


def test_tailings_panel_highlights_overhead_ponds_with_corridors(qtbot, window):
    panel = window.show_panel("riskmap.ui.panels.tailings", "TailingsPanel")
    assert panel.tailings_combo.layer().name == "尾矿库"
    assert panel.dem_combo.layer().name == "DEM" and panel.population_combo.layer().name == "人口密度"
    assert panel.facility_checks and all(box.text() != "尾矿库" for box in panel.facility_checks.values())
    panel.run()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    ponds = _layer(window, "尾矿库等别与头顶库")
    assert ponds.gdf.set_index("name")["overhead"].to_dict() == {"头顶库甲": True, "远库乙": False}
    assert ponds.style.field == "overhead_zh" and ponds.style.categories["是"] != ponds.style.categories["否"]
    corridors = _layer(window, "尾矿库下游范围")
    assert len(corridors.gdf) == 2 and corridors.style.field == "overhead_zh"
    assert panel.table.rowCount() == 2 and panel.table.item(0, 0).text() == "头顶库甲"  # 头顶库 listed first
    assert panel.table.item(0, 1).text() == "是"
    # sorted by the user (two clicks on the name header: descending), a row still zooms to its own pond
    from PyQt5.QtCore import QPoint, Qt

    from riskmap.ui.panels.common import bbox_in_map_crs

    header = panel.table.horizontalHeader()
    for _ in range(2):
        qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(header.sectionSize(0) // 2, header.height() // 2))
    assert panel.table.item(0, 0).text() == "远库乙"
    qtbot.waitUntil(panel.run_button.isEnabled, timeout=5000)
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton,
                     pos=panel.table.visualRect(panel.table.model().index(0, 0)).center())
    far = corridors.gdf.loc[corridors.gdf["name"] == "远库乙"]
    minx, miny, maxx, maxy = bbox_in_map_crs(far, window.project.map_crs)
    ex = window.canvas.extent()
    assert ex[0] <= minx and ex[2] >= maxx and ex[1] <= miny and ex[3] >= maxy
    assert abs((ex[0] + ex[2]) / 2 - (minx + maxx) / 2) < 0.1 * (ex[2] - ex[0])  # centred on 远库乙, not 头顶库甲


def test_panel_without_input_layer_shows_an_error(window, monkeypatch):
    from riskmap.ui.panels.pipelines import PipelinesPanel

    shown = []
    monkeypatch.setattr(window, "show_error", lambda exc: shown.append(str(exc)))
    for layer in [lyr for lyr in window.project.layers if lyr.name == "油气管道"]:
        window.project.layers.remove(layer)
    panel = PipelinesPanel(window)
    assert panel.pipelines_combo.layer() is None
    assert panel.run() is None and shown and "管道" in shown[0]
