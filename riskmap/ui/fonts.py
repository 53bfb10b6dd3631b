"""The CJK font: Noto Sans CJK SC from the installed ``mplfonts`` package, registered with Qt.

A fresh Debian machine often has no Chinese system font, so Chinese text would paint as
boxes. The font file ships in the ``mplfonts`` wheel; we load it into Qt's font database
once (after the QApplication exists) and use its family for the UI, labels and prints.
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

#: Font files tried in order inside the ``mplfonts`` package.
_FONT_FILES = ("fonts/NotoSansCJKsc-Regular.otf", "fonts/SourceHanSerifSC-Regular.otf", "fonts/SimHei.ttf")
#: System families used when the package font cannot be loaded.
_FALLBACK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "SimHei",
                      "Microsoft YaHei", "PingFang SC")

_lock = threading.Lock()
_family: str | None = None


def cjk_font_path() -> Path | None:
    """Path of the bundled CJK font file (``None`` if ``mplfonts`` is not installed)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(list(spec.submodule_search_locations)[0])
    for rel in _FONT_FILES:
        path = base / rel
        if path.exists():
            return path
    return None


def register_cjk_font() -> str:
    """Load the CJK font into Qt's font database (once) and return its family name.

    Needs a ``QGuiApplication``. Falls back to an installed system CJK family, then to the
    application's default family, so callers always get a usable name.
    """
    global _family
    from PyQt5.QtGui import QFontDatabase, QGuiApplication

    with _lock:
        if _family is not None:
            return _family
        if QGuiApplication.instance() is None:
            raise RuntimeError("register_cjk_font() needs a QApplication; create it first")
        family = None
        path = cjk_font_path()
        if path is not None:
            font_id = QFontDatabase.addApplicationFont(str(path))
            families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
            family = families[0] if families else None
        if family is None:
            available = set(QFontDatabase().families())
            family = next((f for f in _FALLBACK_FAMILIES if f in available), None)
        if family is None:
            family = QGuiApplication.font().family()
        _family = family
        return family


def cjk_family() -> str:
    """The registered CJK family (registers it on first use)."""
    return _family if _family is not None else register_cjk_font()


def ui_font(point_size: float = 9.0, bold: bool = False):
    """A ``QFont`` of the CJK family at ``point_size`` points."""
    from PyQt5.QtGui import QFont

    font = QFont(cjk_family())
    font.setPointSizeF(float(point_size))
    font.setBold(bold)
    return font


def pixel_font(pixel_size: float, bold: bool = False):
    """A ``QFont`` of the CJK family sized in device pixels (for images and prints at any DPI)."""
    from PyQt5.QtGui import QFont

    font = QFont(cjk_family())
    font.setPixelSize(max(1, int(round(pixel_size))))
    font.setBold(bold)
    return font
