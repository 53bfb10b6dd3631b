"""Style colours as palette codes, and point symbols pre-rendered as sprites."""
from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np
import pandas as pd
from PyQt5.QtCore import QPointF, QRectF, QThread, Qt
from PyQt5.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from riskmap.layers.style import Style

# ---------------------------------------------------------------------------------------
# colours
# ---------------------------------------------------------------------------------------
def style_palette(style: Style) -> list[str]:
    """Colours a style can give features; the last one is for values the style does not list."""
    if style.mode == "categorized" and style.field:
        return [str(c) for c in style.categories.values()] + [style.color]
    if style.mode == "graduated" and style.field and style.colors:
        return [str(c) for c in style.colors] + [style.color]
    return [style.color]


def color_codes(style: Style, table) -> np.ndarray:
    """Index into :func:`style_palette` per feature (vectorised; matches ``Style.colors_for``)."""
    n = len(table)
    if style.mode == "categorized" and style.field and style.field in table:
        keys = [str(k) for k in style.categories]
        values = pd.Series(table[style.field].to_numpy(), copy=False).astype(str)
        codes = pd.Index(keys).get_indexer(values) if len(set(keys)) == len(keys) else \
            values.map({k: i for i, k in reversed(list(enumerate(keys)))}).fillna(-1).to_numpy(int)
        codes = np.asarray(codes, np.int64)
        codes[codes < 0] = len(keys)
        return codes
    if style.mode == "graduated" and style.field and style.colors and style.field in table:
        vals = pd.to_numeric(pd.Series(table[style.field].to_numpy(), copy=False), errors="coerce").to_numpy(float)
        idx = np.searchsorted(np.asarray(style.breaks, float), vals, side="right")
        idx = np.clip(idx, 0, len(style.colors) - 1).astype(np.int64)
        idx[~np.isfinite(vals)] = len(style.colors)
        return idx
    return np.zeros(n, np.int64)


def qcolor(value, alpha: float | None = None) -> QColor:
    """A ``QColor`` from a CSS/hex colour, optionally with alpha in [0, 1]."""
    c = QColor(str(value)) if value else QColor(0, 0, 0, 0)
    if not c.isValid():
        c = QColor("#808080")
    if alpha is not None:
        c.setAlphaF(max(0.0, min(1.0, float(alpha))))
    return c


def point_fill_alpha(style: Style) -> float:
    """Fill opacity of point symbols (same rule as the HTML map: strong enough to read)."""
    return float(np.clip(style.fill_opacity + 0.5, 0.6, 1.0))


# ---------------------------------------------------------------------------------------
# point symbols
# ---------------------------------------------------------------------------------------
SYMBOLS = ("circle", "square", "triangle", "diamond", "star", "cross", "ring")


def symbol_path(symbol: str, size: float) -> QPainterPath:
    """Outline of a point symbol of ``size`` pixels centred on (0, 0)."""
    r = size / 2.0
    path = QPainterPath()
    if symbol == "square":
        path.addRect(QRectF(-r * 0.9, -r * 0.9, 1.8 * r, 1.8 * r))
    elif symbol == "triangle":
        path.addPolygon(QPolygonF([QPointF(0, -r * 1.1), QPointF(r, r * 0.75), QPointF(-r, r * 0.75),
                                   QPointF(0, -r * 1.1)]))
    elif symbol == "diamond":
        path.addPolygon(QPolygonF([QPointF(0, -r), QPointF(r, 0), QPointF(0, r), QPointF(-r, 0), QPointF(0, -r)]))
    elif symbol == "star":
        pts = []
        for i in range(11):
            a = math.pi / 2 + i * math.pi / 5
            rr = r if i % 2 == 0 else r * 0.45
            pts.append(QPointF(rr * math.cos(a), -rr * math.sin(a)))
        path.addPolygon(QPolygonF(pts))
    elif symbol == "cross":
        w = r * 0.35
        path.addRect(QRectF(-w, -r, 2 * w, 2 * r))
        path.addRect(QRectF(-r, -w, 2 * r, 2 * w))
        path.setFillRule(Qt.WindingFill)
    else:
        path.addEllipse(QPointF(0, 0), r, r)
    return path


def symbol_image(symbol: str, size: float, fill: QColor, stroke: QColor | None, stroke_width: float) -> QImage:
    """A pre-rendered, antialiased point symbol (transparent background)."""
    pad = stroke_width + 2.0
    side = int(math.ceil(size * 1.25 + 2 * pad))
    side += side % 2 == 0  # odd: the centre falls on a pixel centre
    img = QImage(side, side, QImage.Format_ARGB32_Premultiplied)
    img.fill(0)
    p = QPainter(img)
    p.setRenderHint(QPainter.Antialiasing, True)
    p.translate(side / 2.0, side / 2.0)
    if stroke is not None and stroke_width > 0 and stroke.alpha() > 0:
        pen = QPen(stroke)
        pen.setWidthF(stroke_width)
        pen.setJoinStyle(Qt.MiterJoin)
        p.setPen(pen)
    else:
        p.setPen(Qt.NoPen)
    p.setBrush(QBrush(fill) if symbol != "ring" else Qt.NoBrush)
    p.drawPath(symbol_path("circle" if symbol == "ring" else symbol, size))
    p.end()
    return img


_symbol_lock = threading.Lock()


@lru_cache(maxsize=512)
def _symbol_pixmap_cached(symbol, size, fill_rgba, stroke_rgba, stroke_width):
    fill = QColor.fromRgba(fill_rgba)
    stroke = QColor.fromRgba(stroke_rgba) if stroke_rgba is not None else None
    return QPixmap.fromImage(symbol_image(symbol, size, fill, stroke, stroke_width))


def _on_gui_thread() -> bool:
    app = QGuiApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def symbol_sprite(symbol: str, size: float, fill: QColor, stroke: QColor | None, stroke_width: float):
    """The symbol as a ``QPixmap`` for ``drawPixmapFragments`` (made on the GUI thread, read-only after)
    or as a ``QImage`` when called off the GUI thread."""
    args = (symbol, round(float(size), 2), fill.rgba(), stroke.rgba() if stroke is not None else None,
            round(float(stroke_width), 2))
    if _on_gui_thread():
        with _symbol_lock:
            return _symbol_pixmap_cached(*args)
    return symbol_image(symbol, size, fill, stroke, stroke_width)


def sprites_for(style: Style, scale: float) -> tuple:
    symbol = style.symbol if style.symbol in SYMBOLS else "circle"
    size = max(1.0, style.size * scale)
    stroke = qcolor(style.stroke) if style.stroke else None
    if symbol == "ring":
        stroke_width = max(1.0, style.width * scale)
        return tuple(symbol_sprite(symbol, size, qcolor(c, 0.0), qcolor(c), stroke_width)
                     for c in style_palette(style))
    stroke_width = max(0.8, 1.0 * scale) if stroke is not None else 0.0
    alpha = point_fill_alpha(style)
    return tuple(symbol_sprite(symbol, size, qcolor(c, alpha), stroke, stroke_width) for c in style_palette(style))
