"""Generated, mutated and package-shipped files through ``riskmap info`` and the analyses (run by test_corpus.py).

Usage:
    python corpus_driver.py fuzz WORKDIR SEED CASES SECONDS      # roads, tailings, pipelines
    python corpus_driver.py package WORKDIR SITE_PACKAGES SECONDS  # test data shipped by installed packages

The CLI runs in this process (``riskmap.cli.main``); one JSON line per command, announced on stdout
*before* it runs, so a signal or a hang names the case that caused it. ``fuzz`` alternates, per role,
structure-aware generated files (odd geometries and attribute values written as GeoJSON or CSV) and byte
mutations of small valid inputs (fuzz_driver.mutate). Everything is seeded: a failing case is re-run with
the same SEED.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from fuzz_driver import mutate, run

GK = 4547
X0, Y0 = 497_000.0, 3_562_000.0


# ---------------------------------------------------------------------------
# small valid inputs
# ---------------------------------------------------------------------------
def make_bases(work: Path) -> dict:
    """Roads (+ DEM, water, accidents), tailings and pipelines, each small and valid."""
    import geopandas as gpd
    import rasterio
    import shapely
    from affine import Affine

    base = work / "base"
    base.mkdir(parents=True, exist_ok=True)

    def to4490(geoms):
        return gpd.GeoSeries(geoms, crs=GK).to_crs(4490).values

    t = np.linspace(0, np.pi, 40)
    bend = shapely.LineString(np.c_[X0 + 800 * np.cos(t), Y0 + 800 * np.sin(t)])
    straight = shapely.LineString([(X0 - 1500, Y0 - 1200), (X0 + 1500, Y0 - 1200)])
    roads = gpd.GeoDataFrame({"name": ["G107", "S337"], "road_class": ["national", "provincial"],
                              "speed_kmh": [60.0, 40.0], "start_km": ["K12+300", "K0+000"]},
                             geometry=to4490([bend, straight]), crs=4490)
    roads.to_file(base / "roads.geojson")
    roads.to_file(base / "roads.shp", encoding="UTF-8")
    gpd.GeoDataFrame({"name": ["南湾湖"]}, geometry=to4490([shapely.box(X0 - 600, Y0 - 1350, X0 + 600, Y0 - 1250)]),
                     crs=4490).to_file(base / "water.geojson")
    gpd.GeoDataFrame({"date": ["2024-03-01", "2024-05-02", "2025-01-09"], "deaths": [1, 0, 2], "injuries": [0, 3, 1]},
                     geometry=to4490(shapely.points([X0 + 800, X0 + 790, X0 + 805], [Y0 + 10, Y0 + 20, Y0])),
                     crs=4490).to_file(base / "accidents.geojson")
    x = X0 - 2000 + (np.arange(120) + 0.5) * 40
    y = Y0 + 2000 - (np.arange(120) + 0.5) * 40
    xx, yy = np.meshgrid(x, y)
    with rasterio.open(base / "dem.tif", "w", driver="GTiff", width=120, height=120, count=1, dtype="float32",
                       crs=f"EPSG:{GK}", transform=Affine(40, 0, X0 - 2000, 0, -40, Y0 + 2000), nodata=-9999) as ds:
        ds.write((200 + 0.08 * (yy - Y0) + 0.03 * np.abs(xx - X0)).astype("float32")[None])
    ponds = gpd.GeoDataFrame({"name": ["甲尾矿库", "乙尾矿库"], "capacity": [500.0, 80.0], "dam_height": [40.0, 18.0],
                              "downstream_az": [180.0, 90.0]},
                             geometry=to4490(shapely.points([X0, X0 + 1000], [Y0 + 1500, Y0 + 500])), crs=4490)
    ponds.to_file(base / "ponds.geojson")
    ponds.to_file(base / "ponds.shp", encoding="UTF-8")
    # metric coordinates, 3 lines of 20 vertices: most byte flips of the .shp leave it readable
    s = np.linspace(-2000, 2000, 20)
    pipes = gpd.GeoDataFrame({"name": ["西气东输", "榆济线", "城区干管"], "medium": ["gas", "oil", "gas"],
                              "diam_mm": [1016.0, 610.0, 315.0], "press_mpa": [10.0, 6.3, 0.4],
                              "kind": ["trunk", "trunk", "urban_main"]},
                             geometry=[shapely.LineString(np.c_[X0 + s, Y0 + s + k * 300]) for k in range(3)], crs=GK)
    pipes.to_file(base / "pipes.shp", encoding="UTF-8")
    return {p.name: p for p in base.iterdir()}


# ---------------------------------------------------------------------------
# structure-aware generation
# ---------------------------------------------------------------------------
ODD_NUMBERS = (0, -1, -1e308, 1e308, 1e-300, 2 ** 53 + 1, 1e20, -(2 ** 31), 0.5, 359.9, 720, float("nan"),
               float("inf"))
ODD_TEXT = ("", " ", "abc", "1e999", "NaN", "-0", "０", "K", "K-1+500", "K99999999999+999", "K12+300=K12+100",
            "12+", "—", "\u200b", "甲" * 3000, "null", "[1,2]", "1,000", "500米", "-300m", "true")


def _odd_value(rng, normal, odd: float = 0.55):
    """``normal`` with probability 1 − ``odd``, else an odd number, text or JSON value."""
    roll = rng.random()
    if roll >= odd:
        return normal
    roll = 0.45 + 0.55 * roll / odd  # the odd part of the roll, spread over the choices below
    if roll < 0.7:
        v = ODD_NUMBERS[int(rng.integers(len(ODD_NUMBERS)))]
        return v if rng.random() < 0.8 else str(v)
    if roll < 0.9:
        return ODD_TEXT[int(rng.integers(len(ODD_TEXT)))]
    return [None, True, [1, "x"], {"a": 1}][int(rng.integers(4))]


def _coord(rng, wild: bool = False, lon=113.968, lat=32.182):
    """A coordinate near Xinyang; sometimes repeated, a hair apart, or with a Z; in a ``wild`` file also out of
    range (which makes the whole file refused, so only some files get them)."""
    roll = rng.random()
    if wild and roll < 0.1:
        return [float(rng.choice([720.0, -999.0, 1e30, 180.0])), float(rng.choice([95.0, -90.0, 1e30, 0.0]))]
    if roll < 0.8:
        return [lon + float(rng.normal(0, 0.01)), lat + float(rng.normal(0, 0.01))]
    if roll < 0.88:
        return [lon, lat]  # repeated exactly: zero-length pieces
    if roll < 0.95:
        return [lon + float(rng.normal(0, 1e-12)), lat]
    return [lon + float(rng.normal(0, 0.02)), lat, float(rng.choice([0.0, -1e6, 1e6]))]  # a Z


def _geometry(rng, kind: str, wild: bool = False):
    roll = rng.random()
    if roll < 0.06:
        return None
    if roll < 0.1:  # empty, of the role's kind or another
        return {"type": str(rng.choice(["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon"])),
                "coordinates": []}
    if roll < 0.16:  # the wrong kind for the role
        kind = str(rng.choice(["point", "line", "polygon", "collection"]))
    if kind == "point":
        if rng.random() < 0.2:
            return {"type": "MultiPoint", "coordinates": [_coord(rng, wild) for _ in range(int(rng.integers(0, 4)))]}
        return {"type": "Point", "coordinates": _coord(rng, wild)}
    if kind == "line":
        parts = [[_coord(rng, wild) for _ in range(int(rng.choice([0, 1, 2, 3, 8, 60])))]
                 for _ in range(int(rng.integers(1, 4)))]
        if len(parts) == 1 and rng.random() < 0.7:
            return {"type": "LineString", "coordinates": parts[0]}
        return {"type": "MultiLineString", "coordinates": parts}
    if kind == "polygon":
        ring = [_coord(rng, wild) for _ in range(int(rng.choice([3, 4, 7])))]
        return {"type": "Polygon", "coordinates": [ring + ring[:1] if rng.random() < 0.8 else ring]}
    return {"type": "GeometryCollection", "geometries": [_geometry(rng, "point", wild) or
                                                         {"type": "Point", "coordinates": [114.0, 32.0]}]}


#: Role → (geometry kind, {field: normal value}).
SCHEMAS = {
    "roads": ("line", {"name": "G107", "road_class": "national", "speed_kmh": 60, "start_km": "K12+300",
                       "breaks": "K15+200=K15+150"}),
    "accidents": ("point", {"date": "2024-03-01", "deaths": 1, "injuries": 2}),
    "km_posts": ("point", {"桩号": "K12+300", "road": "G107"}),
    "water": ("polygon", {"name": "河"}),
    "tailings": ("point", {"name": "尾矿库", "capacity": 500, "dam_height": 40, "downstream_az": 90,
                           "stage_capacity": 300}),
    "pipelines": ("line", {"name": "管道", "medium": "gas", "diam_mm": 1016, "press_mpa": 10, "kind": "trunk"}),
}


def generated_geojson(path: Path, role: str, rng) -> Path:
    """A GeoJSON file of 0–30 features of ``role`` with odd geometries and values (NaN/Infinity written as is)."""
    kind, fields = SCHEMAS[role]
    wild = rng.random() < 0.15
    odd = float(rng.choice([0.0, 0.03, 0.15, 0.5]))  # files with no, few, some or many odd values
    features = []
    for _ in range(int(rng.choice([0, 1, 2, 5, 30]))):
        props = {k: _odd_value(rng, v, odd) for k, v in fields.items() if rng.random() < 0.9}
        if rng.random() < 0.1:
            props["多余字段"] = _odd_value(rng, 1)
        features.append({"type": "Feature", "properties": props, "geometry": _geometry(rng, kind, wild)})
    doc = {"type": "FeatureCollection", "features": features}
    if rng.random() < 0.1:
        doc["crs"] = {"type": "name", "properties": {"name": str(rng.choice(["EPSG:4547", "EPSG:3857", "junk"]))}}
    path.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=True), encoding="utf-8")
    return path


def generated_csv(path: Path, role: str, rng) -> Path:
    """A CSV of points (经度/纬度 columns) with the role's fields, odd values and sometimes odd coordinates."""
    _kind, fields = SCHEMAS[role]
    wild = rng.random() < 0.15
    cols = ["经度", "纬度", *[k for k in fields if rng.random() < 0.9]]
    rows = [",".join(cols)]
    for _ in range(int(rng.choice([0, 1, 3, 20]))):
        lon, lat = _coord(rng, wild)[:2]
        values = [lon, lat] + [_odd_value(rng, fields[c]) for c in cols[2:]]
        rows.append(",".join('"' + str(v).replace('"', '""') + '"' if isinstance(v, str) and ("," in v or '"' in v)
                             else str(v) for v in values))
    path.write_text("\n".join(rows) + "\n", encoding=str(rng.choice(["utf-8", "gbk"])), errors="replace")
    return path


# ---------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------
MUTATION_TARGETS = {
    "roads": ["roads.geojson", "roads.shp", "roads.dbf", "roads.shx", "dem.tif", "water.geojson", "accidents.geojson"],
    "tailings": ["ponds.geojson", "ponds.shp", "ponds.dbf", "dem.tif"],
    "pipelines": ["pipes.shp", "pipes.dbf", "pipes.shx"],
}


def _commands(role: str, folder: Path, files: dict, probe: Path) -> list:
    out = str(folder / "out.gpkg")
    info = ["info", str(probe)]
    if role == "roads":
        argv = ["roads", "--roads", str(files["roads"]), "--dem", str(files["dem"]), "--water", str(files["water"]),
                "--accidents", str(files["accidents"]), "--out", out]
        if "km_posts" in files:
            argv[-2:-2] = ["--km-posts", str(files["km_posts"])]
        return [info, argv]
    if role == "tailings":
        return [info, ["tailings", "--tailings", str(files["tailings"]), "--dem", str(files["dem"]), "--out", out]]
    return [info, ["pipelines", "--pipelines", str(files["pipelines"]), "--out", out]]


def _case(case: int, rng, folder: Path, bases: dict):
    """``(role, how, target, commands)`` of one case; its files are written to ``folder``."""
    role = ("roads", "tailings", "pipelines")[case % 3]
    for path in bases.values():
        shutil.copy(path, folder / path.name)
    files = {"roads": folder / "roads.geojson", "dem": folder / "dem.tif", "water": folder / "water.geojson",
             "accidents": folder / "accidents.geojson", "tailings": folder / "ponds.geojson",
             "pipelines": folder / "pipes.shp"}
    if (case // 3) % 2 == 0:  # generated
        how = "generated"
        what = {"roads": ["roads", "accidents", "km_posts", "water"], "tailings": ["tailings"],
                "pipelines": ["pipelines"]}[role]
        target = str(rng.choice(what))
        if role == "tailings" and rng.random() < 0.3:
            files[target] = generated_csv(folder / "gen.csv", target, rng)
        else:
            files[target] = generated_geojson(folder / f"gen_{target}.geojson", target, rng)
        probe = files[target]
    else:
        how = "mutated"
        target = str(rng.choice(MUTATION_TARGETS[role]))
        victim = folder / target
        victim.write_bytes(mutate(victim.read_bytes(), rng))
        if target.startswith(("roads.", "ponds.", "pipes.")) and target.endswith((".shp", ".dbf", ".shx")):
            key = {"roads": "roads", "ponds": "tailings", "pipes": "pipelines"}[target.split(".")[0]]
            files[key] = victim.with_suffix(".shp")
        probe = victim.with_suffix(".shp") if victim.suffix in (".dbf", ".shx") else victim
    return role, how, target, _commands(role, folder, files, probe)


def _execute(record: dict, argv: list) -> None:
    print(json.dumps({**record, "argv": argv[0], "start": True}, ensure_ascii=False), flush=True)
    t0 = time.monotonic()
    code, err = run(argv)
    print(json.dumps({**record, "argv": argv[0], "code": code, "stderr": err, "seconds": time.monotonic() - t0},
                     ensure_ascii=False), flush=True)


def fuzz(work: Path, seed: int, cases: int, seconds: float) -> None:
    bases = make_bases(work)
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    for case in range(cases):
        if time.monotonic() - t0 > seconds:
            break
        folder = work / f"case{case}"
        folder.mkdir()
        role, how, target, commands = _case(case, rng, folder, bases)
        for argv in commands:
            _execute({"case": case, "role": role, "how": how, "target": target}, argv)
        shutil.rmtree(folder)
    _memory()


def _memory() -> None:
    """The process's peak resident and virtual size (MB), as the last record."""
    status = {line.split(":")[0]: line.split()[1] for line in open("/proc/self/status") if line.startswith("Vm")}
    print(json.dumps({"peak_rss_mb": int(status["VmHWM"]) / 1024, "peak_vm_mb": int(status["VmPeak"]) / 1024}),
          flush=True)


# ---------------------------------------------------------------------------
# what packages ship as test data
# ---------------------------------------------------------------------------
#: Extensions riskmap might be handed (and some it refuses), looked for in the packages' test folders.
PACKAGE_EXTENSIONS = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz", ".csv", ".xlsx", ".tif", ".tiff", ".vrt",
                      ".parquet", ".pbf", ".gml", ".zip", ".dbf", ".xml")


def package_files(site: Path, limit: int = 12) -> list:
    """Files under a ``tests``/``test``/``data``/``fixtures`` folder of an installed package, with an extension of
    :data:`PACKAGE_EXTENSIONS`; sorted, at most ``limit`` per extension (numpy ships dozens of CSVs)."""
    by_ext: dict = {}
    for path in sorted(site.rglob("*")):
        parts = set(path.relative_to(site).parts[:-1])
        if not path.is_file() or path.suffix.lower() not in PACKAGE_EXTENSIONS or "__pycache__" in parts:
            continue
        if parts & {"tests", "test", "fixtures", "testdata", "test_data"} or "datasets" in parts:
            by_ext.setdefault(path.suffix.lower(), []).append(path)
    return [p for ext in sorted(by_ext) for p in by_ext[ext][:limit]]


def renamed_files(site: Path, work: Path) -> list:
    """Files packages ship (no raster among their test data) under the name of another format riskmap reads:
    PROJ's SQLite database as a GeoPackage, GDAL's PNG icon and PROJ's grid list as GeoTIFFs, a Parquet file as
    GeoJSON, an OSM PBF as KML, a shapefile's .shp without its .shx/.dbf."""
    import pyproj
    import rasterio

    proj = Path(pyproj.datadir.get_data_dir())
    gdal = Path(rasterio.__file__).parent / "gdal_data"
    fixtures = next(site.glob("pyogrio/tests/fixtures"), None)
    pairs = [(proj / "proj.db", "proj_db.gpkg"), (gdal / "gdalicon.png", "icon.tif"), (proj / "nad.lst", "grids.tiff")]
    if fixtures is not None:
        pairs += [(fixtures / "list_field_values_file.parquet", "parquet.geojson"), (fixtures / "sample.osm.pbf", "osm.kml"),
                  (fixtures / "naturalearth_lowres" / "naturalearth_lowres.shp", "lonely.shp")]
    out = []
    for source, name in pairs:
        if source.is_file():
            target = work / "renamed" / name
            target.parent.mkdir(exist_ok=True)
            shutil.copy(source, target)
            out.append(target)
    return out


def package(work: Path, site: Path, seconds: float) -> None:
    """``info`` on every package test file (and :func:`renamed_files`); the readable vector ones also through
    each analysis as its first input."""
    from riskmap import io
    from riskmap.errors import RiskmapError

    bases = make_bases(work)
    t0 = time.monotonic()
    files = package_files(site) + renamed_files(site, work)
    def shown(p: Path) -> str:
        return str(p.relative_to(site)) if p.is_relative_to(site) else p.name

    print(json.dumps({"files": [shown(p) for p in files]}, ensure_ascii=False), flush=True)
    for i, path in enumerate(files):
        if time.monotonic() - t0 > seconds:
            break
        record = {"case": i, "file": shown(path)}
        _execute(record, ["info", str(path)])
        try:  # a readable vector layer also goes into each analysis as its main input
            io.read_vector(path)
        except (RiskmapError, Exception):  # noqa: BLE001 - anything unreadable was judged by info above
            continue
        out = str(work / f"out{i}.gpkg")
        # --spacing 50: geopandas' null_geom.geojson is one 4230 km line, 846 001 samples at the default 5 m (20 s)
        for argv in (["roads", "--roads", str(path), "--dem", str(bases["dem.tif"]), "--spacing", "50", "--out", out],
                     ["tailings", "--tailings", str(path), "--out", out],
                     ["pipelines", "--pipelines", str(path), "--out", out]):
            _execute(record, argv)
            Path(out).unlink(missing_ok=True)
    _memory()


if __name__ == "__main__":
    mode, work = sys.argv[1], Path(sys.argv[2])
    if mode == "fuzz":
        fuzz(work, int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        package(work, Path(sys.argv[3]), float(sys.argv[4]))
