"""Issue 18 §7 (found by the window's add-data fuzz): a damaged raster's NaN, inf or huge cells colour
without floating-point warnings (which the window would otherwise report as an internal error)."""
import warnings

import numpy as np
import rasterio
from rasterio.transform import from_origin

from riskmap.layers import RasterLayer
from riskmap.layers.raster_colour import colorize
from riskmap.layers.style import Style


def test_non_finite_and_huge_values_colour_quietly():
    values = np.array([[np.nan, np.inf, -np.inf], [3.0e38, -3.0e38, 5.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgba = colorize(values, Style(mode="raster", ramp="reds"), stats=(0.0, 10.0))
        shaded = colorize(values, Style(mode="raster", ramp="terrain", hillshade=True, log=True), stats=(0.0, 10.0))
    assert rgba.shape == (2, 3, 4) and shaded.shape == (2, 3, 4)
    assert (rgba[0, :, 3] == 0).all()  # NaN and ±inf are no value: transparent
    assert (rgba[1, :, 3] == 255).all()  # finite cells, however large, are drawn (clipped to the ramp's ends)


def test_statistics_of_a_raster_with_nan_cells_ignore_them(tmp_path):
    """A signalling NaN raises "invalid value encountered in cast" when widened to float64 (the fuzz case)."""
    path = tmp_path / "坏值.tif"
    data = np.full((20, 20), 4.0, np.float32)
    data[:5] = np.nan
    data[0, :3] = np.array([0x7FA00000] * 3, np.uint32).view(np.float32)  # signalling NaNs (bytes flipped by chance)
    data[5:8] = 8.0
    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=1, dtype="float32", crs="EPSG:4490",
                       transform=from_origin(114.0, 32.5, 0.01, 0.01), nodata=-9999) as ds:
        ds.write(data, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = RasterLayer(path).statistics()
    assert (low, high) == (4.0, 8.0)  # percentiles 2 and 98 of the 300 finite cells (240 fours, 60 eights)
