"""The narrow interface an analysis panel has to the main window.

A panel asks its host for what it needs — the project, a background task with progress and
Cancel, a result layer on the map, a status message, an error box, a file name to save to,
an undoable edit, a map tool — and never reaches into the window's status bar, canvas or
menus. The window stays passive: layers re-render themselves through their events, so a
panel never asks for a full map refresh (a what-if edit re-renders only the layers it
changed). Tests can hand a panel the real host and monkeypatch :meth:`PanelHost.ask_save_path`
instead of a file dialog.
"""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtWidgets import QFileDialog

from riskmap.errors import RiskmapError
from riskmap.layers import VectorLayer


class PanelHost:
    """What an analysis panel may ask of the main window.

    Parameters
    ----------
    window : MainWindow
        The window behind the interface (never handed to the panel itself).
    """

    def __init__(self, window):
        self._window = window

    # -- data ------------------------------------------------------------------------
    @property
    def project(self):
        """The open :class:`~riskmap.project.Project`."""
        return self._window.project

    @property
    def widget(self):
        """The parent widget for a panel's own dialogs."""
        return self._window

    def add_result_layer(self, gdf, name: str, style=None, *, provenance: dict | None = None,
                         group: str = "analysis") -> VectorLayer:
        """Add ``gdf`` as a result layer (or replace the data of the layer called ``name``).

        ``provenance`` (an analysis provenance record) travels with the layer into the
        project file, the HTML footer and the print layout.
        """
        layer = self._window.add_result_layer(gdf, name, style=style, group=group)
        if provenance is not None:
            layer.provenance = provenance
        return layer

    # -- feedback --------------------------------------------------------------------
    def show_status(self, text: str, timeout_ms: int = 5000) -> None:
        """A transient message in the status bar."""
        self._window.statusBar().showMessage(text, timeout_ms)

    def show_error(self, error) -> None:
        """One clear line in a message box (a RiskmapError's text, or an internal error)."""
        self._window.show_error(error)

    def run_task(self, fn, *args, title: str = "", on_done=None, on_error=None, **kwargs):
        """Run ``fn(*args, progress=cb, **kwargs)`` in the background with progress and Cancel."""
        return self._window.run_task(fn, *args, title=title, on_done=on_done, on_error=on_error, **kwargs)

    # -- files -----------------------------------------------------------------------
    def ask_save_path(self, title: str, default_name: str, file_filter: str) -> str | None:
        """A file name chosen by the user (None when cancelled), starting in the last folder used."""
        start = str(Path(self._window._last_dir()) / default_name)
        path, _ = QFileDialog.getSaveFileName(self._window, title, start, file_filter)
        if not path:
            return None
        self._window.settings.setValue("last_dir", str(Path(path).parent))
        try:
            self.project.check_output(path)
        except RiskmapError as exc:  # the chosen file is one of the layers' data files
            self.show_error(exc)
            return None
        return path

    # -- map -------------------------------------------------------------------------
    def zoom_to(self, bbox) -> None:
        """Show ``bbox`` (map CRS)."""
        self._window.zoom_to(bbox)

    def use_map_tool(self, tool) -> None:
        """Make ``tool`` the active map tool (None: back to the pan tool)."""
        if tool is None:
            if "pan" in self._window.tools:
                self._window.set_tool("pan")
            else:
                self._window.canvas.set_map_tool(None)
            return
        self._window.canvas.set_map_tool(tool)

    def map_tool(self):
        """The active map tool."""
        return self._window.canvas.map_tool()

    # -- edits -----------------------------------------------------------------------
    def push(self, command):
        """Do an undoable edit (a ``QUndoCommand``) through the window's undo stack; returns it."""
        self._window.undo_stack.push(command)
        return command


__all__ = ["PanelHost"]
