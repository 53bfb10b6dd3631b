"""``riskmap relocation``: which hazardous-chemical plants should move out of dense population areas."""
from __future__ import annotations

import sys

from riskmap.cli.common import add_sample_flag, report_written, require_geopackage, resolve_input
from riskmap.errors import ParameterError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "relocation",
        help="relocation assessment of hazardous-chemical plants (搬迁评估)",
        description="Safety zones, exposed population (exact cell coverage), sensitive targets, dense "
                    "population areas and GB 18218-2018 major-hazard grade for each hazardous-chemical "
                    "plant; flags plants to relocate with a priority and reasons in Chinese.",
    )
    p.add_argument("--plants", help="plants: .shp/.gpkg/.geojson/.csv/.xlsx (Chinese headers accepted)")
    p.add_argument("--plants-layer", help="layer name when the plants file holds several")
    p.add_argument("--offset", choices=["gcj02", "bd09"],
                   help="the plants' coordinates are GCJ-02 (AMap/Tencent) or BD-09 (Baidu)")
    p.add_argument("--population", help="population raster (GeoTIFF, persons per cell)")
    p.add_argument("--sensitive", help="sensitive targets (schools, hospitals, ...)")
    p.add_argument("--dense-threshold", type=float, default=None, metavar="P",
                   help="dense-area density threshold, persons/km² (default 5000)")
    p.add_argument("--dense-min-area", type=float, default=None, metavar="KM2",
                   help="smallest dense area kept, km² (default 0.2)")
    p.add_argument("--default-distance", type=float, default=None, metavar="M",
                   help="safety distance (m) for plants with no safe_dist and no recognised chemical "
                        "(default 500)")
    p.add_argument("--alpha-radius", type=float, default=None, metavar="M",
                   help="radius (m) of the GB 18218 α population count (default 500)")
    p.add_argument("--min-people", type=float, default=None, metavar="N",
                   help="grade rule: 一/二级 plants with more than N people exposed are flagged (default 1000)")
    p.add_argument("--all-industries", action="store_true",
                   help="assess every plant, not only industry == hazchem")
    p.add_argument("--out", required=True, help="output GeoPackage (layers plants, zones, dense_areas)")
    p.add_argument("--report", help="Excel report (.xlsx): county summary, plant detail, provenance")
    add_sample_flag(p)
    p.set_defaults(func=run)


def _params(args):
    from riskmap.analysis.relocation import RelocationParams

    given = {
        "dense_threshold": args.dense_threshold, "dense_min_area_km2": args.dense_min_area,
        "default_distance_m": args.default_distance, "alpha_radius_m": args.alpha_radius,
        "grade_rule_min_people": args.min_people,
    }
    params = RelocationParams(**{k: v for k, v in given.items() if v is not None})
    if args.all_industries:
        params.industries = None
    return params.validate()


def run(args) -> int:
    from pathlib import Path

    from riskmap import io
    from riskmap.analysis import relocation

    require_geopackage(args.out)
    if args.report and not str(args.report).lower().endswith(".xlsx"):
        raise ParameterError(f"--report must be an Excel file (.xlsx), not {args.report!r}")
    params = _params(args)
    plants_path = resolve_input(args, "plants", "enterprises")
    population_path = resolve_input(args, "population", "population")
    sensitive_path = resolve_input(args, "sensitive", "sensitive", required=False)
    plants = io.read_vector(plants_path, args.plants_layer, offset=args.offset)
    sensitive = io.read_vector(sensitive_path) if sensitive_path else None

    def progress(frac, msg):
        if sys.stderr.isatty():
            print(f"\r{frac * 100:5.1f}% {msg[:60]:<60}", end="", file=sys.stderr, flush=True)

    result = relocation.assess_relocation(
        plants, population_path, sensitive, params, progress=progress,
        inputs={"plants": plants_path, "population": population_path, "sensitive": sensitive_path or "—"})
    if sys.stderr.isatty():
        print(file=sys.stderr)
    io.write_layers(args.out, relocation.output_layers(result))
    report_written(Path(args.out))
    if args.report:
        relocation.write_report(result, args.report)
        report_written(Path(args.report))
    plants_out = result.plants
    flagged = plants_out.loc[plants_out["relocate"]].sort_values("priority")
    print(f"assessed {len(plants_out)} plants; {len(flagged)} flagged for relocation (建议搬迁)")
    top = flagged.head(20)
    for rank, name, reasons in zip(top["priority"], top["name"], top["reasons"]):
        print(f"  {int(rank):>3}. {name} — {reasons}")
    if len(flagged) > 20:
        print(f"  … {len(flagged) - 20} more in {args.out}")
    return 0
