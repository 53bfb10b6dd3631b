"""The CJK font: Noto Sans CJK SC from the installed ``mplfonts`` package, registered with Qt.

A fresh Debian machine often has no Chinese system font, so Chinese text would paint as
boxes. The font file ships in the ``mplfonts`` wheel; we load it into Qt's font database
once (after the QApplication exists) and use its family for the UI, labels and prints.

Text copied from a PDF must be the text that was drawn. Noto Sans CJK maps some radicals
(CJK Radicals Supplement U+2E80–U+2EFF, Kangxi Radicals U+2F00–U+2FDF) and compatibility
ideographs (U+F900–U+FAFF, U+2F800–U+2FA1F) to the *same glyph* as the ideograph they look
like (⻛ U+2EDB and 风 U+98CE share one glyph). Qt's PDF engine writes each glyph's text as
the first code point it finds for that glyph in the cmap, so "风险" copied out of a PDF came
back as "⻛险" and search in the document failed. :func:`unaliased_font_path` therefore
writes, once, a copy of the font whose cmap lacks those alias code points (only the cmap
table changes; the glyphs are copied byte for byte) into the cache directory, and that copy
is the font registered with Qt. A radical typed on purpose then falls back to another font.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

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


def is_alias_code_point(cp: int) -> bool:
    """True for radicals and compatibility ideographs (the code points that share glyphs with ideographs)."""
    return 0x2E80 <= cp <= 0x2FDF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F


def cache_dir() -> Path:
    """riskmap's cache directory: ``$RISKMAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/riskmap``, else ``~/.cache/riskmap``."""
    env = os.environ.get("RISKMAP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "riskmap"


def write_unaliased_font(source: Path, target: Path) -> int:
    """Write ``source`` to ``target`` without the cmap entries of alias code points that share a glyph.

    A radical or compatibility ideograph is dropped only when its glyph is also mapped from
    another code point (the ideograph), so no glyph loses its last code point. Only the cmap
    table is rebuilt; every other table is copied as it is. Returns the number of code points
    dropped.
    """
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.sfnt import SFNTReader, SFNTWriter

    font = TTFont(str(source), lazy=True)
    cmap = font["cmap"]
    glyph_cps: dict[str, set] = {}
    for table in cmap.tables:
        if table.format == 14:
            continue
        for cp, glyph in table.cmap.items():
            glyph_cps.setdefault(glyph, set()).add(cp)
    drop = set()
    for cps in glyph_cps.values():
        if len(cps) > 1 and any(not is_alias_code_point(c) for c in cps):
            drop.update(c for c in cps if is_alias_code_point(c))
    for table in cmap.tables:
        if table.format != 14:
            for cp in drop:
                table.cmap.pop(cp, None)
    data = cmap.compile(font)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(source, "rb") as fh:
        reader = SFNTReader(fh)
        tags = sorted(reader.keys())
        with open(tmp, "wb") as out:
            writer = SFNTWriter(out, len(tags), reader.sfntVersion, reader.flavor)
            for tag in tags:
                writer[tag] = data if tag == "cmap" else reader[tag]
            writer.close()
    os.replace(tmp, target)
    return len(drop)


def unaliased_font_path(source: Path | None = None) -> Path | None:
    """The bundled CJK font without radical aliases (built once into :func:`cache_dir`), or None."""
    source = source or cjk_font_path()
    if source is None:
        return None
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|1".encode()).hexdigest()[:12]
    target = cache_dir() / "fonts" / f"{source.stem}-unaliased-{key}{source.suffix}"
    if target.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_unaliased_font(source, target)
    except Exception:  # noqa: BLE001 - the original font still draws; only PDF text copies worse
        log.warning("could not write the unaliased CJK font; PDF text may copy radicals", exc_info=True)
        return None
    return target


def register_cjk_font() -> str:
    """Load the CJK font into Qt's font database (once per application) and return its family name.

    Needs a ``QGuiApplication``. Falls back to an installed system CJK family, then to the
    application's default family, so callers always get a usable name.
    """
    global _family
    from PyQt5.QtGui import QFontDatabase, QGuiApplication

    with _lock:
        if QGuiApplication.instance() is None:
            raise RuntimeError("register_cjk_font() needs a QApplication; create it first")
        # an application font belongs to the application that loaded it: after that application is gone (a
        # headless print or atlas made and dropped its own), a new one must load it again
        if _family is not None and _family in QFontDatabase().families():
            return _family
        family = None
        path = cjk_font_path()
        if path is not None:
            path = unaliased_font_path(path) or path
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
