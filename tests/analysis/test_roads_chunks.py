"""detect_road_hazards chunk by chunk of whole roads gives exactly what one pass over the network gives."""
import numpy as np
import geopandas as gpd
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.analysis import roads
from riskmap.analysis.roads import RoadHazardParams, RoadNetwork

METRIC = 4547
X0, Y0 = 500000.0, 3560000.0
CELL = 30.0


def winding_road(rng, length_m, mountain, x, y):
    """Straights and arcs (tight ones on mountain roads), digitised every 8–25 m with ±0.5 m noise."""
    pieces, total = [], 0.0
    while total < length_m:
        straight = rng.uniform(20, 150) if mountain else rng.uniform(80, 500)
        radius = rng.uniform(15, 120) if mountain else rng.uniform(200, 2000)
        angle = np.radians(rng.uniform(20, 150) if mountain else rng.uniform(5, 60))
        pieces += [(straight, 0.0), (radius * angle, rng.choice([-1.0, 1.0]) / radius)]
        total += straight + radius * angle
    k = np.concatenate([np.full(max(int(L), 1), c) for L, c in pieces])
    step = np.concatenate([np.full(max(int(L), 1), L / max(int(L), 1)) for L, c in pieces])
    th = rng.uniform(0, 2 * np.pi) + np.r_[0.0, np.cumsum(k * step)]
    mid = (th[:-1] + th[1:]) / 2
    s = np.r_[0.0, np.cumsum(step)]
    px, py = np.r_[0.0, np.cumsum(step * np.cos(mid))], np.r_[0.0, np.cumsum(step * np.sin(mid))]
    q = np.arange(0, min(s[-1], length_m), rng.uniform(8, 25))
    xy = np.column_stack([np.interp(q, s, px), np.interp(q, s, py)]) + rng.uniform(-0.5, 0.5, (len(q), 2))
    return xy + [x, y]


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """Several hundred roads (some of two parts) on hilly terrain with escarpments, a DEM that ends
    inside the network and has a hole, lakes and rivers the roads cross, clustered accidents."""
    rng = np.random.default_rng(11)
    n, side, spacing = 320, 18, 2500.0
    geoms, classes = [], []
    for i in range(n):
        mountain = i % 3 == 0
        cx = X0 + (i % side) * spacing + rng.uniform(-300, 300)
        cy = Y0 + (i // side) * spacing + rng.uniform(-300, 300)
        # long roads for long down-grades, short ones so that many roads share a chunk
        length = rng.choice([900.0, 1800.0, 4200.0])
        line = winding_road(rng, length, mountain, cx, cy)
        if i % 7 == 0:  # two parts that do not join
            other = winding_road(rng, 800.0, mountain, cx + 1500, cy + 200)
            geoms.append(shapely.MultiLineString([line, other]))
        else:
            geoms.append(shapely.LineString(line))
        classes.append("township" if mountain else rng.choice(["national", "provincial", "county"]))
    layer = gpd.GeoDataFrame({"name": [f"路{i}" for i in range(n)], "road_class": classes}, geometry=geoms,
                             crs=METRIC)
    # the DEM: hills, steep ramps and escarpments; it stops short of the network's east side
    width = int((side - 3) * spacing / CELL)
    height = int((n // side + 3) * spacing / CELL)
    ox, oy = X0 - 2000.0, Y0 - 2000.0 + height * CELL
    xs = ox + (np.arange(width) + 0.5) * CELL
    ys = oy - (np.arange(height) + 0.5) * CELL
    X, Y = np.meshgrid(xs, ys)
    z = 300 + 80 * np.sin(X / 1700.0) * np.cos(Y / 2300.0) + 0.07 * ((X - X0) % 4000.0)
    z += 45.0 * (np.sin(X / 900.0 + Y / 1300.0) > 0.6)  # escarpments: cliff-side roads
    z = z.astype("float32")
    z[int(height * 0.4):int(height * 0.45), int(width * 0.3):int(width * 0.5)] = -9999  # a hole
    z[:, (np.arange(width) % 70) < 5] = -9999  # and stripes: chunks that begin or end without elevations
    dem = tmp_path_factory.mktemp("chunks") / "dem.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs=f"EPSG:{METRIC}", transform=from_origin(ox, oy, CELL, CELL), nodata=-9999,
                       tiled=True, blockxsize=256, blockysize=256) as ds:
        ds.write(z, 1)
    size = side * spacing
    centres = rng.uniform([X0, Y0], [X0 + size, Y0 + size], (90, 2))
    lakes = list(shapely.buffer(shapely.points(centres), rng.uniform(60, 400, 90), quad_segs=8))
    rivers = [shapely.LineString([(X0 - 1000, Y0 + y), (X0 + size + 1000, Y0 + y + 3000)])
              for y in rng.uniform(0, size, 6)]
    water = gpd.GeoDataFrame({"name": [f"水{i}" for i in range(len(lakes) + len(rivers))]},
                             geometry=lakes + rivers, crs=METRIC)
    lines = shapely.get_parts(layer.geometry.values)
    pick = rng.integers(0, len(lines), 2500)
    pos = np.where(rng.random(2500) < 0.5, rng.uniform(0.2, 0.8, 2500).round(1) + rng.uniform(-0.03, 0.03, 2500),
                   rng.uniform(0, 1, 2500))
    pts = shapely.line_interpolate_point(lines[pick], np.clip(pos, 0, 1), normalized=True)
    accidents = gpd.GeoDataFrame({"date": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1000, 2500),
                                                                                         "D"),
                                  "deaths": rng.choice([0, 0, 0, 1, 2], 2500), "injuries": rng.integers(0, 3, 2500)},
                                 geometry=pts, crs=METRIC)
    return layer, dem, water, accidents


def test_chunks_are_runs_of_whole_roads(network):
    layer = network[0]
    net = RoadNetwork(layer, RoadHazardParams(), resampled=False)
    chunks = net.road_chunks(3000)
    assert len(chunks) > 20
    npts = net.part_sums()[1]
    assert chunks[0][0] == 0 and chunks[-1][1] == len(net.parts)
    for (a, b), (c, _) in zip(chunks[:-1], chunks[1:]):
        assert b == c
        assert net.owner[b] != net.owner[b - 1]  # a road is never split between chunks
        # a chunk is full: the next road would not have fitted
        nxt = np.flatnonzero(net.owner == net.owner[b])
        assert npts[a:b].sum() <= 3000 or len(np.unique(net.owner[a:b])) == 1
        assert npts[a:nxt[-1] + 1].sum() > 3000
    # resampling a chunk gives the numbers of resampling the whole network
    whole = RoadNetwork(layer, RoadHazardParams())
    a, b = chunks[len(chunks) // 2]
    sub = net.chunk(a, b)
    sel = (whole.samples.part >= a) & (whole.samples.part < b)
    np.testing.assert_array_equal(sub.samples.xy, whole.samples.xy[sel])
    np.testing.assert_array_equal(sub.samples.local, whole.samples.local[sel])


def test_chunked_results_equal_one_pass(network):
    layer, dem, water, accidents = network
    net = RoadNetwork(layer, RoadHazardParams(), resampled=False)
    assert len(net.road_chunks(3000)) > 20 and len(net.road_chunks(10 ** 9)) == 1
    one, rec_one = roads.detect_road_hazards(layer, dem=dem, water=water, accidents=accidents,
                                             chunk_points=10 ** 9)
    chunked, rec_chunked = roads.detect_road_hazards(layer, dem=dem, water=water, accidents=accidents,
                                                     chunk_points=3000)
    # the network exercises every kind and subtype, missing elevations and bridges
    assert set(one["kind"]) == set(roads.KINDS)
    subtypes = set("+".join(one["subtype"].fillna("")).split("+"))
    assert {"steep", "long_downgrade", "grade_length"} <= subtypes
    assert any("落在DEM范围外" in note for note in rec_one["notes"])
    assert any("桥梁" in note for note in rec_one["notes"])
    # identical: kinds, measures, notes, chainages and geometries to the last bit
    pd.testing.assert_frame_equal(pd.DataFrame(one.drop(columns="geometry")),
                                  pd.DataFrame(chunked.drop(columns="geometry")), check_exact=True)
    assert list(shapely.to_wkb(one.geometry.values)) == list(shapely.to_wkb(chunked.geometry.values))
    assert rec_one["notes"] == rec_chunked["notes"]


def test_chunk_grades_equal_one_pass(network, monkeypatch):
    """Per sample, not only per segment: the grades along every chunk are those of one pass (missing
    elevations at a chunk's ends are filled from beyond it, as along the whole network)."""
    layer, dem, water, _ = network
    grades = []
    real = roads.detect_steep_grades

    def spy(net, z, progress=None):
        g, _ = roads.grade_along(net, z, net.params.grade_window_m)
        grades[-1].append(g)
        return real(net, z, progress=progress)

    monkeypatch.setattr(roads, "detect_steep_grades", spy)
    for chunk in (10 ** 9, 3000):
        grades.append([])
        roads.detect_road_hazards(layer, dem=dem, water=water, kinds=["steep_grade"], chunk_points=chunk)
    one, chunked = (np.concatenate(g) for g in grades)
    assert len(grades[1]) > 20 and np.isnan(one).any()
    np.testing.assert_array_equal(one, chunked)


def test_held_window_samples_as_whole_raster(network):
    """Points inside a held window, beyond it and on the raster's edge get the whole raster's values."""
    dem = network[1]
    rng = np.random.default_rng(3)
    with rasterio.open(dem) as ds:
        left, bottom, right, top = ds.bounds
    x = rng.uniform(left - 100, right + 100, 20000)
    y = rng.uniform(bottom - 100, top + 100, 20000)
    x[:50], y[:50] = right - 1.0, top - 1.0  # the last row and column
    with roads.DemSampler(dem) as whole, roads.DemSampler(dem, max_in_memory_cells=0, tile=256) as held:
        expected = whole.sample(x, y)
        w, h = right - left, top - bottom
        for x0, x1, y0, y1 in ((0.3, 0.5, 0.3, 0.5), (0.8, 1.0, 0.8, 1.0)):  # inside, and at a corner
            box = (x > left + x0 * w) & (x < left + x1 * w) & (y > bottom + y0 * h) & (y < bottom + y1 * h)
            held.hold(x[box], y[box], METRIC, margin_m=60.0)
            row_off, col_off, block = held._held
            assert 0 < block.size < 0.2 * held.width * held.height
            np.testing.assert_array_equal(held.sample(x, y), expected)
        assert whole._array.dtype == np.float32  # a float32 DEM is kept as it is
