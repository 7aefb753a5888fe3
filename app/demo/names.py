"""The words of the demo data (data/words.json) and the names, owners and people made of them."""

import json
from importlib import resources

from app.demo.places import _COMMON_STREETS, _City

_WORDS: dict[str, list[str]] = json.loads(
    resources.files(__package__).joinpath("data/words.json").read_text("utf-8")
)
_BRANDS = tuple(_WORDS["brands"])
_SCENIC = tuple(_WORDS["scenic"])
_RESIDENTIAL_SUFFIXES = tuple(_WORDS["residential_suffixes"])
_PHASES = tuple(_WORDS["phases"])
_MALL_BRANDS = tuple(_WORDS["mall_brands"])
_OFFICE_SUFFIXES = tuple(_WORDS["office_suffixes"])
_HOSPITAL_BUILDINGS = tuple(_WORDS["hospital_buildings"])
_CHINESE_NUMERALS = tuple(_WORDS["chinese_numerals"])
_PLACE_SUFFIXES = tuple(_WORDS["place_suffixes"])
_HILLS = tuple(_WORDS["hills"])
_CAR_PARK_WORK_WORDS = tuple(_WORDS["car_park_work_words"])
_PROPERTY_MANAGERS = tuple(_WORDS["property_managers"])
_SURNAMES = tuple(_WORDS["surnames"])
_GIVEN_NAMES = tuple(_WORDS["given_names"])
_MOBILE_PREFIXES = tuple(_WORDS["mobile_prefixes"])
# Site kinds: the civil building over an attached basement, or where a standalone work
# lies: a hill for a tunnel work, a park, square or street for the others.
_RESIDENTIAL, _MALL, _OFFICE, _SCHOOL, _HOSPITAL, _PUBLIC, _HILL = range(7)


def _site_name(city: _City, district_name: str, site_kind: int, words: list[int]) -> str:
    a, b, c = words[0], words[1], words[2]
    if site_kind == _RESIDENTIAL:
        brand = _BRANDS[a % len(_BRANDS)] if c % 3 == 0 else ""
        return (
            brand
            + _SCENIC[b % len(_SCENIC)]
            + _RESIDENTIAL_SUFFIXES[(c >> 8) % len(_RESIDENTIAL_SUFFIXES)]
            + _PHASES[(a >> 16) % len(_PHASES)]
        )
    if site_kind == _MALL:
        place = _SCENIC[b % len(_SCENIC)] if c % 2 else district_name.removesuffix("区")
        return place + _MALL_BRANDS[a % len(_MALL_BRANDS)]
    if site_kind == _OFFICE:
        prefix = _BRANDS[a % len(_BRANDS)] if c % 2 else _SCENIC[b % len(_SCENIC)]
        return prefix + _OFFICE_SUFFIXES[(c >> 8) % len(_OFFICE_SUFFIXES)]
    if site_kind == _SCHOOL:
        numeral = _CHINESE_NUMERALS[a % len(_CHINESE_NUMERALS)]
        return (
            f"{city.name}第{numeral}中学",
            f"{district_name.removesuffix('区')}实验小学",
            f"{_street(city, b)}小学",
            f"{_SCENIC[b % len(_SCENIC)]}学校",
        )[c % 4]
    if site_kind == _HOSPITAL:
        building = _HOSPITAL_BUILDINGS[(c >> 8) % len(_HOSPITAL_BUILDINGS)]
        return _hospital(city, district_name, words) + building
    if site_kind == _HILL:
        return _HILLS[b % len(_HILLS)]
    place = _PLACE_SUFFIXES[(c >> 8) % len(_PLACE_SUFFIXES)]
    if place:
        return _SCENIC[b % len(_SCENIC)] + place
    return _street(city, b)


def _hospital(city: _City, district_name: str, words: list[int]) -> str:
    numeral = _CHINESE_NUMERALS[words[0] % 5]
    return (
        f"{city.name}第{numeral}人民医院",
        f"{city.name}中医院",
        f"{district_name}人民医院",
        f"{city.name}妇幼保健院",
    )[words[2] % 4]


def _street(city: _City, word: int) -> str:
    if word % 4:
        return city.streets[word % len(city.streets)]
    return _COMMON_STREETS[word % len(_COMMON_STREETS)]


def _person(word: int) -> str:
    surname = _SURNAMES[word % len(_SURNAMES)]
    return surname + _GIVEN_NAMES[(word >> 12) % len(_GIVEN_NAMES)]


def _mobile(word: int) -> str:
    return f"{_MOBILE_PREFIXES[(word >> 40) % len(_MOBILE_PREFIXES)]}{word % 100_000_000:08d}"


def _owner(city: _City, district_name: str, site: str, site_kind: int, words: list[int]) -> str:
    if site_kind == _RESIDENTIAL:
        return f"{city.short_name}{_BRANDS[words[0] % len(_BRANDS)]}置业有限公司"
    if site_kind == _MALL:
        return f"{city.short_name}{site}商业管理有限公司"
    if site_kind == _OFFICE:
        return f"{site}{('投资', '实业', '置业')[(words[2] >> 16) % 3]}有限公司"
    if site_kind == _SCHOOL:
        return site
    if site_kind == _HOSPITAL:
        return _hospital(city, district_name, words)
    return f"{city.name}人防工程建设管理中心"


def _manager(city: _City, site_kind: int, words: list[int]) -> str:
    if site_kind in (_SCHOOL, _HOSPITAL):
        return ("后勤服务中心", "总务处", "后勤保障处")[(words[3] >> 20) % 3]
    if site_kind in (_PUBLIC, _HILL):
        return f"{city.name}人防资产运营管理有限公司"
    return _PROPERTY_MANAGERS[(words[3] >> 20) % len(_PROPERTY_MANAGERS)]


def _data_source(verified_year: int, completion_year: int, word: int) -> str:
    if verified_year == 2023 and word % 10 < 7:
        return "2023年人防工程普查"
    if completion_year >= verified_year - 1 and (word >> 8) % 2:
        return "人防工程竣工验收备案"
    return f"{verified_year}年人防工程年度复核"
