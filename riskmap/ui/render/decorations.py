"""Map decorations shared by the canvas and the print layout: scale bar, north arrow, ramp gradient."""
from __future__ import annotations

import math

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QFontMetricsF, QLinearGradient, QPainter, QPen, QPolygonF

from riskmap.crs import format_distance
from riskmap.layers.raster_colour import ramp_lut
from riskmap.layers.style import RAMPS
from riskmap.ui.fonts import pixel_font

def nice_length(max_metres: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ metres not above ``max_metres``."""
    if not np.isfinite(max_metres) or max_metres <= 0:
        return 0.0
    exp = math.floor(math.log10(max_metres))
    for m in (5, 2, 1):
        if m * 10 ** exp <= max_metres:
            return float(m * 10 ** exp)
    return float(10 ** exp)



def draw_scale_bar(painter: QPainter, x: float, y_bottom: float, metres_per_px: float, scale: float = 1.0,
                   max_width: float = 160.0, background: bool = True) -> QRectF:
    """A two-segment scale bar (geodesic length) with its left end at ``x``; returns its rectangle."""
    length_m = nice_length(metres_per_px * max_width * scale)
    if length_m <= 0:
        return QRectF()
    bar_w = length_m / metres_per_px
    bar_h = 6.0 * scale
    font = pixel_font(12 * scale)
    metrics = QFontMetricsF(font)
    label = format_distance(length_m, round_length=True)
    text_h = metrics.height()
    pad = 5.0 * scale
    box = QRectF(x, y_bottom - bar_h - text_h - 3 * pad, bar_w + 2 * pad + metrics.horizontalAdvance("0") + 2,
                 bar_h + text_h + 3 * pad)
    box.setWidth(max(box.width(), metrics.horizontalAdvance(label) + 2 * pad))
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    if background:
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(255, 255, 255, 210))
        painter.drawRoundedRect(box, 3 * scale, 3 * scale)
    bx, by = box.left() + pad, box.bottom() - pad - bar_h
    painter.setPen(QPen(QColor("#222222"), max(1.0, scale)))
    half = bar_w / 2.0
    painter.setBrush(QColor("#222222"))
    painter.drawRect(QRectF(bx, by, half, bar_h))
    painter.setBrush(QColor("#ffffff"))
    painter.drawRect(QRectF(bx + half, by, half, bar_h))
    painter.setFont(font)
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(bx - 20 * scale, box.top() + pad * 0.5, 40 * scale, text_h), Qt.AlignCenter, "0")
    painter.drawText(QRectF(bx + bar_w - 60 * scale, box.top() + pad * 0.5, 120 * scale, text_h),
                     Qt.AlignCenter, label)
    painter.restore()
    return box


def draw_north_arrow(painter: QPainter, center_x: float, top: float, scale: float = 1.0,
                     background: bool = True) -> QRectF:
    """A north arrow (half-filled triangle and “北 N”) centred at ``center_x`` below ``top``."""
    w, h = 22.0 * scale, 30.0 * scale
    font = pixel_font(12 * scale, bold=True)
    text_h = QFontMetricsF(font).height()
    box = QRectF(center_x - w / 2 - 6 * scale, top, w + 12 * scale, h + text_h + 10 * scale)
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing, True)
    if background:
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(255, 255, 255, 210))
        painter.drawRoundedRect(box, 3 * scale, 3 * scale)
    painter.setFont(font)
    painter.setPen(QColor("#222222"))
    painter.drawText(QRectF(box.left(), top + 3 * scale, box.width(), text_h), Qt.AlignCenter, "北 N")
    tip = QPointF(center_x, top + text_h + 5 * scale)
    base_y = tip.y() + h
    left = QPolygonF([tip, QPointF(center_x - w / 2, base_y), QPointF(center_x, base_y - h * 0.3)])
    right = QPolygonF([tip, QPointF(center_x + w / 2, base_y), QPointF(center_x, base_y - h * 0.3)])
    painter.setPen(QPen(QColor("#222222"), max(1.0, scale)))
    painter.setBrush(QColor("#222222"))
    painter.drawPolygon(left)
    painter.setBrush(QColor("#ffffff"))
    painter.drawPolygon(right)
    painter.restore()
    return box


def ramp_gradient(ramp: str, rect: QRectF, t0: float = 0.0, t1: float = 1.0) -> QLinearGradient:
    """A left-to-right gradient along the part ``t0``–``t1`` of a named colour ramp (raster legends)."""
    lut = ramp_lut(ramp if ramp in RAMPS else "greys")
    grad = QLinearGradient(rect.topLeft(), rect.topRight())
    for i in range(9):
        t = t0 + (t1 - t0) * i / 8.0
        r, g, b = (int(v) for v in lut[min(255, int(t * 255))])
        grad.setColorAt(i / 8.0, QColor(r, g, b))
    return grad
