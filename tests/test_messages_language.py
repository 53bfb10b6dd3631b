"""Errors a user sees are in the UI language (Chinese by default, English after ``set_language("en")``).

Two parts: a few translated errors checked in both languages, and an AST guard that fails when a
file of :data:`GUARDED_FILES` raises a :class:`~riskmap.errors.RiskmapError` subclass with a plain
string or f-string message that is not wrapped in ``tr("中文", "English")``.
"""
from __future__ import annotations

import ast
import re
import inspect
from pathlib import Path

import pytest

import riskmap
from riskmap import errors as riskmap_errors
from riskmap.errors import CRSError, ParameterError, ProjectError
from riskmap.i18n import set_language

ROOT = Path(riskmap.__file__).resolve().parent.parent

#: Files left out of the guard for now, each with the reason; remove a file from here once its messages
#: are translated.
NOT_YET_GUARDED = ()  # every module is guarded; list one here only while its messages are being reworked

#: Files whose RiskmapError messages must be wrapped in ``tr(…)``: every module of ``riskmap/``, found in
#: the tree (so a new module is guarded from its first commit), except :data:`NOT_YET_GUARDED`.
GUARDED_FILES = tuple(rel for rel in sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "riskmap").rglob("*.py"))
                      if rel not in NOT_YET_GUARDED)


@pytest.fixture
def zh():
    """Chinese for the test, and Chinese again afterwards whatever the test switched to."""
    set_language("zh")
    yield
    set_language("zh")


def both_languages(make_error):
    """``(zh_text, en_text)`` of the error ``make_error()`` raises in each language."""
    texts = []
    for code in ("zh", "en"):
        set_language(code)
        try:
            make_error()
        except riskmap_errors.RiskmapError as exc:
            texts.append(str(exc))
        else:
            pytest.fail("no error raised")
    return tuple(texts)


# --- translated errors in both languages ---------------------------------------------------------
def test_project_file_not_found(zh, tmp_path):
    from riskmap.project import Project

    missing = tmp_path / "不存在.rmp"
    with pytest.raises(ProjectError):
        Project.load(missing)
    text_zh, text_en = both_languages(lambda: Project.load(missing))
    assert text_zh == f"{missing}: 工程文件不存在，请检查路径"
    assert text_en == f"{missing}: project file not found; check the path"


def test_not_a_project_file(zh, tmp_path):
    from riskmap.project import Project

    junk = tmp_path / "junk.rmp"
    junk.write_bytes(b"not a geopackage at all" * 10)
    text_zh, text_en = both_languages(lambda: Project.load(junk))
    assert text_zh.startswith(f"{junk}: 不是 riskmap 工程文件")
    assert text_en.startswith(f"{junk}: not a riskmap project")


def test_unknown_crs(zh):
    from riskmap.crs import parse_crs

    with pytest.raises(CRSError):
        parse_crs("EPSG:999999")
    text_zh, text_en = both_languages(lambda: parse_crs("EPSG:999999"))
    assert text_zh == "无法识别坐标系“EPSG:999999”，请使用如 EPSG:4490 的写法"
    assert text_en == "unknown coordinate reference system 'EPSG:999999'; use e.g. EPSG:4490"


def test_register_saved_by_a_newer_riskmap(zh):
    from riskmap.analysis.register import HazardRegister

    data = {"format": "riskmap-road-register", "version": 99}
    text_zh, text_en = both_languages(lambda: HazardRegister.from_dict(data))
    assert text_zh == "道路隐患登记由更新版本的 riskmap 保存，请升级 riskmap 后再打开"
    assert text_en == "the road register was saved by a newer riskmap; update riskmap to open it"


def test_km_post_is_one_language_at_a_time(zh):
    from riskmap.analysis.linear import parse_km_post

    text_zh, text_en = both_languages(lambda: parse_km_post("K12+3x"))
    assert text_zh == "“K12+3x”不是桩号，请写成K12+300或米数"
    assert text_en == "'K12+3x' is not a km-post; write it like K12+300 or as metres"


def test_print_extent_and_layer_opacity(zh):
    from riskmap.cli.printmap import parse_extent
    from riskmap.layers.base import Layer

    assert both_languages(lambda: parse_extent("1,2,3")) == (
        "--extent 须为四个数 x0,y0,x1,y1，实为 3 个", "--extent needs four numbers x0,y0,x1,y1, got 3")
    layer = Layer.__new__(Layer)
    with pytest.raises(ParameterError):
        layer.opacity = 2
    assert both_languages(lambda: setattr(layer, "opacity", 2)) == (
        "不透明度须在 0 到 1 之间，不能是 2.0", "opacity must be between 0 and 1, not 2.0")


def test_data_file_not_found_and_no_features(zh, tmp_path):
    from riskmap import io

    missing = tmp_path / "企业.shp"
    with pytest.raises(riskmap_errors.DataFormatError):
        io.read_vector(missing)
    assert both_languages(lambda: io.read_vector(missing)) == (
        f"{missing}: 文件不存在，请检查路径", f"{missing}: file not found; check the path")
    empty = tmp_path / "空.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    assert both_languages(lambda: io.read_vector(empty)) == (
        f"{empty}: 图层没有要素，请选择有数据的文件", f"{empty}: the layer has no features; choose a file with data")


def test_truncated_dbf_and_csv_rows_without_coordinates(zh, tmp_path):
    from riskmap import io

    dbf = tmp_path / "企业.dbf"
    dbf.write_bytes(b"\x03\x7a\x01\x01")  # cut inside the 32-byte header
    assert both_languages(lambda: io.dbf_language_codec(dbf)) == (
        f"{dbf}: .dbf 文件已截断，请从原始数据恢复", f"{dbf}: the .dbf file is truncated; restore it from the original data")
    csv = tmp_path / "名单.csv"
    csv.write_text("name,lon,lat\n甲,114.1,32.1\n乙,,32.2\n丙,abc,32.3\n", encoding="utf-8")
    assert both_languages(lambda: io.read_vector(csv)) == (
        f"{csv}: 2 行坐标缺失或无效（第 3、4 行），请改正或跳过这些行",
        f"{csv}: 2 row(s) have missing or invalid coordinates (lines 3, 4); fix them or skip bad rows")


def test_cli_size_and_output_errors(zh):
    from riskmap.cli.common import require_geopackage
    from riskmap.cli.gui import _parse_size

    assert both_languages(lambda: _parse_size("big")) == (
        "--size 须写成 1500x950 的形式，不能是“big”", "--size must look like 1500x950, not 'big'")
    assert both_languages(lambda: require_geopackage("结果.shp")) == (
        "--out 须为 GeoPackage（.gpkg）：结果有多个图层，不能是“结果.shp”",
        "--out must be a GeoPackage (.gpkg): the result has several layers, not '结果.shp'")


def test_default_is_chinese_and_english_is_restored_to_chinese(zh):
    from riskmap.search import to_wgs84

    with pytest.raises(ParameterError, match="未知的坐标系“utm”"):
        to_wgs84(114.0, 32.0, "utm")
    set_language("en")
    with pytest.raises(ParameterError, match="unknown coordinate system 'utm'; use wgs84, gcj02 or bd09"):
        to_wgs84(114.0, 32.0, "utm")


def test_relocation_errors(zh):
    import geopandas as gpd
    from shapely.geometry import Point

    from riskmap.analysis.relocation import normalise_plants, normalise_sensitive

    no_crs = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[Point(114.1, 32.1)])
    with pytest.raises(CRSError):
        normalise_plants(no_crs)
    assert both_languages(lambda: normalise_plants(no_crs)) == (
        "企业图层没有坐标系，请先指定（如 EPSG:4490）",
        "the plants layer has no coordinate reference system; set one (e.g. EPSG:4490)")
    assert both_languages(lambda: normalise_sensitive(no_crs)) == (
        "敏感目标图层没有坐标系，请先指定", "the sensitive-targets layer has no coordinate reference system; set one")


def test_zonal_errors(zh):
    import geopandas as gpd
    import numpy as np
    from affine import Affine
    from shapely.geometry import Point

    from riskmap.analysis.zonal import as_grid, zone_sums

    cube = np.zeros((2, 3, 3))
    with pytest.raises(ParameterError):
        as_grid(cube, transform=Affine(100, 0, 0, 0, -100, 300), crs="EPSG:4547")
    assert both_languages(lambda: as_grid(cube, transform=Affine(100, 0, 0, 0, -100, 300), crs="EPSG:4547")) == (
        "内存中的栅格须为二维，不能是 3 维", "an in-memory raster must be 2-D, not 3-D")
    grid = as_grid(np.ones((3, 3)), transform=Affine(100, 0, 0, 0, -100, 300), crs="EPSG:4547")
    centres = gpd.GeoSeries([Point(150, 150)])
    assert both_languages(lambda: zone_sums(grid, centres, 50.0)) == (
        "统计区中心点没有坐标系，请先指定再汇总",
        "zone centres have no coordinate reference system; set one before summing")


# --- the guard ------------------------------------------------------------------------------------
def riskmap_error_names(trees=()) -> set[str]:
    """Names of RiskmapError and its subclasses: those of riskmap.errors and those the ``trees`` define."""
    names = {name for name, obj in inspect.getmembers(riskmap_errors, inspect.isclass)
             if issubclass(obj, riskmap_errors.RiskmapError)}
    classes = [node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    grown = True
    while grown:
        grown = False
        for node in classes:
            if node.name not in names and any(_callee_name(base) in names for base in node.bases):
                names.add(node.name)
                grown = True
    return names


def _callee_name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_tr(node) -> bool:
    return isinstance(node, ast.Call) and _callee_name(node.func) == "tr"


def _has_text(node) -> bool:
    """A message built from string literals without ``tr``: "…", f"…", "…" + x, "…" % x, "…".format(x)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(node.value.strip())
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _has_text(node.left) or _has_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not _is_tr(node):
        return _has_text(node.func.value)
    return False


def _message_arg(call: ast.Call):
    if call.args:
        return call.args[0]
    return next((kw.value for kw in call.keywords if kw.arg == "message"), None)


def _assigned_texts(scope, name: str):
    """Values assigned to ``name`` in ``scope`` (a message built in a variable first)."""
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            yield node.value
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name) \
                and node.target.id == name and node.value is not None:
            yield node.value


def untranslated_raises(source: str, filename: str = "<source>", error_names=None) -> list[str]:
    """``file:line: code`` of each ``raise <RiskmapError subclass>(message…)`` whose message is not ``tr(…)``."""
    tree = ast.parse(source, filename=filename)
    names = error_names if error_names is not None else riskmap_error_names([tree])
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                and _callee_name(node.exc.func) in names):
            continue
        message = _message_arg(node.exc)
        if message is None or _is_tr(message):
            continue
        bad = _has_text(message)
        if isinstance(message, ast.Name):
            scope = node
            while scope in parents and not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                scope = parents[scope]
            bad = any(_has_text(value) for value in _assigned_texts(scope, message.id))
        if bad:
            code = ast.get_source_segment(source, node) or ""
            found.append(f"{filename}:{node.lineno}: {' '.join(code.split())[:160]}")
    return found


def test_guarded_files_exist():
    assert len(GUARDED_FILES) > 100 and "riskmap/analysis/relocation.py" in GUARDED_FILES
    missing = [f for f in NOT_YET_GUARDED if not (ROOT / f).is_file()]
    assert not missing, f"NOT_YET_GUARDED names files that are not there: {missing}"


def test_riskmap_errors_in_guarded_files_are_translated():
    trees, sources = [], {}
    for rel in GUARDED_FILES:
        sources[rel] = (ROOT / rel).read_text(encoding="utf-8")
        trees.append(ast.parse(sources[rel], filename=rel))
    names = riskmap_error_names(trees)
    found = [hit for rel, src in sources.items() for hit in untranslated_raises(src, rel, names)]
    assert not found, ("these errors reach the user in English only; write the message as "
                       "tr(\"中文\", \"English\"):\n" + "\n".join(found))


@pytest.mark.parametrize("code", [
    'raise ParameterError("file not found; check the path", path)',
    'raise ParameterError(f"layer {name!r} has no field")',
    'raise errors.CRSError("layer " + name + " has no CRS")',
    'raise ProjectError("cannot open {}".format(p)) from exc',
    'raise ParameterError(message="no such layer")',
    'msg = f"bad value {v}"\n    raise DataFormatError(msg, path)',
    'raise MyError("nothing")',
])
def test_guard_finds_an_untranslated_message(code):
    source = f"class MyError(ParameterError):\n    pass\n\ndef f():\n    {code}\n"
    assert len(untranslated_raises(source)) == 1


@pytest.mark.parametrize("code", [
    'raise ParameterError(tr("文件不存在，请检查路径", "file not found; check the path"), path)',
    'raise ParameterError(tr(f"图层“{n}”", f"layer {n!r}"))',
    'msg = tr("坏值", "bad value")\n    raise DataFormatError(msg, path)',
    'raise ValueError("programmer error: stays English")',
    'raise OSError("an OS error")',
    'raise ParameterError(str(exc)) from exc',
    'raise',
])
def test_guard_lets_translated_and_non_riskmap_errors_pass(code):
    source = f"def f():\n    {code}\n"
    assert untranslated_raises(source) == []


# --- provenance notes ------------------------------------------------------------------------------
def _is_notes(node) -> bool:
    """``notes`` or ``…["notes"]`` (a provenance record's list)."""
    if isinstance(node, ast.Name):
        return node.id == "notes"
    return (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and node.slice.value == "notes")


def _untranslated_note(node, assigned) -> bool:
    """Whether the note expression ``node`` holds a literal text outside ``tr(…)``.

    ``assigned(name)`` gives the values assigned to a variable, so that a variable holding a text built
    without ``tr`` is caught and one holding ``tr(…)`` (or a function's result) passes.
    """
    if _is_tr(node):
        return False
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return any(_untranslated_note(e, assigned) for e in node.elts)
    if isinstance(node, ast.Starred):
        return _untranslated_note(node.value, assigned)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        return _untranslated_note(node.elt, assigned)
    if isinstance(node, ast.IfExp):
        return _untranslated_note(node.body, assigned) or _untranslated_note(node.orelse, assigned)
    if isinstance(node, ast.BinOp):
        return _untranslated_note(node.left, assigned) or _untranslated_note(node.right, assigned)
    if isinstance(node, ast.Name):
        return node.id != "notes" and any(_untranslated_note(v, assigned) for v in assigned(node.id))
    return _has_text(node)


def untranslated_notes(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: code`` of each text added to a ``notes`` list (``notes.append/extend``, ``notes += …``,
    ``notes = [...]``, ``notes + [...]``, ``record["notes"].append``, ``notes=[...]``) that is not ``tr(…)``."""
    tree = ast.parse(source, filename=filename)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}

    def scope_of(node):
        while node in parents and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            node = parents[node]
        return node

    found = []
    for node in ast.walk(tree):
        values = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "extend", "insert") and _is_notes(node.func.value):
            values = node.args[-1:]
        elif isinstance(node, ast.AugAssign) and _is_notes(node.target):
            values = [node.value]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and any(_is_notes(t) for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            values = [node.value]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and _is_notes(node.left):
            values = [node.right]
        elif isinstance(node, ast.Call):
            values = [kw.value for kw in node.keywords if kw.arg == "notes"  # notes + [...] is a BinOp: seen there
                      and not (isinstance(kw.value, ast.BinOp) and _is_notes(kw.value.left))]
        scope = scope_of(node)
        if any(_untranslated_note(v, lambda name: list(_assigned_texts(scope, name))) for v in values):
            code = ast.get_source_segment(source, node) or ""
            found.append(f"{filename}:{node.lineno}: {' '.join(code.split())[:160]}")
    return found


def test_provenance_notes_in_guarded_files_are_translated():
    found = [hit for rel in GUARDED_FILES
             for hit in untranslated_notes((ROOT / rel).read_text(encoding="utf-8"), rel)]
    assert not found, ("these provenance notes are shown in one language whatever the UI language; write them as "
                       "tr(\"中文\", \"English\"):\n" + "\n".join(found))


@pytest.mark.parametrize("code", [
    'notes.append("未提供DEM")',
    'notes.append(f"{n}座尾矿库不在DEM范围内")',
    'notes.append("储量无法读取：" + "、".join(names))',
    'notes.append(tr("储量无法读取：", "unreadable: ") + "、".join(names))',
    'notes.append(f"{n} 家企业无坐标 (plants without a location)")',
    'notes.extend(["甲", tr("乙", "B")])',
    'notes += [f"共{n}座"]',
    'notes = ["威胁区按ALOHA方法"]',
    'record["notes"].append("保护范围核查")',
    'return provenance("x", {}, {}, notes=notes + ["均按现状全库容定等"])',
    'return provenance("x", {}, {}, notes=[tr("甲", "A"), "无自动识别记录"])',
    'text = f"第三十二条：{n}处"\n    notes.append(text)',
    'notes.append("甲" if n else tr("乙", "B"))',
])
def test_notes_guard_finds_an_untranslated_note(code):
    assert len(untranslated_notes(f"def f():\n    {code}\n")) == 1


@pytest.mark.parametrize("code", [
    'notes.append(tr("未提供DEM", "no DEM"))',
    'notes.append(tr(f"{n}座", f"{n} pond(s)"))',
    'notes.append(tr("储量无法读取：", "unreadable: ") + tr("、", ", ").join(names))',
    'notes += _notes(plants, params)',
    'notes = []',
    'notes = [n for n in dict.fromkeys([a.note, b.note]) if n]',
    'notes.extend(w for item in loaded for w in read_warnings(item))',
    'workflow = tr("整改流程", "workflow")\n    notes.append(workflow)',
    'return provenance("x", {}, {}, notes=notes + [tr("甲", "A")])',
    'notes.append(tr("甲", "A") if n else tr("乙", "B"))',
    'lines.append("not a note list")',
    'notes = np.full(3, "", dtype=object)',
])
def test_notes_guard_lets_translated_notes_pass(code):
    assert untranslated_notes(f"def f():\n    {code}\n") == []


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def test_relocation_notes_in_english(zh):
    """The relocation run on the sample data in English: no Chinese in its notes but the data they quote."""
    from riskmap import io
    from riskmap.analysis.relocation import assess_relocation
    from riskmap.sample import sample_path

    plants, sensitive = io.read_vector(sample_path("enterprises")), io.read_vector(sample_path("sensitive"))
    set_language("en")
    result = assess_relocation(plants, sample_path("population"), sensitive)
    notes = result.provenance["notes"]
    assert len(notes) >= 5 and any(n.startswith("industries assessed: ") for n in notes)
    assert any("GB 18218-2018 §4.3" in n for n in notes)
    out = result.plants
    data = {str(v) for col in ("name", "safe_dist_src", "county") for v in out[col]}
    data |= {part for col in ("chem_unknown", "chemicals") for v in out[col].astype(str)
             for part in re.split(r"[、;；]", v)}
    data |= {part.split(":")[0] for part in list(data)}
    data = sorted((d for d in data if d.strip()), key=len, reverse=True)
    chinese = []
    for note in notes:
        text = note
        for value in data:
            text = text.replace(value, "")
        if _CJK.search(text):
            chinese.append(note)
    assert not chinese, "\n".join(chinese)
    set_language("zh")
    notes_zh = assess_relocation(plants, sample_path("population"), sensitive).provenance["notes"]
    assert len(notes_zh) == len(notes) and any(n.startswith("评估行业：") for n in notes_zh)
