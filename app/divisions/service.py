import re
from dataclasses import dataclass, field
from datetime import date

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.divisions import repository, rules
from app.divisions.models import Division, DivisionLevel

CODE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True)
class Placement:
    province_code: str
    city_code: str | None
    district_code: str | None


def resolve_divisions(
    session: Session, *, admin_code: str | None, point_ewkt: str, on: date
) -> Placement:
    """Resolve a facility's divisions from its given code and, where boundaries are loaded,
    its location: a finer division is derived, and a contradiction is rejected."""
    found = repository.containing(session, point_ewkt, on=on)
    # Ancestors come from parent links, so a district boundary alone also fixes its city.
    deepest = next((found[level] for level in reversed(DivisionLevel) if level in found), None)
    found_chain = repository.chain(session, deepest.code) if deepest else {}
    if admin_code is None:
        if not found_chain:
            raise InvalidInput.on("admin_code", rules.NOT_CONTAINED())
        levels = found_chain
    else:
        division = repository.get_valid(session, admin_code, on=on)
        if division is None:
            known = repository.get(session, admin_code)
            reason = rules.NO_LONGER_VALID if known else rules.UNKNOWN_CODE
            raise InvalidInput.on("admin_code", reason(admin_code=admin_code))
        given_chain = repository.chain(session, admin_code)
        inside = found.get(division.level)
        if division.boundary is not None and inside != division:
            where = rules.OUTSIDE_WHERE(name=inside.name, code=inside.code) if inside else ""
            raise InvalidInput.on(
                "location", rules.OUTSIDE(name=division.name, code=division.code, where=where)
            )
        for level, inside in found_chain.items():
            given = given_chain.get(level)
            if given is not None and given.code != inside.code:
                raise InvalidInput.on(
                    "location",
                    rules.CONTRADICTS(name=inside.name, code=inside.code, admin_code=admin_code),
                )
        levels = {**found_chain, **given_chain}

    def code(level: DivisionLevel) -> str | None:
        return levels[level].code if level in levels else None

    province = code(DivisionLevel.province)
    if province is None:
        raise InvalidInput.on("admin_code", rules.NO_PROVINCE())
    return Placement(province, code(DivisionLevel.city), code(DivisionLevel.district))


@dataclass(frozen=True)
class BoundaryFeature:
    code: str
    name: str | None
    geometry: BaseGeometry  # WGS 84


@dataclass
class BoundaryLoad:
    updated: int = 0
    added: int = 0
    skipped: list[str] = field(default_factory=list)


def known_level(session: Session, admin_code: str) -> DivisionLevel:
    """The level of a division code a caller sent as `admin_code`; unknown codes are theirs."""
    level = repository.level_of(session, admin_code)
    if level is None:
        raise InvalidInput.on("admin_code", f"{admin_code} is not a known GB/T 2260 division code")
    return level


def known_level_or_none(session: Session, admin_code: str | None) -> DivisionLevel | None:
    """known_level of an optional `admin_code`: None, everywhere, when none is sent."""
    return known_level(session, admin_code) if admin_code else None


def level_of_code(code: str) -> DivisionLevel:
    """GB/T 2260 codes nest by digit pairs: XX0000 a province, XXYY00 a city."""
    if code.endswith("0000"):
        return DivisionLevel.province
    if code.endswith("00"):
        return DivisionLevel.city
    return DivisionLevel.district


def parent_of_code(code: str) -> str | None:
    level = level_of_code(code)
    if level == DivisionLevel.province:
        return None
    return code[:2] + "0000" if level == DivisionLevel.city else code[:4] + "00"


def load_boundaries(session: Session, features: list[BoundaryFeature], *, on: date) -> BoundaryLoad:
    """Set boundaries of known divisions; add unknown ones whose name and parent are known."""
    result = BoundaryLoad()
    for feature in sorted(
        features, key=lambda f: (list(DivisionLevel).index(level_of_code(f.code)), f.code)
    ):
        if not CODE.fullmatch(feature.code):
            result.skipped.append(f"{feature.code!r}: not a six-digit GB/T 2260 code")
            continue
        division = repository.get(session, feature.code)
        if division is None:
            parent = parent_of_code(feature.code)
            if not feature.name:
                result.skipped.append(f"{feature.code}: unknown code and no name to add it with")
                continue
            if parent is not None and repository.get(session, parent) is None:
                result.skipped.append(f"{feature.code}: its parent {parent} is unknown")
                continue
            division = Division(
                code=feature.code,
                name=feature.name,
                level=level_of_code(feature.code),
                parent_code=parent,
                valid_from=on,
            )
            session.add(division)
            result.added += 1
        else:
            result.updated += 1
        division.boundary = repository.multipolygon(feature.geometry.wkt)
        session.flush()
    return result
