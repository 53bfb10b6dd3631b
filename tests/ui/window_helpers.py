"""Helpers of the desktop window tests: a small in-code project and canvas pixel checks.

The small project (two counties, three plants, two sensitive targets, a road) sits near
Xinyang in EPSG:4490 so every layer has distinct, known pixels.
"""
import geopandas as gpd
import numpy as np
from shapely.geometry import LineString, Point, box

from riskmap.layers.style import Style
from riskmap.project import Project

COUNTY_A = (114.0, 32.0, 114.5, 32.5)
COUNTY_B = (114.5, 32.0, 115.0, 32.5)
PLANTS = [(114.22, 32.20), (114.72, 32.18), (114.76, 32.40)]  # away from the county labels
COUNTY_COLOUR = "#2ca02c"
PLANT_COLOURS = {"hazchem": "#d62728", "fireworks": "#1f77b4"}


def make_project() -> Project:
    """Counties (filled green), plants (categorised by industry), sensitive targets and a road."""
    project = Project()
    counties = gpd.GeoDataFrame({"name": ["浉河区", "平桥区"], "adcode": [411502, 411503]},
                                geometry=[box(*COUNTY_A), box(*COUNTY_B)], crs=4490)
    layer = project.add_vector(counties, "县区边界", group="base",
                               style=Style(color=COUNTY_COLOUR, stroke="#333333", fill_opacity=1.0, width=1.0))
    layer.aliases = {"name": "名称", "adcode": "行政区划代码"}
    road = gpd.GeoDataFrame({"name": ["G107"], "road_class": ["national"]},
                            geometry=[LineString([(114.0, 32.1), (115.0, 32.1)])], crs=4490)
    project.add_vector(road, "道路", style=Style(color="#ff7f0e", width=3))
    sensitive = gpd.GeoDataFrame({"name": ["第一小学", "人民医院"], "category": ["school", "hospital"]},
                                 geometry=[Point(114.1, 32.4), Point(114.9, 32.05)], crs=4490)
    project.add_vector(sensitive, "敏感目标", style=Style(color="#9467bd", size=10))
    plants = gpd.GeoDataFrame(
        {"id": [1, 2, 3], "name": ["信阳化工有限公司", "平桥烟花厂", "明港化肥厂"],
         "industry": ["hazchem", "fireworks", "hazchem"], "safe_dist": [500.0, np.nan, 800.0],
         "chemicals": ["液氯:5;液氨:20", "", "液氨:50"]},
        geometry=[Point(*xy) for xy in PLANTS], crs=4490)
    layer = project.add_vector(plants, "企业", style=Style(mode="categorized", field="industry",
                                                          categories=dict(PLANT_COLOURS), size=14,
                                                          labels={"hazchem": "危险化学品", "fireworks": "烟花爆竹"}))
    layer.aliases = {"id": "编号", "name": "企业名称", "industry": "行业类别", "safe_dist": "安全防护距离(m)",
                     "chemicals": "危险化学品(t)"}
    project.set_extent((113.95, 31.95, 115.05, 32.55))
    project.modified = False
    return project


def canvas_image(window):
    """The canvas as it is painted now (after rendering finished)."""
    window.canvas.refresh()
    assert window.canvas.wait_until_rendered(30000)
    return window.canvas.grab().toImage()


def pixel_at(window, x, y, image=None):
    """(r, g, b) of the canvas pixel over map point (x, y)."""
    image = image if image is not None else canvas_image(window)
    p = window.canvas.map_to_pixel(x, y)
    ratio = image.devicePixelRatio() or 1.0
    c = image.pixelColor(int(p.x() * ratio), int(p.y() * ratio))
    return c.red(), c.green(), c.blue()


def close_to(rgb, hex_colour, tol=40):
    from PyQt5.QtGui import QColor

    c = QColor(hex_colour)
    return all(abs(a - b) <= tol for a, b in zip(rgb, (c.red(), c.green(), c.blue())))


def count_near(window, x, y, hex_colour, radius_px=14, image=None, tol=60):
    """How many canvas pixels within ``radius_px`` of map point (x, y) have ``hex_colour``."""
    image = image if image is not None else canvas_image(window)
    p = window.canvas.map_to_pixel(x, y)
    ratio = image.devicePixelRatio() or 1.0
    cx, cy = int(p.x() * ratio), int(p.y() * ratio)
    r = int(radius_px * ratio)
    n = 0
    for px in range(max(cx - r, 0), min(cx + r + 1, image.width())):
        for py in range(max(cy - r, 0), min(cy + r + 1, image.height())):
            c = image.pixelColor(px, py)
            if close_to((c.red(), c.green(), c.blue()), hex_colour, tol):
                n += 1
    return n


def longest_gap(qtbot, action, done, settle_ms: int = 150, timeout_ms: int = 120000) -> float:
    """Seconds of the longest pause of a 5 ms heartbeat while ``action()`` runs in the event loop, until
    ``done()`` holds and ``settle_ms`` more (the paints that follow)."""
    import time

    import numpy as np
    from PyQt5.QtCore import QTimer

    ticks = []
    beat = QTimer()
    beat.setInterval(5)
    beat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    beat.start()
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=5000)
    QTimer.singleShot(0, action)
    qtbot.waitUntil(done, timeout=timeout_ms)
    qtbot.wait(settle_ms)
    beat.stop()
    return float(np.max(np.diff(ticks)))


def make_window(qtbot, project, tmp_path):
    """A shown main window of ``project`` (settings in ``tmp_path``), its map drawn."""
    from PyQt5.QtCore import QSettings

    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    assert win.canvas.wait_until_rendered(60000)
    return win


def settle(qtbot, window):
    """The map drawn and the debounced autosave written (neither is measured in the add or the save).

    Also the objects of the tests before this one collected and frozen (:func:`gc.freeze`): late in a full
    run a generation-2 pass over the whole test process (far larger than the app's) can land inside the
    measured add and stop the loop for ~0.1 s, which is not the add's. ``unfrozen_gc`` undoes it.
    """
    import gc

    gc.collect()
    gc.freeze()
    qtbot.waitUntil(lambda: not window._journal_timer.isActive(), timeout=30000)
    journal = window.project.journal
    if journal is not None:
        assert journal.flush(60)
    assert window.canvas.wait_until_rendered(60000)
