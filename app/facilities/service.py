from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput
from app.core.geo import to_geojson
from app.divisions import service as divisions
from app.facilities import repository
from app.facilities.errors import DuplicateCode, FacilityGone, FacilityNotFound
from app.facilities.models import (
    SUBTYPES_BY_FUNCTION,
    ConstructionForm,
    Entrance,
    Facility,
    FacilityStatus,
    ProtectionUnit,
)
from app.facilities.repository import FacilityFilter
from app.facilities.schemas import FacilityCreate

# GB 50038 sizes personnel shelters at about 1 m² per person; above 1.5 a capacity
# is not credible (audits found capacities inflated tenfold).
MAX_PERSONS_PER_M2 = 1.5
CHILDREN = ("entrances", "protection_units")


def get_document(session: Session, facility_id: int, *, as_feature: bool) -> str:
    found = repository.get_document(session, facility_id, as_feature=as_feature)
    if found is None:
        raise FacilityNotFound(facility_id)
    deleted, doc = found
    if deleted:
        raise FacilityGone(facility_id)
    return doc


def list_documents(
    session: Session, where: FacilityFilter, *, after_id: int | None, limit: int, as_feature: bool
) -> list[tuple[int, str]]:
    return repository.list_documents(
        session, where, after_id=after_id, limit=limit, as_feature=as_feature
    )


def create_facility(session: Session, data: FacilityCreate) -> int:
    data = _checked(data, given=data.model_fields_set)
    facility = Facility()
    _apply(session, facility, data, fields=set(FacilityCreate.model_fields))
    session.add(facility)
    _flush(session, data.code)
    return facility.id


def update_facility(session: Session, facility_id: int, patch: dict[str, Any]) -> None:
    facility = _live(session, facility_id)
    current = _as_input(facility)
    if "protection_units" in patch:
        # New units without new totals: the totals follow the units.
        for total in ("shelter_area", "capacity_persons"):
            if total not in patch:
                current.pop(total, None)
    data = FacilityCreate.model_validate({**current, **patch})
    data = _checked(data, given=set(patch))
    _apply(session, facility, data, fields=set(patch) | {"shelter_area", "capacity_persons"})
    _flush(session, data.code)


def delete_facility(session: Session, facility_id: int) -> None:
    """Soft delete: the record stays, marked decommissioned and deleted."""
    facility = _live(session, facility_id)
    facility.status = FacilityStatus.decommissioned
    facility.deleted_at = datetime.now(UTC)


def _live(session: Session, facility_id: int) -> Facility:
    facility = repository.get_for_update(session, facility_id)
    if facility is None:
        raise FacilityNotFound(facility_id)
    if facility.deleted_at is not None:
        raise FacilityGone(facility_id)
    return facility


def _checked(data: FacilityCreate, *, given: set[str]) -> FacilityCreate:
    """Rules across fields; `given` names the fields this request set explicitly."""
    if (data.construction_form == ConstructionForm.standalone) != (
        data.standalone_type is not None
    ):
        raise InvalidInput.on(
            "standalone_type",
            "is required for a standalone work and must be empty for an attached one",
        )
    if (
        data.wartime_subtype
        and data.wartime_subtype not in SUBTYPES_BY_FUNCTION[data.wartime_function]
    ):
        raise InvalidInput.on(
            "wartime_subtype",
            f"{data.wartime_subtype} is not a kind of {data.wartime_function}",
        )
    _ordered(data, "usable_area", "building_area")
    _ordered(data, "shelter_area", "usable_area")
    if data.protection_units:
        names = [unit.name for unit in data.protection_units]
        if len(set(names)) != len(names):
            raise InvalidInput.on("protection_units", "unit names must be unique within a facility")
        totals = {
            "shelter_area": round(sum(u.shelter_area for u in data.protection_units), 2),
            "capacity_persons": sum(u.capacity_persons for u in data.protection_units),
        }
        for field, total in totals.items():
            value = getattr(data, field)
            if field in given and value is not None and abs(value - total) > 0.005:
                raise InvalidInput.on(
                    field, f"{value} disagrees with the sum over its protection units, {total}"
                )
        data = data.model_copy(update=totals)
        _ordered(data, "shelter_area", "usable_area")
    if (
        data.capacity_persons
        and data.shelter_area is not None
        and data.capacity_persons > MAX_PERSONS_PER_M2 * data.shelter_area
    ):
        raise InvalidInput.on(
            "capacity_persons",
            f"{data.capacity_persons} persons on {data.shelter_area} m² of shelter area is "
            f"over {MAX_PERSONS_PER_M2} persons per m²",
        )
    if data.verified_at and data.verified_at > datetime.now(UTC):
        raise InvalidInput.on("verified_at", "lies in the future")
    return data


def _ordered(data: FacilityCreate, smaller: str, larger: str) -> None:
    low, high = getattr(data, smaller), getattr(data, larger)
    if low is not None and high is not None and low > high:
        raise InvalidInput.on(smaller, f"{low} m² exceeds {larger} {high} m²")


def _apply(session: Session, facility: Facility, data: FacilityCreate, *, fields: set[str]) -> None:
    placement = divisions.place(
        session,
        admin_code=data.admin_code,
        point_ewkt=data.location.to_ewkt(),
        on=datetime.now(UTC).date(),
    )
    facility.province_code = placement.province_code
    facility.city_code = placement.city_code
    facility.district_code = placement.district_code
    for field in fields - {"admin_code", "location", "footprint", *CHILDREN}:
        setattr(facility, field, getattr(data, field))
    if "location" in fields:
        facility.location = data.location.to_ewkt()
    if "footprint" in fields:
        facility.footprint = (
            func.ST_Multi(func.ST_GeomFromEWKT(data.footprint.to_ewkt()))
            if data.footprint
            else None
        )
    if "entrances" in fields:
        facility.entrances = [
            Entrance(
                kind=e.kind, accessible=e.accessible, name=e.name, location=e.location.to_ewkt()
            )
            for e in data.entrances
        ]
    if "protection_units" in fields:
        # Old units go first: new ones may reuse their names, which are unique per facility.
        facility.protection_units = []
        session.flush()
        facility.protection_units = [
            ProtectionUnit(
                name=u.name, shelter_area=u.shelter_area, capacity_persons=u.capacity_persons
            )
            for u in data.protection_units
        ]
    facility.updated_at = func.now()


def _as_input(facility: Facility) -> dict[str, Any]:
    """The stored facility in the shape of a create request, for validating a merged PATCH."""
    data = {
        name: getattr(facility, name)
        for name in FacilityCreate.model_fields
        if name not in {"admin_code", "location", "footprint", *CHILDREN}
    }
    data["admin_code"] = facility.district_code or facility.city_code or facility.province_code
    data["location"] = to_geojson(facility.location)
    data["footprint"] = to_geojson(facility.footprint) if facility.footprint is not None else None
    data["entrances"] = [
        {
            "kind": e.kind,
            "accessible": e.accessible,
            "name": e.name,
            "location": to_geojson(e.location),
        }
        for e in facility.entrances
    ]
    data["protection_units"] = [
        {"name": u.name, "shelter_area": u.shelter_area, "capacity_persons": u.capacity_persons}
        for u in facility.protection_units
    ]
    return data


def _flush(session: Session, code: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == "uq_facility_code":
            raise DuplicateCode(code) from exc
        raise
