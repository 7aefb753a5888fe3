"""The demo facilities as arrays, one entry per facility, drawn from one seeded generator."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from app.demo.names import _HILL, _HOSPITAL, _MALL, _OFFICE, _PUBLIC, _RESIDENTIAL, _SCHOOL
from app.demo.places import (
    _HEFEI_URBAN_DISTRICTS,
    _KM_PER_DEGREE_LAT,
    _KM_PER_DEGREE_LON_AT_EQUATOR,
    _MAX_SIGMAS,
    CITIES,
)
from app.facilities.models import (
    CapacityBasis,
    ChemicalClass,
    ConventionalLevel,
    FacilityStatus,
    NuclearLevel,
    StandaloneType,
    WartimeFunction,
    WartimeSubtype,
)

DEFAULT_SIZE = 6000
DEFAULT_SEED = 20231231

# Anhui, end of 2023: public parking spaces in civil air defense works, and those added
# by works completed in 2023. DEFAULT_SIZE facilities stand for the whole province.
PROVINCE_PARKING_SPACES = 710_000
PARKING_SPACES_COMPLETED_2023 = 55_300
PARKING_YEAR = 2023

# Each list is (value, weight); weights need not add up to one.
_FUNCTIONS_ATTACHED = (
    (WartimeFunction.personnel_shelter, 0.82),
    (WartimeFunction.professional_team, 0.07),
    (WartimeFunction.supporting, 0.06),
    (WartimeFunction.medical_aid, 0.04),
    (WartimeFunction.command_post, 0.01),
)
_FUNCTIONS_STANDALONE = (
    (WartimeFunction.personnel_shelter, 0.45),
    (WartimeFunction.supporting, 0.25),
    (WartimeFunction.professional_team, 0.12),
    (WartimeFunction.medical_aid, 0.08),
    (WartimeFunction.command_post, 0.10),
)
_SUBTYPES: dict[WartimeFunction, tuple[tuple[WartimeSubtype, float], ...]] = {
    WartimeFunction.personnel_shelter: (
        (WartimeSubtype.class_2_shelter, 0.85),
        (WartimeSubtype.class_1_shelter, 0.15),
    ),
    WartimeFunction.medical_aid: (
        (WartimeSubtype.central_hospital, 0.10),
        (WartimeSubtype.emergency_hospital, 0.35),
        (WartimeSubtype.aid_station, 0.55),
    ),
    WartimeFunction.professional_team: (
        (WartimeSubtype.team_shelter, 0.55),
        (WartimeSubtype.equipment_shelter, 0.45),
    ),
    WartimeFunction.supporting: (
        (WartimeSubtype.power_station, 0.20),
        (WartimeSubtype.water_station, 0.10),
        (WartimeSubtype.supply_depot, 0.25),
        (WartimeSubtype.food_station, 0.10),
        (WartimeSubtype.evacuation_trunk, 0.10),
        (WartimeSubtype.connecting_passage, 0.15),
        (WartimeSubtype.alarm_station, 0.05),
        (WartimeSubtype.other, 0.05),
    ),
}
_FUNCTION_ORDER = tuple(WartimeFunction)
_SUBTYPE_ORDER = tuple(WartimeSubtype)
_NUCLEAR = ((NuclearLevel.n5, 0.15), (NuclearLevel.n6, 0.60), (NuclearLevel.n6b, 0.25))
_NUCLEAR_COMMAND = ((NuclearLevel.n5, 0.70), (NuclearLevel.n6, 0.30))
_NUCLEAR_ORDER = tuple(NuclearLevel)
_CONVENTIONAL_ORDER = tuple(ConventionalLevel)
_CHEMICAL_ORDER = tuple(ChemicalClass)
_CHEMICAL: dict[WartimeFunction | WartimeSubtype, tuple[float, float, float, float]] = {
    # weights of A, B, C, D (甲乙丙丁)
    WartimeSubtype.class_2_shelter: (0.0, 0.0, 0.35, 0.65),
    WartimeSubtype.class_1_shelter: (0.0, 0.40, 0.60, 0.0),
    WartimeFunction.command_post: (0.70, 0.30, 0.0, 0.0),
    WartimeFunction.medical_aid: (0.0, 0.60, 0.40, 0.0),
    WartimeFunction.professional_team: (0.0, 0.30, 0.50, 0.20),
    WartimeFunction.supporting: (0.0, 0.0, 0.50, 0.50),
}
_STANDALONE_TYPES = tuple(StandaloneType)
_CONVERSION_HOURS = (24, 48, 72, 168)
_CONVERSION_WEIGHTS: dict[WartimeFunction, tuple[float, float, float, float]] = {
    WartimeFunction.command_post: (0.80, 0.20, 0.0, 0.0),
    WartimeFunction.medical_aid: (0.40, 0.50, 0.10, 0.0),
    WartimeFunction.professional_team: (0.20, 0.50, 0.30, 0.0),
    WartimeFunction.personnel_shelter: (0.10, 0.25, 0.50, 0.15),
    WartimeFunction.supporting: (0.20, 0.40, 0.30, 0.10),
}
_STATUS_ORDER = tuple(FacilityStatus)
_BASIS_ORDER = tuple(CapacityBasis)
_FIRST_YEAR, _LAST_YEAR = 1995, 2025
# Relative number of works completed each year, 1995-2025: growing with the cities up
# to 2023 (about 8% of the works in service, as 55,300 is of 710,000 spaces), and fewer
# since, many of them not finished yet.
_YEAR_WEIGHTS = np.interp(
    np.arange(_FIRST_YEAR, _LAST_YEAR + 1),
    [1995, 2005, 2012, 2018, 2021, 2022, 2023, 2024, 2025],
    [0.3, 1.0, 2.8, 4.0, 4.6, 5.0, 5.6, 5.0, 4.4],
)
# Data as of the end of 2025: verification dates fall before it.
_SNAPSHOT = date(2025, 12, 15)
# City civil air defense offices became national defense mobilization offices in the
# 2022-2023 reform; records verified before this date name the old office.
_REFORM = date(2023, 1, 1)
_SITE_KINDS_ATTACHED = (
    (_RESIDENTIAL, 0.66),
    (_MALL, 0.08),
    (_OFFICE, 0.13),
    (_SCHOOL, 0.08),
    (_HOSPITAL, 0.05),
)


@dataclass
class _Demo:
    """The generated facilities, one array entry per facility."""

    city: np.ndarray  # index into CITIES
    district_name: list[str]
    district_code: list[str | None]
    lon: np.ndarray
    lat: np.ndarray
    standalone_type: np.ndarray  # index into _STANDALONE_TYPES, -1 for attached
    function: np.ndarray  # index into _FUNCTION_ORDER
    subtype: np.ndarray  # index into _SUBTYPE_ORDER, -1 for none
    site_kind: np.ndarray
    nuclear: np.ndarray  # index into _NUCLEAR_ORDER, -1 for class B works
    conventional: np.ndarray
    chemical: np.ndarray
    building_cents: np.ndarray  # areas in hundredths of a m²
    usable_cents: np.ndarray
    shelter_cents: np.ndarray
    capacity: np.ndarray
    basis: np.ndarray
    floors: np.ndarray
    year: np.ndarray
    status: np.ndarray
    conversion_hours: np.ndarray
    car_park: np.ndarray
    parking_spaces: np.ndarray  # meaningful where car_park
    verified_day: np.ndarray  # days since 1970-01-01
    verified_second: np.ndarray  # second of the day, Beijing time
    words: np.ndarray  # (size, 8) random picks into the word lists
    entrances: np.ndarray  # entrances per facility
    units: np.ndarray  # protection units per facility, 0 for none


def _generate(size: int, seed: int) -> _Demo:
    rng = np.random.default_rng(seed)
    city = np.repeat(
        np.arange(len(CITIES)),
        _apportion(size, np.array([c.urban_population for c in CITIES], dtype=float)),
    )
    lon, lat, district_name, district_code = _locations(rng, city)

    standalone = rng.random(size) < 0.15
    hilly = np.array([c.hilly for c in CITIES])[city]
    standalone_type = np.where(
        hilly,
        _pick(rng, size, (0.55, 0.20, 0.25)),
        _pick(rng, size, (0.65, 0.05, 0.30)),
    )
    standalone_type = np.where(standalone, standalone_type, -1)

    function = np.where(
        standalone,
        _pick_values(rng, size, _FUNCTIONS_STANDALONE, _FUNCTION_ORDER),
        _pick_values(rng, size, _FUNCTIONS_ATTACHED, _FUNCTION_ORDER),
    )
    subtype = np.full(size, -1)
    for wartime_function, choices in _SUBTYPES.items():
        mask = function == _FUNCTION_ORDER.index(wartime_function)
        subtype[mask] = _pick_values(rng, size, choices, _SUBTYPE_ORDER)[mask]

    site_kind = _pick_values(rng, size, _SITE_KINDS_ATTACHED, range(_HILL + 1))
    medical = function == _FUNCTION_ORDER.index(WartimeFunction.medical_aid)
    command = function == _FUNCTION_ORDER.index(WartimeFunction.command_post)
    site_kind[medical] = _HOSPITAL
    site_kind[command] = _OFFICE
    site_kind[standalone] = _PUBLIC
    site_kind[standalone_type == _STANDALONE_TYPES.index(StandaloneType.tunnel)] = _HILL

    cut_and_cover = standalone_type == _STANDALONE_TYPES.index(StandaloneType.cut_and_cover)
    nuclear, conventional, chemical = _protection(rng, function, subtype)
    building, usable, shelter, capacity, basis = _areas(rng, standalone, site_kind, function)

    floors = np.where(
        standalone,
        np.where(cut_and_cover, _pick(rng, size, (0.7, 0.3)) + 1, 1),
        _pick(rng, size, (0.5, 0.4, 0.1)) + 1,
    )
    year = _FIRST_YEAR + _pick(rng, size, _YEAR_WEIGHTS)
    status = _status(rng, year)
    conversion_hours = np.zeros(size, dtype=np.int64)
    for wartime_function, weights in _CONVERSION_WEIGHTS.items():
        mask = function == _FUNCTION_ORDER.index(wartime_function)
        conversion_hours[mask] = np.array(_CONVERSION_HOURS)[_pick(rng, size, weights)][mask]

    parking_draw = rng.random(size)
    car_park = (~standalone & (parking_draw < 0.92)) | (cut_and_cover & (parking_draw < 0.35))
    # A garage gives 55-90% of a basement's usable area to parking (the rest is plant
    # rooms and storage), at 28-38 m² a space with ramps and aisles.
    raw_spaces = usable / 100 * rng.uniform(0.55, 0.90, size) / rng.uniform(28, 38, size)
    parking_spaces = _scale_parking(raw_spaces, car_park, status, year, size)

    # Verified at some time since the later of completion and 2019, in office hours.
    first_day = (
        (np.maximum(year, 2019) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    ).astype(np.int64)
    last_day = (_SNAPSHOT - date(1970, 1, 1)).days
    verified_day = first_day + (rng.random(size) * (last_day - first_day)).astype(np.int64)
    verified_second = rng.integers(8 * 3600 + 1800, 17 * 3600 + 1800, size)

    large = building >= 500_000
    entrances = 2 + np.where(
        large, _pick(rng, size, (0.25, 0.45, 0.30)), _pick(rng, size, (0.60, 0.30, 0.10))
    )
    # Large works are split into protection units of about 2,000 m² (GB 50038); the
    # registry holds the split for some of them.
    with_units = (shelter >= 400_000) & (rng.random(size) < 0.5)
    units = np.where(with_units, np.clip(np.ceil(shelter / 200_000), 2, 12), 0).astype(np.int64)

    return _Demo(
        city=city,
        district_name=district_name,
        district_code=district_code,
        lon=lon,
        lat=lat,
        standalone_type=standalone_type,
        function=function,
        subtype=subtype,
        site_kind=site_kind,
        nuclear=nuclear,
        conventional=conventional,
        chemical=chemical,
        building_cents=building,
        usable_cents=usable,
        shelter_cents=shelter,
        capacity=capacity,
        basis=basis,
        floors=floors,
        year=year,
        status=status,
        conversion_hours=conversion_hours,
        car_park=car_park,
        parking_spaces=parking_spaces,
        verified_day=verified_day,
        verified_second=verified_second,
        words=rng.integers(0, 1 << 62, (size, 8)),
        entrances=entrances,
        units=units,
    )


def _pick(rng: np.random.Generator, size: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Indices drawn with the given relative weights."""
    cumulative = np.cumsum(weights, dtype=float)
    return np.searchsorted(cumulative / cumulative[-1], rng.random(size), side="right")


def _pick_values(
    rng: np.random.Generator,
    size: int,
    choices: Sequence[tuple[object, float]],
    order: Sequence[object],
) -> np.ndarray:
    """Indices into `order` of values drawn from (value, weight) pairs."""
    positions = np.array([order.index(value) for value, _ in choices])
    return positions[_pick(rng, size, [weight for _, weight in choices])]


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that add up to total (largest remainders)."""
    quotas = total * weights / weights.sum()
    counts = np.floor(quotas).astype(np.int64)
    # A stable sort keeps ties in index order, so the result is reproducible.
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _locations(
    rng: np.random.Generator, city: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str], list[str | None]]:
    size = len(city)
    clusters = [cluster for c in CITIES for cluster in c.clusters]
    cluster_city = np.array([i for i, c in enumerate(CITIES) for _ in c.clusters])
    cluster = np.empty(size, dtype=np.int64)
    for index in range(len(CITIES)):
        members = np.flatnonzero(city == index)
        first = int(np.flatnonzero(cluster_city == index)[0])
        weights = [k.weight for k in CITIES[index].clusters]
        cluster[members] = first + _pick(rng, len(members), weights)

    # Gaussian offsets in km, redrawn until within _MAX_SIGMAS of the centre.
    offsets = rng.standard_normal((size, 2))
    while True:
        far = np.flatnonzero(np.hypot(offsets[:, 0], offsets[:, 1]) > _MAX_SIGMAS)
        if not len(far):
            break
        offsets[far] = rng.standard_normal((len(far), 2))
    sigma = np.array([k.sigma_km for k in clusters])[cluster]
    centre_lat = np.array([k.lat for k in clusters])[cluster]
    centre_lon = np.array([k.lon for k in clusters])[cluster]
    lat = centre_lat + offsets[:, 1] * sigma / _KM_PER_DEGREE_LAT
    lon = centre_lon + offsets[:, 0] * sigma / (
        _KM_PER_DEGREE_LON_AT_EQUATOR * np.cos(np.radians(centre_lat))
    )
    # 7 decimals of a degree is about a centimetre.
    lon, lat = np.round(lon, 7), np.round(lat, 7)

    names = [k.district_name for k in clusters]
    codes = [k.district_code for k in clusters]
    district_name = [names[k] for k in cluster.tolist()]
    district_code = [codes[k] for k in cluster.tolist()]
    # Hefei's urban clusters: the nearest urban district centre names the district.
    urban_hefei = np.array(
        [
            CITIES[i].code == "340100" and k.district_code is None
            for i, k in zip(cluster_city, clusters, strict=True)
        ]
    )
    hefei = np.flatnonzero(urban_hefei[cluster])
    centres = np.array([(x, y) for _, _, x, y in _HEFEI_URBAN_DISTRICTS])
    east = (lon[hefei, None] - centres[None, :, 0]) * math.cos(math.radians(31.8))
    north = lat[hefei, None] - centres[None, :, 1]
    nearest = np.argmin(east**2 + north**2, axis=1)
    for row, district in zip(hefei.tolist(), nearest.tolist(), strict=True):
        district_code[row] = _HEFEI_URBAN_DISTRICTS[district][0]
        district_name[row] = _HEFEI_URBAN_DISTRICTS[district][1]
    return lon, lat, district_name, district_code


def _protection(
    rng: np.random.Generator, function: np.ndarray, subtype: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = len(function)
    command = function == _FUNCTION_ORDER.index(WartimeFunction.command_post)
    central = subtype == _SUBTYPE_ORDER.index(WartimeSubtype.central_hospital)
    class_a = (rng.random(size) < 0.70) | command | central
    nuclear = np.where(
        command,
        _pick_values(rng, size, _NUCLEAR_COMMAND, _NUCLEAR_ORDER),
        _pick_values(rng, size, _NUCLEAR, _NUCLEAR_ORDER),
    )
    nuclear = np.where(class_a, nuclear, -1)
    conventional = np.where(command, 0, _pick(rng, size, (0.30, 0.70)))
    chemical = np.empty(size, dtype=np.int64)
    for key, weights in _CHEMICAL.items():
        if isinstance(key, WartimeSubtype):
            mask = subtype == _SUBTYPE_ORDER.index(key)
        else:
            mask = function == _FUNCTION_ORDER.index(key)
        chemical[mask] = _pick(rng, size, weights)[mask]
    return nuclear, conventional, chemical


def _areas(
    rng: np.random.Generator, standalone: np.ndarray, site_kind: np.ndarray, function: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Building, usable and shelter areas in hundredths of a m², capacity and its basis."""
    size = len(function)
    # Log-normal, median 6,500 m² for basements (malls and towers larger), 3,000 m² for
    # standalone works; most fall between 2,000 and 30,000 m².
    median = np.where(standalone, 3000.0, 6500.0)
    median *= np.array([1.0, 2.2, 1.6, 0.8, 1.4, 1.0, 1.0])[site_kind]
    building_m2 = np.clip(median * np.exp(0.65 * rng.standard_normal(size)), 400, 80_000)
    building = np.round(building_m2 * 100).astype(np.int64)
    usable = np.floor(building * rng.uniform(0.80, 0.95, size)).astype(np.int64)

    shelter_share = np.select(
        [
            function == _FUNCTION_ORDER.index(WartimeFunction.personnel_shelter),
            function == _FUNCTION_ORDER.index(WartimeFunction.supporting),
        ],
        [rng.uniform(0.6, 0.9, size), rng.uniform(0.3, 0.6, size)],
        rng.uniform(0.5, 0.8, size),
    )
    shelter = np.floor(usable * shelter_share).astype(np.int64)
    shelter_m2 = shelter / 100

    personnel = function == _FUNCTION_ORDER.index(WartimeFunction.personnel_shelter)
    basis = np.where(
        personnel,
        _pick(rng, size, (0.70, 0.20, 0.10, 0.0)),
        _pick(rng, size, (0.0, 0.75, 0.10, 0.15)),
    )
    # Personnel shelters hold about a person per m² (GB 50038): exactly one on the area
    # norm, 0.9-1.1 by design or survey. Other works hold their crews, 3-8 m² each.
    persons_per_m2 = np.where(
        personnel,
        np.where(
            basis == _BASIS_ORDER.index(CapacityBasis.area_norm), 1.0, rng.uniform(0.9, 1.1, size)
        ),
        1 / rng.uniform(3, 8, size),
    )
    capacity = np.minimum(np.floor(shelter_m2 * persons_per_m2), np.floor(shelter_m2 * 1.5))
    return building, usable, shelter, capacity.astype(np.int64), basis


def _status(rng: np.random.Generator, year: np.ndarray) -> np.ndarray:
    size = len(year)
    index = {status: i for i, status in enumerate(_STATUS_ORDER)}
    order = [
        index[s]
        for s in (
            FacilityStatus.in_service,
            FacilityStatus.under_construction,
            FacilityStatus.planned,
            FacilityStatus.suspended,
            FacilityStatus.decommissioned,
        )
    ]
    order_array = np.array(order)
    established = order_array[_pick(rng, size, (0.97, 0.0, 0.0, 0.025, 0.005))]
    recent = order_array[_pick(rng, size, (0.60, 0.30, 0.10, 0.0, 0.0))]
    newest = order_array[_pick(rng, size, (0.25, 0.45, 0.30, 0.0, 0.0))]
    status = np.select(
        [year <= PARKING_YEAR, year == PARKING_YEAR + 1], [established, recent], newest
    )
    # Only old works are ever taken out of service for good.
    decommissioned = (status == index[FacilityStatus.decommissioned]) & (year >= 2010)
    status[decommissioned] = index[FacilityStatus.suspended]
    return status


def _parking_targets(size: int) -> tuple[float, float]:
    """The parking spaces of in-service car parks at the end of PARKING_YEAR, in all and
    completed in PARKING_YEAR.

    Rule: the province's published totals belong to DEFAULT_SIZE facilities, and scale
    linearly with size, so the average car park keeps a realistic 160 or so spaces and the
    shares (of 2023, of each city) stay the same at any size.
    """
    scale = size / DEFAULT_SIZE
    return PROVINCE_PARKING_SPACES * scale, PARKING_SPACES_COMPLETED_2023 * scale


def _scale_parking(
    raw: np.ndarray, car_park: np.ndarray, status: np.ndarray, year: np.ndarray, size: int
) -> np.ndarray:
    """Spaces per facility from raw estimates, rescaled so that the totals hit the targets.

    The targets are the end of PARKING_YEAR's: the in-service car parks completed in
    PARKING_YEAR and those completed before are scaled separately, each to its own target,
    and rounded by largest remainders so the sums come out exact. The works not counted
    (not in service, or completed after PARKING_YEAR) take the factor of their year group
    and plain rounding.
    """
    in_service = status == _STATUS_ORDER.index(FacilityStatus.in_service)
    target_all, target_year = _parking_targets(size)
    of_year = year == PARKING_YEAR
    spaces = np.zeros(len(raw), dtype=np.int64)
    for group, target in ((of_year, target_year), (~of_year, target_all - target_year)):
        counted = car_park & in_service & group & (year <= PARKING_YEAR)
        raw_sum = raw[counted].sum()
        factor = target / raw_sum if raw_sum > 0 else 1.0
        uncounted = car_park & group & ~counted
        spaces[uncounted] = np.maximum(np.round(raw[uncounted] * factor), 1)
        if counted.any():
            spaces[counted] = _apportion(round(target), raw[counted])
    return spaces
