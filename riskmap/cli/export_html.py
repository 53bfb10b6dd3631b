"""``riskmap export-html``: a self-contained interactive HTML meeting map."""
from __future__ import annotations

import sys
from pathlib import Path

from riskmap.errors import ParameterError
from riskmap.i18n import tr


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-html", help="write an interactive HTML map (one file, works offline)",
        description="Write the layers of the demo data, a project or data files as one self-contained HTML "
                    "map that opens without internet (Leaflet inlined). Tile base maps are optional.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--sample", action="store_true", help="the bundled Xinyang demo project (styled)")
    src.add_argument("--project", metavar="P", help="a riskmap project file (.rmp)")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="vector files (.shp .gpkg .geojson .kml .csv .xlsx) or rasters (.tif), bottom first")
    p.add_argument("--out", required=True, help="output .html file")
    p.add_argument("--basemap", default="none", choices=("none", "osm", "tianditu", "amap"),
                   help="tile base map (default none: fully offline; the others need internet)")
    p.add_argument("--offline-tiles", metavar="MBTILES",
                   help="embed an offline base map (an .mbtiles package, e.g. from 下载离线底图) in the page")
    p.add_argument("--offline-zooms", metavar="A-B",
                   help="zoom levels of the package to embed (default all), e.g. 8-12")
    p.add_argument("--title", help="map title (default: the project's)")
    p.add_argument("--tianditu-token", metavar="KEY", help="天地图 key for --basemap tianditu")
    p.add_argument("--approval-number", metavar="NO", help="map approval number (审图号) for the footer")
    p.add_argument("--include-personal", action="store_true",
                   help="show personal data in the popups (contact person, phone, ID card, e-mail); left out by "
                        "default")
    p.add_argument("--no-heatmap", action="store_true", help="no accident heat-map overlay")
    p.add_argument("--no-rasters", action="store_true", help="leave raster layers out (smaller file)")
    p.add_argument("--no-font", action="store_true",
                   help="do not embed the Chinese font subset (smaller; needs CJK fonts on the viewing computer)")
    p.add_argument("--qra", metavar="QRA.gpkg",
                   help="add the results of `riskmap qra --out QRA.gpkg` (individual-risk contours, QRA plants, "
                        "protection targets) on top, styled as in the window; the map opens on the contours")
    p.add_argument("--qra-focus", metavar="NAME",
                   help="with --qra: open on the contours of the plant whose name contains NAME")
    p.add_argument("--simplify", type=float, metavar="M",
                   help="simplification tolerance in metres for all lines/polygons (default: per layer)")
    p.set_defaults(func=run)


def project_from_files(paths):
    """A project holding the given data files (bottom first), styled like the sample when fields match."""
    from riskmap import io
    from riskmap.exports.sample_project import sample_style_for
    from riskmap.project import Project

    project = Project()
    for i, raw in enumerate(paths):
        path = Path(raw)
        if path.suffix.lower() in io.RASTER_EXTENSIONS:
            project.add_raster(path, path.stem, group="base")
            project.layers.move(0, len(project.layers) - 1)  # keep the order given
            continue
        gdf = io.read_vector(path)
        for warning in gdf.attrs["riskmap"].get("warnings", []):
            print(f"riskmap: {tr('警告', 'warning')}: {path}: {warning}", file=sys.stderr)
        group, style, aliases, _name = sample_style_for(gdf, i)
        layer = project.add_vector(gdf, path.stem, style=style, group=group, source=str(path))
        layer.aliases = aliases
    return project


def run(args) -> int:
    from riskmap.exports.html import export_html
    from riskmap.project import Project

    if args.sample and args.files:
        raise ParameterError(tr("--sample 与数据文件只能二选一", "give either --sample or data files, not both"))
    if args.project and args.files:
        raise ParameterError(tr("--project 与数据文件只能二选一", "give either --project or data files, not both"))
    if args.sample:
        from riskmap.exports.sample_project import build_sample_project

        project = build_sample_project(include_rasters=not args.no_rasters)
    elif args.project:
        project = Project.load(args.project)
    elif args.files:
        project = project_from_files(args.files)
    else:
        raise ParameterError(tr("没有可导出的内容：请给出 --sample、--project P 或数据文件",
                                "nothing to export: give --sample, --project P or data files"))
    if args.approval_number:
        project.approval_number = args.approval_number
    if args.qra_focus and not args.qra:
        raise ParameterError(tr("--qra-focus 须与 --qra QRA.gpkg（riskmap qra --out 的结果）同用",
                                "--qra-focus needs --qra QRA.gpkg (the result of riskmap qra --out)"))
    if args.qra:
        from riskmap.exports.qra_map import add_qra_layers

        add_qra_layers(project, args.qra, focus=args.qra_focus)
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(tr(f"输出须为 .html 文件，不能是“{out.name}”",
                                f"the output must be an .html file, not {out.name!r}"))
    from riskmap.io import check_output_not_input

    check_output_not_input(out, list(args.files) + ([args.project] if args.project else []) + project.input_files()
                           + ([args.qra] if args.qra else []))
    written = export_html(project, out, basemap=args.basemap, title=args.title, tianditu_token=args.tianditu_token,
                          heatmap=not args.no_heatmap, include_rasters=not args.no_rasters,
                          embed_font=not args.no_font, simplify_m=args.simplify,
                          offline_tiles=args.offline_tiles, offline_zooms=_zoom_range(args.offline_zooms),
                          include_personal=args.include_personal)
    size_mb = written.stat().st_size / 1e6
    shown = sum(1 for layer in project.layers.visible())
    print(f"wrote {written} ({size_mb:.1f} MB, {shown} layers, base map: {args.basemap})")
    return 0


def _zoom_range(text):
    """``"8-12"`` → ``range(8, 13)``, ``"10"`` → ``[10]``, ``None`` → ``None``."""
    if not text:
        return None
    try:
        lo, _, hi = str(text).partition("-")
        lo, hi = int(lo), int(hi or lo)
    except ValueError:
        raise ParameterError(tr(f"--offline-zooms 应形如 8-12，而不是 {text!r}",
                                f"--offline-zooms must look like 8-12, not {text!r}")) from None
    if not 0 <= lo <= hi <= 22:
        raise ParameterError(tr(f"--offline-zooms 须在 0 到 22 之间，而不是 {text!r}",
                                f"--offline-zooms must be between 0 and 22, not {text!r}"))
    return range(lo, hi + 1)
