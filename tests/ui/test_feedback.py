"""Feedback: saving and printing show what they are doing, and how far, in the status bar."""
import pytest

pytestmark = pytest.mark.gui


def test_save_shows_progress_per_layer(window, tmp_path, monkeypatch, qtbot):
    """The save runs as a task: the status bar shows its title and each layer's step while the file is written."""
    from riskmap import project as project_module

    seen = []
    real_write = project_module._write_vectors

    def spy(tmp, vectors, progress=None):
        def report(fraction, message=""):
            progress(fraction, message)
            seen.append((message, fraction))
        return real_write(tmp, vectors, progress=report)

    monkeypatch.setattr(project_module, "_write_vectors", spy)
    monkeypatch.setattr("riskmap.ui.tasks.PROGRESS_INTERVAL_S", 0.0)
    assert window.save_project_as(tmp_path / "进度.rmp")
    assert window.saving and window.progress_bar.isVisible() and window.task_label.text().startswith("正在保存工程")
    assert window.wait_for_save()
    n = len([lyr for lyr in window.project.layers if hasattr(lyr, "gdf")])
    assert seen == [(f"{i + 1}/{n}", pytest.approx(i / n)) for i in range(n)]
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
