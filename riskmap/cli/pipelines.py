"""``riskmap pipelines``: high-consequence areas and protection corridors of oil/gas pipelines."""
from __future__ import annotations

from riskmap.cli.common import add_sample_flag, report_written, require_geopackage, resolve_input


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pipelines",
        help="pipeline high-consequence areas (GB 32167-2015) and protection corridors (管道保护法)",
        description="Identify high-consequence areas (高后果区, grades I/II/III) along oil and gas pipelines with a "
                    "sliding window, and the protection bands of the Pipeline Protection Law (5 m, 5–50 m, 200 m) "
                    "with the targets inside them. Writes layers hca, corridors and encroachments.",
    )
    p.add_argument("--pipelines", help="pipeline lines (fields name, medium gas|oil, diam_mm, press_mpa)")
    p.add_argument("--population", help="population raster (persons per cell)")
    p.add_argument("--sensitive", help="sensitive targets / identified sites (points)")
    p.add_argument("--water", help="water bodies (polygons)")
    p.add_argument("--roads", help="roads and railways (lines with road_class)")
    p.add_argument("--enterprises", help="enterprises (points with industry; hazchem/fireworks are flammable sites)")
    p.add_argument("--out", required=True, help="output GeoPackage (.gpkg)")
    p.add_argument("--report", help="also write an Excel report (.xlsx) with a provenance sheet")
    p.add_argument("--window", type=float, default=2000.0, help="sliding window length in m (default 2000)")
    p.add_argument("--step", type=float, default=100.0, help="window step in m (default 100)")
    p.add_argument("--persons-per-household", type=float, default=2.66,
                   help="persons per household (default 2.66, Xinyang 7th census)")
    p.add_argument("--class4-households", type=float, default=1500.0,
                   help="households per 2 km window treated as a class-4 location (approximation, default 1500)")
    p.add_argument("--gas-other-site-grade", choices=("I", "II"), default="II",
                   help="grade of gas criterion e) (⚠ the copies disagree; default II)")
    p.add_argument("--gas-flammable-grade", choices=("II", "III"), default="III",
                   help="grade of gas criterion f) (⚠ the copies disagree; default III)")
    add_sample_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from riskmap import io
    from riskmap.analysis.gb32167 import HCAParameters
    from riskmap.analysis.pipelines import analyse_pipelines
    from riskmap.analysis.provenance import provenance_frame

    out = str(require_geopackage(args.out))
    params = HCAParameters(window_m=args.window, step_m=args.step, persons_per_household=args.persons_per_household,
                           class4_households=args.class4_households, gas_other_site_grade=args.gas_other_site_grade,
                           gas_flammable_grade=args.gas_flammable_grade)
    pipelines = io.read_vector(resolve_input(args, "pipelines", "pipelines"))
    population = resolve_input(args, "population", "population")
    optional = {}
    for attr in ("sensitive", "water", "roads", "enterprises"):
        path = resolve_input(args, attr, attr, required=False)
        optional[attr] = io.read_vector(path) if path else None
    result = analyse_pipelines(pipelines, population, params=params, **optional)
    io.write_layers(out, {"hca": result.hca, "corridors": result.corridors, "encroachments": result.encroachments})
    counts = result.hca["hca_grade"].value_counts()
    print(f"high-consequence areas: {len(result.hca)} segments "
          f"(III {counts.get('III', 0)}, II {counts.get('II', 0)}, I {counts.get('I', 0)}), "
          f"{result.hca['length_m'].sum() / 1000:.1f} km; targets inside protection bands: "
          f"{len(result.encroachments)}")
    report_written(out)
    if args.report:
        io.write_excel(args.report, {
            "高后果区": result.hca.drop(columns="geometry"),
            "保护范围内目标": result.encroachments.drop(columns="geometry"),
            "provenance": provenance_frame(result.provenance)})
        report_written(args.report)
    return 0
