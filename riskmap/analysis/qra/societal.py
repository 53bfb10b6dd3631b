"""Societal risk: population on the risk grid, F-N curves and the GB 36894 check.

- :func:`population_on_grid`: the population raster (persons per cell, any CRS) resampled onto a
  :class:`~riskmap.analysis.qra.engine.RiskGrid`, conserving people: the raster is turned into a
  density (persons/m², with the true cell area of a geographic raster), warped with *average*
  resampling (each target cell takes the area-weighted mean density of the source cells it
  overlaps) and multiplied by the target cell area. When the risk grid shares the raster's CRS and
  its lines (10 m cells inside 100 m cells aligned to the same origin), this is exact.
- :func:`fn_curve`: from outcomes (frequency, N) the cumulative F(N) = Σ f over outcomes with ≥ N
  deaths, at each distinct N.
- :func:`~riskmap.analysis.gb36894.societal_zone` checks the curve against the lines.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from riskmap.analysis import zonal


def population_on_grid(population, grid) -> tuple[np.ndarray, float]:
    """Persons per cell of ``grid`` from a population raster, and the people of the raster inside the grid.

    Parameters
    ----------
    population : raster path, dataset, RasterGrid or array grid (:func:`riskmap.analysis.zonal.as_grid`)
        Persons per cell; nodata counts as zero.
    grid : RiskGrid
        Metric target grid (``grid.crs`` must be set).

    Returns
    -------
    (ndarray, float)
        The resampled population (``grid.height × grid.width``) and its total.
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    from riskmap import crs as crs_policy
    from riskmap.analysis.relocation import _cell_area_km2

    src = zonal.as_grid(population)
    if src.is_rotated:
        from riskmap.errors import CRSError
        from riskmap.i18n import tr

        raise CRSError(tr("定量风险评价要求人口栅格为正北朝上（无旋转）",
                          "the population raster must be north-up (no rotation) for the QRA"))
    # read only the part of the raster around the grid (with a margin of two source cells)
    x0, y0, x1, y1 = grid.bounds
    if crs_policy.same_crs(src.crs, grid.crs):
        bx = np.array([x0, x1])
        by = np.array([y0, y1])
    else:
        xs = np.array([x0, x1, x1, x0, (x0 + x1) / 2, (x0 + x1) / 2, x0, x1])
        ys = np.array([y0, y0, y1, y1, y0, y1, (y0 + y1) / 2, (y0 + y1) / 2])
        bx, by = crs_policy.transform_xy(xs, ys, grid.crs, src.crs)
    t0 = src.transform
    cols = (np.asarray(bx) - t0.c) / t0.a
    rows = (np.asarray(by) - t0.f) / t0.e
    c0 = max(int(math.floor(np.min(cols))) - 2, 0)
    c1 = min(int(math.ceil(np.max(cols))) + 2, src.width)
    r0 = max(int(math.floor(np.min(rows))) - 2, 0)
    r1 = min(int(math.ceil(np.max(rows))) + 2, src.height)
    out = np.zeros((grid.height, grid.width))
    if c1 <= c0 or r1 <= r0:
        return out, 0.0
    with src.open() as read:
        win = read(r0, r1, c0, c1)
    values = win.values.astype(np.float64)
    from affine import Affine

    t = Affine(t0.a, 0.0, t0.c + c0 * t0.a, 0.0, t0.e, t0.f + r0 * t0.e)
    sub = zonal.RasterGrid(t, src.crs, c1 - c0, r1 - r0)
    area_m2 = _cell_area_km2(sub) * 1e6
    density = values / area_m2
    reproject(density, out, src_transform=t, src_crs=src.crs, dst_transform=grid.transform, dst_crs=grid.crs,
              resampling=Resampling.average, src_nodata=None, dst_nodata=None)
    out = np.nan_to_num(out) * grid.cell * grid.cell
    return out, float(out.sum())


def fn_curve(frequencies, deaths) -> pd.DataFrame:
    """The F-N curve of outcomes: ``N`` (distinct deaths, ascending) and ``F`` (per year, of N or more deaths).

    Outcomes with N = 0 are left out. F(N) = Σ f_o over outcomes with N_o ≥ N.
    """
    f = np.asarray(frequencies, float)
    n = np.asarray(deaths, float)
    keep = (n > 0) & (f > 0)
    f, n = f[keep], n[keep]
    if not n.size:
        return pd.DataFrame({"N": np.zeros(0), "F": np.zeros(0)})
    order = np.argsort(n)
    n, f = n[order], f[order]
    uniq, start = np.unique(n, return_index=True)
    tail = np.cumsum(f[::-1])[::-1]  # Σ f over outcomes from this one upwards
    return pd.DataFrame({"N": uniq, "F": tail[start]})


def expected_deaths(frequencies, deaths) -> float:
    """Potential loss of life per year, Σ f·N (PLL)."""
    return float(np.sum(np.asarray(frequencies, float) * np.asarray(deaths, float)))


__all__ = ["expected_deaths", "fn_curve", "population_on_grid"]
