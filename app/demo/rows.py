"""The generated facilities, entrances and protection units as COPY text rows."""

from collections import namedtuple
from collections.abc import Iterator
from dataclasses import fields
from datetime import date

import numpy as np

from app.demo.generate import (
    _BASIS_ORDER,
    _CHEMICAL_ORDER,
    _CONVENTIONAL_ORDER,
    _FUNCTION_ORDER,
    _NUCLEAR_ORDER,
    _REFORM,
    _STANDALONE_TYPES,
    _STATUS_ORDER,
    _SUBTYPE_ORDER,
    _Demo,
)
from app.demo.names import (
    _CAR_PARK_WORK_WORDS,
    _data_source,
    _manager,
    _mobile,
    _owner,
    _person,
    _site_name,
    _street,
)
from app.demo.places import _KM_PER_DEGREE_LAT, _KM_PER_DEGREE_LON_AT_EQUATOR, CITIES, PROVINCE_CODE
from app.facilities.models import (
    ConstructionForm,
    EntranceKind,
    WartimeFunction,
    WartimeSubtype,
    default_visibility,
)

_ROWS_PER_COPY_BLOCK = 20_000

_WORK_WORDS: dict[WartimeSubtype | WartimeFunction, str] = {
    WartimeSubtype.class_1_shelter: "一等人员掩蔽工程",
    WartimeSubtype.class_2_shelter: "人防工程",
    WartimeSubtype.central_hospital: "人防中心医院",
    WartimeSubtype.emergency_hospital: "人防急救医院",
    WartimeSubtype.aid_station: "人防救护站",
    WartimeSubtype.team_shelter: "防空专业队队员掩蔽部",
    WartimeSubtype.equipment_shelter: "防空专业队装备掩蔽部",
    WartimeSubtype.power_station: "人防区域电站",
    WartimeSubtype.water_station: "人防区域供水站",
    WartimeSubtype.supply_depot: "人防物资库",
    WartimeSubtype.food_station: "人防食品站",
    WartimeSubtype.evacuation_trunk: "人防疏散干道",
    WartimeSubtype.connecting_passage: "人防连接通道",
    WartimeSubtype.alarm_station: "人防警报站",
    WartimeSubtype.other: "人防配套工程",
    WartimeFunction.command_post: "人防指挥工程",
}
_ENTRANCE_WORDS = {
    EntranceKind.vehicle: "号车行出入口",
    EntranceKind.pedestrian: "号人行出入口",
    EntranceKind.wartime: "号战时出入口",
}
_ENTRANCE_ORDER = tuple(EntranceKind)
# Ramps with a barrier-free path, stairs with a lift; wartime exits are never accessible.
_ACCESSIBLE_SHARE = {
    EntranceKind.vehicle: 0.20,
    EntranceKind.pedestrian: 0.45,
    EntranceKind.wartime: 0.0,
}

# Text format: tab-separated, \N for NULL. No generated word holds a tab, a newline or
# a backslash, so nothing needs escaping.

_NULL = "\\N"
# Hex EWKB of a point: little-endian, type Point with the SRID flag, SRID 4326.
_EWKB_POINT_4326 = bytes.fromhex("0101000020E6100000")

# The text of each category index; index -1 (the last entry) is NULL where one is allowed.
_FORM_TEXT = (ConstructionForm.attached.value, ConstructionForm.standalone.value)
_STANDALONE_TYPE_TEXT = (*(t.value for t in _STANDALONE_TYPES), _NULL)
_FUNCTION_TEXT = tuple(f.value for f in _FUNCTION_ORDER)
_VISIBILITY_TEXT = tuple(default_visibility(f).value for f in _FUNCTION_ORDER)
_SUBTYPE_TEXT = (*(s.value for s in _SUBTYPE_ORDER), _NULL)
_NUCLEAR_TEXT = (*(n.value for n in _NUCLEAR_ORDER), _NULL)
_CONVENTIONAL_TEXT = tuple(c.value for c in _CONVENTIONAL_ORDER)
_CHEMICAL_TEXT = tuple(c.value for c in _CHEMICAL_ORDER)
_BASIS_TEXT = tuple(b.value for b in _BASIS_ORDER)
_STATUS_TEXT = tuple(s.value for s in _STATUS_ORDER)


def _ewkb_points(lon: np.ndarray, lat: np.ndarray) -> list[str]:
    record = np.empty(len(lon), dtype=[("head", "V9"), ("x", "<f8"), ("y", "<f8")])
    record["head"] = np.void(_EWKB_POINT_4326)
    record["x"] = lon
    record["y"] = lat
    text = record.tobytes().hex()
    width = 2 * record.itemsize
    return [text[i : i + width] for i in range(0, len(text), width)]


# One facility's values, as _Demo has them (its derived columns are read apart).
_Row = namedtuple("_Row", [f.name for f in fields(_Demo)])


def _values(column: np.ndarray | list) -> list:
    return column.tolist() if isinstance(column, np.ndarray) else column


def _decimal_cents(cents: np.ndarray) -> list[str]:
    return [f"{value // 100}.{value % 100:02d}" for value in cents.tolist()]


def _blocks(start: int, stop: int) -> Iterator[tuple[int, int]]:
    for low in range(start, stop, _ROWS_PER_COPY_BLOCK):
        yield low, min(low + _ROWS_PER_COPY_BLOCK, stop)


def _facility_blocks(demo: _Demo, ids: np.ndarray) -> Iterator[str]:
    for low, high in _blocks(0, len(ids)):
        yield "".join("\t".join(row) + "\n" for row in _facility_rows(demo, ids, low, high))


def _facility_rows(demo: _Demo, ids: np.ndarray, low: int, high: int) -> Iterator[tuple[str, ...]]:
    part = slice(low, high)
    # Each facility as a row of Python values: read one by one, they are many times
    # faster than numpy's scalars.
    rows = map(
        _Row._make,
        zip(*(_values(getattr(demo, name)[part]) for name in _Row._fields), strict=True),
    )
    location = _ewkb_points(demo.lon[part], demo.lat[part])
    building = _decimal_cents(demo.building_cents[part])
    usable = _decimal_cents(demo.usable_cents[part])
    shelter = _decimal_cents(demo.shelter_cents[part])
    verified_at = np.datetime_as_string(
        demo.verified_day[part].astype("datetime64[D]")
        + demo.verified_second[part].astype("timedelta64[s]"),
        unit="s",
    ).tolist()
    reform_day = (_REFORM - date(1970, 1, 1)).days

    for i, (facility_id, f) in enumerate(zip(ids[part].tolist(), rows, strict=True)):
        city = CITIES[f.city]
        picks = f.words
        site = _site_name(city, f.district_name, f.site_kind, picks)
        work = _work_word(f.function, f.subtype, f.car_park, picks[5])
        # Hospitals and schools may carry the city, or the county, in their own names.
        if site.startswith(city.name):
            where = ""
        elif site.startswith(f.district_name):
            where = city.name
        else:
            where = city.name + f.district_name
        street = _street(city, picks[6])
        number = 1 + picks[7] % 2999 if picks[7] % 3 else 1 + picks[7] % 299
        office = "人民防空办公室" if f.verified_day < reform_day else "国防动员办公室"
        yield (
            str(facility_id),
            f"RF-{f.district_code or city.code}-{facility_id:07d}",
            f"{where}{site}{work}",
            f"{city.name}{f.district_name}{street}{number}号",
            PROVINCE_CODE,
            city.code,
            f.district_code or _NULL,
            location[i],
            _FORM_TEXT[f.standalone_type >= 0],
            _STANDALONE_TYPE_TEXT[f.standalone_type],
            _FUNCTION_TEXT[f.function],
            _SUBTYPE_TEXT[f.subtype],
            _NUCLEAR_TEXT[f.nuclear],
            _CONVENTIONAL_TEXT[f.conventional],
            _CHEMICAL_TEXT[f.chemical],
            building[i],
            usable[i],
            shelter[i],
            str(f.capacity),
            _BASIS_TEXT[f.basis],
            str(f.floors),
            str(f.year),
            _owner(city, f.district_name, site, f.site_kind, picks),
            _manager(city, f.site_kind, picks),
            city.name + office,
            _person(picks[3]),
            _mobile(picks[4]),
            _STATUS_TEXT[f.status],
            _VISIBILITY_TEXT[f.function],
            str(f.conversion_hours),
            str(f.parking_spaces) if f.car_park else _NULL,
            _data_source(int(verified_at[i][:4]), f.year, picks[2]),
            verified_at[i] + "+08:00",
            _person(picks[1] >> 32),
        )


def _work_word(function: int, subtype: int, car_park: bool, word: int) -> str:
    if car_park and _FUNCTION_ORDER[function] is WartimeFunction.personnel_shelter:
        return _CAR_PARK_WORK_WORDS[word % len(_CAR_PARK_WORK_WORDS)]
    if subtype >= 0:
        return _WORK_WORDS[_SUBTYPE_ORDER[subtype]]
    return _WORK_WORDS[_FUNCTION_ORDER[function]]


def _entrance_blocks(demo: _Demo, ids: np.ndarray, rng: np.random.Generator) -> Iterator[str]:
    counts = demo.entrances
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    car_park = demo.car_park[owner]
    # Car parks: a ramp first, then a stair, a wartime exit and a second ramp. Other
    # works: stairs and wartime exits in turn.
    vehicle, pedestrian, wartime = (
        _ENTRANCE_ORDER.index(k)
        for k in (EntranceKind.vehicle, EntranceKind.pedestrian, EntranceKind.wartime)
    )
    sequences = np.array(
        [[pedestrian, wartime, pedestrian, wartime], [vehicle, pedestrian, wartime, vehicle]]
    )
    kind = sequences[car_park.astype(int), position]
    accessible_share = np.array([_ACCESSIBLE_SHARE[k] for k in _ENTRANCE_ORDER])[kind]
    accessible = rng.random(total) < accessible_share
    distance_km = rng.uniform(0.05, 0.15, total)
    bearing = rng.uniform(0, 2 * np.pi, total)
    lat0 = demo.lat[owner]
    lat = np.round(lat0 + distance_km * np.cos(bearing) / _KM_PER_DEGREE_LAT, 7)
    lon = np.round(
        demo.lon[owner]
        + distance_km
        * np.sin(bearing)
        / (_KM_PER_DEGREE_LON_AT_EQUATOR * np.cos(np.radians(lat0))),
        7,
    )
    words = [_ENTRANCE_WORDS[k] for k in _ENTRANCE_ORDER]
    kind_values = [k.value for k in _ENTRANCE_ORDER]
    for low, high in _blocks(0, total):
        part = slice(low, high)
        rows = zip(
            ids[owner[part]].tolist(),
            kind[part].tolist(),
            accessible[part].tolist(),
            position[part].tolist(),
            _ewkb_points(lon[part], lat[part]),
            strict=True,
        )
        yield "".join(
            f"{facility_id}\t{kind_values[k]}\t{'t' if ok else 'f'}\t{n + 1}{words[k]}\t{point}\n"
            for facility_id, k, ok, n, point in rows
        )


def _protection_unit_blocks(
    demo: _Demo, ids: np.ndarray, rng: np.random.Generator
) -> Iterator[str]:
    counts = demo.units
    split = np.flatnonzero(counts)
    counts = counts[split]
    total = int(counts.sum())
    if not total:
        return
    owner = np.repeat(split, counts)
    first = np.cumsum(counts) - counts
    position = np.arange(total) - np.repeat(first, counts)
    # Shares of 0.8-1.2 each; each facility's area and capacity are split by them, and
    # its last unit takes the rounding remainder so the units add up exactly.
    share = rng.uniform(0.8, 1.2, total)
    share_sum = np.repeat(np.add.reduceat(share, first), counts)
    area = np.floor(demo.shelter_cents[owner] * share / share_sum).astype(np.int64)
    capacity = np.floor(demo.capacity[owner] * share / share_sum).astype(np.int64)
    last = first + counts - 1
    area[last] += demo.shelter_cents[split] - np.add.reduceat(area, first)
    capacity[last] += demo.capacity[split] - np.add.reduceat(capacity, first)
    for low, high in _blocks(0, total):
        part = slice(low, high)
        rows = zip(
            ids[owner[part]].tolist(),
            position[part].tolist(),
            _decimal_cents(area[part]),
            capacity[part].tolist(),
            strict=True,
        )
        yield "".join(
            f"{facility_id}\t第{n + 1}防护单元\t{shelter}\t{persons}\n"
            for facility_id, n, shelter, persons in rows
        )
