"""The window's one way to show an error (issue 18 §7: one line, in the UI language).

Every error message box of the window is built here, by :func:`show_error`:

- a :class:`~riskmap.errors.RiskmapError` shows its own one line (what went wrong and
  what to do, naming the file);
- any other exception is a bug or a library failure riskmap did not foresee: the main text
  is a generic line in the UI language ("内部错误…", or the caller's ``what`` such as
  "读取失败"), and the exception's text and traceback go only under the box's
  详细信息 (details), never into the main text;
- library warnings captured while the action ran (:func:`library_warnings`) are shown once,
  deduplicated, under details.

:func:`error_line` gives the same one line without a box (status bar, layer tooltips).
Tests replace :func:`exec_box` to see the boxes instead of blocking on them.
"""
from __future__ import annotations

import contextlib
import sys

from PyQt5.QtWidgets import QMessageBox

from riskmap.errors import RiskmapError, collect_library_warnings, distinct_messages
from riskmap.i18n import tr

#: Longest main text shown (a runaway message is cut; the whole text is under details).
MAX_LINE_CHARS = 400


def internal_error_line() -> str:
    """The main text of an unexpected exception (its own text stays under details)."""
    return tr("内部错误：操作未完成。错误内容见“详细信息”，请将其报告给 riskmap 维护人员。",
              "Internal error: the action did not complete. The error is under Details; "
              "please report it to riskmap's maintainers.")


def _first_line(text: str) -> tuple[str, str]:
    """(first non-blank line, the rest) of ``text``; a first line over the limit is cut."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    if not lines:
        return "", ""
    first, rest = lines[0].strip(), "\n".join(lines[1:])
    if len(first) > MAX_LINE_CHARS:
        rest = first + ("\n" + rest if rest else "")
        first = first[:MAX_LINE_CHARS - 1] + "…"
    return first, rest


def exception_text(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` (the type alone when it has no message)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def os_reason(exc: OSError) -> str:
    """The operating system's reason for a failed file operation ("No space left on device")."""
    return str(exc.strerror or str(exc).strip() or type(exc).__name__)


def _os_error_line(exc: OSError) -> str:
    name = f"{exc.filename}：" if exc.filename is not None else ""
    name_en = f"{exc.filename}: " if exc.filename is not None else ""
    return tr(f"{name}文件读写失败（{os_reason(exc)}）；请检查文件、文件夹权限和磁盘空间",
              f"{name_en}a file could not be read or written ({os_reason(exc)}); check the file, the folder's "
              "permissions and the free disk space")


def error_message(error, what: str | None = None, warnings=()) -> tuple[str, str]:
    """The one line and the details shown for ``error``.

    Parameters
    ----------
    error : RiskmapError, BaseException or str
        A RiskmapError shows its own message; another exception shows ``what`` or
        :func:`internal_error_line`, its text and traceback only in the details; a string
        is riskmap's own text (its first line is the message, the rest details).
    what : str, optional
        The main line for an unexpected exception ("文件：读取失败"), instead of the generic one.
    warnings : iterable of str or warnings.WarningMessage
        Library warnings captured during the action; shown once each under details.

    Returns
    -------
    (str, str)
        The one-line message and the details ("" when there are none).
    """
    details: list[str] = []
    if isinstance(error, RiskmapError):
        line, rest = _first_line(str(error))
        if rest:
            details.append(rest)
    elif isinstance(error, OSError):  # the disk or the permissions, not a bug: the system's reason
        line = what or _os_error_line(error)
        details.append(exception_text(error))
    elif isinstance(error, BaseException):
        line = what or internal_error_line()
        details.append(exception_text(error))
        trace = getattr(error, "__riskmap_traceback__", None)
        if trace:
            details.append(str(trace).rstrip())
    else:
        line, rest = _first_line(str(error))
        if rest:
            details.append(rest)
    attached = getattr(error, "__riskmap_warnings__", ()) if isinstance(error, BaseException) else ()
    said = distinct_messages(getattr(w, "message", w) for w in list(warnings or ()) + list(attached or ()))
    if said:
        details.append(tr("库的提示：", "The libraries said:") + "\n" + "\n".join(f"- {m}" for m in said))
    return line, "\n\n".join(details)


def error_line(error, what: str | None = None) -> str:
    """The one line for ``error`` without a box (status bar, a layer's tooltip).

    A RiskmapError or an OSError gives the line :func:`show_error` would show. Elsewhere
    there is no details section, so an unexpected exception is ``what`` (default 内部错误 /
    Internal error) followed by its type and first line in brackets.
    """
    if isinstance(error, BaseException) and not isinstance(error, (RiskmapError, OSError)):
        text = _first_line(exception_text(error))[0]
        return tr(f"{what or '内部错误'}（{text}）", f"{what or 'Internal error'} ({text})")
    return error_message(error, what)[0]


def exec_box(box: QMessageBox) -> int:
    """Run the modal box (tests replace this to record the boxes instead of blocking)."""
    return box.exec_()


def show_error(parent, error, *, what: str | None = None, warnings=(), title: str | None = None,
               status_bar=None) -> str:
    """Show ``error`` in a critical message box: one line, details under 详细信息.

    Parameters
    ----------
    parent : QWidget or None
        The box's parent.
    error : RiskmapError, BaseException or str
        See :func:`error_message`.
    what : str, optional
        Main line for an unexpected exception.
    warnings : iterable
        Library warnings captured during the action (shown once under details).
    title : str, optional
        Window title (default 错误 / Error).
    status_bar : QStatusBar, optional
        Also shows the line there for 10 s.

    Returns
    -------
    str
        The line shown.
    """
    line, details = error_message(error, what, warnings)
    if isinstance(error, BaseException) and not isinstance(error, RiskmapError):
        trace = getattr(error, "__riskmap_traceback__", None)
        if trace and not getattr(error, "__riskmap_traceback_printed__", False):
            print(trace, file=sys.stderr)  # kept for the developer (once)
    if status_bar is not None:
        status_bar.showMessage(line, 10000)
    box = QMessageBox(QMessageBox.Critical, title or tr("错误", "Error"), line, QMessageBox.Ok, parent)
    if details:
        box.setDetailedText(details)
    exec_box(box)
    return line


@contextlib.contextmanager
def library_warnings():
    """Collect library warnings on the GUI thread while an action runs; yields the list.

    Pass the list to :func:`show_error` (``warnings=``) when the action fails.
    """
    caught: list = []
    with collect_library_warnings(caught):
        yield caught


__all__ = ["error_line", "error_message", "exec_box", "internal_error_line", "library_warnings", "show_error"]
