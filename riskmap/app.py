"""Composition root of the desktop application: QApplication, font, language, project, window.

Nothing heavy happens at import; :func:`run` builds everything once, in order:
QApplication → CJK font → language → project (file, data files or the sample) →
:class:`~riskmap.ui.main_window.MainWindow`.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from riskmap.errors import ParameterError, ProjectError, RiskmapError
from riskmap.i18n import LANGUAGES, set_language, tr

#: Window size of ``--screenshot`` when none is given (pixels).
SCREENSHOT_SIZE = (1500, 950)


def create_application(argv=None):
    """The QApplication (created once) with the application names and the CJK UI font."""
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
        QApplication.setAttribute(Qt.AA_UseHighDpiPixmaps, True)
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
    app.setApplicationName("riskmap")
    app.setOrganizationName("riskmap")
    from riskmap.ui.fonts import register_cjk_font, ui_font

    register_cjk_font()  # Chinese glyphs even on a machine without CJK system fonts
    app.setFont(ui_font(9))
    return app


def print_headless(project, out_path, **options):
    """Print ``project`` to PNG/PDF without a window (``riskmap print``): a GUI-less Qt application
    on the ``offscreen`` platform when there is no display, the CJK font, then
    :func:`riskmap.ui.printing.print_map` with ``options`` (and the project's base map when it is
    an offline package)."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PyQt5.QtGui import QGuiApplication

    from riskmap.ui.fonts import register_cjk_font
    from riskmap.ui.printing import print_map

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0] if sys.argv else "riskmap"])
    register_cjk_font()
    from riskmap.ui.basemap import offline_basemap

    basemap = options.pop("basemap", None) or offline_basemap(project)  # an offline package only: no network
    try:
        return print_map(project, out_path, basemap=basemap, **options)
    finally:
        if basemap is not None:
            basemap.close()
        del app


def atlas_headless(make_writer, out_path, progress=None):
    """Write the county atlas PDF without a window (``riskmap atlas``): a GUI-less Qt application on the
    ``offscreen`` platform when there is no display, the CJK font, then ``make_writer()`` (an
    :class:`riskmap.ui.atlas.AtlasWriter`) written by :func:`riskmap.ui.atlas.write_atlas`."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PyQt5.QtGui import QGuiApplication

    from riskmap.ui.atlas import write_atlas
    from riskmap.ui.fonts import register_cjk_font

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0] if sys.argv else "riskmap"])
    register_cjk_font()
    try:
        return write_atlas(make_writer(), out_path, progress=progress)
    finally:
        del app


def choose_language(settings, override: str | None = None) -> str:
    """Apply and return the UI language: ``override`` (e.g. ``--lang``), else the saved one, else Chinese."""
    code = override or os.environ.get("RISKMAP_LANG") or settings.value("language", "zh")
    code = str(code) if str(code) in LANGUAGES else "zh"
    set_language(code)
    return code


def sample_project():
    """The styled Xinyang sample; on the desktop the hillshaded DEM is shown under the population."""
    from riskmap.exports.sample_project import build_sample_project
    from riskmap.layers import RasterLayer

    project = build_sample_project()
    for layer in project.layers:
        if isinstance(layer, RasterLayer) and layer.style.hillshade:
            layer.visible = True
            if layer.style.ramp == "terrain" and layer.style.vmin is None:
                # start the ramp below the lowest land so plains are green, not sea-blue
                low, high = layer.statistics()
                layer.style = dataclasses.replace(layer.style, vmin=low - (high - low) / 5.0, vmax=high)
    project.modified = False
    return project


def load_project(paths=(), sample: bool = False):
    """The project to open: a project file, a new project holding data files, or the sample.

    Returns ``(project, data_files)``; data files are added through the window (so the user
    is asked about coordinate systems as usual).
    """
    from riskmap.project import PROJECT_EXTENSION, Project

    paths = [Path(p) for p in paths or ()]
    if not paths:
        return sample_project(), []
    first = paths[0]
    if first.suffix.lower() in (PROJECT_EXTENSION, ".gpkg"):
        try:
            return Project.load(first), paths[1:]
        except ProjectError:
            if first.suffix.lower() == PROJECT_EXTENSION:
                raise
    for p in paths:
        if not p.exists():
            raise ParameterError(tr("文件不存在，请检查路径", "file not found; check the path"), p)
    return (sample_project() if sample else Project()), paths


def _check_display(screenshot: bool) -> None:
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        if screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        else:
            raise RiskmapError(tr("找不到显示器（未设置 DISPLAY）；请在桌面环境中运行 riskmap，"
                                  "或用 --screenshot out.png 在无界面模式下渲染窗口",
                                  "no display found (DISPLAY is not set); run riskmap on a desktop, "
                                  "or use --screenshot out.png to render the window headless"))


def run(paths=(), sample: bool = False, screenshot=None, lang: str | None = None, size=None,
        timeout_s: float = 60.0) -> int:
    """Start the application; with ``screenshot`` save the rendered window as PNG and return.

    Returns the process exit code.
    """
    started = time.perf_counter()
    _check_display(bool(screenshot))
    if screenshot and Path(screenshot).suffix.lower() != ".png":
        raise ParameterError(tr("截图须保存为 .png 文件", "the screenshot must be a .png file"), screenshot)
    project, data_files = load_project(paths, sample)  # a bad file fails before any window opens
    app = create_application()
    from riskmap.ui.main_window import MainWindow, default_settings

    settings = default_settings()
    choose_language(settings, lang)
    window = MainWindow(project, settings, restore=not screenshot)
    install_excepthook(window)
    if screenshot:
        window.resize(*(size or SCREENSHOT_SIZE))
    window.show()
    if not screenshot:
        window.offer_recovery()  # after a crash: the unsaved changes of the last session
    if data_files:
        window.add_files(data_files)
    if not screenshot:
        return app.exec_()
    return save_screenshot(window, screenshot, started, timeout_s)


def install_excepthook(window) -> None:
    """Show unexpected errors in a message box (and the traceback on stderr) instead of aborting.

    PyQt ends the process on an exception escaping a slot when the default hook is in place.
    """
    import traceback

    showing = []

    def hook(exc_type, exc, tb):
        trace = "".join(traceback.format_exception(exc_type, exc, tb))
        print(trace, file=sys.stderr, end="")
        if showing or not issubclass(exc_type, Exception):
            return
        showing.append(exc)
        try:  # the box shows the traceback under 详细信息 (never as its main text)
            exc.__riskmap_traceback__ = trace
            exc.__riskmap_traceback_printed__ = True
        except AttributeError:  # an exception type without a __dict__
            pass
        try:
            window.show_error(exc)
        finally:
            showing.clear()

    sys.excepthook = hook


def save_screenshot(window, out_path, started: float | None = None, timeout_s: float = 60.0) -> int:
    """Wait until the map is rendered, grab the whole window into ``out_path`` (PNG) and close it."""
    from PyQt5.QtWidgets import QApplication

    out_path = Path(out_path)
    if out_path.suffix.lower() != ".png":
        raise ParameterError(tr("截图须保存为 .png 文件", "the screenshot must be a .png file"), out_path)
    QApplication.processEvents()
    rendered = window.canvas.wait_until_rendered(timeout_ms=int(timeout_s * 1000))
    painted = time.perf_counter()
    QApplication.processEvents()
    image = window.grab().toImage()
    from riskmap.io import atomic_path

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path, suffix=".png") as tmp:
        if not image.save(str(tmp), "PNG"):
            raise ParameterError(tr("无法写入截图，请检查文件夹是否可写",
                                    "could not write the screenshot; check the folder is writable"), out_path)
    window._force_close = True
    window.close()
    note = ""
    if started is not None:
        note = f", map painted {painted - started:.2f} s after the command started"
        age = _process_age()
        if age is not None:
            note += f", {age - (time.perf_counter() - painted):.2f} s after the process started"
    if not rendered:
        print(f"riskmap: warning: the map was not fully rendered within {timeout_s:g} s", file=sys.stderr)
    print(f"wrote {out_path} ({image.width()}×{image.height()}{note})")
    return 0


def _process_age() -> float | None:
    """Seconds since this process started (Linux ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = float(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
