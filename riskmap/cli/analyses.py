"""The analysis sub-commands, generated from the declarations, and ``riskmap rerun``.

``riskmap relocation|roads|pipelines|tailings|qra|threat``: one option per declared input (``--plants``),
``--ROLE-layer`` for a file with several layers, ``--datum`` (old name ``--offset``) for GCJ-02/BD-09
coordinates of the first input, one option per declared parameter (help: label, unit, default, range, basis),
``--out`` (GeoPackage, with the provenance inside) and ``--report`` (Excel, Chinese headers,
来源说明 sheet). ``riskmap rerun REPORT.xlsx|RESULT.gpkg`` repeats a run from its provenance.
"""
from __future__ import annotations

import sys
from pathlib import Path

from riskmap.cli.common import add_sample_flag, report_written, require_geopackage
from riskmap.errors import DataFormatError, ParameterError
from riskmap.i18n import tr

#: Old option names kept working: {analysis: {alias: option}}.
REPORT_ALIASES = {"roads": ("--register",)}


def register(subparsers) -> None:
    from riskmap.analysis.registry import ANALYSES

    for analysis in ANALYSES.values():
        _register_one(subparsers, analysis)
    p = subparsers.add_parser(
        "rerun", help="repeat an analysis from the provenance of its report (.xlsx) or result (.gpkg)",
        description="Read the inputs (with their sha256) and every parameter recorded in a riskmap report or "
                    "result GeoPackage, check the inputs are unchanged, and run the analysis again.")
    p.add_argument("source", help="a riskmap Excel report (.xlsx) or result GeoPackage (.gpkg)")
    p.add_argument("--out", help="output GeoPackage (.gpkg)")
    p.add_argument("--report", help="Excel report (.xlsx)")
    p.add_argument("--allow-changed-inputs", action="store_true",
                   help="run even when an input file's sha256 differs from the recorded one")
    p.set_defaults(func=run_rerun)


def _register_one(subparsers, analysis) -> None:
    p = subparsers.add_parser(analysis.name, help=f"{analysis.zh} — {analysis.en}",
                              description=f"{analysis.zh} ({analysis.en}). Results: GeoPackage layers "
                                          f"{', '.join(n for n in analysis.tables if n in _layer_names(analysis))}; "
                                          "every parameter's basis is in --help and in the report's 来源说明 sheet.")
    for spec in analysis.inputs:
        help_text = tr(spec.help_zh or spec.label_zh, spec.help_en or spec.label_en)
        if spec.multiple:
            p.add_argument(spec.flag, dest=f"in_{spec.role}", action="append", metavar="FILE", help=help_text)
        else:
            p.add_argument(spec.flag, dest=f"in_{spec.role}", help=help_text)
            if spec.kind == "vector":
                p.add_argument(f"{spec.flag}-layer", dest=f"layer_{spec.role}",
                               help=f"layer name when the {spec.role} file holds several")
    p.add_argument("--datum", "--offset", dest="offset", choices=["wgs84", "gcj02", "bd09"],
                   help=f"the datum of the {analysis.inputs[0].role} coordinates: wgs84 (GPS, Tianditu, CGCS2000), "
                        "gcj02 (AMap/Tencent, shifted to WGS84) or bd09 (Baidu); a CSV/Excel table without it "
                        "is read as its headers say, else as WGS84 with a warning")
    p.add_argument("--out", required=True, help="output GeoPackage (.gpkg)")
    p.add_argument("--report", *REPORT_ALIASES.get(analysis.name, ()), dest="report",
                   help="also write an Excel report (.xlsx): Chinese headers with units, 来源说明 sheet")
    add_sample_flag(p)
    analysis.params.add_arguments(p, tr("参数", "parameters"))
    p.set_defaults(func=lambda args, a=analysis: run_analysis_command(a, args))


def _layer_names(analysis) -> set:
    return {"plants", "zones", "dense_areas", "hazard_segments", "hca", "corridors", "encroachments", "tailings",
            "paths", "facilities", "qra_plants", "contours", "targets", "threat_zones",
            "threat_source", "township_risk", "grid_risk", "risk_items"} & set(analysis.tables)


def load_inputs(analysis, paths: dict, options: dict) -> dict:
    """Read ``{role: path or [paths]}`` as the analysis expects (vector layers read, rasters checked)."""
    from riskmap import io

    inputs = {}
    for spec in analysis.inputs:
        value = paths.get(spec.role)
        if value is None:
            inputs[spec.role] = None
            continue
        opts = options.get(spec.role) or {}
        if spec.multiple:
            inputs[spec.role] = [io.read_vector(Path(v)) for v in value]
        elif spec.kind == "vector":
            inputs[spec.role] = io.read_vector(Path(value), opts.get("layer"), offset=opts.get("offset"))
        else:
            io.open_raster(value).close()  # fail early, with the file's name, on a bad raster
            inputs[spec.role] = Path(value)
    return inputs


def _given_paths(analysis, args) -> tuple[dict, dict]:
    from riskmap.sample import sample_path

    paths, options = {}, {}
    for i, spec in enumerate(analysis.inputs):
        given = getattr(args, f"in_{spec.role}", None)
        if not given and args.sample and spec.sample:
            samples = spec.sample if isinstance(spec.sample, tuple) else (spec.sample,)
            given = [str(sample_path(s)) for s in samples] if spec.multiple else str(sample_path(samples[0]))
        if not given:
            if spec.required:
                raise ParameterError(tr(f"须给出 {spec.flag}（或用 --sample 使用示例数据）",
                                        f"{spec.flag} is required (or use --sample for the demo data)"))
            continue
        paths[spec.role] = given
        options[spec.role] = {"layer": getattr(args, f"layer_{spec.role}", None),
                              "offset": args.offset if i == 0 else None}
    return paths, options


def _progress(frac, msg):
    if sys.stderr.isatty():
        print(f"\r{frac * 100:5.1f}% {str(msg)[:60]:<60}", end="", file=sys.stderr, flush=True)


def _check_outputs(out, report, paths: dict) -> None:
    """Refuse an output that names one of the inputs (it would be overwritten)."""
    from riskmap.io import check_output_not_input

    inputs = [v for value in paths.values() for v in (value if isinstance(value, list) else [value])]
    for target in (out, report):
        check_output_not_input(target, inputs)


def execute(analysis, paths: dict, options: dict, params, out=None, report=None):
    """Read the inputs, run, write the GeoPackage and the report; returns the AnalysisResult."""
    from riskmap import io
    from riskmap.analysis.result import run_analysis
    from riskmap.exports.report import write_report

    if out:
        require_geopackage(out)
    if report and Path(report).suffix.lower() != ".xlsx":
        raise ParameterError(tr(f"--report 须为 Excel 文件（.xlsx），不是 {str(report)!r}",
                                f"--report must be an Excel file (.xlsx), not {str(report)!r}"))
    _check_outputs(out, report, paths)
    inputs = load_inputs(analysis, paths, options)
    result = run_analysis(analysis, inputs, params, progress=_progress, options=options)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    for warning in result.provenance.get("warnings") or []:
        print(f"riskmap: {tr('警告', 'warning')}: {warning}", file=sys.stderr)
    _warn_renamed(result)
    if out:
        io.write_layers(out, result.layers, provenance=result.provenance)
        report_written(out)
    if report:
        write_report(result, report, analysis)
        report_written(report)
    return result


def _warn_renamed(result) -> None:
    """Say on stderr which input fields were renamed so that no result field collides with them."""
    from riskmap.analysis.outfields import rename_notes

    for line in rename_notes(result.extras.get("renamed_fields") or {}):
        print(tr(f"警告：{line}", f"warning: {line}"), file=sys.stderr)


def run_analysis_command(analysis, args) -> int:
    """Run one declared analysis from parsed CLI arguments."""
    paths, options = _given_paths(analysis, args)
    params = analysis.params.build(**analysis.params.from_args(args))
    result = execute(analysis, paths, options, params, args.out, args.report)
    _print_result(analysis, result, args.out)
    return 0


def _print_result(analysis, result, out) -> None:
    print(result.summary)
    if analysis.name == "relocation":
        plants = result.layers["plants"]
        flagged = plants.loc[plants["relocate"]].sort_values("priority")
        for rank, name, reasons in zip(flagged["priority"].head(20), flagged["name"], flagged["reasons"]):
            print(f"  {int(rank):>3}. {name} — {reasons}")
        if len(flagged) > 20:
            print(tr(f"  … 另有 {len(flagged) - 20} 家，见 {out}", f"  … {len(flagged) - 20} more in {out}"))
        review = plants.loc[plants["review"] & ~plants["relocate"]]
        if len(review):
            print(tr(f"需复核外部安全防护距离 {len(review)} 家：", f"{len(review)} distances to review:"))
            for name, reasons in zip(review["name"].head(20), review["reasons"]):
                print(f"  - {name} — {reasons}")
    if analysis.name == "roads":
        for note in (result.provenance.get("notes") or [])[:10]:
            if not str(note).startswith(("segments found", "识别隐患路段")):  # the summary line says it already
                print(tr(f"说明：{note}", f"note: {note}"))


# ---------------------------------------------------------------------------
# rerun
# ---------------------------------------------------------------------------
def read_recorded_provenance(source) -> dict:
    """The provenance recorded in a riskmap report (.xlsx) or result GeoPackage (.gpkg)."""
    from riskmap import io
    from riskmap.exports.report import read_report_provenance

    source = Path(source)
    if not source.is_file():
        raise DataFormatError(tr("文件不存在，请检查路径", "file not found; check the path"), source)
    suffix = source.suffix.lower()
    if suffix == ".xlsx":
        try:
            record = read_report_provenance(source)
        except (OSError, ValueError, KeyError) as exc:
            raise DataFormatError(tr(f"不是可读取的 Excel 报告（{type(exc).__name__}）",
                                     f"not a readable Excel report ({type(exc).__name__})"), source) from None
    elif suffix == ".gpkg":
        record = io.read_provenance(source)
    else:
        raise DataFormatError(tr("请给出 riskmap 报告（.xlsx）或结果（.gpkg）", "give a riskmap report (.xlsx) or "
                                 "result GeoPackage (.gpkg)"), source)
    if not record or "analysis" not in record:
        raise DataFormatError(tr("该文件没有 riskmap 来源记录，无法重算", "the file holds no riskmap provenance to "
                                 "re-run from"), source)
    return record


def recorded_run(record: dict, allow_changed: bool = False):
    """``(analysis, paths, options, params)`` of a recorded run; inputs are checked against their sha256."""
    from riskmap.analysis.registry import analysis as find
    from riskmap.analysis.result import file_sha256

    analysis = find(record["analysis"])
    paths, options = {}, {}
    for role, rec in (record.get("inputs") or {}).items():
        if not isinstance(rec, dict):
            continue
        items = rec.get("items")
        entries = items if items is not None else ([rec] if rec.get("path") else [])
        for entry in entries:
            path = entry.get("path")
            if not path or not Path(path).exists():
                raise DataFormatError(tr(f"记录的输入“{role}”已不存在", f"the recorded input '{role}' is gone"),
                                      path or role)
            if entry.get("sha256") and file_sha256(path) != entry["sha256"] and not allow_changed:
                raise DataFormatError(tr(f"输入“{role}”自上次运行后已改变（sha256 不同）；"
                                         "如确需用新数据重算，加 --allow-changed-inputs",
                                         f"input '{role}' changed since the recorded run (sha256 differs); "
                                         "add --allow-changed-inputs to run on the new data"), path)
        if items is not None:
            paths[role] = [e["path"] for e in entries]
        elif entries:
            paths[role] = entries[0]["path"]
        if entries:
            options[role] = dict(rec.get("options") or {})
    values = analysis.params.values_from_record(record.get("parameters") or {})
    return analysis, paths, options, analysis.params.build(**values)


def run_rerun(args) -> int:
    record = read_recorded_provenance(args.source)
    analysis, paths, options, params = recorded_run(record, args.allow_changed_inputs)
    result = execute(analysis, paths, options, params, args.out, args.report)
    print(result.summary)
    recorded = record.get("results_sha256")
    if recorded:
        from riskmap.analysis.result import DIGEST_SCHEME, layers_digest

        scheme = int(record.get("results_digest_scheme") or 1)  # records before scheme 2 say none
        now = result.provenance["results_sha256"] if scheme == DIGEST_SCHEME else \
            layers_digest(result.layers, scheme=scheme)
        differ = [name for name in sorted(set(recorded) | set(now)) if recorded.get(name) != now.get(name)]
        if not differ:
            print(tr(f"与记录的结果相同（{len(now)} 个结果图层逐项一致）",
                     f"same result as recorded ({len(now)} result layers identical)"))
        else:
            print(tr(f"与记录的结果不同：{'、'.join(differ)}", f"differs from the recorded result: {', '.join(differ)}"))
    else:
        print(tr("记录中没有结果校验值，无法比较", "the record holds no result checksums to compare with"))
    return 0
