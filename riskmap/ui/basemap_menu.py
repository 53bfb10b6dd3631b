"""The 底图 (base map) menu of the main window: providers, custom URL, keys, offline packages.

The choice is kept in the project (``project.extras["basemap"]``; never the key, which
lives in the user's settings, ``basemap/key_<name>``). Dialogs go through small ``ask_*``
methods so tests can answer them.
"""
from __future__ import annotations

import math
from pathlib import Path

from PyQt5.QtCore import QObject
from PyQt5.QtWidgets import (QAction, QActionGroup, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                             QInputDialog, QLabel, QLineEdit, QMenu, QSpinBox)

from riskmap import crs as crs_policy
from riskmap.errors import RiskmapError
from riskmap.i18n import tr
from riskmap.layers import tiles
from riskmap.layers.tile_store import TileCache, download_package, estimate_package, open_package
from riskmap.ui.basemap import BaseMap, compose_png


class BaseMapControl(QObject):
    """Builds the 底图 menu on ``window`` and keeps the canvas' base map in step with the project."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.menu = QMenu(tr("底图(&B)", "&Base map"), window)
        self.menu.setObjectName("basemap_menu")
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        self._add("none", tr("无", "None"))
        for provider in tiles.PROVIDERS.values():
            self._add(provider.id, provider.name)
        self._add("custom", tr("自定义 URL…", "Custom URL…"))
        self._add("mbtiles", tr("打开离线底图…", "Open offline base map…"))
        self.menu.addSeparator()
        self.key_action = QAction(tr("天地图密钥…", "Tianditu key…"), self)
        self.key_action.setObjectName("action_basemap_key")
        self.key_action.triggered.connect(lambda checked=False: self.change_key())
        self.menu.addAction(self.key_action)
        self.download_action = QAction(tr("下载离线底图…", "Download offline base map…"), self)
        self.download_action.setObjectName("action_basemap_download")
        self.download_action.triggered.connect(lambda checked=False: self.download())
        self.menu.addAction(self.download_action)
        self.actions["none"].setChecked(True)
        window.project_changed.connect(self.apply_project)

    def _add(self, key: str, text: str) -> None:
        action = QAction(text, self)
        action.setObjectName(f"action_basemap_{key}")
        action.setCheckable(True)
        action.triggered.connect(lambda checked=False, k=key: self.choose(k))
        self.group.addAction(action)
        self.menu.addAction(action)
        self.actions[key] = action

    # -- dialogs (replaced in tests) ------------------------------------------------------
    def ask_key(self, provider: tiles.Provider) -> str | None:
        text, ok = QInputDialog.getText(self.window, tr("底图密钥", "Base-map key"),
                                        tr(f"{provider.name_zh}的密钥（key）：", f"Key for {provider.name_en}:"),
                                        QLineEdit.Normal, self.saved_key(provider))
        return text.strip() if ok else None

    def ask_url(self) -> tuple[str, str] | None:
        text, ok = QInputDialog.getText(self.window, tr("自定义底图", "Custom tiles"),
                                        tr("瓦片地址（含 {z} {x} {y}，GCJ-02 瓦片在末尾加“ gcj02”）：",
                                           "Tile URL with {z} {x} {y} (append ' gcj02' for GCJ-02 tiles):"))
        if not ok or not text.strip():
            return None
        parts = text.split()
        datum = "gcj02" if len(parts) > 1 and parts[-1].lower() in ("gcj02", "gcj-02") else "wgs84"
        return parts[0], datum

    def ask_package(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, tr("打开离线底图", "Open offline base map"),
                                              self.window._last_dir(), "MBTiles (*.mbtiles)")
        return path or None

    def ask_download(self, provider, bounds) -> tuple[str, list[int]] | None:
        """Zoom range and output file of a download (a dialog with the size estimate)."""
        dialog = DownloadDialog(self.window, provider, bounds, self._cache(provider))
        if dialog.exec_() != QDialog.Accepted:
            return None
        path, _ = QFileDialog.getSaveFileName(self.window, tr("保存离线底图", "Save offline base map"),
                                              str(Path(self.window._last_dir()) / "basemap.mbtiles"),
                                              "MBTiles (*.mbtiles)")
        return (path, dialog.zooms()) if path else None

    # -- keys -------------------------------------------------------------------------------
    def saved_key(self, provider: tiles.Provider) -> str:
        return str(self.window.settings.value(f"basemap/key_{provider.key}", "") or "")

    def change_key(self, provider_id: str = "tianditu_vec") -> bool:
        """Ask for a new key (a wrong one gives HTTP 403) and redraw the base map with it."""
        provider = tiles.PROVIDERS[provider_id]
        value = self.ask_key(provider)
        if not value:
            return False
        self.window.settings.setValue(f"basemap/key_{provider.key}", value)
        spec = self.window.project.extras.get("basemap") or {}
        current = tiles.PROVIDERS.get(spec.get("provider", ""))
        if current is not None and current.key == provider.key:
            self.apply_spec(spec)
        return True

    # -- choosing -----------------------------------------------------------------------------
    def choose(self, key: str) -> bool:
        """Make ``key`` the base map (asks for what it needs); remembered in the project."""
        spec = {"provider": key}
        if key == "custom":
            answer = self.ask_url()
            if answer is None:
                return self._restore_check()
            spec.update(url=answer[0], datum=answer[1])
        elif key == "mbtiles":
            path = self.ask_package()
            if not path:
                return self._restore_check()
            spec.update(path=str(path))
        elif key in tiles.PROVIDERS and tiles.PROVIDERS[key].key:
            provider = tiles.PROVIDERS[key]
            if not self.saved_key(provider):
                value = self.ask_key(provider)
                if not value:
                    return self._restore_check()
                self.window.settings.setValue(f"basemap/key_{provider.key}", value)
        if not self.apply_spec(spec, report=True):
            return self._restore_check()
        project = self.window.project
        if key == "none":
            project.extras.pop("basemap", None)
        else:
            project.extras["basemap"] = spec
        project.modified = True
        journal = getattr(project, "journal", None)
        if journal is not None and journal.schedule is not None:
            journal.schedule()  # the autosave journal keeps the choice too
        return True

    def _restore_check(self) -> bool:
        current = (self.window.project.extras.get("basemap") or {}).get("provider", "none")
        action = self.actions.get(current) or self.actions["none"]
        action.setChecked(True)
        return False

    def provider_for(self, spec: dict) -> tiles.Provider | None:
        """The provider a saved spec names (``None`` for none). Raises RiskmapError when unusable."""
        key = (spec or {}).get("provider", "none")
        if key == "none":
            return None
        if key == "custom":
            return tiles.custom_provider(spec.get("url", ""), spec.get("datum", "wgs84"))
        if key == "mbtiles":
            package, provider = open_package(spec.get("path", ""))
            package.close()
            return provider
        provider = tiles.PROVIDERS.get(key)
        if provider is None:
            raise RiskmapError(tr(f"未知底图：{key}", f"unknown base map {key!r}"))
        if provider.key:
            key_value = self.saved_key(provider)
            if not key_value:
                raise RiskmapError(tr(f"{provider.name_zh}需要密钥：在“底图”菜单中重新选择它并输入密钥",
                                      f"{provider.name_en} needs a key: choose it again in the Base map menu"))
            provider = provider.with_key(key_value)
        return provider

    def apply_spec(self, spec: dict, report: bool = False) -> bool:
        """Show the base map of ``spec`` on the canvas; False (and a status line) when it cannot."""
        canvas = self.window.canvas
        try:
            provider = self.provider_for(spec)
            basemap = None
            if provider is not None:
                basemap = BaseMap(provider, cache=self._cache(provider) if provider.online else None)
        except RiskmapError as exc:
            self.window.statusBar().showMessage(str(exc), 10000)
            if report:
                self.window.show_error(exc)
            return False
        if canvas is not None:
            canvas.set_basemap(basemap)
        action = self.actions.get((spec or {}).get("provider", "none"))
        if action is not None:
            action.setChecked(True)
        self.download_action.setEnabled(provider is not None and provider.online)
        return True

    def _cache(self, provider):
        return TileCache.for_provider(provider)

    def apply_project(self, project) -> None:
        """Show the base map saved in ``project`` (called when the window shows a project)."""
        canvas = self.window.canvas
        canvas.basemap_message.connect(lambda text: self.window.statusBar().showMessage(text, 15000))
        if not self.apply_spec(project.extras.get("basemap") or {"provider": "none"}):
            self.actions["none"].setChecked(True)  # e.g. a moved package: said in the status bar

    def html_options(self) -> dict:
        """``export_html`` keywords for the base map shown: the same provider online, or the offline
        package embedded in the page."""
        basemap = self.window.canvas.basemap if self.window.canvas is not None else None
        if basemap is None:
            return {"basemap": "none"}
        provider = basemap.provider
        if provider.kind == "mbtiles":
            return {"basemap": "none", "offline_tiles": provider.url}
        if provider.id == "osm":
            return {"basemap": "osm"}
        if provider.id.startswith("tianditu"):
            return {"basemap": "tianditu", "tianditu_token": provider.key_value}
        if provider.id.startswith("amap"):
            return {"basemap": "amap"}
        return {"basemap": "none"}

    # -- offline packages -----------------------------------------------------------------------
    def view_bounds_lonlat(self) -> tuple:
        canvas = self.window.canvas
        minx, miny, maxx, maxy = canvas.extent()
        xs = [minx, maxx, minx, maxx, (minx + maxx) / 2]
        ys = [miny, miny, maxy, maxy, (miny + maxy) / 2]
        lon, lat = crs_policy.transform_xy(xs, ys, canvas.map_crs, "EPSG:4326")
        return float(min(lon)), float(min(lat)), float(max(lon)), float(max(lat))

    def download(self):
        """下载离线底图: the current view's tiles at a zoom range into an MBTiles file (background task)."""
        basemap = self.window.canvas.basemap
        if basemap is None or not basemap.provider.online:
            self.window.statusBar().showMessage(tr("请先选择一个在线底图", "Choose an online base map first"), 8000)
            return None
        provider = basemap.provider
        bounds = self.view_bounds_lonlat()
        answer = self.ask_download(provider, bounds)
        if answer is None:
            return None
        path, zooms = answer
        cache = basemap.cache

        def done(result):
            self.window.statusBar().showMessage(
                tr(f"离线底图已保存：{result['path']}（{result['tiles']} 个瓦片）",
                   f"Offline base map saved: {result['path']} ({result['tiles']} tiles)"), 15000)

        return self.window.run_task(download_package, provider, bounds, zooms, path, cache, compose=compose_png,
                                    title=tr("下载离线底图", "Downloading the offline base map"), on_done=done)


class DownloadDialog(QDialog):
    """Zoom range of an offline package, with the tile count and size estimate."""

    def __init__(self, parent, provider, bounds, cache=None):
        super().__init__(parent)
        self.setWindowTitle(tr("下载离线底图", "Download offline base map"))
        self.provider, self.bounds, self.cache = provider, bounds, cache
        form = QFormLayout(self)
        self.estimate = QLabel()
        self.estimate.setObjectName("basemap_estimate")
        self.min_zoom = QSpinBox()
        self.max_zoom = QSpinBox()
        for box in (self.min_zoom, self.max_zoom):
            box.setRange(provider.min_zoom, provider.max_zoom)
            box.valueChanged.connect(self._update)
        span = max(bounds[2] - bounds[0], 1e-9)
        start = int(min(max(round(math.log2(360.0 / span)) + 1, provider.min_zoom), provider.max_zoom))
        self.min_zoom.setValue(max(start - 2, provider.min_zoom))
        self.max_zoom.setValue(min(start + 2, provider.max_zoom))
        form.addRow(tr("最小级别：", "From zoom:"), self.min_zoom)
        form.addRow(tr("最大级别：", "To zoom:"), self.max_zoom)
        form.addRow(tr("估计：", "Estimate:"), self.estimate)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._update()

    def zooms(self) -> list[int]:
        lo, hi = sorted((self.min_zoom.value(), self.max_zoom.value()))
        return list(range(lo, hi + 1))

    def _update(self, *_):
        count, size = estimate_package(self.provider, self.bounds, self.zooms(), self.cache)
        self.estimate.setText(tr(f"{count} 个瓦片，约 {size / 1e6:.1f} MB", f"{count} tiles, about {size / 1e6:.1f} MB"))
