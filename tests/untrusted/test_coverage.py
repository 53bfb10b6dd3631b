"""Issue 18 §9: a population raster that misses the plants is an error; partial coverage a warning."""
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from riskmap.analysis.registry import ANALYSES
from riskmap.analysis.result import run_analysis
from riskmap.cli import main
from riskmap.errors import DataFormatError

GK = 4547


def _pop(path, x0):
    with rasterio.open(path, "w", driver="GTiff", width=50, height=50, count=1, dtype="float32", crs=f"EPSG:{GK}",
                       transform=Affine(100, 0, x0, 0, -100, 3_565_000), nodata=-9999) as ds:
        ds.write(np.full((1, 50, 50), 30.0, np.float32))
    return path


@pytest.fixture
def plants(tmp_path):
    # four plants: three inside x 495–500 km, y 3560–3565 km; one 20 km east
    xy = gpd.GeoSeries(shapely.points([497_000, 498_000, 499_000, 520_000], [3_562_000] * 4), crs=GK).to_crs(4490)
    path = tmp_path / "企业.geojson"
    gpd.GeoDataFrame({"name": list("甲乙丙丁"), "industry": ["hazchem"] * 4, "safe_dist": [300.0] * 4},
                     geometry=xy.values, crs=4490).to_file(path)
    return path


def test_a_raster_covering_no_plant_is_an_error(tmp_path, plants, capsys):
    far = _pop(tmp_path / "别处.tif", 600_000)  # 100 km away
    code = main(["relocation", "--plants", str(plants), "--population", str(far), "--out", str(tmp_path / "o.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "人口栅格未覆盖任何企业" in err and "4 个均在栅格范围外" in err and "别处.tif" in err
    assert not (tmp_path / "o.gpkg").exists()


def test_partial_coverage_is_a_warning_with_the_fraction(tmp_path, plants, capsys):
    from riskmap import io

    near = _pop(tmp_path / "人口.tif", 495_000)
    code = main(["relocation", "--plants", str(plants), "--population", str(near), "--out", str(tmp_path / "o.gpkg")])
    err = capsys.readouterr().err
    assert code == 0
    assert "人口栅格仅覆盖 75% 的企业：1 个在栅格范围外" in err
    result = run_analysis(ANALYSES["relocation"], {"plants": io.read_vector(plants), "population": near})
    assert any("75%" in n for n in result.provenance["notes"])


def test_full_coverage_says_nothing(tmp_path, plants, capsys):
    from riskmap import io

    gdf = io.read_vector(plants).iloc[:3]
    result = run_analysis(ANALYSES["relocation"], {"plants": gdf, "population": _pop(tmp_path / "p.tif", 495_000)})
    assert result.provenance["warnings"] == []
    with pytest.raises(DataFormatError, match="人口栅格未覆盖任何企业"):
        run_analysis(ANALYSES["relocation"], {"plants": gdf, "population": _pop(tmp_path / "f.tif", 600_000)})
