"""An offline base-map package (MBTiles, zooms 8–12 of the Xinyang extent) embedded in the HTML map,
rendered by headless Chromium with networking blocked."""
import numpy as np
import pytest
from html_fixtures import make_small_project
from test_html_chromium import CHROMIUM, chromium, errors_of, status_of
from tile_server import COLOURS, TileServer

from riskmap.errors import ParameterError
from riskmap.exports.html import export_html, read_page_data
from riskmap.layers import tiles
from riskmap.layers.tile_store import download_package, embedded_tiles

XINYANG_EXTENT = (113.7, 31.4, 115.9, 32.7)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pkg")
    with TileServer() as server:
        result = download_package(tiles.custom_provider(server.url, attribution="Test tiles"), XINYANG_EXTENT,
                                  range(8, 13), tmp / "xinyang.mbtiles")
    assert result["tiles"] == tiles.count_tiles(XINYANG_EXTENT, range(8, 13)) and result["failed"] == 0
    return result["path"]


def test_embedded_tiles_are_data_uris_capped_and_chosen_by_zoom(package, tmp_path):
    emb = embedded_tiles(package, zooms=[8, 9])
    assert emb["minZoom"] == 8 and emb["maxZoom"] == 9
    assert len(emb["tiles"]) == tiles.count_tiles(XINYANG_EXTENT, [8, 9])
    z, x, y = tiles.tiles_for_bounds(XINYANG_EXTENT, 9)[0]
    assert emb["tiles"][f"{z}/{x}/{y}"].startswith("data:image/png;base64,")
    with pytest.raises(ParameterError):
        embedded_tiles(package, max_bytes=1000)
    project = make_small_project(tmp_path, with_raster=False)
    out = export_html(project, tmp_path / "m.html", embed_font=False, offline_tiles=package, offline_zooms=[8, 9])
    page = out.read_text("utf-8")
    assert "http://127.0.0.1" not in page
    spec = read_page_data(page)["tiles"][0]
    assert spec["maxNativeZoom"] == 9 and len(spec["embedded"]) == len(emb["tiles"])


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_chromium_draws_the_embedded_tiles_with_networking_blocked(package, tmp_path):
    project = make_small_project(tmp_path, with_raster=False)
    out = export_html(project, tmp_path / "m.html", embed_font=False, offline_tiles=package)
    run = chromium(out.as_uri(), tmp_path, "--dump-dom")
    status = status_of(run.stdout)
    assert status.get("data-ready") == "1", errors_of(run.stdout)
    assert int(status["data-tiles-loaded"]) > 4, status
    shot = tmp_path / "shot.png"
    chromium(out.as_uri(), tmp_path, f"--screenshot={shot}")
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)[::5].astype(int)
    near = np.zeros(len(img), bool)
    for colour in COLOURS:
        near |= np.abs(img - np.array(colour)).sum(axis=1) < 30
    assert near.mean() > 0.2, near.mean()  # the checker tiles cover much of the page


def test_cli_embeds_a_package(package, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from riskmap.cli import main

    src = tmp_path / "pts.geojson"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(114.07, 32.12)], crs=4326).to_file(src)
    out = tmp_path / "cli.html"
    assert main(["export-html", str(src), "--out", str(out), "--no-font", "--offline-tiles", str(package),
                 "--offline-zooms", "8-9"]) == 0
    spec = read_page_data(out.read_text("utf-8"))["tiles"][0]
    assert spec["minZoom"] == 8 and spec["maxNativeZoom"] == 9
    assert main(["export-html", str(src), "--out", str(out), "--offline-tiles", str(package),
                 "--offline-zooms", "x"]) == 2
