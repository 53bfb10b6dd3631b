"""QRA results as styled map layers, shared by the window's QRA panel, the HTML export and the print.

:func:`qra_layers` turns the contours, protection targets and plants of a QRA
(:class:`riskmap.analysis.qra.assess.QRAResult`, or the layers of a ``riskmap qra --out`` GeoPackage)
into :class:`QRALayer` specs: the data to draw, its name (the declared table title), its style and
the declared table whose aliases it carries. The panel adds them through its host; the CLI
(``riskmap export-html --qra``, ``riskmap print --qra``) through :func:`add_qra_layers`, so the map
looks the same on the desktop, in the meeting-room HTML and on paper.

- **Contours** (个人风险等值线): one colour per level from a graded palette (highest risk darkest),
  legend "个人风险 3×10⁻⁵/年" …; drawn lowest level first, so each higher level lies on top of the
  one around it (they nest: GB 36894-2018 levels, :data:`riskmap.analysis.qra.engine.CONTOUR_LEVELS`).
- **Protection targets** (防护目标判定): flagged by ``flag`` — above their GB 36894 individual-risk
  criterion (red), inside a contour (orange: the IR reaches the lowest contour level), or outside
  every contour (grey); ``contour`` names the highest contour level a target lies in.
- **Plants** (定量风险评价企业): the QRA-scope plants by their societal-risk zone (F-N against the
  GB 36894-2018 lines).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmap import crs as crs_policy
from riskmap.i18n import tr
from riskmap.layers.style import Style, hex_ramp

_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")

#: Target flags: above the criterion, inside a contour, outside every contour.
TARGET_FLAGS = {"exceeds": "#d7191c", "inside": "#fd8d3c", "outside": "#8c8c8c"}

#: Plants by societal-risk zone (the Chinese zone names of :data:`riskmap.analysis.gb36894.SR_ZONES`).
SR_ZONE_COLOURS = {"不可接受区": "#d7191c", "尽可能降低区": "#fd8d3c", "可接受区": "#1a9641",
                   "无N≥1的事故后果": "#8c8c8c"}


def level_text(level: float) -> str:
    """A risk level as ``3×10⁻⁵`` (mantissa × power of ten, superscript exponent)."""
    level = float(level)
    if not np.isfinite(level) or level <= 0:
        return f"{level:g}"
    mant, exp = f"{level:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    power = "10" + str(int(exp)).translate(_SUPERSCRIPT)
    return f"{mant}×{power}"


def level_label(level: float) -> str:
    """The legend label of a contour level: ``个人风险 3×10⁻⁵/年`` (UI language)."""
    text = level_text(level)
    return tr(f"个人风险 {text}/年", f"Individual risk {text}/yr")


def level_key(level: float) -> str:
    """The category key of a contour level (the ``level_label`` field :func:`assess_qra` writes: ``3×10^-5``)."""
    mant, exp = f"{float(level):.0e}".split("e")
    return f"{mant}×10^{int(exp)}"


def contour_colours(levels) -> dict:
    """``{level: colour}``: a yellow-to-red ramp, the highest level darkest."""
    levels = sorted({float(v) for v in levels})
    ramp = hex_ramp("population", len(levels) + 2)[2:]  # the two palest colours vanish on a light map
    return dict(zip(levels, ramp))


def contour_style(levels) -> Style:
    """Categorised contour style on ``level_label``: graded colours, legend from the highest level down."""
    colours = contour_colours(levels)
    ordered = sorted(colours, reverse=True)
    return Style(mode="categorized", field="level_label",
                 categories={level_key(v): colours[v] for v in ordered},
                 labels={level_key(v): level_label(v) for v in ordered},
                 fill_opacity=0.3, width=1.0, stroke="#7f0000", color="#fecc5c")


def contours_frame(contours):
    """The contours in drawing order: lowest level first (the outer, larger ones at the bottom)."""
    if not len(contours):
        return contours
    return contours.sort_values(["level", "area"], ascending=[True, True], kind="stable").reset_index(drop=True)


def targets_frame(targets, levels):
    """The protection targets with ``flag`` (exceeds | inside | outside) and ``contour`` (highest level reached)."""
    out = targets.copy()
    levels = sorted({float(v) for v in levels})
    if not len(out):
        out["flag"] = np.array([], dtype=object)
        out["contour"] = np.array([], dtype=object)
        return out
    ir = out["ir"].to_numpy(float)
    exceeds = out["exceeds"].to_numpy(bool)
    lowest = levels[0] if levels else np.inf
    out["flag"] = np.where(exceeds, "exceeds", np.where(ir >= lowest, "inside", "outside"))
    arr = np.asarray(levels, float)
    reached = np.searchsorted(arr, ir, side="right") - 1  # index of the highest level ≤ ir
    names = np.array([level_label(v) for v in arr] + [""], dtype=object)
    out["contour"] = names[np.where(reached >= 0, reached, len(arr))]
    return out


def targets_style() -> Style:
    """Targets: above the criterion red, inside a contour orange, else grey; labelled by name."""
    return Style(mode="categorized", field="flag", categories=dict(TARGET_FLAGS), size=10.0, symbol="square",
                 stroke="#000000", width=1.0, color=TARGET_FLAGS["outside"], label_field="name",
                 labels={"exceeds": tr("超过个人风险基准", "Above the IR criterion"),
                         "inside": tr("位于个人风险等值线内", "Inside an IR contour"),
                         "outside": tr("等值线外", "Outside the contours")})


def plants_frame(plants):
    """The QRA-scope plants (the others are listed in the report, not drawn)."""
    return plants.loc[plants["qra_scope"].to_numpy(bool)].reset_index(drop=True)


def plants_style() -> Style:
    """QRA plants by societal-risk zone (GB 36894-2018 F-N lines)."""
    zh_en = {"不可接受区": "Intolerable", "尽可能降低区": "ALARP", "可接受区": "Acceptable",
             "无N≥1的事故后果": "No outcome with N ≥ 1"}
    return Style(mode="categorized", field="sr_zone", categories=dict(SR_ZONE_COLOURS), size=12.0, symbol="diamond",
                 stroke="#000000", width=1.0, color="#8c8c8c", label_field="name",
                 labels={k: tr(f"社会风险：{k}", f"Societal risk: {v}") for k, v in zh_en.items()})


@dataclass
class QRALayer:
    """One QRA layer to draw: ``key`` (the declared table), ``name``, ``gdf`` and ``style``."""

    key: str
    name: str
    gdf: object
    style: Style


def qra_layers(contours, targets, plants=None, levels=None) -> list[QRALayer]:
    """The QRA's map layers, bottom first: contours, plants (when given), protection targets.

    Parameters
    ----------
    contours, targets : GeoDataFrame
        As :func:`riskmap.analysis.qra.assess.assess_qra` returns them (``contours``: area, level,
        level_label; ``targets``: ir, exceeds).
    plants : GeoDataFrame, optional
        The ``qra_plants`` result (only the QRA-scope ones are drawn).
    levels : sequence of float, optional
        The contour levels of the run (default: those present, else GB 36894's five).
    """
    from riskmap.analysis.qra.engine import CONTOUR_LEVELS
    from riskmap.analysis.registry import QRA

    if levels is None:
        present = sorted({float(v) for v in contours["level"]}) if len(contours) else []
        levels = present or list(CONTOUR_LEVELS)
    levels = [float(v) for v in levels]
    out = [QRALayer("contours", QRA.tables["contours"].title(), contours_frame(contours), contour_style(levels))]
    if plants is not None:
        out.append(QRALayer("qra_plants", QRA.tables["qra_plants"].title(), plants_frame(plants), plants_style()))
    out.append(QRALayer("targets", QRA.tables["targets"].title(), targets_frame(targets, levels), targets_style()))
    return out


def aliases(key: str, gdf) -> dict:
    """The declared column headers of a QRA layer (plus the two display columns of the targets)."""
    from riskmap.analysis.registry import QRA

    declared = QRA.tables[key].aliases()
    if key == "targets":
        declared.update(flag=tr("标识", "Flag"), contour=tr("所在等值线", "Contour"))
    return {k: v for k, v in declared.items() if k in gdf.columns}


def read_qra_result(path):
    """``(contours, targets, plants, provenance)`` of a ``riskmap qra --out`` GeoPackage.

    Raises
    ------
    DataFormatError
        The file is not a QRA result (no ``contours`` layer or no QRA provenance).
    """
    from riskmap import io
    from riskmap.errors import DataFormatError

    layers = io.list_layers(path)
    if "contours" not in layers or "targets" not in layers:
        raise DataFormatError(tr("不是定量风险评价结果（缺少 contours/targets 图层）；请给出 riskmap qra --out 写出的 .gpkg",
                                 "not a QRA result (no contours/targets layers); give the .gpkg written by "
                                 "riskmap qra --out"), path)
    record = io.read_provenance(path)
    if record is not None and record.get("analysis") not in (None, "qra"):
        raise DataFormatError(tr(f"该文件是“{record.get('analysis')}”分析的结果，不是定量风险评价",
                                 f"the file holds a {record.get('analysis')} result, not a QRA"), path)
    contours = _read_layer(path, "contours")
    targets = _read_layer(path, "targets", contours.crs)
    plants = _read_layer(path, "qra_plants", contours.crs) if "qra_plants" in layers else None
    return contours, targets, plants, record


def focus_contours(contours, name: str):
    """The contours of the area holding the plant whose name contains ``name`` (ParameterError if none)."""
    from riskmap.errors import ParameterError

    hit = contours.loc[contours["plants"].astype(str).str.contains(str(name), regex=False)]
    if not len(hit):
        raise ParameterError(tr(f"没有名称含“{name}”的企业的个人风险等值线",
                                f"no individual-risk contours of a plant whose name contains {name!r}"))
    return hit


def _read_layer(path, name: str, crs=None):
    """A layer of a QRA GeoPackage; an empty one (no target in the risk grids) as an empty frame of its columns."""
    import geopandas as gpd
    import pyogrio

    from riskmap import io
    from riskmap.errors import EmptyLayerError

    try:
        return io.read_vector(path, layer=name)
    except EmptyLayerError:
        info = pyogrio.read_info(str(path), layer=name)
        fields = [str(f) for f in info["fields"]]
        return gpd.GeoDataFrame({f: [] for f in fields}, geometry=[], crs=info.get("crs") or crs)


def add_qra_layers(project, path, *, zoom: bool = True, focus: str | None = None) -> list:
    """Add the styled layers of a QRA result GeoPackage to ``project`` (group "analysis"); returns them.

    With ``zoom`` the project's view becomes the contours (with a margin), as the window does after a run;
    with ``focus`` only those of the plant whose name contains it (:func:`focus_contours`).
    """
    contours, targets, plants, record = read_qra_result(path)
    shown = focus_contours(contours, focus) if focus else contours
    levels = None
    if record:
        param = (record.get("parameters") or {}).get("contour_levels")
        value = param.get("value") if isinstance(param, dict) else param
        if isinstance(value, (list, tuple)) and value:
            levels = [float(v) for v in value]
    added = []
    for spec in qra_layers(contours, targets, plants, levels):
        if not len(spec.gdf):  # e.g. no protection target within the risk grids: nothing to draw or list
            continue
        layer = project.add_vector(spec.gdf, spec.name, style=spec.style, group="analysis", source=str(path))
        layer.aliases = aliases(spec.key, spec.gdf)
        if record is not None:
            layer.provenance = record
        added.append(layer)
    if zoom and len(shown):
        x0, y0, x1, y1 = crs_policy.bounds_in_crs(shown, project.map_crs)
        mx, my = max((x1 - x0) * 0.4, 1e-3), max((y1 - y0) * 0.4, 1e-3)
        project.set_extent((x0 - mx, y0 - my, x1 + mx, y1 + my))
    return added


__all__ = ["QRALayer", "TARGET_FLAGS", "add_qra_layers", "aliases", "contour_colours", "contour_style",
           "contours_frame", "focus_contours", "level_key", "level_label", "level_text", "plants_frame", "plants_style",
           "qra_layers", "read_qra_result", "targets_frame", "targets_style"]
