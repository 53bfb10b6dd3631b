"""The toolbar's search box, used as a user does: type, press Enter, the view goes there."""
import numpy as np
from pyproj import Geod
from PyQt5.QtCore import Qt
from window_helpers import PLANTS, count_near

from riskmap import crs as crs_policy

GEOD = Geod(ellps="WGS84")


def _type(qtbot, window, text):
    box = window.search_box
    box.clear()
    box.setFocus()
    box.insert(text)  # as an input method commits Chinese text (QTest types ASCII only)
    qtbot.keyClick(box, Qt.Key_Return)


def test_search_a_plant_by_part_of_its_name(window, qtbot):
    _type(qtbot, window, "明港化")  # of 明港化肥厂
    plants = next(lyr for lyr in window.project.layers if lyr.name == "企业")
    assert list(plants.selection) == [2]
    x0, y0, x1, y1 = window.canvas.extent()
    lon, lat = PLANTS[2]
    assert x0 < lon < x1 and y0 < lat < y1 and (x1 - x0) < 0.2  # zoomed in on it
    assert "明港化肥厂" in window.statusBar().currentMessage()


def test_search_a_chainage_on_a_named_road(window, qtbot):
    _type(qtbot, window, "G107 K10+000")  # G107 runs east from 114.0, 32.1
    x, y = window.canvas.marker
    assert abs(GEOD.inv(114.0, 32.1, x, y)[2] - 10_000) < 15  # 10 km along the (straight) road
    assert abs(y - 32.1) < 2e-5  # on the road (a parallel), within 2 m
    assert count_near(window, x, y, window.canvas.MARKER_COLOR, radius_px=14) > 20  # the mark is drawn


def test_search_a_gcj02_coordinate_lands_on_its_wgs84_place(window, qtbot):
    lon, lat = 114.3, 32.25
    glon, glat = (float(np.ravel(v)[0]) for v in crs_policy.wgs84_to_gcj02(np.array([lon]), np.array([lat])))
    window.search_system.setCurrentIndex(window.search_system.findData("gcj02"))
    _type(qtbot, window, f"{glon:.7f},{glat:.7f}")
    x, y = window.canvas.marker
    assert GEOD.inv(lon, lat, x, y)[2] < 1.0
    assert window.settings.value("search/system") == "gcj02"  # the choice is remembered
    window.search_system.setCurrentIndex(window.search_system.findData("wgs84"))
    _type(qtbot, window, f"{glon:.7f},{glat:.7f}")
    assert GEOD.inv(lon, lat, *window.canvas.marker)[2] > 100  # taken as WGS84 it is the shifted place


def test_nothing_found_says_so(window, qtbot, errors):
    _type(qtbot, window, "不存在的名字XYZ")
    assert "未找到" in window.statusBar().currentMessage() and not errors
