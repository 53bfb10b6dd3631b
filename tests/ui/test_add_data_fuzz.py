"""Issue 18 acceptance, the window's add-data: odd and hostile files added through 添加数据… the way a user does.

The corpus is the one of tests/untrusted (its generators are imported, not copied): the small valid bases
of ``fuzz_driver.make_bases``, seeded mutations by ``fuzz_driver.mutate`` (byte flips, truncations,
duplications, insertions) and the hand-made hostile files of ``hostile`` (a VRT named .geojson pointing at
/etc/passwd, a raster VRT named .tif, a 160-byte TIFF declaring gigabytes, a GeoJSON whose CRS is a link),
plus empty and junk files. For each file the 添加数据… action is triggered with the file dialog answering
that file. Every case must end either with layers added (and drawn) or with exactly one error box through
riskmap's helper holding one line of riskmap's own words, and no layer added; no exception may escape
(pytest-qt fails the test on one raised in a slot) and the window must still draw afterwards.
"""
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtWidgets import QFileDialog, QMessageBox
from window_helpers import close_to, pixel_at

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "untrusted"))
from fuzz_driver import make_bases, mutate  # noqa: E402
from hostile import PASSWD_RASTER_VRT, PASSWD_VRT, geojson_with_crs, tiny_tiff  # noqa: E402

from riskmap.ui import add_data, messages  # noqa: E402

#: Mutated cases (six targets in turn) and the wall-clock budget of the loop (s): bounded for CI.
MUTATIONS = 72
BUDGET_S = 45.0
TARGETS = ["plants.geojson", "plants.shp", "plants.dbf", "plants.shx", "pipes.geojson", "pop.tif"]


def corpus(work: Path) -> list[tuple[str, Path]]:
    """(label, file to choose) of every case, valid bases first."""
    bases = make_bases(work)
    cases = [(f"base {name}", path) for name, path in bases.items()]
    odd = work / "odd"
    odd.mkdir()
    (odd / "passwd.geojson").write_text(PASSWD_VRT, encoding="utf-8")
    (odd / "passwd.tif").write_text(PASSWD_RASTER_VRT, encoding="utf-8")
    tiny_tiff(odd / "huge.tif", 1_000_000, 1_000_000)
    (odd / "crs_link.geojson").write_text(geojson_with_crs("http://127.0.0.1:9/crs.wkt"), encoding="utf-8")
    (odd / "empty.geojson").write_bytes(b"")
    (odd / "empty.gpkg").write_bytes(b"")
    (odd / "junk.gpkg").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 4)
    (odd / "junk.kmz").write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    (odd / "binary.kml").write_bytes(bytes(range(256)) * 8)
    (odd / "notes.docx").write_text("不是数据", encoding="utf-8")
    cases += [(f"hostile {p.name}", p) for p in sorted(odd.iterdir())]
    rng = np.random.default_rng(18)
    for case in range(MUTATIONS):
        target = TARGETS[case % len(TARGETS)]
        folder = work / f"case{case}"
        folder.mkdir()
        for path in bases.values():
            for part in path.parent.glob(path.stem + ".*"):
                shutil.copy(part, folder / part.name)
        victim = folder / target
        victim.write_bytes(mutate(victim.read_bytes(), rng))
        chosen = victim if victim.suffix not in (".dbf", ".shx") else victim.with_suffix(".shp")
        cases.append((f"mutated {target} #{case}", chosen))
    return cases


@pytest.fixture
def boxes(monkeypatch):
    """Error boxes run by riskmap.ui.messages (text and details), instead of blocking."""
    seen = []

    def record(box):
        seen.append((box.text(), box.detailedText()))
        return QMessageBox.Ok

    monkeypatch.setattr(messages, "exec_box", record)
    return seen


def test_odd_files_through_add_data_never_break_the_window(window, qtbot, boxes, tmp_path, monkeypatch, capfd):
    cases = corpus(tmp_path / "corpus")
    chosen = {}
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(chosen["path"])], ""))
    # a table or a file without a CRS asks the user: they accept what is proposed
    monkeypatch.setattr(add_data, "ask_options", lambda parent, path, reason, defaults=None, **k:
                        defaults or add_data.ImportOptions())
    project, canvas = window.project, window.canvas
    original_ids = [lyr.id for lyr in project.layers]
    action = window.actions["add_data"]
    outcomes, t0 = {}, time.monotonic()
    for label, path in cases:
        if time.monotonic() - t0 > BUDGET_S:
            break
        chosen["path"] = path
        before_boxes, before_ids, before_undo = len(boxes), [lyr.id for lyr in project.layers], \
            window.undo_stack.index()
        action.trigger()  # 添加数据… → the file dialog answers ``path``
        assert canvas.wait_until_rendered(30000), label
        new_boxes = boxes[before_boxes:]
        added = [lyr for lyr in project.layers if lyr.id not in before_ids]
        if added:
            assert new_boxes == [], (label, new_boxes)
            assert window.undo_stack.index() == before_undo + 1
            # an added layer draws (or, at worst, carries riskmap's one-line mark; never a broken window)
            broken = [(lyr.name, lyr.render_error) for lyr in added if lyr.render_error]
            assert broken == [], (label, broken)
            window.undo_stack.undo()  # take it out again: the next case starts from the same project
            assert [lyr.id for lyr in project.layers] == original_ids
            outcomes[label] = "added"
        else:
            assert len(new_boxes) == 1, (label, new_boxes)  # refused: one box, nothing added, nothing to undo
            text, details = new_boxes[0]
            assert text and "\n" not in text and "Traceback" not in text, (label, text)
            assert "内部错误" not in text, (label, text, details)  # riskmap's own words, not an internal error
            assert [lyr.id for lyr in project.layers] == before_ids and window.undo_stack.index() == before_undo
            outcomes[label] = "refused"
    assert len(outcomes) >= 40, f"only {len(outcomes)} cases ran within {BUDGET_S} s"
    results = list(outcomes.values())
    assert results[:4] == ["added"] * 4  # the valid bases are added (the harness adds what it should)
    assert results.count("refused") >= 20 and results.count("added") >= 20  # the fuzz is not idle either way
    for name in ("passwd.geojson", "passwd.tif", "huge.tif", "junk.gpkg", "notes.docx"):
        assert outcomes[f"hostile {name}"] == "refused", name  # never read by content, never allocated
    assert "Traceback" not in capfd.readouterr().err
    # the window still works: its own layers draw as before
    assert close_to(pixel_at(window, 114.35, 32.1), "#ff7f0e") and not canvas.failed_layers
    assert project.layers[-1].name == "企业" and len(project.layers) == len(original_ids)
