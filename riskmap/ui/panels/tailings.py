"""Analysis panel: tailings-pond grades (GB 39496-2020, combination GB 50863-2013 §3.2.1) and 头顶库.

Runs the declared ``tailings`` analysis (:func:`riskmap.analysis.tailings.assess_tailings`) in the
background, inputs and parameters from its declaration, plus the checked facility layers; on the
map the 头顶库 stand out in red with their downstream corridors, other ponds are grey, and a
table lists every pond (grade, 头顶库, people and facilities downstream); a row click zooms
to the pond's corridor; the report exports from the panel.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from PyQt5.QtWidgets import QCheckBox, QGroupBox, QVBoxLayout, QWidget

from riskmap.i18n import tr
from riskmap.layers import VectorLayer
from riskmap.layers.style import Style
from riskmap.ui.panels.common import AnalysisPanel, Column, geometry_kinds

OVERHEAD_COLORS = {"是": "#d7191c", "否": "#8c8c8c", "未判定": "#7b3294"}


def tailings_style() -> Style:
    """Ponds: 头顶库 large red points, others grey, undetermined purple."""
    return Style(mode="categorized", field="overhead_zh", categories=dict(OVERHEAD_COLORS), size=11.0,
                 stroke="#ffffff", symbol="triangle", label_field="name",
                 labels={"是": tr("头顶库", "Overhead pond"), "否": tr("非头顶库", "Not overhead"),
                         "未判定": tr("未判定", "Undetermined")})


def corridor_style() -> Style:
    """Downstream corridors: red fill for 头顶库, faint grey otherwise."""
    return Style(mode="categorized", field="overhead_zh", categories={"是": "#d7191c", "否": "#bdbdbd"},
                 fill_opacity=0.35, width=1.2, stroke="#a50f15",
                 labels={"是": tr("头顶库下游1km范围", "Overhead pond: 1 km downstream"),
                         "否": tr("下游1km范围", "1 km downstream")})


def path_style() -> Style:
    return Style(color="#2171b5", stroke="#2171b5", width=2.0, dash=True)


class TailingsPanel(AnalysisPanel):
    """尾矿库定等与头顶库识别 — tailings grades and overhead ponds."""

    analysis_name = "tailings"

    def __init__(self, window):
        super().__init__(window, object_name="TailingsPanel")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.make_inputs())

        self.facility_box = QGroupBox(tr("下游设施图层", "Downstream facility layers"))
        self.facility_layout = QVBoxLayout(self.facility_box)
        self.facility_checks: dict[str, QCheckBox] = {}
        layout.addWidget(self.facility_box)
        self._refresh_facilities()
        events = self.host.project.layers.events
        events.inserted.connect(self._on_layers_changed)
        events.removed.connect(self._on_layers_changed)

        layout.addWidget(self.make_form())
        self.add_run_and_results(layout, [tr("尾矿库", "Pond"), tr("头顶库", "Overhead"),
                                          tr("等别（GB 39496-2020）", "Grade (GB 39496-2020)"),
                                          tr("下游人数", "People downstream"), tr("原因", "Reason")])
        self.setWidget(body)

    # -- facility layers --------------------------------------------------------------
    def _on_layers_changed(self, **_):
        try:
            self._refresh_facilities()
        except RuntimeError:  # the widget was deleted
            pass

    def _refresh_facilities(self):
        previous = {lid: box.isChecked() for lid, box in self.facility_checks.items()}
        for box in self.facility_checks.values():
            self.facility_layout.removeWidget(box)
            box.deleteLater()
        self.facility_checks = {}
        for layer in self.host.project.layers:
            if not isinstance(layer, VectorLayer) or len(layer.gdf) == 0:
                continue
            cols = set(layer.gdf.columns)
            if {"capacity", "dam_height"} <= cols or "medium" in cols:
                continue  # the ponds themselves and pipelines are not downstream facilities
            if not geometry_kinds(layer):
                continue
            box = QCheckBox(layer.name)
            # data layers of targets, plants and roads; not earlier analysis results
            likely = bool(cols & {"category", "industry", "road_class"}) and getattr(layer, "group", "") != "analysis"
            box.setChecked(previous.get(layer.id, likely))
            self.facility_layout.addWidget(box)
            self.facility_checks[layer.id] = box

    def facility_layers(self) -> list:
        """The checked facility layers, in the list's order."""
        out = []
        for layer_id, box in self.facility_checks.items():
            if not box.isChecked():
                continue
            try:
                out.append(self.host.project.layers.by_id(layer_id))
            except KeyError:
                continue
        return out

    def extra_inputs(self, inputs: dict, sources: dict) -> None:
        inputs["facilities"] = [layer.gdf for layer in self.facility_layers()]

    # -- results ------------------------------------------------------------------------
    def show_native(self, result):
        """Put the result layers on the map and fill the table."""
        self.add_layer(result.corridors, tr("尾矿库下游范围", "Tailings downstream corridors"), corridor_style(),
                       "corridors")
        self.add_layer(result.paths, tr("尾矿库下游流径", "Tailings downstream paths"), path_style(), "paths")
        self.add_layer(result.tailings, tr("尾矿库等别与头顶库", "Tailings grades and overhead ponds"),
                       tailings_style(), "tailings")
        t = result.tailings.sort_values(["overhead", "grade"], ascending=[False, True], kind="stable")
        self._order = list(t.index)
        raise_note = t["raise_note"].fillna(False).astype(bool).to_numpy()
        grade = pd.to_numeric(t["grade"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        suffix = tr("（需论证是否提等）", " (raise to be assessed)")
        grade_text = np.array(["" if g != g else f"{int(g)}" + (suffix if note else "")
                               for g, note in zip(grade, raise_note)], dtype=object)
        pop = pd.to_numeric(t["downstream_pop"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        self.table.set_columns([
            Column(t["name"]),
            Column(t["overhead_zh"], background=t["overhead_zh"].map(OVERHEAD_COLORS)),
            Column(grade_text, key=grade),
            Column(pop, fmt=lambda v: "" if v != v else f"{v:.0f}"),
            Column(t["reason"]),
        ])
        flagged = result.corridors.loc[result.corridors["overhead"]]
        target = flagged if len(flagged) else result.tailings
        if len(target):
            self.zoom_to_frame(target)

    def _zoom_to_row(self, row, _col=None):
        if self.result is None or row >= len(getattr(self, "_order", [])):
            return
        idx = self._order[row]
        name = self.result.tailings.loc[idx, "name"]
        corridor = self.result.corridors.loc[self.result.corridors["name"] == name]
        target = corridor if len(corridor) else self.result.tailings.loc[[idx]]
        self.zoom_to_frame(target)


__all__ = ["TailingsPanel", "tailings_style", "corridor_style"]
