"""``riskmap export-html``."""
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely

from riskmap.cli import main
from riskmap.errors import DataFormatError
from riskmap.exports.html import read_page_data


@pytest.fixture
def data_files(tmp_path):
    plants = tmp_path / "plants.geojson"
    gpd.GeoDataFrame({"name": ["甲化工", "<i>乙</i>"], "industry": ["hazchem", "fireworks"]},
                     geometry=[shapely.Point(114.0, 32.0), shapely.Point(114.1, 32.1)], crs=4490).to_file(plants)
    roads = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame({"name": ["G312"], "road_class": ["national"]},
                     geometry=[shapely.LineString([(113.9, 32.0), (114.2, 32.05)])], crs=4490).to_file(roads)
    return roads, plants


def test_help_lists_export_html(capsys):
    with pytest.raises(SystemExit):
        main(["export-html", "--help"])
    out = capsys.readouterr().out
    assert "--basemap" in out and "--sample" in out and "--project" in out


def test_exports_files_with_sample_styles(data_files, tmp_path, capsys):
    roads, plants = data_files
    out = tmp_path / "map.html"
    assert main(["export-html", str(roads), str(plants), "--out", str(out), "--title", "会议用图",
                 "--approval-number", "GS(2024)1号", "--no-font"]) == 0
    assert "wrote" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    data = read_page_data(text)
    assert [s["name"] for s in data["layers"]] == ["roads", "plants"]  # bottom first, as given
    plants_spec = data["layers"][1]
    assert plants_spec["count"] == 2
    assert plants_spec["aliases"][plants_spec["fields"].index("name")] == "企业名称"  # sample aliases applied
    assert "危险化学品" in text and "GS(2024)1号" in text and "会议用图" in text
    assert "<i>乙</i>" not in text


def test_project_file_is_exported(data_files, tmp_path):
    from riskmap.cli.export_html import project_from_files

    project = project_from_files(data_files)
    project.layers[0].visible = False
    saved = project.save(tmp_path / "p.rmp")
    out = tmp_path / "p.html"
    assert main(["export-html", "--project", str(saved), "--out", str(out), "--no-font"]) == 0
    assert [s["name"] for s in read_page_data(out.read_text("utf-8"))["layers"]] == ["plants"]


def test_sample_export(tmp_path):
    out = tmp_path / "s.html"
    assert main(["export-html", "--sample", "--out", str(out)]) == 0
    assert out.stat().st_size < 5_000_000


@pytest.mark.parametrize("args,needle", [
    ([], "没有可导出的内容"),
    (["--basemap", "tianditu", "FILE"], "token"),
    (["FILE", "--sample"], "只能二选一"),
    (["missing.shp"], "missing.shp"),
])
def test_user_errors_exit_2_with_one_line(args, needle, data_files, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RISKMAP_TIANDITU_TOKEN", raising=False)
    args = [str(data_files[1]) if a == "FILE" else a for a in args]
    assert main(["export-html", *args, "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not (tmp_path / "x.html").exists()


def test_wrong_output_suffix_and_no_traceback(data_files, tmp_path):
    out = subprocess.run([sys.executable, "-m", "riskmap.cli", "export-html", str(data_files[1]), "--out",
                          str(tmp_path / "map.png")], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr and ".html" in out.stderr


def test_personal_data_only_with_include_personal(tmp_path):
    plants = tmp_path / "plants.geojson"
    gpd.GeoDataFrame({"name": ["甲化工"], "联系人": ["张三"], "联系电话": ["13812345678"]},
                     geometry=[shapely.Point(114.0, 32.0)], crs=4490).to_file(plants)
    out = tmp_path / "m.html"
    assert main(["export-html", str(plants), "--out", str(out), "--no-font"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "13812345678" not in text and "张三" not in text and "甲化工" in text
    assert main(["export-html", str(plants), "--out", str(out), "--no-font", "--include-personal"]) == 0
    spec = read_page_data(out.read_text(encoding="utf-8"))["layers"][0]
    assert {"联系人", "联系电话"} <= set(spec["fields"]) and "13812345678" in spec["cols"][spec["fields"].index("联系电话")]
