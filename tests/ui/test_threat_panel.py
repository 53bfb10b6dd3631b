"""The 事故后果威胁区 panel in the real main window (offscreen): opened from the Analysis menu, plant and
chemical picked from the plants layer, wind direction typed into its field, zones on the map by tier."""
import math

import geopandas as gpd
import pytest
import shapely
from PyQt5.QtCore import QSettings, Qt

from riskmap.project import Project

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path):
    from riskmap.ui.main_window import MainWindow

    proj = Project()
    plants = gpd.GeoDataFrame({"name": ["甲氯碱厂", "乙气站", "丙机械厂"], "industry": ["危化", "危化", "机械"],
                               "chemicals": ["液氯:10", "液化石油气:200", ""]},
                              geometry=[shapely.Point(114.10, 32.33), shapely.Point(114.20, 32.30),
                                        shapely.Point(114.15, 32.20)], crs=4490)
    proj.add_vector(plants, "企业")
    win = MainWindow(proj, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    yield win
    win.cancel_tasks()
    qtbot.waitUntil(lambda: not win._active_tasks(), timeout=30000)
    win.canvas.wait_until_rendered(10000)


def _layer(window, name):
    return next((lyr for lyr in window.project.layers if lyr.name == name), None)


def test_threat_panel_draws_chlorine_zones_downwind_of_the_chosen_wind(qtbot, window):
    window.actions["panel:riskmap.ui.panels.threat.ThreatPanel"].trigger()
    panel = window.panels["riskmap.ui.panels.threat.ThreatPanel"]
    assert panel.plants_combo.layer().name == "企业"
    # plants storing a modelled chemical only; the chosen plant's own chemicals first
    assert [panel.plant_combo.itemText(i) for i in range(panel.plant_combo.count())] == ["乙气站", "甲氯碱厂"]
    panel.plant_combo.setCurrentIndex(panel.plant_combo.findText("甲氯碱厂"))
    assert panel.chemical_combo.currentData() == "氯" and "10 t" in panel.chemical_combo.currentText()

    form = panel.form
    form.widget("release").setCurrentIndex(form.widget("release").findData("hole"))
    form.widget("stability").setCurrentIndex(form.widget("stability").findData("D"))
    spin = form.widget("wind_speed")
    spin.setValue(5.0)
    wind = form.widget("wind_from")
    wind.selectAll()
    qtbot.keyClicks(wind, "90")
    qtbot.keyClick(wind, Qt.Key_Tab)
    assert form.value("wind_from") == 90.0
    assert "东方" in panel.direction_note.text() and "西方" in panel.direction_note.text()

    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    zones = _layer(window, "威胁区（毒性）")
    assert zones is not None and sorted(zones.gdf["tier"]) == [1, 2, 3]
    assert list(zones.gdf["tier"]) == [1, 2, 3]  # yellow drawn first, red on top
    assert zones.style.field == "tier"
    colours = dict(zip(zones.gdf["tier"], zones.feature_colors()))
    assert colours == {3: "#d7191c", 2: "#fd8d3c", 1: "#ffd92f"}
    source = _layer(window, "泄漏源")
    assert source is not None and source.gdf["name"].iat[0] == "甲氯碱厂"
    # wind from the east: every zone lies west of the plant
    src = source.gdf.geometry.iat[0]
    for geom in zones.gdf.geometry:
        c = geom.centroid
        assert math.degrees(math.atan2(c.x - src.x, c.y - src.y)) % 360 == pytest.approx(270.0, abs=0.2)
    assert panel.table.rowCount() == 3 and panel.table.item(0, 1).text() == "AEGL-3（60 min）"
    assert panel.table.item(0, 3).text().endswith(" m")
    assert panel.analysis_result.provenance["parameters"]["wind_from"]["value"] == 90.0
    assert panel.report_button.isEnabled()


def test_a_release_point_clicked_on_the_map(qtbot, window, monkeypatch):
    from PyQt5.QtCore import QPoint

    from riskmap import crs as crs_policy

    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.actions["panel:riskmap.ui.panels.threat.ThreatPanel"].trigger()
    panel = window.panels["riskmap.ui.panels.threat.ThreatPanel"]
    qtbot.mouseClick(panel.pick_button, Qt.LeftButton)
    assert window.canvas.map_tool() is panel.pick_tool
    canvas = window.canvas
    pos = QPoint(canvas.width() // 3, canvas.height() // 2)
    qtbot.mouseClick(canvas, Qt.LeftButton, pos=pos)
    assert panel.point is not None and not panel.pick_button.isChecked()
    x, y = canvas.pixel_to_map(pos.x(), pos.y())
    (lon,), (lat,) = crs_policy.transform_xy([x], [y], window.project.map_crs, crs_policy.MAP_CRS)
    assert panel.point == pytest.approx((lon, lat))
    panel.chemical_combo.setCurrentIndex(panel.chemical_combo.findData("氨"))

    shown = []
    monkeypatch.setattr(window, "show_error", lambda exc: shown.append(str(exc)))
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)  # no amount for a point: one clear message, no run
    assert panel.task is None and shown == ["地图点选的泄漏点须给出泄漏量"]
    panel.amount_spin.setValue(5.0)
    qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    src = panel.result.source
    assert src["amount_t"].iat[0] == 5.0 and src["chemical"].iat[0] == "氨"
    back = src.to_crs(4490).geometry.iat[0]
    assert (back.x, back.y) == pytest.approx((lon, lat), abs=1e-7)
