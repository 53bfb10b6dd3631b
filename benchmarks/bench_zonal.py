"""Benchmark: population within 5,000 circular safety zones on a 5000×5000 population raster.

riskmap's exact circle sums (:func:`riskmap.analysis.zonal.zone_sums`) against rasterstats
``zonal_stats(sum)`` (whole cells counted by their centre, as QGIS does) and exactextract (exact
cell coverage on polygon circles), all reading the same GeoTIFF in the same run. Also times the
relocation what-if update of one plant (:func:`riskmap.analysis.relocation.update_plant`).

Run: ``python -m benchmarks.bench_zonal`` (writes the "zonal" section of docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks._timing import timed

GK = 4547
MIN_PEOPLE = 10.0  # relative errors only over zones holding at least this many people
LEFT, TOP, CELL = 350_000.0, 3_700_000.0, 100.0


def make_raster(path: Path, size: int, seed: int = 1) -> np.ndarray:
    """A plausible population grid: sparse rural background, towns as Gaussian blobs, a nodata lake."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    arr = rng.gamma(0.6, 2.0, (size, size)).astype(np.float32)  # ~120 persons/km² mean
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for _ in range(60):  # towns
        cx, cy = rng.uniform(0, size, 2)
        s = rng.uniform(5, 25)
        peak = rng.uniform(30, 150)
        r0, r1 = int(max(cy - 4 * s, 0)), int(min(cy + 4 * s, size))
        c0, c1 = int(max(cx - 4 * s, 0)), int(min(cx + 4 * s, size))
        d2 = (xx[r0:r1, c0:c1] - cx) ** 2 + (yy[r0:r1, c0:c1] - cy) ** 2
        arr[r0:r1, c0:c1] += peak * np.exp(-d2 / (2 * s * s))
    lake = (xx - size * 0.3) ** 2 / 3 + (yy - size * 0.6) ** 2 < (size * 0.04) ** 2
    arr[lake] = -9999.0
    del xx, yy
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
                       crs=f"EPSG:{GK}", transform=Affine(CELL, 0, LEFT, 0, -CELL, TOP), nodata=-9999.0,
                       tiled=True, blockxsize=256, blockysize=256) as ds:
        ds.write(arr, 1)
    return arr


def relative_errors(values, reference, min_reference=1.0):
    values, reference = np.asarray(values, float), np.asarray(reference, float)
    ok = reference >= min_reference
    return np.abs(values[ok] - reference[ok]) / reference[ok]


def what_if_timing(path: Path, n_plants: int, seed: int = 3):
    """Median time of update_plant (distance change; move) after a relocation run on the big raster."""
    import geopandas as gpd
    import shapely

    from riskmap.analysis import relocation

    rng = np.random.default_rng(seed)
    size_m = 5000 * CELL
    x = LEFT + rng.uniform(5_000, size_m - 5_000, n_plants)
    y = TOP - rng.uniform(5_000, size_m - 5_000, n_plants)
    pts = gpd.GeoSeries(shapely.points(x, y), crs=GK).to_crs(4490)
    chems = rng.choice(["液氯:30;液氨:20", "天然气:60", "甲醇:600", "二氧化硫:200", "汽油:300"], n_plants)
    plants = gpd.GeoDataFrame({"name": [f"企业{i}" for i in range(n_plants)], "industry": "hazchem",
                               "safe_dist": rng.uniform(200, 2000, n_plants), "chemicals": chems,
                               "county": rng.choice(["浉河区", "平桥区", "罗山县"], n_plants)},
                              geometry=pts.values, crs=4490)
    sx = LEFT + rng.uniform(0, size_m, 3000)
    sy = TOP - rng.uniform(0, size_m, 3000)
    sens = gpd.GeoDataFrame({"name": [f"学校{i}" for i in range(3000)], "category": "school"},
                            geometry=gpd.GeoSeries(shapely.points(sx, sy), crs=GK).to_crs(4490).values, crs=4490)
    t0 = time.perf_counter()
    result = relocation.assess_relocation(plants, path, sens)
    full = time.perf_counter() - t0
    moves, dists = [], []
    for k in range(15):
        i = int(rng.integers(0, n_plants))
        t0 = time.perf_counter()
        relocation.update_plant(result, i, safe_dist=float(rng.uniform(200, 2000)))
        dists.append(time.perf_counter() - t0)
        geom = result.plants.geometry.iat[i]
        t0 = time.perf_counter()
        relocation.update_plant(result, i, geometry=shapely.Point(geom.x + 0.01, geom.y + 0.005))
        moves.append(time.perf_counter() - t0)
    return full, statistics.median(dists), max(dists), statistics.median(moves), max(moves)


def main(argv=None) -> int:
    import geopandas as gpd
    import rasterio
    import shapely
    from exactextract import exact_extract
    from exactextract.raster import RasterioRasterSource
    from rasterstats import zonal_stats

    from benchmarks._report import write_section
    from riskmap.analysis import zonal

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000, help="raster width = height (cells)")
    parser.add_argument("--zones", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5, help="riskmap runs (median)")
    parser.add_argument("--whatif-plants", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory(prefix="bench_zonal_") as tmp:
        path = Path(tmp) / "population.tif"
        t0 = time.perf_counter()
        make_raster(path, args.size)
        print(f"raster {args.size}×{args.size} written in {time.perf_counter() - t0:.1f} s")
        span = args.size * CELL
        x = LEFT + rng.uniform(-1000, span + 1000, args.zones)  # a few zones cross the raster edge
        y = TOP - rng.uniform(-1000, span + 1000, args.zones)
        r = rng.uniform(200, 2000, args.zones)
        plants = gpd.GeoSeries(shapely.points(x, y), crs=GK).to_crs(4490)  # plants in lon/lat, raster in GK
        circles = gpd.GeoDataFrame(geometry=zonal.circle_polygons(x, y, r), crs=GK)  # the same zones as polygons

        times_rm, ours = timed(lambda: zonal.zone_sums(path, plants, r), args.repeat)
        print(f"riskmap      {statistics.median(times_rm):7.3f} s (median of {args.repeat})")

        def run_exactextract():
            with rasterio.open(path) as ds:
                return exact_extract(RasterioRasterSource(ds), circles, ["sum"], output="pandas")["sum"].to_numpy()

        (t_ee,), ee = timed(run_exactextract, 1)
        print(f"exactextract {t_ee:7.3f} s")

        def run_rasterstats():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stats = zonal_stats(circles, str(path), stats=["sum"], nodata=-9999.0)
            return np.array([s["sum"] if s["sum"] is not None else 0.0 for s in stats], float)

        (t_rs,), rs = timed(run_rasterstats, 1)
        print(f"rasterstats  {t_rs:7.3f} s")
        times_rm += timed(lambda: zonal.zone_sums(path, plants, r), args.repeat)[0]  # again after the peers
        t_rm = statistics.median(times_rm)

        ours = ours["sum"].to_numpy()
        vs_ee = relative_errors(ours, ee)
        # the zones where riskmap and exactextract differ most, again with 8,192-vertex circles
        worst = np.argsort(np.abs(ours - ee) / np.maximum(ee, 1.0))[-20:]
        fine = gpd.GeoDataFrame(geometry=zonal.circle_polygons(x[worst], y[worst], r[worst], quad_segs=2048),
                                crs=GK)
        with rasterio.open(path) as ds:
            ee_fine = exact_extract(RasterioRasterSource(ds), fine, ["sum"], output="pandas")["sum"].to_numpy()
        vs_fine = relative_errors(ours[worst], ee_fine, min_reference=1.0)
        small = r <= 300
        rs_all = relative_errors(rs, ours, MIN_PEOPLE)
        rs_small = relative_errors(rs[small], ours[small], MIN_PEOPLE)
        print(f"ratio rasterstats/riskmap = {t_rs / t_rm:.1f}×; exactextract/riskmap = {t_ee / t_rm:.1f}×")
        print(f"riskmap vs exactextract: max rel diff {vs_ee.max():.2e}; "
              f"on those zones with 8192-gons {vs_fine.max():.2e}")
        print(f"rasterstats error: all median {np.median(rs_all):.2%} p95 {np.percentile(rs_all, 95):.2%} "
              f"max {rs_all.max():.2%}; r ≤ 300 m median {np.median(rs_small):.2%} "
              f"p95 {np.percentile(rs_small, 95):.2%} max {rs_small.max():.2%}")

        full, d_med, d_max, m_med, m_max = what_if_timing(path, args.whatif_plants)
        print(f"relocation run ({args.whatif_plants} plants, dense areas on the whole raster) {full:.1f} s; "
              f"what-if distance {d_med * 1000:.0f} ms (max {d_max * 1000:.0f}), "
              f"move {m_med * 1000:.0f} ms (max {m_max * 1000:.0f})")

    markdown = f"""## zonal — population in 5,000 circular safety zones

`python -m benchmarks.bench_zonal`: {args.zones:,} zones (radius 200–2,000 m, some crossing the raster edge;
centres given in EPSG:4490, raster in EPSG:4547) on a synthetic {args.size}×{args.size} float32 population
GeoTIFF (100 m cells, tiled, with a nodata lake). All engines read the same file in the same run.

| engine | time (s) | vs riskmap | cell coverage |
|---|---:|---:|---|
| riskmap `zonal.zone_sums` (circles, closed-form edge cells) | {t_rm:.2f} | 1× | exact |
| exactextract 0.3 (`sum`, 256-vertex polygons) | {t_ee:.2f} | {t_ee / t_rm:.1f}× slower | exact |
| rasterstats `zonal_stats(sum)` (same polygons) | {t_rs:.2f} | **{t_rs / t_rm:.1f}× slower** | cell centres |

- riskmap median of {2 * args.repeat} runs (before and after the peers); peers one run each.
- riskmap vs exactextract: largest relative difference {vs_ee.max():.2e}; it comes from the 256-vertex
  polygon (0.01 % less area than the circle, more where the people sit on the zone's rim): on the 20 zones
  that differ most, exactextract on 8,192-vertex circles agrees with riskmap within {vs_fine.max():.1e}.
- rasterstats' centre counting vs the exact sums (zones with ≥ {MIN_PEOPLE:g} people): median {np.median(rs_all):.2%}, 95th percentile
  {np.percentile(rs_all, 95):.2%}, max {rs_all.max():.2%} over all zones; on small zones (r ≤ 300 m,
  n = {int(small.sum())}): median {np.median(rs_small):.2%}, 95th percentile {np.percentile(rs_small, 95):.2%},
  max **{rs_small.max():.2%}**.
- What-if (relocation panel): after a full relocation run on this raster ({args.whatif_plants:,} plants, 3,000
  sensitive targets, dense areas traced on the whole raster: {full:.1f} s), `update_plant` recomputes one plant
  in {d_med * 1000:.0f} ms median (max {d_max * 1000:.0f} ms) for a distance change and
  {m_med * 1000:.0f} ms (max {m_max * 1000:.0f} ms) for a move (α population and grade too); target < 200 ms.
"""
    if not args.no_write:
        print(f"wrote {write_section('zonal', markdown)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
