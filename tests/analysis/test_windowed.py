"""Windowed raster work (issue 16, province scale): dense areas streamed by strips, circle sums by windows.

Each result is checked against a straightforward whole-array computation written here (labels of the whole
mask, one box per cell), and memory against what a whole-raster read would take.
"""
import math
import tracemalloc

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from scipy import ndimage

from riskmap.analysis import relocation, zonal

GK = 4547
LEFT, TOP, CELL = 480_000.0, 3_570_000.0, 100.0


def blobs(shape, seed):
    """Persons per 100 m cell: a low background, dense blobs of every shape, and some nodata."""
    rng = np.random.default_rng(seed)
    arr = rng.gamma(1.0, 10.0, shape).astype(np.float32)  # ~1,000 persons/km², below the threshold
    h, w = shape
    for _ in range(12):  # round towns
        cy, cx, s = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, 6)
        yy, xx = np.mgrid[0:h, 0:w]
        arr += (90 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))).astype(np.float32)
    arr[rng.random(shape) < 0.01] = -9999
    for r0, r1, c0, c1 in ((3, 42, 8, 30), (48, 64, 38, 54), (68, 74, 3, 9)):  # room for the shapes below
        arr[r0:r1, c0:c1] = 1.0
    arr[5:40, 10:14] = 80  # a U: two arms apart in the upper rows, joined at the bottom
    arr[5:40, 24:28] = 80
    arr[36:40, 10:28] = 80
    arr[50:62, 40:52] = 80  # a square ring with a hole
    arr[54:58, 44:48] = 1
    arr[70, 5] = arr[71, 6] = 80  # touching only at a corner: two areas under 4-connectivity
    return arr


def oracle_dense(arr, nodata, cell_km2, threshold, min_area):
    """Dense areas from the whole array at once: [(area km², people, polygon in pixel coordinates)], scan order."""
    values = np.where(arr == nodata, 0.0, arr.astype(np.float64))
    mask = (values / cell_km2 >= threshold) & (arr != nodata)
    labels, n = ndimage.label(mask)  # 4-connected, numbered in scan order of the first cell
    out = []
    for k, box in enumerate(ndimage.find_objects(labels), start=1):
        rows, cols = np.nonzero(labels[box] == k)
        rows, cols = rows + box[0].start, cols + box[1].start
        cell = np.broadcast_to(cell_km2, arr.shape)[rows, cols]
        if cell.sum() < min_area:
            continue
        poly = shapely.union_all(shapely.box(cols, rows, cols + 1, rows + 1))
        out.append((cell.sum(), values[rows, cols].sum(), poly))
    return out


def to_pixels(geoms, transform):
    t = transform
    return shapely.transform(geoms, lambda xy: np.column_stack([(xy[:, 0] - t.c) / t.a, (xy[:, 1] - t.f) / t.e]))


@pytest.mark.parametrize("strip_rows", [1, 3, 7, 16, 1000])
def test_streamed_dense_areas_equal_the_whole_array_computation(strip_rows):
    arr = blobs((90, 70), seed=4)
    transform = Affine(CELL, 0, LEFT, 0, -CELL, TOP)
    grid = zonal.as_grid(arr, transform=transform, crs=GK, nodata=-9999)
    expected = oracle_dense(arr, -9999, CELL * CELL / 1e6, 5000.0, 0.02)
    assert len(expected) >= 6  # towns, the U, the ring, the two corner cells are below 0.02 km²
    got = relocation.dense_areas(grid, 5000.0, 0.02, strip_rows=strip_rows)
    assert len(got) == len(expected)
    np.testing.assert_allclose(got["area_km2"], [e[0] for e in expected], rtol=1e-12)
    np.testing.assert_allclose(got["population"], [e[1] for e in expected], rtol=1e-12)
    pixels = to_pixels(got.geometry.values, transform)
    for poly, (_a, _p, ref) in zip(pixels, expected):
        assert shapely.get_type_id(poly) == 3  # one polygon per area (the U's arms joined, the ring kept)
        assert shapely.area(shapely.symmetric_difference(poly, ref)) < 1e-6
    ring = [p for p in pixels if p.contains(shapely.Point(40.5, 50.5))]
    assert len(ring) == 1 and shapely.get_num_interior_rings(ring[0]) == 1
    assert shapely.area(ring[0]) == pytest.approx(12 * 12 - 4 * 4)
    u = [p for p in pixels if p.contains(shapely.Point(10.5, 5.5))]
    assert len(u) == 1 and u[0].contains(shapely.Point(26.5, 5.5)) and shapely.area(u[0]) == 2 * 35 * 4 + 4 * 10


def test_streamed_dense_areas_on_a_lonlat_raster_and_corner_contacts():
    step = 0.001
    arr = np.zeros((40, 30), np.float32)
    arr[2:30, 3:6] = 60.0  # a tall strip crossing many strips
    arr[10, 20] = arr[11, 21] = 60.0  # corner contact only
    transform = Affine(step, 0, 114.0, 0, -step, 32.3)
    grid = zonal.as_grid(arr, transform=transform, crs=4490)
    lat = 32.3 - (np.arange(40) + 0.5) * step
    cell_km2 = (6371.0088 ** 2 * math.radians(step) ** 2 * np.cos(np.radians(lat)))[:, None]
    expected = oracle_dense(arr, -9999, cell_km2, 5000.0, 0.0)
    got = relocation.dense_areas(grid, 5000.0, 0.0, strip_rows=4)
    assert len(got) == len(expected) == 3
    np.testing.assert_allclose(got["area_km2"], [e[0] for e in expected], rtol=1e-12)
    np.testing.assert_allclose(got["density"], [e[1] / e[0] for e in expected], rtol=1e-12)


def write_tiled(path, arr, transform, crs, block=64):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype=arr.dtype.name, crs=crs, transform=transform, nodata=-9999.0, tiled=True,
                       blockxsize=block, blockysize=block, compress="deflate") as ds:
        ds.write(arr, 1)


def test_dense_areas_read_the_raster_by_strips_not_whole(tmp_path):
    arr = np.random.default_rng(1).uniform(0.0, 45.0, (1500, 1200)).astype(np.float32)  # < 4,500/km²
    for k, (r0, c0) in enumerate(((0, 0), (700, 500), (1410, 1130), (300, 1000))):
        arr[r0:r0 + 90, c0:c0 + 70] = blobs((90, 70), seed=8 + k)
    path = tmp_path / "pop.tif"
    write_tiled(path, arr, Affine(CELL, 0, LEFT, 0, -CELL, TOP), f"EPSG:{GK}")
    whole = arr.size * 8  # one float64 copy of the raster
    tracemalloc.start()
    try:
        got = relocation.dense_areas(path, 5000.0, 0.02, strip_rows=64)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < whole / 4, f"peak {peak / 1e6:.1f} MB, the raster as float64 is {whole / 1e6:.1f} MB"
    expected = oracle_dense(arr, -9999, CELL * CELL / 1e6, 5000.0, 0.02)
    assert len(got) == len(expected)
    np.testing.assert_allclose(np.sort(got["population"]), np.sort([e[1] for e in expected]), rtol=1e-12)


def clustered_zones(rng, n, width_m, height_m):
    """Zone centres in a few clusters (so a strip has several separate windows), some crossing the edge."""
    centres = rng.uniform([0, 0], [width_m, height_m], (5, 2))
    centres[0] = (0.0, height_m / 2)  # on the west edge
    centres[1] = (0.6 * width_m, height_m / 2)  # same rows, far to the east: its own windows
    which = rng.integers(0, 5, n)
    xy = centres[which] + rng.normal(0, 2500, (n, 2))
    return LEFT + xy[:, 0], TOP - xy[:, 1], rng.uniform(60, 3000, n)


def test_circle_sums_by_windows_equal_one_full_read(tmp_path, monkeypatch):
    rng = np.random.default_rng(21)
    h, w = 2000, 2400  # 200 × 240 km at 100 m, 64-cell blocks
    arr = rng.gamma(1.0, 30.0, (h, w)).astype(np.float32)
    arr[rng.random(arr.shape) < 0.02] = -9999
    path = tmp_path / "pop.tif"
    write_tiled(path, arr, Affine(CELL, 0, LEFT, 0, -CELL, TOP), f"EPSG:{GK}")
    x, y, r = clustered_zones(rng, 150, w * CELL, h * CELL)

    windows = []
    real_call = zonal._Reader.__call__

    def recording(self, row0, row1, col0, col1):
        windows.append((row0, row1, col0, col1))
        return real_call(self, row0, row1, col0, col1)

    monkeypatch.setattr(zonal._Reader, "__call__", recording)
    full = zonal.circle_sums(path, x, y, r, strip_rows=h, block_cols=w)  # the whole raster in one read
    assert len(windows) == 1
    windows.clear()
    tracemalloc.start()
    try:
        parts = zonal.circle_sums(path, x, y, r, strip_rows=64)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(parts["sum"], full["sum"], rtol=1e-12)
    np.testing.assert_array_equal(parts["nodata_cells"], full["nodata_cells"])
    np.testing.assert_allclose(parts["outside_m2"], full["outside_m2"], atol=1e-3)
    assert (parts["outside_m2"] > 1).any()  # some zones cross the raster's edge
    # windows: several per strip, none wider than the zones need, less than the raster read in all
    strips = [r0 // 64 for r0, _r1, _c0, _c1 in windows]
    assert max(strips.count(k) for k in set(strips)) >= 2  # separate clusters in one strip: separate windows
    cells = [(r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in windows]
    assert all(r1 - r0 <= 64 for r0, r1, _c0, _c1 in windows)
    assert sum(cells) < arr.size / 5
    assert peak < arr.size, f"peak {peak / 1e6:.1f} MB for a {arr.size * 4 / 1e6:.1f} MB raster"
    # and the same totals from the array in memory, read whole
    grid = zonal.as_grid(arr, transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), crs=GK, nodata=-9999)
    mem = zonal.circle_sums(grid, x, y, r, strip_rows=h, block_cols=w)
    np.testing.assert_allclose(parts["sum"], mem["sum"], rtol=1e-12)


def test_circle_sums_by_windows_on_a_lonlat_raster_are_exact(tmp_path):
    from pyproj import Geod

    step, lon0, lat0 = 0.001, 113.9, 32.4
    h, w = 500, 700
    geod = Geod(ellps="WGS84")
    tops = lat0 - np.arange(h) * step
    row_km2 = np.array([abs(geod.polygon_area_perimeter([0, step, step, 0], [t - step, t - step, t, t])[0])
                        for t in tops]) / 1e6
    density = 2000.0
    arr = np.repeat((density * row_km2).astype(np.float32)[:, None], w, axis=1)
    path = tmp_path / "pop.tif"
    write_tiled(path, arr, Affine(step, 0, lon0, 0, -step, lat0), "EPSG:4326")
    rng = np.random.default_rng(3)
    lon = rng.uniform(lon0 + 0.05, lon0 + w * step - 0.05, 300)
    lat = rng.uniform(lat0 - h * step + 0.05, lat0 - 0.05, 300)
    radius = rng.uniform(100, 3000, 300)
    parts = zonal.circle_sums(path, lon, lat, radius, strip_rows=32)
    full = zonal.circle_sums(path, lon, lat, radius, strip_rows=h, block_cols=w)
    np.testing.assert_allclose(parts["sum"], full["sum"], rtol=1e-12)
    np.testing.assert_allclose(parts["sum"], density * np.pi * (radius / 1000) ** 2, rtol=2e-4)


# ---------------------------------------------------------------------------
# dense areas around a box: whole areas, at the cost of the part of the raster asked about
# ---------------------------------------------------------------------------
def snake_raster():
    """A 400×300 raster: a dense snake that leaves a small box, wanders far and comes back next to it;
    a dense town far away; a town just inside the box."""
    arr = np.full((400, 300), 5.0, np.float32)  # 500 persons/km²
    arr[100:104, 100:280] = 80  # from the box east to column 280
    arr[100:380, 276:280] = 80  # down to row 380
    arr[376:380, 20:280] = 80  # west to column 20
    arr[120:380, 20:24] = 80  # up to row 120, west of the box: one area, reaching round the raster
    arr[10:30, 10:30] = 80  # a far town (north-west corner)
    arr[110:116, 108:114] = 80  # a town inside the box
    return arr


def test_dense_areas_around_a_box_are_whole_and_equal_a_whole_raster_pass():
    arr = snake_raster()
    transform = Affine(CELL, 0, LEFT, 0, -CELL, TOP)
    grid = zonal.as_grid(arr, transform=transform, crs=GK, nodata=-9999)
    whole = relocation.dense_areas(grid, 5000.0, 0.02, strip_rows=16)
    assert len(whole) == 3
    # the box: columns 95–120, rows 95–125 (touches the snake's start and holds the small town)
    box = (LEFT + 95 * CELL, TOP - 125 * CELL, LEFT + 120 * CELL, TOP - 95 * CELL)
    got = relocation.dense_areas(grid, 5000.0, 0.02, strip_rows=16, bounds=box)
    assert len(got) == 2  # the snake (whole) and the small town; not the far town
    far = shapely.box(LEFT + 10 * CELL, TOP - 30 * CELL, LEFT + 30 * CELL, TOP - 10 * CELL)
    expected = whole[~whole.intersects(far)].sort_values("area_km2").reset_index(drop=True)
    got = got.sort_values("area_km2").reset_index(drop=True)
    np.testing.assert_allclose(got["area_km2"], expected["area_km2"], rtol=1e-12)
    np.testing.assert_allclose(got["population"], expected["population"], rtol=1e-12)
    snake_cells = 4 * 180 + 4 * 280 + 4 * 260 + 4 * 260 - 3 * 16  # four arms less the three shared 4×4 corners
    assert got["area_km2"].iloc[-1] == pytest.approx(snake_cells * CELL * CELL / 1e6)
    for a, b in zip(got.geometry, expected.geometry):
        assert shapely.area(shapely.symmetric_difference(a, b)) < 1e-3


def test_dense_areas_around_a_box_read_only_around_it(tmp_path, monkeypatch):
    """A small box on a big raster: the cells read are the box's, not the raster's."""
    arr = np.full((2000, 1600), 5.0, np.float32)
    arr[1000:1010, 800:810] = 80
    path = tmp_path / "pop.tif"
    write_tiled(path, arr, Affine(CELL, 0, LEFT, 0, -CELL, TOP), f"EPSG:{GK}")
    grid = zonal.as_grid(path)
    read_cells = []
    original = zonal._Reader.__call__

    def counting(self, r0, r1, c0, c1):
        read_cells.append((r1 - r0) * (c1 - c0))
        return original(self, r0, r1, c0, c1)

    monkeypatch.setattr(zonal._Reader, "__call__", counting)
    box = (LEFT + 790 * CELL, TOP - 1020 * CELL, LEFT + 820 * CELL, TOP - 990 * CELL)
    got = relocation.dense_areas(grid, 5000.0, 0.0, bounds=box)
    assert len(got) == 1 and got["area_km2"].iloc[0] == pytest.approx(100 * CELL * CELL / 1e6)
    assert 0 < sum(read_cells) < 0.001 * arr.size
    read_cells.clear()
    assert len(relocation.dense_areas(grid, 5000.0, 0.0)) == 1
    assert sum(read_cells) == arr.size  # without a box: the whole raster, once


def test_relocation_finds_the_dense_areas_a_moved_plant_reaches(tmp_path):
    """update_plant (what-if: a plant moved far away) looks for dense areas around its new zone too."""
    import geopandas as gpd

    arr = snake_raster()
    transform = Affine(CELL, 0, LEFT, 0, -CELL, TOP)
    grid = zonal.as_grid(arr, transform=transform, crs=GK, nodata=-9999)
    plants = gpd.GeoDataFrame({"name": ["甲"], "industry": ["hazchem"], "safe_dist": [500.0],
                               "chemicals": ["液氯:5"]},
                              geometry=[shapely.Point(LEFT + 150 * CELL, TOP - 250 * CELL)], crs=GK)
    result = relocation.assess_relocation(plants, grid)
    assert len(result.dense_areas) == 0 and not bool(result.plants["in_dense"].iat[0])
    # into the far town (north-west corner), 26 km from where it was: its zone lies wholly inside it
    row = relocation.update_plant(result, 0, geometry=shapely.Point(LEFT + 20 * CELL, TOP - 20 * CELL))
    assert bool(row["in_dense"]) and row["dense_km2"] == pytest.approx(math.pi * 0.5 ** 2, rel=1e-3)
    # the box searched now spans both places: the far town, the snake and the small town, as a whole pass finds
    assert sorted(result.dense_areas["area_km2"].round(6)) == sorted(
        relocation.dense_areas(grid, 5000.0, 0.2)["area_km2"].round(6))
    assert 4.0 in set(result.dense_areas["area_km2"].round(6))
