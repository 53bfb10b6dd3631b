"""County atlas PDF of the 安全风险四色分布图: a cover page and one A3 page per county.

Each county page has the four-colour map of its townships with the risk items on top (plants and
tailings ponds as points, pipeline HCAs and road hazard segments as lines, coloured by level), the
township names, a scale bar and north arrow, the legend, a table of the county's highest items, the
审图号 slot and a provenance footer. Polygons, lines and all text are vector in the PDF: vector layers
are painted straight onto the page (:func:`riskmap.ui.render.vector.paint_vector`), not through an image;
point symbols and any raster are images at the page resolution (200 dpi by default).

Text copies and searches correctly: the CJK font registered with Qt is the copy without radical aliases
(:func:`riskmap.ui.fonts.unaliased_font_path`), so "风险" comes out of ``pdftotext`` as 风险, not ⻛险.
"""
from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from PyQt5.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PyQt5.QtGui import QColor, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from riskmap import crs as crs_policy
from riskmap.analysis.fourcolour import COLOURS, LEVELS
from riskmap.errors import ParameterError, RiskmapError
from riskmap.i18n import tr
from riskmap.io import atomic_path
from riskmap.layers import RasterLayer, VectorLayer
from riskmap.layers.style import Style
from riskmap.ui import render
from riskmap.ui.fonts import pixel_font
from riskmap.exports.fourcolour_style import area_style, item_style, level_labels, split_items
from riskmap.ui.printing import APPROVAL_BLANK, crs_label

#: A3 landscape (mm).
PAGE_MM = (420.0, 297.0)
#: Lowest resolution of the images in the atlas (point symbols, rasters).
MIN_DPI = 200.0


class AtlasCancelled(RiskmapError):
    """The user cancelled the atlas (nothing is written)."""


@dataclass
class AtlasResult:
    """What :func:`write_atlas` wrote."""

    path: Path
    pages: int
    counties: list
    seconds: float


def _level_colour(level: str, colours: dict) -> QColor:
    return QColor(colours.get(level, COLOURS.get(level, "#cccccc")))


class AtlasWriter:
    """Lays out and paints the atlas pages (device pixels at ``dpi``)."""

    def __init__(self, townships, items, counties, *, colours=None, title=None, approval=None,
                 provenance=None, data_sources=None, dpi=MIN_DPI, top_n=12, context_layers=(), date=None,
                 basemap=None):
        self.dpi = float(dpi)
        self.basemap = basemap  # riskmap.ui.basemap.BaseMap drawn under the map, with its attribution
        self.mm = self.dpi / 25.4
        self.width = int(round(PAGE_MM[0] * self.mm))
        self.height = int(round(PAGE_MM[1] * self.mm))
        self.colours = colours or COLOURS
        self.title = title or tr("信阳市安全风险四色分布图集", "Xinyang four-colour risk atlas")
        self.approval = (approval or "").strip() or APPROVAL_BLANK
        self.provenance = provenance or {}
        self.data_sources = data_sources or ""
        self.top_n = int(top_n)
        self.date = date or _dt.date.today()
        self.counties = counties.to_crs(crs_policy.MAP_CRS).reset_index(drop=True)
        self.county_names = [str(n) for n in self.counties["name"]]
        map_crs = crs_policy.MAP_CRS
        self.map_crs = map_crs
        self.items = items.to_crs(map_crs)
        self.townships = townships.to_crs(map_crs).reset_index(drop=True) if townships is not None else None
        self.county_layer = VectorLayer(self.counties, tr("县区", "Counties"), map_crs=map_crs,
                                        style=Style(color="#f2f2f2", stroke="#8a8a8a", width=0.8,
                                                    fill_opacity=0.0 if basemap is not None else 1.0))
        self.county_outline = VectorLayer(self.counties, tr("县区界", "County boundary"), map_crs=map_crs,
                                          style=Style(color="#000000", stroke="#1a1a1a", width=2.2, fill_opacity=0.0))
        self.town_layer = None
        if self.townships is not None and len(self.townships):
            self.town_layer = VectorLayer(self.townships, tr("乡镇（街道）", "Townships"), map_crs=map_crs,
                                          style=area_style(self.colours, None))
        points, lines = split_items(self.items)
        self.item_layers = []  # (layer, county of each feature)
        if len(lines):
            # a dark casing under the coloured line, so a yellow segment shows on a yellow township
            self.item_layers.append(VectorLayer(lines, tr("风险路段衬线", "Risk segment casing"), map_crs=map_crs,
                                                style=Style(color="#333333", stroke="#333333", width=5.0)))
            self.item_layers.append(VectorLayer(lines, tr("风险路段与管段", "Risk segments"), map_crs=map_crs,
                                                style=item_style(self.colours, lines=True)))
        if len(points):
            self.item_layers.append(VectorLayer(points, tr("风险点", "Risk points"), map_crs=map_crs,
                                                style=item_style(self.colours)))
        self.context_layers = list(context_layers)
        self.page_count = 1 + len(self.county_names)

    # -- geometry of a page -------------------------------------------------------------------
    def _pt(self, points: float) -> float:
        return points * self.dpi / 72.0

    def frames(self):
        m = 10 * self.mm
        title = QRectF(m, m, self.width - 2 * m, 14 * self.mm)
        footer_h = 16 * self.mm
        footer = QRectF(m, self.height - m - footer_h, self.width - 2 * m, footer_h)
        top = title.bottom() + 3 * self.mm
        bottom = footer.top() - 3 * self.mm
        side_w = 128 * self.mm
        mapr = QRectF(m, top, self.width - 2 * m - side_w - 5 * self.mm, bottom - top)
        side = QRectF(mapr.right() + 5 * self.mm, top, side_w, bottom - top)
        return title, mapr, side, footer

    # -- painting ------------------------------------------------------------------------------
    def paint_map(self, painter: QPainter, rect: QRectF, bbox, county: str | None) -> float:
        """The map of ``bbox`` into ``rect``; returns the metres per pixel."""
        w, h = int(rect.width()), int(rect.height())
        extent = render.fit_extent(_pad(bbox, 0.04), w, h, self.map_crs)
        view = render.MapView(tuple(float(v) for v in extent), w, h, self.dpi, self.map_crs)
        layers = [self.county_layer] + self.context_layers
        subsets = {}
        if self.town_layer is not None:
            layers.append(self.town_layer)
            if county is not None:
                subsets[self.town_layer.id] = np.flatnonzero(self.townships["county"].astype(str).to_numpy()
                                                             == county)
        layers += self.item_layers + [self.county_outline]
        if county is not None:
            subsets[self.county_outline.id] = np.flatnonzero(np.array(self.county_names) == county)
            for layer in self.item_layers:  # a county page shows that county's items (those its table lists)
                subsets[layer.id] = np.flatnonzero(layer.gdf["county"].astype(str).to_numpy() == county)
        painter.save()
        painter.translate(rect.topLeft())
        painter.setClipRect(QRectF(0, 0, w, h))
        painter.fillRect(QRectF(0, 0, w, h), QColor("#ffffff"))
        if self.basemap is not None:
            base = self.basemap.render(view.extent, w, h, self.map_crs, self.dpi)
            if base is not None:
                painter.drawImage(QRectF(0, 0, w, h), base, QRectF(0, 0, base.width(), base.height()))
        for layer in layers:
            if not layer.visible:
                continue
            snap = render.snapshot(layer, view, subset=subsets.get(layer.id), raster_cache="off")
            if isinstance(layer, RasterLayer):
                painter.setOpacity(layer.opacity)
                painter.drawImage(QPointF(0, 0), render.render_layer(snap))
                painter.setOpacity(1.0)
            else:
                painter.setOpacity(layer.opacity)
                render.paint_vector(painter, snap)
                painter.setOpacity(1.0)
        painter.setRenderHint(QPainter.Antialiasing, True)
        self._paint_area_names(painter, view, county)
        painter.restore()
        painter.setPen(QPen(QColor("#333333"), max(1.0, 0.3 * self.mm)))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(rect)
        mpp = render.metres_per_pixel(extent, w, self.map_crs)
        scale = self.dpi / 96.0
        pad = 4 * self.mm
        painter.save()
        painter.setClipRect(rect)
        render.draw_scale_bar(painter, rect.left() + pad, rect.bottom() - pad, mpp, scale, max_width=220.0)
        render.draw_north_arrow(painter, rect.right() - pad - 20 * scale, rect.top() + pad, scale)
        self._paint_attribution(painter, rect)
        painter.restore()
        return mpp

    def _paint_attribution(self, painter: QPainter, rect: QRectF) -> None:
        """The base map's attribution in the lower right corner of the map frame."""
        from riskmap.ui.printing import paint_attribution

        text = getattr(self.basemap, "attribution", "") if self.basemap is not None else ""
        paint_attribution(painter, rect, text, self._pt(6.5), 1.0 * self.mm)

    def _paint_area_names(self, painter, view, county):
        """Township names (or county names on the cover) as real text at each area's inner point."""
        if county is None:
            frame, names, size = self.counties, self.counties["name"].astype(str), 12
        else:
            if self.townships is None:
                return
            frame = self.townships.loc[self.townships["county"].astype(str) == county]
            names, size = frame["name"].astype(str), 8
        if not len(frame):
            return
        pts = shapely.point_on_surface(frame.geometry.to_numpy())
        px, py = view.to_pixels(shapely.get_x(pts), shapely.get_y(pts))
        font = pixel_font(self._pt(size), bold=county is None)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        for name, x, y in zip(names, px.tolist(), py.tolist()):
            w = metrics.horizontalAdvance(name) + 4
            box = QRectF(x - w / 2, y - metrics.height() / 2, w, metrics.height())
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor(255, 255, 255, 170))
            painter.drawRoundedRect(box, 2, 2)
            painter.setPen(QColor("#111111"))
            painter.drawText(box, Qt.AlignCenter, name)

    def paint_title(self, painter, rect, text, sub=""):
        font = pixel_font(self._pt(22), bold=True)
        painter.setFont(font)
        painter.setPen(QColor("#111111"))
        painter.drawText(rect, Qt.AlignHCenter | Qt.AlignTop, text)
        if sub:
            small = pixel_font(self._pt(10))
            painter.setFont(small)
            painter.setPen(QColor("#444444"))
            painter.drawText(rect, Qt.AlignRight | Qt.AlignBottom, sub)

    def paint_legend(self, painter, rect: QRectF) -> float:
        """The legend box at the top of ``rect``; returns its bottom."""
        pad = 3 * self.mm
        row = 6.5 * self.mm
        rows = len(LEVELS) + 3
        box = QRectF(rect.left(), rect.top(), rect.width(), pad * 2 + row * (rows + 1))
        painter.save()
        painter.setPen(QPen(QColor("#333333"), max(1.0, 0.3 * self.mm)))
        painter.setBrush(QColor("#ffffff"))
        painter.drawRect(box)
        head = pixel_font(self._pt(12), bold=True)
        text = pixel_font(self._pt(10))
        painter.setFont(head)
        painter.setPen(QColor("#111111"))
        y = box.top() + pad
        painter.drawText(QRectF(box.left() + pad, y, box.width() - 2 * pad, row), Qt.AlignLeft | Qt.AlignVCenter,
                         tr("图例", "Legend"))
        y += row
        labels = level_labels()
        sym = QRectF(0, 0, 14 * self.mm, row * 0.7)
        painter.setFont(text)
        for level in LEVELS:
            sym.moveTopLeft(QPointF(box.left() + pad, y + row * 0.15))
            painter.setPen(QPen(QColor("#5a5a5a"), max(1.0, 0.2 * self.mm)))
            painter.setBrush(_level_colour(level, self.colours))
            painter.drawRect(sym)
            painter.setPen(QColor("#111111"))
            painter.drawText(QRectF(sym.right() + 3 * self.mm, y, box.width(), row), Qt.AlignLeft | Qt.AlignVCenter,
                             labels[level] + tr("（乡镇按其风险点最高等级着色）", "") if level == LEVELS[0] else
                             labels[level])
            y += row
        # item symbols and the county boundary
        c = QPointF(box.left() + pad + sym.width() / 2, y + row / 2)
        painter.setPen(QPen(QColor("#222222"), max(1.0, 0.25 * self.mm)))
        painter.setBrush(QColor("#888888"))
        painter.drawEllipse(c, 1.6 * self.mm, 1.6 * self.mm)
        painter.setPen(QColor("#111111"))
        painter.drawText(QRectF(sym.right() + 3 * self.mm, y, box.width(), row), Qt.AlignLeft | Qt.AlignVCenter,
                         tr("风险点：危险化学品企业、尾矿库（颜色为其等级）", "Risk points: plants, tailings ponds"))
        y += row
        pen = QPen(QColor("#888888"), 1.2 * self.mm)
        painter.setPen(pen)
        painter.drawLine(QPointF(box.left() + pad, y + row / 2), QPointF(sym.right(), y + row / 2))
        painter.setPen(QColor("#111111"))
        painter.drawText(QRectF(sym.right() + 3 * self.mm, y, box.width(), row), Qt.AlignLeft | Qt.AlignVCenter,
                         tr("风险路段：管道高后果区、道路隐患路段", "Risk segments: pipeline HCAs, road hazards"))
        y += row
        painter.setPen(QPen(QColor("#1a1a1a"), 0.7 * self.mm))
        painter.drawLine(QPointF(box.left() + pad, y + row / 2), QPointF(sym.right(), y + row / 2))
        painter.setPen(QColor("#111111"))
        painter.drawText(QRectF(sym.right() + 3 * self.mm, y, box.width(), row), Qt.AlignLeft | Qt.AlignVCenter,
                         tr("县区界；乡镇界为示意", "County boundary; townships are demo"))
        painter.restore()
        return box.bottom()

    def _fit_font(self, text: str, width: float, size_pt: float, bold=False):
        font = pixel_font(self._pt(size_pt), bold=bold)
        adv = QFontMetricsF(font).horizontalAdvance(text)
        if adv > width > 0:
            font = pixel_font(self._pt(size_pt) * width / adv * 0.98, bold=bold)
        return font

    def paint_table(self, painter, rect: QRectF, header: list, rows: list, widths: list, colours=None,
                    title: str = "") -> float:
        """A simple ruled table; ``colours[i]`` fills the first cell of row i. Returns the bottom."""
        row_h = 7.0 * self.mm
        painter.save()
        y = rect.top()
        if title:
            painter.setFont(pixel_font(self._pt(12), bold=True))
            painter.setPen(QColor("#111111"))
            painter.drawText(QRectF(rect.left(), y, rect.width(), row_h), Qt.AlignLeft | Qt.AlignVCenter, title)
            y += row_h
        max_rows = max(0, int((rect.bottom() - y) / row_h) - 1)
        rows = rows[:max_rows]
        total = float(sum(widths))
        xs = [rect.left()]
        for w in widths:
            xs.append(xs[-1] + rect.width() * w / total)
        for r, cells in enumerate([header] + rows):
            is_head = r == 0
            cell_y = y + r * row_h
            if is_head:
                painter.fillRect(QRectF(rect.left(), cell_y, rect.width(), row_h), QColor("#e8e8e8"))
            for c, text in enumerate(cells):
                cell = QRectF(xs[c], cell_y, xs[c + 1] - xs[c], row_h)
                if not is_head and c == 0 and colours:
                    painter.fillRect(cell.adjusted(1, 1, -1, -1), colours[r - 1])
                painter.setFont(self._fit_font(str(text), cell.width() - 2 * self.mm, 9, bold=is_head))
                painter.setPen(QColor("#111111"))
                painter.drawText(cell.adjusted(1 * self.mm, 0, -1 * self.mm, 0), Qt.AlignLeft | Qt.AlignVCenter,
                                 str(text))
            painter.setPen(QPen(QColor("#999999"), max(1.0, 0.15 * self.mm)))
            painter.drawLine(QPointF(rect.left(), cell_y + row_h), QPointF(rect.right(), cell_y + row_h))
        painter.restore()
        return y + (len(rows) + 1) * row_h

    def paint_footer(self, painter, rect: QRectF, page: int) -> None:
        from riskmap.analysis.result import provenance_line

        font = pixel_font(self._pt(8))
        metrics = QFontMetricsF(font)
        line_h = metrics.height() * 1.3
        painter.save()
        painter.setPen(QPen(QColor("#999999"), max(1.0, 0.2 * self.mm)))
        painter.drawLine(QPointF(rect.left(), rect.top()), QPointF(rect.right(), rect.top()))
        painter.setFont(font)
        painter.setPen(QColor("#222222"))
        right = f"{tr('审图号', 'Approval No.')}：{self.approval}    {tr('第', 'page ')}{page}/{self.page_count}" + \
            tr("页", "")
        right_w = metrics.horizontalAdvance(right) + 8
        left_w = rect.width() - right_w - 6 * self.mm
        y = rect.top() + line_h * 0.3
        meta = "   ".join(filter(None, [
            f"{tr('数据来源', 'Data sources')}：{self.data_sources}" if self.data_sources else "",
            f"{tr('坐标系', 'CRS')}：{crs_label(self.map_crs)}",
            f"{tr('制图日期', 'Date')}：{self.date.isoformat()}", f"{tr('制图', 'Made with')}：riskmap"]))
        painter.drawText(QRectF(rect.left(), y, left_w, line_h), Qt.AlignLeft | Qt.AlignVCenter,
                         metrics.elidedText(meta, Qt.ElideRight, left_w))
        painter.drawText(QRectF(rect.right() - right_w, y, right_w, line_h), Qt.AlignRight | Qt.AlignVCenter, right)
        if self.provenance:
            rule = (self.provenance.get("derived") or {}).get("rule_table")
            text = f"{tr('结果来源', 'Results from')}：{provenance_line(self.provenance)}"
            if rule:
                text += tr(f"；分级规则表 {rule}", f"; rule table {rule}")
            painter.drawText(QRectF(rect.left(), y + line_h, rect.width(), line_h), Qt.AlignLeft | Qt.AlignVCenter,
                             metrics.elidedText(text, Qt.ElideRight, rect.width()))
        painter.restore()

    def paint_cover(self, painter) -> None:
        title, mapr, side, footer = self.frames()
        self.paint_title(painter, title, self.title, tr(f"{self.date.year}年{self.date.month}月",
                                                        self.date.strftime("%B %Y")))
        self.paint_map(painter, mapr, tuple(self.counties.total_bounds), None)
        bottom = self.paint_legend(painter, side)
        levels = self.items["level"].astype(str).to_numpy()
        counties = self.items["county"].astype(str).to_numpy()
        rows, fills = [], []
        for name in self.county_names:
            sel = counties == name
            counts = [int((levels[sel] == lvl).sum()) for lvl in LEVELS]
            top = next((lvl for lvl, n in zip(LEVELS, counts) if n), "")
            rows.append([name] + [str(n) for n in counts] + [str(int(sel.sum()))])
            fills.append(_level_colour(top, self.colours) if top else QColor("#ffffff"))
        header = [tr("县区", "County")] + [tr(lvl, lvl) for lvl in LEVELS] + [tr("合计", "Total")]
        self.paint_table(painter, QRectF(side.left(), bottom + 5 * self.mm, side.width(),
                                         side.bottom() - bottom - 5 * self.mm), header, rows, [3, 2, 2, 2, 2, 2],
                         fills, tr("各县区风险点数（按等级）", "Risk items per county"))
        self.paint_footer(painter, footer, 1)

    def paint_county(self, painter, index: int) -> None:
        name = self.county_names[index]
        title, mapr, side, footer = self.frames()
        self.paint_title(painter, title, tr(f"{name}安全风险四色分布图", f"{name}: four-colour risk map"))
        bbox = tuple(self.counties.geometry.iloc[index].bounds)
        self.paint_map(painter, mapr, bbox, name)
        bottom = self.paint_legend(painter, side)
        sel = self.items.loc[self.items["county"].astype(str) == name].head(self.top_n)
        rows = [[str(i + 1), level_labels().get(lv, lv), src, nm, det]
                for i, (lv, src, nm, det) in enumerate(zip(sel["level"], sel["source_zh"], sel["name"],
                                                          sel["detail"]))]
        fills = [_level_colour(lv, self.colours) for lv in sel["level"]]
        header = [tr("序号", "No."), tr("风险等级", "Level"), tr("类别", "Source"), tr("名称", "Name"),
                  tr("说明", "Detail")]
        n_all = int((self.items["county"].astype(str) == name).sum())
        self.paint_table(painter, QRectF(side.left(), bottom + 5 * self.mm, side.width(),
                                         side.bottom() - bottom - 5 * self.mm), header, rows, [1.2, 2.6, 2.6, 5.5, 4.5],
                         fills, tr(f"主要风险点（共 {n_all} 个，列出前 {len(rows)} 个）",
                                   f"Main risk items ({len(rows)} of {n_all})"))
        self.paint_footer(painter, footer, index + 2)


def _pad(bbox, frac):
    x0, y0, x1, y1 = [float(v) for v in bbox]
    dx, dy = (x1 - x0) * frac, (y1 - y0) * frac
    return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def write_atlas(writer: AtlasWriter, out_path, progress=None, cancelled=None) -> AtlasResult:
    """Write the atlas pages of ``writer`` to the PDF ``out_path`` (atomically).

    ``progress(fraction, message)`` is called before each page; ``cancelled()`` returning True
    stops the atlas with :class:`AtlasCancelled` and leaves no file.
    """
    t0 = time.perf_counter()
    out = Path(out_path)
    if out.suffix.lower() != ".pdf":
        raise ParameterError(tr(f"图集须为 PDF 文件（.pdf），不是 {out.name!r}", f"the atlas must be a .pdf, not {out.name!r}"))
    progress = progress or (lambda f, m: None)
    cancelled = cancelled or (lambda: False)
    from riskmap.ui.fonts import register_cjk_font

    register_cjk_font()  # the unaliased CJK font, in this application (no-op when it is there)
    try:
        with atomic_path(out, suffix=".pdf") as tmp:
            pdf = QPdfWriter(str(tmp))
            pdf.setResolution(int(round(writer.dpi)))
            pdf.setPageLayout(QPageLayout(QPageSize(QSizeF(*PAGE_MM), QPageSize.Millimeter), QPageLayout.Portrait,
                                          QMarginsF(0, 0, 0, 0)))
            pdf.setTitle(writer.title)
            pdf.setCreator("riskmap")
            painter = QPainter()
            if not painter.begin(pdf):
                raise OSError("Qt could not start the PDF")
            try:
                sx, sy = pdf.width() / writer.width, pdf.height() / writer.height
                for page in range(writer.page_count):
                    if cancelled():
                        raise AtlasCancelled(tr("已取消导出图集", "atlas cancelled"))
                    label = tr("封面", "cover") if page == 0 else writer.county_names[page - 1]
                    progress(page / writer.page_count, label)
                    if page:
                        pdf.newPage()
                    painter.save()
                    if abs(sx - 1) > 1e-3 or abs(sy - 1) > 1e-3:
                        painter.scale(sx, sy)
                    painter.setRenderHint(QPainter.Antialiasing, True)
                    painter.setRenderHint(QPainter.TextAntialiasing, True)
                    if page == 0:
                        writer.paint_cover(painter)
                    else:
                        writer.paint_county(painter, page - 1)
                    painter.restore()
            finally:
                painter.end()
    except RiskmapError:
        raise
    except OSError as exc:
        raise ParameterError(tr(f"无法写入 {out.name!r}（{exc}）", f"could not write {out.name!r} ({exc})"), out) from exc
    progress(1.0, tr("完成", "done"))
    return AtlasResult(out, writer.page_count, list(writer.county_names), time.perf_counter() - t0)


def atlas_from_result(result, counties, **options) -> AtlasWriter:
    """An :class:`AtlasWriter` for a four-colour :class:`~riskmap.analysis.result.AnalysisResult`."""
    layers = result.layers
    rules = (result.provenance.get("attachments") or {}).get("rules") or {}
    return AtlasWriter(layers.get("township_risk"), layers["risk_items"], counties,
                       colours=rules.get("colours"), provenance=result.provenance, **options)


__all__ = ["AtlasCancelled", "AtlasResult", "AtlasWriter", "MIN_DPI", "atlas_from_result", "write_atlas"]


# ---------------------------------------------------------------------------
# File → 导出图集 in the window
# ---------------------------------------------------------------------------
FOURCOLOUR_PANEL = ("riskmap.ui.panels.fourcolour", "FourColourPanel")


def window_counties(project, townships=None):
    """County polygons for the atlas: a project layer of polygons with ``name`` and ``adcode`` (the county
    boundaries), else the townships dissolved by their ``county``; None if neither exists."""
    for layer in project.layers:
        if isinstance(layer, VectorLayer) and {"name", "adcode"} <= set(layer.gdf.columns) \
                and "seat_lon" not in layer.gdf.columns and layer.geom_type == "Polygon":
            return layer.gdf
    if townships is not None and "county" in townships.columns and len(townships):
        merged = townships.dissolve(by="county").reset_index()
        return merged.rename(columns={"county": "name"})[["name", "geometry"]]
    return None


def result_from_layers(project):
    """A four-colour result rebuilt from a project's layers (a reopened project), or None.

    The layers are those whose provenance names the ``fourcolour`` analysis: the townships
    (``level`` and ``n_items``) and the risk items (``source_zh``; points and segments together).
    """
    import pandas as pd

    from riskmap.analysis.result import AnalysisResult

    areas, items, record = None, [], None
    for layer in project.layers:
        prov = getattr(layer, "provenance", None) or {}
        if not isinstance(layer, VectorLayer) or prov.get("analysis") != "fourcolour":
            continue
        cols = set(layer.gdf.columns)
        if {"level", "n_items", "name"} <= cols and "cell_id" not in cols:
            areas, record = layer.gdf, prov
        elif {"level", "source_zh", "rank"} <= cols:
            items.append(layer.gdf)
            record = record or prov
    if not items:
        return None
    merged = pd.concat([i.to_crs(crs_policy.MAP_CRS) for i in items], ignore_index=True)
    merged = merged.sort_values("rank", ascending=False, kind="stable").reset_index(drop=True)
    import geopandas as gpd

    layers = {"risk_items": gpd.GeoDataFrame(merged, geometry=items[0].geometry.name, crs=crs_policy.MAP_CRS)}
    if areas is not None:
        layers["township_risk"] = areas
    return AnalysisResult("fourcolour", layers, {}, "", "", record or {})


def export_atlas(window, path=None):
    """导出图集…: the atlas of the four-colour panel's last run, with a progress dialog that can cancel.

    Returns the :class:`AtlasResult`, or None (no result yet, no path, cancelled, or an error shown).
    """
    from PyQt5.QtWidgets import QApplication, QFileDialog, QProgressDialog

    module, cls = FOURCOLOUR_PANEL
    panel = window.panels.get(f"{module}.{cls}") if hasattr(window, "panels") else None
    result = getattr(panel, "analysis_result", None) if panel is not None else None
    if result is None:
        result = result_from_layers(window.project)
    if result is None:
        window.show_panel(module, cls)
        window.statusBar().showMessage(tr("请先运行“安全风险四色分布图”，再导出图集",
                                          "Run the four-colour risk map first, then export the atlas"), 10000)
        return None
    counties = window_counties(window.project, result.layers.get("township_risk"))
    if counties is None:
        window.show_error(ParameterError(tr("工程中没有县区边界图层（需 name、adcode 字段）",
                                            "the project has no county layer (fields name, adcode)")))
        return None
    if path is None:
        path, _ = QFileDialog.getSaveFileName(window, tr("导出图集", "Export atlas"),
                                              tr("安全风险四色分布图集.pdf", "risk_atlas.pdf"), "PDF (*.pdf)")
        if not path:
            return None
    try:
        window.project.check_output(path)
        title = tr(f"{window.project.title}安全风险四色分布图集", f"{window.project.title}: four-colour risk atlas") \
            if window.project.title else None
        writer = atlas_from_result(result, counties, title=title, approval=window.project.approval_number,
                                   data_sources=(window.project.extras or {}).get("data_sources"),
                                   basemap=getattr(window.canvas, "basemap", None))
    except RiskmapError as exc:
        window.show_error(exc)
        return None
    dialog = QProgressDialog(tr("正在导出图集…", "Exporting the atlas…"), tr("取消", "Cancel"), 0, 1000, window)
    dialog.setWindowTitle(tr("导出图集", "Export atlas"))
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    window.atlas_dialog = dialog  # for tests
    dialog.show()

    def progress(fraction, message):
        dialog.setValue(int(round(fraction * 1000)))
        dialog.setLabelText(tr(f"正在导出图集：{message}", f"Exporting the atlas: {message}"))
        QApplication.processEvents()

    try:
        written = write_atlas(writer, path, progress=progress, cancelled=dialog.wasCanceled)
    except AtlasCancelled:
        window.statusBar().showMessage(tr("已取消导出图集", "Atlas export cancelled"), 10000)
        return None
    except RiskmapError as exc:
        window.show_error(exc)
        return None
    finally:
        dialog.close()
    window.statusBar().showMessage(tr(f"已导出图集：{written.path}（{written.pages} 页）",
                                      f"Atlas written: {written.path} ({written.pages} pages)"), 10000)
    return written
