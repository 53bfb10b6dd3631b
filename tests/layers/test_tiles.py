"""Tile math, providers and the warp grid (riskmap.layers.tiles), no Qt."""
import math

import numpy as np
import pytest

from riskmap import crs as crs_policy
from riskmap.errors import ParameterError
from riskmap.layers import tiles

WKT_4490 = crs_policy.crs_wkt("EPSG:4490")


def _slippy(lon, lat, z):
    """The OSM wiki's tile-index formula, written independently."""
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return x, y


@pytest.mark.parametrize("lon,lat,z", [(114.07, 32.12, 10), (114.07, 32.12, 16), (-0.1, 51.5, 12),
                                       (0.0, 0.0, 1), (151.2, -33.9, 14)])
def test_tile_index_matches_slippy_formula(lon, lat, z):
    px, py = tiles.lonlat_to_pixel(lon, lat, z)
    assert (int(px // 256), int(py // 256)) == _slippy(lon, lat, z)
    lon2, lat2 = tiles.pixel_to_lonlat(px, py, z)
    assert lon2 == pytest.approx(lon, abs=1e-9) and lat2 == pytest.approx(lat, abs=1e-9)


def test_tiles_for_bounds_cover_the_box_centre_first():
    box = (113.9, 32.0, 114.2, 32.2)
    ts = tiles.tiles_for_bounds(box, 12)
    x0, y0, x1, y1 = tiles.tile_range(box, 12)
    assert len(ts) == (x1 - x0 + 1) * (y1 - y0 + 1) == tiles.count_tiles(box, [12])
    assert _slippy(113.9, 32.2, 12) == (x0, y0) and _slippy(114.2, 32.0, 12) == (x1, y1)
    centre = _slippy(114.05, 32.1, 12)
    assert abs(ts[0][1] - centre[0]) <= 1 and abs(ts[0][2] - centre[1]) <= 1
    w, s, e, n = tiles.tile_bounds_lonlat(*ts[0])
    assert w < e and s < n


def test_zoom_for_resolution():
    lat = 32.1
    ground = 156543.03392804097 * math.cos(math.radians(lat))
    for z in (5, 10, 16):
        res = ground / 2 ** z
        assert tiles.zoom_for_resolution(res, lat) == z
        assert tiles.zoom_for_resolution(res * 0.8, lat) == z + 1  # finer view: finer tiles
        assert tiles.zoom_for_resolution(res * 1.05, lat) == z  # a little coarser: same tiles
    assert tiles.zoom_for_resolution(0.01, lat, max_zoom=18) == 18
    assert tiles.zoom_for_resolution(1e9, lat) == 0


def test_providers_declared_once_and_used_by_html():
    p = tiles.PROVIDERS["amap_vec"]
    assert p.datum == "gcj02" and p.online and "{s}" in p.url
    assert tiles.PROVIDERS["osm"].datum == "wgs84"
    tdt = tiles.PROVIDERS["tianditu_vec"]
    assert tdt.key == "tianditu"
    with pytest.raises(ParameterError):
        tdt.tile_url(3, 1, 2)
    url = tdt.with_key("k&y").tile_url(3, 1, 2)
    assert "TILEMATRIX=3" in url and "TILECOL=1" in url and "TILEROW=2" in url and "tk=k%26y" in url
    spec = tiles.html_tile_specs("tianditu", "abc")[0]
    assert spec["url"].endswith("tk=abc") and spec["subdomains"] == "01234567" and "cva" in spec["overlay"]
    assert tiles.html_tile_specs("none", None) == []


def test_custom_provider_checks_the_template():
    p = tiles.custom_provider("https://{s}.example.org/t/{z}/{x}/{-y}.png")
    assert p.tile_url(3, 1, 2) in {f"https://{s}.example.org/t/3/1/5.png" for s in "abc"}
    for bad in ("ftp://x/{z}/{x}/{y}", "https://x/{z}/{x}.png", "file:///{z}/{x}/{y}"):
        with pytest.raises(ParameterError):
            tiles.custom_provider(bad)


def test_source_pixels_is_exact_to_a_tiny_fraction_of_a_pixel():
    extent = (113.9, 31.95, 114.25, 32.25)
    w, h = 333, 257
    px, py = tiles.source_pixels(extent, w, h, WKT_4490, 13, "gcj02", step=16)
    cols = np.array([0, 17, 100, 332]) + 0.5
    rows = np.array([0, 9, 128, 256]) + 0.5
    for r in rows:
        for c in cols:
            lon = extent[0] + c / w * (extent[2] - extent[0])
            lat = extent[3] - r / h * (extent[3] - extent[1])
            glon, glat = crs_policy.wgs84_to_gcj02(lon, lat)
            ex, ey = tiles.lonlat_to_pixel(glon, glat, 13)
            assert abs(px[int(r), int(c)] - ex) < 0.01 and abs(py[int(r), int(c)] - ey) < 0.01


def test_gcj_grid_is_not_a_constant_offset():
    """The shift differs across a county-sized view by more than a pixel at zoom 16."""
    extent = (113.7, 31.4, 115.9, 32.7)
    px_w, _ = tiles.source_pixels(extent, 50, 50, WKT_4490, 16, "wgs84")
    px_g, _ = tiles.source_pixels(extent, 50, 50, WKT_4490, 16, "gcj02")
    d = px_g - px_w
    assert d.max() - d.min() > 1.0


def test_warp_samples_the_mosaic():
    z = 4
    t = {(z, 3, 5): np.full((256, 256, 4), 200, np.uint8)}
    px = np.array([[3 * 256 + 10.2, 2 * 256 + 5.0]])
    py = np.array([[5 * 256 + 100.7, 5 * 256 + 1.0]])
    out = tiles.warp(t, px, py, z)
    assert out[0, 0, 3] == 200 and out[0, 1, 3] == 0
    assert tiles.view_tiles(px, py, z) == [(z, 2, 5), (z, 3, 5)] or set(tiles.view_tiles(px, py, z)) == {
        (z, 2, 5), (z, 3, 5)}


def test_a_view_needing_too_many_tiles_draws_none():
    px, py, _, _ = tiles.lattice_pixels((100.0, 20.0, 130.0, 45.0), 400, 300, WKT_4490, 12)
    assert tiles.view_tiles(px, py, 12) == []
    px, py, _, _ = tiles.lattice_pixels((100.0, 20.0, 130.0, 45.0), 400, 300, WKT_4490, 4)
    assert 0 < len(tiles.view_tiles(px, py, 4)) <= tiles.MAX_VIEW_TILES
