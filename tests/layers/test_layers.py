import geopandas as gpd
import numpy as np
import pytest
import shapely

from riskmap.errors import CRSError, ParameterError
from riskmap.layers import LayerList, RasterLayer, Style, VectorLayer, categorized, graduated


@pytest.fixture
def points():
    return gpd.GeoDataFrame({"name": list("abcd"), "v": [1.0, 2.0, 3.0, 10.0]},
                            geometry=gpd.points_from_xy([114.0, 114.1, 114.2, 114.3], [32.0] * 4), crs=4490)


def test_vector_layer_bbox_query_and_hit_test(points):
    layer = VectorLayer(points, "点")
    assert list(layer.features_in_bbox((114.05, 31.9, 114.25, 32.1))) == [1, 2]
    assert list(layer.features_at(114.1001, 32.0, 0.001)) == [1]
    assert layer.extent() == pytest.approx((114.0, 32.0, 114.3, 32.0))


def test_vector_layer_keeps_native_crs_and_displays_in_map_crs(points):
    layer = VectorLayer(points.to_crs(4547), "米制")
    assert layer.crs.to_epsg() == 4547
    assert shapely.get_coordinates(layer.display_geoms)[0] == pytest.approx([114.0, 32.0], abs=1e-7)


def test_layer_without_crs_is_an_error(points):
    with pytest.raises(CRSError):
        VectorLayer(points.set_crs(None, allow_override=True), "x")


def test_events_and_revision(points):
    layer = VectorLayer(points, "点")
    seen = []
    layer.events.changed.connect(lambda layer, what: seen.append(what))
    rev = layer.revision
    layer.visible = False
    layer.opacity = 0.4
    layer.style = Style(color="#000000")
    layer.set_data(points.iloc[:2])
    assert seen == ["visible", "opacity", "style", "data"]
    assert layer.revision > rev and len(layer) == 2
    with pytest.raises(ParameterError):
        layer.opacity = 2


def test_layer_list_events(points):
    a, b, c = (VectorLayer(points, n) for n in "abc")
    lst = LayerList([a, b])
    log = []
    lst.events.inserted.connect(lambda index, layer: log.append(("ins", index, layer.name)))
    lst.events.moved.connect(lambda src, dst, layer: log.append(("mov", src, dst)))
    lst.events.removed.connect(lambda index, layer: log.append(("rem", index, layer.name)))
    lst.events.changed.connect(lambda layer, what: log.append(("chg", layer.name, what)))
    lst.append(c)
    lst.move(2, 0)
    c.visible = False
    lst.remove(a)
    assert log == [("ins", 2, "c"), ("mov", 2, 0), ("chg", "c", "visible"), ("rem", 1, "a")]
    assert [l.name for l in lst] == ["c", "b"] and lst.visible() == [b]
    with pytest.raises(ParameterError):
        lst.append(b)


def test_weak_callbacks_do_not_keep_views_alive(points):
    layer = VectorLayer(points, "点")

    class View:
        calls = 0

        def on_change(self, layer, what):
            View.calls += 1

    view = View()
    layer.events.changed.connect(view.on_change)
    layer.visible = False
    del view
    layer.visible = True
    assert View.calls == 1


def test_styles(points):
    cat = categorized("name", points["name"])
    assert list(cat.colors_for(np.array(["a", "z"])))[0] == cat.categories["a"]
    grad = graduated("v", points["v"], n_classes=2)
    colours = grad.colors_for(points["v"].to_numpy())
    assert colours[0] != colours[-1] and len(grad.legend()) == len(grad.colors)
    assert Style.from_dict({**grad.to_dict(), "unknown_key": 1}) == grad


def test_raster_layer_reads_view_in_another_crs(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "dem.tif"
    data = np.tile(np.arange(200, dtype="float32"), (200, 1))
    with rasterio.open(path, "w", driver="GTiff", width=200, height=200, count=1, dtype="float32", crs="EPSG:4547",
                       transform=from_origin(500000, 3560000, 100, 100), nodata=-9999) as ds:
        ds.write(data, 1)
        ds.build_overviews([2, 4])
    layer = RasterLayer(path, "dem", style=Style(mode="raster", ramp="terrain", hillshade=True))
    bbox = layer.extent()
    view = layer.read_view(bbox, 100, 100)
    assert view.shape == (100, 100)
    assert view[50, 90] > view[50, 10]  # values increase eastwards
    rgba = layer.render_rgba(bbox, 64, 48)
    assert rgba.shape == (48, 64, 4) and rgba[..., 3].max() == 255
