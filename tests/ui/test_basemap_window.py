"""The 底图 menu: providers, keys in the settings, the choice in the project, offline packages."""
import numpy as np
import pytest
from test_basemap import COLOURS, pixels
from tile_server import TileServer

from riskmap.layers import tile_store
from riskmap.layers.tile_store import MBTiles
from riskmap.project import Project

pytestmark = pytest.mark.gui

SMALL = (114.0, 32.05, 114.15, 32.15)


def colour_share(canvas) -> float:
    colours = {tuple(c) for c in COLOURS}
    return float(np.mean([tuple(p) in colours for p in pixels(canvas)[::9, ::9].reshape(-1, 3)]))


@pytest.fixture
def win(qtbot, cjk_font):
    from riskmap.ui.main_window import MainWindow

    w = MainWindow(Project(), restore=False)
    w._force_close = True
    qtbot.addWidget(w)
    w.resize(900, 650)
    w.show()
    qtbot.waitExposed(w)
    w.canvas.set_extent(SMALL)
    assert w.canvas.wait_until_rendered(20000)
    return w


def wait_tiles(qtbot, canvas):
    qtbot.waitUntil(lambda: canvas.basemap is not None and canvas.basemap.is_idle(), timeout=20000)
    qtbot.wait(50)


def test_menu_lists_providers_none_and_custom(win):
    texts = [a.text() for a in win.basemap_control.menu.actions() if a.text()]
    for label in ("无", "OpenStreetMap", "天地图矢量", "天地图影像", "高德矢量", "高德影像", "自定义 URL…",
                  "打开离线底图…", "下载离线底图…"):
        assert label in texts
    assert win.basemap_control.actions["none"].isChecked() and win.canvas.basemap is None
    from PyQt5.QtWidgets import QToolButton

    button = win.toolbar.findChild(QToolButton, "basemap_button")
    assert button.defaultAction().menu() is win.basemap_control.menu and button.text() == "底图"
    assert button.popupMode() == QToolButton.InstantPopup  # one click opens the providers


def test_menu_in_english(qtbot, cjk_font):
    from riskmap.i18n import set_language
    from riskmap.ui.main_window import MainWindow

    set_language("en")
    w = MainWindow(Project(), restore=False)
    w._force_close = True
    qtbot.addWidget(w)
    texts = [a.text() for a in w.basemap_control.menu.actions() if a.text()]
    assert "None" in texts and "AMap vector" in texts and "Custom URL…" in texts and "Tianditu imagery" in texts


def test_tianditu_asks_the_key_once_and_keeps_it_in_the_settings(win, monkeypatch, qtbot):
    asked = []
    urls = []

    def fake_fetch(provider, z, x, y, *a, **k):
        urls.append(provider.tile_url(z, x, y))
        raise tile_store.TileFetchError("no network in tests", "offline")

    monkeypatch.setattr("riskmap.ui.basemap.fetch_tile", fake_fetch)
    monkeypatch.setattr(win.basemap_control, "ask_key", lambda p: asked.append(p.id) or "secret-key")
    win.basemap_control.actions["tianditu_vec"].trigger()
    assert asked == ["tianditu_vec"]
    assert win.settings.value("basemap/key_tianditu") == "secret-key"
    assert win.project.extras["basemap"] == {"provider": "tianditu_vec"}  # no key in the project
    qtbot.waitUntil(lambda: bool(urls), timeout=10000)
    assert "tk=secret-key" in urls[0]
    win.basemap_control.actions["tianditu_img"].trigger()
    assert asked == ["tianditu_vec"]  # the key is remembered
    monkeypatch.setattr(win.basemap_control, "ask_key", lambda p: "new-key")
    urls.clear()
    win.basemap_control.key_action.trigger()  # a wrong key can be replaced
    assert win.settings.value("basemap/key_tianditu") == "new-key"
    assert win.canvas.basemap.provider.key_value == "new-key" and win.canvas.basemap.provider.id == "tianditu_img"
    win.basemap_control.actions["none"].trigger()
    assert win.canvas.basemap is None and "basemap" not in win.project.extras


def test_custom_url_draws_and_is_remembered_in_the_project(win, monkeypatch, qtbot, tmp_path):
    with TileServer() as server:
        monkeypatch.setattr(win.basemap_control, "ask_url", lambda: (server.url, "wgs84"))
        win.basemap_control.actions["custom"].trigger()
        wait_tiles(qtbot, win.canvas)
        assert colour_share(win.canvas) > 0.8
        # the crash journal records the choice by itself, within its debounce delay
        qtbot.waitUntil(lambda: server.url.encode() in win.project.journal.file.read_bytes(), timeout=3000)
        path = tmp_path / "p.rmp"
        assert win.save_project_as(str(path))
        win.basemap_control.actions["none"].trigger()
        assert win.canvas.basemap is None
        win.project.modified = False
        win.set_project(Project.load(path))
        assert win.project.extras["basemap"]["url"] == server.url
        assert win.basemap_control.actions["custom"].isChecked()
        win.canvas.set_extent(SMALL)
        wait_tiles(qtbot, win.canvas)
        assert colour_share(win.canvas) > 0.8


def test_offline_package_built_then_drawn_without_the_server(win, monkeypatch, qtbot, tmp_path):
    out = tmp_path / "xinyang.mbtiles"
    server = TileServer()
    try:
        monkeypatch.setattr(win.basemap_control, "ask_url", lambda: (server.url, "wgs84"))
        win.basemap_control.actions["custom"].trigger()
        wait_tiles(qtbot, win.canvas)
        seen = {}
        monkeypatch.setattr(win.basemap_control, "ask_download",
                            lambda provider, bounds: seen.update(bounds=bounds) or (str(out), [8, 9, 10]))
        task = win.basemap_control.download()
        qtbot.waitUntil(lambda: not task.is_running, timeout=30000)
        assert task.state == "finished", task.error
        assert out.is_file()
    finally:
        server.stop()
    package = MBTiles(out)
    meta = package.metadata()
    assert meta["format"] == "png" and meta["minzoom"] == "8" and meta["maxzoom"] == "10"
    # TMS rows: the XYZ tile (z, x, y) is stored at row 2**z - 1 - y
    from riskmap.layers import tiles
    z, x, y = tiles.tiles_for_bounds(seen["bounds"], 10)[0]
    with package._lock:
        rows = package._db.execute("SELECT tile_row FROM tiles WHERE zoom_level=10 AND tile_column=?",
                                   (x,)).fetchall()
    assert (2 ** 10 - 1 - y,) in rows
    package.close()
    # the server is gone: open the package as the base map
    monkeypatch.setattr(win.basemap_control, "ask_package", lambda: str(out))
    monkeypatch.setattr("riskmap.ui.basemap.fetch_tile",
                        lambda *a, **k: pytest.fail("an offline package must not use the network"))
    win.basemap_control.actions["mbtiles"].trigger()
    assert win.canvas.basemap.provider.kind == "mbtiles"
    win.canvas.set_extent(SMALL)
    wait_tiles(qtbot, win.canvas)
    assert colour_share(win.canvas) > 0.8
    assert not win.basemap_control.download_action.isEnabled()
    # the HTML export of the window embeds the offline package shown
    import geopandas as gpd
    from shapely.geometry import Point

    from riskmap.exports.html import read_page_data

    win.project.add_vector(gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(114.07, 32.1)], crs=4490), "点")
    html_task = win.export_html(str(tmp_path / "meeting.html"))
    qtbot.waitUntil(lambda: not html_task.is_running, timeout=60000)
    assert html_task.state == "finished", html_task.error
    spec = read_page_data((tmp_path / "meeting.html").read_text("utf-8"))["tiles"][0]
    assert spec["maxNativeZoom"] == 10 and len(spec["embedded"]) > 0


def test_download_dialog_estimates_and_a_download_can_be_cancelled(win, monkeypatch, qtbot, tmp_path):
    from riskmap.layers import tiles
    from riskmap.ui.basemap_menu import DownloadDialog

    with TileServer(delay=lambda z, x, y: 0.2) as server:
        provider = tiles.custom_provider(server.url)
        bounds = (114.0, 32.0, 114.2, 32.2)
        dialog = DownloadDialog(win, provider, bounds)
        dialog.min_zoom.setValue(8)
        dialog.max_zoom.setValue(11)
        count = tiles.count_tiles(bounds, range(8, 12))
        assert dialog.zooms() == [8, 9, 10, 11]
        assert f"{count} 个瓦片" in dialog.estimate.text() and "MB" in dialog.estimate.text()
        dialog.max_zoom.setValue(12)
        assert f"{tiles.count_tiles(bounds, range(8, 13))} 个瓦片" in dialog.estimate.text()
        dialog.deleteLater()

        monkeypatch.setattr(win.basemap_control, "ask_url", lambda: (server.url, "wgs84"))
        win.basemap_control.actions["custom"].trigger()
        wait_tiles(qtbot, win.canvas)
        out = tmp_path / "big.mbtiles"
        monkeypatch.setattr(win.basemap_control, "ask_download", lambda p, b: (str(out), [12, 13, 14]))
        task = win.basemap_control.download()
        qtbot.waitUntil(lambda: task.fraction > 0, timeout=20000)
        task.cancel()
        qtbot.waitUntil(lambda: not task.is_running, timeout=20000)
        assert task.state == "cancelled" and not out.exists() and not list(tmp_path.glob("*.part"))


def test_a_project_whose_package_is_gone_opens_without_base_map(win, tmp_path):
    project = Project()
    project.extras["basemap"] = {"provider": "mbtiles", "path": str(tmp_path / "gone.mbtiles")}
    win.set_project(project)
    assert win.canvas.basemap is None and win.basemap_control.actions["none"].isChecked()
    assert "gone.mbtiles" in win.statusBar().currentMessage()
