"""Test configuration: Qt runs offscreen; small fixtures are built in code."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_recovery_dir(tmp_path, monkeypatch):
    """Autosave journals of unsaved projects (and session pointers) go to the test's folder, never the user's."""
    monkeypatch.setenv("RISKMAP_RECOVERY_DIR", str(tmp_path / "recovery"))


@pytest.fixture(autouse=True)
def isolated_tile_cache(tmp_path, monkeypatch):
    """Base-map tile caches go to the test's folder, never the user's."""
    monkeypatch.setenv("RISKMAP_TILE_CACHE", str(tmp_path / "tiles"))


@pytest.fixture(autouse=True)
def no_unexpected_message_boxes(monkeypatch):
    """A modal message box would block a test until its timeout: record it instead, and fail the test.

    Tests that expect one use the ``errors`` fixture (tests/ui/conftest.py) or patch the box themselves.
    """
    from PyQt5.QtWidgets import QMessageBox

    shown = []

    def box(kind, answer):
        def show(parent, title, text, *args, **kwargs):
            shown.append(f"{kind}: {text}")
            return answer
        return show

    monkeypatch.setattr(QMessageBox, "critical", box("critical", QMessageBox.Ok))
    monkeypatch.setattr(QMessageBox, "warning", box("warning", QMessageBox.Ok))
    monkeypatch.setattr(QMessageBox, "information", box("information", QMessageBox.Ok))
    monkeypatch.setattr(QMessageBox, "question", box("question", QMessageBox.Cancel))
    from riskmap.ui import messages

    def error_box(message_box):  # the window's error boxes (riskmap.ui.messages.show_error)
        shown.append(f"error: {message_box.text()}")
        return QMessageBox.Ok

    monkeypatch.setattr(messages, "exec_box", error_box)
    yield shown
    assert not shown, f"unexpected message box(es): {shown}"
