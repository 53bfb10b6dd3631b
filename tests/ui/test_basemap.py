"""Base maps on the canvas against a local tile server: tiles appear, the GCJ-02 warp, cache, failures."""
import numpy as np
import pytest
from PyQt5.QtCore import QElapsedTimer, QTimer
from tile_server import COLOURS, TileServer, png_bytes

from riskmap import crs as crs_policy
from riskmap.layers import tiles
from riskmap.layers.tile_store import TileCache
from riskmap.project import Project

pytestmark = pytest.mark.gui

XINYANG = (114.07, 32.12)


def make_canvas(qtbot, extent, size=(400, 300)):
    from riskmap.ui.canvas import MapCanvas

    project = Project()
    canvas = MapCanvas(project)
    canvas.show_decorations = False
    qtbot.addWidget(canvas)
    canvas.resize(*size)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_extent(extent)
    assert canvas.wait_until_rendered(10000)
    return canvas


def attach(qtbot, canvas, provider, cache):
    from riskmap.ui.basemap import BaseMap

    basemap = BaseMap(provider, cache=cache)
    with qtbot.waitSignal(canvas.basemap_idle, timeout=20000):
        canvas.set_basemap(basemap)
    return basemap


def pixels(canvas) -> np.ndarray:
    img = canvas.grab().toImage().convertToFormat(4)  # Format_RGB32
    w, h = img.width(), img.height()
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint8).reshape(h, img.bytesPerLine())[:, :4 * w].reshape(h, w, 4)
    return arr[..., [2, 1, 0]].copy()  # BGRA in memory → RGB


def xinyang_view(half=0.05):
    return (XINYANG[0] - half, XINYANG[1] - half, XINYANG[0] + half, XINYANG[1] + half)


def test_tiles_appear_under_the_data_with_attribution(qtbot, tmp_path):
    with TileServer() as server:
        canvas = make_canvas(qtbot, xinyang_view())
        provider = tiles.custom_provider(server.url, attribution="Local test tiles")
        basemap = attach(qtbot, canvas, provider, TileCache(tmp_path / "c.sqlite"))
        assert server.count() > 0 and basemap.image is not None
        rgb = pixels(canvas)
        colours = {tuple(c) for c in COLOURS}
        centre = tuple(rgb[150, 200])
        assert centre in colours
        share = np.mean([tuple(p) in colours for p in rgb[::7, ::7].reshape(-1, 3)])
        assert share > 0.9  # the whole view is covered by tiles (the corner holds the attribution)
        assert tuple(rgb[-3, -3]) not in colours  # attribution box bottom-right


def test_cache_hits_need_no_request(qtbot, tmp_path):
    with TileServer() as server:
        cache_path = tmp_path / "c.sqlite"
        provider = tiles.custom_provider(server.url)
        canvas = make_canvas(qtbot, xinyang_view())
        attach(qtbot, canvas, provider, TileCache(cache_path))
        first = server.count()
        assert first > 0
        canvas.set_basemap(None)
        canvas2 = make_canvas(qtbot, xinyang_view())
        attach(qtbot, canvas2, provider, TileCache(cache_path))
        assert server.count() == first  # every tile from the disk cache
        assert tuple(pixels(canvas2)[150, 200]) in {tuple(c) for c in COLOURS}


def test_stale_tiles_are_shown_at_once_and_refetched(qtbot, tmp_path):
    slow = [0.0]
    with TileServer(delay=lambda z, x, y: slow[0]) as server:
        cache_path = tmp_path / "c.sqlite"
        provider = tiles.custom_provider(server.url)
        canvas = make_canvas(qtbot, xinyang_view())
        attach(qtbot, canvas, provider, TileCache(cache_path))
        first = server.count()
        canvas.set_basemap(None)
        slow[0] = 3.0  # the revalidation is slow; the stale copies must not wait for it
        canvas2 = make_canvas(qtbot, xinyang_view())
        from riskmap.ui.basemap import BaseMap

        basemap = BaseMap(provider, cache=TileCache(cache_path, max_age_days=0))
        clock = QElapsedTimer()
        clock.start()
        canvas2.set_basemap(basemap)
        colours = {tuple(c) for c in COLOURS}

        def covered():
            return np.mean([tuple(p) in colours for p in pixels(canvas2)[::9, ::9].reshape(-1, 3)]) > 0.9

        qtbot.waitUntil(covered, timeout=2000)  # every cached tile, not only the first four
        assert clock.elapsed() < 2000
        qtbot.waitUntil(lambda: server.count() == 2 * first and basemap.is_idle(), timeout=30000)


def test_a_refused_key_is_said_once(qtbot, tmp_path):
    with TileServer(status=lambda z, x, y: 403) as server:
        canvas = make_canvas(qtbot, xinyang_view())
        messages = []
        canvas.basemap_message.connect(messages.append)
        basemap = attach(qtbot, canvas, tiles.custom_provider(server.url), TileCache(tmp_path / "c.sqlite"))
        canvas.pan_by(150, 0)
        qtbot.waitUntil(basemap.is_idle, timeout=10000)
        qtbot.wait(600)
        assert server.count() > 4 and len(messages) == 1 and "密钥" in messages[0]


def gcj_graticule_tile(lon0, lat0):
    """Tiles showing the WGS84 meridian lon0 and parallel lat0 where GCJ-02 tiles draw them."""
    def tile(z, x, y):
        n = 256
        cols = np.arange(n) + 0.5
        px, py = np.meshgrid(x * n + cols, y * n + cols)
        glon, glat = tiles.pixel_to_lonlat(px, py, z)
        wlon, wlat = crs_policy.gcj02_to_wgs84(glon, glat)
        dlon = 360.0 / (n * 2 ** z)
        dlat = np.abs(tiles.pixel_to_lonlat(px, py - 0.5, z)[1] - tiles.pixel_to_lonlat(px, py + 0.5, z)[1])
        on = (np.abs(wlon - lon0) < dlon / 2) | (np.abs(wlat - lat0) < dlat / 2)
        rgb = np.full((n, n, 3), 255, np.uint8)
        rgb[on] = 0
        return png_bytes(rgb)
    return tile


def dark_lines(rgb):
    dark = rgb.sum(axis=2) < 200
    return dark


@pytest.mark.parametrize("datum", ["gcj02", "wgs84"])
def test_gcj_tiles_land_within_one_pixel_of_the_wgs84_grid_at_zoom_16(qtbot, tmp_path, datum):
    lon0, lat0 = XINYANG
    z = 16
    mpp = 2 * tiles.ORIGIN_SHIFT / 256 / 2 ** z * np.cos(np.radians(lat0))
    half_x = 200 * mpp / (111_320 * np.cos(np.radians(lat0)))
    half_y = 150 * mpp / 110_900
    with TileServer(tile=gcj_graticule_tile(lon0, lat0)) as server:
        canvas = make_canvas(qtbot, (lon0 - half_x, lat0 - half_y, lon0 + half_x, lat0 + half_y))
        provider = tiles.custom_provider(server.url, datum=datum)
        basemap = attach(qtbot, canvas, provider, TileCache(tmp_path / "c.sqlite"))
        assert basemap.zoom_for(canvas._device_view()) == z
        dark = dark_lines(pixels(canvas))
        if datum == "wgs84":  # declared wrongly: the lines are hundreds of metres off (or off screen)
            ex, _ = canvas.map_to_pixel(lon0, lat0).x(), None
            cols = np.flatnonzero(dark[60])
            assert not any(abs(c + 0.5 - ex) <= 1 for c in cols)
            return
        for row in (20, 100, 200, 280):
            lat = canvas.pixel_to_map(0, row + 0.5)[1]
            ex = canvas.map_to_pixel(lon0, lat).x()
            cols = np.flatnonzero(dark[row])
            near = cols[np.abs(cols + 0.5 - ex) < 20]
            assert near.size, f"no meridian on row {row}"
            assert np.all(np.abs(near + 0.5 - ex) <= 1.0), (near, ex)
        for col in (30, 130, 370):
            lon = canvas.pixel_to_map(col + 0.5, 0)[0]
            ey = canvas.map_to_pixel(lon, lat0).y()
            rows = np.flatnonzero(dark[:, col])
            near = rows[np.abs(rows + 0.5 - ey) < 20]
            assert near.size, f"no parallel on column {col}"
            assert np.all(np.abs(near + 0.5 - ey) <= 1.0), (near, ey)


def test_failures_one_message_responsive_usable(qtbot, tmp_path):
    """Slow tiles, 404 and 500 tiles, then the server killed: the loop never stalls, one message per kind."""
    def status(z, x, y):
        return 404 if (x + 2 * y) % 9 == 0 else 500 if (x + y) % 7 == 1 else 200

    def delay(z, x, y):
        return 0.8 if (x + y) % 3 == 0 else 0.0

    server = TileServer(status=status, delay=delay)
    try:
        canvas = make_canvas(qtbot, xinyang_view(0.3), size=(600, 400))
        messages = []
        canvas.basemap_message.connect(messages.append)
        gaps = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.elapsed()]

        def beat():
            now = clock.elapsed()
            gaps.append(now - last[0])
            last[0] = now

        heart = QTimer()
        heart.setInterval(10)
        heart.timeout.connect(beat)
        heart.start()
        basemap = attach(qtbot, canvas, tiles.custom_provider(server.url), TileCache(tmp_path / "c.sqlite"))
        for _ in range(3):  # pan while slow tiles load
            canvas.pan_by(120, 40)
            qtbot.wait(150)
        qtbot.waitUntil(basemap.is_idle, timeout=20000)
        heart.stop()
        assert max(gaps) < 200, max(gaps)
        assert any(tuple(p) in {tuple(c) for c in COLOURS} for p in pixels(canvas)[::10, ::10].reshape(-1, 3))
        qtbot.waitUntil(lambda: bool(messages), timeout=3000)  # said within the report delay
        qtbot.wait(600)
        assert len(messages) <= 2 and len(messages) == len(set(messages))  # 404s and 500s: a line at most each
        server.stop()
        server = None
        messages.clear()
        canvas.zoom_by(0.5)
        canvas.pan_by(-300, 0)
        qtbot.waitUntil(lambda: basemap.is_idle() and bool(messages), timeout=20000)
        for _ in range(3):
            canvas.pan_by(200, 100)
            qtbot.wait(100)
        qtbot.waitUntil(basemap.is_idle, timeout=20000)
        qtbot.wait(600)
        assert len(messages) == 1, messages
        assert "底图" in messages[0]
        canvas.zoom_by(2.0)  # the map still works
        assert canvas.wait_until_rendered(10000)
    finally:
        if server is not None:
            server.stop()


def test_print_shows_the_base_map_and_its_attribution(qtbot, tmp_path):
    import geopandas as gpd
    from PyQt5.QtGui import QImage
    from shapely.geometry import Point

    from riskmap.ui.basemap import BaseMap
    from riskmap.ui.fonts import register_cjk_font
    from riskmap.ui.printing import PageLayout, print_map

    register_cjk_font()
    project = Project()
    project.add_vector(gpd.GeoDataFrame({"n": [1]}, geometry=[Point(*XINYANG)], crs=4490), "点")
    project.set_extent(xinyang_view())
    with TileServer() as server:
        basemap = BaseMap(tiles.custom_provider(server.url, attribution="ATTRIBUTION-TEST"),
                          cache=TileCache(tmp_path / "c.sqlite"))
        out = print_map(project, tmp_path / "map.png", width=900, height=640, dpi=96, basemap=basemap)
        assert server.count() > 0
        basemap.close()
    image = QImage(str(out.path)).convertToFormat(QImage.Format_RGB32)
    layout = PageLayout(project, 900, 640, 96)
    r = layout.map_rect
    colours = {tuple(c) for c in COLOURS}
    inside = [image.pixelColor(int(r.left() + r.width() * fx), int(r.top() + r.height() * fy)).getRgb()[:3]
              for fx in (0.1, 0.3, 0.7, 0.9) for fy in (0.1, 0.4, 0.6)]
    assert sum(c in colours for c in inside) >= 10
    corner = image.pixelColor(int(r.right() - 3), int(r.bottom() - 3)).getRgb()[:3]
    assert corner not in colours  # the attribution box
    plain = print_map(project, tmp_path / "plain.png", width=900, height=640, dpi=96)
    image = QImage(str(plain.path)).convertToFormat(QImage.Format_RGB32)
    assert image.pixelColor(int(r.left() + r.width() * 0.1), int(r.top() + r.height() * 0.1)).getRgb()[:3] \
        == (255, 255, 255)


def test_label_overlay_is_drawn_over_the_tiles(qtbot, tmp_path):
    """天地图 draws its labels (注记) as a second, transparent tile layer over the first."""
    import dataclasses

    def labels(z, x, y):
        rgba = np.zeros((256, 256, 4), np.uint8)
        rgba[100:156, 100:156] = (0, 0, 0, 255)
        return png_bytes(rgba)

    with TileServer(overlay=labels) as server:
        provider = dataclasses.replace(tiles.custom_provider(server.url),
                                       overlay=server.url + "?overlay=1")
        canvas = make_canvas(qtbot, xinyang_view())
        attach(qtbot, canvas, provider, TileCache(tmp_path / "c.sqlite"))
        rgb = pixels(canvas)[:-20]
        flat = rgb.reshape(-1, 3)
        black = np.mean(flat.sum(axis=1) == 0)
        tiles_share = np.mean([tuple(p) in {tuple(c) for c in COLOURS} for p in flat[::13]])
        assert 0.02 < black < 0.2 and tiles_share > 0.6, (black, tiles_share)


def test_command_line_print_draws_an_offline_package(qtbot, tmp_path):
    import geopandas as gpd
    from PyQt5.QtGui import QImage
    from shapely.geometry import Point

    from riskmap.app import print_headless
    from riskmap.layers.tile_store import download_package
    from riskmap.ui.printing import PageLayout

    with TileServer() as server:
        download_package(tiles.custom_provider(server.url, attribution="PKG"), xinyang_view(0.2), [8, 9, 10],
                         tmp_path / "p.mbtiles")
    project = Project()
    project.add_vector(gpd.GeoDataFrame({"n": [1]}, geometry=[Point(*XINYANG)], crs=4490), "点")
    project.set_extent(xinyang_view(0.1))
    project.extras["basemap"] = {"provider": "mbtiles", "path": str(tmp_path / "p.mbtiles")}
    out = print_headless(project, tmp_path / "p.png", width=800, height=560, dpi=96)
    image = QImage(str(out.path)).convertToFormat(QImage.Format_RGB32)
    r = PageLayout(project, 800, 560, 96).map_rect
    c = image.pixelColor(int(r.left() + r.width() * 0.2), int(r.top() + r.height() * 0.3)).getRgb()[:3]
    assert c in {tuple(c) for c in COLOURS}


def test_a_layer_change_does_not_redraw_the_base_map(qtbot, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    with TileServer() as server:
        canvas = make_canvas(qtbot, xinyang_view())
        basemap = attach(qtbot, canvas, tiles.custom_provider(server.url), TileCache(tmp_path / "c.sqlite"))
        image = basemap.image
        canvas.project.add_vector(gpd.GeoDataFrame({"n": [1]}, geometry=[Point(*XINYANG)], crs=4490), "点")
        assert canvas.wait_until_rendered(10000)
        qtbot.wait(200)
        assert basemap.image is image
        canvas.pan_by(50, 0)
        qtbot.waitUntil(lambda: basemap.image is not image and basemap.is_idle(), timeout=10000)


def test_offline_package_of_a_labelled_provider_keeps_the_labels(qtbot, tmp_path):
    import dataclasses

    from PyQt5.QtGui import QImage

    from riskmap.layers.tile_store import MBTiles, download_package
    from riskmap.ui.basemap import compose_png

    def labels(z, x, y):
        rgba = np.zeros((256, 256, 4), np.uint8)
        rgba[:20, :20] = (0, 0, 0, 255)
        return png_bytes(rgba)

    with TileServer(overlay=labels) as server:
        provider = dataclasses.replace(tiles.custom_provider(server.url), overlay=server.url + "?overlay=1")
        download_package(provider, xinyang_view(0.1), [10], tmp_path / "l.mbtiles", compose=compose_png)
    package = MBTiles(tmp_path / "l.mbtiles")
    z, x, y = tiles.tiles_for_bounds(xinyang_view(0.1), 10)[0]
    image = QImage.fromData(package.get(z, x, y))
    package.close()
    assert image.pixelColor(5, 5).getRgb()[:3] == (0, 0, 0)
    assert image.pixelColor(100, 100).getRgb()[:3] in {tuple(c) for c in COLOURS}


def test_gcj_tiles_line_up_in_a_projected_map_crs(qtbot, tmp_path):
    """The warp goes through the map CRS too: CGCS2000 3° Gauss–Krüger (EPSG:4547), tiles at zoom 16."""
    from riskmap.ui.canvas import MapCanvas

    lon0, lat0 = XINYANG
    project = Project(map_crs=crs_policy.parse_crs("EPSG:4547"))
    cx, cy = crs_policy.transform_xy([lon0], [lat0], "EPSG:4326", project.map_crs)
    cx, cy = float(cx[0]), float(cy[0])
    mpp = 2 * tiles.ORIGIN_SHIFT / 256 / 2 ** 16 * np.cos(np.radians(lat0))
    with TileServer(tile=gcj_graticule_tile(lon0, lat0)) as server:
        canvas = MapCanvas(project)
        canvas.show_decorations = False
        qtbot.addWidget(canvas)
        canvas.resize(400, 300)
        canvas.show()
        qtbot.waitExposed(canvas)
        canvas.set_extent((cx - 200 * mpp, cy - 150 * mpp, cx + 200 * mpp, cy + 150 * mpp))
        assert canvas.wait_until_rendered(10000)
        basemap = attach(qtbot, canvas, tiles.custom_provider(server.url, datum="gcj02"),
                         TileCache(tmp_path / "c.sqlite"))
        assert basemap.zoom_for(canvas._device_view()) == 16
        dark = dark_lines(pixels(canvas))
        lats = np.r_[np.linspace(lat0 - 0.0025, lat0 - 0.0005, 5), np.linspace(lat0 + 0.0005, lat0 + 0.0025, 5)]
        mx, my = crs_policy.transform_xy(np.full(10, lon0), lats, "EPSG:4326", project.map_crs)
        checked = 0
        for x, y in zip(mx, my):
            p = canvas.map_to_pixel(float(x), float(y))
            row = int(np.floor(p.y()))
            if not 2 <= row < 298:
                continue
            cols = np.flatnonzero(dark[row])
            near = cols[np.abs(cols + 0.5 - p.x()) < 20]
            assert near.size and np.all(np.abs(near + 0.5 - p.x()) <= 1.0), (row, near, p.x())
            checked += 1
        assert checked >= 5
