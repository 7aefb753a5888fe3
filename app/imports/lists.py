"""Entrance and protection unit lists of a batch, checked by Arrow all at once. A list
passes only when the API's models would take it as it is; any other goes one by one to
those models (imports.batches), which name what is wrong."""

import json
from functools import cache
from typing import Any

import numpy as np

from app.core.geo import CHINA_BOUNDS, in_china
from app.facilities.models import EntranceKind
from app.facilities.rules import (
    AREA_MAX,
    MAX_ENTRANCES,
    MAX_PROTECTION_UNITS,
    PERSONS_MAX,
    SHORT_TEXT_MAX,
)
from app.imports import fields

# What str.strip() removes (str.isspace), as an RE2 class for Arrow's regex functions.
_SPACE = (
    r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)


@cache
def _nested_json(field_name: str) -> tuple[Any, Any]:
    """How Arrow reads a batch of entrance or protection unit lists, and the table of
    their items that the checks below make (cell index, seq, values)."""
    import pyarrow as pa
    import pyarrow.json as pajson

    if field_name == fields.ENTRANCES:
        point = pa.struct([("type", pa.string()), ("coordinates", pa.list_(pa.float64()))])
        named = [("kind", pa.string()), ("accessible", pa.bool_()), ("name", pa.string())]
        item = pa.struct([*named, ("location", point)])
        values = [*named, ("lon", pa.float64()), ("lat", pa.float64())]
    else:
        values = [
            ("name", pa.string()),
            ("shelter_area", pa.float64()),
            ("capacity_persons", pa.int64()),
        ]
        item = pa.struct(values)
    options = pajson.ParseOptions(
        explicit_schema=pa.schema([("e", pa.list_(item))]), unexpected_field_behavior="error"
    )
    return options, pa.schema([("index", pa.int64()), ("seq", pa.int32()), *values])


def _arrow_lists(texts: Any, field_name: str) -> tuple[np.ndarray, Any]:
    """The JSON lists of a batch's cells, read by Arrow's JSON reader all at once: which
    cells are blank, and the lists (None when the reader refuses the batch: a value of
    another type, an unknown key, a cell that closed its list and began another)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pajson

    options, _ = _nested_json(field_name)
    size = len(texts)
    blank = pc.fill_null(pc.match_substring_regex(texts, f"^{_SPACE}*$"), True).to_numpy(
        zero_copy_only=False
    )
    # JSON has raw line breaks only between tokens, where a space does as well: the
    # reader takes one object per line.
    one_line = pc.replace_substring_regex(texts, r"[\r\n]", " ")
    lines = pc.binary_join_element_wise('{"e":', pc.if_else(blank, "null", one_line), "}", "")
    document = pc.binary_join(
        pa.ListArray.from_arrays(pa.array([0, size], pa.int32()), lines), "\n"
    )
    try:
        read = pajson.read_json(pa.BufferReader(document[0].as_buffer()), parse_options=options)
    except pa.ArrowInvalid:
        return blank, None
    if read.num_rows != size:
        return blank, None
    return blank, read.column("e").combine_chunks()


def appended(table: Any, rows: list[tuple]) -> Any:
    """`table` with `rows` (tuples in its columns' order) after its own."""
    import pyarrow as pa

    if not rows:
        return table
    columns = [list(column) for column in zip(*rows, strict=True)]
    return pa.concat_tables([table, pa.table(columns, schema=table.schema)]).combine_chunks()


def _true(condition: Any) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.fill_null(condition, False).to_numpy(zero_copy_only=False)


def _checked_items(
    lists: Any,
    blank: np.ndarray,
    good: np.ndarray,
    columns: list[Any],
    field_name: str,
    max_items: int,
) -> tuple[np.ndarray, Any]:
    """Which cells hold lists (of at most `max_items`) whose items are all `good`, and
    those items as a table (cell index, seq, *columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    _, schema = _nested_json(field_name)
    size = len(blank)
    parent = pc.list_parent_indices(lists).to_numpy()
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()
    checked = (
        ~blank
        & _true(lists.is_valid())
        & (np.bincount(parent[~good], minlength=size) == 0)
        & (lengths <= max_items)
    )
    keep = checked[parent]
    seq = np.arange(len(parent)) - (np.cumsum(lengths) - lengths)[parent]
    table = pa.table(
        [parent[keep], seq[keep].astype(np.int32)]
        + [
            column.filter(keep) if isinstance(column, pa.Array) else column[keep]
            for column in columns
        ],
        schema=schema,
    )
    return checked, table


def arrow_entrances(texts: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """The entrance lists of a batch, parsed by Arrow's JSON reader all at once: which cells
    are blank, which hold lists that pass the checks of `plain_entrances`, and those
    lists' entrances as a table (cell index, seq, kind, accessible, name, lon, lat). A
    batch the reader refuses (a value of another type, an unknown key) has none checked:
    its lists go one by one through `plain_entrances` and the model."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank, lists = _arrow_lists(texts, fields.ENTRANCES)
    if lists is None:
        return _none_checked(blank, fields.ENTRANCES)
    entrance = pc.list_flatten(lists)
    kind, accessible, name, location = (pc.struct_field(entrance, [i]) for i in range(4))
    position = pc.struct_field(location, [1])
    pair = _true(pc.equal(pc.list_value_length(position), 2))
    position = pc.if_else(pair, position, pa.scalar(None, position.type))
    lon, lat = (pc.list_element(position, i).to_numpy(zero_copy_only=False) for i in (0, 1))
    good = (
        _true(entrance.is_valid())
        & _true(pc.is_in(kind, value_set=pa.array(sorted(_KINDS))))
        & _true(accessible.is_valid())
        & (~_true(name.is_valid()) | _good_names(name))
        & _true(pc.equal(pc.struct_field(location, [0]), "Point"))
        & pair
        & in_china_all(lon, lat)
    )
    checked, table = _checked_items(
        lists,
        blank,
        good,
        [kind, accessible, name, lon, lat],
        fields.ENTRANCES,
        max_items=MAX_ENTRANCES,
    )
    return blank, checked, table


def arrow_units(texts: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """As arrow_entrances, for protection unit lists: a list is checked when each unit
    has a name of 1 to SHORT_TEXT_MAX characters without spaces around it, an area and persons in
    the API's ranges, and the names differ."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank, lists = _arrow_lists(texts, fields.UNITS)
    if lists is None:
        return _none_checked(blank, fields.UNITS)
    unit = pc.list_flatten(lists)
    name, area, persons = (pc.struct_field(unit, [i]) for i in range(3))
    parent = pc.list_parent_indices(lists).to_numpy()
    good = (
        _true(unit.is_valid())
        & _good_names(name)
        & _true(pc.and_(pc.greater_equal(area, 0), pc.less_equal(area, AREA_MAX)))
        & _true(pc.and_(pc.greater_equal(persons, 0), pc.less_equal(persons, PERSONS_MAX)))
    )
    # A name twice in one list: the model's path names it.
    if len(parent):
        pairs = pa.table({"p": parent, "n": name}).group_by(["p", "n"]).aggregate([("p", "count")])
        repeated = pairs.filter(pc.greater(pairs["p_count"], 1))["p"].to_numpy()
        good &= ~np.isin(parent, repeated)
    checked, table = _checked_items(
        lists, blank, good, [name, area, persons], fields.UNITS, max_items=MAX_PROTECTION_UNITS
    )
    return blank, checked, table


def _none_checked(blank: np.ndarray, field_name: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """A batch Arrow's reader refused: every list goes one by one to the checks in Python."""
    return blank, np.zeros(len(blank), dtype=bool), _nested_json(field_name)[1].empty_table()


def _good_names(names: Any) -> np.ndarray:
    """Names of 1 to SHORT_TEXT_MAX characters without spaces around them (as the API's
    models)."""
    import pyarrow.compute as pc

    length = pc.utf8_length(names)
    return _true(
        pc.and_(pc.greater_equal(length, 1), pc.less_equal(length, SHORT_TEXT_MAX))
    ) & ~_true(pc.match_substring_regex(names, f"^{_SPACE}|{_SPACE}$"))


_ENTRANCE_KEYS = frozenset({"kind", "accessible", "name", "location"})


_KINDS = frozenset(kind.value for kind in EntranceKind)


def plain_entrances(cell: str) -> list[tuple] | None:
    """A well-formed entrances list as (kind, accessible, name, lon, lat), or None for
    anything the API model has to judge."""
    try:
        data = json.loads(cell)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list) or len(data) > MAX_ENTRANCES:
        return None
    out = []
    for entrance in data:
        if not isinstance(entrance, dict) or not entrance.keys() <= _ENTRANCE_KEYS:
            return None
        kind, accessible, name = (
            entrance.get("kind"),
            entrance.get("accessible", False),
            entrance.get("name"),
        )
        location = entrance.get("location")
        if kind not in _KINDS or type(accessible) is not bool:
            return None
        if name is not None:
            if type(name) is not str or not 1 <= len(name.strip()) <= SHORT_TEXT_MAX:
                return None
            name = name.strip()
        if type(location) is not dict or location.keys() != {"type", "coordinates"}:
            return None
        position = location["coordinates"]
        if location["type"] != "Point" or type(position) is not list or len(position) != 2:
            return None
        lon, lat = position
        if type(lon) not in (int, float) or type(lat) not in (int, float):
            return None
        if not in_china(lon, lat):
            return None
        out.append((kind, accessible, name, float(lon), float(lat)))
    return out


def in_china_all(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """`in_china` for arrays; NaN (no geometry) is outside."""
    west, south, east, north = CHINA_BOUNDS
    return (lons >= west) & (lons <= east) & (lats >= south) & (lats <= north)
