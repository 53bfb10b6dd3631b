"""Projects: the layers, their styles, the map CRS and view, saved as one GeoPackage.

A project file (``.rmp``) is a GeoPackage: every vector layer is stored in it as a
table (so the project travels as one file), rasters are referenced by path (relative
to the project when possible), and the rest (order, styles, view, settings) is JSON in
a ``riskmap_project`` table. Saving is atomic: a temporary file is written and fsynced
beside the target, then renamed over it, so a crash or kill mid-save leaves the previous
project intact.
"""
from __future__ import annotations


import json
import math
import os
import sqlite3
import uuid
import warnings
from pathlib import Path

from riskmap import __version__
from riskmap import crs as crs_policy
from riskmap.errors import DataFormatError, ProjectError, RiskmapError
from riskmap.i18n import tr
from riskmap.io import atomic_path, check_declared_format, gdal_source, gdal_target
from riskmap.layers import LayerList, RasterLayer, Style, VectorLayer
from riskmap.layers.fields import restore_nullable_fields
from riskmap.layers.events import EmitterGroup

PROJECT_EXTENSION = ".rmp"
FORMAT_VERSION = 1
_META_TABLE = "riskmap_project"


class Project:
    """The document a user edits: a layer list, a map CRS, a view extent and metadata.

    Events: ``view_changed(extent)``, ``modified(modified)``.
    """

    def __init__(self, map_crs=crs_policy.MAP_CRS):
        self.layers = LayerList()
        self.map_crs = crs_policy.parse_crs(map_crs)
        self.extent: tuple[float, float, float, float] | None = None
        self.title = "信阳市安全生产风险图"
        self.approval_number = ""  # 审图号
        self.path: Path | None = None
        self.extras: dict = {}
        #: Changes with every save (kept in the file); a crash journal names the save it starts from.
        self.save_id: str | None = None
        #: The autosave :class:`~riskmap.journal.Journal` of this session (None: not journalled).
        self.journal = None
        self.events = EmitterGroup("view_changed", "modified")
        self._modified = False
        for ev in ("inserted", "removed", "moved", "changed"):
            getattr(self.layers.events, ev).connect(self._on_layers_changed)

    # -- state ----------------------------------------------------------------
    def _on_layers_changed(self, **kwargs):
        if kwargs.get("what") == "selection":
            return
        self.modified = True

    @property
    def modified(self) -> bool:
        return self._modified

    @modified.setter
    def modified(self, value: bool) -> None:
        if bool(value) != self._modified:
            self._modified = bool(value)
            self.events.modified.emit(modified=self._modified)

    def set_extent(self, extent) -> None:
        """Set the view extent (minx, miny, maxx, maxy) in the map CRS."""
        self.extent = tuple(float(v) for v in extent)
        self.events.view_changed.emit(extent=self.extent)

    def full_extent(self) -> tuple[float, float, float, float] | None:
        """Union of the extents of all layers, in the map CRS (layers without features are skipped)."""
        boxes = []
        for layer in self.layers:
            try:
                box = layer.extent(self.map_crs)
            except (ValueError, RuntimeError):  # nothing to measure (e.g. every feature was accepted away)
                continue
            if len(box) == 4 and all(math.isfinite(v) for v in box):
                boxes.append(box)
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))

    # -- adding layers --------------------------------------------------------
    def add_vector(self, gdf, name: str, **kwargs) -> VectorLayer:
        """Wrap a GeoDataFrame in a :class:`VectorLayer` and add it on top."""
        layer = VectorLayer(gdf, name, map_crs=self.map_crs, **kwargs)
        self.layers.append(layer)
        return layer

    def add_raster(self, path, name: str | None = None, **kwargs) -> RasterLayer:
        """Add a raster layer read lazily from ``path``."""
        layer = RasterLayer(path, name, **kwargs)
        self.layers.insert(0, layer)
        return layer

    # -- outputs ----------------------------------------------------------------
    def input_files(self) -> list[str]:
        """The data files the layers were read from (vector sources, raster paths)."""
        files = [str(layer.path) if isinstance(layer, RasterLayer) else layer.source for layer in self.layers]
        return [f for f in files if f]

    def check_output(self, path, allow_self: bool = False) -> None:
        """Refuse writing ``path`` when it is one of the layers' files (or this project's, unless ``allow_self``).

        Raises
        ------
        ParameterError
            One line naming the file that would be overwritten.
        """
        from riskmap.io import check_output_not_input

        inputs = self.input_files()
        if self.path is not None:
            if allow_self:
                inputs = [f for f in inputs if not _same_path(f, self.path)]
            else:
                inputs.append(str(self.path))
        check_output_not_input(path, inputs)

    # -- persistence ------------------------------------------------------------
    def to_dict(self, base_dir: Path | None = None) -> dict:
        """The JSON part of the project (layer data excluded)."""
        entries = []
        for layer in self.layers:
            entry = {"id": layer.id, "name": layer.name, "kind": layer.kind, "visible": layer.visible,
                     "opacity": layer.opacity, "style": layer.style.to_dict(), "group": layer.group,
                     "aliases": layer.aliases, "source": layer.source}
            if layer.provenance is not None:
                entry["provenance"] = layer.provenance
            if isinstance(layer, RasterLayer):
                entry["path"] = _relative(layer.path, base_dir)
                entry["band"] = layer.band
            else:
                entry["table"] = _table_name(layer)
            entries.append(entry)
        return {"format": "riskmap-project", "version": FORMAT_VERSION, "software": f"riskmap {__version__}",
                "map_crs": self.map_crs.to_string(), "extent": self.extent, "title": self.title,
                "approval_number": self.approval_number, "layers": entries, "extras": self.extras}

    def save(self, path: str | Path | None = None, progress=None) -> Path:
        """Save atomically to ``path`` (default: where it was loaded from).

        ``progress(fraction, message)``, when given, is called as each layer is written.
        """
        path = Path(path or self.path or "")
        if not path.name:
            raise ProjectError(tr("工程还没有文件名，请选择保存位置", "the project has no file name yet; choose where to save it"))
        if path.suffix.lower() not in (PROJECT_EXTENSION, ".gpkg"):
            path = path.with_suffix(PROJECT_EXTENSION)
        self.check_output(path, allow_self=True)
        doc = self.to_dict(path.parent.resolve())
        doc["save_id"] = save_id = uuid.uuid4().hex
        vectors = {_table_name(layer): layer.gdf for layer in self.layers if isinstance(layer, VectorLayer)}
        try:
            with atomic_path(path, suffix=".gpkg") as tmp:
                if vectors:
                    if progress is None:
                        _write_vectors(tmp, vectors)
                    else:
                        _write_vectors(tmp, vectors, progress=progress)
                with sqlite3.connect(tmp) as con:
                    con.execute(f"CREATE TABLE IF NOT EXISTS {_META_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
                    con.execute(f"INSERT OR REPLACE INTO {_META_TABLE} VALUES ('project', ?)",
                                (json.dumps(doc, ensure_ascii=False, default=str),))
                con.close()
        except RiskmapError:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise ProjectError(tr(f"无法保存工程（{exc}），原文件未改动",
                                  f"could not save the project ({exc}); the previous file is unchanged"), path) from exc
        self.path = path
        self.save_id = save_id
        self.modified = False
        if self.journal is not None:
            self.journal.saved()
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Project":
        """Open a project file; raises :class:`ProjectError` with one line on any problem."""
        import pyogrio

        path = Path(path)
        if not path.is_file():
            raise ProjectError(tr("工程文件不存在，请检查路径", "project file not found; check the path"), path)
        try:
            check_declared_format(path)
        except DataFormatError as exc:
            raise ProjectError(tr("不是 riskmap 工程文件（不是 GeoPackage），请打开其他文件",
                                  "not a riskmap project (not a GeoPackage); open another file"), path) from exc
        try:
            # as_uri() percent-quotes the name: '#', '?' and '%' in a file name are not URI syntax here
            with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as con:
                row = con.execute(f"SELECT value FROM {_META_TABLE} WHERE key = 'project'").fetchone()
            con.close()
        except sqlite3.Error as exc:
            raise ProjectError(tr("不是 riskmap 工程文件，或文件已损坏，请打开其他文件",
                                  "not a riskmap project or the file is damaged; open another file"), path) from exc
        if row is None:
            raise ProjectError(tr("缺少工程描述信息，文件已损坏", "the project description is missing; the file is damaged"), path)
        try:
            doc = json.loads(row[0])
        except json.JSONDecodeError as exc:
            raise ProjectError(tr("工程描述信息已损坏（JSON 格式错误）", "the project description is damaged (bad JSON)"),
                               path) from exc
        if doc.get("format") != "riskmap-project":
            raise ProjectError(tr("不是 riskmap 工程文件", "not a riskmap project file"), path)
        if int(doc.get("version", 0)) > FORMAT_VERSION:
            raise ProjectError(tr("该工程由更新版本的 riskmap 保存，请升级 riskmap 后再打开",
                                  "the project was saved by a newer riskmap; update riskmap to open it"), path)
        project = cls(doc.get("map_crs") or crs_policy.MAP_CRS)
        project.title = doc.get("title", project.title)
        project.approval_number = doc.get("approval_number", "")
        project.extras = doc.get("extras") or {}
        project.save_id = doc.get("save_id")
        for entry in doc.get("layers", []):
            common = dict(style=Style.from_dict(entry.get("style")), visible=entry.get("visible", True),
                          opacity=entry.get("opacity", 1.0), layer_id=entry.get("id"),
                          group=entry.get("group", "hazards"))
            if entry.get("kind") == "raster":
                raster_path = Path(entry["path"])
                if not raster_path.is_absolute():
                    raster_path = (path.parent / raster_path).resolve()
                try:
                    layer = RasterLayer(raster_path, entry.get("name"), band=entry.get("band", 1), **common)
                except DataFormatError as exc:
                    raise ProjectError(tr(f"栅格图层“{entry.get('name')}”无法打开（{exc}）；请把文件移回原处，或从工程中移除该图层",
                                          f"raster layer {entry.get('name')!r} cannot be opened ({exc}); "
                                          "move it back or remove it from the project"), path) from exc
            else:
                try:
                    with warnings.catch_warnings():  # GDAL warns about the .rmp extension
                        warnings.simplefilter("ignore", RuntimeWarning)
                        with gdal_source(path) as source:
                            gdf = pyogrio.read_dataframe(source, layer=entry["table"])
                            gdf = restore_nullable_fields(gdf, pyogrio.read_info(source, layer=entry["table"]))
                except Exception as exc:
                    raise ProjectError(tr(f"工程文件中缺少图层“{entry.get('name')}”",
                                          f"layer {entry.get('name')!r} is missing from the project file"),
                                       path) from exc
                layer = VectorLayer(gdf, entry.get("name"), map_crs=project.map_crs, source=entry.get("source"),
                                    **common)
            layer.aliases = entry.get("aliases") or {}
            layer.provenance = entry.get("provenance") if isinstance(entry.get("provenance"), dict) else None
            project.layers.append(layer)
        if doc.get("extent"):
            project.extent = tuple(doc["extent"])
        project.path = path
        project.modified = False
        return project


def _write_vectors(tmp: Path, vectors: dict, progress=None) -> None:
    import pyogrio

    for i, (table, gdf) in enumerate(vectors.items()):
        if progress is not None:
            progress(i / len(vectors), f"{i + 1}/{len(vectors)}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with gdal_target(tmp) as target:
                pyogrio.write_dataframe(gdf, target, layer=table, driver="GPKG", append=i > 0)


def _table_name(layer) -> str:
    return f"layer_{layer.id}"


def _relative(path: Path, base_dir: Path | None) -> str:
    path = Path(path).resolve()
    if base_dir is not None:
        try:
            return os.path.relpath(path, base_dir)
        except ValueError:  # different drive on Windows
            pass
    return str(path)


def _same_path(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
