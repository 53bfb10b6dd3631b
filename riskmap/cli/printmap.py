"""``riskmap print``: render a map page (title, legend, scale bar, north arrow, footer) to PNG or PDF.

Headless (Qt's ``offscreen`` platform when there is no display), with the desktop
canvas' renderer and the print layout of :mod:`riskmap.ui.printing`, for scripted reports
such as a nightly map. Qt is imported only when the command runs.
"""
from __future__ import annotations

import time
from pathlib import Path

from riskmap.cli.common import add_sample_flag
from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: File suffixes read as rasters (everything else goes through the vector reader).
RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "print", help="render a map page with legend, scale bar and north arrow to PNG or PDF",
        description="Render a project (.rmp), data files, or the bundled Xinyang sample as a printed map page "
                    "(title, map, legend, scale bar, north arrow, footer with data sources, date, CRS and the "
                    "map approval number) without a window, and report the render time.")
    p.add_argument("inputs", nargs="*", metavar="PROJECT|FILE",
                   help="a project file (.rmp) or vector/raster data files (drawn in the order given)")
    add_sample_flag(p)
    p.add_argument("--out", required=True, metavar="MAP.png|MAP.pdf", help="output file (.png or .pdf)")
    p.add_argument("--paper", default="A4", type=str.upper, choices=("A4", "A3"), help="paper size (default A4)")
    p.add_argument("--orientation", default="landscape", type=str.lower, choices=("landscape", "portrait"),
                   help="page orientation (default landscape)")
    p.add_argument("--width", type=int, help="page width in pixels instead of a paper size")
    p.add_argument("--height", type=int, help="page height in pixels instead of a paper size")
    p.add_argument("--dpi", type=float, default=None,
                   help="resolution (default 150 for a paper size, 96 with --width/--height)")
    p.add_argument("--extent", metavar="X0,Y0,X1,Y1",
                   help="map extent in the map CRS (EPSG:4490 lon/lat), default the project view or all layers")
    p.add_argument("--title", help="map title (default the project's title)")
    p.add_argument("--approval", metavar="审图号", help="map approval number printed in the footer")
    p.add_argument("--qra", metavar="QRA.gpkg",
                   help="add the results of `riskmap qra --out QRA.gpkg` (individual-risk contours with their "
                        "legend, QRA plants, protection targets) on top; without --extent the page shows the contours")
    p.add_argument("--qra-focus", metavar="NAME",
                   help="with --qra: open on the contours of the plant whose name contains NAME")
    p.set_defaults(func=run_print)


def parse_extent(text: str | None):
    """``"x0,y0,x1,y1"`` → a tuple of floats, or ``None``; :class:`ParameterError` when malformed."""
    if not text:
        return None
    try:
        values = tuple(float(v) for v in text.replace("，", ",").split(","))
    except ValueError as exc:
        raise ParameterError(tr(f"--extent 须为四个数 x0,y0,x1,y1，不能是“{text}”",
                                f"--extent must be four numbers x0,y0,x1,y1, not {text!r}")) from exc
    if len(values) != 4:
        raise ParameterError(tr(f"--extent 须为四个数 x0,y0,x1,y1，实为 {len(values)} 个",
                                f"--extent needs four numbers x0,y0,x1,y1, got {len(values)}"))
    x0, y0, x1, y1 = values
    if not (x1 > x0 and y1 > y0):
        raise ParameterError(tr(f"--extent {text} 范围为空，须 x0 < x1 且 y0 < y1",
                                f"--extent {text} is empty; give x0 < x1 and y0 < y1"))
    return values


def load_inputs(inputs, sample: bool):
    """The project to print: a project file, the sample, and/or data files added on top."""
    from riskmap.project import PROJECT_EXTENSION, Project

    paths = [Path(p) for p in inputs or ()]
    if not paths and not sample:
        raise ParameterError(tr("没有可打印的内容：请给出工程文件（.rmp）、数据文件或 --sample",
                                "nothing to print: give a project (.rmp), data files, or --sample"))
    for path in paths:
        if not path.exists():
            raise ParameterError(tr("输入文件不存在，请检查路径", "input not found; check the path"), path)
    if paths and paths[0].suffix.lower() == PROJECT_EXTENSION:
        project = Project.load(paths[0])
        paths = paths[1:]
    elif sample:
        from riskmap.app import sample_project

        project = sample_project()
    else:
        project = Project()
    for i, path in enumerate(paths):
        _add_file(project, path, i)
    return project


def _add_file(project, path: Path, index: int) -> None:
    from riskmap import io

    if path.suffix.lower() in RASTER_SUFFIXES:
        project.add_raster(path, path.stem)  # RasterLayer records its own source
        return
    from riskmap.exports.sample_project import sample_style_for

    gdf = io.read_vector(path)
    group, style, aliases, name = sample_style_for(gdf, index)
    layer = project.add_vector(gdf, name or path.stem, style=style, group=group, source=str(path))
    layer.aliases = aliases


def run_print(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".pdf"):
        raise ParameterError(tr(f"--out 的扩展名须为 .png 或 .pdf，不能是“{out.name}”",
                                f"--out must end with .png or .pdf, not {out.name!r}"))
    extent = parse_extent(args.extent)
    free_size = args.width is not None or args.height is not None
    dpi = args.dpi if args.dpi is not None else (96.0 if free_size else 150.0)
    t0 = time.perf_counter()
    project = load_inputs(args.inputs, args.sample)
    if args.qra_focus and not args.qra:
        raise ParameterError(tr("--qra-focus 须与 --qra QRA.gpkg（riskmap qra --out 的结果）一起使用",
                                "--qra-focus needs --qra QRA.gpkg (the result of riskmap qra --out)"))
    if args.qra:
        from riskmap.exports.qra_map import add_qra_layers

        add_qra_layers(project, args.qra, zoom=extent is None, focus=args.qra_focus)
    from riskmap.io import check_output_not_input

    check_output_not_input(out, list(args.inputs or ()) + project.input_files() + ([args.qra] if args.qra else []))
    if args.approval is not None:
        project.approval_number = args.approval
    loaded = time.perf_counter()

    from riskmap.app import print_headless

    result = print_headless(project, out, paper=args.paper, orientation=args.orientation, dpi=dpi,
                            title=args.title, extent=extent, width=args.width, height=args.height)
    page = f"{args.paper} {args.orientation}" if not free_size else "free size"
    print(f"wrote {result.path} ({result.width_px}×{result.height_px} px, {page}, {result.dpi:g} dpi)")
    print(f"render time {result.seconds:.2f} s (data loaded in {loaded - t0:.2f} s)")
    return 0
