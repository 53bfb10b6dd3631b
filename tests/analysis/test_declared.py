"""Analyses declared once: defaults, validation, provenance, report and rerun follow the declaration."""
from __future__ import annotations

import hashlib
import shutil

import geopandas as gpd
import openpyxl
import pytest

from riskmap.analysis.declare import Param
from riskmap.analysis.gb32167 import HCAParameters
from riskmap.analysis.registry import ANALYSES, PIPELINES
from riskmap.cli import build_parser, main
from riskmap.errors import ParameterError
from riskmap.sample import sample_path


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command].format_help()


def test_a_changed_default_reaches_cli_help_parameters_and_provenance(monkeypatch):
    param = PIPELINES.params["window_m"]
    monkeypatch.setattr(param, "default", 1234.0)
    assert "1234" in _help("pipelines")
    assert HCAParameters().window_m == 1234.0
    record = PIPELINES.params.record(PIPELINES.params.build())
    assert record["window_m"]["value"] == 1234.0 and record["window_m"]["unit"] == "m"
    assert "GB 32167-2015" in record["window_m"]["basis"]


def test_every_parameter_is_declared_with_labels_and_a_valid_default():
    for analysis in ANALYSES.values():
        for p in analysis.params:
            assert p.label_zh and p.label_en and p.basis, (analysis.name, p.name)
            assert p.convert(p.default) == p.default or p.kind in ("data", "multi"), (analysis.name, p.name)


@pytest.mark.parametrize("value", [-1, 0.0, "abc", float("nan"), 1e9])
def test_a_bad_value_is_one_clear_line_naming_the_parameter(value):
    with pytest.raises(ParameterError) as err:
        PIPELINES.params.build(window_m=value)
    text = str(err.value)
    assert "\n" not in text and "滑动窗口长度" in text and "--window" in text


def test_choice_and_int_checks():
    p = Param("n", "int", 3, "数", "n", minimum=1, maximum=10)
    assert p.convert("4") == 4
    for bad in ("4.5", 0, 11, True):
        with pytest.raises(ParameterError):
            p.convert(bad)
    c = Param("g", "choice", "II", "等级", "grade", choices=("I", "II"))
    with pytest.raises(ParameterError, match="I、II"):
        c.convert("III")


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory):
    """The sample's tailings inputs in a folder of their own, so a test may change them."""
    d = tmp_path_factory.mktemp("inputs")
    for name in ("tailings", "sensitive"):
        src = sample_path(name)
        for part in src.parent.glob(src.stem + ".*"):
            shutil.copy(part, d / part.name)
    shutil.copy(sample_path("dem"), d / "dem.tif")
    shutil.copy(sample_path("population"), d / "population.tif")
    return d


def _tailings_argv(d, out, report):
    return ["tailings", "--tailings", str(d / "tailings.shp"), "--dem", str(d / "dem.tif"), "--population",
            str(d / "population.tif"), "--facilities", str(d / "sensitive.shp"), "--out", str(out),
            "--report", str(report), "--half-width", "300"]


def test_report_has_chinese_headers_units_and_input_hashes(sample_copy, tmp_path):
    out, report = tmp_path / "t.gpkg", tmp_path / "t.xlsx"
    assert main(_tailings_argv(sample_copy, out, report)) == 0
    wb = openpyxl.load_workbook(report)
    visible = [s.title for s in wb.worksheets if s.sheet_state == "visible"]
    assert visible == ["尾矿库", "下游设施", "来源说明"]
    header = [c.value for c in wb["尾矿库"][1]]
    assert "总库容（设计）(万m³)" in header and "全库容（现状）(万m³)" in header and "定等库容类型" in header \
        and "坝高(m)" in header and "头顶库" in header and "提等论证" in header
    rows = [[c.value for c in r] for r in wb["来源说明"].iter_rows(min_row=2)]
    shp = sample_copy / "tailings.shp"
    digest = hashlib.sha256()
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        part = shp.with_suffix(ext)
        if part.exists():
            digest.update(ext.encode())
            digest.update(part.read_bytes())
    assert ["输入", "tailings sha256", digest.hexdigest(), None, None] in rows
    assert ["参数", "走廊半宽 (half_width_m)", "300", "m", "riskmap default"] in rows


def test_rerun_reproduces_and_refuses_a_changed_input(sample_copy, tmp_path, capsys):
    out, report = tmp_path / "t.gpkg", tmp_path / "t.xlsx"
    assert main(_tailings_argv(sample_copy, out, report)) == 0
    for source in (report, out):
        again = tmp_path / f"again_{source.suffix[1:]}.gpkg"
        assert main(["rerun", str(source), "--out", str(again)]) == 0
        assert "与记录的结果相同" in capsys.readouterr().out
        for layer in ("tailings", "facilities"):
            a = gpd.read_file(out, layer=layer)
            b = gpd.read_file(again, layer=layer)
            assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
            assert a.geometry.equals(b.geometry)
    # a changed input is refused with one line, unless allowed
    dem = sample_copy / "dem.tif"
    original = dem.read_bytes()
    try:
        dem.write_bytes(original + b"\0")
        assert main(["rerun", str(report), "--out", str(tmp_path / "x.gpkg")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "sha256" in err[0] and "--allow-changed-inputs" in err[0]
    finally:
        dem.write_bytes(original)


def test_rerun_of_a_file_without_provenance_is_one_line(tmp_path, capsys):
    bare = tmp_path / "bare.xlsx"
    openpyxl.Workbook().save(bare)
    assert main(["rerun", str(bare)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_output_naming_an_input_is_refused(sample_copy, tmp_path, capsys):
    target = tmp_path / "in.gpkg"
    gpd.read_file(sample_copy / "tailings.shp").to_file(target, layer="ponds")
    assert main(["tailings", "--tailings", str(target), "--out", str(target)]) == 2
    assert "输出文件与输入文件相同" in capsys.readouterr().err
    assert gpd.read_file(target, layer="ponds").shape[0] > 0


PANELS = {"relocation": ("riskmap.ui.panels.relocation", "RelocationPanel"),
          "roads": ("riskmap.ui.panels.roads", "RoadHazardPanel"),
          "pipelines": ("riskmap.ui.panels.pipelines", "PipelinesPanel"),
          "tailings": ("riskmap.ui.panels.tailings", "TailingsPanel"),
          "threat": ("riskmap.ui.panels.threat", "ThreatPanel")}


def _changed_default(param):
    """A legal value other than the declared default."""
    if param.kind == "bool":
        return not param.default
    if param.kind == "choice":
        return next(c for c in param.choices if c != param.default)
    value = param.default + (param.step or 1) * 3
    if param.maximum is not None and value > param.maximum:
        value = param.default - (param.step or 1) * 3
    return int(value) if param.kind == "int" else float(value)


@pytest.mark.parametrize("name", sorted(PANELS))
def test_panels_take_their_initial_values_from_the_declaration(name, qtbot, monkeypatch):
    import importlib

    from riskmap.analysis.registry import ANALYSES
    from riskmap.project import Project
    from riskmap.ui.main_window import MainWindow

    declared = ANALYSES[name].params
    shown = [p for p in declared if p.form]
    assert shown, f"{name} shows no parameter in its panel"
    changed = {}
    for param in shown:
        changed[param.name] = _changed_default(param)
        monkeypatch.setattr(param, "default", changed[param.name])
    window = MainWindow(Project(), restore=False)
    qtbot.addWidget(window)
    module, cls = PANELS[name]
    panel = getattr(importlib.import_module(module), cls)(window.host)
    qtbot.addWidget(panel)
    assert set(panel.form.widgets) == {p.name for p in shown}, "every form parameter, and only those, in the form"
    params = panel.parameters()
    for pname, value in changed.items():
        assert panel.form.value(pname) == value, pname
        assert getattr(params, pname) == value, pname
