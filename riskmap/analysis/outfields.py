"""Result fields never collide with the input's fields.

Analyses copy the input's attributes into their result layers next to their own output fields
(``name``, ``county`` ...). An input with ``Name``, ``NAME``, ``COUNTY`` or ``fid`` then gives a
layer whose fields differ only in case, which a GeoPackage (SQLite, case-insensitive) refuses,
and a ``fid`` column that clashes with the GeoPackage feature id. :func:`separate_input_fields`
renames the input's conflicting columns with the prefix :data:`PREFIX` (``src_Name``) in place
and reports which, for the provenance notes.
"""
from __future__ import annotations

#: Prefix of a renamed input field.
PREFIX = "src_"

#: Names a GeoPackage writer keeps for itself (feature id and geometry column), compared lower-cased.
RESERVED = ("fid", "geom")


def input_columns(inputs: dict) -> set:
    """Every attribute name of the vector inputs (``{role: GeoDataFrame | list | path | None}``)."""
    names = set()
    for value in inputs.values():
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            columns = getattr(item, "columns", None)
            if columns is not None:
                names.update(str(c) for c in columns)
    return names


def conflict_renames(columns, declared=(), from_input=(), geometry: str | None = None) -> dict:
    """``{old: new}`` renames that leave no two of ``columns`` equal ignoring case.

    Within each group of names equal ignoring case one keeps its name: a declared output field
    first, then a field the analysis made (not in ``from_input``), then the first input field.
    The others, and any field named ``fid``/``geom`` in any case, become ``src_<name>``
    (``src2_<name>`` ... when that is taken too).

    Parameters
    ----------
    columns : sequence of str
        The layer's attribute names in order (geometry column excluded or named by ``geometry``).
    declared : iterable of str
        The analysis's declared output fields of this layer.
    from_input : iterable of str
        Names found in the analysis's input layers.
    geometry : str, optional
        The active geometry column (never renamed).

    Returns
    -------
    dict
        Old name → new name, only for the renamed columns.
    """
    declared, from_input = set(declared), set(from_input)
    columns = [str(c) for c in columns if c != geometry]
    groups: dict = {}
    for order, name in enumerate(columns):
        groups.setdefault(name.lower(), []).append((0 if name in declared else 1 if name not in from_input else 2,
                                                   order, name))
    renames = {}
    for key, members in groups.items():
        members.sort()
        losers = members if key in RESERVED else members[1:]
        renames.update({name: None for _, _, name in losers})
    if not renames:
        return {}
    taken = {c.lower() for c in columns if c not in renames}
    if geometry:
        taken.add(str(geometry).lower())
    taken.update(RESERVED)
    for old in [c for c in columns if c in renames]:
        n, new = 1, PREFIX + old
        while new.lower() in taken:
            n += 1
            new = f"src{n}_{old}"
        taken.add(new.lower())
        renames[old] = new
    return renames


def separate_input_fields(layers: dict, tables: dict, inputs: dict) -> dict:
    """Rename, in place, the input fields of result layers that collide with other fields.

    Parameters
    ----------
    layers : dict
        ``{name: GeoDataFrame}`` result layers; renamed in place (the analysis's native result,
        which shares these frames, sees the same names).
    tables : dict
        ``{name: Table}`` the analysis's declared tables (their columns are the output fields).
    inputs : dict
        The analysis's inputs.

    Returns
    -------
    dict
        ``{layer: {old: new}}`` for the layers with renamed fields.
    """
    from_input = input_columns(inputs)
    done = {}
    for name, frame in layers.items():
        geometry = frame.geometry.name if hasattr(frame, "geometry") and hasattr(frame.geometry, "name") else None
        table = tables.get(name)
        renames = conflict_renames(frame.columns, table.columns if table is not None else (), from_input, geometry)
        if renames:
            frame.columns = [renames.get(str(c), c) for c in frame.columns]  # in place: native shares it
            done[name] = renames
    return done


def rename_notes(renamed: dict) -> list[str]:
    """One note line per renamed layer, e.g. ``plants: 输入字段与结果字段重名，已改名 Name→src_Name``."""
    from riskmap.i18n import tr

    lines = []
    for layer, renames in renamed.items():
        pairs = ", ".join(f"{old}→{new}" for old, new in renames.items())
        lines.append(tr(f"{layer}：输入字段与结果字段重名（不区分大小写）或为保留名，已改名 {pairs}",
                        f"{layer}: input fields equal to result fields ignoring case, or reserved, renamed {pairs}"))
    return lines


__all__ = ["PREFIX", "conflict_renames", "input_columns", "rename_notes", "separate_input_fields"]
