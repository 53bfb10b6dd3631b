"""Typed exceptions for riskmap.

Every error a user can cause carries a one-line message naming the file and what to
do. The CLI prints ``str(exc)`` and exits 2; the GUI shows it in a message box.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from pathlib import Path


class RiskmapError(Exception):
    """Base class of all errors riskmap raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong and what to do, in one line.
    path : str or Path, optional
        The file concerned; prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class DataFormatError(RiskmapError):
    """A file is missing, truncated, corrupt or not of a format riskmap reads."""


class MissingSidecarError(DataFormatError):
    """A shapefile lacks a required companion file (.shx, .dbf)."""


class EmptyLayerError(DataFormatError):
    """A layer has no features."""


class EncodingError(DataFormatError):
    """Text in a file cannot be decoded in any supported encoding."""


class GeometryTypeError(DataFormatError):
    """A layer's geometries are not of a kind its role in an analysis takes (lines given as plants)."""


class ResourceLimitError(DataFormatError):
    """A file declares more data than the configured limit allows (refused before reading)."""


class CRSError(RiskmapError):
    """A CRS is missing, unknown or unusable for the operation."""


class CoordinateError(RiskmapError):
    """Coordinates are out of range, swapped or not found."""


class ParameterError(RiskmapError):
    """An analysis parameter or input field is invalid."""


class ProjectError(RiskmapError):
    """A project file cannot be read or written."""


class CancelledError(RiskmapError):
    """Long work was cancelled by the user."""


#: Loggers through which libraries report (rasterio logs GDAL's error handler; pyogrio, fiona).
LIBRARY_LOGGERS = ("rasterio", "pyogrio", "fiona", "py.warnings")


@contextlib.contextmanager
def collect_library_warnings(caught: list, show: bool = False):
    """Collect what libraries say while a block runs, instead of letting it print.

    Python warnings (rasterio's NotGeoreferencedWarning, pyogrio's RuntimeWarning for GDAL
    "Warning 1:") and log records of :data:`LIBRARY_LOGGERS` are appended to ``caught`` as
    text, so riskmap's own one line comes first and the library's words are folded into it
    (CLI) or shown once under the message box's details (window). Issue 18 §7.

    Parameters
    ----------
    caught : list
        Receives the messages (str), in order.
    show : bool
        When true nothing is collected (``--debug``: warnings show as they come).

    Notes
    -----
    ``warnings.catch_warnings`` is process-wide: use it on one thread at a time (the CLI's
    main thread, the window's GUI thread).
    """
    if show:
        yield caught
        return

    class _Collect(logging.Handler):
        def emit(self, record):
            caught.append(record.getMessage())

    handler = _Collect(level=logging.WARNING)
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    saved = [(lg, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
    try:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            try:
                yield caught
            finally:
                caught.extend(str(r.message) for r in records)
    finally:
        for lg, propagate in saved:
            lg.removeHandler(handler)
            lg.propagate = propagate


_thread_collectors: dict[int, list] = {}
_router_lock = threading.Lock()
_shown_elsewhere = None  # the ``warnings.showwarning`` that was in place when the router was installed


def _route_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` while thread collectors exist: a collecting thread's warnings are kept."""
    target = _thread_collectors.get(threading.get_ident())
    if target is not None:
        target.append(str(message))
        return
    (_shown_elsewhere or warnings._showwarning_orig)(message, category, filename, lineno, file, line)


class _ThreadFilter(logging.Filter):
    """Keeps (and drops from the log) the library log records of one thread."""

    def __init__(self, ident: int, caught: list):
        super().__init__()
        self.ident, self.caught = ident, caught

    def filter(self, record) -> bool:
        if record.thread != self.ident or record.levelno < logging.WARNING:
            return True
        self.caught.append(record.getMessage())
        return False


@contextlib.contextmanager
def collect_thread_warnings(caught: list):
    """Collect what libraries say on *this thread* while a block runs (background tasks).

    Like :func:`collect_library_warnings`, but other threads are untouched: the process-wide
    warnings state is not replaced for the block; a router in ``warnings.showwarning`` (put
    in place once, kept while another hook replaces it) hands this thread's warnings to
    ``caught``, and a filter on :data:`LIBRARY_LOGGERS` keeps this thread's log records.
    A warning the filters show only once per place is collected the first time only.

    Parameters
    ----------
    caught : list
        Receives the messages (str), in order.
    """
    global _shown_elsewhere
    ident = threading.get_ident()
    with _router_lock:
        if warnings.showwarning is not _route_warning:
            _shown_elsewhere = warnings.showwarning
            warnings.showwarning = _route_warning
        _thread_collectors[ident] = caught
    log_filter = _ThreadFilter(ident, caught)
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    for lg in loggers:
        lg.addFilter(log_filter)
    try:
        yield caught
    finally:
        for lg in loggers:
            lg.removeFilter(log_filter)
        with _router_lock:
            _thread_collectors.pop(ident, None)


def distinct_messages(messages) -> list[str]:
    """The messages with whitespace collapsed, blanks and repeats dropped, in first-seen order."""
    return list(dict.fromkeys(" ".join(str(m).split()) for m in messages if str(m).strip()))


def fold_messages(messages) -> str:
    """Distinct library messages as one line (the first three, then a count)."""
    from riskmap.i18n import tr

    distinct = distinct_messages(messages)
    text = "；".join(m[:160] for m in distinct[:3])
    return text + (tr(f" 等 {len(distinct)} 条", f" and {len(distinct) - 3} more") if len(distinct) > 3 else "")
