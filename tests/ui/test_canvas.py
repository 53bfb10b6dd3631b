"""The map canvas: view changes emit signals and re-render; layers toggle and reorder; highlight; tools."""
import geopandas as gpd
import pytest
from PyQt5.QtCore import QPoint, QPointF, Qt
from shapely.geometry import LineString, Point, box

from riskmap.layers import Style
from riskmap.project import Project

pytestmark = pytest.mark.gui

GREEN, ORANGE, RED, BLUE = "#2ca02c", "#ff7f0e", "#d62728", "#1f77b4"
PLANT = (114.75, 32.25)


def small_project() -> Project:
    p = Project()
    counties = gpd.GeoDataFrame({"name": ["甲县", "乙县"]}, geometry=[box(114.0, 32.0, 114.5, 32.5),
                                                                   box(114.5, 32.0, 115.0, 32.5)], crs=4490)
    p.add_vector(counties, "县区", style=Style(color=GREEN, stroke="#333333", fill_opacity=1.0))
    road = gpd.GeoDataFrame({"n": [1]}, geometry=[LineString([(114.0, 32.1), (115.0, 32.1)])], crs=4490)
    p.add_vector(road, "道路", style=Style(color=ORANGE, width=4))
    plants = gpd.GeoDataFrame({"name": ["化工厂", "烟花厂"]}, geometry=[Point(*PLANT), Point(114.25, 32.4)],
                              crs=4490)
    p.add_vector(plants, "企业", style=Style(color=RED, size=14, stroke=""))
    p.set_extent((113.95, 31.95, 115.05, 32.55))
    return p


@pytest.fixture
def canvas(qtbot):
    from riskmap.ui.canvas import MapCanvas
    from riskmap.ui.fonts import register_cjk_font

    register_cjk_font()
    c = MapCanvas(small_project())
    c.show_decorations = False
    qtbot.addWidget(c)
    c.resize(500, 300)
    c.show()
    qtbot.waitExposed(c)
    assert c.wait_until_rendered(10000)
    return c


def grab(canvas):
    assert canvas.wait_until_rendered(10000)
    return canvas.grab().toImage()


def colour_at(canvas, x, y, image=None):
    image = image if image is not None else grab(canvas)
    p = canvas.map_to_pixel(x, y)
    c = image.pixelColor(int(p.x()), int(p.y()))
    return c.red(), c.green(), c.blue()


def near(rgb, hex_colour, tol=35):
    h = hex_colour.lstrip("#")
    return all(abs(a - int(h[i:i + 2], 16)) <= tol for a, i in zip(rgb, (0, 2, 4)))


def test_initial_view_shows_the_project_extent_in_colour(canvas):
    minx, miny, maxx, maxy = canvas.extent()
    eps = 1e-9
    assert minx <= 113.95 + eps and maxx >= 115.05 - eps and miny <= 31.95 + eps and maxy >= 32.55 - eps
    image = grab(canvas)
    assert near(colour_at(canvas, 114.3, 32.35, image), GREEN)
    assert near(colour_at(canvas, *PLANT, image), RED)
    assert near(colour_at(canvas, 114.5, 32.1, image), ORANGE)
    assert near(colour_at(canvas, 114.5, 32.54, image), "#ffffff")  # outside the counties
    p = canvas.map_to_pixel(114.3, 32.2)
    assert canvas.pixel_to_map(p.x(), p.y()) == pytest.approx((114.3, 32.2))


def test_set_extent_emits_and_rerenders(canvas, qtbot):
    with qtbot.waitSignal(canvas.extent_changed) as extent_sig, qtbot.waitSignal(canvas.scale_changed) as scale_sig:
        canvas.set_extent((114.6, 32.15, 114.9, 32.35))
    minx, miny, maxx, maxy = extent_sig.args[0]
    assert minx <= 114.6 and maxx >= 114.9 and miny <= 32.15 and maxy >= 32.35
    assert maxx - minx < 0.5
    assert 1_000 < scale_sig.args[0] < 10_000_000
    with qtbot.waitSignal(canvas.rendered, timeout=10000):
        pass
    assert near(colour_at(canvas, *PLANT), RED)


def test_zoom_and_pan_change_the_extent(canvas, qtbot):
    x0, y0, x1, y1 = canvas.extent()
    with qtbot.waitSignal(canvas.extent_changed):
        canvas.zoom_by(0.5)
    a = canvas.extent()
    assert (a[2] - a[0]) == pytest.approx((x1 - x0) / 2)
    assert ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2) == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2))
    upp = canvas.map_units_per_pixel()
    with qtbot.waitSignal(canvas.extent_changed):
        canvas.pan_by(100, -50)  # show more of the east and the north
    b = canvas.extent()
    assert b[0] - a[0] == pytest.approx(100 * upp)
    assert b[1] > a[1]
    canvas.zoom_by(2.0, center=PLANT)  # the point stays where it was on screen
    before = canvas.map_to_pixel(*PLANT)
    canvas.zoom_by(0.25, center=PLANT)
    after = canvas.map_to_pixel(*PLANT)
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y()))
    assert canvas.wait_until_rendered(10000)
    assert near(colour_at(canvas, *PLANT), RED)


def test_zoom_full_and_zoom_to_layer(canvas):
    canvas.set_extent((114.7, 32.2, 114.8, 32.3))
    canvas.zoom_full()
    x0, y0, x1, y1 = canvas.extent()
    assert x0 < 114.0 and x1 > 115.0 and y0 < 32.0 and y1 > 32.5
    canvas.zoom_to_layer(canvas.project.layers["企业"])
    x0, y0, x1, y1 = canvas.extent()
    assert x0 <= 114.25 and x1 >= 114.75 and x1 - x0 < 1.0


def test_toggling_visibility_changes_the_image(canvas):
    assert near(colour_at(canvas, *PLANT), RED)
    canvas.project.layers["企业"].visible = False
    assert near(colour_at(canvas, *PLANT), GREEN)
    canvas.project.layers["企业"].visible = True
    assert near(colour_at(canvas, *PLANT), RED)


def test_moving_a_layer_changes_the_z_order(canvas):
    where = (114.25, 32.1)  # the road over the county
    assert near(colour_at(canvas, *where), ORANGE)
    layers = canvas.project.layers
    layers.move(layers.index(layers["道路"]), 0)  # road to the bottom
    assert near(colour_at(canvas, *where), GREEN)


def test_style_change_rerenders(canvas):
    layer = canvas.project.layers["县区"]
    layer.style = Style(color=BLUE, stroke="#333333", fill_opacity=1.0)
    assert near(colour_at(canvas, 114.3, 32.35), BLUE)


def test_selection_highlight_is_drawn_on_top_and_cleared(canvas):
    layer = canvas.project.layers["企业"]
    p = canvas.map_to_pixel(*PLANT)

    def yellow_ring(image):
        pixels = [image.pixelColor(int(p.x()) + dx, int(p.y())) for dx in range(7, 15)]
        return any(c.red() > 200 and c.green() > 200 and c.blue() < 90 for c in pixels)

    assert not yellow_ring(grab(canvas))
    canvas.set_highlight(layer, [0])
    assert yellow_ring(grab(canvas))
    canvas.set_highlight(layer, [])
    assert not yellow_ring(grab(canvas))


def test_previous_image_is_shown_moved_until_the_new_one_is_ready(canvas):
    canvas.refresh_delay_ms = 60_000  # the new render will not start during this test
    canvas.pan_by(120, 0)
    assert not canvas.wait_until_rendered(50)
    image = canvas.grab().toImage()
    p = canvas.map_to_pixel(*PLANT)  # where the plant is now on screen
    c = image.pixelColor(int(p.x()), int(p.y()))
    assert near((c.red(), c.green(), c.blue()), RED)  # drawn from the old image, shifted
    canvas.refresh_delay_ms = 10
    canvas.refresh()
    assert canvas.wait_until_rendered(10000)


def test_views_seen_before_come_from_the_cache(canvas):
    start = canvas.extent()
    canvas.pan_by(80, 0)
    assert canvas.wait_until_rendered(10000)
    assert canvas.job_seconds  # rendered in the workers
    canvas.set_extent(start)
    assert canvas.wait_until_rendered(10000)
    assert canvas.extent() == pytest.approx(start)
    assert canvas.job_seconds == {}  # every layer image was cached


def test_drag_pans_and_wheel_zooms_at_the_cursor(canvas, qtbot):
    before = canvas.extent()
    qtbot.mousePress(canvas, Qt.LeftButton, pos=QPoint(250, 150))
    from PyQt5.QtGui import QMouseEvent
    from PyQt5.QtWidgets import QApplication

    move = QMouseEvent(QMouseEvent.MouseMove, QPointF(200, 150), Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(canvas, move)
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=QPoint(200, 150))
    after = canvas.extent()
    assert after[0] - before[0] == pytest.approx(50 * canvas.map_units_per_pixel())  # dragged left: view moves east

    from PyQt5.QtGui import QWheelEvent

    anchor = canvas.pixel_to_map(100, 100)
    wheel = QWheelEvent(QPointF(100, 100), QPointF(100, 100), QPoint(0, 0), QPoint(0, 120), Qt.NoButton,
                        Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    zoomed = canvas.extent()
    assert zoomed[2] - zoomed[0] == pytest.approx((after[2] - after[0]) * 0.8)
    assert canvas.pixel_to_map(100, 100) == pytest.approx(anchor)


def test_keyboard_pans_and_zooms(canvas, qtbot):
    start = canvas.extent()
    qtbot.keyClick(canvas, Qt.Key_Right)
    assert canvas.extent()[0] > start[0]
    qtbot.keyClick(canvas, Qt.Key_Plus)
    a = canvas.extent()
    assert a[2] - a[0] == pytest.approx((start[2] - start[0]) / 2)
    qtbot.keyClick(canvas, Qt.Key_Home)
    x0, _, x1, _ = canvas.extent()
    assert x0 < 114.0 and x1 > 115.0


def test_map_tool_receives_events_in_map_coordinates(canvas, qtbot):
    from riskmap.ui.canvas import MapTool

    class Recorder(MapTool):
        def __init__(self):
            self.points = []

        def press(self, event, x, y):
            self.points.append((x, y))
            return True

        def paint(self, painter, canvas_):
            painter.fillRect(0, 0, 5, 5, Qt.magenta)

    tool = Recorder()
    canvas.set_map_tool(tool)
    target = canvas.map_to_pixel(*PLANT)
    qtbot.mouseClick(canvas, Qt.LeftButton, pos=QPoint(int(round(target.x())), int(round(target.y()))))
    assert tool.points and tool.points[0] == pytest.approx(PLANT, abs=2 * canvas.map_units_per_pixel())
    assert canvas.grab().toImage().pixelColor(2, 2).name() == "#ff00ff"  # the tool's overlay
    with qtbot.waitSignal(canvas.cursor_moved) as sig:
        qtbot.mouseMove(canvas, QPoint(10, 10))
    assert (sig.args[0], sig.args[1]) == pytest.approx(canvas.pixel_to_map(10, 10), abs=1e-9)
    canvas.set_map_tool(None)
    assert type(canvas.map_tool()).__name__ == "PanZoomTool"


def test_hit_testing_uses_the_spatial_index(canvas):
    p = canvas.map_to_pixel(*PLANT)
    hits = canvas.features_at_pixel(p.x() + 3, p.y(), tolerance_px=5)
    names = {layer.name: idx.tolist() for layer, idx in hits}
    assert names["企业"] == [0] and names["县区"] == [1]
    assert list(names)[0] == "企业"  # top layer first


def test_render_image_uses_the_same_renderer(canvas):
    image = canvas.render_image(300, 200, extent=(114.0, 32.0, 115.0, 32.5))
    assert (image.width(), image.height()) == (300, 200)
    colours = {image.pixelColor(x, y).name() for x in range(0, 300, 10) for y in range(0, 200, 10)}
    assert "#2ca02c" in colours and "#ffffff" in colours


def test_layers_added_and_removed_are_drawn_and_dropped(canvas):
    extra = gpd.GeoDataFrame({"n": [1]}, geometry=[box(114.6, 32.3, 114.9, 32.45)], crs=4490)
    layer = canvas.project.add_vector(extra, "新增", style=Style(color=BLUE, fill_opacity=1.0, stroke=BLUE))
    assert near(colour_at(canvas, 114.8, 32.4), BLUE)
    canvas.project.layers.remove(layer)
    assert near(colour_at(canvas, 114.8, 32.4), GREEN)


def test_a_raster_is_drawn_at_once_and_its_display_cache_built_afterwards(canvas, tmp_path, qtbot):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from riskmap.ui import render

    values = np.full((50, 100), 100.0, np.float32)
    path = tmp_path / "grid.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100, height=50, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(114.0, 32.5, 0.01, 0.01), nodata=-1) as ds:
        ds.write(values, 1)
    layers = canvas.project.layers
    layer = canvas.project.add_raster(path, "栅格", style=Style(mode="raster", ramp="reds", vmin=0.0, vmax=100.0))
    layers.move(layers.index(layer), len(layers) - 1)  # on top
    assert near(colour_at(canvas, 114.3, 32.3), "#a50f15", tol=12)  # the top of the reds ramp
    view = canvas._render_view
    qtbot.waitUntil(lambda: render.RASTER_DISPLAYS.peek(layer, layer.style, view) is not None, timeout=10000)
    canvas.pan_by(30, 0)
    assert near(colour_at(canvas, 114.3, 32.3), "#a50f15", tol=12)  # now from the display cache


def test_a_layer_that_fails_to_draw_is_named_in_the_status_bar_and_recovers(window, qtbot, monkeypatch):
    """A render error reaches the user: render_failed, the status bar names the layer, failed_layers;
    only that layer fails, and once it draws again it leaves failed_layers."""
    from window_helpers import close_to, pixel_at

    from riskmap.ui.render import job

    canvas = window.canvas
    road = window.project.layers["道路"]
    on_road = (114.35, 32.1)
    original = job.render_vector

    def failing(snap):
        if snap.layer_id == road.id:
            raise RuntimeError("boom while drawing")
        return original(snap)

    monkeypatch.setattr(job, "render_vector", failing)
    with qtbot.waitSignal(canvas.render_failed, timeout=30000) as failed, \
            qtbot.waitSignal(canvas.rendered, timeout=30000):
        canvas.refresh()
    assert failed.args[0] == "道路" and "boom while drawing" in failed.args[1]
    assert canvas.failed_layers == {road.id}
    message = window.statusBar().currentMessage()
    assert "道路" in message and "boom while drawing" in message

    monkeypatch.setattr(job, "render_vector", original)
    with qtbot.waitSignal(canvas.rendered, timeout=30000):
        canvas.refresh()
    assert road.id not in canvas.failed_layers and not canvas.failed_layers
    assert close_to(pixel_at(window, *on_road, image=canvas.grab().toImage()), "#ff7f0e")
