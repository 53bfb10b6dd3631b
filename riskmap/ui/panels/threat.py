"""Analysis panel: 事故后果威胁区 — ALOHA-style threat zones of one release.

Runs the declared ``threat`` analysis (:func:`riskmap.analysis.qra.threat.threat_zones`) in the
background. The plant and chemical are picked from the chosen plants layer (the chemicals the plant
stores that riskmap models come first), or a release point is clicked on the map (then with its
amount); release, weather, wind direction (风来向, degrees from true
north) and the largest distance come from the declaration's form. The zones go on the map one layer
per hazard (tier 3 red over tier 2 orange over tier 1 yellow) with the release point; the table lists
each zone's level, threshold, largest downwind distance and area; the report exports from the panel.
"""
from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout,
                             QWidget)

from riskmap.i18n import tr
from riskmap.layers.style import Style
from riskmap.ui.canvas import MapTool
from riskmap.ui.panels.common import AnalysisPanel, set_row

#: Shown in the form, in this order.
FORM = ("release", "hole_mm", "stability", "wind_speed", "wind_from", "release_height_m", "terrain",
        "toxic_guideline", "max_distance_m")


def zone_style(hazard_label: str) -> Style:
    """Zones coloured by tier (ALOHA: red 3, orange 2, yellow 1)."""
    from riskmap.analysis.qra.threat import TIER_COLOURS

    return Style(mode="categorized", field="tier", categories={str(k): v for k, v in TIER_COLOURS.items()},
                 fill_opacity=0.45, width=1.2, stroke="#7f0000",
                 labels={"3": tr(f"{hazard_label} 3级（红）", f"{hazard_label} tier 3 (red)"),
                         "2": tr(f"{hazard_label} 2级（橙）", f"{hazard_label} tier 2 (orange)"),
                         "1": tr(f"{hazard_label} 1级（黄）", f"{hazard_label} tier 1 (yellow)")})


def amount_help() -> str:
    from riskmap.analysis.qra.threat import PARAMS

    return PARAMS["amount_t"].help


def source_style() -> Style:
    return Style(color="#000000", stroke="#ffffff", size=10.0, symbol="star", label_field="name")


class PickReleaseTool(MapTool):
    """A click on the map sets the release point of the threat panel."""

    cursor = Qt.CrossCursor

    def __init__(self, panel):
        super().__init__()
        self.panel = panel

    def press(self, event, x, y) -> bool:
        return event.button() == Qt.LeftButton

    def release(self, event, x, y) -> bool:
        if event.button() != Qt.LeftButton:
            return False
        self.panel.set_point(x, y)
        return True


class ThreatPanel(AnalysisPanel):
    """事故后果威胁区 — threat zones of one release."""

    analysis_name = "threat"

    def __init__(self, window):
        super().__init__(window, object_name="ThreatPanel")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.make_inputs())

        box = QGroupBox(tr("泄漏源", "Release"))
        form = QFormLayout(box)
        self.plant_combo = QComboBox()
        self.plant_combo.setObjectName("threat_plant")
        self.chemical_combo = QComboBox()
        self.chemical_combo.setObjectName("threat_chemical")
        self.pick_button = QPushButton(tr("在地图上点选泄漏点", "Pick the release point on the map"))
        self.pick_button.setObjectName("threat_pick")
        self.pick_button.setCheckable(True)
        self.pick_button.toggled.connect(self._pick_toggled)
        self.point_label = QLabel(tr("泄漏点：所选企业", "Release point: the chosen plant"))
        self.point_label.setWordWrap(True)
        self.amount_spin = QDoubleSpinBox()
        self.amount_spin.setObjectName("threat_amount")
        self.amount_spin.setRange(0.0, 100000.0)
        self.amount_spin.setDecimals(3)
        self.amount_spin.setSuffix(" t")
        self.amount_spin.setSpecialValueText(tr("企业储量", "plant stock"))  # 0 = the plant's stock
        self.amount_spin.setToolTip(amount_help())
        form.addRow(tr("企业", "Plant"), self.plant_combo)
        form.addRow(tr("物质", "Chemical"), self.chemical_combo)
        form.addRow(tr("泄漏量", "Amount"), self.amount_spin)
        form.addRow(self.pick_button)
        form.addRow(self.point_label)
        layout.addWidget(box)
        self.point = None  # (lon, lat) CGCS2000 of a picked release point
        self.pick_tool = PickReleaseTool(self)
        self.plants_combo.currentIndexChanged.connect(lambda *_: self._refresh_plants())
        self.plant_combo.currentIndexChanged.connect(lambda *_: self._refresh_chemicals())
        self.plant_combo.activated.connect(lambda *_: self.clear_point())  # choosing a plant again uses the plant
        self._refresh_plants()

        layout.addWidget(self.make_form(FORM))
        self.direction_note = self.form.add_note("")
        self.form.widget("wind_from").valueChanged.connect(lambda *_: self._update_direction_note())
        self._update_direction_note()
        self.add_run_and_results(layout, [tr("危害", "Hazard"), tr("关注值", "Level"), tr("阈值", "Threshold"),
                                          tr("下风向最远距离", "Downwind distance"), tr("面积", "Area")])
        self.setWidget(body)

    # -- plant and chemical ----------------------------------------------------------------
    def _stocks(self):
        """``[(name, {chemical: tonnes})]`` of the chosen plants layer (modelled chemicals only)."""
        from riskmap.analysis.qra.threat import plant_stocks

        layer = self.plants_combo.layer()
        if layer is None or not len(layer.gdf):
            return []
        try:
            return plant_stocks(layer.gdf)
        except Exception:  # a layer the plant reader refuses: no choices, the run says why
            return []

    def _refresh_plants(self):
        self._plant_stocks = dict(self._stocks())
        current = self.plant_combo.currentText()
        self.plant_combo.blockSignals(True)
        self.plant_combo.clear()
        from riskmap.analysis.qra.threat import q_ratio

        # the CLI's default first: the plant with the largest GB 18218 q/Q of a modelled chemical
        ranked = sorted(self._plant_stocks.items(),
                        key=lambda kv: -max((q_ratio(c, t) for c, t in kv[1].items()), default=0.0))
        for name, stock in ranked:
            if stock:
                self.plant_combo.addItem(name)
        self.plant_combo.blockSignals(False)
        if current:
            i = self.plant_combo.findText(current)
            if i >= 0:
                self.plant_combo.setCurrentIndex(i)
        self._refresh_chemicals()

    def _refresh_chemicals(self):
        from riskmap.analysis.qra import data

        stock = getattr(self, "_plant_stocks", {}).get(self.plant_combo.currentText(), {})
        self.chemical_combo.clear()
        from riskmap.analysis.qra.threat import q_ratio

        for chem, tonnes in sorted(stock.items(), key=lambda kv: -q_ratio(*kv)):
            self.chemical_combo.addItem(f"{chem}（{tonnes:g} t）", chem)
        for chem in data.PROPERTIES:
            if chem not in stock:
                self.chemical_combo.addItem(chem, chem)

    def _update_direction_note(self):
        from riskmap.analysis.qra.threat import compass_name

        deg = float(self.form.value("wind_from"))
        self.direction_note.setText(tr(f"风从{compass_name(deg)[0]}方（{deg:g}°）吹来，威胁区伸向"
                                       f"{compass_name(deg + 180)[0]}方",
                                       f"wind from the {compass_name(deg)[1]} ({deg:g}°): zones extend to the "
                                       f"{compass_name(deg + 180)[1]}"))

    # -- a picked point ----------------------------------------------------------------------
    def _pick_toggled(self, on: bool) -> None:
        self.host.use_map_tool(self.pick_tool if on else None)
        if on:
            self.host.show_status(tr("在地图上单击泄漏点", "Click the release point on the map"))

    def set_point(self, x: float, y: float) -> None:
        """Use the map point (map CRS) as the release point; the plant choice is then ignored."""
        from riskmap import crs as crs_policy

        (lon,), (lat,) = crs_policy.transform_xy([x], [y], self.host.project.map_crs, crs_policy.MAP_CRS)
        self.point = (float(lon), float(lat))
        self.point_label.setText(tr(f"泄漏点：{lon:.5f}°E，{lat:.5f}°N（地图点选；请给出泄漏量）",
                                    f"Release point: {lon:.5f}°E, {lat:.5f}°N (picked; give the amount)"))
        self.pick_button.setChecked(False)

    def clear_point(self) -> None:
        self.point = None
        self.point_label.setText(tr("泄漏点：所选企业", "Release point: the chosen plant"))

    def parameters(self):
        chemical = self.chemical_combo.currentData() or ""
        amount = self.amount_spin.value() or None
        if self.point is not None:
            if amount is None:
                from riskmap.errors import ParameterError

                raise ParameterError(tr("地图点选的泄漏点须给出泄漏量", "give the amount for a picked release point"))
            return self.form.build(plant="", lon=self.point[0], lat=self.point[1], chemical=chemical,
                                   amount_t=amount)
        return self.form.build(plant=self.plant_combo.currentText(), chemical=chemical, amount_t=amount)

    # -- results ---------------------------------------------------------------------------
    def show_native(self, result):
        from riskmap.analysis.qra.threat import HAZARDS

        zones = result.zones
        for hazard in reversed(list(dict.fromkeys(zones["hazard"]))):
            part = zones.loc[zones["hazard"] == hazard].sort_values("tier", kind="stable")  # red drawn last, on top
            label = tr(*HAZARDS[hazard])
            self.add_layer(part, tr(f"威胁区（{label}）", f"Threat zones ({label})"), zone_style(label),
                           "threat_zones")
        self.add_layer(result.source, tr("泄漏源", "Release point"), source_style(), "threat_source")
        self._rows = list(zones.index)
        self.table.setRowCount(len(zones))
        for i, row in enumerate(zones.itertuples()):
            dist = (tr("未达到", "not reached") if row.max_distance_m != row.max_distance_m
                    else f"{'≥ ' if row.capped else ''}{row.max_distance_m:,.0f} m")
            set_row(self.table, i, [tr(*HAZARDS[row.hazard]), row.level_label, f"{row.threshold:g} {row.unit}", dist,
                                    f"{row.area_km2:.3f} km²"], row.colour)
        if len(zones):
            self.zoom_to_frame(zones)

    def _zoom_to_row(self, row, _col=None):
        if self.result is None or row >= len(getattr(self, "_rows", [])):
            return
        self.zoom_to_frame(self.result.zones.loc[[self._rows[row]]])


__all__ = ["PickReleaseTool", "ThreatPanel", "source_style", "zone_style"]
