"""Where the demo facilities lie: the cities of Anhui, their built-up clusters and streets.

The tables are data (data/places.json); this module gives them their types."""

import json
from dataclasses import dataclass
from importlib import resources


def _data() -> dict:
    return json.loads(resources.files(__package__).joinpath("data/places.json").read_text("utf-8"))


PROVINCE_CODE = "340000"
_KM_PER_DEGREE_LAT = 110.574
_KM_PER_DEGREE_LON_AT_EQUATOR = 111.320


@dataclass(frozen=True)
class _Cluster:
    """A built-up area: facilities fall around it in a Gaussian of sigma_km."""

    lon: float
    lat: float
    sigma_km: float
    weight: float
    # The division the cluster's facilities belong to. Hefei's urban clusters leave it
    # empty: their points take the nearest of the four urban districts instead.
    district_name: str = ""
    district_code: str | None = None


@dataclass(frozen=True)
class _City:
    code: str
    name: str
    # Permanent urban residents at the end of 2023, in 10,000s (approximate): facility
    # counts are proportional to it.
    urban_population: int
    clusters: tuple[_Cluster, ...]
    streets: tuple[str, ...]
    # Hill country: tunnel works (坑道式) are dug into hills, rare on the plains.
    hilly: bool = False

    @property
    def short_name(self) -> str:
        return self.name.removesuffix("市")


# Centres are WGS 84 and kept a few sigma inside the city (and so the province): a
# cluster's points are drawn at most _MAX_SIGMAS from its centre.
_MAX_SIGMAS = 2.5


def _cluster(fields: dict) -> _Cluster:
    return _Cluster(**{key: value for key, value in fields.items() if key != "note"})


_PLACES = _data()
_HEFEI_URBAN_DISTRICTS = tuple(  # code, name, centre
    (d["code"], d["name"], d["lon"], d["lat"]) for d in _PLACES["hefei_urban_districts"]
)
CITIES: tuple[_City, ...] = tuple(
    _City(
        code=city["code"],
        name=city["name"],
        urban_population=city["urban_population"],
        clusters=tuple(_cluster(cluster) for cluster in city["clusters"]),
        streets=tuple(city["streets"]),
        hilly=city["hilly"],
    )
    for city in _PLACES["cities"]
)
_COMMON_STREETS = tuple(_PLACES["common_streets"])
