"""An F-N (societal-risk) plot drawn with QPainter: log-log axes, the GB 36894-2018 lines, one curve.

:class:`FNPlot` draws the cumulative frequency F (per year) of N or more deaths against N on
decade axes from N = 1, the two criterion lines F = upper/N (不可接受线, F·N = 1×10⁻³ by default)
and F = lower/N (可接受线, 1×10⁻⁵) with the three zones lightly shaded, and the selected curve as
a step line (F is constant between the curve's points: F(N) = F_i for N_{i-1} < N ≤ N_i). The
axis titles, tick labels and legend follow the UI language. :meth:`FNPlot.to_pixel` is the
mapping the painter uses, so tests can find the pixels of a line or a step.
"""
from __future__ import annotations

import math

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PyQt5.QtWidgets import QSizePolicy, QWidget

from riskmap.i18n import tr

UPPER_COLOUR = "#d7191c"
LOWER_COLOUR = "#1a9641"
CURVE_COLOUR = "#2c7bb6"
ZONE_FILLS = {"unacceptable": QColor(215, 25, 28, 28), "alarp": QColor(253, 174, 97, 34),
              "acceptable": QColor(26, 150, 65, 24)}
#: At most this many decades on the F axis (a curve reaching lower is clipped at the bottom).
MAX_F_DECADES = 10

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def power_label(exponent: int) -> str:
    """``10⁻⁵`` for -5; ``1``, ``10``, ``100``, ``1000`` for 0–3."""
    if 0 <= exponent <= 3:
        return str(10 ** exponent)
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def sci_label(value: float) -> str:
    """``1×10⁻³`` for 0.001."""
    mant, exp = f"{value:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}×10" + str(int(exp)).translate(_SUPERSCRIPT)


def step_vertices(n, f, n_lo: float, f_lo: float) -> np.ndarray:
    """Vertices ``(k, 2)`` of the F-N step line from ``n_lo`` on, ending with a drop to ``f_lo``.

    ``n`` ascending, ``f`` the cumulative frequency of ``n`` or more deaths (non-increasing).
    Points with N below ``n_lo`` only set where the line starts: F(n_lo) is the F of the first
    point with N ≥ n_lo.
    """
    n, f = np.asarray(n, float), np.asarray(f, float)
    keep = (n >= n_lo) & (f > 0)
    n, f = n[keep], np.maximum(f[keep], f_lo)
    if not n.size:
        return np.zeros((0, 2))
    xs = np.empty(2 * n.size + 1)
    ys = np.empty(2 * n.size + 1)
    xs[0], ys[0] = n_lo, f[0]
    xs[1::2], ys[1::2] = n, f  # the horizontal run ends at N_i at F_i ...
    xs[2::2] = n  # ... then drops at N_i to the next F (after the last point: to the bottom)
    ys[2:-1:2] = f[1:]
    ys[-1] = f_lo
    return np.column_stack([xs, ys])


class FNPlot(QWidget):
    """The F-N plot of one curve against the societal-risk lines.

    Attributes
    ----------
    n_range, f_range : (float, float)
        The axis ranges (decades) of the last paint.
    plot_rect : QRectF
        The axes' rectangle in widget pixels.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("FNPlot")
        self.setMinimumSize(320, 260)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.name = ""
        self.zone = ""
        self.n = np.zeros(0)
        self.f = np.zeros(0)
        self.upper = 1e-3
        self.lower = 1e-5
        self.n_range = (1.0, 1000.0)
        self.f_range = (1e-9, 1e-2)
        self.plot_rect = QRectF()
        self.paints = 0  # paint events so far (tests wait on it)
        self._layout()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 320)

    # -- data ----------------------------------------------------------------------------
    def set_curve(self, name: str, n, f, upper: float, lower: float, zone: str = "") -> None:
        """Show the curve ``(n, f)`` called ``name`` against the lines F·N = ``upper`` and ``lower``."""
        n, f = np.asarray(n, float), np.asarray(f, float)
        order = np.argsort(n, kind="stable")
        self.name, self.zone = str(name), str(zone)
        self.n, self.f = n[order], f[order]
        self.upper, self.lower = float(upper), float(lower)
        self._layout()
        self.update()

    def clear(self) -> None:
        self.set_curve("", [], [], self.upper, self.lower)

    @property
    def has_curve(self) -> bool:
        return bool(((self.n >= 1.0) & (self.f > 0)).any())

    def _ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        ok = (self.n >= 1.0) & (self.f > 0)
        n_max = float(self.n[ok].max()) if ok.any() else 100.0
        n_hi = 10.0 ** max(math.ceil(math.log10(max(n_max, 10.0)) - 1e-9), 1)
        f_top = max(float(self.f[ok].max()) if ok.any() else 0.0, self.upper)
        f_hi = 10.0 ** (math.ceil(math.log10(f_top) - 1e-9) + 1)
        f_bottom = min(float(self.f[ok].min()) if ok.any() else self.lower / n_hi, self.lower / n_hi)
        f_lo = 10.0 ** max(math.floor(math.log10(f_bottom) + 1e-9), round(math.log10(f_hi)) - MAX_F_DECADES)
        return (1.0, n_hi), (f_lo, f_hi)

    def _layout(self) -> None:
        self.n_range, self.f_range = self._ranges()
        left, top, right, bottom = 62.0, 30.0, 14.0, 44.0
        self.plot_rect = QRectF(left, top, max(self.width() - left - right, 10.0),
                                max(self.height() - top - bottom, 10.0))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._layout()
        super().resizeEvent(event)

    def to_pixel(self, n: float, f: float) -> QPointF:
        """Widget pixel of the point (N, F) (log-log, inside :attr:`plot_rect` for values in range)."""
        (n0, n1), (f0, f1) = self.n_range, self.f_range
        r = self.plot_rect
        x = r.left() + (math.log10(n) - math.log10(n0)) / (math.log10(n1) - math.log10(n0)) * r.width()
        y = r.bottom() - (math.log10(f) - math.log10(f0)) / (math.log10(f1) - math.log10(f0)) * r.height()
        return QPointF(x, y)

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._layout()
        painter = QPainter(self)
        try:
            self.paint(painter)
        finally:
            painter.end()
        self.paints += 1

    def paint(self, painter: QPainter) -> None:
        """Draw the whole plot with ``painter`` (the widget, or an image in a test)."""
        painter.fillRect(self.rect(), QColor("#ffffff"))
        painter.setRenderHint(QPainter.Antialiasing, True)
        r = self.plot_rect
        (n0, n1), f0 = self.n_range, self.f_range[0]
        painter.save()
        painter.setClipRect(r)
        self._paint_zones(painter)
        self._paint_grid(painter)
        for fn, colour in ((self.upper, UPPER_COLOUR), (self.lower, LOWER_COLOUR)):
            painter.setPen(QPen(QColor(colour), 2.0))
            painter.drawLine(self.to_pixel(n0, fn / n0), self.to_pixel(n1, fn / n1))
        vertices = step_vertices(self.n, self.f, n0, f0)
        if len(vertices):
            poly = QPolygonF([self.to_pixel(x, y) for x, y in vertices])
            painter.setPen(QPen(QColor(CURVE_COLOUR), 2.5, Qt.SolidLine, Qt.FlatCap, Qt.MiterJoin))
            painter.drawPolyline(poly)
        painter.restore()
        painter.setPen(QPen(QColor("#333333"), 1.0))
        painter.drawRect(r)
        self._paint_ticks(painter)
        self._paint_titles(painter)
        self._paint_legend(painter)
        if not self.has_curve:
            painter.setPen(QColor("#666666"))
            text = tr("无N≥1的事故后果", "No outcome with N ≥ 1") if self.name else tr("运行后显示F-N曲线",
                                                                                "The F-N curve shows after a run")
            painter.drawText(r, Qt.AlignCenter, text)

    def _paint_zones(self, painter: QPainter) -> None:
        (n0, n1), (f0, f1) = self.n_range, self.f_range
        top_left, top_right = self.to_pixel(n0, f1), self.to_pixel(n1, f1)
        bottom_left, bottom_right = self.to_pixel(n0, f0), self.to_pixel(n1, f0)
        up0, up1 = self.to_pixel(n0, self.upper / n0), self.to_pixel(n1, self.upper / n1)
        lo0, lo1 = self.to_pixel(n0, self.lower / n0), self.to_pixel(n1, self.lower / n1)
        painter.setPen(Qt.NoPen)
        for zone, points in (("unacceptable", [top_left, top_right, up1, up0]),
                             ("alarp", [up0, up1, lo1, lo0]),
                             ("acceptable", [lo0, lo1, bottom_right, bottom_left])):
            path = QPainterPath()
            path.addPolygon(QPolygonF(points))
            painter.fillPath(path, ZONE_FILLS[zone])

    def _paint_grid(self, painter: QPainter) -> None:
        (n0, n1), (f0, f1) = self.n_range, self.f_range
        painter.setPen(QPen(QColor("#dddddd"), 1.0))
        for e in range(round(math.log10(n0)), round(math.log10(n1)) + 1):
            painter.drawLine(self.to_pixel(10.0 ** e, f0), self.to_pixel(10.0 ** e, f1))
        for e in range(round(math.log10(f0)), round(math.log10(f1)) + 1):
            painter.drawLine(self.to_pixel(n0, 10.0 ** e), self.to_pixel(n1, 10.0 ** e))

    def _paint_ticks(self, painter: QPainter) -> None:
        (n0, n1), (f0, f1) = self.n_range, self.f_range
        font = QFont(painter.font())
        font.setPointSizeF(8.0)
        painter.setFont(font)
        painter.setPen(QColor("#333333"))
        r = self.plot_rect
        for e in range(round(math.log10(n0)), round(math.log10(n1)) + 1):
            p = self.to_pixel(10.0 ** e, f0)
            painter.drawText(QRectF(p.x() - 30, r.bottom() + 2, 60, 14), Qt.AlignHCenter | Qt.AlignTop, power_label(e))
        f_decades = round(math.log10(f1)) - round(math.log10(f0))
        step = 1 if f_decades <= 8 else 2
        for e in range(round(math.log10(f0)), round(math.log10(f1)) + 1, step):
            p = self.to_pixel(n0, 10.0 ** e)
            painter.drawText(QRectF(r.left() - 46, p.y() - 8, 42, 16), Qt.AlignRight | Qt.AlignVCenter,
                             power_label(e) if e < 0 else str(10 ** e))

    @staticmethod
    def axis_titles() -> tuple[str, str]:
        """The titles of the N and F axes in the UI language."""
        return tr("死亡人数 N（人）", "Number of deaths N"), tr("累积频率 F（≥N，/年）", "Frequency F of N or more (/yr)")

    def _paint_titles(self, painter: QPainter) -> None:
        x_title, y_title = self.axis_titles()
        r = self.plot_rect
        font = QFont(painter.font())
        font.setPointSizeF(9.0)
        painter.setFont(font)
        painter.setPen(QColor("#222222"))
        painter.drawText(QRectF(r.left(), r.bottom() + 17, r.width(), 18), Qt.AlignHCenter | Qt.AlignTop,
                         x_title)
        painter.save()
        painter.translate(12.0, r.center().y())
        painter.rotate(-90.0)
        painter.drawText(QRectF(-r.height() / 2, -10, r.height(), 20), Qt.AlignCenter, y_title)
        painter.restore()
        title = self.name + (f"（{self.zone}）" if self.zone else "")
        if title:
            bold = QFont(font)
            bold.setBold(True)
            painter.setFont(bold)
            painter.drawText(QRectF(r.left(), 4, r.width(), 22), Qt.AlignLeft | Qt.AlignVCenter,
                             painter.fontMetrics().elidedText(title, Qt.ElideRight, int(r.width())))

    def _paint_legend(self, painter: QPainter) -> None:
        r = self.plot_rect
        font = QFont(painter.font())
        font.setPointSizeF(8.0)
        font.setBold(False)
        painter.setFont(font)
        rows = [(UPPER_COLOUR, tr(f"不可接受线 F·N={sci_label(self.upper)}", f"Intolerable F·N={sci_label(self.upper)}")),
                (LOWER_COLOUR, tr(f"可接受线 F·N={sci_label(self.lower)}", f"Acceptable F·N={sci_label(self.lower)}"))]
        if self.has_curve:
            rows.append((CURVE_COLOUR, tr("F-N曲线", "F-N curve")))
        fm = painter.fontMetrics()
        width = max(fm.horizontalAdvance(text) for _c, text in rows) + 34
        height = fm.height() * len(rows) + 8
        box = QRectF(r.right() - width - 6, r.top() + 6, width, height)
        painter.setPen(QPen(QColor("#999999"), 1.0))
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.drawRect(box)
        painter.setBrush(Qt.NoBrush)
        for i, (colour, text) in enumerate(rows):
            y = box.top() + 4 + fm.height() * (i + 0.5)
            painter.setPen(QPen(QColor(colour), 2.0))
            painter.drawLine(QPointF(box.left() + 6, y), QPointF(box.left() + 26, y))
            painter.setPen(QColor("#222222"))
            painter.drawText(QRectF(box.left() + 30, y - fm.height() / 2, width - 32, fm.height()),
                             Qt.AlignLeft | Qt.AlignVCenter, text)


__all__ = ["FNPlot", "power_label", "sci_label", "step_vertices"]
