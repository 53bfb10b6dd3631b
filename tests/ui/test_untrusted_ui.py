"""Issue 18 in the window: outputs never overwrite a layer's file; errors are one clear line."""
from pathlib import Path

from PyQt5.QtWidgets import QFileDialog

from riskmap import io
from riskmap.ui.host import PanelHost


def test_choosing_a_layer_file_as_output_is_refused(window, errors, tmp_path, monkeypatch):
    src = tmp_path / "企业.geojson"
    gdf = window.project.layers[0].gdf if hasattr(window.project.layers[0], "gdf") else \
        next(lyr.gdf for lyr in window.project.layers if hasattr(lyr, "gdf"))
    io.write_layers(src, {"x": gdf})
    window.project.add_vector(io.read_vector(src), "企业", source=str(src))
    before = src.read_bytes()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(src), ""))
    assert PanelHost(window).ask_save_path("导出", "x.gpkg", "GeoPackage (*.gpkg)") is None
    assert len(errors) == 1 and "输出文件与输入文件相同" in errors[0] and "Traceback" not in errors[0]
    assert window.export_html(str(src)) is None
    assert len(errors) == 2 and "输出文件与输入文件相同" in errors[1]
    assert src.read_bytes() == before
    other = tmp_path / "out.gpkg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(other), ""))
    assert Path(PanelHost(window).ask_save_path("导出", "x.gpkg", "GeoPackage (*.gpkg)")) == other


def test_exporting_a_layer_over_its_own_file_is_refused(window, errors, tmp_path):
    """导出图层… (from main's KML/convert work) obeys the output ≠ input rule too."""
    src = tmp_path / "企业.geojson"
    gdf = next(lyr.gdf for lyr in window.project.layers if hasattr(lyr, "gdf"))
    io.write_layers(src, {"x": gdf})
    layer = window.project.add_vector(io.read_vector(src), "企业", source=str(src))
    before = src.read_bytes()
    assert window.export_layer(layer, path=str(src), gcj02=False) is None
    assert len(errors) == 1 and "输出文件与输入文件相同" in errors[0]
    assert src.read_bytes() == before
    assert window.export_layer(layer, path=str(tmp_path / "副本.kml"), gcj02=False) == tmp_path / "副本.kml"
