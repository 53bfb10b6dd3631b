"""Benchmark: road hazard candidates on a synthetic 10,000 km network with a DEM, end to end.

Run ``python -m benchmarks.bench_roads`` (``--km 1000`` for a quick run). Writes the section
"roads" of docs/benchmarks.md: total time, km/s and vertices/s of
:func:`riskmap.analysis.roads.detect_road_hazards` (sharp bends, steep grades, near water, near
cliff, black spots), the time of each stage, its peak memory (per 1,000 km, between two sizes, and at
full size; each in a fresh process), and the throughput of a naive per-vertex Python
loop doing the per-point stages (resample, smooth, curvature, DEM bilinear, grade, water
distance) on a subset, measured in the same run.
"""
from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import from_origin

from benchmarks._report import write_section
from riskmap.analysis import roads as road_analysis

#: Progress messages that start a stage of detect_road_hazards → the stage's name in the report.
STAGES = {"准备道路": "prepare: metric CRS, parts, 5 m resampling", "急弯": "sharp bends: smoothing, batched fit",
          "临水": "water proximity (bulk STRtree)", "DEM 取样": "DEM bilinear sampling (read from disk)",
          "纵坡": "steep grades and long down-grades", "临崖": "near cliff: lateral DEM look-aside",
          "临水路段": "near-water runs", "事故多发点段": "black spots: snapping, sliding windows",
          "整理结果": "assembling segments (substrings, km-posts, notes)"}
METRIC = 4547
X0, Y0 = 380000.0, 3400000.0
ROAD_KM = 2.0
VERTEX_SPACING = 15.0
DEM_CELL = 90.0


# ---------------------------------------------------------------------------
# synthetic data
# ---------------------------------------------------------------------------
def synthetic_road(rng, length_m, mountain: bool, x, y, heading):
    """Straights and circular arcs (mountain roads: tight bends), digitised every ~15 m with ±0.5 m noise."""
    pieces = []
    total = 0.0
    while total < length_m:
        straight = rng.uniform(20, 150) if mountain else rng.uniform(80, 600)
        radius = rng.uniform(15, 150) if mountain else rng.uniform(250, 3000)
        angle = np.radians(rng.uniform(20, 150) if mountain else rng.uniform(5, 60))
        pieces += [(straight, 0.0), (radius * angle, rng.choice([-1.0, 1.0]) / radius)]
        total += straight + radius * angle
    ds = 1.0
    k = np.concatenate([np.full(max(int(L / ds), 1), c) for L, c in pieces])
    step = np.concatenate([np.full(max(int(L / ds), 1), L / max(int(L / ds), 1)) for L, c in pieces])
    th = heading + np.r_[0.0, np.cumsum(k * step)]
    mid = (th[:-1] + th[1:]) / 2
    px = np.r_[0.0, np.cumsum(step * np.cos(mid))]
    py = np.r_[0.0, np.cumsum(step * np.sin(mid))]
    s = np.r_[0.0, np.cumsum(step)]
    keep = s <= length_m
    s, px, py = s[keep], px[keep], py[keep]
    q = np.arange(0, s[-1], VERTEX_SPACING)
    xy = np.column_stack([np.interp(q, s, px), np.interp(q, s, py)])
    xy += rng.uniform(-0.5, 0.5, xy.shape)
    return xy + [x, y]


def build_network(km: float, rng):
    n = int(round(km / ROAD_KM))
    side = int(math.ceil(math.sqrt(n)))
    spacing = 5000.0
    lines, classes = [], []
    for i in range(n):
        mountain = i % 4 == 0
        cx = X0 + (i % side) * spacing + rng.uniform(-500, 500)
        cy = Y0 + (i // side) * spacing + rng.uniform(-500, 500)
        lines.append(shapely.LineString(synthetic_road(rng, ROAD_KM * 1000, mountain, cx, cy,
                                                       rng.uniform(0, 2 * np.pi))))
        classes.append("township" if mountain else rng.choice(["national", "provincial", "county"]))
    roads = gpd.GeoDataFrame({"name": [f"R{i:05d}" for i in range(n)], "road_class": classes},
                             geometry=lines, crs=METRIC)
    return roads, side * spacing + 4000


def build_dem(path: Path, size_m: float, rng):
    n = int(math.ceil(size_m / DEM_CELL))
    x0, y1 = X0 - 4000, Y0 - 4000 + n * DEM_CELL
    xs = x0 + (np.arange(n) + 0.5) * DEM_CELL
    ys = y1 - (np.arange(n) + 0.5) * DEM_CELL
    z = np.zeros((n, n), dtype="float32")
    for _ in range(6):  # smooth hills of 3–20 km wavelength
        kx, ky = rng.uniform(2 * np.pi / 20000, 2 * np.pi / 3000, 2)
        amp = rng.uniform(10, 70)
        z += (amp * np.sin(kx * xs + rng.uniform(0, 6))[None, :] * np.cos(ky * ys + rng.uniform(0, 6))[:, None]
              ).astype("float32")
    z += 300
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs=f"EPSG:{METRIC}",
                       transform=from_origin(x0, y1, DEM_CELL, DEM_CELL), nodata=-9999, tiled=True,
                       blockxsize=256, blockysize=256) as ds:
        ds.write(z, 1)
    return n * n


def build_water_and_accidents(roads, size_m, rng):
    n_lakes = max(int(len(roads) * 0.4), 1)
    centres = rng.uniform([X0, Y0], [X0 + size_m, Y0 + size_m], (n_lakes, 2))
    lakes = shapely.buffer(shapely.points(centres), rng.uniform(150, 900, n_lakes), quad_segs=16)
    water = gpd.GeoDataFrame({"name": [f"湖{i}" for i in range(n_lakes)], "kind": "reservoir"}, geometry=lakes,
                             crs=METRIC)
    lines = roads.geometry.values
    n_acc = int(len(roads) * 6)
    pick = rng.integers(0, len(lines), n_acc)
    pos = rng.uniform(0, 1, n_acc)
    clustered = rng.random(n_acc) < 0.3
    anchor = rng.uniform(0.2, 0.8, n_acc)
    pos = np.where(clustered, anchor.round(1) + rng.uniform(-0.05, 0.05, n_acc), pos)
    pts = shapely.line_interpolate_point(lines[pick], np.clip(pos, 0, 1), normalized=True)
    acc = gpd.GeoDataFrame({"date": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1800, n_acc), "D"),
                            "deaths": rng.choice([0, 0, 0, 1, 2], n_acc), "injuries": rng.integers(0, 4, n_acc)},
                           geometry=pts, crs=METRIC)
    return water, acc


# ---------------------------------------------------------------------------
# the naive per-vertex loop (for comparison)
# ---------------------------------------------------------------------------
def naive_per_vertex(roads, dem_path, water, accidents, spacing=5.0, sigma=20.0, window=100.0, water_dist=50.0,
                     lateral=(15.0, 30.0, 45.0, 60.0), snap=50.0, spot_window=500.0, spot_step=100.0):
    """Per point in Python: resample, smooth, curvature, bilinear DEM, grade, cliff look-aside (every 10 m,
    both sides), distance to water; per accident: nearest road; per road: sliding accident window."""
    lakes = list(water.geometry.values)
    lines = list(roads.geometry.values)
    with rasterio.open(dem_path) as ds:
        inv = ~ds.transform
        band = ds.read(1)

        def bilinear(x, y):
            col, row = inv * (x, y)
            col -= 0.5
            row -= 0.5
            c0 = min(max(int(math.floor(col)), 0), band.shape[1] - 2)
            r0 = min(max(int(math.floor(row)), 0), band.shape[0] - 2)
            fx, fy = col - c0, row - r0
            return (band[r0, c0] * (1 - fx) * (1 - fy) + band[r0, c0 + 1] * fx * (1 - fy)
                    + band[r0 + 1, c0] * (1 - fx) * fy + band[r0 + 1, c0 + 1] * fx * fy)

        flagged = 0
        on_road = [[] for _ in lines]
        bounds = [ln.bounds for ln in lines]
        for pt in accidents.geometry.values:
            best, best_d = None, snap
            for k, ln in enumerate(lines):
                b = bounds[k]
                if pt.x < b[0] - snap or pt.x > b[2] + snap or pt.y < b[1] - snap or pt.y > b[3] + snap:
                    continue
                d = ln.distance(pt)
                if d <= best_d:
                    best, best_d = k, d
            if best is not None:
                on_road[best].append(lines[best].project(pt))
        for k, line in enumerate(lines):
            chain = sorted(on_road[k])
            m = 0.0
            while m <= max(line.length - spot_window, 0):
                if sum(1 for c in chain if m <= c <= m + spot_window) >= 3:
                    flagged += 1
                m += spot_step
            coords = list(line.coords)
            cum = [0.0]
            for (xa, ya), (xb, yb) in zip(coords[:-1], coords[1:]):
                cum.append(cum[-1] + math.hypot(xb - xa, yb - ya))
            pts, ch = [], []
            j = 0
            m = 0.0
            while m <= cum[-1]:
                while j < len(cum) - 2 and cum[j + 1] < m:
                    j += 1
                seg = cum[j + 1] - cum[j]
                t = (m - cum[j]) / seg if seg > 0 else 0.0
                (xa, ya), (xb, yb) = coords[j], coords[j + 1]
                pts.append((xa + t * (xb - xa), ya + t * (yb - ya)))
                ch.append(m)
                m += spacing
            half = int(2 * sigma / spacing)
            smooth = []
            for i in range(len(pts)):
                lo, hi = max(0, i - half), min(len(pts), i + half + 1)
                sx = sum(p[0] for p in pts[lo:hi]) / (hi - lo)
                sy = sum(p[1] for p in pts[lo:hi]) / (hi - lo)
                smooth.append((sx, sy))
            curv = [0.0]
            for i in range(1, len(smooth) - 1):
                h0 = math.atan2(smooth[i][1] - smooth[i - 1][1], smooth[i][0] - smooth[i - 1][0])
                h1 = math.atan2(smooth[i + 1][1] - smooth[i][1], smooth[i + 1][0] - smooth[i][0])
                d = (h1 - h0 + math.pi) % (2 * math.pi) - math.pi
                curv.append(d / spacing)
            z = [bilinear(x, y) for x, y in pts]
            for i in range(0, len(smooth) - 1, 2):
                h = math.atan2(smooth[i + 1][1] - smooth[i][1], smooth[i + 1][0] - smooth[i][0])
                nx, ny = -math.sin(h), math.cos(h)
                x, y = pts[i]
                low = min(bilinear(x + side * d * nx, y + side * d * ny) for side in (1, -1) for d in lateral)
                if z[i] - low > 20:
                    flagged += 1
            w = int(window / spacing / 2)
            for i in range(w, len(z) - w):
                if abs(z[i + w] - z[i - w]) / window * 100 > 7:
                    flagged += 1
            env = line.buffer(water_dist).bounds
            near = [lk for lk in lakes if lk.bounds[0] < env[2] and lk.bounds[2] > env[0] and lk.bounds[1] < env[3]
                    and lk.bounds[3] > env[1]]
            for x, y in pts:
                p = shapely.Point(x, y)
                for lk in near:
                    if lk.distance(p) <= water_dist:
                        flagged += 1
                        break
            flagged += sum(1 for c in curv if abs(c) > 1 / 120)
    return flagged


# ---------------------------------------------------------------------------
# peak memory
# ---------------------------------------------------------------------------
def _status_mb(field: str) -> float:
    """A field of /proc/self/status (``VmRSS``, ``VmHWM``) in MB; NaN where there is none (not Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return float("nan")


def _reset_high_water_mark() -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_memory(roads, dem_path, water, accidents) -> dict:
    """Peak memory of one run of detect_road_hazards above what was in use before it.

    ``rss_mb``: growth of the resident set (VmHWM after − VmRSS before, NaN where VmHWM cannot be
    reset); ``traced_mb``: tracemalloc's peak (Python and numpy allocations, not GEOS/GDAL), in a
    second run.
    """
    gc.collect()
    rss_mb = float("nan")
    if _reset_high_water_mark():
        before = _status_mb("VmRSS")
        road_analysis.detect_road_hazards(roads, dem=dem_path, water=water, accidents=accidents)
        rss_mb = _status_mb("VmHWM") - before
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        road_analysis.detect_road_hazards(roads, dem=dem_path, water=water, accidents=accidents)
        traced_mb = (tracemalloc.get_traced_memory()[1] - base) / 1e6
    finally:
        tracemalloc.stop()
    return {"rss_mb": rss_mb, "traced_mb": traced_mb}


def _memory_child(km: float, conn) -> None:
    rng = np.random.default_rng(20240601)
    with tempfile.TemporaryDirectory(prefix="bench_roads_mem_") as tmp:
        roads, size = build_network(km, rng)
        dem_path = Path(tmp) / "dem.tif"
        build_dem(dem_path, size + 8000, rng)
        water, accidents = build_water_and_accidents(roads, size, rng)
        out = peak_memory(roads, dem_path, water, accidents)
        out["km"] = float(roads.length.sum() / 1000)
    conn.send(out)
    conn.close()


def memory_at(km: float) -> dict:
    """:func:`peak_memory` on the synthetic network of ``km`` km, in a fresh process.

    Spawned, not forked: a fork would inherit this process's heap, whose freed memory the child's
    run would reuse without raising its high-water mark.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_memory_child, args=(km, child))
    proc.start()
    child.close()
    out = parent.recv()
    proc.join()
    return out


def memory_slope(sizes=(1000.0, 3000.0)) -> dict:
    """Peak memory at two network lengths and its growth per 1,000 km (the slope between them)."""
    a, b = (memory_at(km) for km in sizes)
    per = {key: (b[key] - a[key]) / (b["km"] - a["km"]) * 1000 for key in ("rss_mb", "traced_mb")}
    return {"small": a, "large": b, "per_1000km": per}


# ---------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--km", type=float, default=10000.0, help="network length (default 10000)")
    parser.add_argument("--naive-km", type=float, default=100.0, help="subset for the naive loop (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the analysis; the median is reported")
    parser.add_argument("--memory-km", default="1000,3000",
                        help="two network lengths for the peak memory per 1,000 km (default 1000,3000)")
    parser.add_argument("--no-memory", action="store_true", help="do not measure peak memory")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20240601)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="bench_roads_") as tmp:
        t = time.perf_counter()
        roads, size = build_network(args.km, rng)
        dem_path = Path(tmp) / "dem.tif"
        cells = build_dem(dem_path, size + 8000, rng)
        water, accidents = build_water_and_accidents(roads, size, rng)
        n_vertices = int(shapely.get_num_coordinates(roads.geometry.values).sum())
        km = float(roads.length.sum() / 1000)
        print(f"synthetic data: {len(roads)} roads, {km:.0f} km, {n_vertices} vertices, DEM {cells / 1e6:.1f} M "
              f"cells, {len(water)} lakes, {len(accidents)} accidents ({time.perf_counter() - t:.1f} s)")
        runs = []
        for _ in range(args.repeat):
            stages = []
            last = [time.perf_counter(), "start"]

            def progress(fraction, message, stages=stages, last=last):
                # a stage runs from its first message to the next stage's; other messages are within it
                now = time.perf_counter()
                if message in STAGES and message != last[1]:
                    stages.append((last[1], now - last[0]))
                    last[:] = [now, message]

            t0 = time.perf_counter()
            segs, record = road_analysis.detect_road_hazards(roads, dem=dem_path, water=water, accidents=accidents,
                                                             progress=progress)
            total = time.perf_counter() - t0
            stages.append((last[1], time.perf_counter() - last[0]))
            runs.append((total, stages))
            print(f"run: {total:.1f} s")
        all_totals = sorted(t for t, _ in runs)
        total, stages = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run
        counts = segs["kind"].value_counts().to_dict()
        merged = {}  # the per-point stages run once per chunk of roads: their times add up
        for name, secs in stages:
            if name in STAGES:
                merged[STAGES[name]] = merged.get(STAGES[name], 0.0) + secs
        for name, secs in merged.items():
            print(f"  {name}: {secs:.2f} s")
        print(f"detect_road_hazards: {total:.1f} s, {km / total:.0f} km/s, {n_vertices / total:,.0f} vertices/s; "
              f"{counts}")
        # naive loop on a subset
        n_sub = max(1, int(round(args.naive_km / ROAD_KM)))
        subset = roads.iloc[:n_sub]
        sub_km = float(subset.length.sum() / 1000)
        t1 = time.perf_counter()
        naive_per_vertex(subset, dem_path, water, accidents)
        naive = time.perf_counter() - t1
        t2 = time.perf_counter()
        road_analysis.detect_road_hazards(subset, dem=dem_path, water=water, accidents=accidents)
        vec_sub = time.perf_counter() - t2
        print(f"naive per-vertex loop: {sub_km:.0f} km in {naive:.1f} s ({sub_km / naive:.1f} km/s); "
              f"riskmap on the same subset {vec_sub:.2f} s; whole-network riskmap throughput "
              f"{(km / total) / (sub_km / naive):.0f}× the naive loop's")
    memory_row = ""
    if not args.no_memory:
        # each in a fresh process: a process's high-water mark only counts what its own allocator had to get
        sizes = tuple(float(v) for v in args.memory_km.split(","))
        slope = memory_slope(sizes)
        whole = memory_at(args.km)
        per = slope["per_1000km"]
        print(f"peak memory: {per['rss_mb']:.1f} MB per 1,000 km (RSS), {per['traced_mb']:.1f} MB per 1,000 km "
              f"(tracemalloc), between {slope['small']['km']:.0f} and {slope['large']['km']:.0f} km; at {km:.0f} km "
              f"{whole['rss_mb']:.0f} MB (RSS), {whole['traced_mb']:.0f} MB (tracemalloc)")
        memory_row = (f"| peak memory | **{per['rss_mb']:.1f} MB per 1,000 km** (growth of the resident set's "
                      f"high-water mark, slope between {slope['small']['km']:,.0f} km: {slope['small']['rss_mb']:.0f} MB "
                      f"and {slope['large']['km']:,.0f} km: {slope['large']['rss_mb']:.0f} MB; tracemalloc "
                      f"{per['traced_mb']:.1f} MB per 1,000 km; target < 20); at {km:,.0f} km "
                      f"**{whole['rss_mb']:.0f} MB** RSS, {whole['traced_mb']:.0f} MB tracemalloc |\n")
    stage_rows = "\n".join(f"| {name} | {secs:.2f} |" for name, secs in merged.items())
    md = f"""## roads — road hazard candidates (`python -m benchmarks.bench_roads`)

Synthetic network: {len(roads):,} roads of {ROAD_KM:g} km ({km:,.0f} km; a quarter are mountain roads with
15–150 m bends), digitised every {VERTEX_SPACING:g} m with ±0.5 m noise ({n_vertices:,} vertices); a
{DEM_CELL:g} m DEM of {cells / 1e6:.1f} M cells (GeoTIFF, tiled); {len(water):,} lake polygons;
{len(accidents):,} accidents. Load average when the run started: {load:.1f} (the machine is shared, so
times vary from run to run). `detect_road_hazards` end to end (all five kinds, default parameters:
5 m resampling, 100 m grade window), reading the DEM from disk:

| | |
|---|---|
| total | **{total:.1f} s** (median of {len(all_totals)} runs: {", ".join(f"{t:.1f}" for t in all_totals)} s; target < 30 s) |
| throughput | **{km / total:,.0f} km/s**, **{n_vertices / total:,.0f} vertices/s** (≈ {km * 200:,.0f} points at 5 m) |
| segments found | {", ".join(f"{k} {v:,}" for k, v in counts.items())} |
{memory_row}
Peak memory is measured in a fresh process per size (each builds its own synthetic data), above what
was in use before the call: the RSS high-water mark (reset through /proc/self/clear_refs) in one run,
tracemalloc's peak (Python and numpy, not GEOS or GDAL) in a second. The per-point stages run chunk by
chunk of whole roads (`CHUNK_POINTS` samples), so what grows with the network is per road and per
segment; the rest of the RSS slope is GEOS geometries and GDAL's block cache of the DEM, which here
grows with the network. Before chunking (commit 299036c) it was 98 MB per 1,000 km (RSS), 88 MB
(tracemalloc).

Time by stage in the median run (s, between the progress messages that start each stage):

| stage | s |
|---|---|
{stage_rows}

Naive per-vertex Python loop (per point: resample, moving-average smoothing, curvature, bilinear DEM,
grade, cliff look-aside every 10 m, distance to each nearby lake; per accident: nearest road by a loop over
roads; per road: sliding accident window — no bend fitting, so it does less than riskmap) on the first
{sub_km:.0f} km: {naive:.1f} s = {sub_km / naive:.1f} km/s. riskmap's whole-network throughput is
**{(km / total) / (sub_km / naive):.0f}×** the naive loop's (riskmap on that subset alone: {vec_sub:.2f} s,
dominated by fixed costs).
"""
    if not args.no_report:
        print(f"wrote {write_section('roads', md)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
