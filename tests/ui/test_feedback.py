"""Feedback: saving and printing show what they are doing, and how far, in the status bar."""
import pytest

pytestmark = pytest.mark.gui


def test_save_shows_progress_per_layer(window, tmp_path, monkeypatch):
    shown = []
    real_save = type(window.project).save

    def spy(project, path=None, progress=None):
        assert window.progress_bar.isVisible() and window.task_label.text() == "正在保存工程"
        shown.append("visible")
        return real_save(project, path, progress=progress)

    monkeypatch.setattr(type(window.project), "save", spy)
    window.busy_log = []
    assert window.save_project_as(tmp_path / "进度.rmp")
    assert shown == ["visible"]
    n = len([lyr for lyr in window.project.layers if hasattr(lyr, "gdf")])
    assert [t for t, _ in window.busy_log] == ["正在保存工程"] + [f"正在保存工程：{i}/{n}" for i in range(1, n + 1)]
    assert [f for _, f in window.busy_log][1:] == [pytest.approx(i / n) for i in range(n)]
    assert not window.progress_bar.isVisible() and "已保存" in window.statusBar().currentMessage()


def test_print_shows_progress(window, tmp_path, errors):
    from riskmap.ui.print_dialog import PrintDialog

    dialog = PrintDialog(window)
    dialog.path_edit.setText(str(tmp_path / "进度.png"))
    dialog.dpi_spin.setValue(72)
    window.busy_log = []
    assert dialog.run() is not None and errors == []
    texts = [t for t, _ in window.busy_log]
    assert texts[0] == "正在打印 进度.png" and texts[1].startswith("正在打印 进度.png：A4 72 dpi")
    assert window.busy_log[-1] == ("正在打印 进度.png：已写入", 1.0)
    assert not window.progress_bar.isVisible()
