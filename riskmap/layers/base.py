"""The Qt-free layer model: Layer, VectorLayer, RasterLayer.

Layers hold data and style and emit events; they never know a widget. The canvas
renders immutable snapshots of them in worker threads.
"""
from __future__ import annotations

import itertools
import math
import threading
import uuid
from pathlib import Path

import numpy as np
import shapely

from riskmap import crs as crs_policy
from riskmap.errors import CRSError, ParameterError
from riskmap.i18n import tr
from riskmap.layers.events import EmitterGroup
from riskmap.layers.raster_colour import colorize
from riskmap.layers.style import Style

_revision_counter = itertools.count(1)


class Layer:
    """Base of every layer.

    Attributes
    ----------
    id : str
        Stable identifier (kept in project files).
    name : str
        Display name (Chinese by default).
    kind : str
        ``"vector"`` or ``"raster"``.
    crs : pyproj.CRS
        CRS of the data.
    visible, opacity, style
        Display state; changing them emits ``events.changed`` with ``what``.
    revision : int
        Increases on every change; renderers cache by (id, revision).
    group : str
        ``base``, ``hazards`` or ``analysis`` (layer control grouping in exports).
    provenance : dict or None
        For a result layer, the provenance record of the analysis run that made it (inputs with
        sha256, parameters with their basis, standards, software, time); kept in the project
        file and shown in the HTML footer and on the print.
    render_error : str or None
        Why the layer failed to draw last time, in one line (None once it draws again). Set by
        the canvas with :meth:`set_render_error`, which emits ``events.render_state`` (not
        ``changed``: a failed draw changes neither the data nor the project). Issue 18 §7.
    """

    kind = "layer"

    def __init__(self, name: str, crs, *, style: Style | None = None, visible: bool = True, opacity: float = 1.0,
                 layer_id: str | None = None, group: str = "hazards", source: str | None = None):
        self.id = layer_id or uuid.uuid4().hex[:12]
        self._name = name
        self.crs = crs_policy.parse_crs(crs)
        self._visible = bool(visible)
        self._opacity = float(opacity)
        self._style = style or Style()
        self.group = group
        self.source = source
        self.aliases: dict[str, str] = {}
        self.provenance: dict | None = None
        self.render_error: str | None = None
        self.revision = next(_revision_counter)
        self.events = EmitterGroup("changed", "data_changed", "selection_changed", "render_state")

    def set_render_error(self, message: str | None) -> None:
        """Record that the layer failed to draw (``message``: one line) or drew again (None).

        Emits ``events.render_state(layer=, error=)`` when the state changes; the revision and
        the project's modified flag are not touched.
        """
        message = str(message) if message else None
        if message != self.render_error:
            self.render_error = message
            self.events.render_state.emit(layer=self, error=message)

    def _touch(self, what: str) -> None:
        self.revision = next(_revision_counter)
        self.events.changed.emit(layer=self, what=what)

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)
        self._touch("name")

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        if bool(value) != self._visible:
            self._visible = bool(value)
            self._touch("visible")

    @property
    def opacity(self) -> float:
        return self._opacity

    @opacity.setter
    def opacity(self, value: float) -> None:
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ParameterError(tr(f"不透明度须在 0 到 1 之间，不能是 {value}", f"opacity must be between 0 and 1, not {value}"))
        self._opacity = value
        self._touch("opacity")

    @property
    def style(self) -> Style:
        return self._style

    @style.setter
    def style(self, value: Style) -> None:
        self._style = value
        self._touch("style")

    def extent(self, crs=crs_policy.MAP_CRS) -> tuple[float, float, float, float]:
        """Bounding box (minx, miny, maxx, maxy) in ``crs``."""
        raise NotImplementedError


class VectorLayer(Layer):
    """A GeoDataFrame with a spatial index, kept also in the map CRS for display and hit-testing."""

    kind = "vector"

    def __init__(self, gdf, name: str, *, map_crs=crs_policy.MAP_CRS, **kwargs):
        if gdf.crs is None:
            raise CRSError(tr(f"图层“{name}”没有坐标系", f"layer {name!r} has no coordinate reference system"))
        super().__init__(name, gdf.crs, **kwargs)
        self.map_crs = crs_policy.parse_crs(map_crs)
        self.selection: np.ndarray = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()
        self._set(gdf)

    # -- data ---------------------------------------------------------------
    def _set(self, gdf) -> None:
        gdf = gdf.reset_index(drop=True)
        self.gdf = gdf
        self.crs = crs_policy.parse_crs(gdf.crs)
        geoms = gdf.geometry.values
        self.display_geoms = np.asarray(crs_policy.transform_geometries(np.asarray(geoms), gdf.crs, self.map_crs))
        self.tree = shapely.STRtree(self.display_geoms)
        self.geom_type = _dominant_type(gdf)

    def set_data(self, gdf) -> None:
        """Replace the features; emits ``data_changed`` and ``changed``."""
        with self._lock:
            self._set(gdf)
            self.selection = self.selection[self.selection < len(gdf)]
        self.events.data_changed.emit(layer=self)
        self._touch("data")

    def __len__(self) -> int:
        return len(self.gdf)

    # -- attribute edits (the attribute table's edit session, the field calculator) -------------
    def _set_attributes(self, gdf, fields) -> None:
        """Swap in ``gdf`` (same features and geometry, other attributes) and tell the views.

        The frame is replaced, never changed in place: a render snapshot or the autosave journal
        holding the old one keeps seeing consistent data, and the journal sees the change.
        """
        with self._lock:
            self.gdf = gdf
        self.events.data_changed.emit(layer=self, fields=fields)
        self._touch("data")

    def set_values(self, features, column: str, values, *, dtype=None) -> None:
        """Write ``values`` into ``column`` of the features at positions ``features``.

        Values must already be of the column's kind (see :func:`riskmap.layers.fields.parse_text`
        and :func:`~riskmap.layers.fields.convert_values`); an integer column that receives a
        null becomes nullable ``Int64``. Emits ``data_changed(fields=[column])`` and ``changed``.

        Parameters
        ----------
        features : array of int
            Positional feature indices.
        column : str
            An attribute field.
        values : array-like or scalar
            One value per feature, or one for all.
        dtype : dtype, optional
            Dtype of the column afterwards (an undo restores the old one).
        """
        from riskmap.layers.fields import put_values

        if column not in self.fields:
            raise ParameterError(tr(f"图层“{self.name}”没有字段“{column}”", f"layer {self.name!r} has no field {column!r}"))
        features = np.asarray(features, dtype=np.int64)
        if features.size and (features.min() < 0 or features.max() >= len(self.gdf)):
            raise ParameterError(tr(f"图层“{self.name}”只有 {len(self.gdf)} 个要素，要素序号超出范围",
                                    f"layer {self.name!r} has {len(self.gdf)} features; feature index out of range"))
        gdf = self.gdf.copy(deep=False)
        gdf[column] = put_values(self.gdf[column], features, values, dtype=dtype).set_axis(gdf.index)
        self._set_attributes(gdf, [column])

    def add_field(self, name: str, values, *, position: int | None = None) -> None:
        """Add the attribute field ``name`` holding ``values`` (one per feature), before column ``position``.

        The name is checked (:func:`riskmap.layers.fields.check_new_name`: no case-insensitive
        clash, not ``geometry``/``fid``). Emits ``data_changed`` and ``changed``.
        """
        import pandas as pd

        from riskmap.layers.fields import check_new_name

        name = check_new_name(name, self.gdf.columns)
        values = pd.Series(values)
        if len(values) != len(self.gdf):
            raise ParameterError(tr(f"字段“{name}”需要 {len(self.gdf)} 个值，而不是 {len(values)} 个",
                                    f"field {name!r} needs {len(self.gdf)} values, not {len(values)}"))
        columns = list(self.gdf.columns)
        geometry = self.gdf.geometry.name
        if position is None or not 0 <= position <= len(columns):
            position = columns.index(geometry) if columns[-1] == geometry else len(columns)
        gdf = self.gdf.copy(deep=False)
        gdf.insert(position, name, values.set_axis(gdf.index))
        self._set_attributes(gdf, None)

    def delete_field(self, name: str):
        """Remove the attribute field ``name``; returns ``(position, column)`` for putting it back."""
        if name not in self.fields:
            raise ParameterError(tr(f"图层“{self.name}”没有字段“{name}”", f"layer {self.name!r} has no field {name!r}"))
        position = list(self.gdf.columns).index(name)
        column = self.gdf[name]
        gdf = self.gdf.drop(columns=[name])
        self._set_attributes(gdf, None)
        return position, column

    @property
    def fields(self) -> list[str]:
        """Attribute column names (without geometry)."""
        return [c for c in self.gdf.columns if c != self.gdf.geometry.name]

    def extent(self, crs=None) -> tuple[float, float, float, float]:
        """Bounding box in ``crs`` (the map CRS by default); all NaN for a layer without features."""
        crs = crs or self.map_crs
        if len(self.gdf) == 0 or not np.any(~shapely.is_empty(self.display_geoms)):
            return (math.nan,) * 4
        if crs_policy.same_crs(crs, self.map_crs):
            b = shapely.total_bounds(self.display_geoms)
        else:
            b = self.gdf.to_crs(crs).total_bounds
        return tuple(float(v) for v in b)

    def features_in_bbox(self, bbox) -> np.ndarray:
        """Indices of features whose envelope meets ``bbox`` (map CRS), from the STRtree."""
        return np.sort(self.tree.query(shapely.box(*bbox)))

    def features_at(self, x: float, y: float, tolerance: float) -> np.ndarray:
        """Indices of features within ``tolerance`` (map units) of a point, nearest first."""
        pt = shapely.Point(x, y)
        idx = self.tree.query(pt, predicate="dwithin", distance=tolerance)
        if idx.size == 0:
            return idx
        d = shapely.distance(self.display_geoms[idx], pt)
        return idx[np.argsort(d, kind="stable")]

    def select(self, indices, *, emit: bool = True) -> None:
        """Set the selected features (positional indices)."""
        self.selection = np.unique(np.asarray(indices, dtype=np.int64))
        if emit:
            self.events.selection_changed.emit(layer=self)
        self._touch("selection")

    def feature_colors(self) -> np.ndarray:
        """Per-feature hex colours from the style."""
        st = self.style
        values = self.gdf[st.field].to_numpy() if st.field and st.field in self.gdf else np.zeros(len(self.gdf))
        return st.colors_for(values)


def _dominant_type(gdf) -> str:
    types = gdf.geom_type.dropna()
    if types.empty:
        return "Unknown"
    t = types.mode().iloc[0]
    return {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon",
            "LinearRing": "LineString"}.get(t, t)


class RasterLayer(Layer):
    """A raster file read lazily: only the window and overview level a view needs."""

    kind = "raster"

    def __init__(self, path, name: str | None = None, *, band: int = 1, **kwargs):
        from riskmap.io import open_raster

        path = Path(path)
        with open_raster(path) as ds:
            crs = ds.crs.to_wkt()
            self.bounds_native = tuple(ds.bounds)
            self.nodata = ds.nodata
            self.res = ds.res
            self.shape = (ds.height, ds.width)
            self.dtype = ds.dtypes[band - 1]
        super().__init__(name or path.stem, crs, source=str(path), **kwargs)
        self.path = path
        self.band = band
        self._local = threading.local()
        self._crs_wkt = crs
        self._extents: dict[str, tuple] = {}
        self.extent()  # computed once here, on the creating thread
        if self.style.mode != "raster":
            self.style = Style(mode="raster", ramp="terrain")
        self._stats = None

    def _dataset(self):
        from riskmap.io import open_raster

        ds = getattr(self._local, "ds", None)
        if ds is None or ds.closed:
            # one handle per thread (GDAL handles are not thread-safe), opened as when the layer was
            # added: a file that disappeared or was replaced by junk is riskmap's one-line error
            ds = open_raster(self.path)
            self._local.ds = ds
        return ds

    def extent(self, crs=crs_policy.MAP_CRS) -> tuple[float, float, float, float]:
        from rasterio.warp import transform_bounds

        key = crs_policy.crs_wkt(crs)
        cached = self._extents.get(key)
        if cached is None:
            b = transform_bounds(self._crs_wkt, key, *self.bounds_native, densify_pts=21)
            cached = self._extents[key] = tuple(float(v) for v in b)
        return cached

    def statistics(self) -> tuple[float, float]:
        """(2nd, 98th) percentile of valid values from a coarse overview, cached."""
        if self._stats is None:
            ds = self._dataset()
            scale = max(1, max(self.shape) // 512)
            with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf cells are dropped just below
                arr = ds.read(self.band, out_shape=(max(1, self.shape[0] // scale),
                                                    max(1, self.shape[1] // scale)), masked=True).astype(float)
            valid = arr.compressed()
            valid = valid[np.isfinite(valid)]
            self._stats = (float(np.percentile(valid, 2)), float(np.percentile(valid, 98))) if valid.size else (0, 1)
        return self._stats

    def read_view(self, bbox, width: int, height: int, crs=crs_policy.MAP_CRS) -> np.ma.MaskedArray:
        """Values resampled onto a ``height × width`` grid covering ``bbox`` in ``crs``.

        Only the overview level and window needed are read (GDAL picks the overview
        when the output is smaller than the window).
        """
        from rasterio.enums import Resampling
        from rasterio.vrt import WarpedVRT
        from rasterio.windows import from_bounds

        ds = self._dataset()
        dst_wkt = crs_policy.crs_wkt(crs)
        width, height = max(1, int(width)), max(1, int(height))
        minx, miny, maxx, maxy = bbox
        if crs_policy.same_crs(self._crs_wkt, dst_wkt):
            window = from_bounds(minx, miny, maxx, maxy, transform=ds.transform)
            return ds.read(self.band, window=window, out_shape=(height, width), boundless=True,
                           masked=True, resampling=Resampling.nearest, fill_value=self.nodata)
        from affine import Affine

        transform = Affine((maxx - minx) / width, 0, minx, 0, -(maxy - miny) / height, maxy)
        with WarpedVRT(ds, crs=dst_wkt, transform=transform, width=width, height=height,
                       resampling=Resampling.nearest, src_nodata=self.nodata, nodata=self.nodata) as vrt:
            return vrt.read(self.band, masked=True)

    def render_rgba(self, bbox, width: int, height: int, crs=crs_policy.MAP_CRS) -> np.ndarray:
        """An ``(height, width, 4)`` uint8 RGBA image of the view with the layer's style."""
        data = self.read_view(bbox, width, height, crs)
        return colorize(data, self.style, self.statistics(), cell_size=self._view_cell_size(bbox, width, crs))

    def _view_cell_size(self, bbox, width, crs) -> float:
        size = (bbox[2] - bbox[0]) / max(width, 1)
        if crs_policy.is_geographic(crs):
            size *= 111_320.0 * np.cos(np.radians((bbox[1] + bbox[3]) / 2))
        return float(size)
