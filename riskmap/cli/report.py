"""``riskmap report``: the meeting package in one go — atlas PDF, HTML map, Excel reports, one provenance.

Runs the four-colour analysis (which runs the relocation, pipelines, tailings and roads analyses on the
raw layers first) and writes into ``--out DIR``:

- ``安全风险四色分布图集.pdf``: the county atlas (:mod:`riskmap.ui.atlas`);
- ``会议地图.html``: the sample's base layers (counties, water, roads, pipelines) under the four-colour layers;
- ``<analysis>.xlsx`` and ``<analysis>.gpkg`` of every analysis run (relocation, pipelines, tailings, roads,
  fourcolour, and qra with ``--with-qra``), each with its own 来源说明 sheet;
- ``provenance.json``: the one record of the package (the four-colour run, whose ``attachments.upstream``
  holds the provenance of each analysis it ran, and the files written with their sha256).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from riskmap.cli.common import add_sample_flag, report_written
from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: File names in the package.
ATLAS_NAME = "安全风险四色分布图集.pdf"
HTML_NAME = "会议地图.html"
PROVENANCE_NAME = "provenance.json"
#: Sample point layers left off the package's map: the four-colour risk points show the plants and ponds that
#: matter, graded, and thousands of raw points would hide the choropleth.
HIDDEN_ON_MAP = ("enterprises", "sensitive", "accidents", "tailings")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="meeting package: atlas PDF, HTML map and the Excel report of every analysis",
        description="Run every analysis behind the four-colour risk map (relocation, pipelines, tailings, roads, "
                    "fourcolour) and write the county atlas PDF, an offline HTML meeting map, each analysis's "
                    "Excel report and GeoPackage, and one provenance.json into a folder.")
    add_sample_flag(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--title", help="title of the atlas and the map")
    p.add_argument("--approval", metavar="审图号", help="map approval number printed on the atlas and the map")
    p.add_argument("--with-qra", action="store_true",
                   help="also run the quantitative risk assessment (slow) and grade plants by its societal risk")
    p.set_defaults(func=run_report)


def _progress(frac, msg):
    if sys.stderr.isatty():
        print(f"\r{frac * 100:5.1f}% {str(msg)[:60]:<60}", end="", file=sys.stderr, flush=True)


def run_report(args) -> int:
    from riskmap import io
    from riskmap.analysis.registry import ANALYSES
    from riskmap.analysis.result import file_sha256
    from riskmap.cli.atlas import fourcolour_result
    from riskmap.exports.report import write_report
    from riskmap.sample import sample_path

    if not args.sample:
        raise ParameterError(tr("目前会议材料包只支持示例数据：请加 --sample",
                                "the meeting package runs on the sample data for now: add --sample"))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ParameterError(tr(f"--out 须为文件夹，不是文件 {out.name!r}", f"--out must be a folder, not the file "
                                f"{out.name!r}"))
    out.mkdir(parents=True, exist_ok=True)
    params = ANALYSES["fourcolour"].params.build(with_qra=bool(args.with_qra))
    four = fourcolour_result(None, True, progress=_progress, params=params)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    runs = {**four.native.upstream_results, "fourcolour": four}
    written = []
    for name, result in runs.items():
        gpkg, xlsx = out / f"{name}.gpkg", out / f"{name}.xlsx"
        io.write_layers(gpkg, result.layers, provenance=result.provenance)
        write_report(result, xlsx, ANALYSES[name])
        written += [gpkg, xlsx]

    # the HTML meeting map: the sample project, the analyses' main layers and the four-colour map on top
    from riskmap.exports.fourcolour_style import add_fourcolour_layers
    from riskmap.exports.html import export_html
    from riskmap.exports.sample_project import DATA_SOURCES, build_sample_project

    from riskmap.sample import SAMPLE_LAYER_NAMES

    project = build_sample_project(include_rasters=False)
    for key in HIDDEN_ON_MAP:
        project.layers[SAMPLE_LAYER_NAMES[key]].visible = False
    add_fourcolour_layers(project, four.native, four.provenance)
    project.title = args.title or tr("信阳市安全风险四色分布图", "Xinyang four-colour risk map")
    if args.approval:
        project.approval_number = args.approval
    html_path = out / HTML_NAME
    export_html(project, html_path)
    written.append(html_path)

    # the atlas
    from riskmap.app import atlas_headless

    counties = io.read_vector(sample_path("counties"))

    def make_writer():
        from riskmap.ui.atlas import atlas_from_result

        return atlas_from_result(four, counties, title=args.title, approval=args.approval,
                                 data_sources=DATA_SOURCES)

    atlas = atlas_headless(make_writer, out / ATLAS_NAME, progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    written.append(atlas.path)
    record = {"package": "riskmap meeting package", "provenance": four.provenance,
              "files": {p.name: file_sha256(p) for p in written}}
    (out / PROVENANCE_NAME).write_text(json.dumps(record, ensure_ascii=False, indent=1, default=str),
                                       encoding="utf-8")
    for path in written + [out / PROVENANCE_NAME]:
        report_written(path)
    print(four.summary)
    return 0
