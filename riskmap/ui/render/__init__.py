"""Map rendering with QPainter on QImage: no widgets, safe in worker threads.

The canvas, the print layout and ``riskmap print`` all draw maps through this package
(DESIGN.md, "The map canvas"):

1. :func:`snapshot` (GUI thread) freezes what a layer needs for one view: the view, a copy
   of the style and references to the layer's immutable data (shapely array, STRtree,
   attribute table, raster handle factory). Point symbols are pre-rendered here.
2. :func:`render_layer` (any thread) queries the STRtree for the visible extent, simplifies
   the geometry to about one pixel (snap to the pixel grid and drop repeated vertices;
   cached per zoom level), transforms coordinates to pixels with numpy and paints onto the
   layer's own ``QImage``: one ``drawPixmapFragments`` call per colour for points, one
   ``drawLines`` call per colour for thin lines and outlines, a ``drawPolygon`` per ring
   for fills. Rasters are read at the window and overview the view needs.
3. :func:`compose` stacks the layer images with their opacities; labels go on top.

Why not one big ``QPainterPath`` per colour: Qt's antialiased rasteriser is superlinear in
the number of subpaths (measured: 20k rings filled as one path 4.4 s, ring by ring 0.4 s;
stroking 1M vertices with a 2 px pen as one path over 30 s) and PyQt holds the GIL while
Qt paints, so the wins are doing less work and fewer Python-level calls.

Modules, along the seams of that pipeline:

- :mod:`.view`: :class:`MapView`, :func:`fit_extent`, :func:`aspect_factor`, cancellation;
- :mod:`.geometry`: :class:`PreparedGeometry` (flattened once per data version), the
  per-zoom simplification (:func:`decimate`, :func:`snap_to_grid`) and its cache;
- :mod:`.symbols`: style colours as palette codes, point symbol sprites;
- :mod:`.vector` and :mod:`.raster`: painting one layer (rasters are coloured by
  :mod:`riskmap.layers.raster_colour`, the one Qt-free colouring also used by the HTML export);
- :mod:`.labels`: anchors, occupancy and placement (:func:`render_labels`);
- :mod:`.job`: the render job of the canvas, printing and ``riskmap print``
  (:func:`snapshot`, :func:`render_layer`, :func:`render_layer_panned`, :func:`compose`,
  :func:`render_layers`, :func:`worker_pool`);
- :mod:`.decorations`: scale bar, north arrow, ramp gradient. Ground distances
  (:func:`metres_per_pixel`, :func:`format_distance`) are geodesy, in :mod:`riskmap.crs`.
"""
from riskmap.crs import format_distance, metres_per_pixel
from riskmap.layers.raster_colour import ramp_lut
from riskmap.ui.render.decorations import draw_north_arrow, draw_scale_bar, nice_length, ramp_gradient
from riskmap.ui.render.geometry import (PREPARED, PreparedGeometry, decimate, prepared_geometry, simplify_lines,
                                        snap_to_grid)
from riskmap.ui.render.job import (BACKGROUND, HIGHLIGHT_COLOR, LayerSnapshot, compose, exposed_rects,
                                   highlight_style, pan_offset, render_layer, render_layer_panned, render_layers,
                                   snapshot, worker_pool)
from riskmap.ui.render.labels import _dilate, is_obstacle, label_font_px, render_labels, wants_labels
from riskmap.ui.render.raster import RASTER_CACHE_CELLS, RASTER_DISPLAYS, RasterDisplay, rgba_to_qimage
from riskmap.ui.render.symbols import (SYMBOLS, color_codes, point_fill_alpha, qcolor, style_palette, symbol_image,
                                       symbol_path, symbol_sprite)
from riskmap.ui.render.vector import paint_vector, qpolygon
from riskmap.ui.render.view import MapView, RenderCancelled, aspect_factor, fit_extent

__all__ = [
    "BACKGROUND", "HIGHLIGHT_COLOR", "PREPARED", "RASTER_CACHE_CELLS", "RASTER_DISPLAYS", "SYMBOLS",
    "LayerSnapshot", "MapView", "PreparedGeometry", "RasterDisplay", "RenderCancelled",
    "aspect_factor", "color_codes", "compose", "decimate", "draw_north_arrow", "draw_scale_bar", "exposed_rects",
    "fit_extent", "format_distance", "highlight_style", "is_obstacle", "label_font_px", "metres_per_pixel",
    "nice_length", "paint_vector", "pan_offset", "point_fill_alpha", "prepared_geometry", "qcolor", "qpolygon", "ramp_gradient",
    "ramp_lut", "render_labels", "render_layer", "render_layer_panned", "render_layers", "rgba_to_qimage",
    "simplify_lines", "snap_to_grid", "snapshot", "style_palette", "symbol_image", "symbol_path", "symbol_sprite",
    "wants_labels", "worker_pool", "_dilate",
]
