"""Add data to the project: file dialog, drag and drop, and the import-options dialog.

Every file is read completely with the importers (:func:`riskmap.io.read_vector`,
:class:`~riskmap.layers.RasterLayer`) before anything is added, so a bad file adds
nothing and shows one message. The reads run on the window's task runner (one task reads
the chosen files in turn, with progress and 取消; a cancelled add adds nothing); the
questions are asked on the GUI thread between tasks: a read that needs an answer returns
a :class:`Question`, the window asks it, and a next task reads with the answer. The layers
are built on the worker too and added on the GUI thread at the end, one undo command per
file. The user is asked only what a file cannot tell: the
coordinate system of a table of coordinates (WGS84 / CGCS2000, or AMap GCJ-02 / Baidu
BD-09 offsets) or of a file without a CRS, and the encoding when the text does not decode.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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
from riskmap.errors import (
    CancelledError,
    CRSError,
    EncodingError,
    MissingCRSError,
    RiskmapError,
    collect_thread_warnings,
    fold_messages,
)
from riskmap.i18n import tr
from riskmap.layers.style import QUALITATIVE, Style

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


def reference_layers(window) -> list:
    """(name, frame) of the project's vector layers: what a table's points are matched against."""
    from riskmap.layers import VectorLayer

    project = getattr(window, "project", None)
    return [(layer.name, layer.gdf) for layer in (project.layers if project is not None else [])
            if isinstance(layer, VectorLayer)]


def datum_from_project(window, path, refs=None) -> tuple:
    """GCJ-02/BD-09 when the table's points, shifted back, land on the same-named features of the project's
    point layers (:func:`riskmap.tables.datum_from_matches`); ``(None, "")`` otherwise or when unreadable.

    ``refs`` (from :func:`reference_layers`) instead of the window, on a worker thread."""
    from riskmap import tables

    refs = reference_layers(window) if refs is None else refs
    if not refs:
        return None, ""
    try:
        table = io.read_vector(path, offset="wgs84")
    except RiskmapError:
        return None, ""
    return tables.datum_from_matches(table, refs)


@dataclass
class Question:
    """What a read needs to know from the user before it can go on (asked on the GUI thread)."""

    path: Path
    kind: str  # "table" (datum of a coordinate table), "crs" (no CRS in the file), "encoding"
    reason: str
    defaults: ImportOptions
    ask_crs: bool = True


def read_step(path, options: ImportOptions | None = None, refs=(), asked=()) -> list[Loaded] | Question:
    """Read ``path`` (any thread), or say what to ask first: a :class:`Question` of a kind not in ``asked``."""
    path = Path(path)
    if options is None and path.suffix.lower() in TABLE_EXTENSIONS and "table" not in asked:
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
            detected, where = datum_from_project(None, path, list(refs))
            if detected:
                reason += tr(f"\n{where}，已预选“{labels[detected]}”。",
                             f"\n{where}: “{labels[detected]}” is preselected.")
        return Question(path, "table", reason, ImportOptions(crs="EPSG:4490", offset=detected))
    try:
        return read_file(path, options)
    except CRSError as exc:
        asked_already = (options is not None and options.crs) or "crs" in asked
        if asked_already or path.suffix.lower() in io.RASTER_EXTENSIONS \
                or not isinstance(exc, MissingCRSError):  # not the message: it is in the UI language
            raise
        return Question(path, "crs", tr("文件没有坐标系信息（缺少 .prj？），请指定坐标系：",
                                        "The file declares no coordinate system (missing .prj?); choose one:"),
                        options or ImportOptions(crs="EPSG:4490"))
    except EncodingError:
        if "encoding" in asked:
            raise
        return Question(path, "encoding", tr("文字无法解码，请选择文件的编码：",
                                             "The text does not decode; choose the file's encoding:"),
                        options or ImportOptions(encoding="gb18030"), ask_crs=False)


def read_with_questions(parent, path, options: ImportOptions | None = None) -> list[Loaded] | None:
    """Read ``path`` on this thread, asking the user what the file cannot tell; None when the user cancels."""
    asked: set = set()
    refs = reference_layers(parent)
    while True:
        out = read_step(path, options, refs, asked)
        if not isinstance(out, Question):
            return out
        asked.add(out.kind)
        options = ask_options(parent, path, out.reason, out.defaults, ask_crs=out.ask_crs)
        if options is None:
            return None


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
    return make_layers(loaded, project.map_crs, len(project.layers))


def make_layers(loaded: list[Loaded], map_crs, serial: int) -> list:
    """Layer objects for the read data, styles counted from ``serial`` (any thread)."""
    from riskmap.layers import RasterLayer, VectorLayer

    layers = []
    for i, item in enumerate(loaded):
        if item.gdf is None:
            layers.append(RasterLayer(item.path, item.name))
        else:
            layers.append(VectorLayer(item.gdf, item.name, map_crs=map_crs, source=str(item.path),
                                      style=default_style(item.gdf, serial + i)))
    return layers


@dataclass
class FileJob:
    """One file of an add: what the user said so far, and what came of it."""

    path: Path
    options: ImportOptions | None = None
    asked: set = field(default_factory=set)
    outcome: str = "pending"  # pending | question | read | failed | skipped
    question: Question | None = None
    loaded: list = field(default_factory=list)
    layers: list = field(default_factory=list)
    error: BaseException | None = None
    warnings: list = field(default_factory=list)


def read_jobs(jobs: list, map_crs_wkt: str, serial: int, refs, progress=None) -> list:
    """Read the pending files of ``jobs`` in turn (a worker thread): each becomes read, failed or a question.

    ``progress`` (the task's) says which file is read and raises CancelledError after 取消.
    """
    from riskmap import crs as crs_policy

    map_crs = crs_policy.parse_crs(map_crs_wkt)  # this thread's own CRS object
    todo = [job for job in jobs if job.outcome == "pending"]
    for i, job in enumerate(todo):
        message = f"{i + 1}/{len(todo)} {job.path.name}"
        if progress is not None:
            progress(i / len(todo), message)
        within = None if progress is None else \
            (lambda f, i=i, m=message: progress((i + f) / len(todo), m))  # per chunk of a big file; 取消 too
        caught: list = []
        try:
            with collect_thread_warnings(caught), io.chunk_progress(within):
                out = read_step(job.path, job.options, refs, job.asked)
                if isinstance(out, Question):
                    job.outcome, job.question = "question", out
                else:
                    job.loaded = out
                    job.layers = make_layers(out, map_crs, serial)
                    serial += len(job.layers)
                    job.outcome = "read"
        except CancelledError:
            raise
        except Exception as exc:  # shown on the GUI thread, one box per file
            job.outcome, job.error = "failed", exc
        job.warnings.extend(caught)
    if progress is not None:
        progress(1.0, "")
    return jobs


class AddJob:
    """One 添加数据 of several files: tasks reading them, questions in between, the layers added at the end."""

    def __init__(self, window, paths, options: ImportOptions | None = None):
        self.window = window
        self.jobs = [FileJob(Path(p), options) for p in paths]
        self.was_empty = len(window.project.layers) == 0
        self.project = window.project
        self.task = None
        self.finished = False
        self.cancelled = False
        self.added: list = []

    def start(self) -> "AddJob":
        for job in self.jobs:
            if job.path.suffix.lower() not in SUPPORTED_EXTENSIONS:
                job.outcome = "failed"
                job.error = tr(f"{job.path}：不支持的文件格式，请选择 shp、gpkg、geojson、kml、csv、xlsx 或 tif 文件",
                               f"{job.path}: unsupported format; choose a .shp, .gpkg, .geojson, .kml, .csv, "
                               ".xlsx or .tif file")
        self._next()
        return self

    def _next(self) -> None:
        if not any(job.outcome == "pending" for job in self.jobs):
            self._finish()
            return
        from riskmap import crs as crs_policy

        window = self.window
        pending = [job for job in self.jobs if job.outcome == "pending"]
        title = tr(f"正在读取 {pending[0].path.name}", f"Reading {pending[0].path.name}") if len(pending) == 1 \
            else tr(f"正在读取 {len(pending)} 个文件", f"Reading {len(pending)} files")
        serial = len(self.project.layers) + sum(len(j.layers) for j in self.jobs)
        self.task = window.run_task(read_jobs, self.jobs, crs_policy.crs_wkt(self.project.map_crs), serial,
                                    reference_layers(window), title=title, on_done=lambda _jobs: self._asked(),
                                    on_error=self._failed, on_cancel=self._cancelled)

    def _asked(self) -> None:
        """After a read: ask the questions (GUI thread), then read those files again."""
        for job in self.jobs:
            if job.outcome != "question":
                continue
            q = job.question
            job.asked.add(q.kind)
            answer = ask_options(self.window, job.path, q.reason, q.defaults, ask_crs=q.ask_crs)
            if answer is None:
                job.outcome = "skipped"
            else:
                job.options, job.outcome, job.question = answer, "pending", None
        self._next()

    def _failed(self, exc) -> None:  # read_jobs itself failed (not one file): nothing is added
        self.window.show_error(exc)
        self._done()

    def _cancelled(self) -> None:
        self.cancelled = True
        self._done()

    def _finish(self) -> None:
        window = self.window
        warned, notes = [], []
        for job in self.jobs:
            if job.outcome == "failed":
                if isinstance(job.error, str):
                    window.show_error(job.error)
                elif isinstance(job.error, RiskmapError):
                    window.show_error(job.error, warnings=job.warnings)
                else:  # a reader bug must not leave anything half-loaded either
                    window.show_error(job.error, warnings=job.warnings, what=tr(
                        f"{job.path}：读取失败（riskmap 内部错误，错误内容见“详细信息”）；请确认文件完整，或将文件报告给维护人员",
                        f"{job.path}: could not be read (an internal error of riskmap, see Details); check the "
                        "file is complete, or report it to the maintainers"))
            elif job.outcome == "read" and window.project is self.project:
                warned.extend(job.warnings)
                window.undo_stack.push(AddLayersCommand(self.project, job.layers,
                                                        tr(f"添加数据 {job.path.name}", f"Add data {job.path.name}")))
                self.added.extend(job.layers)
                notes.extend(w for item in job.loaded for w in read_warnings(item.gdf))
        added = self.added
        if added and self.was_empty:
            window.canvas.zoom_full()
        if added:
            said = tr(f"（库的提示：{fold_messages(warned)}）", f" (the libraries said: {fold_messages(warned)})") \
                if warned else ""
            text = tr(f"已添加 {len(added)} 个图层", f"Added {len(added)} layer(s)")
            window.statusBar().showMessage(text + ("；" + "；".join(notes) if notes else "") + said,
                                           15000 if notes else 10000 if warned else 5000)
        self._done()

    def _done(self) -> None:
        self.finished = True
        self.task = None
        if hasattr(self.window, "files_added"):
            self.window.files_added.emit(list(self.added))
        wake = getattr(self.window, "_wake_waiters", None)
        if wake is not None:
            wake()


def add_files(window, paths, options: ImportOptions | None = None, wait: bool = False):
    """Read and add each file; a file that fails shows one message and adds nothing.

    The reads run as a task of the window (progress, 取消). Returns the :class:`AddJob`; with
    ``wait`` the event loop runs until it ended and the layers added are returned.
    """
    job = AddJob(window, list(paths), options).start()
    if not wait:
        return job
    window._wait_until(lambda: job.finished)
    return job.added


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
