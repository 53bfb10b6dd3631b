"""Print layout: the map with title, legend, scale bar, north arrow and footer, to PNG or PDF.

The map itself is drawn by the canvas' renderer at the print resolution: for a PNG as one image
(:func:`riskmap.ui.render.render_layers`), for a PDF layer by layer onto the page, vector layers as
paths (:func:`riskmap.ui.render.paint_vector`) and rasters and map labels as images at the print's
dpi; the rest of the page (title, legend, footer) is drawn as text and vector shapes, so in a PDF it
stays sharp and searchable. The footer carries the data
sources, the date, the coordinate system and the map approval number (审图号) — the slot
is left blank ("审图号：________") when the project has none, for the approval authority
to fill in before publication — and one line per analysis result shown saying where it came
from (its provenance: analysis, software, time, inputs with sha256, standards).
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PyQt5.QtGui import (QBrush, QColor, QFontMetricsF, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter,
                         QPen)

from riskmap import crs as crs_policy
from riskmap.errors import ParameterError, RiskmapError
from riskmap.i18n import tr
from riskmap.io import atomic_path
from riskmap.layers import RasterLayer, VectorLayer
from riskmap.layers.style import RAMPS
from riskmap.ui import render
from riskmap.ui.fonts import pixel_font

#: Paper sizes in millimetres (landscape: width ≥ height).
PAPERS = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}
ORIENTATIONS = ("landscape", "portrait")
#: Largest raster a print may allocate (pixels), so a typo in --dpi cannot eat the memory.
MAX_PIXELS = 120_000_000
APPROVAL_BLANK = "________"


@dataclass
class PrintResult:
    """What :func:`print_map` wrote."""

    path: Path
    width_px: int
    height_px: int
    dpi: float
    extent: tuple
    seconds: float


def page_size_px(paper: str = "A4", orientation: str = "landscape", dpi: float = 150) -> tuple[int, int]:
    """Page size in device pixels for a paper, orientation and resolution."""
    paper = _check_paper(paper)
    orientation = _check_orientation(orientation)
    w_mm, h_mm = PAPERS[paper]
    if orientation == "portrait":
        w_mm, h_mm = h_mm, w_mm
    return int(round(w_mm / 25.4 * dpi)), int(round(h_mm / 25.4 * dpi))


def _check_paper(paper: str) -> str:
    key = str(paper).upper()
    if key not in PAPERS:
        raise ParameterError(tr(f"未知纸张“{paper}”，请使用 {'或'.join(PAPERS)}", f"unknown paper size {paper!r}; use {' or '.join(PAPERS)}"))
    return key


def _check_orientation(orientation: str) -> str:
    key = str(orientation).lower()
    if key not in ORIENTATIONS:
        raise ParameterError(tr(f"未知方向“{orientation}”，请使用 landscape（横向）或 portrait（纵向）", f"unknown orientation {orientation!r}; use landscape or portrait"))
    return key


def print_map(project, out_path, paper: str = "A4", orientation: str = "landscape", dpi: float = 150,
              title: str | None = None, extent=None, width: int | None = None, height: int | None = None,
              highlights=None, date: _dt.date | None = None, basemap=None) -> PrintResult:
    """Print ``project``'s visible layers to a PNG or PDF page with the full layout.

    Parameters
    ----------
    project : riskmap.project.Project
        Layers (bottom first), map CRS, title, approval number (``project.approval_number``)
        and ``project.extras["data_sources"]`` (else the layers' sources are listed).
    out_path : path
        ``.png`` or ``.pdf``; written atomically.
    paper, orientation, dpi
        ``"A4"``/``"A3"``, ``"landscape"``/``"portrait"``, resolution of the map and PNG.
    title : str, optional
        Defaults to ``project.title``.
    extent : (minx, miny, maxx, maxy), optional
        Map CRS; default the project's view, else all layers. Grown to the frame's shape.
    width, height : int, optional
        A free page size in pixels instead of a paper (both, or one with the paper's shape).
    highlights : {layer: indices}, optional
        Features drawn in the selection colour.
    basemap : riskmap.ui.basemap.BaseMap, optional
        A base map drawn under the layers, its attribution in the map's lower right corner.

    Returns
    -------
    PrintResult

    Raises
    ------
    ParameterError
        For an unknown paper, orientation, suffix, or a bad size or resolution.
    """
    import time

    t0 = time.perf_counter()
    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".pdf"):
        raise ParameterError(tr(f"无法打印到“{out.name}”：输出文件须以 .png 或 .pdf 结尾", f"cannot print to {out.name!r}: the output must end with .png or .pdf"))
    if not (isinstance(dpi, (int, float)) and 30 <= float(dpi) <= 1200):
        raise ParameterError(tr(f"--dpi 须在 30 到 1200 之间，而不是 {dpi}", f"--dpi must be between 30 and 1200, not {dpi}"))
    dpi = float(dpi)
    page_w, page_h = _page_pixels(paper, orientation, dpi, width, height)
    if page_w * page_h > MAX_PIXELS:
        raise ParameterError(tr(f"{page_w}×{page_h} 像素的页面过大，请降低 --dpi 或尺寸", f"a {page_w}×{page_h} px page is too large; lower --dpi or the size"))
    layout = PageLayout(project, page_w, page_h, dpi, title=title, extent=extent, highlights=highlights,
                        date=date, basemap=basemap)
    layout.vector = suffix == ".pdf"
    try:
        with atomic_path(out, suffix=suffix) as tmp:
            if suffix == ".png":
                _write_png(layout, tmp)
            else:
                _write_pdf(layout, tmp)
    except RiskmapError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ParameterError(tr(f"无法写入“{out.name}”（{reason}）；请检查文件夹是否可写",
                                f"could not write {out.name!r} ({reason}); check the folder is writable"),
                             out) from exc
    return PrintResult(out, page_w, page_h, dpi, layout.map_extent, time.perf_counter() - t0)


def _page_pixels(paper, orientation, dpi, width, height) -> tuple[int, int]:
    if width is None and height is None:
        return page_size_px(paper, orientation, dpi)
    pw, ph = page_size_px(paper, orientation, dpi)
    if width is not None and height is None:
        height = int(round(width * ph / pw))
    elif height is not None and width is None:
        width = int(round(height * pw / ph))
    width, height = int(width), int(height)
    if not (100 <= width <= 20000 and 100 <= height <= 20000):
        raise ParameterError(tr(f"页面尺寸 {width}×{height} 像素超出范围，每边须在 100–20000 像素之间", f"the page size {width}×{height} px is out of range; use 100–20000 px per side"))
    return width, height


def _write_png(layout: "PageLayout", path: Path) -> None:
    image = QImage(layout.width, layout.height, QImage.Format_ARGB32_Premultiplied)
    image.fill(QColor("#ffffff"))
    dpm = int(round(layout.dpi / 0.0254))
    image.setDotsPerMeterX(dpm)
    image.setDotsPerMeterY(dpm)
    painter = QPainter(image)
    try:
        layout.paint(painter)
    finally:
        painter.end()
    if not image.convertToFormat(QImage.Format_RGB32).save(str(path), "PNG"):
        raise OSError("Qt could not write the PNG")


def _write_pdf(layout: "PageLayout", path: Path) -> None:
    writer = QPdfWriter(str(path))
    writer.setResolution(int(round(layout.dpi)))
    size_mm = QSizeF(layout.width / layout.dpi * 25.4, layout.height / layout.dpi * 25.4)
    writer.setPageLayout(QPageLayout(QPageSize(size_mm, QPageSize.Millimeter), QPageLayout.Portrait,
                                     QMarginsF(0, 0, 0, 0)))
    writer.setTitle(layout.title)
    writer.setCreator("riskmap")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("Qt could not start the PDF")
    try:
        sx = writer.width() / layout.width
        sy = writer.height() / layout.height
        if abs(sx - 1) > 1e-3 or abs(sy - 1) > 1e-3:  # rounding of the page to whole device units
            painter.scale(sx, sy)
        layout.paint(painter)
    finally:
        painter.end()


def paint_attribution(painter: QPainter, frame: QRectF, text: str, font_px: float, pad: float) -> None:
    """A base map's attribution, on a light box in the lower right corner of ``frame`` (prints, atlas)."""
    if not text:
        return
    font = pixel_font(font_px)
    metrics = QFontMetricsF(font)
    w, h = metrics.horizontalAdvance(text) + 2 * pad, metrics.height() + pad
    box = QRectF(frame.right() - w, frame.bottom() - h, w, h)
    painter.save()
    painter.fillRect(box, QColor(255, 255, 255, 200))
    painter.setFont(font)
    painter.setPen(QColor("#333333"))
    painter.drawText(box, Qt.AlignCenter, text)
    painter.restore()


class PageLayout:
    """Where everything goes on a page of ``width × height`` device pixels at ``dpi``."""

    def __init__(self, project, width: int, height: int, dpi: float, title=None, extent=None, highlights=None,
                 date=None, basemap=None):
        self.project = project
        self.basemap = basemap
        self.width, self.height, self.dpi = int(width), int(height), float(dpi)
        self.title = title if title is not None else (project.title or "")
        self.highlights = highlights or {}
        self.date = date or _dt.date.today()
        self.mm = self.dpi / 25.4  # device pixels per millimetre
        self.s = self.dpi / 96.0  # style scale
        # The layout is designed for a page ~297 mm wide; small free-size pages shrink it.
        page_mm = min(self.width, self.height) / self.mm
        self.k = max(0.45, min(1.0, page_mm / 170.0))
        m = 8.0 * self.mm * self.k
        self.margin = m
        title_h = (12.0 * self.mm * self.k) if self.title else 0.0
        from riskmap.analysis.result import layers_provenance

        # one footer line per analysis run shown (its provenance), at most three
        self.provenance = layers_provenance([layer for layer in project.layers if layer.visible])[:MAX_PROVENANCE_LINES]
        footer_h = (11.0 + 3.6 * len(self.provenance)) * self.mm * self.k
        gap = 4.0 * self.mm * self.k
        self.title_rect = QRectF(m, m, self.width - 2 * m, title_h)
        top = m + title_h + (2.0 * self.mm * self.k if title_h else 0.0)
        self.footer_rect = QRectF(m, self.height - m - footer_h, self.width - 2 * m, footer_h)
        bottom = self.footer_rect.top() - 2.0 * self.mm * self.k
        inner_w = self.width - 2 * m
        if self.height > self.width * 1.1:
            # portrait: the legend is a band of columns under a full-width map
            self.legend_columns = 3 if inner_w / self.mm >= 150 else 2
            rows = self._legend_rows()
            needed = sum(self.ROW_MM * (1.15 if kind == "header" else 1.0) for kind, *_ in rows) * self.mm * self.k
            band = needed / self.legend_columns + 14.0 * self.mm * self.k
            band = min(band, (bottom - top) * 0.38)
            self.map_rect = QRectF(m, top, inner_w, bottom - top - band - gap)
            self.legend_rect = QRectF(m, self.map_rect.bottom() + gap, inner_w, band)
        else:
            self.legend_columns = 1
            legend_w = min(62.0 * self.mm * self.k, self.width * 0.3)
            self.map_rect = QRectF(m, top, inner_w - legend_w - gap, bottom - top)
            self.legend_rect = QRectF(self.map_rect.right() + gap, top, legend_w, bottom - top)
        map_w, map_h = int(round(self.map_rect.width())), int(round(self.map_rect.height()))
        self.map_size = (max(1, map_w), max(1, map_h))
        bbox = extent or project.extent or project.full_extent() or (113.7, 31.4, 115.9, 32.7)
        self.map_extent = render.fit_extent(bbox, map_w, map_h, project.map_crs)

    # -- painting -------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        """Draw the whole page."""
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.setRenderHint(QPainter.TextAntialiasing, True)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
        painter.fillRect(QRectF(0, 0, self.width, self.height), QColor("#ffffff"))
        self._paint_title(painter)
        self._paint_map(painter)
        self._paint_legend(painter)
        self._paint_footer(painter)

    def _pt(self, points: float) -> float:
        """Font size in device pixels for ``points`` (scaled with the layout)."""
        return points * self.dpi / 72.0 * self.k

    def _paint_title(self, painter: QPainter) -> None:
        if not self.title:
            return
        font = pixel_font(self._pt(18), bold=True)
        painter.setFont(font)
        painter.setPen(QColor("#111111"))
        text = QFontMetricsF(font).elidedText(self.title, Qt.ElideRight, self.title_rect.width())
        painter.drawText(self.title_rect, Qt.AlignCenter, text)

    #: Paint vector layers straight onto the page (a PDF keeps them vector) instead of through one image.
    vector = False

    def _paint_map(self, painter: QPainter) -> None:
        w, h = self.map_size
        self._paint_basemap(painter, w, h)
        if self.vector:
            self._paint_map_vector(painter, w, h)
        else:
            # a one-off picture: rasters are read and coloured at the print's own resolution
            image = render.render_layers(list(self.project.layers), self.map_extent, w, h, self.project.map_crs,
                                         self.dpi, highlights=self.highlights, raster_cache="off",
                                         background=self._map_background())
            painter.drawImage(self.map_rect, image, QRectF(0, 0, image.width(), image.height()))
        self._paint_attribution(painter)
        painter.setPen(QPen(QColor("#333333"), max(1.0, 0.3 * self.mm)))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(self.map_rect)
        scale = self.s * self.k
        mpp = render.metres_per_pixel(self.map_extent, w, self.project.map_crs)
        pad = 3.0 * self.mm * self.k
        painter.save()
        painter.setClipRect(self.map_rect)
        render.draw_scale_bar(painter, self.map_rect.left() + pad, self.map_rect.bottom() - pad, mpp, scale,
                              max_width=min(200.0, w / 3.0 / scale))
        render.draw_north_arrow(painter, self.map_rect.right() - pad - 20 * scale, self.map_rect.top() + pad, scale)
        painter.restore()
        self.scale_denominator = mpp / (0.0254 / self.dpi)

    def _paint_map_vector(self, painter: QPainter, w: int, h: int) -> None:
        """The map layer by layer onto ``painter``: vector layers as paths, rasters and labels as images at
        the print resolution (the PDF path; the PNG path composes one image)."""
        view = render.MapView(tuple(float(v) for v in self.map_extent), w, h, self.dpi, self.project.map_crs)
        layers = [layer for layer in self.project.layers if layer.visible]
        snaps = [(layer, render.snapshot(layer, view, raster_cache="off")) for layer in layers]
        for layer, indices in (self.highlights or {}).items():
            if isinstance(layer, VectorLayer) and len(indices):
                snaps.append((None, render.snapshot(layer, view, subset=indices, highlight=True)))
        painter.save()
        painter.translate(self.map_rect.topLeft())
        painter.setClipRect(QRectF(0, 0, w, h))
        background = self._map_background()
        if background:
            painter.fillRect(QRectF(0, 0, w, h), render.qcolor(background))
        for layer, snap in snaps:
            painter.setOpacity(layer.opacity if layer is not None else 1.0)
            if snap.kind == "vector":
                render.paint_vector(painter, snap)
            else:
                painter.drawImage(QPointF(0, 0), render.render_layer(snap))
        painter.setOpacity(1.0)
        plain = [snap for _layer, snap in snaps]
        labels = render.render_labels(plain, plain)
        if labels is not None:
            painter.drawImage(QPointF(0, 0), labels)
        painter.restore()

    def _map_background(self):
        """The map's background colour: none over a base map."""
        return None if self.basemap is not None else render.BACKGROUND

    def _paint_basemap(self, painter: QPainter, w: int, h: int) -> None:
        """The base map (if any) into the map frame, under the layers."""
        if self.basemap is None:
            return
        base = self.basemap.render(self.map_extent, w, h, self.project.map_crs, self.dpi)
        if base is not None:
            painter.drawImage(self.map_rect, base, QRectF(0, 0, base.width(), base.height()))

    def _paint_attribution(self, painter: QPainter) -> None:
        """The base map's attribution in the lower right corner of the map frame."""
        text = self.basemap.attribution if self.basemap is not None else ""
        paint_attribution(painter, self.map_rect, text, self._pt(6.5), 1.0 * self.mm * self.k)

    def _legend_rows(self) -> list[tuple]:
        """``[(kind, text, layer, colour), ...]``: headers and symbol rows, top layer first."""
        rows = []
        for layer in reversed(list(self.project.layers)):
            if not layer.visible:
                continue
            entries = layer.style.legend()
            if isinstance(layer, RasterLayer):
                rows.append(("header", layer.name, layer, None))
                rows.append(("ramp", "", layer, None))
            elif entries:
                rows.append(("header", layer.name, layer, None))
                rows.extend(("entry", label, layer, colour) for label, colour in entries)
            else:
                rows.append(("single", layer.name, layer, layer.style.color))
        return rows

    #: Height of a legend row (millimetres, before shrinking to fit).
    ROW_MM = 4.8

    def _paint_legend(self, painter: QPainter) -> None:
        rect = self.legend_rect
        rows = self._legend_rows()
        painter.save()
        painter.setPen(QPen(QColor("#333333"), max(1.0, 0.3 * self.mm)))
        painter.setBrush(QColor("#ffffff"))
        painter.drawRect(rect)
        pad = 3.0 * self.mm * self.k
        head_font = pixel_font(self._pt(12), bold=True)
        painter.setFont(head_font)
        painter.setPen(QColor("#111111"))
        head_h = QFontMetricsF(head_font).height()
        painter.drawText(QRectF(rect.left() + pad, rect.top() + pad, rect.width() - 2 * pad, head_h),
                         Qt.AlignLeft | Qt.AlignVCenter, tr("图例", "Legend"))
        top = rect.top() + pad + head_h + pad * 0.6
        bottom = rect.bottom() - pad
        columns = max(1, self.legend_columns)
        col_w = (rect.width() - 2 * pad) / columns
        # shrink the rows until they fit (down to 50 %), then cut the list with an ellipsis
        base_row = self.ROW_MM * self.mm * self.k
        needed = sum(base_row * (1.15 if kind == "header" else 1.0) for kind, *_ in rows)
        capacity = (bottom - top) * columns * (0.92 if columns > 1 else 1.0)  # column breaks waste a little
        factor = max(0.5, min(1.0, capacity / needed)) if needed > 0 else 1.0
        row_h = base_row * factor
        text_font = pixel_font(self._pt(8.5) * factor)
        layer_font = pixel_font(self._pt(9) * factor, bold=True)
        sym_w = 9.0 * self.mm * self.k * factor
        column, y = 0, top
        for i, (kind, text, layer, colour) in enumerate(rows):
            h = row_h * (1.15 if kind == "header" else 1.0)
            keep_with_next = row_h if kind == "header" else 0.0  # never a header alone at a column's foot
            if y + h + keep_with_next > bottom and y > top:
                column, y = column + 1, top
            left = rect.left() + pad + column * col_w
            width = col_w - (2.0 * self.mm * self.k if columns > 1 else 0.0)
            if column >= columns:
                painter.setFont(text_font)
                painter.setPen(QColor("#555555"))
                last = rect.left() + pad + (columns - 1) * col_w
                painter.drawText(QRectF(last, bottom - row_h * 0.9, col_w, row_h), Qt.AlignLeft | Qt.AlignVCenter,
                                 f"…（{len(rows) - i} {tr('项未列出', 'more')}）")
                break
            text_x = left + sym_w + 2.0 * self.mm * self.k
            if kind == "header":
                painter.setFont(layer_font)
                painter.setPen(QColor("#111111"))
                painter.drawText(QRectF(left, y, width, h), Qt.AlignLeft | Qt.AlignVCenter,
                                 QFontMetricsF(layer_font).elidedText(text, Qt.ElideRight, width))
            elif kind == "ramp":
                self._paint_ramp(painter, layer, QRectF(left, y + h * 0.15, width, h * 0.7), text_font)
            else:
                self._paint_symbol(painter, layer, colour, QRectF(left, y + h * 0.1, sym_w, h * 0.8), factor)
                font = layer_font if kind == "single" else text_font
                painter.setFont(font)
                painter.setPen(QColor("#111111"))
                text_w = left + width - text_x
                painter.drawText(QRectF(text_x, y, text_w, h), Qt.AlignLeft | Qt.AlignVCenter,
                                 QFontMetricsF(font).elidedText(str(text), Qt.ElideRight, text_w))
            y += h
        painter.restore()

    def _paint_symbol(self, painter: QPainter, layer, colour, rect: QRectF, factor: float) -> None:
        style = layer.style
        scale = self.s * self.k * factor
        painter.save()
        painter.setOpacity(max(0.2, layer.opacity))
        geom = getattr(layer, "geom_type", "Polygon") if isinstance(layer, VectorLayer) else "Polygon"
        c = rect.center()
        if geom == "Point":
            size = min(style.size * scale * 1.2, rect.height())
            stroke = render.qcolor(style.stroke) if style.stroke else None
            symbol = style.symbol if style.symbol in render.SYMBOLS else "circle"
            img = render.symbol_image(symbol, size, render.qcolor(colour, render.point_fill_alpha(style)), stroke,
                                      max(0.8, scale))
            painter.drawImage(QPointF(c.x() - img.width() / 2.0, c.y() - img.height() / 2.0), img)
        elif geom == "LineString":
            pen = QPen(render.qcolor(colour), max(1.0, style.width * scale))
            pen.setCapStyle(Qt.RoundCap)
            if style.dash:
                pen.setStyle(Qt.CustomDashLine)
                pen.setDashPattern([4.0, 2.5])
            painter.setPen(pen)
            painter.drawLine(QPointF(rect.left(), c.y()), QPointF(rect.right(), c.y()))
        else:
            box = rect.adjusted(rect.width() * 0.1, rect.height() * 0.1, -rect.width() * 0.1, -rect.height() * 0.1)
            painter.setBrush(QBrush(render.qcolor(colour, max(style.fill_opacity, 0.15))))
            pen = QPen(render.qcolor(style.stroke or colour), max(1.0, min(style.width, 2.0) * scale))
            painter.setPen(pen)
            painter.drawRect(box)
        painter.restore()

    def _paint_ramp(self, painter: QPainter, layer, rect: QRectF, font) -> None:
        style = layer.style
        metrics = QFontMetricsF(font)
        label_w = metrics.horizontalAdvance("0000000")
        bar = QRectF(rect.left(), rect.top(), max(10.0, rect.width() - label_w * 2), rect.height())
        bar.moveLeft(rect.left() + label_w)
        painter.save()
        painter.setOpacity(max(0.3, layer.opacity))
        painter.setPen(QPen(QColor("#555555"), 1.0))
        lo, hi, t0, t1 = _ramp_range(layer)
        painter.setBrush(QBrush(render.ramp_gradient(style.ramp if style.ramp in RAMPS else "greys", bar, t0, t1)))
        painter.drawRect(bar)
        painter.setOpacity(1.0)
        painter.setFont(font)
        painter.setPen(QColor("#111111"))
        painter.drawText(QRectF(rect.left(), rect.top(), label_w - 4, rect.height()), Qt.AlignRight | Qt.AlignVCenter,
                         lo)
        painter.drawText(QRectF(bar.right() + 4, rect.top(), label_w, rect.height()), Qt.AlignLeft | Qt.AlignVCenter,
                         hi)
        painter.restore()

    def _paint_footer(self, painter: QPainter) -> None:
        rect = self.footer_rect
        font = pixel_font(self._pt(8))
        metrics = QFontMetricsF(font)
        line_h = metrics.height() * 1.25
        painter.save()
        painter.setPen(QPen(QColor("#999999"), max(1.0, 0.2 * self.mm)))
        painter.drawLine(QPointF(rect.left(), rect.top()), QPointF(rect.right(), rect.top()))
        painter.setFont(font)
        painter.setPen(QColor("#222222"))
        approval = (self.project.approval_number or "").strip() or APPROVAL_BLANK
        right_text = f"{tr('审图号', 'Approval No.')}：{approval}"
        right_w = metrics.horizontalAdvance(right_text) + 4
        left_w = rect.width() - right_w - 6 * self.mm * self.k
        sources = f"{tr('数据来源', 'Data sources')}：{data_sources(self.project)}"
        denominator = getattr(self, "scale_denominator", float("nan"))
        meta = "   ".join(filter(None, [
            f"{tr('坐标系', 'CRS')}：{crs_label(self.project.map_crs)}",
            f"{tr('比例尺', 'Scale')} 1:{_round_scale(denominator):,}" if math.isfinite(denominator) else "",
            f"{tr('制图日期', 'Date')}：{self.date.isoformat()}",
            f"{tr('制图', 'Made with')}：riskmap",
        ]))
        y = rect.top() + line_h * 0.3
        painter.drawText(QRectF(rect.left(), y, left_w, line_h), Qt.AlignLeft | Qt.AlignVCenter,
                         metrics.elidedText(sources, Qt.ElideRight, left_w))
        painter.drawText(QRectF(rect.left(), y + line_h, left_w, line_h), Qt.AlignLeft | Qt.AlignVCenter,
                         metrics.elidedText(meta, Qt.ElideRight, left_w))
        painter.drawText(QRectF(rect.right() - right_w, y, right_w, line_h), Qt.AlignRight | Qt.AlignVCenter,
                         right_text)
        from riskmap.analysis.result import provenance_line

        width = rect.width()
        for i, record in enumerate(self.provenance):
            text = f"{tr('结果来源', 'Results from')}：{provenance_line(record)}"
            painter.drawText(QRectF(rect.left(), y + (2 + i) * line_h, width, line_h), Qt.AlignLeft | Qt.AlignVCenter,
                             metrics.elidedText(text, Qt.ElideRight, width))
        painter.restore()


#: Provenance lines (analysis runs) shown in the footer at most.
MAX_PROVENANCE_LINES = 3


def data_sources(project) -> str:
    """The data-sources line: ``project.extras['data_sources']``, else the visible layers' files."""
    text = (project.extras or {}).get("data_sources") if hasattr(project, "extras") else None
    if text:
        return str(text)
    names = []
    for layer in project.layers:
        if not layer.visible:
            continue
        src = getattr(layer, "source", None)
        name = os.path.basename(str(src)) if src else layer.name
        if name and name not in names:
            names.append(name)
    return "；".join(names) if names else "—"


def crs_label(crs) -> str:
    """``"China Geodetic Coordinate System 2000 (EPSG:4490)"``-style label of a CRS."""
    with crs_policy.PROJ_LOCK if hasattr(crs_policy, "PROJ_LOCK") else _nullcontext():
        parsed = crs_policy.parse_crs(crs)
        code = parsed.to_epsg()
        name = parsed.name
    if code == 4490:
        name = "CGCS2000"
    return f"{name} (EPSG:{code})" if code else name


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _round_scale(denominator: float) -> int:
    """A scale denominator rounded to two significant digits (1:1,234,567 → 1:1,200,000)."""
    if not math.isfinite(denominator) or denominator <= 0:
        return 0
    digits = max(0, int(math.floor(math.log10(denominator))) - 1)
    return int(round(denominator / 10 ** digits) * 10 ** digits)


def _ramp_range(layer) -> tuple[str, str, float, float]:
    """Legend labels of a raster ramp and the part of the ramp they span.

    The labels are the style's limits clipped to the data (2nd–98th percentile), so a ramp
    that starts below the lowest value (e.g. to keep plains green) is not labelled with a
    height no cell has; ``t0, t1`` are the matching positions along the ramp.
    """
    style = layer.style
    try:
        data_lo, data_hi = layer.statistics()
    except Exception:  # noqa: BLE001 - a legend without numbers is still a legend
        data_lo, data_hi = float("nan"), float("nan")
    vmin = style.vmin if style.vmin is not None else data_lo
    vmax = style.vmax if style.vmax is not None else data_hi
    lo = max(vmin, data_lo) if math.isfinite(data_lo) else vmin
    hi = min(vmax, data_hi) if math.isfinite(data_hi) and style.vmax is None else vmax
    t0, t1 = 0.0, 1.0
    if all(math.isfinite(v) for v in (vmin, vmax, lo, hi)) and vmax > vmin:
        def pos(v):
            if style.log:
                return (math.log10(max(v, 0) + 1) - math.log10(max(vmin, 0) + 1)) / \
                    ((math.log10(max(vmax, 0) + 1) - math.log10(max(vmin, 0) + 1)) or 1.0)
            return (v - vmin) / (vmax - vmin)

        t0, t1 = min(max(pos(lo), 0.0), 1.0), min(max(pos(hi), 0.0), 1.0)
        if t1 <= t0:
            t0, t1 = 0.0, 1.0

    def fmt(v):
        if not math.isfinite(v):
            return ""
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"

    return fmt(lo), fmt(hi), t0, t1
