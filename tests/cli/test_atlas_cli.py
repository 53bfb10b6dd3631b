"""``riskmap atlas``: the county atlas PDF — one page per county plus the cover, real text that copies
correctly (no radical look-alikes, checked with pdftotext), the map as vector, images at ≥ 200 dpi."""
import re
import shutil
import subprocess

import geopandas as gpd
import pytest
import shapely

from riskmap import io
from riskmap.analysis.registry import FOURCOLOUR
from riskmap.analysis.result import run_analysis
from riskmap.cli import main

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")

RADICALS = re.compile("[\u2e80-\u2fdf\uf900-\ufaff]")
GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=GK).to_crs(4490)


def pdftext(path, page=None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8")


def page_count(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@pytest.fixture(scope="module")
def small_atlas(tmp_path_factory, qapp):
    """Two counties, four townships, items whose names hold characters Noto aliases with radicals (风, 长, 龙)."""
    d = tmp_path_factory.mktemp("atlas")
    counties = _gdf({"name": ["风县", "长龙区"]}, [shapely.box(X0, Y0, X0 + 20000, Y0 + 20000),
                                                 shapely.box(X0 + 20000, Y0, X0 + 40000, Y0 + 20000)])
    towns = _gdf({"name": ["风镇", "长乡", "龙门街道", "黄金镇"], "county": ["风县", "风县", "长龙区", "长龙区"]},
                 [shapely.box(X0 + i * 10000, Y0, X0 + (i + 1) * 10000, Y0 + 20000) for i in range(4)])
    plants = _gdf({"name": ["风华化工有限公司", "长江气体厂", "龙飞化肥厂"], "hazard_grade": ["一级", "四级", ""],
                   "relocate": [False, False, True], "county": ["风县", "风县", "长龙区"]},
                  [shapely.Point(X0 + 3000, Y0 + 5000), shapely.Point(X0 + 15000, Y0 + 9000),
                   shapely.Point(X0 + 35000, Y0 + 12000)])
    roads = _gdf({"name": ["飞龙路"], "kind": ["sharp_bend"], "severity": ["较大风险"], "km_label": ["K3+100–K3+250"],
                  "county": ["长龙区"]}, [shapely.LineString([(X0 + 22000, Y0 + 3000), (X0 + 28000, Y0 + 4000)])])
    result = run_analysis(FOURCOLOUR, {"areas": towns, "enterprises": plants, "roads": roads, "counties": counties})
    gpkg, cpath = d / "four.gpkg", d / "counties.gpkg"
    io.write_layers(gpkg, result.layers, provenance=result.provenance)
    counties.to_file(cpath)
    pdf = d / "atlas.pdf"
    assert main(["atlas", "--from", str(gpkg), "--counties", str(cpath), "--out", str(pdf),
                 "--approval", "豫S(2026)001号"]) == 0
    return pdf


def test_one_page_per_county_plus_the_cover(small_atlas):
    assert page_count(small_atlas) == 3
    assert small_atlas.stat().st_size < 20e6


def test_text_copies_as_drawn_without_radical_look_alikes(small_atlas):
    text = pdftext(small_atlas)
    assert not RADICALS.findall(text), sorted(set(RADICALS.findall(text)))
    assert "安全风险四色分布图" in text and "豫S(2026)001号" in text
    first = pdftext(small_atlas, 2)
    assert "风县安全风险四色分布图" in first
    for name in ("风华化工有限公司", "长江气体厂"):  # the county's table
        assert name in first
    assert "风镇" in first and "长乡" in first  # township names on the map are text too
    second = pdftext(small_atlas, 3)
    assert "长龙区安全风险四色分布图" in second and "龙飞化肥厂" in second and "飞龙路" in second
    assert "风华化工有限公司" not in second


def test_the_map_is_vector_and_images_are_at_least_200_dpi(small_atlas):
    listing = subprocess.run(["pdfimages", "-list", str(small_atlas)], capture_output=True, check=True,
                             text=True).stdout.splitlines()[2:]
    for line in listing:
        cols = line.split()
        width, height, x_ppi = int(cols[3]), int(cols[4]), float(cols[12])
        assert width < 200 and height < 200, line  # only point symbols; no picture of the map
        assert x_ppi >= 199, line


def test_bad_arguments_are_one_line(tmp_path, capsys):
    assert main(["atlas", "--sample", "--out", str(tmp_path / "a.png")]) == 2
    assert ".pdf" in capsys.readouterr().err
    other = tmp_path / "other.gpkg"
    io.write_layers(other, {"x": _gdf({"name": ["a"]}, [shapely.Point(X0, Y0)])}, provenance={"analysis": "roads"})
    assert main(["atlas", "--from", str(other), "--sample", "--out", str(tmp_path / "a.pdf")]) == 2
    err = capsys.readouterr().err
    assert "fourcolour" in err and "Traceback" not in err


@pytest.mark.slow
def test_sample_atlas_names_every_county_and_its_items(tmp_path):
    """The acceptance run on the sample: every county's page carries its name and its table's items."""
    from riskmap.sample import sample_path

    four, pdf = tmp_path / "four.gpkg", tmp_path / "atlas.pdf"
    assert main(["fourcolour", "--sample", "--out", str(four)]) == 0
    assert main(["atlas", "--sample", "--from", str(four), "--out", str(pdf)]) == 0
    names = list(io.read_vector(sample_path("counties"))["name"])
    items = io.read_vector(four, "risk_items")
    assert page_count(pdf) == len(names) + 1 and pdf.stat().st_size < 20e6
    assert not RADICALS.findall(pdftext(pdf))
    for page, name in enumerate(names, start=2):
        page_text = pdftext(pdf, page)
        assert f"{name}安全风险四色分布图" in page_text
        top = items.loc[items["county"] == name].head(12)
        assert len(top), name
        for item in top["name"]:
            assert item in page_text, (name, item)


def test_default_rule_table_round_trips_through_a_file(tmp_path):
    from riskmap.analysis import fourcolour as fc

    path = tmp_path / "rules.json"
    assert main(["fourcolour-rules", "--out", str(path)]) == 0
    assert fc.rules_sha256(fc.load_rules(path)) == fc.rules_sha256(fc.DEFAULT_RULES)


def test_an_offline_base_map_is_drawn_under_the_maps_with_its_attribution(small_atlas, tmp_path):
    """Issue 17: the atlas shows the base map (an offline package: the command line never fetches tiles)."""
    import numpy as np
    from PIL import Image
    from pyproj import Transformer
    from tile_server import COLOURS, TileServer

    from riskmap.layers import tiles
    from riskmap.layers.tile_store import download_package

    to_lonlat = Transformer.from_crs(GK, 4326, always_xy=True)
    lon0, lat0 = to_lonlat.transform(X0 - 5000, Y0 - 5000)
    lon1, lat1 = to_lonlat.transform(X0 + 45000, Y0 + 25000)
    with TileServer() as server:
        package = download_package(tiles.custom_provider(server.url, attribution="ATLAS-TILES-TEST"),
                                   (lon0, lat0, lon1, lat1), range(8, 15), tmp_path / "base.mbtiles")["path"]
    pdf = tmp_path / "atlas_base.pdf"
    d = small_atlas.parent
    assert main(["atlas", "--from", str(d / "four.gpkg"), "--counties", str(d / "counties.gpkg"), "--out", str(pdf),
                 "--offline-tiles", str(package)]) == 0
    assert "ATLAS-TILES-TEST" in pdftext(pdf, 2)
    assert "ATLAS-TILES-TEST" not in pdftext(small_atlas, 2)

    def tile_share(path):
        subprocess.run(["pdftoppm", "-f", "2", "-l", "2", "-r", "30", "-png", str(path), str(tmp_path / "p")],
                       check=True)
        png = sorted(tmp_path.glob("p*.png"))[-1]
        img = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
        png.unlink()
        near = np.zeros(len(img), bool)
        for colour in COLOURS:
            near |= np.abs(img - np.array(colour)).sum(axis=1) < 40
        return near.mean()

    assert tile_share(pdf) > 0.02 > tile_share(small_atlas) + 0.01
    assert main(["atlas", "--from", str(d / "four.gpkg"), "--counties", str(d / "counties.gpkg"),
                 "--out", str(tmp_path / "x.pdf"), "--offline-tiles", str(tmp_path / "missing.mbtiles")]) == 2
