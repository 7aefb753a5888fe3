"""Statistics by division and completion year: the API's GET /v1/stats and `rf stats`."""

import csv
import io
import json
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.errors import Forbidden
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import states
from app.core.errors import InvalidInput
from app.core.formats import spreadsheet_text
from app.divisions import repository as divisions
from app.divisions.service import known_level_or_none
from app.facilities.models import FacilityStatus, WartimeFunction
from app.stats import repository, survey
from app.stats.repository import StatsFilter
from app.uses.models import UseType


class Dimension(StrEnum):
    province = "province"
    city = "city"
    district = "district"
    year = "year"
    decade = "decade"
    wartime_function = "wartime_function"
    construction_form = "construction_form"
    protection_class = "protection_class"


DIVISION_LEVELS = (Dimension.province, Dimension.city, Dimension.district)
# Two at once: a table a reader can take in, and a bound on the groups of one answer.
MAX_DIMENSIONS = 2


FIGURES = (
    "facilities",
    "building_area_m2",
    "shelter_area_m2",
    "capacity_persons",
    "parking_spaces",
    "ev_spaces",
    "charging_piles",
    "signage_standing",
    "signage_complete",
    "signage_complete_share",
    "open_reports",
)
# Group keys besides division and year, and figures of some answers only (as_of,
# population_layer): columns when the answer has them.
GROUP_COLUMNS = ("completion_decade", "wartime_function", "construction_form", "protection_class")
OPTIONAL_FIGURES = (
    "late_registrations",
    "residents",
    "shelter_area_per_resident_m2",
    "capacity_per_resident",
)
# Findings are maintenance records, a restricted resource: only callers who may read
# the findings themselves see how many are open.
RESTRICTED_FIGURES = ("open_maintenance_findings",)


def make_filter(
    session: Session, *, principal: Principal, admin_code: str | None = None, **fields: Any
) -> StatsFilter:
    """The filters as a caller sends them (StatsFilter's fields), the division's level
    looked up."""
    return StatsFilter(
        principal=principal,
        level=known_level_or_none(session, admin_code),
        admin_code=admin_code,
        **fields,
    )


def _grouping(by: list[Dimension], *, restricted: bool) -> list[str]:
    dimensions = list(dict.fromkeys(by))
    if sum(d in DIVISION_LEVELS for d in dimensions) > 1:
        raise InvalidInput.on("by", "at most one of province, city and district")
    if len(dimensions) > MAX_DIMENSIONS:
        raise InvalidInput.on("by", f"at most {MAX_DIMENSIONS} dimensions at once")
    if Dimension.year in dimensions and Dimension.decade in dimensions:
        raise InvalidInput.on("by", "year or decade, not both")
    if Dimension.protection_class in dimensions and not restricted:
        raise Forbidden(
            "protection classes are restricted: grouping by them needs an admin or gis key, "
            "or a manager's for a division in its scope"
        )
    return [d.value for d in dimensions]


def reads_restricted(session: Session, principal: Principal, where: StatsFilter) -> bool:
    """Admin and gis read restricted figures everywhere; a manager only for a division
    inside its scope."""
    if principal.role in (Role.admin, Role.gis):
        return True
    if principal.role != Role.manager or where.admin_code is None:
        return False
    chain = divisions.chain(session, where.admin_code)
    return any(d.code in principal.admin_codes for d in chain.values())


def get_figures(
    session: Session,
    where: StatsFilter,
    *,
    by: list[Dimension],
    restricted: bool,
    as_of: date | None = None,
    layer_id: int | None = None,
) -> str:
    """The JSON document {by, groups, total}."""
    dimensions = _grouping(by, restricted=restricted)
    states.check_as_of(as_of)
    if layer_id is not None and not repository.layer_exists(session, layer_id):
        raise InvalidInput.on("population_layer", f"population layer {layer_id} does not exist")
    return repository.figures(
        session,
        where,
        dimensions=dimensions,
        restricted=restricted,
        as_of=as_of,
        layer_id=layer_id,
    )


def figures_csv(document: str, *, restricted: bool) -> str:
    """The groups of a figures document as CSV, one column per figure and use."""
    parsed = json.loads(document)
    total = parsed["total"]
    columns = [
        "admin_code",
        "admin_name",
        "completion_year",
        *(name for name in GROUP_COLUMNS if name in total),
        *FIGURES,
        *(f"facilities_{use.value}" for use in UseType),
        *(RESTRICTED_FIGURES if restricted and RESTRICTED_FIGURES[0] in total else ()),
        *(name for name in OPTIONAL_FIGURES if name in total),
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for group in parsed["groups"]:
        uses = {f"facilities_{use}": n for use, n in group["facilities_by_use"].items()}
        writer.writerow({k: spreadsheet_text(v) for k, v in {**group, **uses}.items()})
    return buffer.getvalue()


def get_survey(session: Session, where: StatsFilter, *, as_of: date | None = None) -> bytes:
    states.check_as_of(as_of)
    return survey.workbook(session, where, as_of=as_of)


def get_parking_by_year(session: Session, where: StatsFilter, *, as_of: date | None = None) -> str:
    states.check_as_of(as_of)
    return repository.parking_by_year(session, where, as_of=as_of)


def parking_by_year_csv(document: str) -> str:
    buffer = io.StringIO()
    rows = json.loads(document)
    columns = ["year", "car_parks", "new_spaces", "cumulative_spaces"]
    if rows and "late_registrations" in rows[0]:
        columns.append("late_registrations")
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# `rf stats` runs with the database's own rights: it counts every work.
REGISTRY = Principal(role=Role.admin, name="rf stats")


def summary(session: Session) -> dict[str, list[tuple]]:
    """For `rf stats`, from the same figures as GET /v1/stats: live facilities by city
    (in all, in service, shelter persons, parking spaces), by status and by function."""

    def figures(by: list[Dimension], **filters: Any) -> dict[str, Any]:
        where = make_filter(session, principal=REGISTRY, **filters)
        return json.loads(get_figures(session, where, by=by, restricted=False))

    cities = figures([Dimension.city])
    serving = figures([Dimension.city], status=FacilityStatus.in_service)
    in_service = {group["admin_code"]: group["facilities"] for group in serving["groups"]}
    rows = [
        (
            group["admin_name"] or "(no city)",
            group["admin_code"] or "",
            group["facilities"],
            in_service.get(group["admin_code"], 0),
            group["capacity_persons"],
            group["parking_spaces"],
        )
        for group in cities["groups"]
    ]
    total = cities["total"]
    rows.append(
        (
            "total",
            "",
            total["facilities"],
            serving["total"]["facilities"],
            total["capacity_persons"],
            total["parking_spaces"],
        )
    )
    status = [(s.value, figures([], status=s)["total"]["facilities"]) for s in FacilityStatus]
    function = [
        (w.value, figures([], wartime_function=w)["total"]["facilities"]) for w in WartimeFunction
    ]
    return {"cities": rows, "status": _by_count(status), "function": _by_count(function)}


def _by_count(counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(((name, n) for name, n in counts if n), key=lambda item: (-item[1], item[0]))
