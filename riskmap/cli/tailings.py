"""``riskmap tailings``: tailings-pond grades and 头顶库 (overhead ponds)."""
from __future__ import annotations

from pathlib import Path

from riskmap.cli.common import add_sample_flag, report_written, require_geopackage, resolve_input

#: Sample layers used as facilities with --sample when no --facilities is given.
SAMPLE_FACILITIES = ("sensitive", "enterprises", "roads")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tailings",
        help="tailings-pond grades (AQ 2006-2005) and 头顶库 (people or facilities within 1 km downstream)",
        description="Grade tailings ponds from total storage and dam height, trace 1 km downstream on the DEM "
                    "(D8 with pit handling; downstream_az without a DEM) and flag 头顶库. Writes layers tailings, "
                    "corridors, paths and facilities.",
    )
    p.add_argument("--tailings", help="tailings ponds (points: name, capacity 10^4 m³, dam_height m, downstream_az)")
    p.add_argument("--dem", help="elevation raster (m); without it downstream_az is used")
    p.add_argument("--population", help="population raster (persons per cell)")
    p.add_argument("--facilities", action="append", metavar="F",
                   help="facility layer (sensitive targets, plants, roads ...); repeat for several files")
    p.add_argument("--out", required=True, help="output GeoPackage (.gpkg)")
    p.add_argument("--report", help="also write an Excel report (.xlsx) with a provenance sheet")
    p.add_argument("--downstream", type=float, default=1000.0, help="downstream distance in m (default 1000)")
    p.add_argument("--half-width", type=float, default=250.0, help="corridor half-width in m (default 250)")
    p.add_argument("--min-people", type=float, default=1,
                   help="residents present from this many people (rounded) in the corridor (default 1)")
    p.add_argument("--rules", choices=("aq2006", "gb39496"), default="aq2006",
                   help="grade table: AQ 2006-2005 (default) or GB 39496-2020 with unconfirmed grade-1/2 bounds")
    p.add_argument("--grade1-capacity", type=float, default=50000.0,
                   help="GB 39496 grade-1 storage bound, 10^4 m³ (⚠ unconfirmed, default 50000)")
    p.add_argument("--grade1-height", type=float, default=200.0,
                   help="GB 39496 grade-1 dam height bound, m (⚠ unconfirmed, default 200)")
    add_sample_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from riskmap import io
    from riskmap.analysis import tailings_rules as rules
    from riskmap.analysis.provenance import provenance_frame
    from riskmap.analysis.tailings import assess_tailings, facility_kind
    from riskmap.sample import sample_path

    out = str(require_geopackage(args.out))
    params = rules.OverheadParameters(downstream_m=args.downstream, half_width_m=args.half_width,
                                      min_people=args.min_people)
    grade_rules = (rules.gb39496_rules(args.grade1_capacity, args.grade1_height) if args.rules == "gb39496"
                   else rules.AQ_2006_2005)
    tailings = io.read_vector(resolve_input(args, "tailings", "tailings"))
    dem = resolve_input(args, "dem", "dem", required=False)
    population = resolve_input(args, "population", "population", required=False)
    facilities = {}
    if args.facilities:
        for path in map(Path, args.facilities):
            gdf = io.read_vector(path)
            kind = facility_kind(gdf)
            facilities[kind if kind not in facilities else f"{kind}:{path.stem}"] = gdf
    elif args.sample:
        facilities = {k: io.read_vector(sample_path(k)) for k in SAMPLE_FACILITIES}
    result = assess_tailings(tailings, dem, population, facilities=facilities, grade_rules=grade_rules,
                             params=params)
    io.write_layers(out, {"tailings": result.tailings, "corridors": result.corridors, "paths": result.paths,
                          "facilities": result.facilities})
    t = result.tailings
    grades = t["grade"].value_counts().sort_index()
    grade_text = ", ".join(f"grade {int(g)}: {int(c)}" for g, c in grades.items())
    flagged = t.loc[t["overhead"], "name"].astype(str).tolist()
    print(f"tailings ponds: {len(t)} ({grade_text}); 头顶库: {len(flagged)}"
          + (f" ({', '.join(flagged)})" if flagged else ""))
    report_written(out)
    if args.report:
        io.write_excel(args.report, {
            "尾矿库": t.drop(columns="geometry"),
            "下游设施": result.facilities.drop(columns="geometry"),
            "provenance": provenance_frame(result.provenance)})
        report_written(args.report)
    return 0
