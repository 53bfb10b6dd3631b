"""Autosave journal and crash recovery (Qt-free).

Every change of a project since its last save is appended to a journal, one record per line,
and forced to disk (``fsync``) before the change returns, so a power cut or a kill loses at
most the edit in progress. On the next start riskmap finds the journals whose session died
(their lock file is free), lists what they hold and, if the user agrees, rebuilds the project
exactly as it was after the last journalled change. A save or a clean exit empties or removes
the journal, so no prompt follows.

Where
    A saved project ``P.rmp`` keeps its journals in ``.P.rmp.riskmap/`` beside it; an unsaved
    one in the per-user recovery folder ``$RISKMAP_RECOVERY_DIR`` (tests) or
    ``$XDG_STATE_HOME/riskmap/recovery`` (default ``~/.local/state/riskmap/recovery``). Each
    session also leaves a pointer ``sessions/<token>.json`` in the recovery folder, so a start
    finds the journals of saved projects too.

Records
    A line is ``<length> <crc32 hex> <JSON>``: a torn last line (the kill came mid-write) or a
    damaged one fails the length or CRC check and it and everything after it are ignored.
    Kinds (``"t"``): ``head`` (format, project path, the ``save_id`` of the saved file the
    journal starts from), ``reg`` (a register change: the new values of the ids touched and the
    full order of segments and of candidates — which also says what was removed — the
    detection when it changed and the new history rows), ``regfull`` (the whole register),
    ``proj`` (the project description — layers, styles, order, title — with, for every vector
    layer, ``"base"`` when its data is the saved file's or the name of a GeoPackage written
    beside the journal when it changed).

Writer thread
    Layer data (big result layers) is written by one background writer thread per journal: the
    thread that records a change (the GUI) only takes the description and the frames to write
    (frames are replaced, never changed in place, so holding them is a consistent snapshot) and
    queues them. The writer writes the GeoPackages, then appends the ``proj`` record (fsync), then
    removes the data files no record needs any more, in queue order; queued records that a newer
    one replaces are merged into it. Register records are still appended at once by the caller
    (they are independent of ``proj`` records when restoring); one lock keeps records whole.
    :meth:`Journal.flush` waits until the queue is written.

A journal whose ``save_id`` is not the saved file's any more (the project was saved after it
began, and the kill came before the journal was reset) holds nothing the file lacks and is
discarded without a prompt.
"""
from __future__ import annotations

import collections
import json
import os
import threading
import uuid
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from riskmap.errors import ProjectError
from riskmap.i18n import tr

#: Environment variable naming the recovery folder (tests, portable installs).
RECOVERY_ENV = "RISKMAP_RECOVERY_DIR"
#: Journal format version.
JOURNAL_VERSION = 1
_REGISTER_KEY = "road_register"  # riskmap.analysis.register.EXTRAS_KEY (not imported: keep this module light)


def recovery_root() -> Path:
    """The per-user recovery folder (``$RISKMAP_RECOVERY_DIR``, else ``$XDG_STATE_HOME/riskmap/recovery``)."""
    env = os.environ.get(RECOVERY_ENV, "").strip()
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME", "").strip() or str(Path.home() / ".local" / "state")
    return Path(state) / "riskmap" / "recovery"


def journal_dir_for(project_path) -> Path:
    """The folder beside a saved project that holds its journals (``.NAME.riskmap``)."""
    path = Path(project_path).resolve()
    return path.parent / f".{path.name}.riskmap"


# ---------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------
def encode_record(record: dict) -> bytes:
    """One journal line: ``<length> <crc32> <JSON>\\n`` (UTF-8)."""
    payload = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
    return b"%d %08x " % (len(payload), zlib.crc32(payload)) + payload + b"\n"


def read_records(path) -> tuple[list[dict], bool]:
    """The intact records of a journal file and whether a torn or damaged tail was dropped."""
    data = Path(path).read_bytes()
    records, pos = [], 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            return records, True
        try:
            size, crc, payload = data[pos:end].split(b" ", 2)
            if int(size) != len(payload) or int(crc, 16) != zlib.crc32(payload):
                return records, True
            records.append(json.loads(payload.decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            return records, True
        pos = end + 1
    return records, False


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# ---------------------------------------------------------------------------
# session locks (free again when the process dies, however it dies)
# ---------------------------------------------------------------------------
class _Lock:
    def __init__(self, path: Path):
        self.path = path
        self.fh = None

    def acquire(self) -> bool:
        fh = open(self.path, "a+b")
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self.fh = fh
        return True

    def release(self) -> None:
        if self.fh is not None:
            self.fh.close()  # closing drops the lock
            self.fh = None


def _is_live(lock_path: Path) -> bool:
    """True when a running session holds the lock."""
    if not lock_path.exists():
        return False
    probe = _Lock(lock_path)
    if probe.acquire():
        probe.release()
        return False
    return True


def saved_save_id(path) -> str | None:
    """The ``save_id`` of a saved project file (None when unreadable or absent)."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{Path(path).resolve().as_posix()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT value FROM riskmap_project WHERE key = 'project'").fetchone()
        finally:
            con.close()
        return json.loads(row[0]).get("save_id") if row else None
    except (sqlite3.Error, ValueError, TypeError):
        return None


# ---------------------------------------------------------------------------
# the journal of a running session
# ---------------------------------------------------------------------------
class Journal:
    """The journal of one project in one running session.

    Use :meth:`start`; the project then carries it as ``project.journal``, a register bound to
    the project (:meth:`~riskmap.analysis.register.HazardRegister.bind`) reports each change
    to :meth:`register_changed`, and layer changes call ``schedule`` (the window debounces; by
    default the project is journalled at once).
    """

    def __init__(self, project, directory: Path, token: str, root: Path):
        self.project = project
        self.directory = directory
        self.token = token
        self.root = root
        self.file = directory / f"{token}.jsonl"
        self.lock = _Lock(directory / f"{token}.lock")
        self.pointer = root / "sessions" / f"{token}.json"
        #: Called on a layer change; None: :meth:`record_project` at once. The window sets a timer.
        self.schedule = None
        self._fd: int | None = None
        self._data: dict = {}  # layer id -> (GeoDataFrame object journalled, data reference)
        self._serial = 0
        self._register = None
        self._hist_n = 0
        self._detection = None
        self.records = 0
        #: Write layer data on the writer thread (False: in the caller, as before).
        self.background = True
        #: Called on the writer thread with the exception when a background write failed.
        self.on_error = None
        self._io = threading.RLock()  # one record at a time; the fd and the file change under it
        self._cond = threading.Condition()
        self._jobs: collections.deque = collections.deque()
        self._busy = False
        self._stop = False
        self._gen = 0  # bumped by a save or close: queued and running writes of before are dropped
        self._failed: set = set()  # data files a failed write did not produce (rewritten next time)
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    @classmethod
    def start(cls, project, root=None, *, dirty: bool = False, background: bool = True) -> "Journal":
        """Begin journalling ``project``.

        Parameters
        ----------
        project : Project
        root : path, optional
            The recovery folder (default :func:`recovery_root`).
        dirty : bool
            The project differs from its saved file (it was just recovered): its whole state is
            journalled at once.
        background : bool
            Write layer data on the journal's writer thread (:meth:`flush` waits for it).
        """
        root = Path(root) if root is not None else recovery_root()
        token = uuid.uuid4().hex[:16]
        journal = cls(project, root, token, root)
        journal.background = background
        journal._open(dirty)
        project.journal = journal
        layers = project.layers.events
        for event in (layers.inserted, layers.removed, layers.moved, layers.changed):
            event.connect(journal._on_layers)
        return journal

    def _place(self) -> None:
        path = self.project.path
        self.directory = journal_dir_for(path) if path is not None else self.root / "unsaved"
        self.file = self.directory / f"{self.token}.jsonl"
        self.lock = _Lock(self.directory / f"{self.token}.lock")

    def _open(self, dirty: bool, base: dict | None = None) -> None:
        held = self.lock if self.lock.fh is not None else None
        self._place()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.pointer.parent.mkdir(parents=True, exist_ok=True)
            if held is not None and held.path == self.lock.path:
                self.lock = held
            elif not self.lock.acquire():
                raise OSError(tr("自动保存日志已被另一进程锁定", "the journal lock is taken"))
            path = self.project.path
            header = {"t": "head", "format": "riskmap-journal", "version": JOURNAL_VERSION,
                      "project": str(Path(path).resolve()) if path is not None else None,
                      "save_id": getattr(self.project, "save_id", None), "pid": os.getpid(), "root": str(self.root)}
            _write_atomic(self.file, encode_record(header))
            self._fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
            _write_atomic(self.pointer, json.dumps({"dir": str(self.directory), "token": self.token},
                                                   ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            raise ProjectError(tr(f"无法创建自动保存日志（{exc}）", f"cannot create the autosave journal ({exc})"),
                               self.directory) from exc
        self.records = 0
        if path is None:
            self._data = {}
        elif base is not None:  # the frames the saved file holds (a save that ran while edits went on)
            self._data = {lid: (gdf, "base") for lid, gdf in base.items()}
        elif dirty:
            self._data = {}
        else:
            self._data = {layer.id: (layer.gdf, "base") for layer in self.project.layers if hasattr(layer, "gdf")}
        if dirty:
            self.record_project()
            self._append({"t": "regfull", "register": self.project.extras.get(_REGISTER_KEY)})

    def _append(self, record) -> None:
        data = record if isinstance(record, bytes) else encode_record(record)
        with self._io:
            if self._fd is None:
                return
            os.write(self._fd, data)
            os.fsync(self._fd)
            self.records += 1

    def _drop_queue(self) -> None:
        """Forget queued writes and make a running one stale (a save or close replaces them)."""
        with self._cond:
            self._gen += 1
            self._jobs.clear()
            self._failed.clear()

    def saved(self, base: dict | None = None, dirty: bool = False) -> None:
        """The project was just saved: start again from the saved file (its journal moves beside it).

        ``base`` maps layer ids to the frames the file holds (default: the layers' frames now);
        ``dirty``: edits came after the saved state (a save in the background), journalled at once.
        """
        self._drop_queue()
        with self._io:
            old_file, old_lock, old_dir = self.file, self.lock, self.directory
            self._close_fd()
            self._sidecars(keep=())
            self._open(dirty=False, base=base)
            if old_file != self.file:
                old_lock.release()
                _remove(old_file, old_lock.path)
                _rmdir_if_empty(old_dir)
        if self._register is not None:
            self.attach_register(self._register)
        if dirty:
            self.record_project()
            self._append({"t": "regfull", "register": self.project.extras.get(_REGISTER_KEY)})

    def close(self, timeout: float | None = 30.0) -> None:
        """Clean exit or project closed: remove the journal, its data and its pointer.

        Queued writes are dropped; a write in progress is waited for (at most ``timeout`` s).
        """
        layers = self.project.layers.events
        for event in (layers.inserted, layers.removed, layers.moved, layers.changed):
            event.disconnect(self._on_layers)
        self._drop_queue()
        self._stop_writer(timeout)
        with self._io:
            self._close_fd()
            self._sidecars(keep=())
            _remove(self.file, self.pointer)
            self.lock.release()
            _remove(self.lock.path)
            _rmdir_if_empty(self.directory)
        if getattr(self.project, "journal", None) is self:
            self.project.journal = None

    # -- the writer thread ------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued change is written; False when ``timeout`` s passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    @property
    def pending(self) -> bool:
        """Changes are queued or being written."""
        with self._cond:
            return bool(self._jobs) or self._busy

    def _enqueue(self, job: dict) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._stop = False
                self._thread = threading.Thread(target=self._writer, name=f"riskmap-journal-{self.token}",
                                                daemon=True)
                self._thread.start()
            self._jobs.append(job)
            self._cond.notify_all()

    def _stop_writer(self, timeout: float | None) -> None:
        with self._cond:
            thread, self._stop = self._thread, True
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def _writer(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._jobs or self._stop)
                if self._stop and not self._jobs:
                    return
                batch = [j for j in self._jobs if j["gen"] == self._gen]
                self._jobs.clear()
                self._busy = bool(batch)
            if not batch:
                continue
            last = batch[-1]  # the newest description replaces the queued ones: write what it names
            needed = set(last["refs"].values())
            writes = {}
            for job in batch:
                writes.update({n: g for n, g in job["writes"].items() if n in needed})
            try:
                self._commit(last["gen"], last["directory"], last["record"], needed, writes)
            except Exception as exc:  # reported to the window; the next record writes the data again
                with self._cond:
                    self._failed.update(writes)
                if self.on_error is not None:
                    try:
                        self.on_error(exc)
                    except Exception:
                        pass
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _commit(self, gen: int, directory: Path, record: bytes, needed: set, writes: dict) -> None:
        written = []
        for name, gdf in writes.items():
            if gen != self._gen:
                break
            _write_gpkg(directory / name, gdf)
            written.append(directory / name)
        with self._io:
            stale = gen != self._gen or self._fd is None
            if not stale:
                os.write(self._fd, record)
                os.fsync(self._fd)
                self.records += 1
        if stale:  # a save or close came first: these files belong to nothing
            _remove(*written)
            _rmdir_if_empty(directory)
            return
        for path in directory.glob(f"{self.token}-data-*.gpkg"):
            if path.name not in needed:
                _remove(path)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- register --------------------------------------------------------------------
    def attach_register(self, register) -> None:
        """Journal the changes of ``register`` (its state now is the journal's state)."""
        self._register = register
        self._hist_n = len(register.history)
        self._detection = register.detection

    def register_changed(self, register, what: str, ids) -> None:
        """Journal a register change (called by the register after each command step)."""
        if register is not self._register:
            self.attach_register(register)
        ids = list(ids)
        record = {"t": "reg", "seg": _delta(register.segments, ids), "cand": _delta(register.candidates, ids)}
        if register.detection is not self._detection:
            record["det"] = register.detection
            self._detection = register.detection
        record["hist"] = [dict(r) for r in register.history[self._hist_n:]]
        self._hist_n = len(register.history)
        self._append(record)

    # -- project ---------------------------------------------------------------------
    def _on_layers(self, **kwargs) -> None:
        if kwargs.get("what") == "selection":
            return
        if self.schedule is not None:
            self.schedule()
        else:
            self.record_project()

    def record_project(self) -> None:
        """Journal the project description and the data of every vector layer that changed.

        With :attr:`background` the caller only builds the record and queues it with the frames to
        write (cheap); the writer thread writes them. Otherwise everything is written here.
        """
        if self._fd is None:
            return
        doc = self.project.to_dict(None)
        doc["extras"] = {k: v for k, v in doc.get("extras", {}).items() if k != _REGISTER_KEY}
        with self._cond:
            failed, self._failed = self._failed, set()
        refs, writes = {}, {}
        for layer in self.project.layers:
            if not hasattr(layer, "gdf"):
                continue
            seen = self._data.get(layer.id)
            if seen is None or seen[0] is not layer.gdf or seen[1] in failed:
                self._serial += 1
                name = f"{self.token}-data-{self._serial}.gpkg"
                writes[name] = layer.gdf
                seen = self._data[layer.id] = (layer.gdf, name)
            refs[layer.id] = seen[1]
        self._data = {k: v for k, v in self._data.items() if k in refs}
        record = encode_record({"t": "proj", "doc": doc, "data": refs})  # the description as it is now
        job = {"gen": self._gen, "directory": self.directory, "record": record, "refs": refs, "writes": writes}
        if self.background:
            self._enqueue(job)
        else:
            self._commit(job["gen"], job["directory"], record, set(refs.values()), writes)

    def _sidecars(self, keep) -> None:
        for path in self.directory.glob(f"{self.token}-data-*.gpkg"):
            if path.name not in keep:
                _remove(path)
        self._data = {k: v for k, v in self._data.items() if v[1] == "base" or v[1] in keep}


def _delta(store: dict, ids) -> dict:
    # the full order says which ids remain (removals included) and where the new ones go
    return {"order": list(store), "put": {i: store[i].to_dict() for i in ids if i in store}}


def _write_gpkg(path: Path, gdf) -> None:
    from riskmap.io import atomic_path, quiet_runtime_warnings, write_dataframe_chunked

    with atomic_path(path, suffix=".gpkg") as tmp:
        with quiet_runtime_warnings():
            # the writer thread: in chunks; no R-tree (riskmap reads journal layers whole, the save is the file
            # other tools open)
            write_dataframe_chunked(gdf, str(tmp), "data", driver="GPKG", layer_options={"SPATIAL_INDEX": "NO"})
    _fsync_dir(path.parent)


def _remove(*paths) -> None:
    for p in paths:
        try:
            Path(p).unlink()
        except FileNotFoundError:
            pass


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


# ---------------------------------------------------------------------------
# recovery
# ---------------------------------------------------------------------------
@dataclass
class Recovery:
    """The journal of a session that died: what it holds and how to restore or drop it."""

    file: Path
    header: dict
    records: list = field(default_factory=list)
    torn: bool = False

    @property
    def token(self) -> str:
        return self.file.stem

    @property
    def project_path(self) -> Path | None:
        p = self.header.get("project")
        return Path(p) if p else None

    @property
    def changes(self) -> int:
        return sum(1 for r in self.records if r.get("t") in ("reg", "proj", "regfull"))

    def summary_lines(self, limit: int = 12) -> list[str]:
        """What a restore brings back, in the UI language (for the recovery prompt)."""
        path = self.project_path
        lines = [tr(f"工程：{path}", f"Project: {path}") if path else tr("工程：未保存的新工程", "Project: unsaved new project")]
        history = [h for r in self.records if r.get("t") == "reg" for h in r.get("hist", [])]
        texts = list(dict.fromkeys(h.get("text", "") for h in history if h.get("text")))
        if texts:
            lines.append(tr(f"隐患登记修改 {len(texts)} 项：", f"{len(texts)} register edits:"))
            lines += [f"  · {t}" for t in texts[-limit:]]
        if any(r.get("t") == "regfull" for r in self.records) and not texts:
            lines.append(tr("隐患登记（已恢复的状态）", "the register (as recovered before)"))
        proj = [r for r in self.records if r.get("t") == "proj"]
        if proj:
            names = [e.get("name", "") for e in proj[-1]["doc"].get("layers", [])]
            lines.append(tr(f"图层与样式（{len(names)} 个图层）：", f"Layers and styles ({len(names)} layers):")
                         + "、".join(names[:limit]))
        if self.torn:
            lines.append(tr("（最后一条未写完的记录已忽略）", "(an incomplete last record was ignored)"))
        return lines

    def restore(self):
        """The project as it was after the last journalled change (marked modified, path of the saved file)."""
        from riskmap.project import Project

        path = self.project_path
        try:
            base = Project.load(path) if path is not None else Project()
            state = base.extras.get(_REGISTER_KEY)
            other = {k: v for k, v in base.extras.items() if k != _REGISTER_KEY}
            doc = refs = None
            for rec in self.records:
                kind = rec.get("t")
                if kind == "proj":
                    doc, refs = rec["doc"], rec["data"]
                    other = dict(doc.get("extras") or {})
                elif kind == "regfull":
                    state = rec.get("register")
                elif kind == "reg":
                    state = _apply_register(state, rec)
            project = base if doc is None else _rebuild(base, doc, refs, self.file.parent)
        except ProjectError:
            raise
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise ProjectError(tr(f"自动保存日志已损坏，无法恢复（{exc}）", f"the autosave journal is damaged ({exc})"),
                               self.file) from exc
        project.extras = dict(other)
        if state is not None:
            project.extras[_REGISTER_KEY] = state
        project.path = path
        if path is not None:
            project.save_id = self.header.get("save_id")
        project.modified = True
        return project

    def discard(self) -> None:
        """Remove the journal, its data files and its pointer."""
        directory = self.file.parent
        for p in directory.glob(f"{self.token}-data-*.gpkg"):
            _remove(p)
        root = Path(self.header.get("root") or recovery_root())
        _remove(self.file, directory / f"{self.token}.lock", root / "sessions" / f"{self.token}.json")
        _rmdir_if_empty(directory)


def _apply_register(state: dict | None, rec: dict) -> dict:
    if state is None:
        state = {"format": "riskmap-road-register", "version": 1, "crs": "EPSG:4490", "segments": [],
                 "candidates": [], "detection": None, "history": []}
    state = dict(state)
    for key, store in (("seg", "segments"), ("cand", "candidates")):
        delta = rec[key]
        items = {d["id"]: d for d in state.get(store) or []}
        items.update(delta["put"])
        state[store] = [items[i] for i in delta["order"]]
    if "det" in rec:
        state["detection"] = rec["det"]
    state["history"] = list(state.get("history") or []) + list(rec.get("hist") or [])
    return state


def _rebuild(base, doc: dict, refs: dict, directory: Path):
    """A project from a journalled description; vector data from the saved file or the journal's GeoPackages."""
    import pyogrio

    from riskmap.layers import RasterLayer, Style, VectorLayer
    from riskmap.layers.fields import restore_nullable_fields
    from riskmap.project import Project

    project = Project(doc.get("map_crs") or base.map_crs)
    project.title = doc.get("title", project.title)
    project.approval_number = doc.get("approval_number", "")
    for entry in doc.get("layers", []):
        common = dict(style=Style.from_dict(entry.get("style")), visible=entry.get("visible", True),
                      opacity=entry.get("opacity", 1.0), layer_id=entry.get("id"), group=entry.get("group", "hazards"))
        if entry.get("kind") == "raster":
            layer = RasterLayer(Path(entry["path"]), entry.get("name"), band=entry.get("band", 1), **common)
        else:
            ref = refs[entry["id"]]
            if ref == "base":
                gdf = base.layers.by_id(entry["id"]).gdf
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    gdf = pyogrio.read_dataframe(directory / ref, layer="data")
                    gdf = restore_nullable_fields(gdf, pyogrio.read_info(directory / ref, layer="data"))
            layer = VectorLayer(gdf, entry.get("name"), map_crs=project.map_crs, source=entry.get("source"), **common)
        layer.aliases = entry.get("aliases") or {}
        layer.provenance = entry.get("provenance") if isinstance(entry.get("provenance"), dict) else None
        project.layers.append(layer)
    if doc.get("extent"):
        project.extent = tuple(doc["extent"])
    return project


def load_recovery(file) -> Recovery | None:
    """The recovery of one journal file, or None when it holds nothing to restore (it is then removed).

    A journal of a live session (its lock is held) is never touched.
    """
    file = Path(file)
    if _is_live(file.with_suffix(".lock")):
        return None
    try:
        records, torn = read_records(file)
    except OSError:
        return None
    header = records[0] if records and records[0].get("t") == "head" else None
    if header is None or int(header.get("version", 0)) > JOURNAL_VERSION:
        return None
    rec = Recovery(file, header, records[1:], torn)
    path = rec.project_path
    stale = path is not None and (not path.exists() or saved_save_id(path) != header.get("save_id"))
    if rec.changes == 0 or stale:
        rec.discard()
        return None
    return rec


def pending_recoveries(root=None) -> list[Recovery]:
    """Journals of sessions that died with unsaved changes (found through the pointers in ``root``)."""
    root = Path(root) if root is not None else recovery_root()
    found = []
    for pointer in sorted((root / "sessions").glob("*.json")):
        try:
            info = json.loads(pointer.read_text(encoding="utf-8"))
            file = Path(info["dir"]) / f"{info['token']}.jsonl"
        except (OSError, ValueError, KeyError, TypeError):
            _remove(pointer)
            continue
        if _is_live(file.with_suffix(".lock")):
            continue
        if not file.exists():
            _remove(pointer)
            continue
        rec = load_recovery(file)
        if rec is not None:
            found.append(rec)
        else:
            _remove(pointer)
    return found


def recovery_for_project(project_path) -> list[Recovery]:
    """Journals left beside a saved project by sessions that died (e.g. when it is opened)."""
    directory = journal_dir_for(project_path)
    files = sorted(directory.glob("*.jsonl")) if directory.is_dir() else []
    return [rec for rec in (load_recovery(f) for f in files) if rec is not None]


__all__ = ["Journal", "RECOVERY_ENV", "Recovery", "encode_record", "journal_dir_for", "load_recovery",
           "pending_recoveries", "read_records", "recovery_for_project", "recovery_root"]
