"""The renderer (riskmap.ui.render): pixels where features are, background elsewhere, rasters, labels."""
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box

from riskmap.layers import Style
from riskmap.project import Project

pytestmark = pytest.mark.gui

GREEN, ORANGE, BLUE, RED, PURPLE = "#2ca02c", "#ff7f0e", "#1f77b4", "#d62728", "#9467bd"
EXTENT = (114.0, 32.0, 115.0, 32.5)
W, H = 400, 200  # the extent drawn exactly into this size (fit_extent is tested separately)


def tiny_project() -> Project:
    """A polygon with a hole, a second polygon, two categorised lines and categorised points."""
    p = Project()
    holed = Polygon([(114.05, 32.05), (114.45, 32.05), (114.45, 32.45), (114.05, 32.45)],
                    [[(114.2, 32.2), (114.3, 32.2), (114.3, 32.3), (114.2, 32.3)]])
    counties = gpd.GeoDataFrame({"name": ["浉河区", "平桥区"]}, geometry=[holed, box(114.55, 32.05, 114.95, 32.45)],
                                crs=4490)
    p.add_vector(counties, "县区", style=Style(color=GREEN, stroke=GREEN, fill_opacity=1.0, width=1.0))
    roads = gpd.GeoDataFrame({"road_class": ["national", "county"]},
                             geometry=[LineString([(114.0, 32.1), (115.0, 32.1)]),
                                       LineString([(114.0, 32.4), (115.0, 32.4)])], crs=4490)
    p.add_vector(roads, "道路", style=Style(mode="categorized", field="road_class", width=3,
                                          categories={"national": ORANGE, "county": BLUE}))
    plants = gpd.GeoDataFrame({"industry": ["hazchem", "fireworks", "unknown"], "name": ["甲", "乙", "丙"]},
                              geometry=[Point(114.15, 32.3), Point(114.75, 32.3), MultiPoint([(114.85, 32.2)])],
                              crs=4490)
    p.add_vector(plants, "企业", style=Style(mode="categorized", field="industry", size=12, stroke="",
                                           fill_opacity=1.0, categories={"hazchem": RED, "fireworks": PURPLE}))
    return p


def rgb_at(image, x, y, extent=EXTENT, size=(W, H)):
    px = (x - extent[0]) / (extent[2] - extent[0]) * size[0]
    py = (extent[3] - y) / (extent[3] - extent[1]) * size[1]
    c = image.pixelColor(int(px), int(py))
    return c.red(), c.green(), c.blue()


def near(rgb, hex_colour, tol=30):
    h = hex_colour.lstrip("#")
    want = tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    return all(abs(a - b) <= tol for a, b in zip(rgb, want))


@pytest.fixture
def render(qapp):
    from riskmap.ui import render as module
    from riskmap.ui.fonts import register_cjk_font

    register_cjk_font()
    return module


def test_features_have_their_colours_and_the_rest_is_background(render):
    p = tiny_project()
    img = render.render_layers(p.layers, EXTENT, W, H)
    assert (img.width(), img.height()) == (W, H)
    assert near(rgb_at(img, 114.1, 32.25), GREEN)  # polygon interior
    assert near(rgb_at(img, 114.25, 32.25), "#ffffff")  # the hole
    assert near(rgb_at(img, 114.5, 32.25), "#ffffff")  # between the polygons
    assert near(rgb_at(img, 114.5, 32.1), ORANGE)  # national road
    assert near(rgb_at(img, 114.5, 32.4), BLUE)  # county road
    assert near(rgb_at(img, 114.15, 32.3), RED)  # hazchem plant
    assert near(rgb_at(img, 114.75, 32.3), PURPLE)  # fireworks
    assert near(rgb_at(img, 114.85, 32.2), "#3388ff")  # a value the style does not list: the default colour
    assert near(rgb_at(img, 114.98, 32.48), "#ffffff")


def test_hidden_layers_and_opacity(render):
    p = tiny_project()
    p.layers["道路"].visible = False
    p.layers["县区"].opacity = 0.5
    img = render.render_layers(p.layers, EXTENT, W, H)
    assert near(rgb_at(img, 114.5, 32.1), "#ffffff")  # the hidden road is gone
    r, g, b = rgb_at(img, 114.1, 32.25)
    assert near((r, g, b), "#95cf95", tol=12)  # half-transparent green over white


def test_layer_order_decides_what_is_on_top(render):
    p = tiny_project()
    img = render.render_layers(p.layers, EXTENT, W, H)
    assert near(rgb_at(img, 114.1, 32.1), ORANGE)  # the road crosses the county on top
    p.layers.move(1, 0)  # road below the counties
    img = render.render_layers(p.layers, EXTENT, W, H)
    assert near(rgb_at(img, 114.1, 32.1), GREEN)


def test_highlight_draws_a_yellow_ring_around_selected_points(render):
    p = tiny_project()
    plants = p.layers["企业"]
    img = render.render_layers(p.layers, EXTENT, W, H, highlights={plants: [1]})
    cx = (114.75 - EXTENT[0]) / 1.0 * W
    cy = (EXTENT[3] - 32.3) / 0.5 * H
    ring = [img.pixelColor(int(cx + dx), int(cy)) for dx in range(5, 14)]
    assert any(c.red() > 200 and c.green() > 200 and c.blue() < 90 for c in ring)
    plain = render.render_layers(p.layers, EXTENT, W, H)
    ring = [plain.pixelColor(int(cx + dx), int(cy)) for dx in range(5, 14)]
    assert not any(c.red() > 200 and c.green() > 200 and c.blue() < 90 for c in ring)


def test_labels_use_the_cjk_font(render):
    from PyQt5.QtGui import QFontMetrics

    from riskmap.ui.fonts import cjk_family, ui_font

    assert "CJK" in cjk_family() or "Han" in cjk_family() or "Hei" in cjk_family()
    assert QFontMetrics(ui_font(10)).inFont("浉")  # a real glyph, not a box
    p = tiny_project()
    counties = p.layers["县区"]
    counties.style = Style(color="#ffffff", stroke="#000000", fill_opacity=1.0, label_field="name")
    view = render.MapView(EXTENT, W, H)
    labels = render.render_labels([render.snapshot(counties, view)])
    assert labels is not None
    alpha = np.array([[labels.pixelColor(x, y).alpha() for x in range(0, W, 2)] for y in range(0, H, 2)])
    assert alpha.sum() > 0  # something was written
    no_field = render.render_labels([render.snapshot(p.layers["道路"], view)])
    assert no_field is None


def test_point_symbols_keep_labels_away(render):
    p = tiny_project()
    counties = p.layers["县区"]
    counties.style = Style(color="#ffffff", stroke="#000000", fill_opacity=1.0, label_field="name")
    plants = gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.point_on_surface(box(114.55, 32.05, 114.95, 32.45))],
                              crs=4490)
    p.add_vector(plants, "厂", style=Style(size=14))
    view = render.MapView(EXTENT, W, H)
    snaps = [render.snapshot(layer, view) for layer in p.layers]
    labels = render.render_labels(snaps, snaps)
    px = int((114.75 - EXTENT[0]) * W)
    py = int((EXTENT[3] - 32.25) / 0.5 * H)
    assert labels.pixelColor(px, py).alpha() == 0  # the county label moved off the point


def test_snap_to_grid_drops_vertices_within_a_cell(render):
    coords = np.array([[0.1, 0.1], [0.2, 0.3], [0.4, 0.2], [1.5, 0.2], [1.6, 0.4], [3.2, 0.1],  # part 1
                       [5.0, 5.0], [5.1, 5.1]], float)  # part 2: all in one cell
    offsets = np.array([0, 6, 8])
    out, off = render.snap_to_grid(coords, offsets, 1.0, 1.0)
    assert off.tolist() == [0, 3, 5]
    assert out[:3].tolist() == [[0.1, 0.1], [1.5, 0.2], [3.2, 0.1]]  # one vertex per cell, the last kept
    assert out[3:].tolist() == [[5.0, 5.0], [5.1, 5.1]]  # first and last survive


def test_prepared_geometry_flattens_parts_rings_and_skips_empties(render):
    geoms = np.array([
        shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
        Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (1, 2), (2, 2), (2, 1)]]),
        shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3), (4, 4)]]),
        MultiPoint([(0, 0), (1, 1)]),
        shapely.GeometryCollection([Point(5, 5), LineString([(0, 0), (9, 9)])]),
        Polygon(),
        None,
    ], dtype=object)
    prep = render.PreparedGeometry(geoms)
    assert prep.point_feature.tolist() == [3, 3, 4]
    assert prep.line_feature.tolist() == [2, 2, 4]
    assert np.diff(prep.line_offsets).tolist() == [2, 3, 2]
    assert prep.ring_feature.tolist() == [0, 0, 1, 1]
    assert prep.ring_hole.tolist() == [False, False, False, True]
    # exteriors counter-clockwise (positive shoelace area), holes clockwise
    for i, hole in enumerate(prep.ring_hole):
        ring = prep.ring_coords[prep.ring_offsets[i]:prep.ring_offsets[i + 1]]
        area = 0.5 * np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
        assert (area < 0) == bool(hole)


def test_colour_codes_agree_with_the_style(render):
    style = Style(mode="graduated", field="v", breaks=[10, 20], colors=["#000001", "#000002", "#000003"])
    table = {"v": np.array([5, 10, 15, 25, np.nan])}
    import pandas as pd

    frame = pd.DataFrame(table)
    palette = render.style_palette(style)
    codes = render.color_codes(style, frame)
    assert [palette[c] for c in codes] == list(style.colors_for(frame["v"].to_numpy()))
    cat = Style(mode="categorized", field="k", categories={"a": "#111111", "1": "#222222"})
    frame = pd.DataFrame({"k": ["a", "b", 1, None]})
    palette = render.style_palette(cat)
    assert [palette[c] for c in render.color_codes(cat, frame)] == list(cat.colors_for(frame["k"].to_numpy()))


@pytest.mark.parametrize("raster_cache", ["build", "off", "later"])
def test_raster_in_a_projected_crs_renders_in_the_map_crs(render, tmp_path, raster_cache):
    import rasterio
    from rasterio.transform import from_origin

    from riskmap import crs as crs_policy

    # 20 km × 10 km in EPSG:4547 near Xinyang: west half 1, east half 100, a nodata strip
    x0, y0 = crs_policy.transform_xy([114.1], [32.3], 4490, 4547)
    values = np.ones((100, 200), np.float32)
    values[:, 100:] = 100.0
    values[:, 95:105] = -9999
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=200, height=100, count=1, dtype="float32", crs="EPSG:4547",
                       transform=from_origin(float(x0[0]), float(y0[0]), 100.0, 100.0), nodata=-9999) as ds:
        ds.write(values, 1)
    p = Project()
    layer = p.add_raster(path, "人口", style=Style(mode="raster", ramp="reds", vmin=1.0, vmax=100.0))
    ext = layer.extent()
    img = render.render_layers(p.layers, ext, 300, 150, background="#ffffff", raster_cache=raster_cache)
    low, high = "#fee5d9", "#a50f15"  # the ends of the reds ramp
    cy = (ext[1] + ext[3]) / 2
    west = ext[0] + (ext[2] - ext[0]) * 0.25
    east = ext[0] + (ext[2] - ext[0]) * 0.75
    mid = ext[0] + (ext[2] - ext[0]) * 0.5
    assert near(rgb_at(img, west, cy, ext, (300, 150)), low, tol=12)
    assert near(rgb_at(img, east, cy, ext, (300, 150)), high, tol=12)
    assert near(rgb_at(img, mid, cy, ext, (300, 150)), "#ffffff", tol=5)  # nodata is transparent


def test_fit_extent_keeps_ground_proportions(render):
    bbox = (114.0, 32.0, 115.0, 33.0)  # 1° × 1°: wider in degrees of latitude than of longitude on the ground
    fitted = render.fit_extent(bbox, 400, 400)
    w, h = fitted[2] - fitted[0], fitted[3] - fitted[1]
    assert fitted[0] <= bbox[0] and fitted[2] >= bbox[2] and fitted[1] <= bbox[1] and fitted[3] >= bbox[3]
    assert w / h == pytest.approx(1 / math.cos(math.radians(32.5)), rel=1e-6)
    assert render.fit_extent((0, 0, 1000, 500), 200, 100, "EPSG:4547") == pytest.approx((0, 0, 1000, 500))


def test_scale_bar_helpers(render):
    assert render.nice_length(7300) == 5000 and render.nice_length(1999) == 1000 and render.nice_length(25) == 20
    assert render.format_distance(20000, round_length=True) == "20 km"  # the scale bar's label
    # 0.01° of longitude at 32° N ≈ 944 m; over 100 px that is ≈ 9.44 m per pixel
    mpp = render.metres_per_pixel((114.0, 31.99, 114.01, 32.01), 100)
    assert mpp == pytest.approx(9.44, rel=0.01)


def test_a_cancelled_snapshot_stops(render):
    p = tiny_project()
    view = render.MapView(EXTENT, W, H)
    snap = render.snapshot(p.layers["县区"], view)
    snap.cancel.set()
    with pytest.raises(render.RenderCancelled):
        render.render_layer(snap)


def test_many_points_and_lines_render(render):
    rng = np.random.default_rng(0)
    n = 5000
    pts = gpd.GeoDataFrame({"c": rng.choice(["a", "b"], n)},
                           geometry=shapely.points(rng.uniform(114, 115, n), rng.uniform(32, 32.5, n)), crs=4490)
    starts = rng.uniform((114, 32), (115, 32.5), (300, 1, 2))
    lines = shapely.linestrings(starts + rng.normal(0, 0.002, (300, 30, 2)).cumsum(axis=1))
    p = Project()
    p.add_vector(gpd.GeoDataFrame(geometry=lines, crs=4490), "线", style=Style(color=BLUE))
    p.add_vector(pts, "点", style=Style(mode="categorized", field="c", categories={"a": RED, "b": GREEN}, size=4))
    img = render.render_layers(p.layers, EXTENT, W, H)
    colours = {img.pixel(x, y) for x in range(0, W, 3) for y in range(0, H, 3)}
    assert len(colours) > 20  # points of both colours, lines, antialiased edges


def test_decimate_keeps_lines_within_a_pixel_and_drops_collinear_vertices(render):
    t = np.linspace(0, np.pi, 400)
    arc = np.column_stack([100 + 80 * np.cos(t), 100 + 80 * np.sin(t)])  # a smooth half circle, in pixels
    straight = np.column_stack([np.linspace(0, 300, 100), np.full(100, 5.0)])
    coords = np.vstack([arc, straight])
    offsets = np.array([0, 400, 500])
    out, off = render.decimate(coords, offsets, 1.0, 1.0, tolerance_px=0.4, passes=3)
    assert off[-1] == len(out) and len(out) < len(coords) / 3
    assert out[0].tolist() == arc[0].tolist() and out[off[1] - 1].tolist() == arc[-1].tolist()  # ends kept
    simplified_arc = shapely.LineString(out[:off[1]])
    assert max(simplified_arc.distance(shapely.Point(p)) for p in arc) <= 1.2  # ≤ passes × tolerance
    assert np.diff(off).tolist()[1] < 20  # a straight line keeps few vertices


def test_chunked_simplification_covers_every_visible_part(render, monkeypatch):
    rng = np.random.default_rng(2)
    starts = rng.uniform((114, 32), (115, 32.5), (1000, 1, 2))
    lines = shapely.linestrings(starts + rng.normal(0, 0.001, (1000, 20, 2)).cumsum(axis=1))
    prep = render.PreparedGeometry(lines)
    assert len(prep._chunks["lines"]) > 3  # sorted into spatial chunks
    mask = np.zeros(1000, bool)
    mask[rng.choice(1000, 50, replace=False)] = True
    part_mask = mask[prep.line_feature]
    from riskmap.ui.render import geometry

    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return simplify(*args, **kwargs)

    simplify = geometry.simplify_lines
    monkeypatch.setattr(geometry, "simplify_lines", counting)
    coords, offsets, parts = prep.simplified("lines", 0.001, 0.001, part_mask)
    assert set(np.flatnonzero(part_mask)) <= set(parts.tolist())
    assert offsets[-1] == len(coords) and len(offsets) == len(parts) + 1
    first = len(calls)
    assert 0 < first <= len(prep._chunks["lines"]) - 1  # once per chunk at most
    again = prep.simplified("lines", 0.001, 0.001, part_mask)  # cached per zoom level and chunk
    assert len(calls) == first  # a cache hit: nothing simplified again
    assert np.array_equal(again[0], coords) and np.array_equal(again[1], offsets)
    prep.simplified("lines", 0.0005, 0.0005, part_mask)  # another zoom level is simplified anew
    assert len(calls) > first


def test_a_pan_renders_only_the_uncovered_strip_with_the_same_result(render):
    p = tiny_project()
    base = (114.2, 32.1, 115.2, 32.6)
    view = render.MapView(base, W, H)
    dx, dy = -60, 25  # west and south: the strips uncover the county, both roads and a plant
    rx, ry = 1.0 / W, 0.5 / H
    moved = render.MapView((base[0] + dx * rx, base[1] - dy * ry, base[2] + dx * rx, base[3] - dy * ry), W, H)
    assert render.pan_offset(view, moved) == (dx, dy)
    assert render.pan_offset(view, render.MapView(base, W + 1, H)) is None
    assert render.exposed_rects(W, H, dx, dy) == [(0, 0, -dx, H), (-dx, H - dy, W + dx, dy)]
    assert render.exposed_rects(W, H, 30, -10) == [(W - 30, 0, 30, H), (0, 0, W - 30, 10)]
    for layer in p.layers:
        before = render.render_layer(render.snapshot(layer, view))
        panned = render.render_layer_panned(render.snapshot(layer, moved), before, dx, dy)
        full = render.render_layer(render.snapshot(layer, moved))
        a = np.frombuffer(panned.constBits().asstring(panned.sizeInBytes()), np.uint8).astype(int)
        b = np.frombuffer(full.constBits().asstring(full.sizeInBytes()), np.uint8).astype(int)
        assert b.any()
        differing = np.count_nonzero(np.abs(a - b) > 40) / 4
        assert differing < W, layer.name  # at most antialiasing along the seam


def test_dilate_grows_a_mask_by_whole_cells(render):
    mask = np.zeros((7, 7), bool)
    mask[3, 3] = True
    grown = render._dilate(mask, 2)
    assert grown.sum() == 25 and grown[1:6, 1:6].all()


def test_a_point_label_is_drawn_next_to_its_point(render):
    """The label of a point sits beside the point's pixel, nowhere else (not at the view corner)."""
    p = Project()
    point = (114.5, 32.25)  # pixel (200, 100) of EXTENT drawn into 400 × 200
    plants = gpd.GeoDataFrame({"name": ["甲厂"]}, geometry=[Point(*point)], crs=4490)
    layer = p.add_vector(plants, "厂", style=Style(size=10, label_field="name"))
    view = render.MapView(EXTENT, W, H)
    snap = render.snapshot(layer, view)
    px, py = (point[0] - EXTENT[0]) / 1.0 * W, (EXTENT[3] - point[1]) / 0.5 * H
    assert (px, py) == pytest.approx((200.0, 100.0))
    labels = render.render_labels([snap])
    alpha = np.array([[labels.pixelColor(x, y).alpha() for x in range(W)] for y in range(H)])
    ys, xs = np.nonzero(alpha)
    assert len(xs) > 20  # the label was drawn
    assert xs.min() >= px - 60 and xs.max() <= px + 60 and ys.min() >= py - 20 and ys.max() <= py + 20
    assert not alpha[:20, :40].any()  # nothing at the view corner


def test_area_label_anchors_are_inside_their_polygons(render):
    from riskmap.ui.render.labels import _label_anchors

    p = tiny_project()
    counties = p.layers["县区"]
    view = render.MapView(EXTENT, W, H)
    snap = render.snapshot(counties, view)
    anchors, ok = _label_anchors(snap, np.arange(2))
    assert ok.all()
    for (x, y), geom in zip(anchors, counties.display_geoms):
        assert geom.contains(Point(x, y))
    px, py = view.to_pixels(anchors[:, 0], anchors[:, 1])
    # the second county is box(114.55, 32.05, 114.95, 32.45): pixels x 220-380, y 20-180
    assert 220 < px[1] < 380 and 20 < py[1] < 180


def test_the_map_and_the_html_export_colour_rasters_alike(render, tmp_path):
    """One colouring: the renderer's raster pixels are RasterLayer.render_rgba's (the HTML export's)."""
    import rasterio
    from rasterio.transform import from_origin

    from riskmap.layers import raster_colour
    from riskmap.ui.render import raster

    assert raster.colorize is raster_colour.colorize
    rng = np.random.default_rng(3)
    values = (np.cumsum(rng.normal(0, 4, (50, 100)), axis=1) + 200).astype(np.float32)
    values[10:14, 30:60] = -9999
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100, height=50, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(114.0, 32.5, 0.01, 0.01), nodata=-9999) as ds:
        ds.write(values, 1)
    p = Project()
    layer = p.add_raster(path, "高程", style=Style(mode="raster", ramp="terrain", hillshade=True))
    ext = layer.extent()
    img = render.render_layers(p.layers, ext, 100, 50, background=None, raster_cache="off")
    expected = layer.render_rgba(ext, 100, 50)
    got = np.array([[[c.red(), c.green(), c.blue(), c.alpha()] for c in (img.pixelColor(x, y) for x in range(100))]
                    for y in range(50)])
    assert np.array_equal(got[..., 3], expected[..., 3]) and (expected[..., 3] == 0).any()
    opaque = expected[..., 3] == 255
    assert np.array_equal(got[opaque, :3], expected[opaque, :3].astype(int))
