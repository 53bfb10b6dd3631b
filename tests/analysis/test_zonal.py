"""Exact zonal sums: circle fast path, polygons, nodata, raster edges, CRS handling."""
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
import geopandas as gpd
from affine import Affine

from riskmap.analysis import zonal
from riskmap.errors import CRSError, DataFormatError

GK = 4547  # CGCS2000 3° GK, CM 114°E (Xinyang)
LEFT, TOP, CELL = 480_000.0, 3_570_000.0, 100.0


def uniform_grid(density_per_km2, shape=(300, 400), cell=CELL, nodata=-9999.0):
    arr = np.full(shape, density_per_km2 * cell * cell / 1e6, np.float32)
    return arr, zonal.as_grid(arr, transform=Affine(cell, 0, LEFT, 0, -cell, TOP), crs=GK, nodata=nodata)


def test_circle_rect_area_matches_polygon_clipping():
    rng = np.random.default_rng(3)
    circle = shapely.Point(0, 0).buffer(1.0, quad_segs=4096)
    x = np.sort(rng.uniform(-1.6, 1.6, (300, 2)), axis=1)
    y = np.sort(rng.uniform(-1.6, 1.6, (300, 2)), axis=1)
    exact = zonal.circle_rect_area(x[:, 0], x[:, 1], y[:, 0], y[:, 1], 1.0)
    clipped = shapely.area(shapely.intersection(circle, shapely.box(x[:, 0], y[:, 0], x[:, 1], y[:, 1])))
    np.testing.assert_allclose(exact, clipped, atol=1e-6)
    assert zonal.circle_rect_area(-5, 5, -5, 5, 2.0) == pytest.approx(np.pi * 4)


@pytest.mark.parametrize("radius", [30.0, 75.0, 150.0, 333.0, 1000.0, 2500.0])
def test_uniform_density_gives_d_pi_r_squared(radius):
    density = 3000.0  # persons / km²
    _arr, grid = uniform_grid(density)
    rng = np.random.default_rng(int(radius))
    x = LEFT + rng.uniform(5000, 35000, 50)
    y = TOP - rng.uniform(5000, 25000, 50)
    res = zonal.circle_sums(grid, x, y, radius)
    expected = density * np.pi * (radius / 1000.0) ** 2
    np.testing.assert_allclose(res["sum"], expected, rtol=0.005)
    np.testing.assert_allclose(res["sum"], expected, rtol=1e-6)  # exact, not just within 0.5 %
    assert (res["nodata_cells"] == 0).all()
    assert res["outside_m2"].max() < 1e-3


def test_zone_at_raster_edge_counts_only_the_inside_part():
    density = 1000.0
    arr, grid = uniform_grid(density)
    r = 800.0
    # centre on the left edge, on the top-left corner, and wholly outside
    res = zonal.circle_sums(grid, [LEFT, LEFT, LEFT - 5000], [TOP - 10000, TOP, TOP - 10000], r)
    full = density * np.pi * (r / 1000) ** 2
    np.testing.assert_allclose(res["sum"], [full / 2, full / 4, 0.0], rtol=1e-6)
    np.testing.assert_allclose(res["outside_m2"], [np.pi * r * r / 2, 3 * np.pi * r * r / 4, np.pi * r * r],
                               rtol=1e-6)


def test_nodata_counts_as_zero_and_is_reported():
    density = 2000.0
    arr, grid = uniform_grid(density)
    arr[100:110, 100:112] = -9999.0  # a nodata block
    arr[50, 50] = np.nan  # NaN is nodata too
    cx, cy, r = LEFT + 10_950.0, TOP - 10_420.0, 640.0
    res = zonal.circle_sums(grid, [cx, LEFT + 5_030.0], [cy, TOP - 5_060.0], r)

    circle = shapely.Point(cx, cy).buffer(r, quad_segs=4096)
    block = shapely.box(LEFT + 100 * CELL, TOP - 110 * CELL, LEFT + 112 * CELL, TOP - 100 * CELL)
    valid_area = circle.area - circle.intersection(block).area
    assert res["sum"].iat[0] == pytest.approx(density * valid_area / 1e6, rel=1e-5)
    rows, cols = np.mgrid[100:110, 100:112]
    cells = shapely.box(LEFT + cols * CELL, TOP - (rows + 1) * CELL, LEFT + (cols + 1) * CELL, TOP - rows * CELL)
    touched = shapely.area(shapely.intersection(cells.ravel(), circle)) > 1e-6
    assert res["nodata_cells"].iat[0] == touched.sum() > 0
    assert res["nodata_cells"].iat[1] == 1
    assert res["sum"].iat[1] == pytest.approx(density * (np.pi * r * r - CELL * CELL) / 1e6, rel=1e-4)


def test_strip_size_does_not_change_the_answer():
    rng = np.random.default_rng(7)
    arr = rng.gamma(1.0, 30.0, (240, 260)).astype(np.float32)
    arr[rng.random(arr.shape) < 0.03] = -9999
    grid = zonal.as_grid(arr, transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), crs=GK, nodata=-9999)
    x = LEFT + rng.uniform(-500, 26500, 200)
    y = TOP - rng.uniform(-500, 24500, 200)
    r = rng.uniform(40, 2500, 200)
    a = zonal.circle_sums(grid, x, y, r, strip_rows=7)
    b = zonal.circle_sums(grid, x, y, r, strip_rows=1000)
    np.testing.assert_allclose(a["sum"], b["sum"], rtol=1e-9)
    np.testing.assert_array_equal(a["nodata_cells"], b["nodata_cells"])
    # and agrees with exactextract on 1024-gon circles
    ref = zonal.polygon_sums(grid, gpd.GeoSeries(zonal.circle_polygons(x, y, r, quad_segs=256), crs=GK))
    np.testing.assert_allclose(a["sum"], ref["sum"], rtol=2e-4, atol=1e-3)
    np.testing.assert_array_equal(a["nodata_cells"], ref["nodata_cells"])


def test_file_and_memory_sources_agree(tmp_path):
    rng = np.random.default_rng(11)
    arr = rng.gamma(1.0, 30.0, (120, 150)).astype(np.float32)
    arr[10:20, 10:20] = -9999
    transform = Affine(CELL, 0, LEFT, 0, -CELL, TOP)
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=150, height=120, count=1, dtype="float32", crs=f"EPSG:{GK}",
                       transform=transform, nodata=-9999) as ds:
        ds.write(arr, 1)
    x, y, r = LEFT + rng.uniform(0, 15000, 40), TOP - rng.uniform(0, 12000, 40), rng.uniform(50, 1500, 40)
    from_file = zonal.circle_sums(path, x, y, r)
    from_mem = zonal.circle_sums(zonal.as_grid(arr, transform=transform, crs=GK, nodata=-9999), x, y, r)
    np.testing.assert_allclose(from_file["sum"], from_mem["sum"], rtol=1e-12)
    np.testing.assert_array_equal(from_file["nodata_cells"], from_mem["nodata_cells"])


def test_points_in_another_crs_give_the_same_answer():
    rng = np.random.default_rng(5)
    arr = rng.gamma(2.0, 10.0, (300, 400)).astype(np.float32)
    grid = zonal.as_grid(arr, transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), crs=GK)
    x, y = LEFT + rng.uniform(3000, 37000, 30), TOP - rng.uniform(3000, 27000, 30)
    same = gpd.GeoSeries(shapely.points(x, y), crs=GK)
    lonlat = same.to_crs(4490)
    r = rng.uniform(100, 2000, 30)
    a = zonal.zone_sums(grid, same, r)
    b = zonal.zone_sums(grid, lonlat, r)
    np.testing.assert_allclose(a["sum"], b["sum"], rtol=1e-6)
    assert (b["method"] == "circle").all()


def _linear_density(x, y):
    """Persons/km², linear in the GK coordinates: its mean over any circle is its value at the centre."""
    return 2000.0 + 0.05 * (x - LEFT) + 0.03 * (TOP - y)


def test_raster_in_a_different_metric_crs_gives_the_same_answer():
    # raster A in GK (EPSG:4547); raster B of the same population field in UTM 50N (EPSG:32650)
    shape = (300, 400)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    cx, cy = LEFT + (cols + 0.5) * CELL, TOP - (rows + 0.5) * CELL
    grid_a = zonal.as_grid((_linear_density(cx, cy) * 0.01).astype(np.float64),
                           transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), crs=GK)
    to_utm = pyproj.Transformer.from_crs(GK, 32650, always_xy=True)
    left_b, top_b = to_utm.transform(LEFT - 2000, TOP + 2000)
    cell_b = 90.0
    rows, cols = np.mgrid[0:400, 0:520]
    ux, uy = left_b + (cols + 0.5) * cell_b, top_b - (rows + 0.5) * cell_b
    gx, gy = to_utm.transform(ux, uy, direction="INVERSE")
    lon, lat = pyproj.Transformer.from_crs(32650, 4490, always_xy=True).transform(ux, uy)
    areal = pyproj.Proj("EPSG:32650").get_factors(lon, lat).areal_scale  # map area / ground area
    values_b = _linear_density(gx, gy) * (cell_b * cell_b / areal) / 1e6
    grid_b = zonal.as_grid(values_b, transform=Affine(cell_b, 0, left_b, 0, -cell_b, top_b), crs=32650)

    pts = gpd.GeoSeries(shapely.points(LEFT + np.array([8000.0, 20000, 31000]),
                                       TOP - np.array([9000.0, 15000, 21000])), crs=GK).to_crs(4490)
    r = np.array([400.0, 1000.0, 2000.0])
    a = zonal.zone_sums(grid_a, pts, r)["sum"].to_numpy()
    b = zonal.zone_sums(grid_b, pts, r)["sum"].to_numpy()
    centre = pts.to_crs(GK)
    expected = _linear_density(centre.x.to_numpy(), centre.y.to_numpy()) * np.pi * (r / 1000) ** 2
    np.testing.assert_allclose(a, expected, rtol=1e-6)
    np.testing.assert_allclose(b, expected, rtol=0.005)  # UTM scale ≈ 1.0006 here: 0.12 % in area


def _lonlat_uniform_grid(density, lon0, lat0, step, shape):
    """A lon/lat raster whose cells hold density × the cell's geodesic area (pyproj.Geod, GRS80)."""
    geod = pyproj.Geod(ellps="GRS80")
    lats = lat0 - (np.arange(shape[0]) + 0.5) * step
    row_area_km2 = np.array([abs(geod.polygon_area_perimeter([lon0, lon0 + step, lon0 + step, lon0],
                                                              [la - step / 2, la - step / 2, la + step / 2,
                                                               la + step / 2])[0]) / 1e6 for la in lats])
    arr = np.repeat((density * row_area_km2)[:, None], shape[1], axis=1)
    return zonal.as_grid(arr, transform=Affine(step, 0, lon0, 0, -step, lat0), crs=4490)


@pytest.mark.parametrize("lat0", [32.3, 60.3])  # Xinyang, and far north where cos φ matters more
def test_lonlat_raster_circles_are_exact(lat0):
    density, step = 4000.0, 0.001
    grid = _lonlat_uniform_grid(density, 113.9, lat0, step, (300, 400))
    assert not grid.is_metric and grid.is_geographic_north_up
    rng = np.random.default_rng(5)
    n = 200
    lon = rng.uniform(113.98, 114.22, n)
    lat = rng.uniform(lat0 - 0.22, lat0 - 0.08, n)
    radius = rng.uniform(30.0, 3000.0, n)  # a few cells to ~30 cells across
    res = zonal.zone_sums(grid, gpd.GeoSeries(shapely.points(lon, lat), crs=4490), radius)
    assert (res["method"] == "circle").all()
    expected = density * np.pi * (radius / 1000) ** 2
    np.testing.assert_allclose(res["sum"], expected, rtol=1e-4)
    assert (res["outside_m2"] < 1e-6 * np.pi * radius ** 2).all()


def test_lonlat_circles_agree_with_exact_polygons_on_uneven_data():
    step, lon0, lat0 = 0.00083333333, 113.9, 32.3  # WorldPop's 3 arc-seconds
    rng = np.random.default_rng(9)
    arr = rng.gamma(0.4, 50.0, (400, 500))
    arr[rng.random(arr.shape) < 0.3] = 0.0
    grid = zonal.as_grid(arr, transform=Affine(step, 0, lon0, 0, -step, lat0), crs=4326)
    lon = rng.uniform(113.97, 114.25, 60)
    lat = rng.uniform(32.04, 32.24, 60)
    radius = rng.uniform(200.0, 2500.0, 60)
    fast = zonal.zone_sums(grid, gpd.GeoSeries(shapely.points(lon, lat), crs=4326), radius)
    assert (fast["method"] == "circle").all()
    # the oracle: 256-vertex circles built in each point's own azimuthal equidistant CRS, summed by exactextract
    circles = []
    for lo, la, r in zip(lon, lat, radius):
        aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={la} +lon_0={lo} +ellps=WGS84 +units=m")
        ring = shapely.buffer(shapely.Point(0, 0), r, quad_segs=zonal.CIRCLE_QUAD_SEGS)
        circles.append(gpd.GeoSeries([ring], crs=aeqd).to_crs(4326).iloc[0])
    slow = zonal.polygon_sums(grid, gpd.GeoSeries(circles, crs=4326))
    np.testing.assert_allclose(fast["sum"], slow["sum"], rtol=2e-3, atol=1e-6)


def test_rotated_lonlat_raster_falls_back_to_exact_polygons():
    density = 4000.0
    grid = _lonlat_uniform_grid(density, 113.9, 32.3, 0.001, (300, 400))
    assert zonal.RasterGrid(Affine(0.001, 1e-9, 113.9, 0, -0.001, 32.3), grid.crs, 400, 300,
                            array=grid.array).is_geographic_north_up is False


def test_polygon_sites_are_buffered():
    density = 1000.0
    _arr, grid = uniform_grid(density)
    site = shapely.box(LEFT + 10000, TOP - 10200, LEFT + 10200, TOP - 10000)  # 200 m square
    res = zonal.zone_sums(grid, gpd.GeoSeries([site], crs=GK), 300.0)
    expected_area = 0.2 * 0.2 + 4 * 0.2 * 0.3 + np.pi * 0.3 ** 2  # km²
    assert res["method"].iat[0] == "polygon"
    assert res["sum"].iat[0] == pytest.approx(density * expected_area, rel=1e-3)


def test_bad_rasters_raise_typed_errors(tmp_path):
    with pytest.raises(DataFormatError):
        zonal.as_grid(tmp_path / "missing.tif")
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       transform=Affine(1, 0, 0, 0, -1, 4)) as ds:
        ds.write(np.ones((4, 4), np.float32), 1)
    with pytest.raises(CRSError):
        zonal.as_grid(path)
    rotated = zonal.as_grid(np.ones((4, 4)), transform=Affine(1, 0.1, 0, 0.1, -1, 4), crs=GK)
    with pytest.raises(CRSError):
        zonal.circle_sums(rotated, [1.0], [1.0], 1.0)
    with pytest.raises(CRSError):
        zonal.zone_sums(rotated, gpd.GeoSeries([shapely.Point(1, 1)], crs=GK), 1.0)
