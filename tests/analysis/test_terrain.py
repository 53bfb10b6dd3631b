"""D8 steepest-descent flow tracing with pit handling on synthetic DEMs."""
import math

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from riskmap.analysis import terrain

GK = "EPSG:4547"
X0, Y0 = 500000.0, 3550000.0


def _write(path, z, cell=30.0, crs=GK, left=X0, top=None, nodata=-9999.0):
    top = Y0 + z.shape[0] / 2 * cell if top is None else top
    with rasterio.open(path, "w", driver="GTiff", height=z.shape[0], width=z.shape[1], count=1, dtype="float32",
                       crs=crs, transform=from_origin(left, top, cell, cell), nodata=nodata) as ds:
        ds.write(z.astype("float32"), 1)
    return path


def _valley(nx=200, ny=120, cell=30.0):
    """A valley along +x (water flows east), cross slope 0.15, down-valley slope 0.03."""
    xs = X0 + (np.arange(nx) + 0.5) * cell
    ys = (Y0 + ny / 2 * cell) - (np.arange(ny) + 0.5) * cell
    X, Y = np.meshgrid(xs, ys)
    return X, Y, 300 - 0.03 * (X - X0) + 0.15 * np.abs(Y - Y0)


def test_trace_follows_the_valley_downhill(tmp_path):
    X, Y, z = _valley()
    dem = _write(tmp_path / "v.tif", z)
    tr = terrain.trace_downstream(dem, X0 + 1500, Y0, GK, 1000)
    assert tr.stop == "length" and tr.pits_crossed == 0
    assert tr.length_m == pytest.approx(1000, abs=1e-6)
    end = shapely.get_coordinates(tr.line)[-1]
    assert end[0] - X0 == pytest.approx(2500, abs=40) and abs(end[1] - Y0) < 40
    start = shapely.get_coordinates(tr.line)[0]
    assert tuple(start) == (X0 + 1500, Y0)


def test_trace_from_a_slope_reaches_the_valley_floor_then_turns(tmp_path):
    X, Y, z = _valley()
    dem = _write(tmp_path / "v.tif", z)
    tr = terrain.trace_downstream(dem, X0 + 1500, Y0 + 600, GK, 1500)
    xy = shapely.get_coordinates(tr.line)
    assert abs(xy[-1, 1] - Y0) < 40       # ended on the valley floor
    assert xy[-1, 0] > X0 + 1500 + 300    # and went down-valley


def test_a_pit_does_not_stop_the_trace(tmp_path):
    X, Y, z = _valley()
    z[(np.abs(X - (X0 + 1900)) < 50) & (np.abs(Y - Y0) < 50)] -= 15  # 15 m deep hole 400 m downstream
    dem = _write(tmp_path / "pit.tif", z)
    tr = terrain.trace_downstream(dem, X0 + 1500, Y0, GK, 1000)
    assert tr.pits_crossed >= 1
    assert tr.stop == "length" and tr.length_m == pytest.approx(1000, abs=1e-6)
    assert shapely.get_coordinates(tr.line)[-1, 0] > X0 + 2400


def test_a_flat_reservoir_surface_is_crossed(tmp_path):
    X, Y, z = _valley()
    flat = (X > X0 + 1400) & (X < X0 + 2000) & (np.abs(Y - Y0) < 200)
    z[flat] = z[flat].min()  # a flat (filled) pond from the dam down
    z[flat & (X > X0 + 1990 - 30)] = z[flat].min()  # keep it flat to its end
    dem = _write(tmp_path / "flat.tif", z)
    tr = terrain.trace_downstream(dem, X0 + 1500, Y0, GK, 1000)
    assert tr.stop == "length" and tr.pits_crossed >= 1
    assert shapely.get_coordinates(tr.line)[-1, 0] > X0 + 2300


def test_closed_basin_larger_than_the_fill_cap_stops_with_reason(tmp_path):
    X, Y, _ = _valley()
    z = np.hypot(X - (X0 + 3000), Y - Y0) * 0.05  # a bowl: nowhere to spill inside the raster
    dem = _write(tmp_path / "bowl.tif", z)
    tr = terrain.trace_downstream(dem, X0 + 2500, Y0, GK, 1000, max_fill_cells=50)
    assert tr.stop == "pit" and tr.length_m < 1000


def test_geographic_dem_lengths_are_in_metres(tmp_path):
    # ~0.0003° cells (≈ 28 m E-W, 33 m N-S) sloping down to the east
    nx, ny = 160, 80
    lon0, lat0, d = 114.0, 32.1, 0.0003
    lon = lon0 + (np.arange(nx) + 0.5) * d
    z = np.tile(400 - 1000 * (lon - lon0), (ny, 1)) + np.abs(np.arange(ny) - ny / 2)[:, None] * 0.5
    dem = _write(tmp_path / "geo.tif", z, cell=d, crs="EPSG:4490", left=lon0, top=lat0 + ny / 2 * d)
    from riskmap.crs import transform_xy

    x, y = transform_xy([lon0 + 20 * d], [lat0], "EPSG:4490", GK)
    tr = terrain.trace_downstream(dem, float(x[0]), float(y[0]), GK, 1000)
    assert tr.length_m == pytest.approx(1000, abs=1e-6)
    end = shapely.get_coordinates(tr.line)[-1]
    assert end[0] - x[0] == pytest.approx(1000, rel=0.05)  # straight east


def test_start_outside_the_dem_and_edge_stops(tmp_path):
    X, Y, z = _valley(nx=40, ny=40)
    dem = _write(tmp_path / "small.tif", z)
    assert terrain.trace_downstream(dem, X0 - 5000, Y0, GK, 1000).stop == "outside"
    tr = terrain.trace_downstream(dem, X0 + 600, Y0, GK, 1000)  # the raster ends 600 m downstream
    assert tr.stop == "edge" and tr.length_m < 700


def test_only_a_window_around_the_start_is_read(tmp_path):
    X, Y, z = _valley(nx=600, ny=400)
    dem = _write(tmp_path / "big.tif", z)
    reads = []

    class Spy:
        def __init__(self, ds):
            self._ds = ds

        def __getattr__(self, name):
            return getattr(self._ds, name)

        def read(self, *args, **kwargs):
            reads.append(kwargs.get("window"))
            return self._ds.read(*args, **kwargs)

    with rasterio.open(dem) as ds:
        tr = terrain.trace_downstream(Spy(ds), X0 + 3000, Y0, GK, 1000)
    assert tr.stop == "length"
    assert reads and all(w is not None and w.width * w.height < 0.1 * 600 * 400 for w in reads)


def test_azimuth_line():
    line = terrain.azimuth_line(0, 0, 90, 1000)
    assert shapely.get_coordinates(line)[-1] == pytest.approx([1000, 0], abs=1e-9)
    line = terrain.azimuth_line(0, 0, 180, 500)
    assert shapely.get_coordinates(line)[-1] == pytest.approx([0, -500], abs=1e-9)
    assert math.isclose(line.length, 500)
