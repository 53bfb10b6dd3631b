"""The one raster colouring (riskmap.layers.raster_colour): the mapping written out by hand in float64."""
import numpy as np
import pytest

from riskmap.layers import Style, colorize, hillshade
from riskmap.layers.raster_colour import ramp_lut


def reference_colorize(data, style, stats, cell_size):
    """Index ⌊t · 255⌋ into the ramp, hillshade factor 0.35 + 0.65 · shade, in float64."""
    arr = np.ma.masked_invalid(np.ma.asarray(data, dtype=float))
    vmin = style.vmin if style.vmin is not None else stats[0]
    vmax = style.vmax if style.vmax is not None else stats[1]
    values = arr.filled(np.nan)
    if style.log:
        values = np.log10(np.clip(values, 0, None) + 1.0)
        vmin, vmax = np.log10(max(vmin, 0) + 1.0), np.log10(max(vmax, 0) + 1.0)
    t = np.clip((values - vmin) / ((vmax - vmin) or 1.0), 0, 1)
    rgb = ramp_lut(style.ramp)[np.nan_to_num(t * 255, nan=0).astype(np.intp)].astype(float)
    if style.hillshade:
        elev = arr.filled(arr.mean())
        dy, dx = np.gradient(elev, cell_size)
        slope = np.pi / 2.0 - np.arctan(np.hypot(dx, dy))
        aspect = np.arctan2(-dx, dy)
        az, alt = np.radians(360.0 - 315.0 + 90.0), np.radians(45.0)
        shade = np.clip(np.sin(alt) * np.sin(slope) + np.cos(alt) * np.cos(slope) * np.cos(az - aspect), 0, 1)
        rgb = rgb * (0.35 + 0.65 * shade[..., None])
    rgba = np.zeros(arr.shape + (4,), np.uint8)
    opaque = ~np.ma.getmaskarray(arr)
    rgba[opaque, :3] = np.clip(rgb[opaque], 0, 255).astype(np.uint8)
    rgba[opaque, 3] = 255
    return rgba


@pytest.mark.parametrize("style", [
    Style(mode="raster", ramp="terrain", hillshade=True),
    Style(mode="raster", ramp="population", log=True, vmin=0.0),
    Style(mode="raster", ramp="reds", vmin=2.0, vmax=40.0),
])
def test_colorize_matches_the_mapping_written_out(style):
    rng = np.random.default_rng(1)
    values = np.cumsum(rng.normal(0, 3, (60, 80)), axis=1) + 50
    data = np.ma.masked_array(values, mask=np.zeros_like(values, bool))
    data.mask[5:9, 10:20] = True
    data[20, 20] = np.nan
    expected = reference_colorize(data, style, (10.0, 90.0), 90.0)
    got = colorize(data, style, (10.0, 90.0), 90.0)
    assert got.shape == (60, 80, 4) and got.dtype == np.uint8
    assert np.array_equal(got[..., 3], expected[..., 3])
    opaque = expected[..., 3] == 255
    assert not opaque[5:9, 10:20].any() and not opaque[20, 20]
    assert np.abs(got[opaque, :3].astype(int) - expected[opaque, :3].astype(int)).max() <= 2  # 8-bit shading
    assert not got[~opaque].any()  # transparent cells are all zero (straight or premultiplied alike)


def test_colorize_ends_of_the_ramp_and_hillshade_range():
    lut = ramp_lut("reds")
    got = colorize(np.array([[0.0, 100.0, 50.0]]), Style(mode="raster", ramp="reds"), (0.0, 100.0))
    assert got[0, 0, :3].tolist() == lut[0].tolist() and got[0, 1, :3].tolist() == lut[255].tolist()
    assert got[0, 2, :3].tolist() == lut[127].tolist()  # ⌊0.5 · 255⌋
    slope = np.tile(np.arange(20, dtype=float) * 30, (20, 1))
    shade = hillshade(slope, 90.0)
    assert shade.dtype == np.float32 and 0 <= shade.min() and shade.max() <= 1
    flat = hillshade(np.zeros((5, 5)), 90.0)
    assert flat == pytest.approx(np.full((5, 5), np.sin(np.radians(45.0))), abs=1e-6)
