"""Statistics by division and completion year: the API's GET /v1/stats and `rf stats`."""

import csv
import io
import json
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.core.errors import InvalidInput
from app.divisions import repository as divisions
from app.divisions.models import DivisionLevel
from app.divisions.service import known_level
from app.facilities.models import ConstructionForm, FacilityStatus, WartimeFunction
from app.stats import repository
from app.stats.repository import StatsFilter
from app.uses.models import UseType


class Dimension(StrEnum):
    province = "province"
    city = "city"
    district = "district"
    year = "year"


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
# Findings are maintenance records, a restricted resource: only callers who may read
# the findings themselves see how many are open.
RESTRICTED_FIGURES = ("open_maintenance_findings",)


def make_filter(
    session: Session,
    *,
    principal: Principal,
    admin_code: str | None = None,
    wartime_function: WartimeFunction | None = None,
    construction_form: ConstructionForm | None = None,
    status: FacilityStatus | None = None,
) -> StatsFilter:
    level = None
    if admin_code is not None:
        level = known_level(session, admin_code)
    return StatsFilter(
        principal=principal,
        level=level,
        admin_code=admin_code,
        wartime_function=wartime_function,
        construction_form=construction_form,
        status=status,
    )


def _grouping(by: list[Dimension]) -> tuple[DivisionLevel | None, bool]:
    levels = [DivisionLevel(d.value) for d in dict.fromkeys(by) if d is not Dimension.year]
    if len(levels) > 1:
        raise InvalidInput.on("by", "at most one of province, city and district, and year")
    return (levels[0] if levels else None), Dimension.year in by


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
    session: Session, where: StatsFilter, *, by: list[Dimension], restricted: bool
) -> str:
    """The JSON document {by, groups, total}."""
    level, by_year = _grouping(by)
    return repository.figures(session, where, level=level, by_year=by_year, restricted=restricted)


def figures_csv(document: str, *, restricted: bool) -> str:
    """The groups of a figures document as CSV, one column per figure and use."""
    columns = [
        "admin_code",
        "admin_name",
        "completion_year",
        *FIGURES,
        *(f"facilities_{use.value}" for use in UseType),
        *(RESTRICTED_FIGURES if restricted else ()),
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for group in json.loads(document)["groups"]:
        uses = {f"facilities_{use}": n for use, n in group["facilities_by_use"].items()}
        writer.writerow({**group, **uses})
    return buffer.getvalue()


def get_parking_by_year(session: Session, where: StatsFilter) -> str:
    return repository.parking_by_year(session, where)


def parking_by_year_csv(document: str) -> str:
    buffer = io.StringIO()
    columns = ["year", "car_parks", "new_spaces", "cumulative_spaces"]
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(json.loads(document))
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
