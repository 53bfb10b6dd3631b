"""Every analysis, run from the CLI on the sample: a report with Chinese headers and the one provenance sheet
(input hashes computed here, independently), and ``riskmap rerun`` reproducing the result exactly."""
from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from report_checks import check_report

from riskmap.analysis.registry import ANALYSES
from riskmap.cli import main
from riskmap.sample import sample_path

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each analysis run once on the sample: {name: (gpkg, xlsx)}."""
    d = tmp_path_factory.mktemp("runs")
    out = {}
    for name in ANALYSES:
        gpkg, xlsx = d / f"{name}.gpkg", d / f"{name}.xlsx"
        assert main([name, "--sample", "--out", str(gpkg), "--report", str(xlsx)]) == 0, name
        out[name] = (gpkg, xlsx)
    return out


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_cli_report_has_chinese_headers_and_the_provenance_sheet(runs, name):
    analysis = ANALYSES[name]
    samples = {spec.role: spec.sample for spec in analysis.inputs if isinstance(spec.sample, str)}
    check_report(runs[name][1], analysis, {role: sample_path(s) for role, s in samples.items()})


@pytest.mark.parametrize("name", sorted(ANALYSES))
@pytest.mark.parametrize("source", ["xlsx", "gpkg"])
def test_rerun_reproduces_each_analysis_exactly(runs, name, source, tmp_path, capsys):
    gpkg, xlsx = runs[name]
    again = tmp_path / "again.gpkg"
    capsys.readouterr()
    assert main(["rerun", str(xlsx if source == "xlsx" else gpkg), "--out", str(again)]) == 0
    assert "与记录的结果相同" in capsys.readouterr().out
    layers = [row[0] for row in pyogrio.list_layers(gpkg)]
    assert layers == [row[0] for row in pyogrio.list_layers(again)]
    for layer in layers:
        a, b = gpd.read_file(gpkg, layer=layer), gpd.read_file(again, layer=layer)
        assert list(a.columns) == list(b.columns), layer
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry")), (name, layer)
        assert a.geometry.equals(b.geometry), (name, layer)


def test_rerun_says_so_when_a_result_differs(runs, tmp_path, capsys):
    """The comparison is real: a recorded checksum that does not match is reported, naming the layer."""
    from riskmap import io

    gpkg, _ = runs["tailings"]
    record = io.read_provenance(gpkg)
    record["results_sha256"]["tailings"] = "0" * 64
    layers = {name: gpd.read_file(gpkg, layer=name) for name in record["results_sha256"]}
    tampered = tmp_path / "tampered.gpkg"
    io.write_layers(tampered, layers, provenance=record)
    capsys.readouterr()
    assert main(["rerun", str(tampered), "--out", str(tmp_path / "again.gpkg")]) == 0
    out = capsys.readouterr().out
    assert "与记录的结果不同：tailings" in out and "相同" not in out
