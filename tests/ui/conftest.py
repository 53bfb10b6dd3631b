"""Fixtures for the desktop window tests: isolated settings, a small in-code project, the window."""
import pytest
from window_helpers import make_project


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own settings file (never the user's)."""
    monkeypatch.setenv("RISKMAP_SETTINGS", str(tmp_path / "riskmap-settings.ini"))
    monkeypatch.delenv("RISKMAP_LANG", raising=False)
    from riskmap.i18n import set_language

    set_language("zh")
    yield
    set_language("zh")


class ShownErrors(list):
    """The main texts of the error boxes shown, in order; ``details[i]`` is box i's 详细信息 text."""

    def __init__(self):
        super().__init__()
        self.details: list[str] = []


@pytest.fixture
def errors(monkeypatch):
    """Error message boxes shown by the window (captured instead of blocking)."""
    from PyQt5.QtWidgets import QMessageBox

    from riskmap.ui import messages

    shown = ShownErrors()

    def record(box):
        shown.append(box.text())
        shown.details.append(box.detailedText())
        return QMessageBox.Ok

    def critical(parent, title, text, *a, **k):
        shown.append(text)
        shown.details.append("")
        return QMessageBox.Ok

    monkeypatch.setattr(messages, "exec_box", record)
    monkeypatch.setattr(QMessageBox, "critical", critical)
    return shown


@pytest.fixture
def cjk_font(qapp):
    from riskmap.ui.fonts import register_cjk_font

    return register_cjk_font()


@pytest.fixture
def project():
    return make_project()


@pytest.fixture
def window(qtbot, cjk_font, project):
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(project, restore=False)
    win._force_close = True  # tests that check the unsaved-changes question switch this off
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    assert win.canvas.wait_until_rendered(30000)
    return win


@pytest.fixture(autouse=True)
def unfrozen_gc():
    """Objects ``window_helpers.settle`` froze (latency tests) are collectable again after each test."""
    import gc

    yield
    gc.unfreeze()
