"""Crash recovery in the window: the prompt at start-up lists the changes; 恢复 restores them, 放弃 drops them."""
import pytest
from PyQt5.QtCore import QSettings, QTimer
from PyQt5.QtWidgets import QApplication, QMessageBox
from test_road_marking import X0, mark, open_panel, project, window  # noqa: F401

from riskmap import journal as jn
from riskmap.analysis import register as reg
from riskmap.project import Project

pytestmark = pytest.mark.gui


def crash(window):
    """What a kill does: the journal's file and lock go, nothing is cleaned up (the window is then dropped)."""
    journal = window.project.journal
    journal._close_fd()
    journal.lock.release()
    window.project.journal = None


def field_session(qtbot, window, tmp_path):
    path = window.project.save(tmp_path / "外业.rmp")
    panel = open_panel(window)
    mark(qtbot, window, panel, X0 + 200, X0 + 500)
    mark(qtbot, window, panel, X0 + 700, X0 + 1100)
    first = panel.register.ids()[0]
    panel.select_segment(first)
    panel.status_edit.setCurrentIndex(panel.status_edit.findData("closed"))
    panel.apply_edit()
    window.project.layers.by_id(window.project.layers[0].id).opacity = 0.4
    qtbot.wait(jn_delay() + 200)  # layer changes reach the journal within the debounce delay (< 1 s)
    return path, panel


def jn_delay():
    from riskmap.ui.main_window import JOURNAL_DELAY_MS

    assert JOURNAL_DELAY_MS < 1000
    return JOURNAL_DELAY_MS


def answer(button_text, seen):
    """Click ``button_text`` in the message box that will open (as a user would), keeping its texts."""
    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text() + "\n" + box.informativeText())
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(20, click)


def restart(qtbot, tmp_path):
    from riskmap.ui.main_window import MainWindow

    win = MainWindow(Project(), settings=QSettings(str(tmp_path / "s2.ini"), QSettings.IniFormat), restore=False)
    win._force_close = True
    qtbot.addWidget(win)
    win.show()
    return win


def layers_of(project):
    return [(lyr.name, lyr.opacity, lyr.style.to_dict(), len(lyr.gdf)) for lyr in project.layers]


def test_accept_restores_the_register_and_layers_exactly(qtbot, window, tmp_path):
    path, panel = field_session(qtbot, window, tmp_path)
    expected_register = panel.register.to_dict()
    expected_layers = layers_of(window.project)
    assert expected_register["segments"][0]["status"] == "closed" and "隐患路段登记" in [x[0] for x in expected_layers]
    crash(window)

    win = restart(qtbot, tmp_path)
    seen = []
    answer("恢复", seen)
    assert win.offer_recovery() is True
    assert str(path.resolve()) in seen[0] and "修改隐患路段" in seen[0] and "新增隐患路段" in seen[0]
    assert win.project.path.resolve() == path.resolve() and win.project.modified
    assert reg.HazardRegister.from_project(win.project).to_dict() == expected_register
    assert layers_of(win.project) == expected_layers
    panel2 = open_panel(win)
    assert panel2.segment_table.item(0, 5).text() == "已销号"
    # the recovered state is journalled again at once; the old journal is gone
    (live,) = list(jn.journal_dir_for(path).glob("*.jsonl"))
    assert live == win.project.journal.file
    assert jn.pending_recoveries() == []
    journal = win.project.journal
    win.close()  # a clean exit: nothing to offer next time
    journal.lock.release()
    assert jn.pending_recoveries() == [] and jn.recovery_for_project(path) == []


def test_decline_discards_the_journal(qtbot, window, tmp_path):
    path, _ = field_session(qtbot, window, tmp_path)
    crash(window)
    win = restart(qtbot, tmp_path)
    seen = []
    answer("放弃", seen)
    assert win.offer_recovery() is False
    assert seen and len(win.project.layers) == 0  # still the empty project
    assert jn.pending_recoveries() == [] and jn.recovery_for_project(path) == []
    assert reg.HazardRegister.from_project(Project.load(path)).ids() == []  # the saved file is as saved


def test_opening_the_project_offers_its_journal(qtbot, window, tmp_path):
    path, panel = field_session(qtbot, window, tmp_path)
    ids = panel.register.ids()
    crash(window)
    win = restart(qtbot, tmp_path)
    for pointer in (tmp_path / "recovery" / "sessions").glob("*.json"):
        pointer.unlink()  # the start-up list is lost; the journal beside the file is still found
    assert jn.pending_recoveries() == []
    seen = []
    answer("恢复", seen)
    assert win.open_project(path, wait=True)
    assert reg.HazardRegister.from_project(win.project).ids() == ids


def test_clean_close_leaves_no_prompt(qtbot, window, tmp_path):
    path, _ = field_session(qtbot, window, tmp_path)
    journal = window.project.journal
    assert journal.file.exists() and jn.pending_recoveries() == []  # the session is alive: nothing offered
    window.close()
    assert not journal.file.exists() and not jn.journal_dir_for(path).exists()
    journal.lock.release()  # as if the process had ended
    assert jn.pending_recoveries() == []
    win = restart(qtbot, tmp_path)
    assert win.offer_recovery() is False
