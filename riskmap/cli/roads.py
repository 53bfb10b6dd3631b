"""``riskmap roads``: road hazard candidates (急弯陡坡、临水临崖、事故多发点段) to GeoPackage and Excel."""
from __future__ import annotations

from pathlib import Path

from riskmap.cli.common import add_sample_flag, report_written, require_geopackage, resolve_input
from riskmap.errors import DataFormatError

LAYER = "hazard_segments"


def register(subparsers) -> None:
    from riskmap.analysis.roads import KINDS, RoadHazardParams

    d = RoadHazardParams()
    p = subparsers.add_parser(
        "roads", help="find sharp bends, steep grades, water- and cliff-side segments and accident black spots",
        description="Find road hazard candidates along road lines (any CRS; computed in metres) and write them "
                    f"as layer '{LAYER}' of a GeoPackage, optionally with an Excel register. Thresholds marked "
                    "'riskmap default' are not from a confirmed standard; the provenance sheet lists every value.")
    p.add_argument("--roads", help="road centre lines (name, road_class, speed_kmh)")
    p.add_argument("--dem", help="elevation GeoTIFF (m): steep grades and near-cliff segments")
    p.add_argument("--water", help="water polygons or lines: near-water segments")
    p.add_argument("--accidents", help="accident points (date, deaths, injuries): black spots")
    p.add_argument("--counties", help="county polygons (name) to fill the county column")
    p.add_argument("--out", required=True, help=f"output GeoPackage (.gpkg), layer '{LAYER}'")
    p.add_argument("--register", help="also write an Excel register (.xlsx) with Chinese headers")
    p.add_argument("--kinds", nargs="+", choices=list(KINDS), help="only these kinds (default: all the inputs allow)")
    add_sample_flag(p)
    g = p.add_argument_group("parameters (metres unless stated)")
    g.add_argument("--spacing", type=float, default=d.spacing_m, help="resampling spacing (default %(default)s)")
    g.add_argument("--smoothing", type=float, default=d.smoothing_m,
                   help="Gaussian smoothing sigma for curvature (default %(default)s)")
    g.add_argument("--min-deflection", type=float, default=d.min_deflection_deg,
                   help="smallest turning angle of a reported bend, degrees (default %(default)s)")
    g.add_argument("--grade-window", type=float, default=d.grade_window_m,
                   help="window of the grade, at least 100 (default %(default)s)")
    g.add_argument("--downgrade-length", type=float, default=d.downgrade_length_m,
                   help="long down-grade: minimum length (riskmap default %(default)s)")
    g.add_argument("--downgrade-avg", type=float, default=d.downgrade_avg_pct,
                   help="long down-grade: average grade, %% (riskmap default %(default)s)")
    g.add_argument("--water-distance", type=float, default=d.water_distance_m,
                   help="near water within this distance (riskmap default %(default)s)")
    g.add_argument("--water-min-length", type=float, default=d.water_min_length_m,
                   help="shortest near-water segment (riskmap default %(default)s)")
    g.add_argument("--cliff-lateral", type=float, default=d.cliff_lateral_m,
                   help="look this far beside the road for a drop (riskmap default %(default)s)")
    g.add_argument("--cliff-drop", type=float, default=d.cliff_drop_m,
                   help="drop below the road that makes it cliff-side (riskmap default %(default)s)")
    g.add_argument("--accident-snap", type=float, default=d.accident_snap_m,
                   help="largest accident-to-road distance (default %(default)s)")
    g.add_argument("--blackspot-window", type=float, default=d.blackspot_window_m,
                   help="sliding window length (default %(default)s; UNCONFIRMED rule)")
    g.add_argument("--blackspot-step", type=float, default=d.blackspot_step_m,
                   help="sliding window step (default %(default)s)")
    g.add_argument("--blackspot-min-accidents", type=int, default=d.blackspot_min_accidents,
                   help="accidents in a window that make a black spot (default %(default)s; UNCONFIRMED rule)")
    g.add_argument("--blackspot-min-deaths", type=int, default=None,
                   help="or at least this many deaths in a window (off by default)")
    g.add_argument("--per-year", action="store_true",
                   help="divide window counts by the years the accident dates span")
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from riskmap import io
    from riskmap.analysis.provenance import provenance_frame
    from riskmap.analysis.roads import KINDS, RoadHazardParams, detect_road_hazards, segments_excel_frame

    out = require_geopackage(args.out)
    if args.register and Path(args.register).suffix.lower() != ".xlsx":
        raise DataFormatError("--register must be an Excel file (.xlsx)", args.register)
    sample = getattr(args, "sample", False)
    roads_path = resolve_input(args, "roads", "roads")
    dem = resolve_input(args, "dem", "dem", required=False)
    water_path = resolve_input(args, "water", "water", required=False)
    acc_path = resolve_input(args, "accidents", "accidents", required=False)
    counties_path = resolve_input(args, "counties", "counties", required=False) if (args.counties or sample) else None
    params = RoadHazardParams(
        spacing_m=args.spacing, smoothing_m=args.smoothing, min_deflection_deg=args.min_deflection,
        grade_window_m=args.grade_window, downgrade_length_m=args.downgrade_length,
        downgrade_avg_pct=args.downgrade_avg, water_distance_m=args.water_distance,
        water_min_length_m=args.water_min_length, cliff_lateral_m=args.cliff_lateral, cliff_drop_m=args.cliff_drop,
        accident_snap_m=args.accident_snap, blackspot_window_m=args.blackspot_window,
        blackspot_step_m=args.blackspot_step, blackspot_min_accidents=args.blackspot_min_accidents,
        blackspot_min_deaths=args.blackspot_min_deaths, blackspot_per_year=args.per_year)
    params.validate()
    roads = io.read_vector(roads_path)
    water = io.read_vector(water_path) if water_path else None
    accidents = io.read_vector(acc_path) if acc_path else None
    counties = io.read_vector(counties_path) if counties_path else None
    if dem is not None:
        io.open_raster(dem).close()  # fail early, with the file's name, on a bad raster
    segments, record = detect_road_hazards(roads, dem=dem, water=water, accidents=accidents, counties=counties,
                                           params=params, kinds=args.kinds)
    io.write_layers(out, {LAYER: segments})
    report_written(out)
    if args.register:
        kinds = segments["kind"].map(KINDS)
        counts = (pd.crosstab(segments["county"].replace("", "未分县"), kinds) if len(segments)
                  else pd.DataFrame())
        sheets = {"隐患路段": segments_excel_frame(segments)}
        if len(counts):
            sheets["按县区统计"] = counts.reset_index().rename(columns={"county": "县区"})
        sheets["来源"] = provenance_frame(record)
        io.write_excel(args.register, sheets)
        report_written(args.register)
    by_kind = segments["kind"].value_counts()
    summary = ", ".join(f"{KINDS[k]} {int(by_kind.get(k, 0))}" for k in KINDS)
    print(f"{len(segments)} hazard segments on {record['parameters']['roads_km']} km of road: {summary}")
    for note in record["notes"][:-1]:
        print(f"note: {note}")
    return 0
