"""Input field names: English fields found under their English or Chinese aliases."""
from __future__ import annotations

from riskmap.errors import ParameterError
from riskmap.i18n import tr


def layer_source(gdf) -> str | None:
    """The file a layer was read from (``gdf.attrs["riskmap"]["source"]``), or None."""
    return (getattr(gdf, "attrs", {}) or {}).get("riskmap", {}).get("source")


def apply_field_aliases(gdf, aliases: dict, defaults: dict | None = None, *, layer: str, hint: str,
                        source: str | None = None):
    """A copy of ``gdf`` holding every field of ``aliases``, copied from an alias column when needed.

    A field already present is kept. Otherwise the first alias found among the columns (compared
    stripped and lower-cased, so "DIAM_MM" or " 管径 " match, and as :func:`riskmap.tables.header_key`
    spells them, so "总库容（万m³）" matches 总库容) is copied to the field; failing that the field gets
    its default.

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
        A field without default is neither present nor found under an alias; the message names the
        columns the layer has.
    """
    from riskmap.tables import header_key

    defaults = defaults or {}
    out = gdf.copy()
    lowered = {header_key(c): c for c in reversed(list(out.columns))}
    lowered.update({str(c).strip().lower(): c for c in reversed(list(out.columns))})
    for field, names in aliases.items():
        if field in out.columns:
            continue
        found = next((lowered[k] for a in names for k in (a.strip().lower(), header_key(a)) if k in lowered), None)
        if found is not None:
            out[field] = out[found]
        elif field in defaults:
            out[field] = defaults[field](len(out))
        else:
            geometry = getattr(out, "_geometry_column_name", None)
            shown = ", ".join(str(c) for c in out.columns if c != geometry)
            raise ParameterError(tr(f"{layer} 图层没有字段 {field!r}（{hint}）；请添加（图层的列为：{shown}）",
                                    f"the {layer} layer has no field {field!r} ({hint}); add it "
                                    f"(the layer's columns are: {shown})"), source)
    return out


__all__ = ["apply_field_aliases", "layer_source"]
