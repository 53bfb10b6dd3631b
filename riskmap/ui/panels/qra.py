"""Analysis panel: quantitative risk assessment (定量风险评价, GB/T 37243-2019 §6, GB 36894-2018).

Runs the declared ``qra`` analysis (:func:`riskmap.analysis.qra.assess.assess_qra`) in the
background with the window's progress bar and Cancel (the engine reports after every scenario, so
a cancel stops it within one scenario); inputs (plants, population raster, protection targets)
and parameters come from its declaration. On the map: the individual-risk contours in graded
colours (legend "个人风险 3×10⁻⁵/年" …), the QRA plants by their societal-risk zone and the
protection targets flagged when above their criterion or inside a contour
(:mod:`riskmap.exports.qra_map`, the same layers the HTML export and the print draw); the view
goes to the contours. In the panel: the plants, the target verdicts and the F-N points of the
chosen curve, and the F-N plot (:class:`~riskmap.ui.fn_plot.FNPlot`) of that plant or area
against the GB 36894 lines. A row click zooms to the plant's contours or the target.
"""
from __future__ import annotations

import math

import numpy as np
from PyQt5.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from riskmap.exports import qra_map
from riskmap.i18n import tr
from riskmap.ui.fn_plot import FNPlot
from riskmap.ui.panels.common import AnalysisPanel, result_table, set_row

#: Columns of the panel's tables (their headers are the declared ones, with units).
PLANT_FIELDS = ("name", "sr_zone", "ir_max", "d_general_1", "d_general_2", "d_general_3", "fn_max", "pll",
                "not_modelled")
TARGET_FIELDS = ("name", "verdict", "category", "target_class", "ir", "criterion")
FN_FIELDS = ("N", "F", "F_upper", "F_lower", "zone")


def _header(table: str, field: str) -> str:
    from riskmap.analysis.registry import QRA

    return QRA.tables[table].columns[field].header()


def _num(value, digits=None) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    if not math.isfinite(v):
        return ""
    if digits is not None:
        return f"{v:,.{digits}f}"
    return f"{v:.3g}" if v != 0 else "0"


def _tint(colour: str | None) -> str | None:
    """A light version of ``colour`` (the row tint behind dark text)."""
    if not colour:
        return None
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#%02x%02x%02x" % tuple(round(0.45 * v + 0.55 * 255) for v in rgb)


def _category(value) -> str:
    """A sensitive-target category in the UI language (学校 for ``school``)."""
    from riskmap.analysis.relocation import SENSITIVE_CATEGORIES

    text = "" if value is None else str(value)
    return tr(SENSITIVE_CATEGORIES[text][0], text.replace("_", " ")) if text in SENSITIVE_CATEGORIES else text


def _source_row(table, row: int) -> int:
    """The data row behind table row ``row`` (tables that sort map them; plain ones show rows in order)."""
    mapping = getattr(table, "source_row", None)
    return int(mapping(row)) if callable(mapping) else int(row)


class QRAPanel(AnalysisPanel):
    """定量风险评价 — individual-risk contours, F-N curves and GB 36894 verdicts."""

    analysis_name = "qra"

    def __init__(self, window):
        super().__init__(window, object_name="QRAPanel")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.make_inputs())
        layout.addWidget(self.make_form())
        buttons = QHBoxLayout()
        buttons.addWidget(self.make_run_button())
        buttons.addWidget(self.make_report_button())
        layout.addLayout(buttons)
        layout.addWidget(self.make_summary())

        self.tabs = QTabWidget()
        self.plants_table = result_table([_header("qra_plants", f) for f in PLANT_FIELDS])
        self.targets_table = result_table([_header("targets", f) for f in TARGET_FIELDS])
        self.fn_table = result_table([_header("fn", f) for f in FN_FIELDS])
        self.table = self.plants_table
        self.tabs.addTab(self.plants_table, tr("企业", "Plants"))
        self.tabs.addTab(self.targets_table, tr("防护目标", "Targets"))
        self.tabs.addTab(self.fn_table, tr("F-N数据", "F-N points"))
        self.plants_table.cellClicked.connect(self._zoom_to_row)
        self.targets_table.cellClicked.connect(self._zoom_to_target)
        layout.addWidget(self.tabs, 1)

        fn_box = QGroupBox(tr("社会风险F-N曲线（GB 36894-2018）", "Societal risk F-N curve (GB 36894-2018)"))
        fn_layout = QVBoxLayout(fn_box)
        pick = QFormLayout()
        self.fn_combo = QComboBox()
        self.fn_combo.setObjectName("fn_curve")
        self.fn_combo.currentIndexChanged.connect(self._show_curve)
        pick.addRow(tr("企业/区域", "Plant/area"), self.fn_combo)
        fn_layout.addLayout(pick)
        self.fn_plot = FNPlot()
        fn_layout.addWidget(self.fn_plot)
        layout.addWidget(fn_box)

        self.layers: dict = {}
        self._plant_order: list = []
        self._target_order: list = []
        self._curves: list = []
        self.setWidget(body)

    # -- results ------------------------------------------------------------------------
    def levels(self) -> list:
        """The contour levels of the last run (its parameters)."""
        native = self.result
        params = (native.provenance.get("parameters") or {}) if native is not None else {}
        levels = params.get("contour_levels")
        if isinstance(levels, dict):
            levels = levels.get("value")
        from riskmap.analysis.qra.engine import CONTOUR_LEVELS

        return [float(v) for v in (levels or CONTOUR_LEVELS)]

    def show_native(self, native):
        """Put the contours, plants and targets on the map, fill the tables and the F-N plot."""
        layers = self.analysis_result.layers if self.analysis_result is not None else native.layers()
        self.layers = {}
        for spec in qra_map.qra_layers(layers["contours"], layers["targets"], layers["qra_plants"], self.levels()):
            layer = self.add_layer(spec.gdf, spec.name, spec.style)
            layer.aliases.update(qra_map.aliases(spec.key, spec.gdf))
            self.layers[spec.key] = layer
        self._fill_plants(layers["qra_plants"])
        self._fill_targets(self.layers["targets"].gdf)
        self._fill_curves(native)
        contours = layers["contours"]
        if len(contours):
            self.zoom_to_frame(contours)
        elif len(self.layers["qra_plants"].gdf):
            self.zoom_to_frame(self.layers["qra_plants"].gdf)

    def _fill_plants(self, plants) -> None:
        scope = plants.loc[plants["qra_scope"].to_numpy(bool)]
        scope = scope.sort_values(["fn_max", "ir_max"], ascending=False, na_position="last", kind="stable")
        self._plant_order = list(scope["name"])
        self.plants_table.setRowCount(len(scope))
        records = scope[list(PLANT_FIELDS)].to_dict("records")
        for i, rec in enumerate(records):
            values = [rec["name"], rec["sr_zone"], _num(rec["ir_max"]), _num(rec["d_general_1"], 0),
                      _num(rec["d_general_2"], 0), _num(rec["d_general_3"], 0), _num(rec["fn_max"]), _num(rec["pll"]),
                      rec["not_modelled"]]
            set_row(self.plants_table, i, values, _tint(qra_map.SR_ZONE_COLOURS.get(rec["sr_zone"])))

    def _fill_targets(self, targets) -> None:
        t = targets.sort_values(["exceeds", "ir"], ascending=False, kind="stable")
        self._target_order = list(t.index)
        self.targets_table.setRowCount(len(t))
        for i, rec in enumerate(t[list(TARGET_FIELDS) + ["flag"]].to_dict("records")):
            set_row(self.targets_table, i, [rec["name"], rec["verdict"], _category(rec["category"]),
                                            rec["target_class"], _num(rec["ir"]), _num(rec["criterion"])],
                    _tint(qra_map.TARGET_FLAGS.get(rec["flag"])) if rec["flag"] != "outside" else None)

    def _fill_curves(self, native) -> None:
        fn = native.fn
        upper, lower = native.provenance["parameters"]["sr_upper"], native.provenance["parameters"]["sr_lower"]
        upper = upper.get("value") if isinstance(upper, dict) else upper
        lower = lower.get("value") if isinstance(lower, dict) else lower
        self._bounds = (float(upper), float(lower))
        curves = []
        if len(fn):
            keys = fn[["scope", "name"]].drop_duplicates()
            for scope, name in zip(keys["scope"], keys["name"]):
                rows = fn.loc[(fn["scope"] == scope) & (fn["name"] == name)]
                curves.append((scope, name, rows))
        order = {name: i for i, name in enumerate(self._plant_order)}
        curves.sort(key=lambda c: (c[0] != "企业", order.get(c[1], len(order))))
        self._curves = curves
        self.fn_combo.blockSignals(True)
        self.fn_combo.clear()
        for scope, name, rows in curves:
            zone = str(rows["zone"].iat[0]) if len(rows) else ""
            prefix = "" if scope == "企业" else tr("区域：", "Area: ")
            self.fn_combo.addItem(f"{prefix}{name}（{zone}）" if zone else f"{prefix}{name}", name)
        self.fn_combo.blockSignals(False)
        if curves:
            self.fn_combo.setCurrentIndex(0)
        self._show_curve(self.fn_combo.currentIndex())

    def _show_curve(self, index: int) -> None:
        if not (0 <= index < len(self._curves)):
            self.fn_plot.clear()
            self.fn_table.setRowCount(0)
            return
        _scope, name, rows = self._curves[index]
        upper, lower = self._bounds
        rows = rows.loc[rows["N"] > 0]
        zone = str(rows["zone"].iat[0]) if len(rows) else ""
        self.fn_plot.set_curve(name, rows["N"].to_numpy(float), rows["F"].to_numpy(float), upper, lower, zone)
        self.fn_table.setRowCount(len(rows))
        for i, (n, f, fu, fl, z) in enumerate(zip(rows["N"], rows["F"], rows["F_upper"], rows["F_lower"],
                                                  rows["zone"])):
            set_row(self.fn_table, i, [_num(n, 2), _num(f), _num(fu), _num(fl), z])

    def select_curve(self, name: str) -> bool:
        """Show the F-N curve of the plant or area called ``name``; False when it has none."""
        idx = self.fn_combo.findData(name)
        if idx < 0:
            return False
        self.fn_combo.setCurrentIndex(idx)
        return True

    def _zoom_to_row(self, row, _col=None):
        """A plant row: its F-N curve in the plot, the view on its area's contours (else the plant)."""
        row = _source_row(self.plants_table, row)
        if self.result is None or not (0 <= row < len(self._plant_order)):
            return
        name = self._plant_order[row]
        self.select_curve(name)
        contours = self.layers["contours"].gdf
        mine = contours.loc[contours["plants"].astype(str).str.split("、").map(lambda names: name in names)]
        plants = self.layers["qra_plants"].gdf
        target = mine if len(mine) else plants.loc[plants["name"] == name]
        if len(target):
            self.zoom_to_frame(target)

    def _zoom_to_target(self, row, _col=None):
        row = _source_row(self.targets_table, row)
        if self.result is None or not (0 <= row < len(self._target_order)):
            return
        targets = self.layers["targets"].gdf
        self.zoom_to_frame(targets.loc[[self._target_order[row]]])


def curve_points(fn, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(N, F)`` of one plant's or area's F-N curve in a ``fn`` table (N > 0 only)."""
    rows = fn.loc[(fn["name"] == name) & (fn["N"] > 0)]
    return rows["N"].to_numpy(float), rows["F"].to_numpy(float)


__all__ = ["QRAPanel", "curve_points"]
