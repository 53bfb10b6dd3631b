"""Checks shared by the CLI and window report tests: Chinese headers, the one provenance sheet, input hashes
computed here independently of riskmap."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import openpyxl

PROVENANCE_HEADER = ["类别", "项目", "内容", "单位", "依据"]
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Headers that are symbols in Chinese reports too (GB 18218 notation).
SYMBOLS = {"S(Σq/Q)", "R", "α"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def sha256_of(path: Path) -> str:
    """The hash riskmap records for an input: the bytes, a shapefile's parts in a fixed order tagged by suffix."""
    digest = hashlib.sha256()
    if path.suffix == ".shp":
        for ext in SHAPEFILE_PARTS:
            part = path.with_suffix(ext)
            if part.exists():
                digest.update(ext.encode())
                digest.update(part.read_bytes())
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _rows(sheet):
    return [[c.value for c in r] for r in sheet.iter_rows()]


def check_report(xlsx: Path, analysis, expect_inputs: dict) -> None:
    """Chinese headers on every visible sheet; the provenance sheet's shape; input rows with their sha256."""
    wb = openpyxl.load_workbook(xlsx)
    visible = [s for s in wb.worksheets if s.sheet_state == "visible"]
    assert visible[-1].title == "来源说明"
    declared = {t.zh: t for t in analysis.tables.values()}
    for sheet in visible[:-1]:
        assert sheet.title in declared, f"{xlsx.name}: sheet {sheet.title!r} is not a declared table"
        header = [c.value for c in sheet[1]]
        assert header, sheet.title
        for text in header:
            assert CJK.search(str(text)) or text in SYMBOLS, f"{xlsx.name}/{sheet.title}: header {text!r}"
    rows = _rows(wb["来源说明"])
    assert rows[0] == PROVENANCE_HEADER
    assert ["分析", analysis.name, analysis.zh, None, None] in rows
    for role, path in expect_inputs.items():
        assert ["输入", f"{role} sha256", sha256_of(path), None, None] in rows, (xlsx.name, role)
    params = [r for r in rows if r[0] == "参数"]
    assert {r[1].split(" (")[-1].rstrip(")") for r in params} == {p.name for p in analysis.params}
    assert all(r[4] for r in params), "every parameter has its basis"
    assert any(r[0] == "标准" for r in rows) or analysis.name == "roads"


ASCII_WORDS = re.compile(r"^[\x00-\x7f]*[A-Za-z][\x00-\x7f]*$")


def english_cells(xlsx: Path, allowed: dict | None = None) -> list:
    """Cells of a report that are ASCII-only text with letters (English leaking into a Chinese report).

    Checked: every header, every 说明/标准 row of 来源说明, and every text value of the result sheets.
    ``allowed`` maps a header to a regular expression its values may match (e.g. criterion letters).
    """
    allowed = {k: re.compile(v) for k, v in (allowed or {}).items()}
    wb = openpyxl.load_workbook(xlsx)
    bad = []
    for sheet in (s for s in wb.worksheets if s.sheet_state == "visible"):
        rows = _rows(sheet)
        header = rows[0]
        bad += [(sheet.title, "header", h) for h in header if isinstance(h, str) and ASCII_WORDS.match(h)]
        if sheet.title == "来源说明":
            bad += [(sheet.title, r[0], r[2]) for r in rows[1:] if r[0] in ("说明", "标准")
                    and isinstance(r[2], str) and ASCII_WORDS.match(r[2])]
            continue
        for r in rows[1:]:
            for h, v in zip(header, r):
                if isinstance(v, str) and ASCII_WORDS.match(v) and not (h in allowed and allowed[h].match(v)):
                    bad.append((sheet.title, h, v))
    return bad
