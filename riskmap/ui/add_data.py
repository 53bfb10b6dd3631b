"""Add data to the project: file dialog, drag and drop, and the import-options dialog.

Every file is read completely with the importers (:func:`riskmap.io.read_vector`,
:class:`~riskmap.layers.RasterLayer`) before anything is added, so a bad file adds
nothing and shows one message. The user is asked only what a file cannot tell: the
coordinate system of a table of coordinates (WGS84 / CGCS2000, or AMap GCJ-02 / Baidu
BD-09 offsets) or of a file without a CRS, and the encoding when the text does not decode.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QUndoCommand,
    QVBoxLayout,
)

from riskmap import io
from riskmap.errors import CRSError, EncodingError, RiskmapError, fold_messages
from riskmap.i18n import tr
from riskmap.layers.style import QUALITATIVE, Style
from riskmap.ui import messages

TABLE_EXTENSIONS = {".csv", ".xlsx", ".xlsm"}
SUPPORTED_EXTENSIONS = io.VECTOR_EXTENSIONS | io.RASTER_EXTENSIONS

ENCODINGS = ((None, "自动检测", "Detect automatically"), ("utf-8", "UTF-8", "UTF-8"),
             ("gb18030", "GBK / GB18030（国内常见）", "GBK / GB18030 (Chinese)"), ("big5", "Big5", "Big5"))
CRS_CHOICES = (("EPSG:4490", "CGCS2000 经纬度（EPSG:4490）", "CGCS2000 lon/lat (EPSG:4490)"),
               ("EPSG:4326", "WGS84 经纬度（EPSG:4326）", "WGS84 lon/lat (EPSG:4326)"),
               ("EPSG:4547", "CGCS2000 3度带 114°E（EPSG:4547）", "CGCS2000 3° GK 114°E (EPSG:4547)"),
               ("EPSG:4546", "CGCS2000 3度带 111°E（EPSG:4546）", "CGCS2000 3° GK 111°E (EPSG:4546)"),
               ("EPSG:32650", "WGS84 UTM 50N（EPSG:32650）", "WGS84 UTM 50N (EPSG:32650)"))
OFFSET_CHOICES = (("wgs84", "标准坐标（GPS / 天地图 / CGCS2000）", "Standard (GPS / Tianditu / CGCS2000)"),
                  ("gcj02", "高德 / 腾讯地图（GCJ-02）", "AMap / Tencent (GCJ-02)"),
                  ("bd09", "百度地图（BD-09）", "Baidu (BD-09)"))


def file_filter() -> str:
    """The QFileDialog filter of every readable format."""
    patterns = " ".join(f"*{ext}" for ext in sorted(SUPPORTED_EXTENSIONS))
    return (tr("所有支持的数据", "All supported data") + f" ({patterns});;"
            + tr("矢量", "Vector") + " (*.shp *.gpkg *.geojson *.json *.kml *.kmz);;"
            + tr("表格（含经纬度列）", "Tables with coordinates") + " (*.csv *.xlsx *.xlsm);;"
            + tr("栅格", "Raster") + " (*.tif *.tiff);;" + tr("所有文件", "All files") + " (*)")


@dataclass
class ImportOptions:
    """What the user told us about a file."""

    encoding: str | None = None
    crs: str | None = None
    offset: str | None = None


class ImportOptionsDialog(QDialog):
    """Asks for the encoding, the CRS and whether coordinates come from AMap/Tencent/Baidu."""

    def __init__(self, path, reason: str = "", defaults: ImportOptions | None = None, parent=None,
                 ask_crs: bool = True):
        super().__init__(parent)
        defaults = defaults or ImportOptions()
        self.setWindowTitle(tr("导入选项 — ", "Import options — ") + Path(path).name)
        box = QVBoxLayout(self)
        if reason:
            label = QLabel(reason, self)
            label.setWordWrap(True)
            box.addWidget(label)
        form = QFormLayout()
        self.encoding_combo = QComboBox(self)
        for value, zh, en in ENCODINGS:
            self.encoding_combo.addItem(tr(zh, en), value)
        self.encoding_combo.setCurrentIndex(max(0, self.encoding_combo.findData(defaults.encoding)))
        form.addRow(tr("文字编码", "Text encoding"), self.encoding_combo)
        self.crs_combo = QComboBox(self)
        self.crs_combo.setEditable(True)
        for value, zh, en in CRS_CHOICES:
            self.crs_combo.addItem(tr(zh, en), value)
        if defaults.crs:
            found = self.crs_combo.findData(defaults.crs)
            if found >= 0:
                self.crs_combo.setCurrentIndex(found)
            else:
                self.crs_combo.setEditText(defaults.crs)
        self.crs_combo.setEnabled(ask_crs)
        form.addRow(tr("坐标系", "Coordinate system"), self.crs_combo)
        self.offset_combo = QComboBox(self)
        for value, zh, en in OFFSET_CHOICES:
            self.offset_combo.addItem(tr(zh, en), value)
        self.offset_combo.setCurrentIndex(max(0, self.offset_combo.findData(defaults.offset)))
        form.addRow(tr("坐标来源", "Coordinates from"), self.offset_combo)
        box.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)

    def options(self) -> ImportOptions:
        crs = None
        if self.crs_combo.isEnabled():
            index = self.crs_combo.currentIndex()
            text = self.crs_combo.currentText().strip()
            crs = self.crs_combo.itemData(index) if index >= 0 and self.crs_combo.itemText(index) == text else text
        return ImportOptions(encoding=self.encoding_combo.currentData(), crs=crs or None,
                             offset=self.offset_combo.currentData())


def ask_options(parent, path, reason: str, defaults: ImportOptions | None = None,
                ask_crs: bool = True) -> ImportOptions | None:
    """Show the import-options dialog; None when cancelled (tests replace this function)."""
    dialog = ImportOptionsDialog(path, reason, defaults, parent, ask_crs=ask_crs)
    return dialog.options() if dialog.exec_() == QDialog.Accepted else None


# ---------------------------------------------------------------------------
# reading (nothing is added to the project here)
# ---------------------------------------------------------------------------
@dataclass
class Loaded:
    """One layer read from a file, ready to add."""

    name: str
    path: Path
    gdf: object = None  # GeoDataFrame for vectors; None for rasters


def read_file(path, options: ImportOptions | None = None) -> list[Loaded]:
    """Read every layer of ``path`` completely, or raise a :class:`RiskmapError`."""
    from riskmap.layers import RasterLayer

    path = Path(path)
    options = options or ImportOptions()
    ext = path.suffix.lower()
    if ext in io.RASTER_EXTENSIONS:
        RasterLayer(path)  # opens and checks the file (CRS, truncation)
        return [Loaded(path.stem, path)]
    kwargs = dict(encoding=options.encoding, crs=options.crs, offset=options.offset)
    if ext in (".gpkg", ".kml", ".kmz"):
        names = io.list_layers(path)
        if len(names) > 1:
            frames = io.read_all_layers(path, **kwargs)
            return [Loaded(f"{path.stem}：{name}", path, gdf) for name, gdf in frames.items()]
    return [Loaded(path.stem, path, io.read_vector(path, **kwargs))]


def datum_from_project(window, path) -> tuple:
    """GCJ-02/BD-09 when the table's points, shifted back, land on the same-named features of the project's
    point layers (:func:`riskmap.tables.datum_from_matches`); ``(None, "")`` otherwise or when unreadable."""
    from riskmap import tables
    from riskmap.layers import VectorLayer

    project = getattr(window, "project", None)
    refs = [(layer.name, layer.gdf) for layer in (project.layers if project is not None else [])
            if isinstance(layer, VectorLayer)]
    if not refs:
        return None, ""
    try:
        table = io.read_vector(path, offset="wgs84")
    except RiskmapError:
        return None, ""
    return tables.datum_from_matches(table, refs)


def read_with_questions(parent, path, options: ImportOptions | None = None) -> list[Loaded] | None:
    """Read ``path``, asking the user what the file cannot tell; None when the user cancels."""
    path = Path(path)
    if options is None and path.suffix.lower() in TABLE_EXTENSIONS:
        reason = tr("表格中的经纬度来自哪个坐标系？从高德、腾讯地图拾取的坐标请选“GCJ-02”（不换算会偏约 500 m），"
                    "百度地图选“BD-09”。",
                    "Which coordinate system are the table's coordinates in? Choose GCJ-02 for coordinates picked "
                    "from AMap or Tencent maps (about 500 m off unless converted), BD-09 for Baidu.")
        detected, where = io.table_datum(path)
        labels = {v: tr(zh, en) for v, zh, en in OFFSET_CHOICES}
        if detected:
            reason += tr(f"\n表格中{where}注明了坐标系，已预选“{labels[detected]}”。",
                         f"\nThe table names its coordinate system in {where}: “{labels[detected]}” is preselected.")
        else:
            detected, where = datum_from_project(parent, path)
            if detected:
                reason += tr(f"\n{where}，已预选“{labels[detected]}”。",
                             f"\n{where}: “{labels[detected]}” is preselected.")
        options = ask_options(parent, path, reason, ImportOptions(crs="EPSG:4490", offset=detected))
        if options is None:
            return None
    try:
        return read_file(path, options)
    except CRSError as exc:
        asked_already = options is not None and options.crs
        if asked_already or path.suffix.lower() in io.RASTER_EXTENSIONS \
                or "no coordinate reference system" not in str(exc):
            raise
        retry = ask_options(parent, path, tr("文件没有坐标系信息（缺少 .prj？），请指定坐标系：",
                                             "The file declares no coordinate system (missing .prj?); "
                                             "choose one:"), options or ImportOptions(crs="EPSG:4490"))
    except EncodingError:
        retry = ask_options(parent, path, tr("文字无法解码，请选择文件的编码：",
                                             "The text does not decode; choose the file's encoding:"),
                            options or ImportOptions(encoding="gb18030"), ask_crs=False)
    if retry is None:
        return None
    return read_file(path, retry)


# ---------------------------------------------------------------------------
# adding
# ---------------------------------------------------------------------------
def default_style(gdf, serial: int) -> Style:
    """A distinct single-symbol style for a newly added vector layer."""
    colour = QUALITATIVE[serial % len(QUALITATIVE)]
    types = set(gdf.geom_type.dropna())
    if types and types <= {"Polygon", "MultiPolygon"}:
        return Style(color=colour, stroke=colour, fill_opacity=0.25, width=1.2)
    if types and types <= {"LineString", "MultiLineString"}:
        return Style(color=colour, stroke=colour, width=1.8)
    return Style(color=colour, size=7.0)


class AddLayersCommand(QUndoCommand):
    """Undoable addition of layers (vectors on top, rasters at the bottom)."""

    def __init__(self, project, layers, text: str):
        super().__init__(text)
        self.project = project
        self.layers = list(layers)

    def redo(self):
        from riskmap.layers import RasterLayer

        for layer in self.layers:
            if layer not in self.project.layers:
                if isinstance(layer, RasterLayer):
                    self.project.layers.insert(0, layer)
                else:
                    self.project.layers.append(layer)

    def undo(self):
        for layer in self.layers:
            if layer in self.project.layers:
                self.project.layers.remove(layer)


def build_layers(project, loaded: list[Loaded]) -> list:
    """Layer objects for the read data (not yet in the project)."""
    from riskmap.layers import RasterLayer, VectorLayer

    layers = []
    for i, item in enumerate(loaded):
        if item.gdf is None:
            layers.append(RasterLayer(item.path, item.name))
        else:
            serial = len(project.layers) + i
            layers.append(VectorLayer(item.gdf, item.name, map_crs=project.map_crs, source=str(item.path),
                                      style=default_style(item.gdf, serial)))
    return layers


def add_files(window, paths, options: ImportOptions | None = None) -> list:
    """Read and add each file; a file that fails shows one message and adds nothing.

    Returns the layers added.
    """
    added, warned, notes = [], [], []
    was_empty = len(window.project.layers) == 0
    for path in paths:
        path = Path(path)
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            window.show_error(tr(f"{path}：不支持的文件格式，请选择 shp、gpkg、geojson、kml、csv、xlsx 或 tif 文件",
                                 f"{path}: unsupported format; choose a .shp, .gpkg, .geojson, .kml, .csv, "
                                 ".xlsx or .tif file"))
            continue
        try:
            with messages.library_warnings() as said:
                loaded = read_with_questions(window, path, options)
                if loaded is not None:
                    layers = build_layers(window.project, loaded)
        except RiskmapError as exc:
            window.show_error(exc, warnings=said)
            continue
        except Exception as exc:  # a reader bug must not leave anything half-loaded either
            window.show_error(exc, warnings=said, what=tr(
                f"{path}：读取失败（riskmap 内部错误，错误内容见“详细信息”）；请确认文件完整，或将文件报告给维护人员",
                f"{path}: could not be read (an internal error of riskmap, see Details); check the file is "
                "complete, or report it to the maintainers"))
            continue
        if loaded is None:
            continue
        warned.extend(said)
        window.undo_stack.push(AddLayersCommand(window.project, layers,
                                                tr(f"添加数据 {path.name}", f"Add data {path.name}")))
        added.extend(layers)
        notes.extend(w for item in loaded for w in read_warnings(item.gdf))
    if added and was_empty:
        window.canvas.zoom_full()
    if added:
        said = tr(f"（库的提示：{fold_messages(warned)}）", f" (the libraries said: {fold_messages(warned)})") \
            if warned else ""
        text = tr(f"已添加 {len(added)} 个图层", f"Added {len(added)} layer(s)")
        window.statusBar().showMessage(text + ("；" + "；".join(notes) if notes else "") + said,
                                       15000 if notes else 10000 if warned else 5000)
    return added


def read_warnings(gdf) -> list:
    """What the reader said about a file (header row taken, rows dropped, datum), for the status bar."""
    return list(((getattr(gdf, "attrs", None) or {}).get("riskmap") or {}).get("warnings") or [])


def choose_files(window, last_dir: str = "") -> list[str]:
    """The files chosen in a file dialog."""
    paths, _ = QFileDialog.getOpenFileNames(window, tr("添加数据", "Add data"), last_dir, file_filter())
    return paths


def dropped_paths(mime) -> list[str]:
    """Local files with a supported extension in a drop (sidecars such as .dbf are skipped)."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls()
            if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in SUPPORTED_EXTENSIONS]
