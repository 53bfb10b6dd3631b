"""Threat zones of one chosen release, drawn the ALOHA way (``riskmap threat``, issue 13 §6).

For one release (a plant of the plants layer or a point; a chemical; a release type; an amount; one
weather: Pasquill class, wind speed and the direction the wind blows *from*, meteorological convention,
clockwise from true north) the zones where an effect reaches each of three levels of concern (LOC,
STANDARDS.md §7 "ALOHA threat zone": tier 3 red = life-threatening, tier 2 orange, tier 1 yellow):

toxic (toxic gases)
    ground-level concentration ≥ AEGL-3 / -2 / -1 (60 min; chlorine 20 / 2 / 0.5 ppm, ammonia 1100 / 160 /
    30 ppm, hydrogen sulphide 50 / 27 / 0.51 ppm) or the ERPG-3 / -2 / -1 values (:data:`TOXIC_LOC`), each
    overridable in ppm; ppm → mg/m³ at 25 °C and 1 atm (24.45 L/mol, the AEGL convention). A continuous
    release is a steady Gaussian plume, an instantaneous one a Gaussian puff whose peak passing
    concentration is compared (ALOHA's threat zone: the LOC is exceeded "at some time"), both with
    Briggs σ (:mod:`riskmap.analysis.qra.models`). The footprint of C(x, y) ≥ LOC is closed-form in y:
    half-width y(x) = σy·√(2 ln(C₀(x)/LOC)) where the centreline value C₀(x) ≥ LOC.
flammable area (flammable gases)
    plume or puff concentration ≥ 60 % and 10 % of the lower flammability limit (ALOHA's flammable LOCs,
    UNCONFIRMED as defaults in STANDARDS.md §7: parameters).
thermal radiation (flammable gases)
    a jet fire for a continuous release (point source, :func:`~riskmap.analysis.qra.models.point_source_flux`),
    a fireball for an instantaneous one (:func:`~riskmap.analysis.qra.models.fireball_flux`), at 10 / 5 / 2
    kW/m² (ALOHA's 60-s thermal LOCs; the kW/m² values UNCONFIRMED: parameters). Circles round the source.
overpressure (flammable gases, instantaneous release)
    a vapour-cloud explosion by TNT equivalence and Kinney–Graham at 55.2 / 24.1 / 6.89 kPa (8 / 3.5 / 1
    psi; UNCONFIRMED as ALOHA defaults: parameters). A continuous release gets no overpressure zone (the
    flammable mass of its cloud is not modelled); the notes say so.

The zones are polygons in the site's metric CRS (the CGCS2000 3° Gauss–Krüger zone of riskmap's CRS
policy). A Gauss–Krüger grid's north is not true north: at longitude λ, latitude φ and central meridian
λ₀ the grid convergence is γ ≈ (λ − λ₀)·sin φ (γ > 0 east of λ₀, where grid north lies clockwise of true
north). It is computed at the site from the projection itself (:func:`grid_convergence`) and the downwind
direction is drawn at the grid azimuth (wind-from + 180° − γ). Within Xinyang (113.7–115.9 °E, ≈ 32 °N;
central meridians 114 °E and 117 °E, the zone boundary at 115.5 °E) |γ| reaches ≈ 0.8°; at the sample's
chlor-alkali plant (114.10 °E) it is ≈ 0.06°.

Limits (also in the provenance notes): neutral-gas dispersion for chlorine and ammonia (no dense-gas
model: see docs/validation.md); one weather and one direction (no meander or direction uncertainty);
initial release rates; no flashing or rain-out (all of a liquefied release is airborne); σ of Briggs
beyond 10 km extrapolated, and zones are cut at ``max_distance_m`` (default 10 km, ALOHA's limit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmap import crs as crs_policy
from riskmap.analysis import gb18218
from riskmap.analysis.declare import Param, ParamSet
from riskmap.analysis.qra import assess, data, models
from riskmap.errors import ParameterError
from riskmap.i18n import tr

#: Molar volume (L/mol) of an ideal gas at 25 °C and 1 atm, used by the AEGL and ERPG documents to convert
#: ppm to mg/m³ (mg/m³ = ppm × M / 24.45).
MOLAR_VOLUME_L = 24.45

AEGL_SOURCE = ("US EPA / NRC Acute Exposure Guideline Levels, 60-min values (氯 0.5/2/20 ppm PARTIAL in "
               "STANDARDS.md §7; 氨、硫化氢 recalled from the AEGL tables, to confirm)")
ERPG_SOURCE = "AIHA Emergency Response Planning Guidelines (ERPG-1/2/3, 60 min; recalled, to confirm)"

#: Toxic levels of concern (ppm), tier 1 / 2 / 3, by guideline and chemical (riskmap's canonical names).
TOXIC_LOC = {
    "AEGL": {"氯": (0.5, 2.0, 20.0), "氨": (30.0, 160.0, 1100.0), "硫化氢": (0.51, 27.0, 50.0)},
    "ERPG": {"氯": (1.0, 3.0, 20.0), "氨": (25.0, 150.0, 750.0), "硫化氢": (0.1, 30.0, 100.0)},
}

#: Hazard kinds: (Chinese, English).
HAZARDS = {"toxic": ("毒性", "toxic"), "flammable": ("可燃范围", "flammable area"),
           "thermal": ("热辐射", "thermal radiation"), "overpressure": ("爆炸超压", "overpressure")}
#: Tier colours (ALOHA: red, orange, yellow).
TIER_COLOURS = {3: "#d7191c", 2: "#fd8d3c", 1: "#ffd92f"}
RELEASES = {"instantaneous": ("瞬时全部泄漏", "instantaneous release of the whole amount"),
            "ten_minutes": ("10 min内全部泄漏", "whole amount released in 10 min"),
            "hole": ("孔口连续泄漏", "continuous release through a hole")}

_LOC_NOTE_THERMAL = "ALOHA 60 s 热辐射关注值（数值未核实，STANDARDS.md §7）"
_LOC_NOTE_BLAST = "ALOHA 超压关注值 8/3.5/1 psi（未核实，STANDARDS.md §7）"


def _qp(name: str) -> Param:
    """The QRA's own declaration of a shared model parameter (one declaration, no copy)."""
    return assess.PARAMS[name]


PARAMS = ParamSet("threat", [
    Param("plant", "str", "", "企业名称", "Plant", form=False,
          help_zh="泄漏所在企业（企业图层中的名称；留空且未给坐标时取危险化学品q/Q最大的企业）",
          help_en="plant of the release (its name in the plants layer; empty with no point: the plant with the "
                  "largest q/Q of a modelled chemical)"),
    Param("lon", "float", None, "泄漏点经度", "Release longitude", unit="°", minimum=-180.0, maximum=180.0,
          nullable=True, form=False, help_zh="不指定企业时泄漏点的经度（CGCS2000）",
          help_en="longitude of the release point when no plant is named (CGCS2000)"),
    Param("lat", "float", None, "泄漏点纬度", "Release latitude", unit="°", minimum=-90.0, maximum=90.0,
          nullable=True, form=False, help_zh="不指定企业时泄漏点的纬度（CGCS2000）",
          help_en="latitude of the release point when no plant is named (CGCS2000)"),
    Param("chemical", "str", "", "泄漏物质", "Chemical", form=False,
          help_zh="液氯、液氨、硫化氢、液化石油气、二甲醚、氢、甲烷（留空取该企业q/Q最大的已建模物质）",
          help_en="chlorine, ammonia, H2S, LPG, DME, hydrogen, methane (empty: the plant's modelled chemical with "
                  "the largest q/Q)"),
    Param("release", "choice", "ten_minutes", "泄漏方式", "Release", choices=tuple(RELEASES),
          choice_labels=RELEASES, basis=f"{data.PURPLE_BOOK} ch. 3（G.1/G.2/G.3）",
          help_zh="瞬时全部泄漏（G.1）、10 min内全部泄漏（G.2）或孔口连续泄漏（G.3）",
          help_en="instantaneous (G.1), whole amount in 10 min (G.2) or a hole (G.3)"),
    Param("amount_t", "float", None, "泄漏量（储量）", "Amount", unit="t", minimum=0.0, exclusive_minimum=True,
          maximum=100000.0, nullable=True, form=False,
          help_zh="参与泄漏的物质量（缺省取企业该物质的储量）", help_en="amount available to the release "
                                                            "(default: the plant's stock of the chemical)"),
    Param("hole_mm", "float", 10.0, "泄漏孔径", "Hole diameter", unit="mm", minimum=1.0, maximum=500.0, step=5,
          decimals=0, basis=f"{data.PURPLE_BOOK} ch. 3（G.3 10 mm）",
          help_zh="孔口连续泄漏的等效孔径", help_en="effective diameter of the hole (release = hole)"),
    Param("stability", "choice", "F", "大气稳定度", "Stability class", choices=tuple("ABCDEF"),
          basis="40 CFR 68.22 最不利气象（F类、1.5 m/s，STANDARDS.md §7）",
          help_zh="Pasquill稳定度A–F", help_en="Pasquill stability class A–F"),
    Param("wind_speed", "float", 1.5, "风速", "Wind speed", unit="m/s", minimum=0.5, maximum=20.0, step=0.5,
          decimals=1, basis="40 CFR 68.22 最不利气象（F类、1.5 m/s，STANDARDS.md §7）",
          help_zh="10 m高处风速", help_en="wind speed at 10 m"),
    Param("wind_from", "float", 0.0, "风向（风来向）", "Wind from", unit="°", minimum=0.0, maximum=360.0, step=15,
          decimals=0, cli="--wind-from", basis="气象惯例：风来向，自真北顺时针（0°=北风，威胁区向南）",
          help_zh="风的来向，自真北顺时针（0°北风吹向南，90°东风吹向西）",
          help_en="direction the wind blows from, clockwise from true north (0° = north wind, zone to the south)"),
    Param("release_height_m", "float", 0.0, "泄漏高度", "Release height", unit="m", minimum=0.0, maximum=100.0,
          step=1, decimals=1, help_zh="泄漏源离地高度", help_en="height of the release above ground"),
    Param("terrain", "choice", "rural", "地表类型（扩散参数）", "Terrain (dispersion)", choices=("rural", "urban"),
          choice_labels={"rural": ("开阔乡村", "rural"), "urban": ("城市", "urban")},
          basis="Briggs (1973) σ（Gifford表）", help_zh="Briggs扩散参数的地表类型", help_en="Briggs σ terrain"),
    Param("toxic_guideline", "choice", "AEGL", "毒性关注值标准", "Toxic guideline", choices=("AEGL", "ERPG"),
          choice_labels={"AEGL": ("AEGL（60 min）", "AEGL (60 min)"), "ERPG": ("ERPG", "ERPG")},
          basis="ALOHA 关注值优先次序 AEGL > ERPG > PAC（STANDARDS.md §7）",
          help_zh="三级毒性关注值的缺省来源", help_en="source of the three default toxic levels of concern"),
    *[Param(f"toxic_{k}_ppm", "float", None, f"毒性关注值{k}级", f"Toxic LOC tier {k}", unit="ppm", minimum=0.0,
            exclusive_minimum=True, maximum=1e6, nullable=True, form=False, basis=AEGL_SOURCE,
            help_zh=f"第{k}级毒性关注值（缺省取所选标准的{k}级值）",
            help_en=f"toxic level of concern, tier {k} (default: the chosen guideline's tier-{k} value)")
      for k in (3, 2, 1)],
    Param("flammable_3_pct_lfl", "float", 60.0, "可燃关注值（高）", "Flammable LOC (high)", unit="%LFL", minimum=1.0,
          maximum=100.0, form=False, basis="ALOHA 60 % LEL（未核实，STANDARDS.md §7）",
          help_zh="可燃范围的高关注值（爆炸下限的百分数）", help_en="upper flammable LOC (% of the LFL)"),
    Param("flammable_1_pct_lfl", "float", 10.0, "可燃关注值（低）", "Flammable LOC (low)", unit="%LFL", minimum=1.0,
          maximum=100.0, form=False, basis="ALOHA 10 % LEL（未核实，STANDARDS.md §7）",
          help_zh="可燃范围的低关注值（爆炸下限的百分数）", help_en="lower flammable LOC (% of the LFL)"),
    *[Param(f"thermal_{k}_kw", "float", v, f"热辐射关注值{k}级", f"Thermal LOC tier {k}", unit="kW/m²",
            minimum=0.1, maximum=1000.0, form=False, basis=_LOC_NOTE_THERMAL,
            help_zh=f"第{k}级热辐射关注值（60 s）：{zh}", help_en=f"thermal level of concern, tier {k} (60 s): {en}")
      for k, v, zh, en in ((3, 10.0, "可能致死", "potentially lethal"), (2, 5.0, "二度烧伤", "2nd-degree burns"),
                           (1, 2.0, "疼痛", "pain"))],
    *[Param(f"overpressure_{k}_kpa", "float", v, f"超压关注值{k}级", f"Overpressure LOC tier {k}", unit="kPa",
            minimum=0.1, maximum=10000.0, form=False, basis=_LOC_NOTE_BLAST,
            help_zh=f"第{k}级超压关注值：{zh}", help_en=f"overpressure level of concern, tier {k}: {en}")
      for k, v, zh, en in ((3, 55.2, "8 psi 建筑物摧毁", "8 psi, buildings destroyed"),
                           (2, 24.1, "3.5 psi 可能重伤", "3.5 psi, serious injury likely"),
                           (1, 6.89, "1 psi 玻璃破碎", "1 psi, glass shatters"))],
    Param("max_distance_m", "float", 10000.0, "最大计算距离", "Largest distance", unit="m", minimum=500.0,
          maximum=50000.0, step=1000, decimals=0, basis="ALOHA 不报告10 km以外的距离；Briggs σ 适用100 m–10 km",
          help_zh="威胁区计算到的最远下风向距离（超出时标注“≥”）",
          help_en="zones are cut at this downwind distance (flagged as ≥)"),
    _qp("discharge_coefficient"), _qp("jet_radiative_fraction"), _qp("fireball_sep_kw"), _qp("tnt_efficiency"),
])


@PARAMS.dataclass
class ThreatParams:
    """Parameters of the threat zones: fields, defaults, ranges and basis are :data:`PARAMS`."""

    def check_more(self) -> None:
        if (self.lon is None) != (self.lat is None):
            raise ParameterError(tr("泄漏点须同时给出经度和纬度（--lon 与 --lat）",
                                    "give both the longitude and the latitude of the release point (--lon, --lat)"))
        if self.flammable_1_pct_lfl > self.flammable_3_pct_lfl:
            raise ParameterError(tr("可燃关注值（低）不得高于可燃关注值（高）",
                                    "the lower flammable LOC must not exceed the upper one"))


@dataclass
class ThreatResult:
    """Result of :func:`threat_zones` (layers in the site's metric CRS)."""

    zones: object  # GeoDataFrame, one row per (hazard, tier) that reaches the ground
    source: object  # GeoDataFrame, the release point
    numbers: pd.DataFrame  # the inputs and derived values of the report
    provenance: dict

    def layers(self) -> dict:
        return {"threat_zones": self.zones, "threat_source": self.source}


# ---------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------
def grid_convergence(lon: float, lat: float, metric_crs) -> float:
    """Grid convergence γ (degrees) of ``metric_crs`` at (lon, lat) (CGCS2000 degrees).

    γ is the angle from true north clockwise to grid north, so that grid azimuth = true azimuth − γ
    (γ > 0 east of a transverse Mercator's central meridian in the northern hemisphere). It is measured on
    the projection itself: the grid direction of a short step due north along the meridian.
    """
    d = 1e-4  # degrees of latitude, ≈ 11 m
    x, y = crs_policy.transform_xy([lon, lon], [lat - d, lat + d], crs_policy.MAP_CRS, metric_crs)
    north_in_grid = math.degrees(math.atan2(x[1] - x[0], y[1] - y[0]))  # grid azimuth of true north
    return -north_in_grid


def downwind_grid_azimuth(wind_from_deg: float, convergence_deg: float) -> float:
    """Grid azimuth (degrees clockwise from grid north) of the downwind direction: wind-from + 180° − γ."""
    return (wind_from_deg + 180.0 - convergence_deg) % 360.0


def _place(x, y, x0: float, y0: float, azimuth_deg: float):
    """Local (downwind x, crosswind y) → grid coordinates for a downwind grid azimuth."""
    a = math.radians(azimuth_deg)
    s, c = math.sin(a), math.cos(a)
    return x0 + x * s + y * c, y0 + x * c - y * s


# ---------------------------------------------------------------------------
# the models: centreline concentration and radial reach
# ---------------------------------------------------------------------------
def centreline(x, *, mass_kg=0.0, rate_kg_s=0.0, instantaneous: bool, stability: str, wind: float,
               height: float = 0.0, terrain: str = "rural"):
    """Ground-level centreline concentration (mg/m³) and σy at downwind distances ``x`` (m).

    Continuous: the steady plume (:func:`~riskmap.analysis.qra.models.plume_concentration`); instantaneous:
    the peak of the passing puff (:func:`~riskmap.analysis.qra.models.puff_concentration`).
    """
    sy, sz = models.briggs_sigmas(x, stability, terrain)
    if instantaneous:
        return models.puff_concentration(mass_kg * 1e6, 0.0, sy, sz, height), sy
    return models.plume_concentration(rate_kg_s * 1e6, wind, 0.0, sy, sz, height), sy


def _downwind_lattice(x_max: float) -> np.ndarray:
    """Downwind sample distances (m): dense near the source, ≤ x_max/1500 apart further out."""
    return np.unique(np.concatenate([np.geomspace(1.0, x_max, 600), np.linspace(1.0, x_max, 1500)]))


def plume_zone(levels, conc_fn, x_max: float):
    """Footprints where a plume or puff reaches each level.

    Parameters
    ----------
    levels : sequence of float
        Concentrations (mg/m³).
    conc_fn : callable
        ``conc_fn(x) -> (centreline concentration, σy)`` at downwind distances ``x``.
    x_max : float
        Largest downwind distance (m).

    Returns
    -------
    list of dict or None
        Per level: ``x`` (downwind samples, starting and ending on the centreline), ``y`` (half-widths),
        ``reach`` (largest downwind distance, m), ``start`` (nearest), ``width`` (largest full width, m),
        ``capped`` (the level is still reached at ``x_max``); None where the level is never reached.
    """
    x = _downwind_lattice(x_max)
    c, sy = conc_fn(x)
    lv = np.asarray(levels, float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(np.maximum(c, 1e-300)[None, :] / lv)
    inside = ratio >= 0
    half = np.where(inside, sy[None, :] * np.sqrt(np.maximum(2 * ratio, 0.0)), 0.0)
    out = []
    for k in range(lv.shape[0]):
        idx = np.flatnonzero(inside[k])
        if not idx.size:
            out.append(None)
            continue
        i0, i1 = idx[0], idx[-1]
        capped = i1 == x.size - 1
        x1 = x_max if capped else _bisect(conc_fn, lv[k, 0], x[i1], x[i1 + 1])
        x0 = 0.0 if i0 == 0 else _bisect(conc_fn, lv[k, 0], x[i0], x[i0 - 1])
        # one interval only: a plume's centreline rises to one maximum and falls
        xs = np.concatenate([[x0], x[i0:i1 + 1], [x1]])
        ys = np.concatenate([[0.0], half[k, i0:i1 + 1], [half[k, i1] if capped else 0.0]])
        out.append({"x": xs, "y": ys, "reach": float(x1), "start": float(x0), "width": float(2 * ys.max()),
                    "capped": bool(capped)})
    return out


def _bisect(conc_fn, level: float, inside_x: float, outside_x: float, iterations: int = 40) -> float:
    """The distance between ``inside_x`` (C ≥ level) and ``outside_x`` (C < level) where C = level."""
    a, b = float(inside_x), float(outside_x)
    for _ in range(iterations):
        m = 0.5 * (a + b)
        if float(np.asarray(conc_fn(np.array([m]))[0])[0]) >= level:
            a = m
        else:
            b = m
    return 0.5 * (a + b)


def radial_reach(levels, effect_fn, r_max: float):
    """Largest distance (m) where ``effect_fn(r)`` (decreasing far out) still reaches each level; NaN if never.

    Sampled on a log lattice from 0.1 m to ``r_max`` and refined by bisection; a level still reached at
    ``r_max`` returns ``r_max``.
    """
    r = np.concatenate([[0.0], np.geomspace(0.1, r_max, 2000)])
    v = np.asarray(effect_fn(r), float)
    out = []
    for level in np.asarray(levels, float):
        idx = np.flatnonzero(v >= level)
        if not idx.size:
            out.append(math.nan)
            continue
        i1 = idx[-1]
        if i1 == r.size - 1:
            out.append(float(r_max))
            continue
        a, b = r[i1], r[i1 + 1]
        for _ in range(50):
            m = 0.5 * (a + b)
            if float(np.asarray(effect_fn(np.array([m])), float)[0]) >= level:
                a = m
            else:
                b = m
        out.append(0.5 * (a + b))
    return out


# ---------------------------------------------------------------------------
# site, chemical and amount
# ---------------------------------------------------------------------------
def resolve_chemical(name: str) -> str:
    """riskmap's canonical name of a modelled chemical (``液氯`` → ``氯``), or ParameterError."""
    sub = gb18218.lookup(str(name).strip())
    canonical = sub.name if sub is not None else str(name).strip()
    if canonical not in data.PROPERTIES:
        known = "、".join(data.PROPERTIES)
        raise ParameterError(tr(f"物质“{name}”暂无威胁区模型参数；可选：{known}",
                                f"no threat-zone model data for {name!r}; choose one of: {known}"))
    return canonical


def _stock(row) -> dict:
    """``{canonical chemical: tonnes}`` of the modelled chemicals of a plant row (all its units summed)."""
    out: dict = {}
    for _unit, chem, tonnes in assess._unit_chemicals(row):
        if chem in data.PROPERTIES and tonnes > 0:
            out[chem] = out.get(chem, 0.0) + tonnes
    return out


def q_ratio(chem: str, tonnes: float) -> float:
    """GB 18218-2018 q/Q of ``tonnes`` of ``chem`` (0 when the substance has no critical quantity)."""
    sub = gb18218.lookup(chem)
    return tonnes / sub.q_critical if sub is not None and sub.q_critical else 0.0


def plant_stocks(plants) -> list[tuple[str, dict]]:
    """``[(plant name, {canonical chemical: tonnes})]`` of the modelled chemicals each plant stores."""
    from riskmap.analysis.relocation import _with_own_crs, normalise_plants

    gdf, _notes = normalise_plants(_with_own_crs(plants), None)
    rows = gdf.drop(columns=[gdf.geometry.name]).to_dict("records")
    return [(str(r["name"]), _stock(r)) for r in rows]


#: The 16 compass points, clockwise from north: (Chinese, English).
COMPASS = (("北", "north"), ("北东北", "north-north-east"), ("东北", "north-east"), ("东东北", "east-north-east"),
           ("东", "east"), ("东东南", "east-south-east"), ("东南", "south-east"), ("南东南", "south-south-east"),
           ("南", "south"), ("南西南", "south-south-west"), ("西南", "south-west"), ("西西南", "west-south-west"),
           ("西", "west"), ("西西北", "west-north-west"), ("西北", "north-west"), ("北西北", "north-north-west"))


def compass_name(degrees: float) -> tuple[str, str]:
    """The nearest of the 16 compass points to an azimuth (degrees clockwise from north)."""
    return COMPASS[int(round((float(degrees) % 360.0) / 22.5)) % 16]


def pick_site(plants, params: ThreatParams):
    """``(name, lon, lat, chemical, tonnes or None, how chosen)`` of the release."""
    from riskmap.analysis.relocation import _with_own_crs, normalise_plants

    if params.lon is not None and not params.plant:
        chem = resolve_chemical(params.chemical) if params.chemical else None
        if chem is None:
            raise ParameterError(tr("按坐标指定泄漏点时须给出物质（--chemical）",
                                    "name the chemical (--chemical) for a release at a point"))
        return (tr("指定泄漏点", "release point"), float(params.lon), float(params.lat), chem, None,
                tr("按坐标指定", "given as a point"))
    if plants is None:
        raise ParameterError(tr("请给出企业图层（--plants）和企业名称，或泄漏点坐标（--lon、--lat）",
                                "give the plants layer (--plants) and a plant name, or a point (--lon, --lat)"))
    gdf, _notes = normalise_plants(_with_own_crs(plants), None)
    rows = gdf.drop(columns=[gdf.geometry.name]).to_dict("records")
    stocks = [_stock(r) for r in rows]
    if params.plant:
        names = gdf["name"].str.strip()
        hit = np.flatnonzero((names == params.plant.strip()).to_numpy())
        if not hit.size:
            near = gdf["name"][names.str.contains(params.plant.strip()[:4], regex=False)].head(5).tolist()
            hint = tr(f"；相近的有：{'、'.join(near)}", f"; similar: {', '.join(near)}") if near else ""
            raise ParameterError(tr(f"企业图层中没有名为“{params.plant}”的企业{hint}",
                                    f"no plant named {params.plant!r} in the plants layer{hint}"))
        i, how = int(hit[0]), tr("按名称指定", "named")
    else:
        ratios = [max((q_ratio(c, t) for c, t in s.items()), default=0.0) for s in stocks]
        if max(ratios, default=0.0) <= 0:
            raise ParameterError(tr("企业图层中没有储存已建模物质的企业；请指定企业和物质",
                                    "no plant of the layer stores a modelled chemical; name the plant and chemical"))
        i = int(np.argmax(ratios))
        how = tr("未指定企业，取已建模物质q/Q最大的企业", "no plant named: the one with the largest q/Q")
    stock = stocks[i]
    if params.chemical:
        chem = resolve_chemical(params.chemical)
    elif stock:
        chem = max(stock, key=lambda c: q_ratio(c, stock[c]))
    else:
        raise ParameterError(tr(f"企业“{gdf['name'].iat[i]}”的储量中没有已建模物质；请用 --chemical 指定",
                                f"plant {gdf['name'].iat[i]!r} stores no modelled chemical; name one (--chemical)"))
    geom = crs_policy.transform_geometries(np.asarray([gdf.geometry.iat[i]]), gdf.crs, crs_policy.MAP_CRS)[0]
    point = geom.centroid if geom.geom_type != "Point" else geom
    return gdf["name"].iat[i], float(point.x), float(point.y), chem, stock.get(chem), how


# ---------------------------------------------------------------------------
# the analysis
# ---------------------------------------------------------------------------
def toxic_levels_ppm(chemical: str, params: ThreatParams) -> list[tuple[int, float, str]]:
    """``[(tier, ppm, label)]`` for tiers 3, 2, 1: the chosen guideline's values unless overridden."""
    table = TOXIC_LOC[params.toxic_guideline].get(chemical)
    out = []
    for tier in (3, 2, 1):
        given = getattr(params, f"toxic_{tier}_ppm")
        if given is not None:
            out.append((tier, float(given), tr(f"毒性关注值{tier}级（用户值）", f"toxic LOC {tier} (user)")))
        elif table is not None:
            out.append((tier, table[tier - 1], f"{params.toxic_guideline}-{tier}"
                        + (tr("（60 min）", " (60 min)") if params.toxic_guideline == "AEGL" else "")))
    if not out:
        raise ParameterError(tr(f"{chemical}没有{params.toxic_guideline}缺省关注值；请用 --toxic-3-ppm 等给出",
                                f"no default {params.toxic_guideline} for {chemical}; give --toxic-3-ppm etc."))
    return out


def ppm_to_mg_m3(ppm, molar_mass_g_mol: float):
    """mg/m³ = ppm × M / 24.45 (25 °C, 1 atm; the AEGL/ERPG convention)."""
    return np.asarray(ppm, float) * molar_mass_g_mol / MOLAR_VOLUME_L


def threat_zones(plants=None, params: ThreatParams | None = None, *, progress=None,
                 inputs: dict | None = None) -> ThreatResult:
    """ALOHA-style threat zones of one release (see the module docstring).

    Parameters
    ----------
    plants : GeoDataFrame, optional
        Plants (name, chemicals; Chinese headers accepted), where ``params.plant`` is looked up.
    params : ThreatParams, optional
        Release, weather and levels of concern.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    ThreatResult
        Zones (polygons in the site's metric CRS) with hazard, tier, threshold, model, largest downwind
        distance, width and area; the release point; the table of numbers; the provenance.
    """
    import geopandas as gpd
    import shapely

    from riskmap.analysis.provenance import provenance

    params = (params or ThreatParams()).validate()
    report = progress or (lambda frac, msg: None)
    report(0.0, "泄漏源 source term")
    name, lon, lat, chem, stock_t, how = pick_site(plants, params)
    tonnes = params.amount_t if params.amount_t is not None else stock_t
    if tonnes is None and params.plant:
        raise ParameterError(tr(f"“{name}”没有{chem}的储量；请用 --amount-t 给出泄漏量",
                                f"{name!r} holds no stock of {chem}; give the amount (--amount-t)"))
    if tonnes is None:
        raise ParameterError(tr("按坐标指定泄漏点时须给出泄漏量（--amount-t）",
                                "give the amount (--amount-t) for a release at a point"))
    prop = data.PROPERTIES[chem]
    mass = float(tonnes) * 1000.0
    qra_params = assess.QRAParams(hole_mm=params.hole_mm, discharge_coefficient=params.discharge_coefficient)
    event = {"instantaneous": "G.1", "ten_minutes": "G.2", "hole": "G.3"}[params.release]
    _m, rate, duration = assess.release_terms(chem, mass, qra_params)[event]
    instantaneous = params.release == "instantaneous"

    metric_crs = crs_policy.metric_crs_for_bounds((lon, lat, lon, lat), crs_policy.MAP_CRS)
    gamma = grid_convergence(lon, lat, metric_crs)
    azimuth = downwind_grid_azimuth(params.wind_from, gamma)
    (sx,), (sy,) = crs_policy.transform_xy([lon], [lat], crs_policy.MAP_CRS, metric_crs)
    x_max = params.max_distance_m
    st, u, h = params.stability, params.wind_speed, params.release_height_m

    def conc(x):
        return centreline(x, mass_kg=mass, rate_kg_s=rate, instantaneous=instantaneous, stability=st, wind=u,
                          height=h, terrain=params.terrain)

    rows: list[dict] = []
    plume_model = (tr("高斯烟团（峰值浓度）+ Briggs σ", "Gaussian puff (peak) + Briggs σ") if instantaneous
                   else tr("高斯烟羽（稳态）+ Briggs σ", "steady Gaussian plume + Briggs σ"))

    def add_plume(hazard, levels):  # levels: [(tier, value, unit, mg/m³, label)]
        zones = plume_zone([lv[3] for lv in levels], conc, x_max)
        for (tier, value, unit, mg, label), z in zip(levels, zones):
            geom = None
            if z is not None:
                xs = np.concatenate([z["x"], z["x"][::-1]])
                ys = np.concatenate([z["y"], -z["y"][::-1]])
                gx, gy = _place(xs, ys, sx, sy, azimuth)
                geom = shapely.make_valid(shapely.Polygon(np.column_stack([gx, gy])))
            rows.append(_row(hazard, tier, value, unit, mg, label, plume_model, z and z["reach"],
                             z and z["width"], z and z["capped"], geom, z and z["start"]))

    hazards = prop["hazards"]
    report(0.3, "扩散 dispersion")
    if "toxic" in hazards:
        levels = toxic_levels_ppm(chem, params)
        add_plume("toxic", [(t, v, "ppm", float(ppm_to_mg_m3(v, prop["M"])), lab) for t, v, lab in levels])
    if "flammable" in hazards:
        lfl_mg = prop["lfl_vol"] * 1e6 * prop["M"] / MOLAR_VOLUME_L  # volume fraction → mg/m³ (25 °C)
        add_plume("flammable", [(3, params.flammable_3_pct_lfl, "%LFL", lfl_mg * params.flammable_3_pct_lfl / 100,
                                 tr(f"{params.flammable_3_pct_lfl:g}% 爆炸下限", f"{params.flammable_3_pct_lfl:g}% LFL")),
                                (1, params.flammable_1_pct_lfl, "%LFL", lfl_mg * params.flammable_1_pct_lfl / 100,
                                 tr(f"{params.flammable_1_pct_lfl:g}% 爆炸下限", f"{params.flammable_1_pct_lfl:g}% LFL"))])
        report(0.6, "火灾与爆炸 fire and explosion")
        dhc = prop["dhc_mj_kg"] * 1e6
        thermal = [(k, getattr(params, f"thermal_{k}_kw")) for k in (3, 2, 1)]
        if instantaneous:
            d_fb, t_fb, h_fb = models.fireball(mass)
            model = tr(f"火球（CCPS：D={d_fb:.0f} m，t={t_fb:.1f} s，H={h_fb:.0f} m）",
                       f"fireball (CCPS: D={d_fb:.0f} m, t={t_fb:.1f} s, H={h_fb:.0f} m)")
            reach = radial_reach([v * 1e3 for _k, v in thermal],
                                 lambda r: models.fireball_flux(mass, r, params.fireball_sep_kw * 1e3), x_max)
        else:
            q = rate * dhc
            model = tr(f"喷射火（点源，χr={params.jet_radiative_fraction:g}，Q={q / 1e6:.0f} MW）",
                       f"jet fire (point source, χr={params.jet_radiative_fraction:g}, Q={q / 1e6:.0f} MW)")
            reach = radial_reach([v * 1e3 for _k, v in thermal],
                                 lambda r: models.point_source_flux(q, np.maximum(r, 1.0),
                                                                    params.jet_radiative_fraction), x_max)
        for (k, v), r in zip(thermal, reach):
            rows.append(_circle("thermal", k, v, "kW/m²", tr(f"{v:g} kW/m²（60 s）", f"{v:g} kW/m² (60 s)"), model,
                                r, sx, sy, x_max))
        if instantaneous:
            w = models.tnt_mass(mass, dhc, params.tnt_efficiency)
            model = tr(f"蒸气云爆炸（TNT当量 {w:.0f} kg，Kinney–Graham）",
                       f"vapour-cloud explosion (TNT {w:.0f} kg, Kinney–Graham)")
            blast = [(k, getattr(params, f"overpressure_{k}_kpa")) for k in (3, 2, 1)]
            reach = radial_reach([v * 1e3 for _k, v in blast],
                                 lambda r: models.kinney_graham(np.maximum(r, 0.5) / w ** (1 / 3)) * data.AMBIENT_P_PA,
                                 x_max)
            for (k, v), r in zip(blast, reach):
                rows.append(_circle("overpressure", k, v, "kPa", f"{v:g} kPa（{v / 6.894757:.1f} psi）", model,
                                    r, sx, sy, x_max))

    report(0.9, "结果 results")
    present = [r for r in rows if r["geometry"] is not None]
    zones = gpd.GeoDataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in present] or None,
                             geometry=[r["geometry"] for r in present], crs=metric_crs)
    if not len(zones):
        zones = gpd.GeoDataFrame({c: [] for c in ZONE_COLUMNS}, geometry=[], crs=metric_crs)
    else:
        zones["area_km2"] = shapely.area(zones.geometry.values) / 1e6
        zones = zones[[*ZONE_COLUMNS, "geometry"]]
    source = gpd.GeoDataFrame({
        "name": [name], "chemical": [chem], "release": [params.release], "amount_t": [float(tonnes)],
        "rate_kg_s": [rate if not instantaneous else np.nan], "duration_s": [duration if not instantaneous else 0.0],
        "wind_from": [params.wind_from], "stability": [st], "wind_speed": [u]},
        geometry=[shapely.Point(sx, sy)], crs=metric_crs)

    rel_zh, rel_en = RELEASES[params.release]
    numbers = _numbers(name, how, lon, lat, chem, prop, tonnes, stock_t, params, rel_zh, rel_en, rate, duration,
                       instantaneous, gamma, azimuth, metric_crs, rows)
    notes = _notes(chem, prop, params, instantaneous, gamma, metric_crs, rows, duration)
    record = provenance(
        "threat", inputs or {"plants": "layer" if plants is not None else "—"},
        {**params.to_dict(), "site": name, "chemical_modelled": chem, "amount_t_used": float(tonnes),
         "rate_kg_s": rate, "duration_s": duration, "metric_crs": metric_crs.to_string(),
         "grid_convergence_deg": round(gamma, 4), "downwind_grid_azimuth_deg": round(azimuth, 3)},
        standards=standards_cited(prop), notes=notes)
    report(1.0, "完成 done")
    return ThreatResult(zones, source, numbers, record)


ZONE_COLUMNS = ["hazard", "tier", "level_label", "threshold", "unit", "threshold_mg_m3", "model", "max_distance_m",
                "start_m", "max_width_m", "capped", "area_km2", "colour"]


def _row(hazard, tier, value, unit, mg, label, model, reach, width, capped, geom, start=None) -> dict:
    return {"hazard": hazard, "tier": int(tier), "level_label": label, "threshold": float(value),
            "unit": unit, "threshold_mg_m3": float(mg) if mg is not None else np.nan, "model": model,
            "max_distance_m": float(reach) if reach is not None else np.nan,
            "start_m": float(start) if start is not None else np.nan,
            "max_width_m": float(width) if width is not None else np.nan, "capped": bool(capped),
            "area_km2": np.nan, "colour": TIER_COLOURS.get(int(tier), "#999999"), "geometry": geom}


def _circle(hazard, tier, value, unit, label, model, radius, sx, sy, x_max) -> dict:
    import shapely

    ok = radius is not None and math.isfinite(radius) and radius > 0
    geom = shapely.Point(sx, sy).buffer(radius, quad_segs=32) if ok else None
    return _row(hazard, tier, value, unit, None, label, model, radius if ok else None, 2 * radius if ok else None,
                ok and radius >= x_max, geom, 0.0 if ok else None)


def _distance_text(row) -> str:
    if not math.isfinite(row["max_distance_m"]):
        return tr("未达到", "not reached")
    prefix = "≥ " if row["capped"] else ""
    return f"{prefix}{row['max_distance_m']:,.0f} m"


def _numbers(name, how, lon, lat, chem, prop, tonnes, stock_t, params, rel_zh, rel_en, rate, duration,
             instantaneous, gamma, azimuth, metric_crs, rows) -> pd.DataFrame:
    """The report's table of numbers: inputs, the source term, the direction and every zone's distance."""
    def item(zh, en, value, unit="", basis=""):
        return {"item": tr(zh, en), "value": value, "unit": unit, "basis": basis}

    sub = gb18218.lookup(chem)
    out = [item("泄漏源", "Source", name, "", how), item("经度", "Longitude", f"{lon:.6f}", "°", "CGCS2000"),
           item("纬度", "Latitude", f"{lat:.6f}", "°", "CGCS2000"),
           item("物质", "Chemical", chem + (f"（{sub.cas}）" if sub is not None and sub.cas else ""), "",
                "GB 18218-2018 表1"),
           item("摩尔质量", "Molar mass", f"{prop['M']:g}", "g/mol", "NIST WebBook（riskmap/analysis/qra/data.py）"),
           item("泄漏方式", "Release", tr(rel_zh, rel_en), "", params.param_set["release"].basis),
           item("泄漏量", "Amount", f"{tonnes:g}", "t",
                tr("用户给出", "given") if params.amount_t is not None else tr("企业储量", "plant stock"))]
    if not instantaneous:
        out += [item("泄漏速率", "Release rate", f"{rate:.4g}", "kg/s",
                     tr(f"孔径 {params.hole_mm:g} mm，Cd {params.discharge_coefficient:g}（伯努利/临界流）",
                        f"hole {params.hole_mm:g} mm, Cd {params.discharge_coefficient:g}")
                     if params.release == "hole" else tr("储量/600 s", "amount / 600 s")),
                item("泄漏持续时间", "Release duration", f"{duration:.0f}", "s")]
    out += [item("大气稳定度", "Stability", params.stability, "", "Pasquill"),
            item("风速", "Wind speed", f"{params.wind_speed:g}", "m/s"),
            item("风向（风来向，真北起算）", "Wind from (true north)", f"{params.wind_from:g}", "°",
                 tr("气象惯例", "meteorological convention")),
            item("下风向（真方位角）", "Downwind (true azimuth)", f"{(params.wind_from + 180) % 360:g}", "°"),
            item("子午线收敛角γ", "Grid convergence γ", f"{gamma:.4f}", "°",
                 tr(f"{metric_crs.name}；网格方位角 = 真方位角 − γ", f"{metric_crs.name}; grid = true − γ")),
            item("下风向（坐标网格方位角）", "Downwind (grid azimuth)", f"{azimuth:.3f}", "°"),
            item("泄漏高度", "Release height", f"{params.release_height_m:g}", "m"),
            item("地表类型", "Terrain", params.param_set["terrain"].choice_label(params.terrain), "",
                 "Briggs (1973)"),
            item("坐标系（米制）", "Metric CRS", metric_crs.name, "", tr("riskmap 坐标系策略", "riskmap CRS policy"))]
    for r in rows:
        zh, en = HAZARDS[r["hazard"]]
        out.append(item(f"{zh} {r['level_label']}（{r['threshold']:g} {r['unit']}）",
                        f"{en} {r['level_label']} ({r['threshold']:g} {r['unit']})",
                        _distance_text(r), tr("下风向最远距离", "largest downwind distance"), r["model"]))
    return pd.DataFrame(out, columns=["item", "value", "unit", "basis"])


def _notes(chem, prop, params, instantaneous, gamma, metric_crs, rows, duration=0.0) -> list[str]:
    downwind = downwind_grid_azimuth(params.wind_from, gamma)
    notes = [
        tr("威胁区按ALOHA方法：每级关注值（LOC）为该效应在某一时刻达到该值的范围；3级（红）最严重，1级（黄）最轻（STANDARDS.md §7）",
           "threat zones by the ALOHA method: each level of concern (LOC) is the area where the effect reaches that "
           "value at some time; tier 3 (red) is the most severe, tier 1 (yellow) the least (STANDARDS.md §7)"),
        tr(f"子午线收敛角γ = {gamma:.4f}°（{metric_crs.name}，在泄漏点由投影计算；网格方位角 = 真方位角 − γ），"
           f"风来向{params.wind_from:g}°（真北）→ 下风向网格方位角 {downwind:.3f}°",
           f"meridian convergence γ = {gamma:.4f}° ({metric_crs.name}, computed from the projection at the release "
           f"point; grid azimuth = true azimuth − γ), wind from {params.wind_from:g}° (true north) → downwind grid "
           f"azimuth {downwind:.3f}°"),
        tr(f"毒性浓度 ppm → mg/m³ 按 25 °C、1 atm（{MOLAR_VOLUME_L} L/mol，AEGL/ERPG 的换算约定）",
           f"toxic concentrations ppm → mg/m³ at 25 °C, 1 atm ({MOLAR_VOLUME_L} L/mol, the AEGL/ERPG convention)"),
        tr("泄漏为初始速率，未计压力下降；液化气体泄漏未计闪蒸与液滴沉降（全部计入气云）",
           "the release is at its initial rate, without the pressure drop; no flashing or rain-out for liquefied "
           "gases (all of it goes into the cloud)"),
        tr(f"计算至下风向 {params.max_distance_m:,.0f} m；超出者标“≥”，该区在此截断（Briggs σ 适用 100 m–10 km）",
           f"computed to {params.max_distance_m:,.0f} m downwind; beyond that the distance is marked '≥' and the "
           "zone is cut there (Briggs σ hold for 100 m–10 km)"),
        tr("单一风向、单一天气，未计风向摆动（ALOHA 的风向不确定线未绘）",
           "one wind direction, one weather, no wind meander (ALOHA's wind direction confidence lines not drawn)"),
    ]
    if "toxic" in prop["hazards"] and prop["M"] > 29.0:
        notes.append(tr(f"{chem}比空气重（M = {prop['M']:g} g/mol），实际为重气扩散：近场更宽更低；此处按中性气体高斯模型"
                        "作文献认可的近似（筛查用），重气模型评估见 docs/validation.md",
                        f"{chem} is heavier than air (M = {prop['M']:g} g/mol) and really disperses as a dense gas: "
                        "wider and lower near the source; here the neutral-gas Gaussian model is used as an "
                        "approximation accepted in the literature (for screening); see docs/validation.md for the "
                        "dense-gas model evaluation"))
    elif "toxic" in prop["hazards"]:
        notes.append(tr(f"{chem}（M = {prop['M']:g} g/mol）加压液化泄漏时冷云可呈重气行为；此处按中性气体高斯模型近似",
                        f"{chem} (M = {prop['M']:g} g/mol): a cold cloud from a pressurised liquefied release can "
                        "behave as a dense gas; approximated here by the neutral-gas Gaussian model"))
    if "flammable" in prop["hazards"] and not instantaneous:
        notes.append(tr("连续泄漏未计蒸气云爆炸超压区（需气云可燃质量模型）；选“瞬时全部泄漏”可得超压区",
                        "no vapour cloud explosion overpressure zone for a continuous release (it needs a model of "
                        "the cloud's flammable mass); choose 'instantaneous release of the whole amount' for "
                        "overpressure zones"))
    plume_rows = [r for r in rows if r["hazard"] in ("toxic", "flammable") and math.isfinite(r["max_distance_m"])]
    if not instantaneous and plume_rows:
        travel = params.wind_speed * duration
        far = max(r["max_distance_m"] for r in plume_rows)
        if far > travel:
            notes.append(tr(f"泄漏持续 {duration:.0f} s，其间烟羽只传播约 {travel:,.0f} m；更远处按稳态烟羽计（偏保守），"
                            f"最远威胁区距离 {far:,.0f} m",
                            f"the release lasts {duration:.0f} s, in which the plume travels only about "
                            f"{travel:,.0f} m; farther out a steady plume is assumed (conservative); the farthest "
                            f"threat zone reaches {far:,.0f} m"))
    if instantaneous and "toxic" in prop["hazards"]:
        notes.append(tr("瞬时泄漏按烟团经过时的峰值浓度与关注值比较（偏保守）",
                        "for an instantaneous release the peak concentration as the puff passes is compared with "
                        "the levels of concern (conservative)"))

    def levels(chosen):
        return tr("、", ", ").join(tr(f"{HAZARDS[r['hazard']][0]}{r['level_label']}",
                                      f"{HAZARDS[r['hazard']][1]} {r['level_label']}") for r in chosen)

    capped = [r for r in rows if r["capped"]]
    if capped:
        notes.append(tr("以下关注值在最大计算距离处仍被超过：", "these levels of concern are still exceeded at the "
                        "largest distance computed: ") + levels(capped))
    missing = [r for r in rows if r["geometry"] is None]
    if missing:
        notes.append(tr("以下关注值在地面未达到，无威胁区：", "these levels of concern are not reached at ground level, "
                        "no threat zone: ") + levels(missing))
    return notes


def standards_cited(prop) -> list[str]:
    out = ["NOAA ALOHA 威胁区与关注值（LOC）方法（STANDARDS.md §7）", "Briggs (1973) σy、σz（Gifford表）；高斯烟羽/烟团"]
    if "toxic" in prop["hazards"]:
        out += [AEGL_SOURCE, ERPG_SOURCE]
    if "flammable" in prop["hazards"]:
        out += ["CCPS (2000) 火球与点源热辐射模型", "Kinney & Graham (1985) TNT超压；TNT当量 4.68 MJ/kg"]
    out.append(f"{data.PURPLE_BOOK} ch. 3 泄漏事件 G.1–G.3；40 CFR 68.22 最不利气象 F类 1.5 m/s")
    return out


__all__ = ["COMPASS", "HAZARDS", "MOLAR_VOLUME_L", "PARAMS", "TOXIC_LOC", "ThreatParams", "ThreatResult", "centreline",
           "compass_name", "downwind_grid_azimuth", "grid_convergence", "pick_site", "plant_stocks", "plume_zone",
           "ppm_to_mg_m3", "q_ratio", "radial_reach", "resolve_chemical", "threat_zones", "toxic_levels_ppm"]
