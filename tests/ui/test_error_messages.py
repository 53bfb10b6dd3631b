"""Issue 18 §7 in the window: every error box is one line in the UI language; exception text and library
warnings only under 详细信息; no message box anywhere in riskmap/ui is built from raw exception text."""
import ast
import errno
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PyQt5.QtWidgets import QMessageBox

from riskmap.errors import DataFormatError, ParameterError
from riskmap.i18n import set_language
from riskmap.ui import add_data, messages

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def boxes(monkeypatch):
    """The QMessageBox objects the helper runs (icon, title, text, details), instead of blocking."""
    seen = []

    def record(box):
        seen.append({"icon": box.icon(), "title": box.windowTitle(), "text": box.text(),
                     "details": box.detailedText(), "parent": box.parent()})
        return QMessageBox.Ok

    monkeypatch.setattr(messages, "exec_box", record)
    return seen


def test_a_riskmap_error_is_its_own_line_without_details(window, boxes):
    window.show_error(ParameterError("防护距离须为正数（米）"))
    assert boxes == [{"icon": QMessageBox.Critical, "title": "错误", "text": "防护距离须为正数（米）",
                      "details": "", "parent": window}]
    assert window.statusBar().currentMessage() == "防护距离须为正数（米）"


def test_an_unexpected_exception_shows_a_generic_line_and_its_text_only_under_details(window, boxes):
    exc = KeyError("geometry_column_missing")
    exc.__riskmap_traceback__ = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError"
    window.show_error(exc)
    (box,) = boxes
    assert box["text"].startswith("内部错误") and "\n" not in box["text"]
    assert "geometry_column_missing" not in box["text"] and "KeyError" not in box["text"]
    assert "KeyError: 'geometry_column_missing'" in box["details"] and "Traceback" in box["details"]
    assert "geometry_column_missing" not in window.statusBar().currentMessage()


def test_the_generic_line_follows_the_ui_language(window, boxes):
    set_language("en")
    window.show_error(ValueError("cannot convert float NaN to integer"))
    window.show_error(OSError(errno.ENOSPC, "No space left on device", "/data/会议.rmp"))
    assert boxes[0]["title"] == "Error" and boxes[0]["text"].startswith("Internal error")
    assert "NaN" not in boxes[0]["text"] and "ValueError: cannot convert float NaN" in boxes[0]["details"]
    # an OSError is the disk, not a bug: the system's reason and the file, in riskmap's words
    assert boxes[1]["text"] == ("/data/会议.rmp: a file could not be read or written (No space left on device); "
                                "check the file, the folder's permissions and the free disk space")
    set_language("zh")
    window.show_error(ValueError("x"))
    assert boxes[2]["title"] == "错误" and boxes[2]["text"].startswith("内部错误")


def test_library_warnings_are_shown_once_under_details():
    with messages.library_warnings() as said:
        for _ in range(3):  # the same warning, repeated by a library, is listed once
            warnings.warn("Dataset has no geotransform, gcps, or rpcs.", UserWarning)
        warnings.warn("Warning 1: Unable to parse SRS", RuntimeWarning)
    line, details = messages.error_message(DataFormatError("无法读取", "a.tif"), warnings=said)
    assert line == "a.tif: 无法读取"
    assert details.count("no geotransform") == 1 and details.count("Unable to parse SRS") == 1
    assert details.startswith("库的提示：")


def test_a_long_or_multi_line_riskmap_message_keeps_one_line_in_the_box():
    line, details = messages.error_message(DataFormatError("第一行\n第二行"))
    assert line == "第一行" and details == "第二行"
    line, details = messages.error_message("x" * 1000)
    assert len(line) == messages.MAX_LINE_CHARS and line.endswith("…") and details == "x" * 1000


def test_adding_a_file_that_fails_with_library_warnings_shows_them_under_details(window, boxes, tmp_path, capfd):
    """A TIFF without georeferencing: rasterio warns (NotGeoreferencedWarning), riskmap refuses it. The box
    has riskmap's one line; the library's warning is under details, never printed to the terminal."""
    path = tmp_path / "无坐标.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as ds:
        ds.write(np.ones((1, 4, 4), "uint8"))
    capfd.readouterr()
    n = len(window.project.layers)
    assert window.add_files([path]) == [] and len(window.project.layers) == n
    (box,) = boxes
    assert "无坐标.tif" in box["text"] and "\n" not in box["text"] and "Warning" not in box["text"]
    assert "geotransform" in box["details"].lower() and box["details"].startswith("库的提示")
    assert "geotransform" not in capfd.readouterr().err.lower()


def test_a_reader_bug_while_adding_is_a_generic_line_naming_the_file(window, boxes, tmp_path, monkeypatch):
    path = tmp_path / "企业.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")

    def broken_reader(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(add_data, "read_file", broken_reader)
    n = len(window.project.layers)
    assert window.add_files([path]) == [] and len(window.project.layers) == n
    (box,) = boxes
    assert str(path) in box["text"] and "读取失败" in box["text"]
    assert "list index" not in box["text"] and "IndexError: list index out of range" in box["details"]


# ---------------------------------------------------------------------------------------------------------
# the source guard: no message box outside the helper, no raw exception text in any message
# ---------------------------------------------------------------------------------------------------------
#: Calls that put text in front of the user.
MESSAGE_CALLS = {"critical", "warning", "information", "question", "about", "setText", "setInformativeText",
                 "setDetailedText", "showMessage", "show_error", "setToolTip", "setStatusTip"}
#: Wrappers that make one line out of an exception (the exception object may be passed to them whole).
WRAPPERS = {"show_error", "error_line", "os_reason", "error_message"}


def _ui_sources():
    files = sorted((ROOT / "riskmap" / "ui").rglob("*.py")) + [ROOT / "riskmap" / "app.py"]
    return [(f, ast.parse(f.read_text(encoding="utf-8"), str(f))) for f in files]


def _name(func) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _riskmap_error_names() -> set[str]:
    import riskmap.errors as errors_module

    return {name for name, obj in vars(errors_module).items()
            if isinstance(obj, type) and issubclass(obj, errors_module.RiskmapError)}


def _catches_only_riskmap_errors(handler) -> bool:
    """``except RiskmapError as exc`` (or subclasses): its text is riskmap's own one line."""
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return bool(types) and all(_name(t) in _riskmap_error_names() for t in types if t is not None)


def raw_exception_texts(tree) -> list[tuple[int, str]]:
    """(line, call) of message calls whose text is built from a caught exception's text.

    Only handlers that may catch other exceptions count: a RiskmapError's text is riskmap's one line.
    """
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for handler in (n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler) and n.name
                    and n.type is not None and not _catches_only_riskmap_errors(n)):
        for call in (n for n in ast.walk(handler) if isinstance(n, ast.Call) and _name(n.func) in MESSAGE_CALLS):
            for arg in list(call.args) + [k.value for k in call.keywords]:
                for node in ast.walk(arg):
                    if not (isinstance(node, ast.Name) and node.id == handler.name):
                        continue
                    parent = parents.get(node)
                    if isinstance(parent, ast.Call) and _name(parent.func) in WRAPPERS and node in parent.args:
                        continue  # the exception object handed to the helper
                    if isinstance(parent, ast.Attribute) and parent.attr in ("filename", "path"):
                        continue  # the file it names, not its text
                    found.append((call.lineno, _name(call.func)))
    return sorted(set(found))


def boxes_outside_the_helper(path, tree) -> list[int]:
    """Lines that show an error box without riskmap.ui.messages (static boxes or Critical/Warning boxes)."""
    if path.name == "messages.py" and path.parent.name == "ui":
        return []
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("critical", "warning") and _name(node.func.value) == "QMessageBox":
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and _name(node.func) == "QMessageBox" and node.args \
                and isinstance(node.args[0], ast.Attribute) and node.args[0].attr in ("Critical", "Warning"):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and _name(node.func) == "setIcon" and node.args \
                and isinstance(node.args[0], ast.Attribute) and node.args[0].attr in ("Critical", "Warning"):
            lines.append(node.lineno)
    return lines


def test_no_message_in_the_window_is_built_from_raw_exception_text():
    bad = {str(f.relative_to(ROOT)): raw_exception_texts(tree) for f, tree in _ui_sources()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_every_error_box_of_the_window_goes_through_the_helper():
    bad = {str(f.relative_to(ROOT)): boxes_outside_the_helper(f, tree) for f, tree in _ui_sources()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_guards_see_what_they_guard():
    """The checks above find the patterns they forbid (so an empty result means something)."""
    tree = ast.parse(
        "def f(self):\n"
        "    try:\n        pass\n"
        "    except Exception as exc:\n"
        "        self.show_error(tr(f'读取失败（{exc}）', f'failed ({exc})'))\n"
        "        QMessageBox.critical(self, 'x', str(exc))\n"
        "        self.statusBar().showMessage('x' + messages.error_line(exc))\n"
        "        self.show_error(exc)\n"
        "        QMessageBox(QMessageBox.Warning, 't', 'x')\n"
        "    except (CRSError, RiskmapError) as exc:\n"
        "        self.label.setText(str(exc))\n"
        "    except (RiskmapError, OSError) as exc:\n"
        "        self.label.setText(str(exc))\n")
    assert raw_exception_texts(tree) == [(5, "show_error"), (6, "critical"), (13, "setText")]
    assert boxes_outside_the_helper(Path("riskmap/ui/x.py"), tree) == [6, 9]


# ---------------------------------------------------------------------------------------------------------
# other actions of the window
# ---------------------------------------------------------------------------------------------------------
def test_opening_a_damaged_project_keeps_the_open_one_and_says_one_line(window, boxes, tmp_path, monkeypatch):
    from riskmap.errors import ProjectError
    from riskmap.project import Project

    path = tmp_path / "会议#1.rmp"
    path.write_bytes(b"x")
    before = window.project

    def warns_then_fails(p):
        warnings.warn("GPKG: unknown table gpkg_extensions_x", RuntimeWarning)
        raise ProjectError("工程文件已损坏", p)

    monkeypatch.setattr(Project, "load", staticmethod(warns_then_fails))
    assert window.open_project(str(path)) is False and window.project is before
    assert boxes[-1]["text"] == f"{path}: 工程文件已损坏" and "gpkg_extensions_x" in boxes[-1]["details"]

    def bug(p):
        raise TypeError("'NoneType' object is not subscriptable")

    monkeypatch.setattr(Project, "load", staticmethod(bug))
    assert window.open_project(str(path)) is False and window.project is before
    assert boxes[-1]["text"].startswith(f"{path}：无法打开工程") and "NoneType" not in boxes[-1]["text"]
    assert "TypeError: 'NoneType' object is not subscriptable" in boxes[-1]["details"]


@pytest.mark.qt_no_exception_capture
def test_an_exception_escaping_a_slot_is_a_box_with_the_traceback_under_details(window, boxes, qtbot, capsys):
    """riskmap's excepthook (installed by the app) catches what escapes a slot: the window stays up."""
    import sys

    from PyQt5.QtWidgets import QAction

    from riskmap.app import install_excepthook

    saved = sys.excepthook
    install_excepthook(window)
    try:
        action = QAction("x", window)
        action.triggered.connect(lambda: {}["missing_key"])
        action.trigger()  # as a menu click would
        qtbot.waitUntil(lambda: bool(boxes), timeout=5000)
    finally:
        sys.excepthook = saved
    (box,) = boxes
    assert box["text"] == messages.internal_error_line()
    assert "KeyError: 'missing_key'" in box["details"] and "Traceback (most recent call last)" in box["details"]
    assert capsys.readouterr().err.count("Traceback (most recent call last)") == 1  # printed once for developers
    assert window.isVisible()


def test_a_failing_background_task_shows_library_warnings_under_details_not_on_stderr(window, boxes, qtbot, capfd):
    import logging

    def analysis(progress=None):
        warnings.warn("Dataset has no geotransform, gcps, or rpcs.", UserWarning)
        logging.getLogger("rasterio").warning("Warning 1: TIFFReadDirectory: Sum of Photometric type-related")
        raise DataFormatError("人口栅格未覆盖任何企业", "pop.tif")

    capfd.readouterr()
    task = window.run_task(analysis, title="搬迁评估")
    qtbot.waitUntil(lambda: task.state == "failed" and bool(boxes), timeout=10000)
    (box,) = boxes
    assert box["text"] == "pop.tif: 人口栅格未覆盖任何企业"
    assert box["details"].count("no geotransform") == 1 and box["details"].count("TIFFReadDirectory") == 1
    err = capfd.readouterr().err
    assert "geotransform" not in err and "TIFFReadDirectory" not in err


def test_a_finished_task_names_what_the_libraries_said_in_the_status_bar(window, boxes, qtbot):
    def analysis(progress=None):
        warnings.warn("Warning 1: Unable to parse SRS", RuntimeWarning)
        return 1

    done = []
    task = window.run_task(analysis, title="道路排查", on_done=done.append)
    qtbot.waitUntil(lambda: done == [1], timeout=10000)
    assert task.warnings == ["Warning 1: Unable to parse SRS"] and boxes == []
    assert window.statusBar().currentMessage() == "完成：道路排查（库的提示：Warning 1: Unable to parse SRS）"
