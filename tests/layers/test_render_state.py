"""Issue 18 §7: a layer records that it failed to draw (Qt-free state the layer panel shows)."""
import geopandas as gpd
import shapely

from riskmap.project import Project


def make():
    project = Project()
    gdf = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(114.1, 32.1)], crs=4490)
    layer = project.add_vector(gdf, "企业")
    project.modified = False
    return project, layer


def test_render_error_is_emitted_once_per_change_and_forwarded_by_the_list():
    project, layer = make()
    own, forwarded, changed = [], [], []
    layer.events.render_state.connect(lambda **kw: own.append(kw["error"]))
    project.layers.events.render_state.connect(lambda **kw: forwarded.append((kw["layer"], kw["error"])))
    project.layers.events.changed.connect(lambda **kw: changed.append(kw))
    revision = layer.revision
    layer.set_render_error("a.tif: file not found; check the path")
    layer.set_render_error("a.tif: file not found; check the path")  # the same failure at the next repaint
    layer.set_render_error(None)
    layer.set_render_error(None)
    assert own == ["a.tif: file not found; check the path", None]
    assert forwarded == [(layer, "a.tif: file not found; check the path"), (layer, None)]
    # a failed draw is no edit: no `changed` event, same revision, project not modified
    assert changed == [] and layer.revision == revision and not project.modified


def test_a_removed_layer_is_no_longer_forwarded():
    project, layer = make()
    forwarded = []
    project.layers.events.render_state.connect(lambda **kw: forwarded.append(kw["error"]))
    project.layers.remove(layer)
    layer.set_render_error("boom")
    assert forwarded == [] and layer.render_error == "boom"
