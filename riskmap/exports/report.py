"""One report writer for every analysis, used by the window and the CLI.

Every sheet has headers in the UI language with units (``长度(m)``) and value labels
(``是/否``, ``Ⅱ级``) from the analysis's declared :class:`~riskmap.analysis.declare.Table`;
the 来源说明 (provenance) sheet has the same shape for every analysis; a hidden sheet keeps
the provenance as JSON so that ``riskmap rerun REPORT.xlsx`` can repeat the run.
"""
from __future__ import annotations

import json
import math

import pandas as pd

from riskmap.i18n import language, tr

#: Name of the hidden sheet holding the provenance as JSON (for ``riskmap rerun``).
PROVENANCE_SHEET = "_riskmap"
#: Excel refuses cells longer than this; the JSON is split over rows.
CELL_LIMIT = 32000


def table_frame(frame, table, lang: str | None = None) -> pd.DataFrame:
    """``frame`` as a report table: declared columns in order, rounded, value labels, headers with units."""
    lang = lang or language()
    df = pd.DataFrame(frame.drop(columns=[c for c in ("geometry",) if c in frame.columns]))
    if table.sort:
        by = [f for f, _ in table.sort if f in df.columns]
        asc = [a for f, a in table.sort if f in df.columns]
        if by:
            df = df.sort_values(by, ascending=asc, na_position="last", kind="stable")
    out = {}
    for name, col in table.columns.items():
        if name not in df.columns:
            continue
        values = df[name]
        if col.values:
            pick = 1 if lang == "en" else 0
            values = values.map(lambda v, c=col, i=pick: c.values[v][i] if _hashable(v) and v in c.values else v)
        elif col.digits is not None and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            values = values.round(col.digits)
            if col.digits == 0:
                values = values.astype("Int64") if values.notna().all() else values
        values = values.astype(object).where(values.notna(), "")
        out[col.header(lang)] = values.to_numpy()
    return pd.DataFrame(out)


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def provenance_frame(record: dict, lang: str | None = None) -> pd.DataFrame:
    """The provenance record as one table of the same shape for every analysis.

    Columns: section, item, value, unit, basis (Chinese or English headers).
    """
    lang = lang or language()
    en = lang == "en"

    def t(zh, english):
        return english if en else zh

    rows = [(t("分析", "Analysis"), record.get("analysis", ""),
             record.get("title_en" if en else "title_zh", record.get("analysis", "")), "", ""),
            (t("软件", "Software"), t("版本", "version"), record.get("software", ""), "", ""),
            (t("软件", "Software"), "Python", record.get("python", ""), "", ""),
            (t("运行", "Run"), t("时间", "time"), record.get("time", ""), "", ""),
            (t("运行", "Run"), t("用户", "user"), record.get("user", ""), "", "")]
    summary = record.get("summary_en" if en else "summary_zh")
    if summary:
        rows.append((t("运行", "Run"), t("结果摘要", "summary"), summary, "", ""))
    for role, rec in (record.get("inputs") or {}).items():
        if isinstance(rec, dict):
            value = rec.get("path") or rec.get("description") or "—"
            rows.append((t("输入", "Input"), role, value, "", ""))
            if rec.get("sha256"):
                rows.append((t("输入", "Input"), f"{role} sha256", rec["sha256"], "", ""))
            for opt, v in (rec.get("options") or {}).items():
                rows.append((t("输入", "Input"), f"{role} {opt}", str(v), "", ""))
            for i, item in enumerate(rec.get("items") or []):
                rows.append((t("输入", "Input"), f"{role}[{i + 1}]", item.get("path") or item.get("description"),
                             "", item.get("sha256") or ""))
        else:
            rows.append((t("输入", "Input"), role, str(rec), "", ""))
    for name, entry in (record.get("parameters") or {}).items():
        if isinstance(entry, dict) and "value" in entry:
            label = entry.get("label_en" if en else "label_zh") or name
            rows.append((t("参数", "Parameter"), f"{label} ({name})", _text(entry["value"]), entry.get("unit", ""),
                         entry.get("basis", "")))
        else:
            rows.append((t("参数", "Parameter"), name, _text(entry), "", ""))
    for name, value in (record.get("derived") or {}).items():
        rows.append((t("计算值", "Derived"), name, _text(value), "", ""))
    for name, digest in (record.get("results_sha256") or {}).items():
        rows.append((t("结果", "Result"), f"{name} sha256", digest, "", ""))
    for s in record.get("standards") or []:
        rows.append((t("标准", "Standard"), "", s, "", ""))
    for n in record.get("notes") or []:
        rows.append((t("说明", "Note"), "", n, "", ""))
    headers = [t("类别", "Section"), t("项目", "Item"), t("内容", "Value"), t("单位", "Unit"), t("依据", "Basis")]
    return pd.DataFrame(rows, columns=headers)


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value)) if value else "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else "—"
    return str(value)


def provenance_sheet_name(lang: str | None = None) -> str:
    return "Provenance" if (lang or language()) == "en" else "来源说明"


def report_sheets(result, analysis, lang: str | None = None, extra: dict | None = None) -> dict:
    """``{sheet name: DataFrame}`` of an analysis report: its declared sheets, extra ones, provenance."""
    lang = lang or language()
    sheets = {}
    for name in getattr(analysis, "report_sheets", ()):
        frame = result.layers.get(name)
        if frame is None:
            frame = result.tables.get(name)
        if frame is None:
            continue
        table = analysis.tables[name]
        sheets[table.title(lang)] = table_frame(frame, table, lang)
    sheets.update(extra or {})
    sheets[provenance_sheet_name(lang)] = provenance_frame(result.provenance, lang)
    return sheets


def write_report(result, path, analysis=None, lang: str | None = None, extra: dict | None = None):
    """Write the Excel report of an :class:`~riskmap.analysis.result.AnalysisResult` atomically.

    Analyses with a chart (:data:`REPORT_CHARTS`: the QRA's F-N chart) get it as a native Excel chart.
    """
    from riskmap.analysis.registry import analysis as find

    analysis = analysis or find(result.analysis)
    chart = REPORT_CHARTS.get(analysis.name)
    finish = (lambda book: chart(book, result, analysis, lang or language())) if chart else None
    return write_workbook(path, report_sheets(result, analysis, lang, extra), result.provenance, finish=finish)


# ---------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------
#: Plant curves drawn in the F-N chart at most (those with the largest F·N; every point stays in the sheet).
FN_CHART_MAX_CURVES = 8


def _declared_value(record: dict, name: str, default=None):
    entry = (record.get("parameters") or {}).get(name, default)
    return entry.get("value", default) if isinstance(entry, dict) else entry


def fn_chart(book, result, analysis, lang: str):
    """A native scatter chart of the F-N curves (log–log) on the F-N sheet, with the GB 36894 lines.

    One series per plant (the :data:`FN_CHART_MAX_CURVES` with the largest F·N), each referencing its
    own rows of the sheet's N and F columns, and two criterion lines F = F·N/N (不可接受线, 可接受线;
    the values of the run's ``sr_upper``/``sr_lower``) whose two end points are written in three
    columns right of the table. Returns the chart (None without F-N points).
    """
    import math

    import numpy as np
    from openpyxl.chart import Reference, ScatterChart, Series
    from openpyxl.utils import get_column_letter

    table = analysis.tables.get("fn")
    frame = result.tables.get("fn")
    sheet_name = str(table.title(lang))[:31] if table is not None else None
    if frame is None or sheet_name not in book.sheetnames or not len(frame):
        return None
    ws = book[sheet_name]
    en = lang == "en"
    present = [f for f in table.columns if f in frame.columns]
    col = {f: present.index(f) + 1 for f in present}
    fn = frame.reset_index(drop=True)
    scope = fn["scope"].astype(str).to_numpy()
    names = fn["name"].astype(str).to_numpy()
    n = fn["N"].to_numpy(float)
    f = fn["F"].to_numpy(float)
    # contiguous runs of one curve (the table lists each curve's points together, N ascending)
    key = np.char.add(np.char.add(scope.astype(str), "\x1f"), names.astype(str))
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    curves = []
    for a, b in zip(starts, ends):
        ok = (n[a:b] > 0) & (f[a:b] > 0)
        if scope[a] != "企业" or not ok.any():
            continue
        first, last = a + int(np.argmax(ok)), a + len(ok) - 1 - int(np.argmax(ok[::-1]))
        curves.append((float(np.max(n[a:b][ok] * f[a:b][ok])), names[a], first, last))
    if not curves:
        return None
    curves.sort(key=lambda c: -c[0])
    curves = curves[:FN_CHART_MAX_CURVES]
    upper = float(_declared_value(result.provenance, "sr_upper", 1e-3))
    lower = float(_declared_value(result.provenance, "sr_lower", 1e-5))
    n_max = float(np.max(n[n > 0]))
    n_hi = 10.0 ** max(math.ceil(math.log10(max(n_max, 10.0)) - 1e-9), 1)
    # the criterion lines' end points, in three columns right of the table
    c0 = len(present) + 1
    heads = (("判定线N", "Criterion N"), ("不可接受线F(/a)", "Intolerable line F (/a)"),
             ("可接受线F(/a)", "Acceptable line F (/a)"))
    for j, (zh, english) in enumerate(heads):
        ws.cell(row=1, column=c0 + j, value=english if en else zh)
    for i, nn in enumerate((1.0, n_hi)):
        ws.cell(row=2 + i, column=c0, value=nn)
        ws.cell(row=2 + i, column=c0 + 1, value=upper / nn)
        ws.cell(row=2 + i, column=c0 + 2, value=lower / nn)
    for j in range(3):
        ws.column_dimensions[get_column_letter(c0 + j)].width = 18

    chart = ScatterChart()
    chart.title = "社会风险F-N曲线（GB 36894-2018）" if not en else "Societal risk F-N curves (GB 36894-2018)"
    chart.style = 13
    chart.scatterStyle = "lineMarker"
    chart.height, chart.width = 12, 20
    chart.x_axis.title = "死亡人数N（人）" if not en else "Number of deaths N"
    chart.y_axis.title = "累积频率F（≥N，/年）" if not en else "Frequency F of N or more (/yr)"
    f_pos = f[f > 0]
    f_lo = 10.0 ** math.floor(math.log10(min(float(f_pos.min()), lower / n_hi)) + 1e-9)
    f_hi = 10.0 ** (math.ceil(math.log10(max(float(f_pos.max()), upper)) - 1e-9) + 1)
    for axis, lo, hi in ((chart.x_axis, 1.0, n_hi), (chart.y_axis, f_lo, f_hi)):
        axis.scaling.logBase = 10
        axis.scaling.min, axis.scaling.max = lo, hi
        axis.delete = False  # openpyxl ≥ 3.1 hides axes unless told
        axis.crosses = "min"
    chart.x_axis.number_format = "0"
    chart.y_axis.number_format = "0.0E+00"
    n_col, f_col = col["N"], col["F"]
    for _fn_max, name, first, last in curves:
        xs = Reference(ws, min_col=n_col, min_row=first + 2, max_row=last + 2)
        ys = Reference(ws, min_col=f_col, min_row=first + 2, max_row=last + 2)
        series = Series(ys, xs, title=str(name)[:250])
        series.marker.symbol = "circle"
        series.marker.size = 3
        series.smooth = False
        chart.series.append(series)
    for j, colour in ((1, "D7191C"), (2, "1A9641")):
        xs = Reference(ws, min_col=c0, min_row=2, max_row=3)
        ys = Reference(ws, min_col=c0 + j, min_row=2, max_row=3)
        series = Series(ys, xs, title=(heads[j][1] if en else heads[j][0]).replace("(/a)", "").strip())
        series.marker.symbol = "none"
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = 28575  # 2.25 pt
        series.smooth = False
        chart.series.append(series)
    ws.add_chart(chart, f"{get_column_letter(c0 + 4)}2")
    return chart


#: ``{analysis name: chart(book, result, analysis, lang)}`` added to its report.
REPORT_CHARTS = {"qra": fn_chart}


def write_workbook(path, sheets: dict, record: dict | None, finish=None):
    """Write ``sheets`` (and, hidden, ``record`` as JSON) to an .xlsx atomically, with readable widths.

    ``finish(workbook)``, when given, runs on the openpyxl workbook before it is saved (charts).
    """
    from pathlib import Path

    from riskmap.errors import ParameterError
    from riskmap.io import atomic_path
    from riskmap.i18n import tr

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ParameterError(tr("报告须为 Excel 文件（.xlsx）", "the report must be an Excel file (.xlsx)"), path)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                sheet_name = str(name)[:31]
                frame.to_excel(writer, sheet_name=sheet_name, index=False)
                sheet = writer.sheets[sheet_name]
                sheet.freeze_panes = "A2"
                for col_cells in sheet.columns:
                    width = max((len(str(c.value)) if c.value is not None else 0) for c in col_cells[:200])
                    sheet.column_dimensions[col_cells[0].column_letter].width = min(max(8, width * 1.6 + 2), 60)
            if record is not None:
                text = json.dumps(record, ensure_ascii=False, default=str)
                chunks = [text[i:i + CELL_LIMIT] for i in range(0, len(text), CELL_LIMIT)] or [""]
                pd.DataFrame({"json": chunks}).to_excel(writer, sheet_name=PROVENANCE_SHEET, index=False)
                writer.sheets[PROVENANCE_SHEET].sheet_state = "hidden"
            if finish is not None:
                finish(writer.book)
    return path


def read_report_provenance(path) -> dict | None:
    """The provenance record kept in a report written by :func:`write_workbook` (None if it has none)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        if PROVENANCE_SHEET not in wb.sheetnames:
            return None
        rows = list(wb[PROVENANCE_SHEET].iter_rows(min_row=2, values_only=True))
    finally:
        wb.close()
    return json.loads("".join(str(r[0] or "") for r in rows))


def write_relocation_report(native, path, lang: str | None = None):
    """The relocation report of an :class:`~riskmap.analysis.relocation.RelocationResult` (the window's what-if
    result, whose provenance is the analysis's own record)."""
    from riskmap.analysis.registry import RELOCATION
    from riskmap.analysis.result import AnalysisResult, analysis_provenance

    layers, tables, zh, en, record = RELOCATION.wrap(native, None)
    if "title_zh" in record:  # already a declared-analysis record
        prov = record
    else:
        declared = RELOCATION.params.params
        params = RELOCATION.params.build(**{k: v for k, v in record["parameters"].items() if k in declared})
        prov = analysis_provenance(RELOCATION, record["inputs"], params, record)
        prov.update(summary_zh=zh, summary_en=en)
    return write_report(AnalysisResult("relocation", layers, tables, zh, en, prov, native), path, RELOCATION, lang)


def register_record(register) -> dict:
    """The provenance of a road hazard register: the detection run its candidates came from (inputs with hashes,
    parameters with their basis, standards), plus the register's own workflow."""
    from riskmap.analysis.provenance import provenance
    from riskmap.analysis.register import SEVERITIES, STATUSES

    workflow = tr("整改流程：排查 → 建档 → 整改中 → 已销号；风险等级：重大风险（红）、较大风险（橙）、一般风险（黄）、低风险（蓝）",
                  "remediation workflow: survey → filed → being remedied → closed; risk levels: major (red), "
                  "considerable (orange), general (yellow), low (blue)")
    counts = {"segments": len(register), "candidates": len(register.candidates)}
    detection = register.detection
    if detection:
        record = json.loads(json.dumps(detection, default=str))
        record.update(analysis="road_register", detection_analysis=detection.get("analysis"),
                      title_zh="道路隐患登记（自动识别：" + str(detection.get("title_zh", "")) + "）",
                      title_en="Road hazard register (detection: " + str(detection.get("title_en", "")) + ")")
        record["derived"] = {**(record.get("derived") or {}), **counts}
        record["notes"] = [*(record.get("notes") or []), workflow]
        return record
    record = provenance("road_register", {}, {}, notes=[workflow, tr("无自动识别记录（人工登记）",
                                                                    "no detection record (registered by hand)")])
    record.update(title_zh="道路隐患登记", title_en="Road hazard register",
                  derived={**counts, "statuses": STATUSES, "severities": SEVERITIES})
    return record


def write_register_excel(register, path, record: dict | None = None, lang: str | None = None):
    """Write a road hazard register (segments, per-county progress, change history 变更记录, provenance) to an
    .xlsx atomically."""
    from riskmap.analysis.register import history_excel_frame, register_excel_frame, summary_excel_frame

    record = record or register_record(register)
    en = (lang or language()) == "en"
    return write_workbook(path, {("Register" if en else "隐患路段登记"): register_excel_frame(register.to_gdf()),
                                 ("Progress by county" if en else "县区进度"):
                                     summary_excel_frame(register.progress_summary()),
                                 ("History" if en else "变更记录"): history_excel_frame(register, en),
                                 provenance_sheet_name(lang): provenance_frame(record, lang)}, record)


def write_register_gpkg(register, path, record: dict | None = None):
    """Write the register's segments (layer ``hazard_register``) and pending candidates to a GeoPackage."""
    from riskmap.io import write_layers

    layers = {"hazard_register": register.to_gdf()}
    if register.candidates:
        layers["hazard_candidates"] = register.to_gdf("candidates")
    return write_layers(path, layers, provenance=record or register_record(register))


__all__ = ["FN_CHART_MAX_CURVES", "PROVENANCE_SHEET", "REPORT_CHARTS", "fn_chart", "provenance_frame",
           "read_report_provenance", "register_record", "report_sheets", "table_frame", "write_register_excel",
           "write_register_gpkg", "write_relocation_report", "write_report", "write_workbook"]
