import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import true
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit import states
from app.core import dates
from app.core.errors import STORED_VALUE, InvalidInput
from app.core.formats import spreadsheet_row
from app.core.geo import CoordSys, geojson_in, to_geojson
from app.core.schemas import from_attributes
from app.core.versioning import check_if_match
from app.db.base import bump_version
from app.divisions.service import known_level, known_level_or_none
from app.facilities import repository as facilities
from app.facilities.errors import FacilityGone, FacilityNotFound
from app.facilities.scope import visible_sql
from app.media import service as media
from app.signage import repository
from app.signage.errors import SignNotFound
from app.signage.models import Sign, SignStatus
from app.signage.schemas import (
    FacilitySignage,
    IncompleteFacility,
    ProgressGroup,
    Requirement,
    SignageProgress,
    SignCreate,
    SignRead,
    TimelineMonth,
)

FIELDS = ("kind", "status", "description", "installed_on", "inspected_on", "photos")


def to_sign_read(sign: Sign, coordsys: CoordSys = CoordSys.wgs84) -> SignRead:
    location = sign.location
    return from_attributes(
        SignRead,
        sign,
        location=None if location is None else geojson_in(to_geojson(location), coordsys),
    )


def get_signage(
    session: Session, facility_id: int, coordsys: CoordSys = CoordSys.wgs84
) -> FacilitySignage:
    state = repository.facility_completeness(session, facility_id)
    if state is None:
        _missing_facility(session, facility_id)
    assert state is not None
    return FacilitySignage(
        facility_id=facility_id,
        rule_locality=state["locality"],
        used_for_parking=state["parking"],
        complete=state["complete"],
        damaged=state["damaged"],
        requirements=[Requirement(**r) for r in state["requirements"]],
        signs=[to_sign_read(sign, coordsys) for sign in repository.signs_of(session, facility_id)],
    )


def get_sign(session: Session, facility_id: int, sign_id: int) -> Sign:
    sign = repository.get_sign(session, facility_id, sign_id, for_update=False)
    if sign is None:
        raise SignNotFound(facility_id=facility_id, sign_id=sign_id)
    return sign


def create_sign(
    session: Session, facility_id: int, data: SignCreate, *, principal: Principal
) -> Sign:
    if repository.facility_completeness(session, facility_id) is None:
        _missing_facility(session, facility_id)
    values = data.model_dump(exclude={"location"})
    _check(session, values)
    sign = Sign(facility_id=facility_id, **values)
    if data.location is not None:
        sign.location = data.location.to_ewkt()
    session.add(sign)
    _audit(session, principal, "create", sign, before=None)
    return sign


def update_sign(
    session: Session,
    facility_id: int,
    sign_id: int,
    patch: dict[str, Any],
    *,
    principal: Principal,
    if_match: str | None,
) -> Sign:
    sign = repository.get_sign(session, facility_id, sign_id, for_update=True)
    if sign is None:
        raise SignNotFound(facility_id=facility_id, sign_id=sign_id)
    check_if_match(if_match, sign.version, required=True)
    before = _snapshot(sign)
    values = {name: getattr(sign, name) for name in FIELDS}
    values.update({k: v for k, v in patch.items() if k != "location"})
    _check(session, values)
    for name in FIELDS:
        setattr(sign, name, values[name])
    if "location" in patch:
        location = patch["location"]
        sign.location = (
            SignCreate.model_validate(
                {"kind": sign.kind, "status": sign.status, "location": location}
            ).location.to_ewkt()
            if location
            else None
        )
    bump_version(sign)
    _audit(session, principal, "update", sign, before=before)
    return sign


def incomplete(
    session: Session,
    *,
    principal: Principal,
    admin_code: str | None,
    after_id: int | None,
    limit: int,
) -> list[IncompleteFacility]:
    level = known_level_or_none(session, admin_code)
    rows = repository.incomplete(
        session,
        visible=visible_sql(principal, repository.F),
        level=level,
        admin_code=admin_code,
        after_id=after_id,
        limit=limit,
    )
    return [
        IncompleteFacility(
            facility_id=row["id"],
            code=row["code"],
            name=row["name"],
            admin_code=row["admin_code"],
            rule_locality=row["locality"],
            missing=[Requirement(**r) for r in row["requirements"] if not r["satisfied"]],
            damaged=row["damaged"],
        )
        for row in rows
    ]


def progress(
    session: Session,
    *,
    principal: Principal,
    admin_code: str,
    parking_only: bool,
    as_of: date | None = None,
) -> SignageProgress:
    level = known_level(session, admin_code)
    states.check_as_of(as_of)
    groups, timeline = repository.progress(
        session,
        visible=visible_sql(principal, repository.F),
        level=level,
        admin_code=admin_code,
        parking_only=parking_only,
        as_of=as_of,
    )
    total = sum(g["total"] for g in groups)
    complete = sum(g["complete"] for g in groups)
    late = sum(g["late_registrations"] for g in groups) if as_of is not None else None
    return SignageProgress(
        admin_code=admin_code,
        parking_only=parking_only,
        as_of=as_of,
        total=total,
        complete=complete,
        ratio=_ratio(complete, total),
        late_registrations=late,
        groups=[
            ProgressGroup(
                code=g["code"] or "unplaced",
                name=g["name"],
                total=g["total"],
                complete=g["complete"],
                ratio=_ratio(g["complete"], g["total"]),
                late_registrations=g.get("late_registrations"),
            )
            for g in groups
        ],
        timeline=[TimelineMonth(**month) for month in timeline],
    )


def progress_csv(progress: SignageProgress) -> str:
    """The groups of a progress answer as CSV, one row per city or district."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    late = progress.as_of is not None
    writer.writerow(
        ["code", "name", "total", "complete", "ratio"] + (["late_registrations"] if late else [])
    )
    for group in progress.groups:
        row = [group.code, group.name or "", group.total, group.complete, group.ratio]
        writer.writerow(spreadsheet_row(row + ([group.late_registrations] if late else [])))
    return buffer.getvalue()


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _check(session: Session, values: dict[str, Any]) -> None:
    today = dates.today()
    for field in ("installed_on", "inspected_on"):
        if values[field] is None:
            continue
        # Requests are checked by SignCreate; a stored date from before the check is not.
        if not dates.day_in_range(values[field]):
            raise InvalidInput.on(field, f"{dates.DAY_MESSAGE} ({STORED_VALUE})")
        if values[field] > today:
            raise InvalidInput.on(field, "lies in the future")
    if values["status"] == SignStatus.installed and values["installed_on"] is None:
        raise InvalidInput.on("installed_on", "is required for an installed sign")
    if (
        values["inspected_on"] is not None
        and values["installed_on"] is not None
        and values["inspected_on"] < values["installed_on"]
    ):
        raise InvalidInput.on("inspected_on", "comes before installed_on")
    if len(set(values["photos"])) != len(values["photos"]):
        raise InvalidInput.on("photos", "lists a photo twice")
    media.check_exist(session, list(values["photos"]), field="photos")


def _missing_facility(session: Session, facility_id: int) -> None:
    if facilities.codes_of(session, facility_id, visible=true()) is None:
        raise FacilityNotFound(facility_id=facility_id)
    raise FacilityGone(facility_id=facility_id)


def _snapshot(sign: Sign) -> dict[str, Any]:
    return to_sign_read(sign).model_dump(
        mode="json", exclude={"created_at", "updated_at", "version"}
    )


def _audit(
    session: Session, principal: Principal, action: str, sign: Sign, *, before: dict | None
) -> None:
    # The snapshot is of the row as stored: its id, defaults and timestamps come back.
    session.flush()
    session.refresh(sign)
    audit.record_write(
        session,
        principal.actor,
        action,
        "sign",
        sign.id,
        sign.facility_id,
        before=before,
        after=_snapshot(sign),
    )
