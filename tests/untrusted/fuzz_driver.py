"""Run riskmap's CLI in-process on many mutated files; one JSON line per case (run by test_fuzz.py).

Usage: python fuzz_driver.py WORKDIR SEED CASES SECONDS

Every case is announced on stdout *before* it runs, so a crash (signal) names the case that caused it.
"""
from __future__ import annotations

import contextlib
import io as _io
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np


def make_bases(work: Path) -> dict:
    """Small valid inputs: plants (.geojson, .shp), pipelines (.geojson), population (.tif)."""
    import geopandas as gpd
    import rasterio
    import shapely
    from affine import Affine

    base = work / "base"
    base.mkdir(parents=True, exist_ok=True)
    xy = gpd.GeoSeries(shapely.points([497_000, 498_000, 499_000], [3_562_000, 3_563_000, 3_561_000]),
                       crs=4547).to_crs(4490)
    plants = gpd.GeoDataFrame({"name": ["甲化工", "乙化工", "丙化工"], "industry": ["hazchem"] * 3,
                               "safe_dist": [300.0, 500.0, 200.0]}, geometry=xy.values, crs=4490)
    plants.to_file(base / "plants.geojson")
    plants.to_file(base / "plants.shp", encoding="UTF-8")
    line = gpd.GeoSeries([shapely.LineString([(496_000, 3_560_000), (500_000, 3_564_000)])], crs=4547).to_crs(4490)
    gpd.GeoDataFrame({"name": ["西气东输"], "medium": ["gas"], "pressure_mpa": [10.0], "diameter_mm": [1016.0]},
                     geometry=line.values, crs=4490).to_file(base / "pipes.geojson")
    with rasterio.open(base / "pop.tif", "w", driver="GTiff", width=60, height=60, count=1, dtype="float32",
                       crs="EPSG:4547", transform=Affine(100, 0, 495_000, 0, -100, 3_565_000), nodata=-9999) as ds:
        ds.write(np.full((1, 60, 60), 20.0, np.float32))
    return {"plants.geojson": base / "plants.geojson", "plants.shp": base / "plants.shp",
            "pipes.geojson": base / "pipes.geojson", "pop.tif": base / "pop.tif"}


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """Flip bytes, truncate, duplicate or insert a chunk."""
    buf = bytearray(data)
    how = rng.integers(4)
    if how == 0 or len(buf) < 8:
        for _ in range(int(rng.integers(1, 9))):
            buf[int(rng.integers(len(buf)))] = int(rng.integers(256))
    elif how == 1:
        buf = buf[: int(rng.integers(1, len(buf)))]
    elif how == 2:
        i, j = sorted(int(v) for v in rng.integers(len(buf), size=2))
        buf[i:i] = buf[i:j + 1]
    else:
        i = int(rng.integers(len(buf)))
        buf[i:i] = bytes(rng.integers(256, size=int(rng.integers(1, 64)), dtype=np.uint8))
    return bytes(buf)


def run(argv) -> tuple[int, str]:
    from riskmap.cli import main

    err = _io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(_io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def main_(work: Path, seed: int, cases: int, seconds: float) -> None:
    bases = make_bases(work)
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    targets = ["plants.geojson", "plants.shp", "plants.dbf", "plants.shx", "pipes.geojson", "pop.tif"]
    for case in range(cases):
        if time.monotonic() - t0 > seconds:
            break
        target = targets[case % len(targets)]
        folder = work / f"case{case}"
        folder.mkdir()
        for name, path in bases.items():
            for part in path.parent.glob(path.stem + ".*"):
                shutil.copy(part, folder / part.name)
        victim = folder / target
        victim.write_bytes(mutate(victim.read_bytes(), rng))
        out = folder / "out.gpkg"
        if target.startswith("pipes"):
            commands = [["info", str(victim)],
                        ["pipelines", "--pipelines", str(victim), "--out", str(out)]]
        else:
            plants = folder / ("plants.shp" if target.startswith("plants.") and not target.endswith("geojson")
                               else "plants.geojson")
            commands = [["info", str(victim if victim.suffix != ".dbf" and victim.suffix != ".shx" else plants)],
                        ["relocation", "--plants", str(plants), "--population", str(folder / "pop.tif"),
                         "--out", str(out)]]
        for argv in commands:
            print(json.dumps({"case": case, "target": target, "argv": argv[0], "start": True}), flush=True)
            code, err = run(argv)
            print(json.dumps({"case": case, "target": target, "argv": argv[0], "code": code, "stderr": err}),
                  flush=True)
        shutil.rmtree(folder)


if __name__ == "__main__":
    main_(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
