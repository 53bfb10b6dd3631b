"""The quantitative risk assessment of an area's plants (``riskmap qra``).

1. **Scope** (GB/T 37243-2019 §4, STANDARDS.md §3 "Route 2"): a plant (or one of its 生产/储存单元)
   holding a toxic or flammable gas whose Σq/Q (GB 18218-2018) is ≥ 1 is assessed by QRA; plants of
   the kinds GB/T 37243 §3 excludes (城镇燃气, 加油加气站, 民爆, 烟花爆竹) and shops without storage are
   not. Plants, units and inventories are read as the relocation review reads them
   (:func:`riskmap.analysis.relocation.normalise_plants`, :func:`riskmap.analysis.gb18218.parse_inventory`).
2. **Scenarios** per unit and modelled chemical (:func:`plant_scenarios`): the three loss-of-containment
   events of a stationary pressure vessel (CPR 18E ch. 3; GB/T 37243 Appendix C values not at hand):
   G.1 instantaneous release of the inventory, G.2 its release in 10 min, G.3 a 10 mm hole; the whole
   inventory of one chemical of a unit is taken as one vessel (conservative where it is split over
   several). Toxic gases give a toxic outcome; flammable gases an event tree (CPR 18E ch. 4): direct
   ignition → fireball (G.1) or jet fire (G.2, G.3); else delayed ignition (a parameter) → vapour-cloud
   explosion (share 0.4, G.1 only) or flash fire (P_death = 1 inside the LFL cloud).
3. **Consequences** (:mod:`riskmap.analysis.qra.models`) on a footprint lattice per (scenario, weather);
   **integration** over weather (D5 by day, F1.5 by night) and a 16-sector wind rose on one shared 10 m
   grid per area (:mod:`riskmap.analysis.qra.engine`); **societal risk** from the population raster
   (:mod:`riskmap.analysis.qra.societal`).
4. **Verdicts**: each sensitive target's IR against the GB 36894-2018 criterion of its class for
   在役 or 新建 installations; each plant's distance to the contour of each criterion (its own risk);
   people inside those contours; the F-N curve against the F·N lines.

Limits (also in the provenance notes): neutral-gas dispersion for every gas (no dense-gas model for
chlorine); ground-level releases; initial release rates; no flashing or rain-out; no indoor protection
(IR is for a person outdoors, GB 36894's definition; societal risk likewise); no domino effects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap import crs as crs_policy
from riskmap.analysis import gb18218, gb36894
from riskmap.analysis.declare import RISKMAP_DEFAULT, Param, ParamSet
from riskmap.analysis.provenance import provenance
from riskmap.analysis.qra import data, engine, models, societal
from riskmap.errors import EmptyLayerError
from riskmap.i18n import tr

PB = data.PURPLE_BOOK
GB36 = "GB 36894-2018 表1（PARTIAL，见STANDARDS.md §2）"

PARAMS = ParamSet("qra", [
    Param("installation", "choice", "existing", "装置类型", "Installation", choices=("existing", "new"),
          choice_labels={"existing": ("在役", "existing"), "new": ("新建", "new")}, basis=GB36,
          help_zh="按在役或新建装置的个人风险基准判定", help_en="judge against the criteria for existing or new installations"),
    Param("cell_m", "float", 10.0, "风险网格边长", "Risk grid cell", unit="m", minimum=1.0, maximum=100.0, step=5,
          decimals=0, cli="--cell", help_zh="个人风险计算网格的边长", help_en="cell size of the risk grid"),
    Param("radius_m", "float", 3000.0, "计算范围半径", "Grid half-width", unit="m", minimum=100.0, maximum=20000.0,
          step=500, decimals=0, cli="--radius", help_zh="每个企业周围计算风险的范围（正方形半边长）",
          help_en="half-width of the square around each plant where risk is computed"),
    Param("terrain", "choice", "rural", "地表类型（扩散参数）", "Terrain (dispersion)", choices=("rural", "urban"),
          choice_labels={"rural": ("开阔乡村", "rural"), "urban": ("城市", "urban")},
          basis="Briggs (1973) σ（Gifford表）", help_zh="Briggs扩散参数的地表类型", help_en="Briggs σ terrain"),
    Param("day_fraction", "float", 0.5, "白天比例（D5）", "Day share (D5)", minimum=0.0, maximum=1.0, step=0.05,
          decimals=2, help_zh="白天取D类稳定度5 m/s，夜间取F类1.5 m/s", help_en="D5 by day, F1.5 by night"),
    Param("wind_rose", "data", tuple([1.0 / 16] * 16), "风玫瑰（16方位风向频率）", "Wind rose (16 sectors)",
          form=False, cli=False, help_zh="从北起顺时针16个方位“风来向”的频率（缺省均匀；信阳实测风玫瑰待录入）",
          help_en="probability of the wind blowing from each of 16 sectors, clockwise from north (uniform default)"),
    Param("release_height_m", "float", 0.0, "泄漏高度", "Release height", unit="m", minimum=0.0, maximum=100.0,
          form=False, help_zh="泄漏源高度（缺省地面）", help_en="height of the release (default ground level)"),
    Param("p_cutoff", "float", 0.01, "死亡概率下限", "Lethality cut-off", minimum=0.0, maximum=0.5, form=False,
          basis=f"{PB} ch. 5（致死概率低于1%不计）", help_zh="低于此死亡概率按0计",
          help_en="death probabilities below this are counted as 0"),
    Param("freq_g1", "float", data.VESSEL_EVENTS["G.1"]["frequency"], "G.1 瞬时全部泄漏频率",
          "G.1 instantaneous release", unit="/a", minimum=0.0, maximum=1.0, form=False, basis=f"{PB} ch. 3 压力容器"),
    Param("freq_g2", "float", data.VESSEL_EVENTS["G.2"]["frequency"], "G.2 10 min全部泄漏频率",
          "G.2 release in 10 min", unit="/a", minimum=0.0, maximum=1.0, form=False, basis=f"{PB} ch. 3 压力容器"),
    Param("freq_g3", "float", data.VESSEL_EVENTS["G.3"]["frequency"], "G.3 10 mm孔泄漏频率", "G.3 10 mm hole",
          unit="/a", minimum=0.0, maximum=1.0, form=False, basis=f"{PB} ch. 3 压力容器"),
    Param("hole_mm", "float", 10.0, "G.3 孔径", "G.3 hole diameter", unit="mm", minimum=1.0, maximum=500.0,
          form=False, basis=f"{PB} ch. 3"),
    Param("discharge_coefficient", "float", 0.62, "流出系数", "Discharge coefficient", minimum=0.1, maximum=1.0,
          form=False, basis=f"{PB} / 锐边孔"),
    Param("toxic_exposure_max_min", "float", data.TOXIC_EXPOSURE_MAX_MIN, "最长毒性暴露时间",
          "Longest toxic exposure", unit="min", minimum=1.0, maximum=240.0, form=False, basis=f"{PB} ch. 4/5"),
    Param("fire_exposure_s", "float", data.FIRE_EXPOSURE_S, "热辐射暴露时间", "Heat exposure time", unit="s",
          minimum=1.0, maximum=600.0, form=False, basis=f"{PB} ch. 5"),
    Param("jet_radiative_fraction", "float", 0.2, "喷射火辐射分数", "Jet-fire radiative fraction", minimum=0.05,
          maximum=0.6, form=False, help_zh="点源模型辐射分数（CCPS 2000给出0.15–0.35）",
          help_en="point-source radiative fraction (CCPS 2000: 0.15–0.35)"),
    Param("fireball_sep_kw", "float", 350.0, "火球表面辐射强度", "Fireball surface emissive power", unit="kW/m²",
          minimum=50.0, maximum=500.0, form=False),
    Param("tnt_efficiency", "float", 0.03, "TNT当量系数", "TNT yield", minimum=0.001, maximum=0.2, form=False,
          help_zh="蒸气云爆炸的TNT当量效率（文献范围1%–10%）", help_en="TNT-equivalence yield (literature 1–10 %)"),
    Param("delayed_ignition", "float", 0.5, "延迟点火概率", "Delayed ignition", minimum=0.0, maximum=1.0,
          form=False, help_zh="未直接点火时云团被延迟点火的概率（GB/T 37243 附录F数值未录入，占位值）",
          help_en="probability that an unignited cloud is ignited later (placeholder until GB/T 37243 App. F)"),
    Param("explosion_share", "float", data.EXPLOSION_SHARE, "延迟点火爆炸比例", "Explosion share of delayed ignition",
          minimum=0.0, maximum=1.0, form=False, basis=f"{PB} ch. 4"),
    Param("pop_day_factor", "float", 1.0, "白天人口系数", "Day population factor", minimum=0.0, maximum=10.0,
          form=False, help_zh="社会风险计算时白天人口 = 栅格人口 × 系数", help_en="day population = raster × factor"),
    Param("pop_night_factor", "float", 1.0, "夜间人口系数", "Night population factor", minimum=0.0, maximum=10.0,
          form=False),
    Param("sr_upper", "float", gb36894.SR_UPPER_FN, "社会风险上限 F·N", "Societal risk upper line F·N", unit="/a",
          minimum=0.0, exclusive_minimum=True, maximum=1.0, form=False, basis="GB 36894-2018 社会风险基准（PARTIAL）"),
    Param("sr_lower", "float", gb36894.SR_LOWER_FN, "社会风险下限 F·N", "Societal risk lower line F·N", unit="/a",
          minimum=0.0, exclusive_minimum=True, maximum=1.0, form=False, basis="GB 36894-2018 社会风险基准（PARTIAL）"),
    Param("ir_criteria", "data", {k: dict(v) for k, v in gb36894.IR_CRITERIA.items()}, "个人风险基准表",
          "Individual-risk criteria", unit="/a", form=False, cli=False, basis=GB36),
    Param("category_class", "data", dict(gb36894.CATEGORY_CLASS), "敏感目标类别→防护目标类别",
          "Sensitive category → protection class", form=False, cli=False,
          help_zh="一般防护目标一/二/三类的规模界限未核实，未列类别按一类计",
          help_en="class size thresholds unconfirmed; unlisted categories count as class 1"),
    Param("contour_levels", "data", engine.CONTOUR_LEVELS, "个人风险等值线", "IR contour levels", unit="/a",
          form=False, cli=False, basis="GB 36894-2018 基准值"),
])


@PARAMS.dataclass
class QRAParams:
    """Parameters of the QRA: fields, defaults, ranges and basis are :data:`PARAMS`."""

    def check_more(self) -> None:
        from riskmap.errors import ParameterError

        rose = np.asarray(self.wind_rose, float)
        if rose.ndim != 1 or rose.size < 4 or (rose < 0).any() or abs(rose.sum() - 1.0) > 1e-6:
            raise ParameterError(tr("风玫瑰（wind_rose）须为至少 4 个非负的方位概率，且总和为 1",
                                    "wind_rose must be ≥ 4 non-negative sector probabilities summing to 1"))
        if self.sr_lower > self.sr_upper:
            raise ParameterError(tr("社会风险下限线不能高于上限线",
                                    "the societal-risk lower line must not lie above the upper line"))


#: Outcome kinds and their Chinese names.
OUTCOMES = {"toxic": "中毒", "jet_fire": "喷射火", "flash_fire": "闪火", "fireball": "火球", "vce": "蒸气云爆炸"}

#: GB/T 37243-2019 §3 exclusions (and shops without storage) by the relocation review's enterprise types.
EXCLUDED_TYPES = {"city_gas": "城镇燃气（GB/T 37243-2019 §3 不适用）", "fuel_station": "加油加气站（§3 不适用）",
                  "civil_explosive": "民用爆炸物品（§3 不适用）", "fireworks": "烟花爆竹（§3 不适用）",
                  "trade": "无储存经营"}


@dataclass
class Scenario:
    """One outcome branch of one loss-of-containment event."""

    plant: int
    unit: str
    chemical: str
    event: str  # G.1 / G.2 / G.3
    outcome: str  # key of OUTCOMES
    frequency: float  # per year, event frequency × branch probability
    mass_kg: float = 0.0  # instantaneous: released mass
    rate_kg_s: float = 0.0  # continuous: release rate
    duration_s: float = 0.0
    branch: str = ""  # e.g. "直接点火 0.2"
    reach: dict = field(default_factory=dict)  # weather -> reach of P ≥ cut-off (m)

    @property
    def instantaneous(self) -> bool:
        return self.event == "G.1"


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------
def _ignition(reactivity: str, mode: str, amount: float) -> float:
    for upper, p in data.DIRECT_IGNITION[reactivity][mode]:
        if amount < upper:
            return p
    return data.DIRECT_IGNITION[reactivity][mode][-1][1]


def release_terms(chemical: str, mass_kg: float, params: QRAParams) -> dict:
    """``{event: (mass_kg, rate_kg_s, duration_s)}`` of G.1–G.3 for ``mass_kg`` of ``chemical``.

    G.3: a liquefied gas leaks as liquid at its vapour pressure (Bernoulli), a compressed gas as choked gas
    at its storage pressure; the duration is the time to empty the inventory at that initial rate.
    """
    prop = data.PROPERTIES[chemical]
    d = params.hole_mm / 1000.0
    if prop["storage"] == "liquefied":
        rate = models.liquid_discharge(prop["p_vap_bar"] * 1e5 - data.AMBIENT_P_PA, prop["rho_liq"], d,
                                       params.discharge_coefficient)
    else:
        rate = models.gas_discharge(prop["pressure_mpa"] * 1e6, data.AMBIENT_T_K, prop["M"] / 1000.0, prop["gamma"], d,
                                    params.discharge_coefficient)
    g2 = data.VESSEL_EVENTS["G.2"]["duration_s"]
    return {"G.1": (mass_kg, 0.0, 0.0), "G.2": (mass_kg, mass_kg / g2, g2),
            "G.3": (mass_kg, min(rate, mass_kg / 1.0), mass_kg / rate if rate > 0 else 0.0)}


def plant_scenarios(plant: int, unit: str, chemical: str, tonnes: float, params: QRAParams) -> list[Scenario]:
    """The outcome branches of G.1–G.3 for ``tonnes`` of a modelled chemical (see the module docstring)."""
    prop = data.PROPERTIES[chemical]
    mass = tonnes * 1000.0
    freq = {"G.1": params.freq_g1, "G.2": params.freq_g2, "G.3": params.freq_g3}
    out = []
    for event, (m, rate, duration) in release_terms(chemical, mass, params).items():
        f = freq[event]
        base = dict(plant=plant, unit=unit, chemical=chemical, event=event, mass_kg=m, rate_kg_s=rate,
                    duration_s=duration)
        if "toxic" in prop["hazards"]:
            out.append(Scenario(outcome="toxic", frequency=f, branch="毒性气体扩散", **base))
            continue
        instantaneous = event == "G.1"
        p_direct = _ignition(prop.get("reactivity", "average"), "instantaneous" if instantaneous else "continuous",
                             m if instantaneous else rate)
        p_late = (1 - p_direct) * params.delayed_ignition
        if instantaneous:
            out.append(Scenario(outcome="fireball", frequency=f * p_direct, branch=f"直接点火 {p_direct:g}", **base))
            out.append(Scenario(outcome="vce", frequency=f * p_late * params.explosion_share,
                                branch=f"延迟点火 {p_late:.3g} × 爆炸 {params.explosion_share:g}", **base))
            out.append(Scenario(outcome="flash_fire", frequency=f * p_late * (1 - params.explosion_share),
                                branch=f"延迟点火 {p_late:.3g} × 闪火 {1 - params.explosion_share:g}", **base))
        else:
            out.append(Scenario(outcome="jet_fire", frequency=f * p_direct, branch=f"直接点火 {p_direct:g}", **base))
            out.append(Scenario(outcome="flash_fire", frequency=f * p_late, branch=f"延迟点火 {p_late:.3g}", **base))
    return out


# ---------------------------------------------------------------------------
# footprints
# ---------------------------------------------------------------------------
def footprint(s: Scenario, stability: str, wind: float, params: QRAParams) -> engine.Footprint:
    """P_death footprint of a scenario in one weather class (lattice step = half a grid cell)."""
    prop = data.PROPERTIES[s.chemical]
    step = params.cell_m / 2.0
    reach = params.radius_m * math.sqrt(2.0)
    cut = params.p_cutoff
    h = params.release_height_m

    def clip(p):
        p = np.asarray(p, float)
        return np.where(p >= cut, p, 0.0)

    if s.outcome in ("toxic", "flash_fire"):
        x = np.arange(int(math.ceil(reach / step)) + 2, dtype=float) * step
        sy_max, _sz = models.briggs_sigmas(x[-1], stability, params.terrain)
        y_max = min(float(4.5 * sy_max) + step, reach)

        def conc(xx, yy):  # mg/m³ (continuous: steady plume; instantaneous: puff peak)
            sy, sz = models.briggs_sigmas(xx, stability, params.terrain)
            if s.instantaneous:
                return models.puff_concentration(s.mass_kg * 1e6, yy, sy, sz, h), sy
            return models.plume_concentration(s.rate_kg_s * 1e6, wind, yy, sy, sz, h), sy

        if s.outcome == "toxic":
            pb = data.TOXIC_PROBITS[s.chemical]

            def p_of(xx, yy):
                c, sy = conc(xx, yy)
                if s.instantaneous:
                    load = models.puff_toxic_load(c, sy, wind, pb["n"])
                else:
                    minutes = min(s.duration_s / 60.0, params.toxic_exposure_max_min)
                    load = c ** pb["n"] * minutes
                return clip(models.probit_probability(models.toxic_probit(load, pb["a"], pb["b"])))
        else:
            lfl = prop["lfl_vol"] * models.gas_density(prop["M"] / 1000.0) * 1e6  # mg/m³

            def p_of(xx, yy):
                c, _sy = conc(xx, yy)
                return (c >= lfl).astype(float)

        fp = engine.plume_footprint(p_of, reach, y_max, step, crosswind_decreasing=True)
        return _crop(fp)
    if s.outcome == "jet_fire":
        q = s.rate_kg_s * prop["dhc_mj_kg"] * 1e6

        def p_r(r):
            flux = models.point_source_flux(q, np.maximum(r, 1.0), params.jet_radiative_fraction)
            return clip(models.probit_probability(models.thermal_probit(flux, params.fire_exposure_s)))
    elif s.outcome == "fireball":
        _d, t_fb, _h = models.fireball(s.mass_kg)

        def p_r(r):
            flux = models.fireball_flux(s.mass_kg, r, params.fireball_sep_kw * 1e3)
            return clip(models.probit_probability(models.thermal_probit(flux, min(t_fb, params.fire_exposure_s))))
    elif s.outcome == "vce":
        w = models.tnt_mass(s.mass_kg, prop["dhc_mj_kg"] * 1e6, params.tnt_efficiency)

        def p_r(r):
            dp = models.kinney_graham(np.maximum(r, 0.5) / w ** (1 / 3)) * data.AMBIENT_P_PA
            return clip(models.probit_probability(models.overpressure_probit(dp)))
    else:
        raise ValueError(s.outcome)
    return engine.radial_footprint(p_r, reach, step)


def _crop(fp: engine.Footprint) -> engine.Footprint:
    """The footprint without its all-zero far part (smaller lattice, smaller boxes per direction)."""
    i1, j1 = fp.last_nonzero()
    if i1 < 0:
        return engine.Footprint(fp.kind, fp.step, np.zeros((2, 2)))
    i1, j1 = i1 + 2, j1 + 2
    values = fp.values[:i1 + 1, :j1 + 1].copy()
    values[-1, :] = 0.0
    values[:, -1] = 0.0
    return engine.Footprint(fp.kind, fp.step, values)


# ---------------------------------------------------------------------------
# the assessment
# ---------------------------------------------------------------------------
@dataclass
class QRAResult:
    """Result of :func:`assess_qra` (layers in the plants' CRS)."""

    plants: object  # GeoDataFrame: one row per assessed plant (in scope or not)
    contours: object  # GeoDataFrame: one row per (area, level)
    targets: object  # GeoDataFrame: sensitive targets inside the risk grids
    fn: pd.DataFrame  # F-N points per plant and per area
    scenarios: pd.DataFrame
    provenance: dict
    grids: list = field(default_factory=list, repr=False)  # [(RiskGrid with risk and population, plant indices)]

    def layers(self) -> dict:
        return {"qra_plants": self.plants, "contours": self.contours, "targets": self.targets}


def _unit_chemicals(row) -> list[tuple[str, str, float]]:
    """``[(unit, canonical chemical, tonnes)]`` of a plant row (units when given, else the whole plant)."""
    units = row["unit_inventories"] or [("全厂", "", row["chemicals"])]
    out = []
    for name, _kind, text in units:
        entries, _problems = gb18218.parse_inventory(text)
        for raw, tonnes in entries:
            sub = gb18218.lookup(raw)
            out.append((name, sub.name if sub else raw, float(tonnes)))
    return out


def qra_scope(row) -> tuple[bool, str]:
    """Whether a plant falls under GB/T 37243-2019 QRA (toxic/flammable gas with Σq/Q ≥ 1 in a unit), and why."""
    if row["ent_type"] in EXCLUDED_TYPES:
        return False, EXCLUDED_TYPES[row["ent_type"]]
    units = row["unit_inventories"] or [("全厂", "", row["chemicals"])]
    best = None
    for name, _kind, text in units:
        g = gb18218.grade_inventory(text, 0)
        gas = any((s := gb18218.lookup(raw)) is not None and s.kind in (gb18218.TOXIC_GAS, gb18218.FLAMMABLE_GAS)
                  for raw, _q in gb18218.parse_inventory(text)[0])
        if gas and math.isfinite(g.S) and g.S >= 1.0:
            return True, f"{name}涉及有毒/易燃气体，S={g.S:.2f}≥1（GB/T 37243-2019 §4）"
        if math.isfinite(g.S):
            best = max(best or 0.0, g.S)
    if best is None:
        return False, "储量无法读取"
    return False, f"无有毒/易燃气体S≥1的单元（最大S={best:.2f}）"


def assess_qra(plants, population, sensitive=None, params: QRAParams | None = None, *, progress=None,
               inputs: dict | None = None) -> QRAResult:
    """Individual and societal risk of the QRA-scope plants, with contours and target verdicts.

    Parameters
    ----------
    plants : GeoDataFrame
        As for the relocation review (name, chemicals, ent_type, optional unit column; Chinese headers).
    population : raster path, dataset or RasterGrid
        Persons per cell, any CRS.
    sensitive : GeoDataFrame, optional
        Sensitive targets (name, category).
    params : QRAParams, optional
    progress : callable, optional
        ``progress(fraction, message)``; may raise CancelledError.

    Returns
    -------
    QRAResult
    """
    import geopandas as gpd
    import shapely

    from riskmap.analysis import zonal
    from riskmap.analysis.relocation import _with_own_crs, normalise_plants, normalise_sensitive

    params = (params or QRAParams()).validate()
    report = progress or (lambda frac, msg: None)
    report(0.0, tr("准备数据", "preparing"))
    plants, sensitive = _with_own_crs(plants), _with_own_crs(sensitive)
    gdf, notes = normalise_plants(plants, ("hazchem",))
    grid_pop = zonal.as_grid(population)
    plants_crs = gdf.crs
    metric_crs = grid_pop.crs if grid_pop.is_metric else crs_policy.metric_crs_for(gdf)
    pts_m = np.asarray(crs_policy.transform_geometries(np.asarray(gdf.geometry.values), plants_crs, metric_crs))
    pts_m = shapely.centroid(pts_m)
    px, py = shapely.get_x(pts_m), shapely.get_y(pts_m)

    scope = [qra_scope(row) for row in gdf[["ent_type", "unit_inventories", "chemicals"]].to_dict("records")]
    in_scope = np.array([s for s, _r in scope], bool)
    if not in_scope.any():
        raise EmptyLayerError(tr("没有企业在定量风险评价范围内（有毒或易燃气体且 Σq/Q ≥ 1，GB/T 37243-2019 §4）",
                                 "no plant in QRA scope (toxic or flammable gas with Σq/Q ≥ 1, GB/T 37243-2019 §4)"))
    rose = np.asarray(params.wind_rose, float)
    weather = [(name, st, u, params.day_fraction if period == "day" else 1 - params.day_fraction, period)
               for name, st, u, period in data.WEATHER]
    criteria_levels = {c: gb36894.criterion(c, params.installation, params.ir_criteria)
                       for c in ("general_1", "general_2", "general_3")}

    scenarios: list[Scenario] = []
    unmodelled: dict[int, list] = {}
    for i in np.flatnonzero(in_scope):
        for unit, chem, tonnes in _unit_chemicals(gdf.iloc[i]):
            if chem in data.PROPERTIES and tonnes > 0:
                scenarios.extend(plant_scenarios(int(i), unit, chem, tonnes, params))
            else:
                sub = gb18218.lookup(chem)
                if sub is not None and sub.kind in (gb18218.TOXIC_GAS, gb18218.FLAMMABLE_GAS):
                    unmodelled.setdefault(int(i), []).append(chem)

    idx = np.flatnonzero(in_scope)
    areas = engine.area_grids(px[idx], py[idx], params.radius_m, params.cell_m, metric_crs)
    per_plant: dict[int, dict] = {}
    outcomes_by_plant: dict[int, list] = {int(i): [] for i in idx}
    cache: dict = {}
    done = 0
    n_work = max(len(scenarios), 1)
    grids_out = []
    plant_names = gdf["name"].tolist()
    for a, (grid, members) in enumerate(areas):
        pop, _total = societal.population_on_grid(grid_pop, grid)
        grid.population = pop
        for m in members:
            i = int(idx[m])
            own = engine.grid_around(px[i], py[i], params.radius_m, params.cell_m, metric_crs)
            r_off = int(round((grid.ymax - own.ymax) / grid.cell))
            c_off = int(round((own.xmin - grid.xmin) / grid.cell))
            own_pop = pop[r_off:r_off + own.height, c_off:c_off + own.width]
            acc = engine.PolarRisk(params.radius_m * math.sqrt(2.0) + params.cell_m, params.cell_m / 2.0, rose)
            pop_polar = acc.population_polar(own, px[i], py[i], own_pop)
            for s in (s for s in scenarios if s.plant == i):
                for wname, st, u, pw, period in weather:
                    key = (s.chemical, s.event, s.outcome, round(s.mass_kg, 6), round(s.rate_kg_s, 9),
                           round(s.duration_s, 3), st if s.outcome in ("toxic", "flash_fire") else "-", u)
                    fp = cache.get(key)
                    if fp is None:
                        fp = cache[key] = footprint(s, st, u, params)
                    s.reach[wname] = round(fp.reach if fp.kind == "radial" else fp.extent()[0], 1)
                    factor = params.pop_day_factor if period == "day" else params.pop_night_factor
                    deaths = acc.add(fp, s.frequency * pw, pop_polar)
                    label = f"{s.unit}/{s.chemical}/{s.event}/{s.outcome}"
                    if fp.kind == "radial":
                        outcomes_by_plant[i].append(engine.Outcome(i, label, wname, -1, s.frequency * pw,
                                                                   float(deaths[0]) * factor))
                    else:
                        outcomes_by_plant[i].extend(engine.Outcome(i, label, wname, d, s.frequency * pw * rose[d],
                                                                   float(deaths[d]) * factor)
                                                    for d in range(rose.size) if rose[d] > 0)
                done += 1
                report(0.05 + 0.85 * done / n_work, tr(f"风险积分：{plant_names[i]}", f"integrating {plant_names[i]}"))
            acc.add_to(own, px[i], py[i])
            grid.risk[r_off:r_off + own.height, c_off:c_off + own.width] += own.risk
            info = {"area": a}
            for cls, level in criteria_levels.items():
                info[f"d_{cls}"] = engine.reach_of_level(own.risk, own, px[i], py[i], level)
                info[f"pop_{cls}"] = float(own_pop[own.risk >= level].sum())
            info["ir_max"] = float(own.risk.max())
            per_plant[i] = info
        grids_out.append((grid, idx[members]))

    report(0.92, tr("等值线与判定", "contours and verdicts"))
    # contours per area
    rows = []
    for a, (grid, members) in enumerate(grids_out):
        names = "、".join(gdf["name"].iloc[members])
        for level, poly in zip(params.contour_levels, engine.contours(grid.risk, grid.transform,
                                                                      params.contour_levels)):
            if poly is None:
                continue
            rows.append({"area": a + 1, "level": float(level), "level_label": _sci(level), "plants": names,
                         "area_km2": poly.area / 1e6, "geometry": poly})
    contours_gdf = gpd.GeoDataFrame(rows or {"area": [], "level": [], "level_label": [], "plants": [], "area_km2": []},
                                    geometry=[r["geometry"] for r in rows] if rows else [], crs=metric_crs)
    if len(contours_gdf):
        contours_gdf = contours_gdf.to_crs(plants_crs)

    # F-N per plant and per area
    fn_rows = []
    plant_sr = {}
    for i, outs in outcomes_by_plant.items():
        curve = societal.fn_curve([o.frequency for o in outs], [o.deaths for o in outs])
        zone = gb36894.societal_zone(curve["N"], curve["F"], params.sr_upper, params.sr_lower)
        fn_max = float((curve["N"] * curve["F"])[curve["N"] >= 1].max()) if (curve["N"] >= 1).any() else 0.0
        plant_sr[i] = (zone, fn_max, societal.expected_deaths([o.frequency for o in outs], [o.deaths for o in outs]))
        fn_rows += _fn_rows("企业", gdf["name"].iat[i], curve, params)
    for a, (grid, members) in enumerate(grids_out):
        outs = [o for m in members for o in outcomes_by_plant[int(m)]]
        curve = societal.fn_curve([o.frequency for o in outs], [o.deaths for o in outs])
        fn_rows += _fn_rows("区域", f"区域{a + 1}（{len(members)}家企业）", curve, params)
    fn = pd.DataFrame(fn_rows, columns=["scope", "name", "N", "F", "F_upper", "F_lower", "zone"])

    # sensitive targets
    targets = _targets(normalise_sensitive(sensitive), grids_out, metric_crs, plants_crs, params)

    out = gdf.drop(columns=["safe_dist_in", "unit_inventories"]).copy()
    out["qra_scope"] = in_scope
    out["scope_reason"] = [r for _s, r in scope]
    out["chemicals_modelled"] = ["、".join(dict.fromkeys(s.chemical for s in scenarios if s.plant == i))
                                 for i in range(len(gdf))]
    out["not_modelled"] = ["、".join(dict.fromkeys(unmodelled.get(i, []))) for i in range(len(gdf))]
    out["n_scenarios"] = [sum(1 for s in scenarios if s.plant == i) for i in range(len(gdf))]
    for key in ("ir_max", *(f"d_{c}" for c in criteria_levels), *(f"pop_{c}" for c in criteria_levels)):
        out[key] = [per_plant.get(i, {}).get(key, np.nan) for i in range(len(gdf))]
    out["sr_zone"] = [gb36894.SR_ZONES[plant_sr[i][0]] if i in plant_sr else "" for i in range(len(gdf))]
    out["fn_max"] = [plant_sr[i][1] if i in plant_sr else np.nan for i in range(len(gdf))]
    out["pll"] = [plant_sr[i][2] if i in plant_sr else np.nan for i in range(len(gdf))]
    out["area"] = [per_plant[i]["area"] + 1 if i in per_plant else pd.NA for i in range(len(gdf))]
    plants_out = gpd.GeoDataFrame(out, geometry=gdf.geometry.name, crs=plants_crs)

    scen = pd.DataFrame([{"plant": gdf["name"].iat[s.plant], "unit": s.unit, "chemical": s.chemical, "event": s.event,
                          "event_zh": data.VESSEL_EVENTS[s.event]["zh"], "outcome": OUTCOMES[s.outcome],
                          "branch": s.branch, "frequency": s.frequency, "mass_kg": s.mass_kg, "rate_kg_s": s.rate_kg_s,
                          "duration_s": s.duration_s, "reach_day": s.reach.get("D5", np.nan),
                          "reach_night": s.reach.get("F1.5", np.nan)} for s in scenarios])

    notes += _notes(params, unmodelled, gdf, criteria_levels)
    record = provenance(
        "qra", inputs or {"plants": "layer", "population": str(grid_pop.path or "in-memory raster"),
                          "sensitive": "layer" if sensitive is not None else "—"},
        {**params.to_dict(), "metric_crs": metric_crs.to_string(), "areas": len(grids_out),
         "plants_in_scope": int(in_scope.sum()), "scenarios": len(scenarios)},
        standards=standards_cited(), notes=notes)
    report(1.0, tr("完成", "done"))
    return QRAResult(plants_out, contours_gdf, targets, fn, scen, record, grids_out)


def _sci(value: float) -> str:
    mant, exp = f"{value:.0e}".split("e")
    return f"{mant}×10^{int(exp)}"


def _fn_rows(scope, name, curve, params):
    rows = []
    zone = gb36894.SR_ZONES[gb36894.societal_zone(curve["N"], curve["F"], params.sr_upper, params.sr_lower)]
    for n, f in zip(curve["N"], curve["F"]):
        rows.append({"scope": scope, "name": name, "N": float(n), "F": float(f), "F_upper": params.sr_upper / n,
                     "F_lower": params.sr_lower / n, "zone": zone})
    if not rows:
        rows.append({"scope": scope, "name": name, "N": 0.0, "F": 0.0, "F_upper": np.nan, "F_lower": np.nan,
                     "zone": zone})
    return rows


def _targets(sens, grids, metric_crs, plants_crs, params):
    import geopandas as gpd
    import shapely

    columns = ["name", "category", "target_class", "ir", "criterion", "exceeds", "verdict"]
    if sens is None or not len(sens):
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=plants_crs)
    geoms = np.asarray(crs_policy.transform_geometries(np.asarray(sens.geometry.values), sens.crs, metric_crs))
    pts = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    ir = np.zeros(len(sens))
    inside = np.zeros(len(sens), bool)
    for grid, _members in grids:
        x0, y0, x1, y1 = grid.bounds
        hit = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
        inside |= hit
        ir[hit] = np.maximum(ir[hit], grid.value_at(x[hit], y[hit]))
    classes = gb36894.target_classes(sens["category"], params.category_class)
    crit = np.array([gb36894.criterion(c, params.installation, params.ir_criteria) for c in classes])
    exceeds = ir > crit
    inst = gb36894.INSTALLATIONS[params.installation]
    verdict = np.where(exceeds, [f"个人风险{_sci2(v)}/a 超过{inst}装置{gb36894.CLASSES[c]}基准{_sci2(k)}/a"
                                 for v, c, k in zip(ir, classes, crit)],
                       [f"个人风险{_sci2(v)}/a，未超过{inst}装置{gb36894.CLASSES[c]}基准{_sci2(k)}/a"
                        for v, c, k in zip(ir, classes, crit)])
    frame = pd.DataFrame({"name": sens["name"].to_numpy(), "category": sens["category"].to_numpy(),
                          "target_class": [gb36894.CLASSES[c] for c in classes], "ir": ir, "criterion": crit,
                          "exceeds": exceeds, "verdict": verdict})
    out = gpd.GeoDataFrame(frame, geometry=sens.geometry.values, crs=sens.crs).loc[inside].reset_index(drop=True)
    return out.to_crs(plants_crs) if not crs_policy.same_crs(sens.crs, plants_crs) else out


def _sci2(value: float) -> str:
    return "0" if value <= 0 else f"{value:.2g}"


#: English names of the GB 36894 protection-target classes and installation kinds, for the notes.
_CLASSES_EN = {"high_sensitive": "highly sensitive targets", "important": "important targets",
               "general_1": "general targets (class 1)", "general_2": "general targets (class 2)",
               "general_3": "general targets (class 3)"}
_INSTALLATIONS_EN = {"new": "new", "existing": "existing"}


def _notes(params, unmodelled, gdf, criteria_levels) -> list[str]:
    inst = gb36894.INSTALLATIONS[params.installation]
    inst_en = _INSTALLATIONS_EN.get(params.installation, params.installation)
    notes = [
        tr(f"个人风险基准按{inst}装置（GB 36894-2018，PARTIAL，可调参数）："
           + "；".join(f"{gb36894.CLASSES[c]} {v:g}/a" for c, v in criteria_levels.items()),
           f"individual-risk criteria for {inst_en} installations (GB 36894-2018, PARTIAL, adjustable parameters): "
           + "; ".join(f"{_CLASSES_EN.get(c, c)} {v:g}/a" for c, v in criteria_levels.items())),
        tr(f"泄漏场景频率、点火概率、暴露时间及毒性概率函数常数为{PB}的文献缺省值（GB/T 37243-2019 附录C、F、H 数值未录入）",
           f"release scenario frequencies, ignition probabilities, exposure times and toxic probit constants are the "
           f"literature defaults of {PB} (the values of GB/T 37243-2019 Annexes C, F, H not entered)"),
        tr("扩散按中性气体高斯烟羽/烟团（Briggs扩散参数）；氯气等重气未用重气模型，近场结果偏于粗略",
           "dispersion as a neutral-gas Gaussian plume/puff (Briggs dispersion parameters); no dense-gas model for "
           "chlorine and other heavy gases, so near-field results are rough"),
        tr("泄漏为地面源、初始流量；未计闪蒸与液池；个人风险按室外无防护人员（GB 36894定义），社会风险同样未计室内防护",
           "releases are ground-level sources at the initial rate; no flashing or pools; individual risk is for an "
           "unprotected person outdoors (GB 36894 definition), and societal risk likewise counts no indoor protection"),
        tr("每种物质的单元储量按一个容器计（多容器时偏保守）",
           "each substance's unit inventory is taken as one vessel (conservative for several vessels)"),
        tr(f"天气：白天D类5 m/s占{params.day_fraction:g}，夜间F类1.5 m/s；风玫瑰缺省为16方位均匀分布（信阳实测风玫瑰待录入）",
           f"weather: daytime class D at 5 m/s for a fraction {params.day_fraction:g}, night class F at 1.5 m/s; the "
           "wind rose defaults to uniform over 16 directions (the measured Xinyang wind rose is yet to be entered)"),
        tr("外部安全防护距离（各类防护目标）按企业自身个人风险等值线到企业位置的最大距离计",
           "external safety distances (each class of protection target) are the largest distance from the plant's "
           "location to its own individual-risk contour"),
    ]
    if unmodelled:
        names = sorted({c for v in unmodelled.values() for c in v})
        notes.append(tr("以下有毒/易燃气体暂无模型参数，未计入风险：", "no model parameters yet for these toxic/"
                        "flammable gases, left out of the risk: ") + tr("、", ", ").join(names))
    return notes


def standards_cited() -> list[str]:
    return ["GB/T 37243-2019 §4 定量风险评价适用范围、§6 定量风险评价法（场景、频率、后果、风险计算）",
            *gb36894.STANDARD_CITATIONS,
            "GB 18218-2018 §4.1 S = Σq/Q（QRA适用范围判断）",
            f"{PB} ch. 3–5（文献缺省值：泄漏频率、点火概率、概率函数）"]


__all__ = ["OUTCOMES", "PARAMS", "QRAParams", "QRAResult", "Scenario", "assess_qra", "footprint", "plant_scenarios",
           "qra_scope", "release_terms"]
