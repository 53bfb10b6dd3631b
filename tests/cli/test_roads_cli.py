"""``riskmap roads``: GeoPackage layer, Excel register, typed errors, the sample."""
import subprocess
import sys

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.cli import main

METRIC = 4547
X0, Y0 = 500000.0, 3560000.0


@pytest.fixture
def inputs(tmp_path):
    a = np.radians(np.linspace(0, 90, 40))
    bend = [(X0, Y0), (X0 + 300, Y0)] + list(zip(X0 + 300 + 30 * np.sin(a), Y0 + 30 * (1 - np.cos(a)))) + \
        [(X0 + 330, Y0 + 400)]
    roads = gpd.GeoDataFrame({"name": ["Y108天台寨路", "G312"], "road_class": ["county", "national"],
                              "speed_kmh": [40, None]},
                             geometry=[shapely.LineString(bend), shapely.LineString([(X0, Y0 - 800),
                                                                                     (X0 + 3000, Y0 - 800)])],
                             crs=METRIC).to_crs(4490)
    roads_path = tmp_path / "roads.gpkg"
    roads.to_file(roads_path)
    water = gpd.GeoDataFrame({"name": ["南湾水库"]}, geometry=[shapely.box(X0 + 500, Y0 - 1200, X0 + 1500, Y0 - 830)],
                             crs=METRIC).to_crs(4490)
    water_path = tmp_path / "water.gpkg"
    water.to_file(water_path)
    pts = [shapely.Point(X0 + 2000 + 60 * i, Y0 - 795) for i in range(5)]
    acc = gpd.GeoDataFrame({"date": ["2023-01-0%d" % (i + 1) for i in range(5)], "deaths": [1, 0, 0, 2, 0],
                            "injuries": [1] * 5}, geometry=pts, crs=METRIC).to_crs(4490)
    acc_path = tmp_path / "accidents.gpkg"
    acc.to_file(acc_path)
    cell = 30.0
    xs = X0 - 300 + (np.arange(150) + 0.5) * cell
    z = np.tile(100 + 0.09 * (xs - X0), (60, 1))  # 9 % rising east: steep for 40 and 80 km/h
    dem_path = tmp_path / "dem.tif"
    with rasterio.open(dem_path, "w", driver="GTiff", width=150, height=60, count=1, dtype="float32",
                       crs="EPSG:4547", transform=from_origin(X0 - 300, Y0 + 600, cell, cell)) as ds:
        ds.write(z.astype("float32"), 1)
    return dict(roads=roads_path, water=water_path, accidents=acc_path, dem=dem_path)


def test_roads_writes_layer_and_register(tmp_path, inputs, capsys):
    out = tmp_path / "hazards.gpkg"
    xlsx = tmp_path / "register.xlsx"
    code = main(["roads", "--roads", str(inputs["roads"]), "--dem", str(inputs["dem"]), "--water",
                 str(inputs["water"]), "--accidents", str(inputs["accidents"]), "--out", str(out), "--register",
                 str(xlsx)])
    assert code == 0
    segs = gpd.read_file(out, layer="hazard_segments")
    assert set(segs.kind) == {"sharp_bend", "steep_grade", "near_water", "black_spot"}
    for col in ("kind", "name", "start_m", "end_m", "radius_m", "grade_pct", "drop_m", "water_dist_m", "accidents",
                "km_label"):
        assert col in segs.columns
    bend = segs[segs.kind == "sharp_bend"].iloc[0]
    assert bend["name"] == "Y108天台寨路" and bend.radius_m == pytest.approx(30, rel=0.1)
    spot = segs[segs.kind == "black_spot"].iloc[0]
    assert spot.accidents == 5 and spot.deaths == 3
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames[0] == "隐患路段" and "来源说明" in wb.sheetnames
    header = [c.value for c in wb["隐患路段"][1]]
    assert {"隐患类型", "桩号范围", "道路名称"} <= set(header)
    provenance = {r[1].value: (r[2].value, r[3].value, r[4].value) for r in wb["来源说明"].iter_rows(min_row=2)}
    assert provenance["事故统计窗口 (blackspot_window_m)"][:2] == ("500", "m")
    assert "UNCONFIRMED" in provenance["事故统计窗口 (blackspot_window_m)"][2]
    out_text = capsys.readouterr().out
    assert "识别隐患路段" in out_text and "急弯 1" in out_text


def test_parameters_reach_the_analysis(tmp_path, inputs):
    out = tmp_path / "h.gpkg"
    assert main(["roads", "--roads", str(inputs["roads"]), "--accidents", str(inputs["accidents"]), "--out", str(out),
                 "--blackspot-min-accidents", "6", "--kinds", "black_spot"]) == 0
    assert len(gpd.read_file(out, layer="hazard_segments")) == 0


@pytest.mark.parametrize("extra, message", [
    (["--grade-window", "50"], "--grade-window"),
    (["--dem", "missing.tif"], "missing.tif"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, inputs, extra, message):
    out = subprocess.run([sys.executable, "-m", "riskmap.cli", "roads", "--roads", str(inputs["roads"]), "--out",
                          str(tmp_path / "o.gpkg"), *extra], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_roads_file_of_points_is_refused(tmp_path, capsys):
    pts = tmp_path / "pts.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(114, 32)], crs=4490).to_file(pts)
    assert main(["roads", "--roads", str(pts), "--out", str(tmp_path / "o.gpkg")]) == 2
    assert "线要素" in capsys.readouterr().err


def test_out_must_be_gpkg(tmp_path, inputs, capsys):
    assert main(["roads", "--roads", str(inputs["roads"]), "--out", str(tmp_path / "o.shp")]) == 2
    assert ".gpkg" in capsys.readouterr().err


def test_roads_needs_an_input(tmp_path, capsys):
    assert main(["roads", "--out", str(tmp_path / "o.gpkg")]) == 2
    assert "--roads" in capsys.readouterr().err


@pytest.mark.slow
def test_sample(tmp_path, capsys):
    from riskmap import sample

    # committed sample data: a missing file is a failure, never a skip
    sample.sample_path("roads")
    sample.sample_path("dem")
    out = tmp_path / "sample.gpkg"
    assert main(["roads", "--sample", "--out", str(out), "--register", str(tmp_path / "r.xlsx")]) == 0
    segs = gpd.read_file(out, layer="hazard_segments")
    assert set(segs.kind) == {"sharp_bend", "steep_grade", "near_water", "near_cliff", "black_spot"}
    assert (segs.county != "").all()
    # the report: Chinese headers, and no English word in the reasons, risk levels, classes, subtypes, or the notes
    import re
    english = re.compile(r"(?<![A-Za-z])(?!JTG\b)[A-Za-z]{3,}")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    sheet = wb["隐患路段"]
    header = [c.value for c in sheet[1]]
    cols = {h: i for i, h in enumerate(header)}
    for name in ("说明", "风险等级", "道路等级", "子类", "隐患类型"):
        values = [row[cols[name]].value for row in sheet.iter_rows(min_row=2)]
        assert not [v for v in values if v and english.search(str(v))], name
    assert {"坡长超限", "超最大纵坡、坡长超限"} <= {row[cols["子类"]].value for row in sheet.iter_rows(min_row=2)}
    notes = [r[2].value for r in wb["来源说明"].iter_rows(min_row=2) if r[0].value == "说明"]
    assert notes and not [n for n in notes if n and english.search(str(n))]


def test_black_spot_period_and_km_posts_from_the_command_line(tmp_path, inputs, capsys):
    """The five accidents are of 2023-01-01…05; ending the period on 2022-12-31 leaves none of them."""
    out = tmp_path / "h.gpkg"
    posts = gpd.GeoDataFrame({"桩号": ["K812+300"]}, geometry=[shapely.Point(X0, Y0 - 800)], crs=METRIC).to_crs(4490)
    posts_path = tmp_path / "posts.gpkg"
    posts.to_file(posts_path)
    assert main(["roads", "--roads", str(inputs["roads"]), "--accidents", str(inputs["accidents"]), "--out", str(out),
                 "--kinds", "black_spot", "--km-posts", str(posts_path)]) == 0
    spot = gpd.read_file(out, layer="hazard_segments").iloc[0]
    assert spot.note.startswith("2020-01-06至2023-01-05（近3年）事故5起，死亡3人")
    assert spot.km_label == "K814+250–K814+590"  # 812300 + (1950 … 2290) m on G312
    assert "（事故统计时段2020-01-06至2023-01-05）" in capsys.readouterr().out
    assert main(["roads", "--roads", str(inputs["roads"]), "--accidents", str(inputs["accidents"]), "--out", str(out),
                 "--kinds", "black_spot", "--blackspot-end", "2022-12-31"]) == 0
    assert len(gpd.read_file(out, layer="hazard_segments")) == 0
