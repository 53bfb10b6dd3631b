"""Rule tables for oil and gas pipelines, as data.

- GB 32167-2015 《油气输送管道完整性管理规范》 high-consequence areas (高后果区, HCA), §6 / Table 1
  (oil) and Table 2 (gas), grades I < II < III (III most severe), and the potential impact
  radius formula (式(1)).
- GB 50251 location classes (地区等级), used by the gas criteria a) and b).
- GB 32167-2015 §6.1.1.2: the HCA boundary is 200 m beyond the outer edge of the nearest
  building (CONFIRMED, STANDARDS.md §0); the 2 km window only decides the location class.
- Scope (STANDARDS.md §0): GB 32167 covers transmission pipelines (GB 50251 / GB 50253).
  City-gas distribution mains (城镇燃气, GB 50028) are not HCA-assessed; their spacing to
  buildings is a declared parameter (:data:`CITY_GAS_SPACING`, GB 50028-2006, UNCONFIRMED).
  The potential impact radius (式(1)) is the gas criterion: oil lines have none.
- 中华人民共和国石油天然气管道保护法 (Petroleum and Natural Gas Pipeline Protection Law, 2010,
  STANDARDS.md §5.3): Art. 30 (5 m: 占压), Art. 31 (spacing of the mandatory design codes:
  安全间距不足, the spacing a parameter), Art. 32 (500 m each side of a river crossing),
  Art. 33 (1000 m each side of a pipeline tunnel), Art. 35 application bands (map only: they
  govern new works, not existing buildings).

Status of every value is from /work/shared/STANDARDS.md §5. CONFIRMED values are
constants here; PARTIAL / UNCONFIRMED (⚠ verify) values are fields of
:class:`HCAParameters` with documented defaults, so a user can override them and the
provenance records which value was used. Updating an edition is a change to this file only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmap.analysis.declare import Param, ParamSet
from riskmap.errors import ParameterError
from riskmap.i18n import tr

HCA_EDITION = "GB 32167-2015"
LOCATION_CLASS_EDITION = "GB 50251-2015"
PROTECTION_LAW = "中华人民共和国石油天然气管道保护法（2010）"

#: HCA grades, least to most severe.
GRADES = ("I", "II", "III")
GRADE_RANK = {"": 0, "I": 1, "II": 2, "III": 3}
RANK_GRADE = {v: k for k, v in GRADE_RANK.items()}

#: Coefficient of the potential impact radius r = c·√(d²·p) (r in m, d in mm, p in MPa).
#: GB 32167-2015 式(1); PARTIAL (formula text not read); checked against ASME B31.8S
#: 0.69 ft/(in·√psi): 0.3048 × 0.69 / 25.4 × √145.04 = 0.0997.
PIR_COEFFICIENT = 0.099


@dataclass(frozen=True)
class Criterion:
    """One row of an HCA identification table."""

    medium: str
    code: str
    grade: str
    distance_m: float | None
    text: str
    status: str = "CONFIRMED"

    @property
    def clause(self) -> str:
        table = "表1" if self.medium == "oil" else "表2"
        return f"{HCA_EDITION} {table} {self.code})"


#: GB 32167-2015 Table 1, oil pipelines (CONFIRMED; renrendoc copy).
OIL_CRITERIA = {
    "a": Criterion("oil", "a", "III", 200.0, "管道两侧各200m内，任意2km长度范围内四层及以上楼房普遍集中、交通频繁、地下设施多"),
    "b": Criterion("oil", "b", "II", 200.0, "管道两侧各200m内，任意2km长度范围内户数100户或以上（市郊居住区、商业区、工业区等）"),
    "c": Criterion("oil", "c", "II", 200.0, "管道两侧各200m内有聚居户数50户或以上的村庄、乡镇"),
    "d": Criterion("oil", "d", "I", 50.0, "管道两侧各50m内有高速公路、国道、省道、铁路及易燃易爆场所"),
    "e": Criterion("oil", "e", "II", 200.0, "管道两侧各200m内有湿地、森林、河口等国家自然保护地区"),
    "f": Criterion("oil", "f", "III", 200.0, "管道两侧各200m内有水源、河流、大中型水库"),
}

#: GB 32167-2015 Table 2, gas pipelines. Rows e) and f): the two copies read disagree on the
#: grade (⚠ verify); the grade used is a parameter (:class:`HCAParameters`).
GAS_CRITERIA = {
    "a": Criterion("gas", "a", "III", 200.0, "管道经过的四级地区"),
    "b": Criterion("gas", "b", "II", 200.0, "管道经过的三级地区"),
    "c": Criterion("gas", "c", "II", None, "管径大于762mm且最大允许操作压力大于6.9MPa，其潜在影响区域内有特定场所"),
    "d": Criterion("gas", "d", "I", None, "管径小于273mm且最大允许操作压力小于1.6MPa，其潜在影响区域内有特定场所"),
    "e": Criterion("gas", "e", "II", 200.0, "其他管道两侧各200m内有特定场所", status="UNCONFIRMED (II or I)"),
    "f": Criterion("gas", "f", "III", 200.0, "除三级、四级地区外，管道两侧各200m内有加油站、油库等易燃易爆场所",
                   status="UNCONFIRMED (III or II)"),
}

#: GB 50251 location classes by households within 200 m each side of any 2 km (§4.2.2).
#: Class 4 ("四层及以上楼房普遍集中") cannot be read from a population raster; it is
#: approximated from households (:attr:`HCAParameters.class4_households`).
LOCATION_CLASS_HOUSEHOLDS = {1: 15.0, 3: 100.0}  # class 1: ≤ 15; class 2: 15 < n < 100; class 3: ≥ 100


@dataclass(frozen=True)
class ProtectionBand:
    """A band on each side of the pipeline centreline under the Pipeline Protection Law."""

    key: str
    inner_m: float
    outer_m: float
    article: str
    rule: str

    @property
    def label(self) -> str:
        return f"{self.inner_m:g}–{self.outer_m:g} m"


#: Pipeline Protection Law (2010) bands (CONFIRMED, STANDARDS.md §5.3), drawn as non-overlapping
#: rings. Only Art. 30 gives a verdict on an existing building (占压); Art. 35 bands govern
#: applications for new works and are shown on the map only.
PROTECTION_BANDS = (
    ProtectionBand("art30", 0.0, 5.0, "第三十条",
                   "两侧各5m内禁止种植深根植物，取土、采石、用火、堆放重物、排放腐蚀性物质、机械挖掘，"
                   "修建鱼塘、沟渠、温室、畜禽圈舍、建筑物和其他构筑物"),
    ProtectionBand("art35_2", 5.0, 50.0, "第三十五条第（二）项",
                   "两侧5m至50m内新建、改建、扩建铁路、公路、河渠，架设电力线路，埋设地下电缆、光缆，"
                   "设置安全接地体、避雷接地体，应向管道所在地县级人民政府主管部门提出申请"),
    ProtectionBand("art35_3", 50.0, 200.0, "第三十五条第（三）项",
                   "两侧各200m内进行爆破、地震法勘探或者工程挖掘、工程钻探、采矿，应提出申请"),
)


#: Art. 32: river crossings, 500 m each side of the centreline (CONFIRMED, STANDARDS.md §5.3).
ART32 = ProtectionBand("art32", 0.0, 500.0, "第三十二条",
                       "穿越河流的管道线路中心线两侧各500m地域范围内，禁止抛锚、拖锚、挖砂、挖泥、采石、水下爆破"
                       "（防洪和航道通畅所需的养护疏浚作业除外）")
#: Art. 33: dedicated pipeline tunnels, 1000 m each side (CONFIRMED, STANDARDS.md §5.3).
ART33 = ProtectionBand("art33", 0.0, 1000.0, "第三十三条",
                       "管道专用隧道中心线两侧各1000m地域范围内，禁止采石、采矿、爆破；"
                       "因修建铁路、公路、水利工程等公共工程确需实施的，应经县级人民政府主管部门批准")

#: Encroachment verdicts, most severe first (Pipeline Protection Law; GB 32167-2015 式(1); GB 50028).
VERDICTS = {
    "occupy": ("占压", "第三十条", "管道中心线两侧各5m内禁止修建建筑物、构筑物"),
    "spacing": ("安全间距不足", "第三十一条",
                "人口密集建筑（居民小区、学校、医院、车站、商场等）和易燃易爆场所应与管道保持强制性技术规范规定的距离"),
    "city_gas": ("间距不足（GB 50028）", "GB 50028-2006 表6.3.3-1",
                 "城镇燃气管道与建筑物的最小水平净距（参数，待核实）"),
    "pir": ("位于潜在影响半径内", "GB 32167-2015 式(1)", "输气管道潜在影响半径内的建筑物和场所，纳入高后果区管理"),
}
VERDICT_RANK = {"occupy": 0, "city_gas": 1, "spacing": 1, "pir": 2}

#: GB 50028-2006 表6.3.3-1 (地下燃气管道与建筑物基础/外墙面的最小水平净距): (upper pressure bound MPa,
#: pressure class, spacing m). UNCONFIRMED: recalled, not in STANDARDS.md; a parameter
#: (``city_gas_spacing``) to be checked against the code. Above 1.6 MPa GB 50028 §6.4 (地区等级) applies.
CITY_GAS_SPACING = ((0.01, "低压", 0.7), (0.2, "中压B", 1.0), (0.4, "中压A", 1.5), (0.8, "次高压B", 5.0),
                    (1.6, "次高压A", 13.5))
CITY_GAS_EDITION = "GB 50028-2006"
CITY_GAS_SCOPE = "城镇燃气管道（GB 50028），不适用GB 32167"


#: The declared parameters of HCA identification (defaults, ranges, labels and basis, once).
PARAMS = ParamSet("pipelines", [
    Param("window_m", "float", 2000.0, "滑动窗口长度", "Window length", unit="m", minimum=200.0, maximum=10000.0,
          step=100, decimals=0, cli="--window", basis="GB 32167-2015 表1 a/b；GB 50251-2015 §4.2.2（2 km）",
          help_zh="沿管道的滑动窗口长度", help_en="sliding-window length along the line"),
    Param("step_m", "float", 100.0, "窗口步长", "Window step", unit="m", minimum=10.0, maximum=2000.0, step=10,
          decimals=0, cli="--step", help_zh="窗口步长及输出里程分辨率",
          help_en="window step and resolution of the output chainage"),
    Param("corridor_m", "float", 200.0, "统计户数的半宽", "Household corridor half-width", unit="m", minimum=1.0,
          maximum=2000.0, form=False, basis="GB 32167-2015 表1 a–c、f；表2 e–f（两侧各200 m）"),
    Param("near_m", "float", 50.0, "道路/易燃场所近距半宽", "Near half-width (roads, flammable sites)", unit="m",
          minimum=1.0, maximum=1000.0, form=False, basis="GB 32167-2015 表1 d)（两侧各50 m）"),
    Param("persons_per_household", "float", 2.66, "每户人数", "Persons per household", unit="人/户", minimum=0.5,
          maximum=20.0, step=0.01, decimals=2, basis="信阳市第七次人口普查（2020）家庭户户均人数",
          help_zh="人口栅格换算户数", help_en="converts raster population into households"),
    Param("oil_dense_households", "float", 100.0, "输油b)户数", "Oil b) households", unit="户", minimum=1.0,
          maximum=1e5, form=False, basis="GB 32167-2015 表1 b)"),
    Param("oil_village_households", "float", 50.0, "输油c)户数", "Oil c) households", unit="户", minimum=1.0,
          maximum=1e5, form=False, basis="GB 32167-2015 表1 c)"),
    Param("class3_households", "float", 100.0, "三级地区户数", "Class-3 households", unit="户", minimum=1.0,
          maximum=1e5, form=False, basis="GB 50251-2015 §4.2.2"),
    Param("class4_households", "float", 1500.0, "四级地区户数（近似）", "Class-4 households (approx.)", unit="户",
          minimum=1.0, maximum=1e6, step=100, decimals=0,
          help_zh="近似：2 km×400 m 窗口内户数达到此值按四级地区（标准按楼层判定，人口栅格无楼层）",
          help_en="APPROXIMATION: households in the 2 km × 400 m window treated as a class-4 location"),
    Param("gas_large_diam_mm", "float", 762.0, "输气c)管径", "Gas c) diameter", unit="mm", minimum=1.0,
          maximum=5000.0, form=False, basis="GB 32167-2015 表2 c)"),
    Param("gas_large_press_mpa", "float", 6.9, "输气c)压力", "Gas c) pressure", unit="MPa", minimum=0.01,
          maximum=100.0, form=False, basis="GB 32167-2015 表2 c)"),
    Param("gas_small_diam_mm", "float", 273.0, "输气d)管径", "Gas d) diameter", unit="mm", minimum=1.0,
          maximum=5000.0, form=False, basis="GB 32167-2015 表2 d)"),
    Param("gas_small_press_mpa", "float", 1.6, "输气d)压力", "Gas d) pressure", unit="MPa", minimum=0.01,
          maximum=100.0, form=False, basis="GB 32167-2015 表2 d)"),
    Param("gas_other_site_grade", "choice", "I", "输气e)等级", "Gas e) grade",
          choices=("I", "II"), choice_labels={"I": ("Ⅰ级", "I"), "II": ("Ⅱ级", "II")},
          basis="GB 32167-2015 表2 e)（§6.1.2.1）：其他管道两侧各200 m内有特定场所 → Ⅰ级；两份独立抄本之一引条文；"
                "另一份表格作Ⅱ级（STANDARDS.md §0），故保留参数",
          help_zh="输气准则e)的等级（默认Ⅰ级；一份抄本作Ⅱ级）",
          help_en="grade of gas criterion e) (default I; one copy says II)"),
    Param("gas_flammable_grade", "choice", "II", "输气f)等级", "Gas f) grade",
          choices=("II", "III"), choice_labels={"II": ("Ⅱ级", "II"), "III": ("Ⅲ级", "III")},
          basis="GB 32167-2015 表2 f)（§6.1.2.1）：除三级、四级地区外，管道两侧各200 m内有加油站、油库等易燃易爆场所 → "
                "Ⅱ级；一份抄本作Ⅲ级（STANDARDS.md §0），故保留参数",
          help_zh="输气准则f)的等级（默认Ⅱ级；一份抄本作Ⅲ级）",
          help_en="grade of gas criterion f) (default II; one copy says III)"),
    Param("oil_sensitive_grade", "choice", "II", "输油特定场所等级（近似）", "Oil identified-site grade (approx.)",
          choices=("", "I", "II", "III"), form=False,
          help_zh="近似：表1无特定场所行，按c)人口聚集场所（Ⅱ级）处理；空值停用",
          help_en="APPROXIMATION: identified sites treated as criterion c) places (II); empty disables"),
    Param("near_road_classes", "data", ("expressway", "national", "provincial", "railway"),
          "高速/国道/省道/铁路的road_class", "road_class values of oil d)", form=False, cli=False,
          basis="GB 32167-2015 表1 d)"),
    Param("flammable_industries", "data", ("hazchem", "fireworks"), "易燃易爆场所的行业", "Flammable-site industries",
          form=False, cli=False),
    Param("water_kinds", "data", (), "输油f)计入的水体类型", "Water kinds of oil f)", form=False, cli=False),
    Param("hca_boundary_m", "float", 200.0, "高后果区边界外延", "HCA boundary beyond buildings", unit="m",
          minimum=0.0, maximum=2000.0, step=10, decimals=0, cli="--hca-boundary",
          basis="GB 32167-2015 §6.1.1.2：高后果区边界设定为距离最近一幢建筑物外边缘200 m",
          help_zh="按户数判定的高后果区：有建筑物（人口）的里程段两端各外延的长度（2 km窗口只用于判定地区等级和户数准则）",
          help_en="HCA extent beyond the populated stretch at each end (the 2 km window only decides the class)"),
    Param("built_up_density", "float", 250.0, "有建筑物的人口密度（近似）", "Built-up density (approx.)",
          unit="人/km²", minimum=0.0, exclusive_minimum=True, maximum=1e6, step=10, decimals=0,
          help_zh="近似：人口栅格无建筑物，管道两侧200 m走廊内人口密度达到此值的里程段视为有建筑物"
                  "（低于此值为散居背景；默认250人/km²低于三级地区的平均密度约332人/km²）",
          help_en="APPROXIMATION: a stretch whose 200 m corridor holds this density counts as built up "
                  "(the raster has no buildings)"),
    Param("city_gas_kinds", "data", ("urban_main", "city_gas", "distribution", "城镇燃气", "城镇燃气管道", "城市燃气"),
          "城镇燃气管道的kind值", "kind values of city-gas mains", form=False, cli=False,
          basis="GB 32167-2015 适用范围（输油、输气管道：GB 50253/GB 50251）；城镇燃气按GB 50028（STANDARDS.md §0）"),
    Param("city_gas_spacing", "data", CITY_GAS_SPACING, "城镇燃气管道与建筑物水平净距", "City-gas spacing to buildings",
          unit="m", form=False, cli=False,
          basis="GB 50028-2006 表6.3.3-1（低压0.7、中压B 1.0、中压A 1.5、次高压B 5.0、次高压A 13.5 m；"
                "数值凭记忆，STANDARDS.md未收录，须按规范核实）"),
    Param("spacing_gas_m", "float", 30.0, "输气管道安全间距", "Gas line spacing (Art. 31)", unit="m", minimum=0.0,
          maximum=1000.0, step=1, decimals=1,
          basis="管道保护法第三十一条所指强制性技术规范的间距：GB 50251-2015中的数值未核实；默认取STANDARDS.md §5.3"
                "所载山东省办法埋地输气管道与居民区≥30 m（省级规定，非国家标准），参数",
          help_zh="人口密集建筑和易燃易爆场所距输气管道中心线小于此值为安全间距不足（第三十一条）",
          help_en="dense buildings and flammable sites closer than this to a gas line lack the Art. 31 spacing"),
    Param("spacing_products_m", "float", 30.0, "成品油管道安全间距", "Products line spacing (Art. 31)", unit="m",
          minimum=0.0, maximum=1000.0, step=1, decimals=1,
          basis="第三十一条；GB 50253-2014中的数值未核实；默认取山东省办法埋地成品油管道与居民区≥30 m（省级规定），参数",
          help_zh="成品油管道（kind=products或名称含“成品油”）的安全间距", help_en="spacing of oil-products lines"),
    Param("spacing_crude_m", "float", 15.0, "原油管道安全间距", "Crude line spacing (Art. 31)", unit="m", minimum=0.0,
          maximum=1000.0, step=1, decimals=1,
          basis="第三十一条；GB 50253-2014中的数值未核实；默认取山东省办法埋地原油管道与居民区≥15 m（省级规定），参数",
          help_zh="其他输油管道（原油）的安全间距", help_en="spacing of other (crude) oil lines"),
    Param("crossing_water_kinds", "data", ("river", "河流", "canal", "渠道"), "第三十二条计入的水体类型",
          "Water kinds crossed (Art. 32)", form=False, cli=False, basis="管道保护法第三十二条（穿越河流）"),
    Param("pir_coefficient", "float", PIR_COEFFICIENT, "潜在影响半径系数", "Potential impact radius coefficient",
          minimum=0.001, maximum=1.0, form=False, cli=False, basis="GB 32167-2015 式(1)（r = 0.099·√(d²p)）"),
    Param("subcell_m", "float", 20.0, "人口子栅格尺寸", "Population sub-cell size", unit="m", minimum=1.0,
          maximum=1000.0, form=False, cli=False),
])


@PARAMS.dataclass(frozen=True)
class HCAParameters:
    """Parameters of HCA identification: the fields, defaults, ranges and basis are :data:`PARAMS`."""

    def check_more(self) -> None:
        if self.step_m > self.window_m:
            raise ParameterError(tr(f"窗口步长（{self.step_m:g} m）不得大于窗口长度（{self.window_m:g} m）",
                                    f"HCA step ({self.step_m:g} m) must not exceed the window ({self.window_m:g} m)"))


def potential_impact_radius(diam_mm, press_mpa, coefficient: float = PIR_COEFFICIENT):
    """Potential impact radius of a gas pipeline, r = 0.099·√(d²·p).

    GB 32167-2015 式(1) (PARTIAL; same as ASME B31.8S 0.69·√(p·d²) in SI units).

    Parameters
    ----------
    diam_mm : float or array
        Outside diameter d (mm).
    press_mpa : float or array
        Maximum allowable operating pressure p (MPa).
    coefficient : float
        0.099 by default.

    Returns
    -------
    float or ndarray
        r in metres; NaN where d or p is missing or not positive.

    Examples
    --------
    >>> round(float(potential_impact_radius(1016, 10)))
    318
    """
    d = np.asarray(diam_mm, dtype=float)
    p = np.asarray(press_mpa, dtype=float)
    with np.errstate(invalid="ignore"):
        r = coefficient * np.sqrt(d * d * p)
    r = np.where((d > 0) & (p > 0), r, np.nan)
    return float(r) if r.ndim == 0 else r


def location_class(households, class4_households: float = 1500.0, class3_households: float = 100.0):
    """GB 50251 location class (1–4) from households within 200 m each side of a 2 km stretch.

    Class 4 is an approximation from households (see :class:`HCAParameters`).
    """
    h = np.asarray(households, dtype=float)
    out = np.where(h > LOCATION_CLASS_HOUSEHOLDS[1], 2, 1)
    out = np.where(h >= class3_households, 3, out)
    out = np.where(h >= class4_households, 4, out)
    return out


def gas_site_rule(diam_mm: float, press_mpa: float, params: HCAParameters) -> tuple[str, str, float | None]:
    """Which gas identified-site criterion (c, d or e) applies to a pipe, its grade and distance.

    Returns
    -------
    (code, grade, distance_m)
        ``distance_m`` is None for c) and d), whose distance is the potential impact radius.
    """
    if diam_mm > params.gas_large_diam_mm and press_mpa > params.gas_large_press_mpa:
        return "c", GAS_CRITERIA["c"].grade, None
    if diam_mm < params.gas_small_diam_mm and press_mpa < params.gas_small_press_mpa:
        return "d", GAS_CRITERIA["d"].grade, None
    return "e", params.gas_other_site_grade, 200.0


def city_gas_spacing(press_mpa, table=CITY_GAS_SPACING):
    """GB 50028 pressure class and spacing (m) of city-gas mains by pressure (NaN above the table).

    Parameters
    ----------
    press_mpa : float or array
        Design pressure (MPa).
    table : tuple of (upper MPa, class, m)
        :data:`CITY_GAS_SPACING` (UNCONFIRMED, a parameter).

    Returns
    -------
    (ndarray of str, ndarray of float)
        Class name ("中压A" ...; "高压" above the last bound) and spacing (NaN above it).
    """
    p = np.atleast_1d(np.asarray(press_mpa, dtype=float))
    bounds = np.array([float(t[0]) for t in table])
    idx = np.searchsorted(bounds, p, side="left")  # p ≤ bound: the class of that bound
    names = np.array([str(t[1]) for t in table] + ["高压"], dtype=object)
    dist = np.array([float(t[2]) for t in table] + [np.nan])
    return names[idx], dist[idx]


def standards_cited() -> list[str]:
    """Standard editions and clauses for provenance records."""
    return [
        f"{HCA_EDITION} 高后果区识别 表1（输油管道）、表2（输气管道）；§6.1.1.2 高后果区边界为距最近一幢建筑物外边缘200 m；"
        "潜在影响半径 式(1) r=0.099√(d²p)（仅输气管道）",
        f"{HCA_EDITION} 适用于输油、输气管道（GB 50253 / GB 50251）；城镇燃气管道不做高后果区识别",
        f"{LOCATION_CLASS_EDITION} §4.2 地区等级划分（200 m × 2 km 户数）",
        f"{PROTECTION_LAW} 第三十条（5 m，占压）、第三十一条（安全间距）、第三十二条（穿越河流两侧500 m）、"
        "第三十三条（隧道两侧1000 m）、第三十五条（5–50 m、200 m，新建工程申请范围）",
        f"{CITY_GAS_EDITION} 城镇燃气设计规范 表6.3.3-1 地下燃气管道与建筑物水平净距（参数，待核实）",
    ]
