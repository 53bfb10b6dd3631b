"""``riskmap report --sample --out DIR``: the meeting package with one provenance."""
import json

import pytest

from riskmap.analysis.result import file_sha256
from riskmap.cli import main
from riskmap.exports.html import read_page_data


@pytest.mark.slow
def test_meeting_package_writes_every_part_with_one_provenance(tmp_path):
    out = tmp_path / "pkg"
    assert main(["report", "--sample", "--out", str(out), "--approval", "豫S(2026)002号"]) == 0
    record = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    names = {"relocation", "pipelines", "tailings", "roads", "fourcolour"}
    expected = {f"{n}.{ext}" for n in names for ext in ("gpkg", "xlsx")} | {"会议地图.html", "安全风险四色分布图集.pdf"}
    assert set(record["files"]) == expected
    for name, digest in record["files"].items():
        assert file_sha256(out / name) == digest, name
    prov = record["provenance"]
    assert prov["analysis"] == "fourcolour"
    assert set(prov["derived"]["upstream"]) == set(prov["attachments"]["upstream"]) == names - {"fourcolour"}
    assert prov["attachments"]["rules"]["name"] == prov["derived"]["rule_table"]
    assert prov["derived"]["rule_table"] == "riskmap-fourcolour-default-1"
    page = read_page_data((out / "会议地图.html").read_text(encoding="utf-8"))
    shown = [spec["name"] for spec in page["layers"]]
    assert "安全风险四色分布图（乡镇）" in shown and "企业" not in shown


def test_report_needs_the_sample_and_a_folder(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "x")]) == 2
    assert "--sample" in capsys.readouterr().err
    file = tmp_path / "f.txt"
    file.write_text("x")
    assert main(["report", "--sample", "--out", str(file)]) == 2
