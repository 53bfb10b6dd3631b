"""Projects in the window: save / reopen, recent projects, unsaved-changes questions, adding data."""
import geopandas as gpd
import pytest
from PyQt5.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt5.QtGui import QDropEvent
from PyQt5.QtWidgets import QMessageBox
from shapely.geometry import Point

from riskmap.layers import RasterLayer, VectorLayer
from riskmap.layers.style import Style
from riskmap.ui import add_data

pytestmark = pytest.mark.gui


def layer_state(project):
    return [(lyr.id, lyr.name, lyr.kind, lyr.visible, round(lyr.opacity, 6), lyr.style.to_dict(), lyr.group,
             lyr.aliases, len(lyr) if isinstance(lyr, VectorLayer) else None) for lyr in project.layers]


def test_save_and_reopen_keeps_layers_styles_and_view(window, project, tmp_path, qtbot):
    project.layers["道路"].visible = False
    project.layers["敏感目标"].opacity = 0.5
    project.layers["县区边界"].style = Style(color="#abcdef", fill_opacity=0.6, label_field="name")
    project.layers.move(1, 2)
    window.zoom_to((114.5, 32.0, 115.0, 32.5))
    view = window.canvas.extent()
    assert window.isWindowModified()
    path = tmp_path / "县区风险.rmp"
    assert window.save_project_as(path, wait=True)
    assert path.exists() and not project.modified and not window.isWindowModified()
    assert window.recent_projects()[0] == str(path.resolve())
    expected = layer_state(project)

    from riskmap.ui.main_window import MainWindow

    other = MainWindow(restore=False)
    other._force_close = True
    qtbot.addWidget(other)
    other.resize(window.size())
    other.show()
    assert other.open_project(path, wait=True)
    assert layer_state(other.project) == expected
    assert other.project.extent == pytest.approx(view)
    other.canvas.wait_until_rendered(10000)
    shown = other.canvas.extent()
    assert shown[0] == pytest.approx(view[0], abs=0.02) and shown[2] == pytest.approx(view[2], abs=0.02)
    assert "县区风险" in other.windowTitle()
    assert [a.text() for a in other.recent_menu.actions()][0].endswith("县区风险.rmp")


def test_open_with_unsaved_changes_asks_first(window, project, tmp_path, monkeypatch):
    saved = tmp_path / "a.rmp"
    window.save_project_as(saved, wait=True)
    project.layers[0].visible = False
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Cancel)
    assert not window.open_project(saved, wait=True)
    assert window.project is project and len(asked) == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Discard)
    assert window.open_project(saved, wait=True)
    assert window.project is not project and window.project.layers[0].visible


def test_save_answer_saves_before_new_project(window, project, tmp_path, monkeypatch):
    path = tmp_path / "b.rmp"
    window.save_project_as(path, wait=True)
    project.layers["道路"].opacity = 0.3
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Save)
    assert window.new_project()
    assert len(window.project.layers) == 0
    from riskmap.project import Project

    assert Project.load(path).layers["道路"].opacity == pytest.approx(0.3)


def test_open_a_damaged_project_shows_one_message(window, tmp_path, errors):
    bad = tmp_path / "bad.rmp"
    bad.write_bytes(b"not a geopackage at all")
    assert not window.open_project(bad, wait=True)
    assert len(errors) == 1 and "bad.rmp" in errors[0]
    assert len(window.project.layers) == 4


def test_opening_a_project_closes_old_panels(window, project, tmp_path):
    path = tmp_path / "c.rmp"
    window.save_project_as(path, wait=True)
    window.open_attribute_table(project.layers["企业"])
    assert window.attribute_tables
    window.open_project(path, wait=True)
    assert window.attribute_tables == {}
    assert [lyr.name for lyr in window.layer_panel.project.layers] == [lyr.name for lyr in project.layers]


# -- adding data ------------------------------------------------------------------------
def test_add_a_bad_file_shows_a_message_and_adds_nothing(window, project, tmp_path, errors):
    before = [lyr.id for lyr in project.layers]
    truncated = tmp_path / "broken.geojson"
    truncated.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat', encoding="utf-8")
    empty = tmp_path / "empty.shp"
    empty.write_bytes(b"")
    unknown = tmp_path / "notes.docx"
    unknown.write_text("x")
    added = window.add_files([truncated, empty, unknown], wait=True)
    assert added == [] and [lyr.id for lyr in project.layers] == before
    assert len(errors) == 3
    assert "broken.geojson" in errors[0] and "empty.shp" in errors[1] and "notes.docx" in errors[2]
    assert window.undo_stack.count() == 0


def test_add_a_good_file_and_undo(window, project, tmp_path, errors):
    path = tmp_path / "水库.geojson"
    gpd.GeoDataFrame({"name": ["南湾水库"]}, geometry=[Point(114.0, 32.1).buffer(0.02)], crs=4490).to_file(path)
    added = window.add_files([path], wait=True)
    assert errors == [] and len(added) == 1
    assert project.layers[-1].name == "水库" and project.layers[-1].source == str(path)
    window.undo_stack.undo()
    assert "水库" not in [lyr.name for lyr in project.layers]
    window.undo_stack.redo()
    assert project.layers[-1].name == "水库"


def test_add_a_table_from_amap_converts_gcj02(window, project, tmp_path, monkeypatch, errors):
    # a published WGS84/GCJ-02 pair (googollee/eviltransform python/test.py, Beijing), as literals
    lon, lat = 116.38404722455657, 39.91334545536069
    path = tmp_path / "企业名单.csv"
    path.write_text(f"企业名称,经度,纬度\n信阳某化工,{float(lon):.7f},{float(lat):.7f}\n", encoding="utf-8")
    questions = []

    def ask(parent, p, reason, defaults=None, ask_crs=True):
        questions.append(reason)
        return add_data.ImportOptions(crs="EPSG:4490", offset="gcj02")

    monkeypatch.setattr(add_data, "ask_options", ask)
    [layer] = window.add_files([path], wait=True)
    assert len(questions) == 1 and "GCJ-02" in questions[0]
    point = layer.display_geoms[0]
    assert point.x == pytest.approx(116.377817, abs=5e-6) and point.y == pytest.approx(39.911954, abs=5e-6)


def test_cancelling_the_question_adds_nothing(window, project, tmp_path, monkeypatch, errors):
    path = tmp_path / "t.csv"
    path.write_text("name,lon,lat\na,114.1,32.1\n", encoding="utf-8")
    monkeypatch.setattr(add_data, "ask_options", lambda *a, **k: None)
    n = len(project.layers)
    assert window.add_files([path], wait=True) == [] and len(project.layers) == n and errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_file_without_crs_asks_for_one(window, project, tmp_path, monkeypatch, errors, lang):
    from riskmap.i18n import set_language

    set_language(lang)  # the error's type, not its text, says the CRS is missing (the ui conftest restores zh)
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(114.2, 32.2)], crs=4490)
    shp = tmp_path / "nocrs.shp"
    gdf.to_file(shp, encoding="utf-8")
    shp.with_suffix(".prj").unlink()
    asked = []
    monkeypatch.setattr(add_data, "ask_options",
                        lambda parent, p, reason, defaults=None, ask_crs=True:
                        asked.append(reason) or add_data.ImportOptions(crs="EPSG:4490"))
    [layer] = window.add_files([shp], wait=True)
    assert len(asked) == 1 and ("坐标系" if lang == "zh" else "coordinate system") in asked[0]
    assert layer.crs.to_epsg() == 4490


def test_add_a_raster_goes_to_the_bottom(window, project, tmp_path, errors):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(114.0, 32.5, 0.05, 0.05)) as ds:
        ds.write(np.ones((1, 10, 10), "float32"))
    [layer] = window.add_files([path], wait=True)
    assert isinstance(layer, RasterLayer) and project.layers[0] is layer and errors == []


def test_drop_files_on_the_window(window, project, tmp_path, errors, qtbot):
    path = tmp_path / "dropped.geojson"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(114.4, 32.4)], crs=4490).to_file(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)), QUrl.fromLocalFile(str(tmp_path / "x.dbf"))])
    assert add_data.dropped_paths(mime) == [str(path)]
    event = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: project.layers[-1].name == "dropped", timeout=3000)
    assert errors == []


# -- print ---------------------------------------------------------------------------------
def test_print_dialog_writes_png_and_pdf(window, project, tmp_path, errors):
    from PyQt5.QtGui import QImage

    from riskmap.ui.print_dialog import PrintDialog
    from riskmap.ui.printing import page_size_px

    dialog = PrintDialog(window)
    dialog.path_edit.setText(str(tmp_path / "map.png"))
    dialog.paper_combo.setCurrentText("A4")
    dialog.orientation_combo.setCurrentIndex(dialog.orientation_combo.findData("portrait"))
    dialog.dpi_spin.setValue(72)
    dialog.title_edit.setText("浉河区风险图")
    dialog.approval_edit.setText("豫S（2024）012号")
    result = dialog.run()
    assert result is not None and errors == []
    image = QImage(str(tmp_path / "map.png"))
    assert (image.width(), image.height()) == page_size_px("A4", "portrait", 72)
    assert project.approval_number == "豫S（2024）012号" and project.modified
    assert window.settings.value("print/orientation") == "portrait"

    dialog = PrintDialog(window)  # remembers the last choices
    assert dialog.orientation_combo.currentData() == "portrait" and dialog.dpi_spin.value() == 72
    dialog.path_edit.setText(str(tmp_path / "map.pdf"))
    dialog.paper_combo.setCurrentText("A3")
    assert dialog.run() is not None
    assert (tmp_path / "map.pdf").read_bytes()[:5] == b"%PDF-"


def test_print_to_a_bad_suffix_shows_one_message(window, tmp_path, errors):
    from riskmap.ui.print_dialog import PrintDialog

    dialog = PrintDialog(window)
    dialog.path_edit.setText(str(tmp_path / "map.docx"))
    assert dialog.run() is None
    assert len(errors) == 1 and ".png 或 .pdf" in errors[0]


def test_export_html_runs_in_the_background(window, tmp_path, qtbot, errors):
    out = tmp_path / "会议地图.html"
    task = window.export_html(out)
    assert task is not None
    qtbot.waitUntil(lambda: not task.is_running, timeout=60000)
    assert task.state == "finished", task.error
    assert out.exists() and "信阳化工有限公司" in out.read_text(encoding="utf-8") and errors == []
    # the state is set on the worker; the outcome reaches the window through a queued signal
    qtbot.waitUntil(lambda: "会议地图.html" in window.statusBar().currentMessage(), timeout=10000)


@pytest.mark.filterwarnings("ignore:.*non conformant file extension:RuntimeWarning")  # a .rmp is a GeoPackage
def test_a_project_saved_from_the_window_has_spatially_indexed_layers(window, project, tmp_path, monkeypatch):
    import sqlite3

    import numpy as np
    import pyogrio
    import shapely

    from riskmap import io

    rng = np.random.default_rng(3)
    n = 3000
    big = gpd.GeoDataFrame({"no": np.arange(n)}, crs=4490, geometry=shapely.buffer(
        shapely.points(rng.uniform(114.0, 115.0, n), rng.uniform(31.5, 32.5, n)), 0.01, quad_segs=2))
    window.project.add_vector(big, "大面层")
    monkeypatch.setattr(io, "CHUNK_FEATURES", 500)  # the save's worker thread writes the big layer in pieces
    calls = []
    real_write = pyogrio.write_dataframe
    monkeypatch.setattr(pyogrio, "write_dataframe", lambda df, *a, **k: calls.append(k.get("layer")) or
                        real_write(df, *a, **k))
    path = tmp_path / "索引.rmp"
    assert window.save_project_as(path, wait=True)
    table = f"layer_{window.project.layers['大面层'].id}"
    assert calls.count(table) == n // 500
    con = sqlite3.connect(path)
    tables = [row[0] for row in con.execute("SELECT table_name FROM gpkg_geometry_columns")]
    assert table in tables and len(tables) == sum(isinstance(lyr, VectorLayer) for lyr in window.project.layers)
    for name in tables:
        [(geom,)] = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,))
        assert con.execute("SELECT extension_name FROM gpkg_extensions WHERE table_name = ? AND column_name = ?",
                           (name, geom)).fetchall() == [("gpkg_rtree_index",)]
        assert con.execute(f'SELECT rtreecheck("rtree_{name}_{geom}")').fetchone() == ("ok",)
        assert pyogrio.read_info(path, layer=name)["capabilities"]["fast_spatial_filter"], name
    assert con.execute(f'SELECT count(*) FROM "rtree_{table}_geom"').fetchone() == (n,)
    con.close()
    window_box = (114.2, 31.7, 114.4, 31.9)
    got = pyogrio.read_dataframe(path, layer=table, bbox=window_box)
    assert sorted(got["no"]) == sorted(big["no"][big.intersects(shapely.box(*window_box))])
