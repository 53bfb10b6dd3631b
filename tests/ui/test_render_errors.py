"""Issue 18 §7: a layer that fails to draw shows a visible error mark (layer panel icon, one-line tooltip,
status bar once), the other layers keep drawing, and the mark goes away when the layer draws again."""
import numpy as np
import pytest
import rasterio
import shapely
from PyQt5.QtCore import Qt
from rasterio.transform import from_origin
from window_helpers import close_to, pixel_at

from riskmap.layers import RasterLayer
from riskmap.layers.style import Style
from riskmap.ui.layer_panel import ERROR_COLOUR

ON_ROAD = (114.35, 32.1)
ROAD_COLOUR = "#ff7f0e"


def write_raster(path):
    with rasterio.open(path, "w", driver="GTiff", width=50, height=30, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(114.0, 32.45, 0.01, 0.01), nodata=-1) as ds:
        ds.write(np.full((30, 50), 7.0, np.float32), 1)
    return path


def mark_of(window, layer):
    """(is the red error icon shown, tooltip, foreground colour name or None) of the layer's panel row."""
    model = window.layer_panel.model
    index = model.index_of_layer(layer)
    icon = model.data(index, Qt.DecorationRole)
    red = False
    if icon is not None:
        c = icon.pixmap(16, 16).toImage().pixelColor(4, 8)  # left of the exclamation mark
        red = c.alpha() > 200 and close_to((c.red(), c.green(), c.blue()), ERROR_COLOUR, tol=10)
    brush = model.data(index, Qt.ForegroundRole)
    return red, model.data(index, Qt.ToolTipRole), (brush.color().name() if brush is not None else None)


def status_messages(window):
    seen = []
    window.statusBar().messageChanged.connect(lambda text: seen.append(text) if text else None)
    return seen


def test_a_raster_whose_file_disappeared_is_marked_and_recovers(window, qtbot, tmp_path, errors):
    path = write_raster(tmp_path / "人口.tif")
    canvas, project = window.canvas, window.project
    layer = RasterLayer(path, "人口栅格", visible=False, style=Style(mode="raster", ramp="reds"))
    project.layers.insert(0, layer)  # at the bottom, under the road
    assert canvas.wait_until_rendered(30000)
    path.unlink()  # the file went away after it was added (a USB stick pulled, a folder cleaned up)
    said = status_messages(window)
    failures = []
    canvas.render_failed.connect(lambda name, message: failures.append((name, message)))
    with qtbot.waitSignal(canvas.render_failed, timeout=30000):
        layer.visible = True
    assert canvas.wait_until_rendered(30000)
    project.modified = False  # showing the layer was the user's change; what follows must change nothing
    revision = layer.revision

    assert layer.render_error == f"{path}: file not found; check the path"  # riskmap's own line, with the file
    assert layer.id in canvas.failed_layers
    red, tip, colour = mark_of(window, layer)
    assert red and colour == ERROR_COLOUR.lower()
    assert tip == f"人口栅格：无法绘制 — {path}: file not found; check the path"
    assert close_to(pixel_at(window, *ON_ROAD), ROAD_COLOUR)  # the other layers still draw
    # the status bar says it once, not at every repaint (pans, zooms, refreshes)
    for dx in (40, -40, 25):
        canvas.pan_by(dx, 0)
        assert canvas.wait_until_rendered(30000)
    canvas.refresh()
    assert canvas.wait_until_rendered(30000)
    assert failures == [("人口栅格", layer.render_error)]
    shown = [m for m in said if "绘制失败" in m]
    assert shown == [f"图层“人口栅格”绘制失败：{layer.render_error}"]
    # a failed draw is no edit: the project stays unsaved-free and the layer's revision is unchanged
    assert not project.modified and layer.revision == revision
    assert errors == []  # no message box for a repaint

    write_raster(path)  # the file is back: the layer draws and the mark goes away
    canvas.refresh(layer)
    assert canvas.wait_until_rendered(30000)
    assert layer.render_error is None and layer.id not in canvas.failed_layers
    red, tip, colour = mark_of(window, layer)
    assert not red and colour is None and "无法绘制" not in str(tip)


def test_a_geometry_error_in_one_layer_marks_only_that_layer(window, qtbot, monkeypatch):
    from riskmap.ui.render import job

    canvas = window.canvas
    counties, road = window.project.layers["县区边界"], window.project.layers["道路"]
    original = job.render_vector

    def failing(snap):
        if snap.layer_id == counties.id:
            raise shapely.errors.GEOSException("TopologyException: side location conflict at 114.2 32.3")
        return original(snap)

    monkeypatch.setattr(job, "render_vector", failing)
    window.project.modified = False
    revision = counties.revision
    model = window.layer_panel.model
    with qtbot.waitSignal(canvas.render_failed, timeout=30000), \
            qtbot.waitSignal(model.dataChanged, timeout=30000,  # the panel repaints the row's mark
                             check_params_cb=lambda top, bottom, roles=(): top.row() == model.row_of(counties)):
        canvas.refresh()
    assert canvas.wait_until_rendered(30000)
    assert not window.project.modified and counties.revision == revision  # a failed draw is not an edit
    assert counties.render_error == "内部错误（GEOSException: TopologyException: side location conflict at 114.2 32.3）"
    assert road.render_error is None and mark_of(window, road)[0] is False
    assert mark_of(window, counties)[0] is True
    assert close_to(pixel_at(window, *ON_ROAD), ROAD_COLOUR)

    monkeypatch.setattr(job, "render_vector", original)
    canvas.refresh()
    assert canvas.wait_until_rendered(30000)
    assert counties.render_error is None and mark_of(window, counties)[0] is False


def test_a_layer_that_cannot_even_be_frozen_for_drawing_does_not_stop_the_others(window, qtbot, monkeypatch):
    """The snapshot is taken on the GUI thread; an error there is that layer's error, not the render's."""
    from riskmap.ui import render

    canvas = window.canvas
    road = window.project.layers["道路"]
    original = render.snapshot

    def failing(layer, view, **kwargs):
        if layer is road:
            raise ValueError("cannot freeze")
        return original(layer, view, **kwargs)

    monkeypatch.setattr(render, "snapshot", failing)
    with qtbot.waitSignal(canvas.render_failed, timeout=30000):
        canvas.refresh()
    assert canvas.wait_until_rendered(30000)
    assert road.render_error == "内部错误（ValueError: cannot freeze）" and mark_of(window, road)[0]
    assert close_to(pixel_at(window, 114.25, 32.3), "#2ca02c")  # the counties are drawn
    monkeypatch.setattr(render, "snapshot", original)
    canvas.refresh()
    assert canvas.wait_until_rendered(30000)
    assert road.render_error is None


@pytest.mark.parametrize("lang,expected", [("en", "Internal error (RuntimeError: x)")])
def test_the_render_error_line_follows_the_ui_language(lang, expected):
    from riskmap.i18n import set_language
    from riskmap.ui.messages import error_line

    set_language(lang)
    try:
        assert error_line(RuntimeError("x")) == expected
    finally:
        set_language("zh")
