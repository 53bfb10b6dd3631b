"""Layer panel: visibility, order (drag and drop), opacity, legend, context menu, style dialog."""
import dataclasses

import pytest
from PyQt5.QtCore import QModelIndex, Qt
from window_helpers import COUNTY_COLOUR, PLANTS, close_to, pixel_at

from riskmap.layers import Style

pytestmark = pytest.mark.gui


def names_top_down(model):
    return [model.index(r, 0).data() for r in range(model.rowCount())]


def test_rows_are_layers_topmost_first_with_legends(window, project):
    model = window.layer_panel.model
    assert names_top_down(model) == ["企业", "敏感目标", "道路", "县区边界"]
    plants = model.index(0, 0)
    assert model.rowCount(plants) == 2  # categorised: one legend row per category
    assert {model.index(i, 0, plants).data() for i in range(2)} == {"危险化学品", "烟花爆竹"}
    assert model.index(0, 0).data(Qt.CheckStateRole) == Qt.Checked


def test_toggle_visibility_changes_model_and_pixels(window, project):
    model = window.layer_panel.model
    plants = project.layers["企业"]
    counties = project.layers["县区边界"]
    counties.style = dataclasses.replace(counties.style, label_field=None)  # a label may sit on the plant
    assert close_to(pixel_at(window, *PLANTS[0]), "#d62728")
    assert model.setData(model.index(0, 0), Qt.Unchecked, Qt.CheckStateRole)
    assert plants.visible is False and project.modified
    assert close_to(pixel_at(window, *PLANTS[0]), COUNTY_COLOUR)  # the county shows through
    model.setData(model.index(0, 0), Qt.Checked, Qt.CheckStateRole)
    assert plants.visible and close_to(pixel_at(window, *PLANTS[0]), "#d62728")


def test_drag_to_reorder_moves_layers_and_pixels(window, project):
    model = window.layer_panel.model
    # the road crosses county A: drawn above it, its colour shows
    road_point = (114.3, 32.1)
    assert close_to(pixel_at(window, *road_point), "#ff7f0e")
    road_index = model.index(2, 0)
    data = model.mimeData([road_index])
    assert model.dropMimeData(data, Qt.MoveAction, model.rowCount(), 0, QModelIndex())  # drop below the last row
    assert names_top_down(model) == ["企业", "敏感目标", "县区边界", "道路"]
    assert [lyr.name for lyr in project.layers] == ["道路", "县区边界", "敏感目标", "企业"]
    assert close_to(pixel_at(window, *road_point), COUNTY_COLOUR)  # the opaque county now hides the road
    # drop onto the top row: the road becomes the topmost layer
    data = model.mimeData([model.index(3, 0)])
    assert model.dropMimeData(data, Qt.MoveAction, -1, 0, model.index(0, 0))
    assert names_top_down(model)[0] == "道路" and project.layers[-1].name == "道路"
    # dropped between the legend rows of the plants (now second): takes the plants' place
    data = model.mimeData([model.index(3, 0)])
    assert model.dropMimeData(data, Qt.MoveAction, 1, 0, model.index(1, 0))
    assert names_top_down(model) == ["道路", "县区边界", "企业", "敏感目标"]


def test_opacity_slider_sets_layer_opacity(window, project):
    panel = window.layer_panel
    panel.set_current_layer(project.layers["道路"])
    assert panel.opacity_slider.isEnabled() and panel.opacity_slider.value() == 100
    panel.opacity_slider.setValue(40)
    assert project.layers["道路"].opacity == pytest.approx(0.4)
    assert window.current_layer() is project.layers["道路"]


def test_context_menu_remove_is_undoable(window, project):
    road = project.layers["道路"]
    menu = window.layer_panel.context_menu_for(road)
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels == ["缩放到图层", "打开属性表", "导出图层…", "样式…", "重命名", "移除图层"]
    [a for a in menu.actions() if a.text() == "移除图层"][0].trigger()
    assert road not in project.layers and "道路" not in names_top_down(window.layer_panel.model)
    window.actions["undo"].trigger()
    assert project.layers[1] is road


def test_context_menu_zoom_and_table(window, project):
    plants = project.layers["企业"]
    menu = window.layer_panel.context_menu_for(plants)
    [a for a in menu.actions() if a.text() == "缩放到图层"][0].trigger()
    minx, miny, maxx, maxy = window.canvas.extent()
    assert minx <= PLANTS[0][0] + 1e-6 and maxx >= PLANTS[2][0] - 1e-6 and (maxx - minx) < 1.1
    [a for a in menu.actions() if a.text() == "打开属性表"][0].trigger()
    assert plants.id in window.attribute_tables


def test_style_dialog_graduated_and_single(window, project, qtbot):
    from riskmap.ui.style_dialog import SetStyleCommand, StyleDialog

    plants = project.layers["企业"]
    dialog = StyleDialog(plants, window)
    qtbot.addWidget(dialog)
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("graduated"))
    dialog.field_combo.setCurrentIndex(dialog.field_combo.findData("safe_dist"))
    dialog.classes_spin.setValue(2)
    style = dialog.result_style()
    assert style.mode == "graduated" and style.field == "safe_dist" and len(style.colors) == len(style.breaks) + 1
    window.undo_stack.push(SetStyleCommand(plants, style))
    assert plants.style.mode == "graduated"
    model = window.layer_panel.model
    assert model.rowCount(model.index(0, 0)) == len(style.colors)  # the legend follows the style
    window.undo_stack.undo()
    assert plants.style.mode == "categorized"

    dialog = StyleDialog(project.layers["道路"], window)
    qtbot.addWidget(dialog)
    dialog.color_button.set_color("#123456")
    dialog.width_spin.setValue(5)
    style = dialog.result_style()
    assert style.mode == "single" and style.color == "#123456" and style.width == 5


def test_style_dialog_categorized_keeps_colours(window, project, qtbot):
    from riskmap.ui.style_dialog import StyleDialog

    plants = project.layers["企业"]
    dialog = StyleDialog(plants, window)
    qtbot.addWidget(dialog)
    dialog.label_combo.setCurrentIndex(dialog.label_combo.findData("name"))
    style = dialog.result_style()
    assert style.mode == "categorized" and style.categories == plants.style.categories
    assert style.label_field == "name"


def test_style_dialog_raster_hillshade(window, project, qtbot, tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from riskmap.ui.style_dialog import StyleDialog

    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(114.0, 32.5, 0.05, 0.05)) as ds:
        ds.write(np.add.outer(np.arange(20), np.arange(20)).astype("float32")[None] * 10)
    dem = project.add_raster(path, "地形")
    dialog = StyleDialog(dem, window)
    qtbot.addWidget(dialog)
    dialog.hillshade_check.setChecked(True)
    dialog.ramp_combo.setCurrentIndex(dialog.ramp_combo.findData("greys"))
    dialog.auto_range.setChecked(False)
    dialog.vmax.setValue(300)
    style = dialog.result_style()
    assert style.mode == "raster" and style.hillshade and style.ramp == "greys" and style.vmax == 300
    assert dataclasses.replace(style) == style and isinstance(style, Style)
    model = window.layer_panel.model
    assert names_top_down(model)[-1] == "地形"  # rasters go to the bottom


def test_layer_panel_follows_project_events(window, project):
    import geopandas as gpd
    from shapely.geometry import Point

    model = window.layer_panel.model
    counties = project.layers["县区边界"]
    counties.style = dataclasses.replace(counties.style, label_field=None)  # no label over the probe point
    spot = (114.3, 32.35)  # inside county A, away from the other features
    assert close_to(pixel_at(window, *spot), COUNTY_COLOUR)
    gdf = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(*spot)], crs=4490)
    layer = project.add_vector(gdf, "新图层", style=Style(color="#17becf", size=14))
    assert names_top_down(model) == ["新图层", "企业", "敏感目标", "道路", "县区边界"]
    assert model.index(0, 0).data(Qt.CheckStateRole) == Qt.Checked and model.layer_at(0) is layer
    assert close_to(pixel_at(window, *spot), "#17becf")  # drawn on top
    changed = []  # the view repaints a row only when the model says so
    model.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))
    layer.name = "改名"
    assert names_top_down(model)[0] == "改名" and changed == [(0, 0)]
    layer.visible = False  # changed on the model object, not through the panel
    assert model.index(0, 0).data(Qt.CheckStateRole) == Qt.Unchecked and changed == [(0, 0), (0, 0)]
    assert close_to(pixel_at(window, *spot), COUNTY_COLOUR)
    layer.visible = True
    project.layers.remove(layer)
    assert names_top_down(model) == ["企业", "敏感目标", "道路", "县区边界"]
    assert close_to(pixel_at(window, *spot), COUNTY_COLOUR)
