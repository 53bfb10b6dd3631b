"""Issue 16: input fields ``Name``/``NAME``/``fid``/``COUNTY`` never collide with result fields.

Each analysis runs from the CLI on a sample layer with those extra columns (GeoJSON keeps them, a
GeoPackage could not); the result GeoPackage must be written, readable, free of fields equal
ignoring case, and the renamed fields must be listed on stderr and in the provenance notes.
"""
import geopandas as gpd
import pyogrio
import pytest

from riskmap import io
from riskmap.analysis.outfields import conflict_renames
from riskmap.cli import main
from riskmap.sample import sample_path

CASES = [("relocation", "--plants", "enterprises", "plants"), ("roads", "--roads", "roads", "hazard_segments"),
         ("pipelines", "--pipelines", "pipelines", "hca"), ("tailings", "--tailings", "tailings", "tailings")]


def colliding_copy(sample, path):
    gdf = io.read_vector(sample_path(sample))
    gdf["Name"] = [f"N{i}" for i in range(len(gdf))]
    gdf["NAME"] = [f"U{i}" for i in range(len(gdf))]
    gdf["fid"] = [1000 + 3 * i for i in range(len(gdf))]  # not a valid GeoPackage feature id sequence
    gdf["COUNTY"] = "输入县"
    gdf.to_file(path, driver="GeoJSON")
    return gdf


@pytest.mark.parametrize("analysis,flag,sample,layer", CASES)
def test_analysis_runs_with_colliding_input_fields(analysis, flag, sample, layer, tmp_path, capsys):
    src = tmp_path / f"{sample}.geojson"
    colliding_copy(sample, src)
    out = tmp_path / "out.gpkg"
    assert main([analysis, flag, str(src), "--sample", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    notes = io.read_provenance(out)["notes"]
    for name, *_ in pyogrio.list_layers(out):
        fields = [str(f) for f in pyogrio.read_info(out, layer=name)["fields"]]
        assert len({f.lower() for f in fields}) == len(fields), (name, fields)
        assert "fid" not in {f.lower() for f in fields}
    result = gpd.read_file(out, layer=layer)
    assert len(result)
    if "Name" in set(gpd.read_file(src).columns) and "src_Name" in result.columns:
        # the input's columns are carried: every one renamed, listed, values kept
        for old, new in (("Name", "src_Name"), ("NAME", "src2_NAME"), ("COUNTY", "src_COUNTY"), ("fid", "src_fid")):
            assert new in result.columns
            assert f"{old}→{new}" in err
            assert any(f"{old}→{new}" in n for n in notes)
        assert set(result["src_Name"]) <= {f"N{i}" for i in range(400)}
        assert "name" in result.columns and not result["name"].astype(str).str.match(r"^N\d+$").all()
    if analysis in ("relocation", "tailings"):
        assert "src_Name" in result.columns  # these two carry the input attributes


def test_conflict_renames_rules():
    cols = ["name", "Name", "NAME", "county", "COUNTY", "fid", "Geom", "x", "src_x", "SRC_Name", "geometry"]
    renames = conflict_renames(cols, declared={"name", "county"}, from_input={"Name", "NAME", "COUNTY", "fid", "Geom",
                                                                             "x", "src_x", "name", "SRC_Name"},
                               geometry="geometry")
    assert renames == {"Name": "src2_Name", "NAME": "src3_NAME", "COUNTY": "src_COUNTY", "fid": "src_fid",
                       "Geom": "src_Geom"}


def test_output_field_beats_input_field_whatever_the_order():
    # "Name" came from the input, "name" was made by the analysis (not declared, not in the input)
    assert conflict_renames(["Name", "name"], from_input={"Name"}) == {"Name": "src_Name"}
    assert conflict_renames(["NAME", "Name"], from_input={"NAME", "Name"}) == {"Name": "src_Name"}
    assert conflict_renames(["a", "b"], from_input={"a"}) == {}
