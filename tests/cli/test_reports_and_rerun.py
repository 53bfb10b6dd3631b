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


def _digest_as_recorded_before_scheme_2(frame) -> str:
    """The scheme-1 digest as riskmap computed it before scheme 2 (values as text, WKB per geometry)."""
    import hashlib

    import pandas as pd
    import shapely

    digest = hashlib.sha256()
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    columns = [c for c in frame.columns if c != geometry]
    digest.update(repr(columns).encode())
    if len(frame):
        values = pd.DataFrame({c: frame[c].astype(str) for c in columns}, index=range(len(frame)))
        digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
        if geometry is not None:
            for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
                digest.update(wkb if wkb is not None else b"-")
    return digest.hexdigest()


def test_a_record_hashed_by_scheme_1_is_compared_by_scheme_1(tmp_path, capsys):
    """A result recorded before scheme 2 (no scheme key, text digests) still reruns as "the same"."""
    from riskmap import io
    from riskmap.analysis.result import layers_digest
    from riskmap.cli.analyses import execute

    analysis = ANALYSES["relocation"]
    paths = {spec.role: str(sample_path(spec.sample)) for spec in analysis.inputs if isinstance(spec.sample, str)}
    result = execute(analysis, paths, {}, analysis.params.build(), tmp_path / "first.gpkg")
    record = dict(result.provenance)
    assert record["results_digest_scheme"] == 2
    old = {name: _digest_as_recorded_before_scheme_2(frame) for name, frame in result.layers.items()}
    assert layers_digest(result.layers, scheme=1) == old  # scheme 1 is still the old computation
    assert record["results_sha256"] != old
    del record["results_digest_scheme"]
    record["results_sha256"] = old
    older = tmp_path / "older.gpkg"
    io.write_layers(older, result.layers, provenance=record)
    capsys.readouterr()
    assert main(["rerun", str(older), "--out", str(tmp_path / "again.gpkg")]) == 0
    assert "与记录的结果相同" in capsys.readouterr().out


def test_scheme_2_digests_see_one_changed_value_or_vertex():
    import numpy as np
    import shapely

    from riskmap.analysis.result import layers_digest

    frame = gpd.GeoDataFrame({"n": np.arange(5), "x": np.linspace(0, 1, 5), "s": list("abcde"),
                              "d": [{"a": 1}, {}, {}, {}, {}]},
                             geometry=shapely.buffer(shapely.points(np.arange(5.0), np.zeros(5)), 1.0), crs=4547)
    base = layers_digest({"t": frame})["t"]
    assert layers_digest({"t": frame.copy()})["t"] == base
    changes = [("x", 1, np.nextafter(frame["x"].iat[1], 2.0)), ("s", 4, "E"), ("n", 0, 7), ("d", 2, {"b": 2})]
    for column, row, value in changes:
        changed = frame.copy()
        changed[column] = changed[column].astype(object) if column == "d" else changed[column]
        changed.iat[row, changed.columns.get_loc(column)] = value
        assert layers_digest({"t": changed})["t"] != base, column
    moved = frame.copy()
    moved.iat[3, moved.columns.get_loc("geometry")] = shapely.transform(frame.geometry.iat[3], lambda xy: xy + 1e-9)
    assert layers_digest({"t": moved})["t"] != base
    assert layers_digest({"t": frame.astype({"n": float})})["t"] != base  # same numbers, another type
