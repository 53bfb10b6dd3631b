"""Input field names: English fields found under their English or Chinese aliases."""
from __future__ import annotations

from riskmap.errors import ParameterError


def layer_source(gdf) -> str | None:
    """The file a layer was read from (``gdf.attrs["riskmap"]["source"]``), or None."""
    return (getattr(gdf, "attrs", {}) or {}).get("riskmap", {}).get("source")


def apply_field_aliases(gdf, aliases: dict, defaults: dict | None = None, *, layer: str, hint: str,
                        source: str | None = None):
    """A copy of ``gdf`` holding every field of ``aliases``, copied from an alias column when needed.

    A field already present is kept. Otherwise the first alias found among the columns (compared
    stripped and lower-cased, so "DIAM_MM" or " 管径 " match) is copied to the field; failing that
    the field gets its default.

    Parameters
    ----------
    gdf : GeoDataFrame or DataFrame
    aliases : dict
        ``{field: (alias, ...)}`` in the order the fields are looked up.
    defaults : dict, optional
        ``{field: make(n_rows)}`` for fields that may be missing; ``make`` returns the column
        values (a list of length ``n_rows`` or a scalar).
    layer : str
        Layer name for the error message, e.g. ``"pipelines"``.
    hint : str
        What the required fields hold, for the error message.
    source : str, optional
        File named in the error.

    Returns
    -------
    GeoDataFrame or DataFrame
        A copy of ``gdf`` with the fields added.

    Raises
    ------
    ParameterError
        A field without default is neither present nor found under an alias.
    """
    defaults = defaults or {}
    out = gdf.copy()
    lowered = {str(c).strip().lower(): c for c in out.columns}
    for field, names in aliases.items():
        if field in out.columns:
            continue
        found = next((lowered[a.lower()] for a in names if a.lower() in lowered), None)
        if found is not None:
            out[field] = out[found]
        elif field in defaults:
            out[field] = defaults[field](len(out))
        else:
            raise ParameterError(f"the {layer} layer has no field {field!r} ({hint}); add it", source)
    return out


__all__ = ["apply_field_aliases", "layer_source"]
