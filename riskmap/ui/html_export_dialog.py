"""导出网页地图 dialog: file, title, base map, layers, 审图号 and whether popups may show personal data."""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from riskmap.i18n import tr
from riskmap.ui.print_dialog import output_file_row
from riskmap.layers import RasterLayer, VectorLayer


#: The base-map choice "as the window shows it" (the window's provider, or its offline package embedded).
WINDOW_BASEMAP = "window"


def basemap_label(key: str) -> str:
    """The dialog's name of a base map of :data:`riskmap.exports.html.BASEMAPS` (unknown ones by their key)."""
    return {"none": tr("无底图（完全离线）", "None (fully offline)"),
            "osm": tr("OpenStreetMap（需联网）", "OpenStreetMap (online)"),
            "tianditu": tr("天地图（需联网和密钥）", "Tianditu (online, needs a key)"),
            "amap": tr("高德地图（需联网，GCJ-02）", "AMap (online, GCJ-02)")}.get(key, key)


class HtmlExportDialog(QDialog):
    """The choices of one HTML export of the window's project; :meth:`options` gives them to
    :func:`riskmap.exports.html.export_html`. The last choices are remembered (``html/…`` settings)."""

    def __init__(self, window):
        from riskmap.exports.html import BASEMAPS, is_empty_layer

        super().__init__(window)
        self.window_ = window
        settings = window.settings
        project = window.project
        self.setWindowTitle(tr("导出网页地图", "Export HTML map"))
        form = QFormLayout()

        self.path_edit, row = output_file_row(self, project, settings, ".html", tr("导出网页地图", "Export HTML map"),
                                              tr("网页", "Web page") + " (*.html)")
        self.path_edit.setObjectName("html_path")
        form.addRow(tr("输出文件", "Output file"), row)

        self.title_edit = QLineEdit(project.title or str(settings.value("html/title", "") or ""), self)
        self.title_edit.setObjectName("html_title")
        self.title_edit.setPlaceholderText(tr("安全生产风险图", "Risk map"))
        form.addRow(tr("标题", "Title"), self.title_edit)

        self.basemap_combo = QComboBox(self)
        self.basemap_combo.setObjectName("html_basemap")
        self._window_basemap = self._shown_basemap()
        if self._window_basemap is not None:  # the base map the window shows (provider, or its offline package)
            self.basemap_combo.addItem(tr("与地图窗口相同", "As shown in the window") + f"（{self._window_label()}）",
                                       WINDOW_BASEMAP)
        for key in BASEMAPS:
            self.basemap_combo.addItem(basemap_label(key), key)
        default = WINDOW_BASEMAP if self._window_basemap is not None else "none"
        self.basemap_combo.setCurrentIndex(max(0, self.basemap_combo.findData(str(settings.value("html/basemap",
                                                                                                 default)))))
        form.addRow(tr("底图", "Base map"), self.basemap_combo)
        self.token_edit = QLineEdit(str(settings.value("html/tianditu_token", "") or ""), self)
        self.token_edit.setObjectName("html_token")
        self.token_edit.setPlaceholderText(tr("天地图密钥（tk）", "Tianditu key (tk)"))
        form.addRow(tr("天地图密钥", "Tianditu key"), self.token_edit)
        self.basemap_combo.currentIndexChanged.connect(self._basemap_changed)

        # the layers, top first as in the layer panel; empty layers are not offered (the page leaves them out)
        self.layer_list = QListWidget(self)
        self.layer_list.setObjectName("html_layers")
        unchecked = set(_as_list(settings.value("html/unchecked", [])))
        for layer in reversed(list(project.layers)):
            if not isinstance(layer, (VectorLayer, RasterLayer)) or is_empty_layer(layer):
                continue
            item = QListWidgetItem(layer.name, self.layer_list)
            item.setData(Qt.UserRole, layer.id)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if layer.visible and layer.name not in unchecked else Qt.Unchecked)
        self.layer_list.setMinimumHeight(140)
        form.addRow(tr("图层", "Layers"), self.layer_list)

        self.approval_edit = QLineEdit(project.approval_number or str(settings.value("html/approval", "") or ""),
                                       self)
        self.approval_edit.setObjectName("html_approval")
        self.approval_edit.setPlaceholderText(tr("如 豫S（2024）012号；显示在页脚", "e.g. 豫S（2024）012号; shown in the footer"))
        form.addRow(tr("审图号", "Approval No. (审图号)"), self.approval_edit)

        self.personal_check = QCheckBox(tr("包含个人信息（联系人、电话、身份证号、邮箱）",
                                           "Include personal data (contact person, phone, ID, e-mail)"), self)
        self.personal_check.setObjectName("html_personal")
        self.personal_check.setToolTip(tr("默认不在弹窗中显示个人信息；仅在确有需要时勾选",
                                          "Popups leave personal data out by default; tick only when needed"))
        self.personal_check.setChecked(str(settings.value("html/include_personal", "false")).lower() == "true")
        form.addRow("", self.personal_check)

        box = QVBoxLayout(self)
        box.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.buttons.button(QDialogButtonBox.Ok).setText(tr("导出", "Export"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        box.addWidget(self.buttons)
        self._basemap_changed()

    def _shown_basemap(self) -> dict | None:
        control = getattr(self.window_, "basemap_control", None)
        if control is None or not hasattr(control, "html_options"):
            return None
        try:
            return dict(control.html_options())
        except Exception:  # noqa: BLE001 - no canvas yet, or a provider the page cannot show: not offered
            return None

    def _window_label(self) -> str:
        opts = self._window_basemap or {}
        if opts.get("offline_tiles"):
            return tr("离线底图包", "offline package") + f" {Path(str(opts['offline_tiles'])).name}"
        return basemap_label(opts.get("basemap", "none"))

    def _basemap_changed(self, *_):
        self.token_edit.setEnabled(self.basemap_combo.currentData() == "tianditu")

    def checked_layer_ids(self) -> list[str]:
        """Ids of the ticked layers."""
        return [self.layer_list.item(i).data(Qt.UserRole) for i in range(self.layer_list.count())
                if self.layer_list.item(i).checkState() == Qt.Checked]

    def options(self) -> dict:
        """``{"out_path", "title", "basemap", "layers", "approval_number", "include_personal",
        "tianditu_token"}`` as chosen (with the window's base map: its ``export_html`` keywords, e.g.
        ``offline_tiles``)."""
        opts = self.choices()
        if opts["basemap"] == WINDOW_BASEMAP:
            shown = dict(self._window_basemap or {"basemap": "none"})
            if opts["tianditu_token"] and shown.get("basemap") == "tianditu" and not shown.get("tianditu_token"):
                shown["tianditu_token"] = opts["tianditu_token"]
            opts.pop("tianditu_token")
            opts.update(shown)
        return opts

    def choices(self) -> dict:
        """The widgets' values as they stand (``basemap`` may be :data:`WINDOW_BASEMAP`)."""
        return {
            "out_path": self.path_edit.text().strip(),
            "title": self.title_edit.text().strip() or None,
            "basemap": self.basemap_combo.currentData(),  # WINDOW_BASEMAP is expanded below
            "layers": self.checked_layer_ids(),
            "approval_number": self.approval_edit.text().strip(),
            "include_personal": self.personal_check.isChecked(),
            "tianditu_token": self.token_edit.text().strip() or None,
        }

    def remember(self) -> None:
        """Keep the choices for the next export (the settings' ``html/`` keys)."""
        settings, opts = self.window_.settings, self.choices()
        settings.setValue("html/title", opts["title"] or "")
        settings.setValue("html/basemap", opts["basemap"])
        settings.setValue("html/approval", opts["approval_number"])
        settings.setValue("html/include_personal", "true" if opts["include_personal"] else "false")
        if opts["tianditu_token"]:
            settings.setValue("html/tianditu_token", opts["tianditu_token"])
        settings.setValue("html/unchecked", [self.layer_list.item(i).text() for i in range(self.layer_list.count())
                                             if self.layer_list.item(i).checkState() != Qt.Checked])

    def accept(self):
        self.remember()
        super().accept()


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


__all__ = ["HtmlExportDialog", "WINDOW_BASEMAP", "basemap_label"]
