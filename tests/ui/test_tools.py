"""Map tools: identify, geodesic measure of distance and area, select."""
import pytest
from PyQt5.QtCore import QPoint, Qt
from window_helpers import PLANTS

from riskmap.ui.map_tools import format_area, format_distance, geodesic_area, geodesic_length

pytestmark = pytest.mark.gui


def click(qtbot, window, x, y, button=Qt.LeftButton, double=False):
    p = window.canvas.map_to_pixel(x, y)
    pos = QPoint(int(round(p.x())), int(round(p.y())))
    if double:
        qtbot.mouseDClick(window.canvas, button, pos=pos)
    else:
        qtbot.mouseClick(window.canvas, button, pos=pos)


# -- pure measurement --------------------------------------------------------------
def test_geodesic_length_one_degree_of_longitude_at_the_equator():
    assert geodesic_length([(0, 0), (1, 0)]) == pytest.approx(111_319.49, abs=0.1)
    assert geodesic_length([(114.0, 32.0)]) == 0.0


def test_geodesic_length_in_a_projected_map_crs():
    # 1000 m east in CGCS2000 3° GK zone 38 (EPSG:4547) near Xinyang
    assert geodesic_length([(500_000, 3_550_000), (501_000, 3_550_000)], crs="EPSG:4547") \
        == pytest.approx(1000, rel=2e-3)


def test_geodesic_area_of_a_square_near_xinyang():
    from pyproj import Geod

    square = [(114.0, 32.0), (114.01, 32.0), (114.01, 32.01), (114.0, 32.01)]
    expected = abs(Geod(ellps="GRS80").polygon_area_perimeter(*zip(*square))[0])
    assert geodesic_area(square) == pytest.approx(expected)
    assert 1.04e6 < geodesic_area(square) < 1.055e6  # ≈ 944 m × 1109 m
    assert geodesic_area(list(reversed(square))) == pytest.approx(expected)  # orientation does not matter
    assert geodesic_area(square[:2]) == 0.0


def test_formatting():
    assert format_distance(850) == "850.0 m"
    assert format_distance(12_345.6) == "12.346 km"
    assert format_area(5_000) == "5,000 m²"
    assert format_area(2_500_000).startswith("2.500 km²")


# -- identify -------------------------------------------------------------------------
def test_identify_a_plant_shows_its_attributes(window, qtbot):
    window.set_tool("identify")
    click(qtbot, window, PLANTS[0][0], PLANTS[0][1])
    dock = window.identify_dock
    assert dock is not None and dock.isVisible()
    values = dock.values()
    assert values["企业名称"] == "信阳化工有限公司"
    assert values["危险化学品(t)"] == "液氯:5;液氨:20"
    assert values["安全防护距离(m)"] == "500"
    assert values["行业类别"] == "危险化学品（hazchem）"  # coded values show the legend's label
    top = dock.tree.topLevelItem(0)
    assert top.text(0) == "企业"  # topmost layer first; the county below is listed after
    assert [dock.tree.topLevelItem(i).text(0) for i in range(dock.tree.topLevelItemCount())] == ["企业", "县区边界"]


def test_identify_with_pixel_tolerance(window, qtbot):
    window.set_tool("identify")
    upp = window.canvas.map_units_per_pixel()
    click(qtbot, window, PLANTS[1][0] + 3 * upp, PLANTS[1][1])  # 3 px beside the symbol's centre
    assert window.identify_dock.values()["企业名称"] == "平桥烟花厂"
    click(qtbot, window, 114.3, 32.45)  # empty county: only the county answers
    assert window.identify_dock.values()["名称"] == "浉河区"


# -- measure ---------------------------------------------------------------------------
def test_measure_distance_tool(window, qtbot):
    window.set_tool("measure_distance")
    tool = window.tools["measure_distance"]
    click(qtbot, window, 114.1, 32.2)
    click(qtbot, window, 114.4, 32.2)
    click(qtbot, window, 114.4, 32.2, button=Qt.RightButton)  # finish
    assert tool.finished and len(tool.points) == 2
    exact = geodesic_length([(114.1, 32.2), (114.4, 32.2)])
    pixel = window.canvas.map_units_per_pixel()
    assert tool.value() == pytest.approx(exact, abs=2 * pixel * 111_000)
    assert 27_000 < tool.value() < 29_000  # 0.3° of longitude at 32.2°N ≈ 28.3 km
    assert "距离" in window.statusBar().currentMessage() and "km" in window.statusBar().currentMessage()
    window.canvas.grab()  # paints the overlay without error
    qtbot.keyClick(window.canvas, Qt.Key_Escape)
    tool.key_press(_Key(Qt.Key_Escape))
    assert tool.points == []


class _Key:
    def __init__(self, key):
        self._key = key

    def key(self):
        return self._key


def test_measure_area_tool(window, qtbot):
    window.set_tool("measure_area")
    tool = window.tools["measure_area"]
    corners = [(114.1, 32.1), (114.3, 32.1), (114.3, 32.3), (114.1, 32.3)]
    for x, y in corners:
        click(qtbot, window, x, y)
    tool.finish()
    exact = geodesic_area(corners)
    assert tool.value() == pytest.approx(exact, rel=0.02)
    assert "面积" in window.statusBar().currentMessage() and "km²" in window.statusBar().currentMessage()
    window.canvas.grab()


# -- select ------------------------------------------------------------------------------
def test_select_tool_click_and_box(window, qtbot, project):
    plants = project.layers["企业"]
    window.set_tool("select")
    window.layer_panel.set_current_layer(plants)
    click(qtbot, window, *PLANTS[0])
    assert list(plants.selection) == [0]
    tool = window.tools["select"]
    tool.select_box((114.7, 32.15, 114.8, 32.45))
    assert list(plants.selection) == [1, 2]
    tool.select_box((114.2, 32.15, 114.3, 32.25), additive=True)
    assert list(plants.selection) == [0, 1, 2]
    tool.select_at(114.3, 32.45)  # nothing of the current layer there: cleared
    assert plants.selection.size == 0
