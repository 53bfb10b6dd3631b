"""The search box's engine (riskmap.search): names, 桩号 on a road, coordinates incl. GCJ-02/BD-09."""
import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from riskmap import crs as crs_policy
from riskmap import io, sample
from riskmap.errors import ParameterError
from riskmap.project import Project
from riskmap.search import parse_coordinate, search

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def sample_project():
    project = Project()
    project.add_vector(io.read_vector(sample.sample_path("enterprises")), "企业")
    project.add_vector(io.read_vector(sample.sample_path("roads")), "道路")
    return project


def test_finds_an_enterprise_by_part_of_its_chinese_name(sample_project):
    plants = sample_project.layers["企业"].gdf
    full = plants["name"].iat[10]
    part = full[3:7]  # a middle part of the name, e.g. 万盛宝丰
    hits = search(sample_project.layers, part, sample_project.map_crs)
    assert hits and any(h.layer.name == "企业" and h.index == 10 for h in hits)
    exact = search(sample_project.layers, full, sample_project.map_crs)
    assert exact[0].index == 10 and exact[0].score == 1.0  # the exact name ranks first
    x0, y0, x1, y1 = exact[0].bbox
    assert (x0, y0) == pytest.approx((plants.geometry.iat[10].x, plants.geometry.iat[10].y))
    typo = full[:3] + full[4:]  # one character missing: found by the fuzzy match
    assert any(h.index == 10 for h in search(sample_project.layers, typo, sample_project.map_crs))


def test_chainage_on_a_named_road_by_hand():
    """A straight 5 km road east from a point (EPSG:4547): K2+500 is 2,500 m from its start (or from 起点桩号)."""
    x0, y0 = 500_000.0, 3_560_000.0
    line = shapely.LineString([(x0, y0), (x0 + 5000, y0)])
    roads = gpd.GeoDataFrame({"name": ["天台寨路", "另一条路"], "code": ["Y108", "Y109"],
                              "起点桩号": ["", "K10+000"]},
                             geometry=[line, shapely.LineString([(x0, y0 + 3000), (x0 + 5000, y0 + 3000)])],
                             crs=4547).to_crs(4490)
    project = Project()
    project.add_vector(roads, "道路")
    hit = search(project.layers, "天台寨路 K2+500", project.map_crs)[0]
    assert hit.kind == "chainage" and hit.index == 0
    ex, ey = crs_policy.transform_xy(np.array([x0 + 2500]), np.array([y0]), 4547, project.map_crs)
    _a, _b, dist = GEOD.inv(hit.x, hit.y, float(ex[0]), float(ey[0]))
    assert dist < 0.5
    by_code = search(project.layers, "Y109K12+000", project.map_crs)[0]  # start station K10+000: 2 km along
    ex, ey = crs_policy.transform_xy(np.array([x0 + 2000]), np.array([y0 + 3000]), 4547, project.map_crs)
    assert GEOD.inv(by_code.x, by_code.y, float(ex[0]), float(ey[0]))[2] < 0.5
    assert not [h for h in search(project.layers, "天台寨路 K9+000", project.map_crs) if h.kind == "chainage"]


@pytest.mark.parametrize("text, expected", [
    ("114.07,32.12", (114.07, 32.12)), ("32.12, 114.07", (114.07, 32.12)), ("114.07 32.12", (114.07, 32.12)),
    ("32°07'N 114°04'E", (114 + 4 / 60, 32 + 7 / 60)), ("北纬32°07′12″ 东经114°04′30″", (114.075, 32.12)),
    ("114°04′30″E，32°07′12″N", (114.075, 32.12)), ("信阳化工", None),
])
def test_coordinates_as_people_type_them(text, expected):
    got = parse_coordinate(text)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-9)


def test_out_of_range_pair_is_refused():
    with pytest.raises(ParameterError):
        parse_coordinate("500.0, 32.1")


@pytest.mark.parametrize("system, forward", [("gcj02", crs_policy.wgs84_to_gcj02),
                                             ("bd09", crs_policy.wgs84_to_bd09)])
def test_shifted_coordinates_land_within_a_metre_of_wgs84(system, forward):
    """As copied from AMap (GCJ-02) or Baidu (BD-09): shifted back to the WGS84 point within 1 m."""
    lon, lat = 114.0913, 32.1472  # a WGS84 point in 信阳
    slon, slat = (float(np.ravel(v)[0]) for v in forward(np.array([lon]), np.array([lat])))
    shift = GEOD.inv(lon, lat, slon, slat)[2]
    assert 100 < shift < 1500  # the offset the toggle must remove
    project = Project()
    hit = search(project.layers, f"{slon:.7f},{slat:.7f}", "EPSG:4326", system=system)[0]
    assert hit.kind == "coordinate" and GEOD.inv(lon, lat, hit.x, hit.y)[2] < 1.0
    raw = search(project.layers, f"{slon:.7f},{slat:.7f}", "EPSG:4326")[0]
    assert GEOD.inv(lon, lat, raw.x, raw.y)[2] > 100  # without the toggle it stays shifted
