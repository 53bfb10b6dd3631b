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


def has_subtype(segs, code):
    """Rows whose (possibly merged, "steep+grade_length") subtype includes ``code``."""
    return segs.subtype.fillna("").str.split("+").map(lambda codes: code in codes).astype(bool)


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
    steep = segs[has_subtype(segs, "steep")]
    assert steep.road_index.tolist() == [0]
    assert steep.grade_pct.iloc[0] == pytest.approx(8.0, abs=0.5)
    assert steep.grade_limit_pct.iloc[0] == 7.0
    assert steep.start_m.iloc[0] == pytest.approx(0, abs=1) and steep.end_m.iloc[0] == pytest.approx(1500, abs=1)
    # same road at 30 km/h (max 8 %): not steep
    segs, _ = roads.detect_road_hazards(road_layer([along], speed=30), dem=plane_dem, kinds=["steep_grade"],
                                        params=RoadHazardParams(grade_tolerance_pct=0.3))
    assert has_subtype(segs, "steep").sum() == 0


def test_long_downgrade(tmp_path):
    cell = 30.0
    n = 200
    xs = X0 - 500 + (np.arange(n) + 0.5) * cell
    z = np.tile(500 - 0.06 * (xs - X0), (20, 1))  # 6 % down towards +x
    dem = write_dem(tmp_path / "slope.tif", z, X0 - 500, Y0 + 300, cell)
    layer = road_layer([np.array([[X0, Y0], [X0 + 4000, Y0]])], speed=40)  # max 7 %: not steep
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"])
    # 6 % over 4 km is also longer than Table 8.3.3 allows at 40 km/h (700 m): one merged segment, both reasons
    assert segs.subtype.tolist() == ["grade_length+long_downgrade"]
    assert segs.grade_pct.iloc[0] == pytest.approx(6.0, abs=0.2)
    assert segs.length_m.iloc[0] == pytest.approx(4000, abs=10)
    assert "连续长下坡" in segs.note.iloc[0] and "最大坡长700 m" in segs.note.iloc[0]
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"],
                                        params=RoadHazardParams(downgrade_avg_pct=6.5))
    assert segs.subtype.tolist() == ["grade_length"]
    # 2 km of it is too short for the default 3 km (but still too long a grade)
    short = road_layer([np.array([[X0, Y0], [X0 + 2000, Y0]])], speed=40)
    assert roads.detect_road_hazards(short, dem=dem, kinds=["steep_grade"])[0].subtype.tolist() == ["grade_length"]


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
    assert any("桥梁" in n for n in record["notes"])


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
    assert any("事故4起中有1起" in n for n in record["notes"])
    segs, _ = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"],
                                        params=RoadHazardParams(blackspot_min_accidents=4))
    assert len(segs) == 0
    segs, _ = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"],
                                        params=RoadHazardParams(blackspot_min_accidents=4, blackspot_min_deaths=3))
    assert len(segs) == 1
    far = accident_layer([1000, 1100, 1200], offsets=[300, 300, 300])
    segs, record = roads.detect_road_hazards(road, accidents=far, kinds=["black_spot"])
    assert len(segs) == 0 and any("事故3起中有3起" in n for n in record["notes"])


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
    assert any("未提供水体图层" in n for n in record["notes"])
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
    with pytest.raises(DataFormatError, match="线要素"):
        roads.detect_road_hazards(pts)
    with pytest.raises(ParameterError, match="未知的隐患类型"):
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
    assert {"隐患类型", "桩号范围", "圆曲线半径(m)", "风险等级"} <= set(frame.columns)
    assert frame["隐患类型"].iloc[0] == "急弯"


def test_excel_frame_values_are_chinese(tmp_path):
    dem = stepped_dem(tmp_path, [(0, 0.0), (505, 8.0), (905, 0.0)])
    layer = road_layer([np.array([[X0, Y0], [X0 + 3000, Y0]])], road_class="county")  # 县道: 40 km/h by default
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"])
    frame = roads.segments_excel_frame(segs)
    row = frame.iloc[0]
    assert (row["子类"], row["道路等级"], row["风险等级"]) == ("超最大纵坡、坡长超限", "县道", "较大风险（橙）")


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
    steep = segs[(segs.kind == "steep_grade") & has_subtype(segs, "steep")]
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
    """Black spots of the last 3 years (truth: count_in_period, black_spot; STANDARDS.md §0, §6.3)."""
    segs, _, truth = sample_result
    spots = segs[segs.kind == "black_spot"]
    period = "2023-01-01至2025-12-31（近3年）"
    for cluster in truth["accident_clusters"]:
        hit = _overlaps(spots, cluster["road"], cluster["from_m"], cluster["to_m"])
        if not cluster["black_spot"]:  # a cluster whose accidents are mostly older than the period
            assert len(hit) == 0, cluster
            continue
        assert len(hit) == 1, cluster
        assert hit.accidents.iloc[0] == cluster["count_in_period"] and hit.deaths.iloc[0] == cluster["deaths_in_period"]
        assert hit.note.iloc[0] == (f"{period}事故{cluster['count_in_period']}起，死亡{cluster['deaths_in_period']}人，"
                                    f"受伤{cluster['injuries_in_period']}人")
    assert len(spots) == sum(c["black_spot"] for c in truth["accident_clusters"]) < len(truth["accident_clusters"])
    assert spots.note.str.startswith(period).all()


@pytest.mark.slow
def test_sample_black_spots_over_five_years_find_every_cluster():
    paths, truth, io = _sample()
    segs, _ = roads.detect_road_hazards(io.read_vector(paths["roads"]), accidents=io.read_vector(paths["accidents"]),
                                        kinds=["black_spot"], params=RoadHazardParams(blackspot_period_years=5))
    for cluster in truth["accident_clusters"]:
        hit = _overlaps(segs, cluster["road"], cluster["from_m"], cluster["to_m"])
        assert len(hit) == 1 and hit.accidents.iloc[0] == cluster["count"], cluster
    assert len(segs) == len(truth["accident_clusters"])


def _truth_station(t, m):
    """The written station of a truth stationing entry at measured ``m`` (start + m + the breaks passed)."""
    def metres(label):
        km, rest = label.lstrip("K").split("+")
        return int(km) * 1000 + float(rest)

    pairs = [tuple(metres(x) for x in b.split("=")) for b in t["breaks"].split(";") if b]
    shift = sum(a - b for (b, a), at in zip(pairs, t["breaks_at_m"]) if m >= at)
    v = int(round(metres(t["start_km"]) + m + shift))
    return f"K{v // 1000}+{v % 1000:03d}"


@pytest.mark.slow
def test_sample_chainage_follows_start_station_and_breaks(sample_result):
    """Reported 桩号 of the sample follow roads.shp's start_km and breaks (truth "stationing")."""
    segs, _, truth = sample_result
    for t in truth["stationing"]:
        on_road = segs[segs.name == t["road"]]
        assert len(on_road), t["road"]
        for row in on_road.itertuples():
            assert row.km_start == _truth_station(t, row.start_m) and row.km_end == _truth_station(t, row.end_m)
        assert on_road.stationing.iloc[0].startswith(t["start_km"])
    # the parsed stationing of the file gives the truth's checks
    paths, _, io = _sample()
    net = RoadNetwork(io.read_vector(paths["roads"]), RoadHazardParams())
    for t in truth["stationing"]:
        st = net.stationing[list(net.names).index(t["road"])]
        assert [st.label(c["m"]) for c in t["checks"]] == [c["km"] for c in t["checks"]], t["road"]


@pytest.mark.slow
def test_sample_steep_stretches_are_also_too_long(sample_result):
    """The planted stretches exceed the maximum grade and the last limited row of JTG D20-2017 Table 8.3.3."""
    segs, _, truth = sample_result
    steep = segs[segs.kind == "steep_grade"]
    for planted in truth["steep_stretches"]:
        hit = _overlaps(steep, planted["road"], planted["from_m"], planted["to_m"])
        assert has_subtype(hit, "grade_length").any() and has_subtype(hit, "steep").any(), planted
        assert f"最大坡长{planted['grade_length_limit_m']} m" in " ".join(hit.note), planted
    assert has_subtype(steep, "grade_length").sum() > len(truth["steep_stretches"])  # long moderate grades too
    assert (steep[~has_subtype(steep, "steep")].grade_pct < steep[~has_subtype(steep, "steep")].grade_limit_pct).all()


_ENGLISH = __import__("re").compile(r"(?<![A-Za-z])(?!JTG\b)[A-Za-z]{3,}")


@pytest.mark.slow
def test_sample_result_and_register_excel_are_chinese(sample_result, tmp_path):
    """No English words in the notes, risk levels and road classes of the sample run, nor in the register Excel."""
    import openpyxl
    from riskmap.analysis import register as reg
    from riskmap.exports.report import write_register_excel

    segs, record, _ = sample_result
    for col in ("note", "severity", "road_class"):
        bad = [v for v in segs[col].astype(str) if _ENGLISH.search(v)]
        assert not bad, (col, bad[:3])
    assert set(segs.severity) <= set(roads.SEVERITIES)
    assert not [n for n in record["notes"] if _ENGLISH.search(n)]
    r = reg.HazardRegister(reg.segments_from_candidates(segs))
    wb = openpyxl.load_workbook(write_register_excel(r, tmp_path / "register.xlsx"))
    sheet = wb["隐患路段登记"]
    header = [c.value for c in sheet[1]]
    assert not [h for h in header if _ENGLISH.search(str(h))]
    cols = {h: i for i, h in enumerate(header)}
    for name in ("说明", "风险等级", "隐患类型", "状态", "来源"):
        values = [row[cols[name]].value for row in sheet.iter_rows(min_row=2)]
        assert values and not [v for v in values if v and _ENGLISH.search(str(v))], name
    assert {row[cols["风险等级"]].value for row in sheet.iter_rows(min_row=2)} <= set(roads.SEVERITIES.values())


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
    assert (has_subtype(segs, "steep").sum() > 0) == steep


# ---------------------------------------------------------------------------
# 坡长超限: JTG D20-2017 Table 8.3.3 (maximum grade length)
# ---------------------------------------------------------------------------
def profile(net, pieces, z0=100.0):
    """Elevations at the network's samples of a profile of straight grades: [(from_m, grade_pct), ...]."""
    m = net.samples.local
    z = np.full(len(m), z0)
    for k, (c, g) in enumerate(pieces):
        end = pieces[k + 1][0] if k + 1 < len(pieces) else np.inf
        z = z + g / 100.0 * np.clip(np.minimum(m, end) - c, 0.0, None)
    return z


def grade_lengths(speed, pieces, length=4000.0, **params):
    layer = road_layer([np.array([[X0, Y0], [X0 + length, Y0]])], speed=speed)
    net = RoadNetwork(layer, RoadHazardParams(**params))
    return roads.detect_grade_lengths(net, profile(net, pieces))


# (speed, grade, run length, expected limit or None): the hand reading of Table 8.3.3, rows as written, a grade
# between rows held to the next higher row; equal to the limit is allowed (compared to the metre)
GRADE_LENGTH_CASES = [
    (40, 5.0, 890, None), (40, 5.0, 900, None), (40, 5.0, 910, 900),     # the 5 % row at 40 km/h: 900 m
    (40, 4.3, 905, 900),                                                  # 4.3 %: the 5 % row (not interpolated)
    (40, 4.0, 1090, None), (40, 4.0, 1110, 1100),                         # 4 %: 1100 m
    (40, 3.5, 1110, 1100),                                                # 3.5 %: the 4 % row
    (40, 3.0, 3000, None),                                                # 3 % at 40 km/h is "–": not limited
    (40, 6.0, 710, 700), (40, 6.0, 690, None),                            # 6 %: 700 m (under the 7 % maximum)
    (80, 3.0, 1090, None), (80, 3.0, 1110, 1100),                         # 80 km/h: 3 % → 1100 m
    (80, 3.1, 910, 900),                                                  # 3.1 %: the 4 % row, 900 m
    (120, 2.9, 3000, None),                                               # below the table's first row
    (20, 9.5, 210, 200),                                                  # 9.5 % at 20 km/h: the 10 % row
]


@pytest.mark.parametrize("speed, grade, run, limit", GRADE_LENGTH_CASES)
def test_grade_length_just_under_at_and_over_the_table(speed, grade, run, limit):
    found = grade_lengths(speed, [(0, 0.0), (500, grade), (500 + run, 0.0)])
    if limit is None:
        assert len(found) == 0
        return
    assert len(found) == 1
    row = found.iloc[0]
    assert (row.start_m, row.end_m) == (pytest.approx(500, abs=0.5), pytest.approx(500 + run, abs=0.5))
    assert row.grade_pct == pytest.approx(grade, abs=0.05) and row.grade_length_limit_m == limit


def test_a_run_of_two_grades_is_held_to_the_row_of_its_smaller_grade():
    # 6 % for 400 m then 4.5 % for 600 m at 40 km/h: over 4 % for 1000 m, the smaller grade 4.5 % → the 5 % row,
    # 900 m (the 6 % stretch alone, 400 m, is under its 700 m)
    found = grade_lengths(40, [(0, 0.0), (500, 6.0), (900, 4.5), (1500, 0.0)])
    assert len(found) == 1
    row = found.iloc[0]
    assert (row.grade_pct, row.grade_length_limit_m) == (pytest.approx(4.5, abs=0.05), 900)
    assert (row.start_m, row.end_m) == (pytest.approx(500, abs=0.5), pytest.approx(1500, abs=0.5))


def test_grade_length_downhill_and_a_crest_splits_the_run():
    down = grade_lengths(40, [(0, 0.0), (500, -5.0), (1450, 0.0)])
    assert down.direction.tolist() == [-1] and down.end_m.iloc[0] == pytest.approx(1450, abs=0.5)
    # up 600 m and down 600 m at 5 %: two grades of 600 m, each under 900 m (not one of 1200 m)
    assert len(grade_lengths(40, [(0, 0.0), (500, 5.0), (1100, -5.0), (1700, 0.0)])) == 0


def test_grade_length_table_is_a_parameter():
    pieces = [(0, 0.0), (500, 5.0), (1450, 0.0)]  # 950 m at 5 %
    assert len(grade_lengths(40, pieces)) == 1
    assert len(grade_lengths(40, pieces, grade_length_table={5: {40: 1000}})) == 0
    with pytest.raises(ParameterError, match="最大坡长表"):
        RoadHazardParams(grade_length_table={5: {40: -1}}).validate()


def test_grade_length_table_reading():
    # JTG D20-2017 Table 8.3.3 (STANDARDS.md §0): rows as written, the next higher row between rows
    lim = jtg_d20.grade_length_limit([2.9, 3.0, 3.04, 3.5, 4.0, 4.3, 5.0, 7.0, 8.0, 8.5], 40)
    assert lim.tolist() == [np.inf, np.inf, np.inf, 1100, 1100, 900, 900, 500, 300, 300]
    assert jtg_d20.grade_length_limit([3.0, 3.5, 4.0], 120).tolist() == [900, 700, 700]
    assert jtg_d20.grade_length_limit([10.0], 20).tolist() == [200]
    assert jtg_d20.grade_length_limit([5.0], 50).tolist() == [800]  # 50 km/h: the 60 km/h column


def stepped_dem(tmp_path, pieces, length=3000.0):
    """A DEM whose elevation along +x follows straight grades, with the breaks on cell centres (exact bilinear)."""
    cell = 10.0
    xs = X0 - 500 + (np.arange(int((length + 1000) / cell)) + 0.5) * cell
    m = xs - X0
    z = np.full(len(m), 100.0)
    for k, (c, g) in enumerate(pieces):
        end = pieces[k + 1][0] if k + 1 < len(pieces) else np.inf
        z = z + g / 100.0 * np.clip(np.minimum(m, end) - c, 0.0, None)
    return write_dem(tmp_path / "stepped.tif", np.tile(z, (20, 1)), X0 - 500, Y0 + 100, cell)


def test_a_long_moderate_grade_is_a_hazard_with_its_reason(tmp_path):
    """5 % over 1000 m at 40 km/h: under the 7 % maximum grade but over Table 8.3.3's 900 m."""
    dem = stepped_dem(tmp_path, [(0, 0.0), (505, 5.0), (1505, 0.0)])
    layer = road_layer([np.array([[X0, Y0], [X0 + 3000, Y0]])], speed=40)
    segs, record = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"])
    assert segs.subtype.tolist() == ["grade_length"]
    row = segs.iloc[0]
    assert row.start_m == pytest.approx(505, abs=1) and row.end_m == pytest.approx(1505, abs=1)
    assert row.note == "坡长超限：纵坡5.0%连续1000 m，超过JTG D20-2017表8.3.3最大坡长900 m"
    assert row.severity == "一般风险"
    assert any("表8.3.3" in s for s in record["standards"])


def test_a_steep_and_too_long_grade_is_one_segment_with_both_reasons(tmp_path):
    """8 % over 400 m at 40 km/h: over the 7 % maximum and over the 8 % row's 300 m: merged, reasons joined."""
    dem = stepped_dem(tmp_path, [(0, 0.0), (505, 8.0), (905, 0.0)])
    layer = road_layer([np.array([[X0, Y0], [X0 + 3000, Y0]])], speed=40)
    segs, _ = roads.detect_road_hazards(layer, dem=dem, kinds=["steep_grade"])
    assert segs.subtype.tolist() == ["steep+grade_length"]
    note = segs.note.iloc[0]
    assert "纵坡8.0%，超过设计速度40 km/h的最大纵坡7%" in note and "坡长超限：纵坡8.0%连续400 m" in note
    assert "最大坡长300 m" in note and note.count("；") == 1
    assert segs.severity.iloc[0] == "较大风险"  # 1 point over the maximum grade


# ---------------------------------------------------------------------------
# overlapping runs of one kind merge
# ---------------------------------------------------------------------------
def test_overlapping_and_touching_runs_of_one_kind_merge():
    df = pd.DataFrame({
        "road_index": [0, 0, 0, 0, 1, 0], "kind": ["near_water"] * 3 + ["near_cliff", "near_water", "near_cliff"],
        "start_m": [0.0, 150.0, 300.0, 100.0, 120.0, 150.0], "end_m": [200.0, 300.0, 400.0, 180.0, 180.0, 250.0],
        "subtype": [""] * 6, "water_dist_m": [40.0, 12.0, 60.0, np.nan, 5.0, np.nan],
        "water_name": ["甲", "乙", "丙", "", "丁", ""], "radius_m": np.nan, "grade_pct": np.nan,
        "drop_m": [np.nan, np.nan, np.nan, 30.0, np.nan, 45.0], "deaths": np.nan,
        "note": ["a", "b", "c", "d", "e", "d"]})
    out = roads.merge_overlaps(df).sort_values(["road_index", "kind"]).reset_index(drop=True)
    # road 0 water: [0, 200] ∪ [150, 300] overlap, [300, 400] touches: one segment 0–400
    water0 = out[(out.road_index == 0) & (out.kind == "near_water")]
    assert len(water0) == 1
    row = water0.iloc[0]
    assert (row.start_m, row.end_m, row.water_dist_m, row.water_name, row.note) == (0, 400, 12.0, "乙", "a；b；c")
    # another kind and another road stay apart; a reason given twice is said once
    assert len(out) == 3 and out[out.kind == "near_cliff"].note.tolist() == ["d"]
    cliff = out[out.kind == "near_cliff"].iloc[0]
    assert (cliff.start_m, cliff.end_m, cliff.drop_m) == (100, 250, 45.0)


def test_separate_runs_do_not_merge():
    df = pd.DataFrame({"road_index": [0, 0], "kind": ["near_water"] * 2, "start_m": [0.0, 200.5],
                       "end_m": [200.0, 300.0], "subtype": ["", ""], "water_dist_m": [40.0, 12.0],
                       "note": ["a", "b"]})
    assert len(roads.merge_overlaps(df)) == 2


# ---------------------------------------------------------------------------
# black spots: a period and a severity
# ---------------------------------------------------------------------------
def dated_accidents(rows):
    """Accidents on the test road from (chainage, date, deaths, injuries) rows."""
    return gpd.GeoDataFrame({"date": [r[1] for r in rows], "deaths": [r[2] for r in rows],
                             "injuries": [r[3] for r in rows]},
                            geometry=[shapely.Point(X0 + r[0], Y0 + 3) for r in rows], crs=METRIC)


def spots(acc, **params):
    road = road_layer([np.array([[X0, Y0], [X0 + 10000, Y0]])], speed=60)
    return roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"], params=RoadHazardParams(**params))


# the latest accident is 2025-12-31, so the default period (近3年) is 2023-01-01 to 2025-12-31
RECENT = [(2000, "2023-03-01", 1, 0), (2100, "2024-05-01", 2, 1), (2200, "2025-12-31", 0, 1),
          (2250, "2023-01-01", 0, 0)]
OLD = [(6000, "2021-02-01", 1, 1), (6050, "2021-06-01", 0, 2), (6100, "2022-12-31", 0, 3), (6150, "2022-03-03", 1, 0)]


def test_a_cluster_inside_the_period_is_a_black_spot_one_outside_is_not():
    segs, record = spots(dated_accidents(RECENT + OLD))
    assert len(segs) == 1
    spot = segs.iloc[0]
    assert spot.start_m == pytest.approx(1950, abs=1) and spot.end_m == pytest.approx(2300, abs=1)
    assert (spot.accidents, spot.deaths, spot.injuries, spot.fatal) == (4, 3, 2, 2)
    assert spot.note == "2023-01-01至2025-12-31（近3年）事故4起，死亡3人，受伤2人"
    assert record["parameters"]["accident_period_start"] == "2023-01-01"
    assert record["parameters"]["accident_period_end"] == "2025-12-31"
    assert any("时段内事故4起（共8起）" in n for n in record["notes"])
    # a 5-year period takes the old cluster in as well
    segs, _ = spots(dated_accidents(RECENT + OLD), blackspot_period_years=5)
    assert len(segs) == 2 and segs.note.iloc[1].startswith("2021-01-01至2025-12-31（近5年）事故4起")


def test_the_period_end_is_a_parameter():
    # ending on 2022-12-31, the old cluster is the recent one
    segs, _ = spots(dated_accidents(RECENT + OLD), blackspot_period_end="2022-12-31")
    assert len(segs) == 1 and segs.start_m.iloc[0] == pytest.approx(5950, abs=1)
    assert segs.note.iloc[0].startswith("2020-01-01至2022-12-31（近3年）")
    with pytest.raises(ParameterError, match="统计截止日期"):
        RoadHazardParams(blackspot_period_end="yesterday").validate()


def test_a_rate_per_year_uses_the_period_not_the_span_of_the_data():
    # 6 recent accidents (2 per year over the 3-year period) and one accident 5 years back
    recent = [(2000 + 40 * i, f"{2023 + i // 2}-0{1 + i}-15", 0, 1) for i in range(6)]
    acc = dated_accidents(recent + [(8000, "2021-01-01", 0, 1)])
    segs, record = spots(acc, blackspot_per_year=True, blackspot_min_accidents=2)
    assert len(segs) == 1  # 6 / 3 years = 2 a year; over the data's 5-year span it would be 1.2 and vanish
    assert record["parameters"]["accident_period_years"] == pytest.approx(3.0, abs=0.01)


def test_fatal_and_property_only_accidents():
    fatal = [(2000, "2025-01-01", 1, 0), (2100, "2025-02-01", 2, 0)]
    prop = [(6000, "2025-01-01", 0, 0), (6050, "2025-02-01", 0, 0), (6100, "2025-03-01", 0, 0),
            (6150, "2025-04-01", 0, 0)]
    acc = dated_accidents(fatal + prop)
    # by count (3 a window) only the four property-only accidents qualify, as 一般风险
    segs, _ = spots(acc)
    assert segs.start_m.round().tolist() == [5950] and segs.severity.tolist() == ["一般风险"]
    assert segs.note.iloc[0].endswith("事故4起，死亡0人，受伤0人")
    # by fatal accidents: the two fatal ones qualify (3 deaths: 重大风险)
    segs, _ = spots(acc, blackspot_min_accidents=10, blackspot_min_fatal=2)
    assert segs.start_m.round().tolist() == [1950] and segs.severity.tolist() == ["重大风险"]
    # 当量事故: fatal 3 each = 6 ≥ 5, property-only 1 each = 4 < 5
    segs, _ = spots(acc, blackspot_min_accidents=10, blackspot_min_equivalent=5)
    assert segs.start_m.round().tolist() == [1950] and segs.equivalent.tolist() == [6.0]
    segs, _ = spots(acc, blackspot_min_accidents=10, blackspot_min_equivalent=5, blackspot_weight_property=1.5)
    assert segs.start_m.round().tolist() == [1950, 5950]


def test_undated_accidents_when_the_data_carry_dates():
    rows = RECENT + [(2150, None, 5, 0)]
    segs, record = spots(dated_accidents(rows))
    assert segs.accidents.tolist() == [4] and segs.deaths.tolist() == [3]
    assert any("1起事故无日期" in n for n in record["notes"])


# ---------------------------------------------------------------------------
# chainage as the road authority writes it (起点桩号, 断链)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("breaks, km_label", [
    (None, "K814+250–K814+650"),                       # start K812+300: 1950 m → K814+250
    ("K813+000=K812+950", "K814+200–K814+600"),        # 长链 50 m at measured 700 m
    ("K813+000=K813+100", "K814+350–K814+750"),        # 短链 100 m at measured 700 m
    ("K813+000=K812+950；k814+400 = K814+420", "K814+200–K814+620"),  # a second break (短链 20 m) in the spot
])
def test_reported_chainage_follows_start_station_and_breaks(breaks, km_label):
    road = road_layer([np.array([[X0, Y0], [X0 + 10000, Y0]])], speed=60)
    road["起点桩号"] = ["K812+300"]
    if breaks is not None:
        road["断链"] = [breaks]
    acc = accident_layer([2000, 2040, 2100, 2150, 2230, 2300], offsets=[5] * 6)
    segs, _ = roads.detect_road_hazards(road, accidents=acc, kinds=["black_spot"])
    assert segs.km_label.tolist() == [km_label]
    assert segs.start_m.iloc[0] == pytest.approx(1950, abs=1)  # measured metres do not change
    assert segs.stationing.iloc[0].startswith("K812+300")


def test_unreadable_stationing_names_the_road():
    road = road_layer([np.array([[X0, Y0], [X0 + 1000, Y0]])], speed=60, names=["X035鸡公山路"])
    road["start_km"] = ["K12+3OO"]
    with pytest.raises(DataFormatError, match="X035鸡公山路"):
        roads.detect_road_hazards(road, kinds=["sharp_bend"])


# ---------------------------------------------------------------------------
# severity vocabulary and Chinese notes
# ---------------------------------------------------------------------------
def test_severity_uses_the_four_level_risk_wording():
    assert list(roads.SEVERITIES) == ["低风险", "一般风险", "较大风险", "重大风险"]
    assert roads.SEVERITIES["重大风险"] == "重大风险（红）" and roads.SEVERITIES["低风险"] == "低风险（蓝）"
    import inspect
    from riskmap.analysis import register
    from riskmap.exports import report
    for module in (roads, register, report):
        text = inspect.getsource(module)
        assert "重大事故隐患" not in text.replace("nor 重大事故隐患", "").replace("nor\n重大事故隐患", "")


def test_km_posts_set_the_stationing():
    """Posts K812+300 at 0 m, K813+300 at 1000 m, K814+250 at 2000 m (长链: 813300 + 1000 = 814300 → 814250)."""
    road = road_layer([np.array([[X0, Y0], [X0 + 10000, Y0]]), np.array([[X0, Y0 + 5000], [X0 + 3000, Y0 + 5000]])],
                      speed=60, names=["G312", "X001"])
    road["start_km"] = ["K1+000", ""]  # the posts win over the attribute
    posts = gpd.GeoDataFrame({"桩号": ["K812+300", "K813+300", "k814 + 250", "K815+250", "K9+000", "K1+000"]},
                             geometry=[shapely.Point(X0 + m, Y0 + 4) for m in (0, 1000, 2000, 3000, 6000)]
                             + [shapely.Point(X0 + 500, Y0 + 2000)], crs=METRIC).to_crs(4490)
    posts = posts.iloc[[0, 1, 2, 3, 5]]  # K9+000 left out; K1+000 lies 2 km from every road
    acc = accident_layer([2000, 2040, 2100, 2150, 2230, 2300], offsets=[5] * 6)
    segs, record = roads.detect_road_hazards(road, accidents=acc, km_posts=posts, kinds=["black_spot"])
    # 1950 m: 813300 + 950; 2350 m: past the 2000 m post, 814250 + 350
    assert segs.km_label.tolist() == ["K814+250–K814+600"]
    assert segs.stationing.iloc[0] == "K812+300；K814+300=K814+250"
    assert any("1条道路按公里桩确定桩号（1处断链）" in n for n in record["notes"])
    assert any("公里桩5个中有1个" in n for n in record["notes"])
    assert "km_posts" in record["inputs"]


def test_km_posts_against_the_digitised_direction_are_not_used():
    road = road_layer([np.array([[X0, Y0], [X0 + 10000, Y0]])], speed=60, names=["G312"])
    posts = gpd.GeoDataFrame({"km": ["K20+000", "K19+000"], "road": ["G312", "G312"]},
                             geometry=[shapely.Point(X0 + 100, Y0), shapely.Point(X0 + 1100, Y0)], crs=METRIC)
    acc = accident_layer([2000, 2040, 2100], offsets=[5] * 3)
    segs, record = roads.detect_road_hazards(road, accidents=acc, km_posts=posts, kinds=["black_spot"])
    assert segs.km_label.tolist() == ["K1+950–K2+150"]
    assert any("公里桩与道路走向相反" in n for n in record["notes"])
