import numpy as np
import pytest
import shapely
from pyproj import Geod

from riskmap import crs
from riskmap.errors import CRSError

GEOD = Geod(ellps="GRS80")


def test_gcj02_shift_at_xinyang_is_about_600_m():
    lon, lat = crs.wgs84_to_gcj02(114.07, 32.12)
    shift = GEOD.inv(114.07, 32.12, lon, lat)[2]
    assert 500 < shift < 700


# Published WGS84 -> GCJ-02 control pairs (lon, lat, gcj_lon, gcj_lat), literals from other implementations' tests:
GCJ02_CONTROL = [
    # googollee/eviltransform, python/test.py TESTS (Shanghai, Shenzhen, Beijing)
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
    # wandergis/coordtransform, test/app.js: wgs84togcj02(116.404, 39.915)
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
]


@pytest.mark.parametrize("lon,lat,glon,glat", GCJ02_CONTROL)
def test_gcj02_agrees_with_published_control_pairs(lon, lat, glon, glat):
    got = crs.wgs84_to_gcj02(lon, lat)
    assert GEOD.inv(*got, glon, glat)[2] < 0.5
    back = crs.gcj02_to_wgs84(glon, glat)
    assert GEOD.inv(*back, lon, lat)[2] < 0.5


def test_gcj02_inverse_agrees_with_gcoord():
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.js: GCJ02.to.WGS84([123, 45]) toBeCloseTo(.., 5 decimals)
    lon, lat = crs.gcj02_to_wgs84(123.0, 45.0)
    assert lon == pytest.approx(122.99395597, abs=5e-6) and lat == pytest.approx(44.99804071, abs=5e-6)


@pytest.mark.parametrize("lon,lat", [(114.07, 32.12), (87.6, 43.8), (121.5, 31.2), (110.3, 20.0), (126.6, 45.7)])
def test_gcj02_round_trip_under_1_m(lon, lat):
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert GEOD.inv(lon, lat, *back)[2] < 1.0


@pytest.mark.parametrize("lon,lat", [(114.07, 32.12), (116.4, 39.9), (102.7, 25.0)])
def test_bd09_round_trip_under_1_m(lon, lat):
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert GEOD.inv(lon, lat, *back)[2] < 1.0


def test_bd09_differs_from_gcj02():
    g = crs.wgs84_to_gcj02(114.07, 32.12)
    b = crs.wgs84_to_bd09(114.07, 32.12)
    assert GEOD.inv(*g, *b)[2] > 500


def test_no_gcj_shift_outside_china():
    lon, lat = crs.wgs84_to_gcj02(2.35, 48.85)
    assert (lon, lat) == (2.35, 48.85)


def test_offset_geometries_convert_every_vertex():
    line = shapely.LineString([(114.0, 32.0), (114.1, 32.1)])
    shifted = crs.wgs84_geometries_to_offset(np.array([line]), "gcj02")
    back = crs.offset_geometries_to_wgs84(shifted, "amap")
    assert shapely.get_coordinates(back) == pytest.approx(shapely.get_coordinates(line), abs=1e-8)
    with pytest.raises(CRSError):
        crs.offset_geometries_to_wgs84(shifted, "mercator")


@pytest.mark.parametrize("bounds", [
    (113.7, 31.4, 115.9, 32.7),   # Xinyang
    (73.5, 39.0, 76.0, 40.5),     # Kashgar, far west
    (124.0, 47.0, 127.0, 49.5),   # Heilongjiang
    (108.5, 18.2, 111.0, 20.1),   # Hainan, low latitude
    (97.0, 27.0, 101.5, 30.0),    # a wide extent straddling zones
])
def test_metric_crs_distances_within_0_1_percent_of_geodesic(bounds):
    metric = crs.metric_crs_for_bounds(bounds)
    assert not metric.is_geographic
    rng = np.random.default_rng(1)
    lon = rng.uniform(bounds[0], bounds[2], (200, 2))
    lat = rng.uniform(bounds[1], bounds[3], (200, 2))
    x, y = crs.transform_xy(lon.ravel(), lat.ravel(), crs.MAP_CRS, metric)
    x, y = x.reshape(-1, 2), y.reshape(-1, 2)
    planar = np.hypot(x[:, 0] - x[:, 1], y[:, 0] - y[:, 1])
    geodesic = np.array(GEOD.inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])[2])
    keep = geodesic > 1000
    assert np.max(np.abs(planar[keep] / geodesic[keep] - 1)) < 0.001


def test_xinyang_gets_gauss_kruger_zone_114():
    assert crs.metric_crs_for_bounds((113.7, 31.4, 115.9, 32.7)).to_epsg() == 4547


def test_metric_crs_kept_for_projected_data():
    assert crs.metric_crs_for_bounds((500000, 3500000, 510000, 3510000), 4547).to_epsg() == 4547


def test_parse_crs_errors_are_one_line():
    with pytest.raises(CRSError, match="未指定坐标系"):
        crs.parse_crs(None)
    with pytest.raises(CRSError, match="无法识别坐标系“EPSG:999999”"):
        crs.parse_crs("EPSG:999999")
    assert crs.parse_crs("4490").to_epsg() == 4490


def test_format_distance_measured_and_round_lengths():
    # measured distances (the measure tool) keep their precision
    assert crs.format_distance(850) == "850.0 m"
    assert crs.format_distance(1200) == "1.200 km"
    assert crs.format_distance(12_345.6) == "12.346 km"
    # round lengths (the scale bar's 1, 2 or 5 × 10ⁿ m) drop trailing zeros
    assert crs.format_distance(850, round_length=True) == "850 m"
    assert crs.format_distance(1200, round_length=True) == "1.2 km"
    assert crs.format_distance(12_500, round_length=True) == "12.5 km"
    assert crs.format_distance(20_000, round_length=True) == "20 km"
    assert crs.format_distance(999, round_length=True) == "999 m"
    assert crs.format_distance(1000) == "1.000 km"


def test_metres_per_pixel_is_geodesic():
    # 0.01° of longitude at 32° N ≈ 944 m; over 100 px that is ≈ 9.44 m per pixel
    assert crs.metres_per_pixel((114.0, 31.99, 114.01, 32.01), 100) == pytest.approx(9.44, rel=0.01)
    x, y = crs.transform_xy([114.0, 114.01], [32.0, 32.0], 4490, 4547)
    projected = (float(x[0]), float(y[0]) - 10, float(x[1]), float(y[0]) + 10)
    assert crs.metres_per_pixel(projected, 100, "EPSG:4547") == pytest.approx(9.44, rel=0.01)


# ---------------------------------------------------------------------------
# compact geometries: local second-order expansion, checked against PROJ vertex by vertex
# ---------------------------------------------------------------------------
def _max_vertex_miss_m(a, b) -> float:
    """Largest geodesic distance (m) between corresponding vertices of two lon/lat geometry arrays."""
    import shapely
    from pyproj import Geod

    ca, cb = shapely.get_coordinates(np.asarray(a)), shapely.get_coordinates(np.asarray(b))
    assert ca.shape == cb.shape
    _az, _baz, d = Geod(ellps="GRS80").inv(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])
    return float(np.max(d))


def _gk_points(n, seed=3):
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(112.2, 115.8, n), rng.uniform(30.0, 38.0, n)  # up to 1.8° off the 114°E meridian
    x, y = crs.transform_xy(lon, lat, 4326, 4547)
    return np.asarray(x), np.asarray(y), rng


def _no_exact_fallback(monkeypatch):
    def refuse(*_args):
        raise AssertionError("fell back to PROJ per vertex")

    monkeypatch.setattr(crs, "transform_geometries", refuse)


def test_circles_in_crs_match_buffer_then_proj_within_5_mm(monkeypatch):
    import shapely

    x, y, rng = _gk_points(400)
    r = rng.uniform(50.0, 5000.0, x.size)
    with monkeypatch.context() as m:
        _no_exact_fallback(m)  # every circle here is served by its expansion
        got = crs.circles_in_crs(x, y, r, 4547, 4326, quad_segs=64)
    # oracle: GEOS's buffer in metres, every vertex through PROJ
    exact = crs.transform_geometries(shapely.buffer(shapely.points(x, y), r, quad_segs=64), 4547, 4326)
    assert _max_vertex_miss_m(got, exact) < 0.005
    assert shapely.is_valid(got).all()
    # the polygons' area: π r² within the 256-gon's deficit (0.01 %) plus GK's scale error (< 0.1 % here)
    geod = Geod(ellps="GRS80")
    areas = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in got[:40]])
    np.testing.assert_allclose(areas, np.pi * r[:40] ** 2, rtol=2e-3)


def test_circles_beyond_the_bound_are_transformed_exactly():
    import shapely

    x, y, _rng = _gk_points(5)
    r = np.full(5, 3 * crs.COMPACT_MAX_HALF_EXTENT_M)
    got = crs.circles_in_crs(x, y, r, 4547, 4326)
    exact = crs.transform_geometries(shapely.buffer(shapely.points(x, y), r, quad_segs=64), 4547, 4326)
    assert _max_vertex_miss_m(got, exact) < 1e-6


def test_compact_geometries_outlines_within_5_mm_and_large_ones_exact(monkeypatch):
    import shapely

    x, y, rng = _gk_points(300, seed=11)
    # irregular site outlines (hulls of scattered points, up to 4 km across) and a few 60 km lines
    clouds = shapely.multipoints(np.stack([x[:, None] + rng.uniform(-2000, 2000, (x.size, 12)),
                                           y[:, None] + rng.uniform(-2000, 2000, (x.size, 12))], axis=-1))
    outlines = shapely.convex_hull(clouds)
    lines = shapely.linestrings(np.stack([np.stack([x[:3], x[:3] + 60_000], 1),
                                          np.stack([y[:3], y[:3] + 5_000], 1)], axis=-1))
    geoms = np.concatenate([outlines, lines, [None]])
    with monkeypatch.context() as m:
        _no_exact_fallback(m)
        fast = crs.transform_compact_geometries(outlines, 4547, 4326)
    got = crs.transform_compact_geometries(geoms, 4547, 4326)
    assert _max_vertex_miss_m(fast, got[:-4]) == 0
    exact = crs.transform_geometries(geoms, 4547, 4326)
    assert got[-1] is None
    assert _max_vertex_miss_m(got[:-4], exact[:-4]) < 0.005
    assert _max_vertex_miss_m(got[-4:-1], exact[-4:-1]) < 1e-6  # too large: PROJ per vertex


def test_compact_geometries_where_the_expansion_fails_fall_back_to_proj():
    """Across the antimeridian the lon/lat stencil wraps (−180/180): the check points catch it."""
    import shapely

    x, y = crs.transform_xy([179.995, 170.0], [60.0, 60.0], 4326, 32660)  # UTM 60N
    circles = shapely.buffer(shapely.points(x, y), 1000.0, quad_segs=16)
    got = crs.transform_compact_geometries(circles, 32660, 4326)
    exact = crs.transform_geometries(circles, 32660, 4326)
    np.testing.assert_array_equal(shapely.get_coordinates(got[:1]), shapely.get_coordinates(exact[:1]))
    assert _max_vertex_miss_m(got[1:], exact[1:]) < 0.005
    ring = crs.circles_in_crs(x, y, 1000.0, 32660, 4326, quad_segs=16)
    np.testing.assert_array_equal(shapely.get_coordinates(ring[:1]), shapely.get_coordinates(exact[:1]))


def test_a_transformer_on_another_thread_is_rebuilt_from_the_pipeline(monkeypatch):
    import threading

    from pyproj import Transformer

    x, y = np.array([114.1, 115.3]), np.array([32.1, 31.7])
    first = crs.transformer(4326, 4547).transform(x, y)
    searches = []
    original = Transformer.from_crs
    monkeypatch.setattr(Transformer, "from_crs", staticmethod(lambda *a, **k: searches.append(a) or original(*a, **k)))
    out = {}
    worker = threading.Thread(target=lambda: out.update(xy=crs.transformer(4326, 4547).transform(x, y)))
    worker.start()
    worker.join()
    assert searches == []  # no second search of PROJ's database
    np.testing.assert_array_equal(out["xy"], first)


@pytest.mark.parametrize("src, dst", [(4326, 4547), (4547, 4326), (4326, 4490), (4490, 4326), (4326, 4546)])
def test_wgs84_to_cgcs2000_pairs_skip_the_search_and_give_proj_s_numbers(src, dst, monkeypatch):
    """PROJ answers WGS84 ↔ CGCS2000 with a null "ballpark" shift after a 0.045 s database search; riskmap
    asks for the CGCS2000 pair instead: the same numbers, bit for bit, as PROJ's own transformer."""
    from pyproj import CRS, Transformer

    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(110.0, 117.0, 500), rng.uniform(29.0, 36.0, 500)
    if CRS.from_epsg(src).is_projected:
        lon, lat = Transformer.from_crs(4326, src, always_xy=True).transform(lon, lat)
    oracle = Transformer.from_crs(src, dst, always_xy=True).transform(lon, lat)
    asked = []
    original = Transformer.from_crs
    monkeypatch.setattr(Transformer, "from_crs", staticmethod(lambda a, b, **k: asked.append((a, b)) or original(a, b, **k)))
    crs._thread_local.__dict__.clear()  # a thread that has made none yet
    crs._PIPELINES.clear()
    got = crs.transformer(src, dst).transform(lon, lat)
    np.testing.assert_array_equal(got, oracle)
    assert all("China 2000" in (a.datum.name, b.datum.name) and "World Geodetic" not in a.datum.name + b.datum.name
               for a, b in asked)
