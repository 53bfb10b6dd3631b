"""Road hazard candidates on synthetic roads (and on the bundled sample when it is installed)."""
import numpy as np
import geopandas as gpd
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.analysis import jtg_d20, roads
from riskmap.analysis.roads import RoadHazardParams, RoadNetwork
from riskmap.errors import CancelledError, DataFormatError, EmptyLayerError, ParameterError

METRIC = 4547  # CGCS2000 3° GK CM 114°E (Xinyang)
X0, Y0 = 500000.0, 3560000.0


# ---------------------------------------------------------------------------
# synthetic geometry
# ---------------------------------------------------------------------------
def alignment(pieces, spacing, noise=0.0, seed=0, phase=0.0, heading_deg=20.0):
    """A road built from (length, curvature) pieces, digitised every ``spacing`` m (± ``noise`` m)."""
    ds = 0.05
    ks, ls = [], []
    for length, k in pieces:
        n = max(int(round(length / ds)), 1)
        ks.append(np.full(n, k))
        ls.append(np.full(n, length / n))
    k = np.concatenate(ks)
    d = np.concatenate(ls)
    th = np.radians(heading_deg) + np.r_[0.0, np.cumsum(k * d)]
    mid = (th[:-1] + th[1:]) / 2
    x = np.r_[0.0, np.cumsum(d * np.cos(mid))]
    y = np.r_[0.0, np.cumsum(d * np.sin(mid))]
    s = np.r_[0.0, np.cumsum(d)]
    q = np.arange(phase, s[-1], spacing)
    q = np.r_[0.0, q[q > 0], s[-1]]
    xy = np.column_stack([np.interp(q, s, x), np.interp(q, s, y)])
    if noise:
        xy = xy + np.random.default_rng(seed).uniform(-noise, noise, xy.shape)
    return xy + [X0, Y0]


def arc_pieces(radius, deflection_deg, straight=150.0, turn=1):
    return [(straight, 0.0), (radius * np.radians(deflection_deg), turn / radius), (straight, 0.0)]


def road_layer(coords_list, speed=None, road_class=None, crs=METRIC, names=None):
    n = len(coords_list)
    data = {"name": names or [f"路{i}" for i in range(n)]}
    if speed is not None:
        data["speed_kmh"] = speed if isinstance(speed, list) else [speed] * n
    if road_class is not None:
        data["road_class"] = road_class if isinstance(road_class, list) else [road_class] * n
    return gpd.GeoDataFrame(data, geometry=[shapely.LineString(c) for c in coords_list], crs=crs)


def bends_of(layer, **params):
    net = RoadNetwork(layer, RoadHazardParams(**params))
    return roads.detect_sharp_bends(net)


def write_dem(path, z, x0, y1, cell, crs=METRIC):
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1, dtype="float32",
                       crs=f"EPSG:{crs}", transform=from_origin(x0, y1, cell, cell), nodata=-9999) as ds:
        ds.write(z.astype("float32"), 1)
    return path


# ---------------------------------------------------------------------------
# sharp bends
# ---------------------------------------------------------------------------
# design speeds chosen so each radius is below the limit radius: 30 m < 60 (40 km/h),
# 60 m < 125 (60 km/h), 120 m < 250 (80 km/h)
RADIUS_SPEED = [(30, 40), (60, 60), (120, 80)]


@pytest.mark.parametrize("radius, speed", RADIUS_SPEED)
@pytest.mark.parametrize("spacing", [2.0, 10.0, 25.0])
@pytest.mark.parametrize("phase", [0.0, 0.4])
def test_one_bend_per_arc_radius_within_10_percent(radius, speed, spacing, phase):
    coords = alignment(arc_pieces(radius, 90), spacing, phase=phase * spacing)
    found = bends_of(road_layer([coords], speed=speed))
    assert len(found) == 1
    bend = found.iloc[0]
    assert bend.radius_m == pytest.approx(radius, rel=0.10)
    assert bend.deflection_deg == pytest.approx(90, abs=5)
    # the extent runs between the tangent points (arc from 150 m to 150 + R·π/2)
    assert bend.start_m == pytest.approx(150, abs=max(spacing, 5))
    assert bend.end_m == pytest.approx(150 + radius * np.pi / 2, abs=max(spacing, 5))


@pytest.mark.parametrize("radius, speed", RADIUS_SPEED)
@pytest.mark.parametrize("spacing", [2.0, 10.0, 25.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_noisy_digitising_still_one_bend(radius, speed, spacing, seed):
    # ±1 m uniform noise on every vertex. A 120° arc: on a 90° arc of 30 m radius digitised every
    # 25 m only two vertices lie on the arc and the noise alone spreads the radius by ~8 % (1 s.d.).
    coords = alignment(arc_pieces(radius, 120), spacing, noise=1.0, seed=seed, phase=0.3 * spacing)
    found = bends_of(road_layer([coords], speed=speed))
    assert len(found) == 1
    assert found.radius_m.iloc[0] == pytest.approx(radius, rel=0.10)
    assert found.deflection_deg.iloc[0] == pytest.approx(120, abs=8)


@pytest.mark.parametrize("spacing", [2.0, 10.0, 25.0])
@pytest.mark.parametrize("noise", [0.0, 1.0])
def test_straight_road_and_gentle_curve_have_no_bend(spacing, noise):
    straight = alignment([(1500, 0.0)], spacing, noise=noise, seed=5)
    gentle = alignment([(200, 0.0), (2000 * np.radians(40), 1 / 2000), (200, 0.0)], spacing, noise=noise, seed=6)
    assert len(bends_of(road_layer([straight, gentle], speed=120))) == 0


def test_reverse_curve_gives_two_bends():
    pieces = [(150, 0.0), (40 * np.radians(90), 1 / 40), (40 * np.radians(90), -1 / 40), (150, 0.0)]
    found = bends_of(road_layer([alignment(pieces, 5.0)], speed=40))
    assert len(found) == 2
    assert np.sign(found.deflection_deg).tolist() == [1, -1]
    np.testing.assert_allclose(found.radius_m, 40, rtol=0.10)
    assert found.end_m.iloc[0] <= found.start_m.iloc[1] + 1


def test_hairpins_one_bend_each():
    pieces = [(100, 0.0)]
    for turn in (1, -1, 1):
        pieces += [(20 * np.pi, turn / 20), (60, 0.0)]
    found = bends_of(road_layer([alignment(pieces, 10.0)], speed=30))
    assert len(found) == 3
    np.testing.assert_allclose(found.radius_m, 20, rtol=0.10)
    np.testing.assert_allclose(np.abs(found.deflection_deg), 180, atol=5)


def test_bend_above_the_limit_radius_is_not_reported():
    coords = alignment(arc_pieces(150, 90), 10.0)
    assert len(bends_of(road_layer([coords], speed=60))) == 0  # limit 125 m
    assert len(bends_of(road_layer([coords], speed=80))) == 1  # limit 250 m


def test_speed_from_road_class_when_missing():
    coords = alignment(arc_pieces(45, 90), 10.0)
    layer = road_layer([coords, coords + [0, 1000]], road_class=["乡道", "county"])
    found = bends_of(layer)
    # township default 30 km/h (limit 30 m): not sharp; county 40 km/h (limit 60 m): sharp
    assert found.road_index.tolist() == [1]


def test_geographic_input_is_measured_in_metres():
    coords = alignment(arc_pieces(60, 90), 5.0)
    layer = road_layer([coords], speed=60).to_crs(4490)
    found = bends_of(layer)
    assert len(found) == 1
    assert found.radius_m.iloc[0] == pytest.approx(60, rel=0.02)


def test_multipart_road_chainage_continues():
    a = alignment([(300, 0.0)], 10.0)
    b = alignment(arc_pieces(30, 90), 10.0) + [0, 2000]
    layer = gpd.GeoDataFrame({"name": ["m"], "speed_kmh": [40]},
                             geometry=[shapely.MultiLineString([a, b])], crs=METRIC)
    found = bends_of(layer)
    assert len(found) == 1
    assert found.start_m.iloc[0] == pytest.approx(300 + 150, abs=5)


# ---------------------------------------------------------------------------
# DEM sampling and steep grades
# ---------------------------------------------------------------------------
@pytest.fixture
def plane_dem(tmp_path):
    """A 20 m DEM rising 8 % towards +x over 4 km × 4 km."""
    cell = 20.0
    n = 200
    xs = X0 - 1000 + (np.arange(n) + 0.5) * cell
    z = np.tile(100 + 0.08 * (xs - X0), (n, 1))
    return write_dem(tmp_path / "plane.tif", z, X0 - 1000, Y0 + 2000, cell)


def test_dem_sampler_bilinear_and_tiled_reads_agree(plane_dem):
    rng = np.random.default_rng(0)
    x = X0 + rng.uniform(-900, 2900, 500)
    y = Y0 + rng.uniform(-1900, 1900, 500)
    with roads.DemSampler(plane_dem) as whole, roads.DemSampler(plane_dem, max_in_memory_cells=0, tile=16) as tiled:
        z1 = whole.sample(x, y)
        z2 = tiled.sample(x, y)
        outside = whole.sample([X0 + 1e6], [Y0])
    np.testing.assert_allclose(z1, 100 + 0.08 * (x - X0), atol=1e-3)
    np.testing.assert_allclose(z1, z2)
    assert np.isnan(outside).all()


@pytest.mark.parametrize("angle_deg, expected", [(0, 8.0), (45, 8.0 * np.cos(np.radians(45))), (90, 0.0)])
def test_grade_on_a_plane_within_half_a_point(plane_dem, angle_deg, expected):
    a = np.radians(angle_deg)
    coords = np.array([[X0, Y0], [X0 + 1500 * np.cos(a), Y0 + 1500 * np.sin(a)]])
    net = RoadNetwork(road_layer([coords], speed=60), RoadHazardParams())
    with roads.DemSampler(plane_dem) as dem:
        z = dem.sample(net.samples.xy[:, 0], net.samples.xy[:, 1], net.metric_crs)
    grade, _ = roads.grade_along(net, z, 100.0)
    assert np.nanmax(np.abs(grade - expected)) < 0.5


def test_steep_stretch_found_with_its_grade(plane_dem):
    along = np.array([[X0, Y0], [X0 + 1500, Y0]])       # 8 % > 7 % (40 km/h)
    across = np.array([[X0, Y0 + 500], [X0, Y0 + 1500]])  # flat
    layer = road_layer([along, across], speed=40)
    segs, _ = roads.detect_road_hazards(layer, dem=plane_dem, kinds=["steep_grade"])
    steep = segs[segs.subtype == "steep"]
    assert steep.road_index.tolist() == [0]
    assert steep.grade_pct.iloc[0] == pytest.approx(8.0, abs=0.5)
    assert steep.grade_limit_pct.iloc[0] == 7.0
    assert steep.start_m.iloc[0] == pytest.approx(0, abs=1) and steep.end_m.iloc[0] == pytest.approx(1500, abs=1)
    # same road at 30 km/h (max 8 %): not steep
    segs, _ = roads.detect_road_hazards(road_layer([along], speed=30), dem=plane_dem, kinds=["steep_grade"],
                                        params=RoadHazardParams(grade_tolerance_pct=0.3))
    assert (segs.subtype == "steep").sum() == 0


def test_long_downgrade(tmp_path):
    cell = 30.0
    n = 200
    xs = X0 - 500 + (np.arange(n) + 0.5) * cell
    z = np.tile(500 - 0.06 * (xs - X0), (20, 1))  # 6 % down towards +x
    dem = write_dem(tmp_path / "slope.tif", z, X0 - 500, Y0 + 300, cell)
    layer = road_layer([np.array([[X0, Y0], [X0 + 4000, Y0]])], speed=40)  # max 7 %: not steep
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"])
    assert segs.subtype.tolist() == ["long_downgrade"]
    assert segs.grade_pct.iloc[0] == pytest.approx(6.0, abs=0.2)
    assert segs.length_m.iloc[0] == pytest.approx(4000, abs=10)
    assert "连续长下坡" in segs.note.iloc[0]
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"],
                                        params=RoadHazardParams(downgrade_avg_pct=6.5))
    assert len(segs) == 0
    # 2 km of it is too short for the default 3 km
    short = road_layer([np.array([[X0, Y0], [X0 + 2000, Y0]])], speed=40)
    assert len(roads.detect_road_hazards(short, dem=dem, kinds=["steep_grade"])[0]) == 0


def test_bridges_do_not_count_as_steep_or_cliff(tmp_path):
    # a 40 m deep, 300 m wide river valley under a flat road: the DEM dips, the bridge deck does not
    cell = 10.0
    xs = X0 - 500 + (np.arange(300) + 0.5) * cell
    z = 100 - 40 * np.clip(1 - np.abs(xs - (X0 + 1000)) / 150, 0, 1)
    dem = write_dem(tmp_path / "valley.tif", np.tile(z, (60, 1)), X0 - 500, Y0 + 300, cell)
    layer = road_layer([np.array([[X0, Y0], [X0 + 2000, Y0]])], speed=60)
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade", "near_cliff"])
    assert set(segs.kind) == {"steep_grade"}  # without water the dip reads as steep grades
    river = gpd.GeoDataFrame({"name": ["浉河"]}, geometry=[shapely.box(X0 + 850, Y0 - 300, X0 + 1150, Y0 + 300)],
                             crs=METRIC)
    segs, record = roads.detect_road_hazards(layer, dem=dem, water=river, kinds=["steep_grade", "near_cliff"])
    assert len(segs) == 0
    assert any("bridges" in n for n in record["notes"])


def test_grade_window_below_100_m_is_refused():
    with pytest.raises(ParameterError, match="纵坡计算窗口"):
        RoadHazardParams(grade_window_m=50).validate()


# ---------------------------------------------------------------------------
# near cliff
# ---------------------------------------------------------------------------
def test_road_along_a_drop_is_near_cliff_and_valley_is_not(tmp_path):
    cell = 10.0
    ys = Y0 + 300 - (np.arange(60) + 0.5) * cell
    # bench: flat at 200 m north of y = Y0 - 15, 30 m lower south of Y0 - 25 (a 30 m drop)
    profile = np.interp(ys, [Y0 - 25, Y0 - 15], [170, 200])
    cliff = write_dem(tmp_path / "cliff.tif", np.tile(profile[:, None], (1, 200)), X0 - 500, Y0 + 300, cell)
    # valley: the road on the floor, the sides rising 30 m
    valley_z = 100 + np.clip(np.abs(ys - Y0) - 10, 0, None) * 0.6
    valley = write_dem(tmp_path / "valley.tif", np.tile(valley_z[:, None], (1, 200)), X0 - 500, Y0 + 300, cell)
    layer = road_layer([np.array([[X0, Y0], [X0 + 1000, Y0]])], speed=40)
    segs, _ = roads.detect_road_hazards(layer, dem=cliff, kinds=["near_cliff"])
    assert len(segs) == 1
    seg = segs.iloc[0]
    assert seg.drop_m == pytest.approx(30, abs=1)
    assert seg.side == "right"  # south of an eastbound road
    assert seg.length_m > 950
    segs, _ = roads.detect_road_hazards(layer, dem=valley, kinds=["near_cliff"])
    assert len(segs) == 0
    # a deeper threshold turns the cliff off
    segs, _ = roads.detect_road_hazards(layer, dem=cliff, kinds=["near_cliff"],
                                        params=RoadHazardParams(cliff_drop_m=35))
    assert len(segs) == 0


# ---------------------------------------------------------------------------
# near water
# ---------------------------------------------------------------------------
def test_near_water_polygon_and_line_but_not_bridges():
    lake = shapely.box(X0 + 200, Y0 + 30, X0 + 800, Y0 + 600)  # 30 m north of road 0, 600 m long
    river = shapely.box(X0 + 3000, Y0 - 500, X0 + 3060, Y0 + 500)  # crossed by road 0 (bridge)
    stream = shapely.LineString([(X0, Y0 + 1020), (X0 + 700, Y0 + 1020)])  # 20 m from road 1
    cross = shapely.LineString([(X0 + 2000, Y0 + 500), (X0 + 2000, Y0 + 1500)])  # crossed by road 1
    oblique = shapely.LineString([(X0 + 2600, Y0 + 1500), (X0 + 3600, Y0 + 2500)])  # crossed by road 2 at 45°
    water = gpd.GeoDataFrame({"name": ["南湖", "北河", "小溪", "沟", "斜河"]},
                             geometry=[lake, river, stream, cross, oblique], crs=METRIC)
    layer = road_layer([np.array([[X0, Y0], [X0 + 4000, Y0]]), np.array([[X0, Y0 + 1000], [X0 + 4000, Y0 + 1000]]),
                        np.array([[X0, Y0 + 2000], [X0 + 4000, Y0 + 2000]])], speed=60)
    segs, _ = roads.detect_road_hazards(layer, water=water, kinds=["near_water"])
    assert segs.road_index.tolist() == [0, 1]
    a, b = segs.iloc[0], segs.iloc[1]
    reach = np.sqrt(100 ** 2 - 30 ** 2)  # default distance 100 m, lake 30 m off the road
    assert a.water_name == "南湖" and a.water_dist_m == pytest.approx(30, abs=0.5)
    assert a.note == "临水排查带内：距水体“南湖”约30 m"  # a screening band, not a standard's limit
    assert a.start_m == pytest.approx(200 - reach, abs=6) and a.end_m == pytest.approx(800 + reach, abs=6)
    assert b.water_name == "小溪" and b.water_dist_m == pytest.approx(20, abs=0.5)
    assert b.start_m == pytest.approx(0, abs=1) and b.end_m == pytest.approx(700 + np.sqrt(100 ** 2 - 20 ** 2), abs=6)
    assert np.isnan(a.radius_m) and np.isnan(a.grade_pct) and np.isnan(a.accidents)
    # with a smaller distance the lake at 30 m still counts, the trimmed-off bridges still do not
    segs, _ = roads.detect_road_hazards(layer, water=water, kinds=["near_water"],
                                        params=RoadHazardParams(water_distance_m=25))
    assert segs.water_name.tolist() == ["小溪"]


# ---------------------------------------------------------------------------
# black spots
# ---------------------------------------------------------------------------
def accident_layer(chainages, offsets=None, deaths=None):
    offsets = np.zeros(len(chainages)) if offsets is None else np.asarray(offsets)
    pts = [shapely.Point(X0 + c, Y0 + o) for c, o in zip(chainages, offsets)]
    return gpd.GeoDataFrame({"date": pd.date_range("2021-01-01", periods=len(pts), freq="90D").strftime("%Y-%m-%d"),
                             "deaths": deaths if deaths is not None else [1] * len(pts),
                             "injuries": [2] * len(pts)}, geometry=pts, crs=METRIC)


def test_cluster_is_one_black_spot_scattered_is_none():
    road = road_layer([np.array([[X0, Y0], [X0 + 10000, Y0]])], speed=60)
    cluster = [2000, 2040, 2100, 2150, 2230, 2300]
    scattered = [4000, 4700, 5400, 6100, 6800, 7500, 8200]
    acc = accident_layer(cluster + scattered, offsets=[5] * 13)
    segs, record = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"])
    assert len(segs) == 1
    spot = segs.iloc[0]
    assert spot.accidents == 6 and spot.deaths == 6 and spot.injuries == 12
    assert spot.start_m == pytest.approx(2000 - 50, abs=1) and spot.end_m == pytest.approx(2300 + 50, abs=1)
    assert spot.km_label == "K1+950–K2+350"
    assert np.isnan(spot.radius_m)


def test_black_spot_thresholds_and_snap_tolerance():
    road = road_layer([np.array([[X0, Y0], [X0 + 5000, Y0]])], speed=60)
    acc = accident_layer([1000, 1100, 1200, 1300], offsets=[0, 0, 0, 400], deaths=[0, 0, 3, 0])
    segs, record = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"])
    assert segs.accidents.tolist() == [3]  # the fourth is 400 m away: not on this road
    assert any("1 of 4 accidents" in n for n in record["notes"])
    segs, _ = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"],
                                        params=RoadHazardParams(blackspot_min_accidents=4))
    assert len(segs) == 0
    segs, _ = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"],
                                        params=RoadHazardParams(blackspot_min_accidents=4, blackspot_min_deaths=3))
    assert len(segs) == 1
    far = accident_layer([1000, 1100, 1200], offsets=[300, 300, 300])
    segs, record = roads.detect_road_hazards(road, accidents=far, kinds=["black_spot"])
    assert len(segs) == 0 and any("3 of 3 accidents" in n for n in record["notes"])


def test_black_spots_per_year():
    road = road_layer([np.array([[X0, Y0], [X0 + 5000, Y0]])], speed=60)
    acc = accident_layer([1000, 1050, 1100, 1150])  # dates every 90 days: 0.74 years → counted as 1 year
    acc["date"] = ["2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01"]  # 3 years: 1.3 per year
    segs, record = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"],
                                             params=RoadHazardParams(blackspot_per_year=True))
    assert len(segs) == 0 and record["parameters"]["accident_period_years"] == pytest.approx(3.0, abs=0.01)
    segs, _ = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"])
    assert len(segs) == 1


# ---------------------------------------------------------------------------
# the whole analysis
# ---------------------------------------------------------------------------
def test_detect_all_columns_crs_provenance(plane_dem):
    bend = alignment(arc_pieces(30, 90), 10.0)
    layer = road_layer([bend], speed=40).to_crs(4490)
    messages = []
    segs, record = roads.detect_road_hazards(layer, dem=plane_dem, progress=lambda f, m: messages.append(f))
    assert list(segs.columns) == roads.COLUMNS + ["geometry"]
    assert segs.crs.equals(layer.crs)
    assert set(segs.kind) <= set(roads.KINDS)
    row = segs[segs.kind == "sharp_bend"].iloc[0]
    assert row.radius_limit_m == 60 and row.speed_kmh == 40 and row.speed_source == "speed_kmh"
    assert row.km_label == f"{row.km_start}–{row.km_end}" and row.km_start.startswith("K0+")
    assert "小于设计速度40 km/h的极限最小半径60 m" in row.note
    assert np.isnan(row.grade_pct) and np.isnan(row.drop_m) and np.isnan(row.water_dist_m)
    # geometry is the road between the chainages
    metric = segs.to_crs(METRIC)
    assert metric.geometry.length[row.name] == pytest.approx(row.length_m, rel=0.01)
    assert record["analysis"] == "road_hazards"
    assert record["parameters"]["spacing_m"] == 5.0
    assert any("JTG D20-2017" in s for s in record["standards"])
    assert any("no water layer" in n for n in record["notes"])
    assert messages[-1] == 1.0 and messages == sorted(messages)


def test_no_findings_gives_empty_table_with_columns():
    segs, _ = roads.detect_road_hazards(road_layer([alignment([(500, 0.0)], 10.0)], speed=60))
    assert len(segs) == 0 and list(segs.columns) == roads.COLUMNS + ["geometry"]


def test_progress_can_cancel():
    def cancel(fraction, message):
        if fraction > 0.1:
            raise CancelledError("cancelled")

    with pytest.raises(CancelledError):
        roads.detect_road_hazards(road_layer([alignment(arc_pieces(30, 90), 10.0)], speed=40), progress=cancel)


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(EmptyLayerError):
        roads.detect_road_hazards(road_layer([]))
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0)], crs=METRIC)
    with pytest.raises(DataFormatError, match="lines"):
        roads.detect_road_hazards(pts)
    with pytest.raises(ParameterError, match="unknown hazard kind"):
        roads.detect_road_hazards(road_layer([alignment([(500, 0.0)], 10.0)]), kinds=["potholes"])


def test_counties_assigned_by_midpoint():
    layer = road_layer([alignment(arc_pieces(30, 90), 10.0)], speed=40)
    counties = gpd.GeoDataFrame({"name": ["浉河区"]}, geometry=[shapely.box(X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 1000)],
                                crs=METRIC).to_crs(4490)
    segs, _ = roads.detect_road_hazards(layer, counties=counties)
    assert segs.county.tolist() == ["浉河区"]


def test_excel_frame_has_chinese_headers():
    segs, _ = roads.detect_road_hazards(road_layer([alignment(arc_pieces(30, 90), 10.0)], speed=40))
    frame = roads.segments_excel_frame(segs)
    assert {"隐患类型", "桩号范围", "圆曲线半径(m)", "严重程度"} <= set(frame.columns)
    assert frame["隐患类型"].iloc[0] == "急弯"


# ---------------------------------------------------------------------------
# the JTG D20 tables
# ---------------------------------------------------------------------------
def test_jtg_tables():
    assert jtg_d20.limit_min_radius([40, 60, 80]).tolist() == [60, 125, 250]
    assert jtg_d20.general_min_radius([120]).tolist() == [1000]
    assert jtg_d20.max_grade_pct([20, 120]).tolist() == [9.0, 3.0]
    # 50 km/h is not a table speed: the next higher row (60) applies
    assert jtg_d20.standard_speed([50, 10, 150]).tolist() == [60, 20, 120]
    speeds, source = jtg_d20.design_speeds([np.nan, 80, None], ["国道", "township", "unknown"])
    assert speeds.tolist() == [80, 80, 40] and source.tolist() == ["road_class", "speed_kmh", "default"]


# ---------------------------------------------------------------------------
# the bundled sample (committed: a missing or corrupt file is a failure, never a skip)
# ---------------------------------------------------------------------------
def _sample():
    from riskmap import io, sample
    paths = {k: sample.sample_path(k) for k in ("roads", "water", "accidents", "dem", "counties")}
    truth = sample.truth()
    return paths, truth, io


@pytest.fixture(scope="module")
def sample_result():  # the whole sample (≈ 2,300 km of roads): ~10 s
    paths, truth, io = _sample()
    layers = {k: io.read_vector(paths[k]) for k in ("roads", "water", "accidents", "counties")}
    segs, record = roads.detect_road_hazards(layers["roads"], dem=paths["dem"], water=layers["water"],
                                             accidents=layers["accidents"], counties=layers["counties"])
    return segs, record, truth


def _overlaps(segs, road, start, end, slack=0.0):
    s = segs[(segs.name == road) & (segs.end_m >= start - slack) & (segs.start_m <= end + slack)]
    return s


@pytest.mark.slow
def test_sample_sharp_bends(sample_result):
    segs, _, truth = sample_result
    bends = segs[segs.kind == "sharp_bend"]
    for planted in truth["sharp_bends"]:
        hit = _overlaps(bends, planted["road"], planted["from_m"], planted["to_m"], 20)
        assert len(hit) == 1, planted
        if "radius_m" in planted:
            assert hit.radius_m.iloc[0] == pytest.approx(planted["radius_m"], rel=0.10)
    for gentle in truth.get("gentle_curves", []):
        assert len(_overlaps(bends, gentle["road"], gentle["from_m"], gentle["to_m"])) == 0, gentle


@pytest.mark.slow
def test_sample_steep_grades(sample_result):
    segs, _, truth = sample_result
    steep = segs[(segs.kind == "steep_grade") & (segs.subtype == "steep")]
    for planted in truth["steep_stretches"]:
        hit = _overlaps(steep, planted["road"], planted["from_m"], planted["to_m"])
        assert len(hit) >= 1, planted


@pytest.mark.slow
def test_sample_near_water(sample_result):
    segs, _, truth = sample_result
    water = segs[segs.kind == "near_water"]
    for planted in truth["near_water"]:
        hit = _overlaps(water, planted["road"], planted["from_m"], planted["to_m"])
        assert hit.length_m.sum() >= 0.8 * (planted["to_m"] - planted["from_m"]), planted


@pytest.mark.slow
def test_sample_bridges_are_not_near_water(sample_result):
    segs, _, truth = sample_result
    water = segs[segs.kind == "near_water"]
    for crossing in truth.get("other_water_proximity", []):
        assert len(_overlaps(water, crossing["road"], crossing["from_m"], crossing["to_m"])) == 0, crossing


@pytest.mark.slow
def test_sample_near_cliff(sample_result):
    segs, _, truth = sample_result
    cliff = segs[segs.kind == "near_cliff"]
    for planted in truth["near_cliff"]:
        hit = _overlaps(cliff, planted["road"], planted["from_m"], planted["to_m"])
        assert hit.length_m.sum() >= 0.8 * (planted["to_m"] - planted["from_m"]), planted


@pytest.mark.slow
def test_sample_black_spots(sample_result):
    segs, _, truth = sample_result
    spots = segs[segs.kind == "black_spot"]
    for cluster in truth["accident_clusters"]:
        hit = _overlaps(spots, cluster["road"], cluster["from_m"], cluster["to_m"])
        assert len(hit) == 1, cluster
        assert hit.accidents.iloc[0] >= cluster["count"]
    assert len(spots) == len(truth["accident_clusters"])


@pytest.mark.parametrize("slope_pct, steep", [(7.0, False), (7.04, False), (7.2, True)])
def test_a_grade_equal_to_the_limit_is_allowed(tmp_path, slope_pct, steep):
    """JTG D20-2017 §8.3 "最大纵坡不应大于": equal is allowed, compared at report precision (0.1 %)."""
    cell = 10.0
    n = 220
    xs = X0 - 500 + (np.arange(n) + 0.5) * cell
    z = np.tile(500 + slope_pct / 100.0 * (xs - X0), (20, 1))
    dem = write_dem(tmp_path / "at_limit.tif", z, X0 - 500, Y0 + 100, cell)
    layer = road_layer([np.array([[X0, Y0], [X0 + 1500, Y0]])], speed=40)  # 40 km/h: maximum 7 %
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"])
    assert ((segs.subtype == "steep").sum() > 0) == steep
