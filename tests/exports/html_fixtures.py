"""Small projects built in code for the HTML export tests (imported by the test modules)."""
import numpy as np
import shapely

XSS_NAME = "<img src=x onerror=alert(1)>"


def make_small_project(tmp_path, n_points=40, with_raster=True):
    """A project with every kind of layer: styled points (one named like an XSS attack), lines,
    labelled polygons (one with a hole), accidents, a graduated layer, a hidden layer and a raster."""
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin

    from riskmap.layers.style import Style, graduated
    from riskmap.exports.sample_project import FIELD_ALIASES, SAMPLE_STYLES
    from riskmap.project import Project

    rng = np.random.default_rng(7)
    project = Project()
    project.title = "测试地图"
    project.approval_number = "豫S(2024)001号"
    project.extras["data_sources"] = "单元测试数据"

    outer = shapely.Polygon(np.column_stack([114.0 + 0.3 * np.cos(np.linspace(0, 2 * np.pi, 400)),
                                             32.0 + 0.25 * np.sin(np.linspace(0, 2 * np.pi, 400))]))
    holed = shapely.Polygon(outer.exterior.coords, [shapely.box(113.95, 31.95, 114.05, 32.05).exterior.coords])
    multi = shapely.MultiPolygon([shapely.box(114.4, 31.8, 114.6, 32.0), shapely.box(114.65, 31.8, 114.7, 31.85)])
    counties = gpd.GeoDataFrame({"name": ["浉河区", "平桥区"], "adcode": [411502, 411503]},
                                geometry=[holed, multi], crs=4490)
    group, style = SAMPLE_STYLES["counties"]
    layer = project.add_vector(counties, "县区边界", style=Style.from_dict(style.to_dict()), group=group)
    layer.aliases = FIELD_ALIASES["counties"]

    xs = np.linspace(113.8, 114.6, 120)
    roads = gpd.GeoDataFrame(
        {"name": ["G312", "S213", "X001"], "road_class": ["national", "provincial", "county"],
         "speed_kmh": [80, 60, 40]},
        geometry=[shapely.LineString(np.column_stack([xs, 31.9 + 0.05 * k + 0.01 * np.sin(xs * 40)]))
                  for k in range(3)], crs=4490)
    group, style = SAMPLE_STYLES["roads"]
    layer = project.add_vector(roads, "道路", style=Style.from_dict(style.to_dict()), group=group)
    layer.aliases = FIELD_ALIASES["roads"]

    names = [f"企业{i}" for i in range(n_points)]
    names[0] = XSS_NAME
    ent = gpd.GeoDataFrame({
        "id": np.arange(n_points), "name": names,
        "industry": rng.choice(["hazchem", "non_coal_mine", "fireworks", "metallurgy", "industry_trade"], n_points),
        "county": "浉河区", "safe_dist": np.where(np.arange(n_points) % 3 == 0, np.nan, 500.0),
        "chemicals": "液氯:5;液氨:20"},
        geometry=shapely.points(rng.uniform(113.8, 114.3, n_points), rng.uniform(31.85, 32.15, n_points)), crs=4490)
    group, style = SAMPLE_STYLES["enterprises"]
    layer = project.add_vector(ent, "企业", style=Style.from_dict(style.to_dict()), group=group)
    layer.aliases = FIELD_ALIASES["enterprises"]

    acc = gpd.GeoDataFrame({"date": ["2023-05-01"] * 15, "deaths": rng.integers(0, 3, 15),
                            "injuries": rng.integers(0, 5, 15)},
                           geometry=shapely.points(rng.uniform(113.9, 114.1, 15), rng.uniform(31.9, 32.0, 15)),
                           crs=4490)
    group, style = SAMPLE_STYLES["accidents"]
    layer = project.add_vector(acc, "交通事故点", style=Style.from_dict(style.to_dict()), group=group)
    layer.aliases = FIELD_ALIASES["accidents"]

    zones = gpd.GeoDataFrame({"name": ["区A", "区B", "区C"], "pop": [120.0, 1500.0, 8000.0]},
                             geometry=[shapely.Point(114.0 + 0.1 * k, 32.1).buffer(0.02) for k in range(3)], crs=4490)
    layer = project.add_vector(zones, "人口密集区", style=graduated("pop", zones["pop"], n_classes=3), group="analysis")
    layer.aliases = {"name": "名称", "pop": "人口(人)"}

    hidden = gpd.GeoDataFrame({"name": ["隐藏"]}, geometry=[shapely.Point(114.0, 32.0)], crs=4490)
    project.add_vector(hidden, "隐藏图层", visible=False)

    if with_raster:
        path = tmp_path / "pop.tif"
        data = rng.uniform(0, 500, (60, 80)).astype("float32")
        with rasterio.open(path, "w", driver="GTiff", width=80, height=60, count=1, dtype="float32", crs="EPSG:4490",
                           transform=from_origin(113.8, 32.2, 0.01, 0.01), nodata=-9999) as dst:
            dst.write(data, 1)
        project.add_raster(path, "人口密度", group="base", opacity=0.5,
                           style=Style(mode="raster", ramp="population", vmin=0, vmax=500))
    project.set_extent((113.7, 31.7, 114.8, 32.3))
    return project
