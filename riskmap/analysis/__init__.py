"""Analyses as pure functions: GeoDataFrame/raster in, GeoDataFrame/DataFrame + provenance out."""
