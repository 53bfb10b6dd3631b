"""Print dialog: paper, orientation, resolution, title and map approval number → PNG or PDF."""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from riskmap.errors import RiskmapError
from riskmap.i18n import tr

PAPERS = ("A4", "A3")
ORIENTATIONS = (("landscape", "横向", "Landscape"), ("portrait", "纵向", "Portrait"))


def output_file_row(dialog, project, settings, suffix: str, caption: str, file_filter: str):
    """The 输出文件 row of an export dialog: a path (the last folder, the project's name, ``suffix``) and
    a 浏览… button asking for another; returns ``(line_edit, layout)``."""
    edit = QLineEdit(dialog)
    stem = project.path.stem if project.path else (project.title or "map")
    last_dir = Path(str(settings.value("last_dir", str(Path.home()))))
    edit.setText(str(last_dir / f"{stem}{suffix}"))
    browse = QPushButton(tr("浏览…", "Browse…"), dialog)

    def ask():
        path, _ = QFileDialog.getSaveFileName(dialog, caption, edit.text(), file_filter)
        if path:
            edit.setText(path)

    browse.clicked.connect(ask)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(browse)
    return edit, row


class PrintDialog(QDialog):
    """Print the current view of the window's project with the page layout of :mod:`riskmap.ui.printing`."""

    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        settings = window.settings
        project = window.project
        self.setWindowTitle(tr("打印 / 导出地图", "Print / export map"))
        form = QFormLayout()

        self.path_edit, row = output_file_row(self, project, settings, str(settings.value("print/suffix", ".pdf")),
                                              tr("导出地图", "Export map"), "PDF (*.pdf);;PNG (*.png)")
        form.addRow(tr("输出文件（PNG 或 PDF）", "Output (PNG or PDF)"), row)

        self.paper_combo = QComboBox(self)
        self.paper_combo.addItems(PAPERS)
        self.paper_combo.setCurrentText(str(settings.value("print/paper", "A4")))
        form.addRow(tr("纸张", "Paper"), self.paper_combo)
        self.orientation_combo = QComboBox(self)
        for key, zh, en in ORIENTATIONS:
            self.orientation_combo.addItem(tr(zh, en), key)
        self.orientation_combo.setCurrentIndex(
            max(0, self.orientation_combo.findData(str(settings.value("print/orientation", "landscape")))))
        form.addRow(tr("方向", "Orientation"), self.orientation_combo)
        self.dpi_spin = QSpinBox(self)
        self.dpi_spin.setRange(72, 600)
        self.dpi_spin.setSingleStep(50)
        self.dpi_spin.setSuffix(" dpi")
        self.dpi_spin.setValue(int(settings.value("print/dpi", 200)))
        form.addRow(tr("分辨率", "Resolution"), self.dpi_spin)
        self.title_edit = QLineEdit(project.title or "", self)
        form.addRow(tr("标题", "Title"), self.title_edit)
        self.approval_edit = QLineEdit(project.approval_number or "", self)
        self.approval_edit.setPlaceholderText(tr("如 豫S（2024）012号；留空则打印空白栏", "e.g. 豫S（2024）012号; blank slot if empty"))
        form.addRow(tr("审图号", "Approval No. (审图号)"), self.approval_edit)

        box = QVBoxLayout(self)
        box.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        buttons.button(QDialogButtonBox.Ok).setText(tr("导出", "Export"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)

    def run(self):
        """Write the page; returns the :class:`~riskmap.ui.printing.PrintResult` or None on error."""
        from riskmap.ui.printing import print_map

        window, project = self.window_, self.window_.project
        path = Path(self.path_edit.text().strip())
        approval = self.approval_edit.text().strip()
        if approval != (project.approval_number or ""):
            project.approval_number = approval  # saved with the project
            project.modified = True
        paper = self.paper_combo.currentText()
        orientation = self.orientation_combo.currentData()
        dpi = self.dpi_spin.value()
        try:
            project.check_output(path)
            with window.busy(tr(f"正在打印 {path.name}", f"Printing {path.name}")) as progress:
                progress(None, tr(f"{paper} {dpi} dpi，绘制地图与图例", f"{paper} {dpi} dpi, drawing map and legend"))
                result = print_map(project, path, paper=paper, orientation=orientation, dpi=dpi,
                                   title=self.title_edit.text().strip() or None, extent=window.canvas.extent(),
                                   basemap=window.canvas.basemap)
                progress(1.0, tr("已写入", "written"))
        except RiskmapError as exc:
            window.show_error(exc)
            return None
        settings = window.settings
        settings.setValue("print/paper", paper)
        settings.setValue("print/orientation", orientation)
        settings.setValue("print/dpi", dpi)
        settings.setValue("print/suffix", path.suffix.lower())
        settings.setValue("last_dir", str(path.parent))
        window.statusBar().showMessage(tr(f"已导出 {result.path}（{result.width_px}×{result.height_px}，"
                                          f"{result.seconds:.1f} 秒）",
                                          f"Wrote {result.path} ({result.width_px}×{result.height_px}, "
                                          f"{result.seconds:.1f} s)"), 10000)
        return result
