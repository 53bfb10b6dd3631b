"""Background work for the GUI: run a function in a worker thread with progress and cancel.

A :class:`Task` runs ``fn(*args, progress=callback, **kwargs)`` in a small pool of worker
threads (separate from the canvas renderers, so a long analysis never starves map
drawing). The callback is the analyses' ``progress(fraction, message)``: it forwards
progress to the GUI thread (throttled) and raises :class:`~riskmap.errors.CancelledError`
once :meth:`Task.cancel` was called, so the analysis stops at its next progress call.
Results, errors and the cancellation are delivered as Qt signals, which arrive on the
GUI thread.

The workers are Python threads (:class:`concurrent.futures.ThreadPoolExecutor`), not a
``QThreadPool``: PyQt gives a Qt pool thread a fresh Python thread state for every job,
and pyproj 3.7 keeps its per-thread PROJ context in OS-thread storage while freeing it
with the thread state, so the second job using pyproj on the same Qt thread crashes
(pyproj issues #1509/#1622, fixed after 3.7.2). A Python thread keeps one thread state
for its whole life.
"""
from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from PyQt5.QtCore import QObject, pyqtSignal

from riskmap.errors import CancelledError, collect_thread_warnings
from riskmap.i18n import tr

#: Minimum seconds between two progress signals of one task (the GUI needs no more).
PROGRESS_INTERVAL_S = 0.05

#: Worker threads for long work (the machine may have only two cores).
MAX_WORKERS = 2

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def task_pool() -> ThreadPoolExecutor:
    """The shared executor of background tasks (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="riskmap-task")
        return _pool


class Task(QObject):
    """One piece of background work.

    Signals (all delivered on the GUI thread): ``progress(fraction, message)``,
    ``finished(result)``, ``failed(exception)``, ``cancelled()`` and ``done()`` (after any
    of the three outcomes).
    """

    progress = pyqtSignal(float, str)
    finished = pyqtSignal(object)
    failed = pyqtSignal(object)
    cancelled = pyqtSignal()
    done = pyqtSignal()

    def __init__(self, fn, args=(), kwargs=None, title: str = "", parent=None):
        super().__init__(parent)
        self.fn = fn
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.title = title or getattr(fn, "__name__", tr("任务", "task"))
        self.fraction = 0.0
        self.message = ""
        self.result = None
        self.error: BaseException | None = None
        #: What libraries said while the work ran (warnings, GDAL log records), collected on its thread.
        self.warnings: list[str] = []
        self.state = "pending"  # pending → running → finished | failed | cancelled
        self._cancel = threading.Event()
        self._last_emit = 0.0
        self.future = None

    # -- control (GUI thread) ---------------------------------------------------
    def start(self, pool: ThreadPoolExecutor | None = None) -> "Task":
        """Queue the work in ``pool`` (default :func:`task_pool`)."""
        self.state = "running"
        self.future = (pool or task_pool()).submit(self._run)
        return self

    def cancel(self) -> None:
        """Ask the work to stop: its next progress call raises CancelledError."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def is_running(self) -> bool:
        return self.state in ("pending", "running")

    # -- worker side ------------------------------------------------------------
    def report(self, fraction: float = 0.0, message: str = "") -> None:
        """The ``progress`` callback handed to the work; raises CancelledError when cancelled."""
        if self._cancel.is_set():
            raise CancelledError(tr(f"{self.title}已取消", f"{self.title} was cancelled"))
        try:
            fraction = min(max(float(fraction), 0.0), 1.0)
        except (TypeError, ValueError):
            fraction = 0.0
        self.fraction, self.message = fraction, str(message or "")
        now = time.monotonic()
        if now - self._last_emit >= PROGRESS_INTERVAL_S or fraction >= 1.0:
            self._last_emit = now
            self.progress.emit(fraction, self.message)

    def _run(self) -> None:
        try:
            with collect_thread_warnings(self.warnings):  # shown with the outcome, never on stderr
                result = self.fn(*self.args, progress=self.report, **self.kwargs)
        except CancelledError:
            self.state = "cancelled"
            self.cancelled.emit()
        except BaseException as exc:  # delivered to the GUI, never lost in the worker
            if self._cancel.is_set() and not isinstance(exc, Exception):
                self.state = "cancelled"
                self.cancelled.emit()
            else:
                self.error = exc
                self.state = "failed"
                exc.__riskmap_traceback__ = traceback.format_exc()
                exc.__riskmap_warnings__ = list(self.warnings)  # under the error box's details
                self.failed.emit(exc)
        else:
            self.result = result
            self.state = "finished"
            self.finished.emit(result)
        self.done.emit()
