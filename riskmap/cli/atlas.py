"""``riskmap atlas``: the county atlas PDF of the 安全风险四色分布图 (cover + one A3 page per county).

From a four-colour result GeoPackage (``--from four.gpkg``, written by ``riskmap fourcolour``) or,
with ``--sample``, after running the four-colour analysis on the bundled Xinyang data. Headless
(Qt's ``offscreen`` platform when there is no display); Qt is imported only when the command runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

from riskmap.cli.common import add_sample_flag, report_written
from riskmap.errors import DataFormatError, ParameterError
from riskmap.i18n import tr


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "atlas", help="county atlas PDF of the four-colour risk map (cover + one A3 page per county)",
        description="Write the 安全风险四色分布图 county atlas: a cover page and one A3 page per county with the "
                    "four-colour map of its townships, the risk items, a table of the county's highest items, "
                    "legend, scale bar, north arrow, 审图号 slot and a provenance footer. Text in the PDF is real, "
                    "searchable text.")
    p.add_argument("--from", dest="source", metavar="FOUR.gpkg",
                   help="a four-colour result GeoPackage (riskmap fourcolour --out); default: run the analysis "
                        "(with --sample, on the demo data)")
    p.add_argument("--counties", metavar="FILE", help="county polygons (name); default the sample's with --sample")
    add_sample_flag(p)
    p.add_argument("--out", required=True, metavar="ATLAS.pdf", help="output PDF")
    p.add_argument("--title", help="atlas title (default 信阳市安全风险四色分布图集)")
    p.add_argument("--approval", metavar="审图号", help="map approval number printed on every page")
    p.add_argument("--dpi", type=float, default=200.0, help="resolution of images in the PDF (≥ 200, default 200)")
    p.add_argument("--top", type=int, default=12, help="items listed per county (default 12)")
    p.add_argument("--offline-tiles", metavar="BASEMAP.mbtiles",
                   help="draw this offline base-map package (MBTiles) under the maps, with its attribution "
                        "(the command line never fetches tiles from the network)")
    p.set_defaults(func=run_atlas)
    r = subparsers.add_parser(
        "fourcolour-rules", help="write the default four-colour rule table (JSON) to edit and pass to --rules",
        description="Write riskmap's default risk-level rule table of the four-colour map as JSON: each source "
                    "(enterprises, pipelines, tailings, roads) with its rules (field, op, value, level, basis) and "
                    "default level. Edit it and give it back with riskmap fourcolour --rules FILE.json.")
    r.add_argument("--out", required=True, metavar="RULES.json", help="output JSON file")
    r.set_defaults(func=run_write_rules)


def run_write_rules(args) -> int:
    import json

    from riskmap.analysis.fourcolour import DEFAULT_RULES

    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise ParameterError(tr(f"--out 须以 .json 结尾，而不是“{out.name}”", f"--out must end with .json, not {out.name!r}"))
    out.write_text(json.dumps(DEFAULT_RULES, ensure_ascii=False, indent=2), encoding="utf-8")
    report_written(out)
    return 0


def fourcolour_result(source=None, sample: bool = False, progress=None, params=None):
    """The four-colour :class:`~riskmap.analysis.result.AnalysisResult`: read from a GeoPackage, or run."""
    from riskmap import io
    from riskmap.analysis.registry import FOURCOLOUR
    from riskmap.analysis.result import AnalysisResult, run_analysis

    if source:
        source = Path(source)
        if not source.is_file():
            raise DataFormatError(tr("文件不存在，请检查路径", "file not found; check the path"), source)
        record = io.read_provenance(source) or {}
        if record.get("analysis") != "fourcolour":
            raise DataFormatError(tr("不是四色分布图结果（请先运行 riskmap fourcolour --out）",
                                     "not a four-colour result (run riskmap fourcolour --out first)"), source)
        layers = {name: io.read_vector(source, name) for name in ("township_risk", "risk_items")
                  if name in io.list_layers(source)}
        if "risk_items" not in layers:
            raise DataFormatError(tr("结果中没有 risk_items 图层", "the result has no risk_items layer"), source)
        return AnalysisResult("fourcolour", layers, {}, "", "", record)
    if not sample:
        raise ParameterError(tr("请给出 --from 四色结果，或用 --sample", "give --from FOUR.gpkg, or --sample"))
    from riskmap.analysis.declare import Input  # noqa: F401 - the declaration names the sample files
    from riskmap.cli.analyses import load_inputs
    from riskmap.sample import sample_path

    paths = {spec.role: str(sample_path(spec.sample)) for spec in FOURCOLOUR.inputs if isinstance(spec.sample, str)}
    inputs = load_inputs(FOURCOLOUR, paths, {})
    return run_analysis(FOURCOLOUR, inputs, params, progress=progress)


def _progress(frac, msg):
    if sys.stderr.isatty():
        print(f"\r{frac * 100:5.1f}% {str(msg)[:60]:<60}", end="", file=sys.stderr, flush=True)


def run_atlas(args) -> int:
    from riskmap import io
    from riskmap.sample import sample_path

    out = Path(args.out)
    if out.suffix.lower() != ".pdf":
        raise ParameterError(tr(f"--out 须以 .pdf 结尾，而不是“{out.name}”", f"--out must end with .pdf, not {out.name!r}"))
    if args.dpi < 200 or args.dpi > 600:
        raise ParameterError(tr(f"--dpi 须在 200 到 600 之间，而不是 {args.dpi:g}", f"--dpi must be between 200 and 600, not {args.dpi:g}"))
    if args.top < 1 or args.top > 40:
        raise ParameterError(tr(f"--top 须在 1 到 40 之间，而不是 {args.top}", f"--top must be between 1 and 40, not {args.top}"))
    if args.counties:
        counties_path = Path(args.counties)
    elif args.sample:
        counties_path = sample_path("counties")
    else:
        raise ParameterError(tr("须给出 --counties（或用 --sample 使用示例县区）", "--counties is required (or use --sample for the demo counties)"))
    counties = io.read_vector(counties_path)
    if "name" not in counties.columns:
        raise DataFormatError(tr("县区图层须有 name 字段", "the counties layer needs a name field"), counties_path)
    result = fourcolour_result(args.source, args.sample, progress=_progress)
    from riskmap.app import atlas_headless

    data_sources = None
    if args.sample:
        from riskmap.exports.sample_project import DATA_SOURCES

        data_sources = DATA_SOURCES

    if args.offline_tiles:
        from riskmap.layers.tile_store import open_package

        package, _provider = open_package(args.offline_tiles)  # refused here, in one line, when not a package
        package.close()
    basemaps = []

    def make_writer():
        from riskmap.ui.atlas import atlas_from_result

        if args.offline_tiles:
            from riskmap.layers.tile_store import open_package
            from riskmap.ui.basemap import BaseMap

            package, provider = open_package(args.offline_tiles)
            package.close()
            basemaps.append(BaseMap(provider))
        return atlas_from_result(result, counties, title=args.title, approval=args.approval, dpi=args.dpi,
                                 top_n=args.top, data_sources=data_sources,
                                 basemap=basemaps[0] if basemaps else None)

    try:
        written = atlas_headless(make_writer, out, progress=_progress)
    finally:
        for basemap in basemaps:
            basemap.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    report_written(written.path)
    print(tr(f"共 {written.pages} 页（封面 + {len(written.counties)} 个县区），用时 {written.seconds:.1f} s",
             f"{written.pages} pages (cover + {len(written.counties)} counties) in {written.seconds:.1f} s"))
    return 0
