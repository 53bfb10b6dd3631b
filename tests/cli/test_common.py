import pytest

from riskmap.cli import main


@pytest.mark.parametrize("command", ["relocation", "roads", "pipelines", "tailings"])
def test_analysis_output_must_be_a_geopackage(command, tmp_path, capsys):
    assert main([command, "--sample", "--out", str(tmp_path / "result.shp")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out 须为 GeoPackage（.gpkg）" in err[0] and "result.shp" in err[0]
    assert not any(tmp_path.iterdir())
