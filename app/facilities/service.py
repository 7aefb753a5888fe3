import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from app.accounts.errors import Forbidden
from app.accounts.models import Role
from app.accounts.principal import ANONYMOUS, Principal
from app.audit import service as audit
from app.core.errors import STORED_VALUE, FieldError, InvalidInput, validation_errors
from app.core.geo import CoordSys, Positions, geometries_in, to_geojson
from app.core.versioning import check_if_match
from app.db.base import bump_version
from app.db.session import flush_or_raise
from app.divisions import service as divisions
from app.facilities import repository, rules
from app.facilities.errors import (
    CodeNotFound,
    DuplicateCode,
    FacilityGone,
    FacilityNotFound,
    FacilityNotYet,
)
from app.facilities.models import (
    Entrance,
    Facility,
    FacilityStatus,
    ProtectionUnit,
    Visibility,
    default_visibility,
)
from app.facilities.repository import FacilityFilter
from app.facilities.schemas import FacilityCreate, FacilityVerification, VisibilityChange
from app.facilities.scope import restricted_clause, visible_clause

CHILDREN = ("entrances", "protection_units")


def parse_bbox(bbox: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(part) for part in bbox.split(","))
    except ValueError as exc:
        raise InvalidInput.on("bbox", "must be four numbers: west,south,east,north") from exc
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InvalidInput.on("bbox", "coordinates out of range")
    if west > east or south > north:
        raise InvalidInput.on("bbox", "west must not exceed east, nor south exceed north")
    return west, south, east, north


def make_filter(
    session: Session,
    *,
    bbox: str | None = None,
    admin_code: str | None = None,
    q: str | None = None,
    code: str | None = None,
    **fields: Any,
) -> FacilityFilter:
    """The list filters as a caller sends them, API query or `rf export` options: the box
    read, the division's level looked up, blank text taken as none."""
    return FacilityFilter(
        bbox=parse_bbox(bbox) if bbox else None,
        admin_level=None if admin_code is None else divisions.known_level(session, admin_code),
        admin_code=admin_code,
        q=q.strip() or None if q else None,
        code=code.strip() or None if code else None,
        **fields,
    )


@dataclass(frozen=True)
class Document:
    body: str
    version: int | None  # None for a past state read with `as_of`


def get_document(
    session: Session,
    facility_id: int,
    *,
    as_feature: bool,
    principal: Principal = ANONYMOUS,
    as_of: datetime | None = None,
    coordsys: CoordSys = CoordSys.wgs84,
) -> Document:
    reader = _reader(principal, coordsys)
    found = repository.get_document(session, facility_id, reader, as_feature=as_feature)
    if found is None:
        raise FacilityNotFound(facility_id=facility_id)
    if as_of is not None:
        past = _document_as_of(
            session, facility_id, as_of, found, reader.restricted, as_feature, coordsys
        )
        if past is not None:
            return past
    if found.deleted:
        raise FacilityGone(facility_id=facility_id)
    return Document(found.document, found.version)


def id_by_code(session: Session, code: str, *, principal: Principal = ANONYMOUS) -> int:
    """The id of the facility a plaque, QR code or ledger names by its registry code; a
    work the caller may not know of is as missing as one that does not exist."""
    found = repository.find_by_code(session, code, visible_clause(principal))
    if found is None:
        raise CodeNotFound(code=code)
    return found[0]


def live_code(session: Session, facility_id: int, *, principal: Principal = ANONYMOUS) -> str:
    """The registry code of a facility the caller may see and that is not deleted."""
    found = repository.visible_code(session, facility_id, visible_clause(principal))
    if found is None:
        raise FacilityNotFound(facility_id=facility_id)
    if found[1]:
        raise FacilityGone(facility_id=facility_id)
    return found[0]


def _document_as_of(
    session: Session,
    facility_id: int,
    as_of: datetime,
    found: repository.FoundDocument,
    restricted: bool | ColumnElement[bool],
    as_feature: bool,
    coordsys: CoordSys,
) -> Document | None:
    """The document at `as_of` from the audit trail; None when no write came after it, so
    the current document is the answer. Facilities loaded without the API (demo, imports
    before auditing) have no history before their first audited write: their state
    before that write is its `before` snapshot."""
    if not isinstance(restricted, bool):
        # A manager: the scope decides, as for the current document.
        restricted = bool(session.scalar(select(restricted).where(Facility.id == facility_id)))
    past = audit.snapshot_at(
        session,
        facility_id,
        as_of,
        hidden=list(repository.RESTRICTED_FIELDS),
        restricted=restricted,
    )
    if past is None:
        if as_of < found.created_at:
            raise FacilityNotYet(facility_id=facility_id, as_of=as_of)
        return None
    _, doc = past
    if doc is None:
        raise FacilityNotYet(facility_id=facility_id, as_of=as_of)
    if doc.pop("deleted", False):
        raise FacilityGone(facility_id=facility_id)
    doc = geometries_in(doc, coordsys)
    if as_feature:
        location = doc.pop("location")
        doc = {"type": "Feature", "id": facility_id, "geometry": location, "properties": doc}
    return Document(json.dumps(doc, ensure_ascii=False), None)


def list_documents(
    session: Session,
    where: FacilityFilter,
    *,
    after_id: int | None,
    limit: int,
    as_feature: bool,
    principal: Principal = ANONYMOUS,
    coordsys: CoordSys = CoordSys.wgs84,
) -> list[tuple[int, str]]:
    return repository.list_documents(
        session,
        where,
        _reader(principal, coordsys),
        after_id=after_id,
        limit=limit,
        as_feature=as_feature,
    )


def _reader(principal: Principal, coordsys: CoordSys) -> repository.Reader:
    return repository.Reader(
        visible_clause(principal), restricted_clause(principal), Positions(coordsys)
    )


def create_facility(session: Session, data: FacilityCreate, *, principal: Principal) -> int:
    data = _checked(data, given=data.model_fields_set)
    facility = Facility()
    _apply(session, facility, data, fields=set(FacilityCreate.model_fields) - {"visibility"})
    _check_code(session, facility)
    facility.visibility = _initial_visibility(data, principal)
    _in_scope(principal, facility)
    session.add(facility)
    _flush(session, data.code)
    _audit(session, principal, "create", facility.id, before=None)
    return facility.id


def update_facility(
    session: Session,
    facility_id: int,
    patch: dict[str, Any],
    *,
    principal: Principal,
    if_match: str | None,
) -> None:
    facility = _live(session, facility_id)
    check_if_match(if_match, facility.version, required=True)
    before = _snapshot(session, facility_id)
    current = _as_input(facility)
    if "protection_units" in patch:
        # New units without new totals: the totals follow the units.
        for total in ("shelter_area", "capacity_persons"):
            if total not in patch:
                current.pop(total, None)
    try:
        data = FacilityCreate.model_validate({**current, **patch})
    except ValidationError as exc:
        # The request's values passed FacilityUpdate, so a stored one fails: a value from
        # before its rule (see migration 0016), which only a new value can replace.
        raise InvalidInput.of(
            [
                FieldError(field=e.field, message=f"{e.message} ({STORED_VALUE})")
                for e in validation_errors(list(exc.errors()))
            ]
        ) from exc
    data = _checked(data, given=set(patch))
    issued = _code_and_place(facility)
    _apply(session, facility, data, fields=set(patch) | {"shelter_area", "capacity_persons"})
    # A code issued stays valid where its work lies, whatever later becomes of the forms.
    if _code_and_place(facility) != issued:
        _check_code(session, facility)
    # A manager may not move a facility out of its own scope (nor into another's).
    _in_scope(principal, facility)
    bump_version(facility)
    _flush(session, data.code)
    _audit(session, principal, "update", facility_id, before=before)


def delete_facility(
    session: Session, facility_id: int, *, principal: Principal, if_match: str | None
) -> None:
    """Soft delete: the record stays, marked decommissioned and deleted."""
    facility = _live(session, facility_id)
    # DELETE needs no If-Match (nothing is merged), but one that is sent is honoured.
    check_if_match(if_match, facility.version, required=False)
    before = _snapshot(session, facility_id)
    facility.status = FacilityStatus.decommissioned
    facility.deleted_at = datetime.now(UTC)
    _write_audited(session, principal, "delete", facility, before=before)


def verify_facility(
    session: Session,
    facility_id: int,
    data: FacilityVerification,
    *,
    principal: Principal,
    if_match: str | None,
) -> None:
    """Someone checked the record against the facility on site: an audited act, since
    stale, unverified data is what audits of shelter registries keep finding."""
    facility = _live(session, facility_id)
    check_if_match(if_match, facility.version, required=False)
    before = _snapshot(session, facility_id)
    facility.verified_at = data.verified_at or datetime.now(UTC)
    rules.VERIFIED_AT.check(facility)
    facility.verified_by = data.verified_by or principal.name
    if data.data_source is not None:
        facility.data_source = data.data_source
    _write_audited(session, principal, "verify", facility, before=before)


def set_visibility(
    session: Session,
    facility_id: int,
    change: VisibilityChange,
    *,
    principal: Principal,
    if_match: str | None,
) -> None:
    """An admin's decision whether the public may know of a work, audited with its reason.
    Setting the visibility a work has changes nothing and records nothing."""
    facility = _live(session, facility_id)
    # One value replaced whole, nothing merged: If-Match is honoured, not required.
    check_if_match(if_match, facility.version, required=False)
    if facility.visibility == change.visibility:
        return
    before = _snapshot(session, facility_id)
    facility.visibility = change.visibility
    _write_audited(session, principal, "visibility", facility, before=before, reason=change.reason)


def _initial_visibility(data: FacilityCreate, principal: Principal) -> Visibility:
    """The default of the work's function, unless an admin gives another."""
    default = default_visibility(data.wartime_function)
    if data.visibility is None or data.visibility == default:
        return default
    if principal.role != Role.admin:
        raise Forbidden(
            f"visibility: only an admin makes a {data.wartime_function} work {data.visibility}; "
            f"leave it out for the default, {default}"
        )
    return data.visibility


def _in_scope(principal: Principal, facility: Facility) -> None:
    codes = (facility.province_code, facility.city_code, facility.district_code)
    if not principal.covers(facility_id=facility.id, codes=codes):
        raise Forbidden("the facility's division lies outside this key's scope")


def _snapshot(session: Session, facility_id: int) -> dict[str, Any]:
    found = repository.get_document(
        session, facility_id, repository.Reader(true()), as_feature=False
    )
    assert found is not None
    doc = json.loads(found.document)
    # Kept in the audit snapshot (not in the API document) so `as_of` knows a deleted state.
    doc["deleted"] = found.deleted
    return doc


def _write_audited(
    session: Session,
    principal: Principal,
    action: str,
    facility: Facility,
    *,
    before: dict[str, Any],
    reason: str | None = None,
) -> None:
    """The end of a write that sets fields directly (not through _apply): bookkeeping,
    the flush the audit snapshot reads, then the audit row."""
    facility.updated_at = func.now()
    bump_version(facility)
    session.flush()
    _audit(session, principal, action, facility.id, before=before, reason=reason)


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    facility_id: int,
    *,
    before: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    audit.record_write(
        session,
        principal.actor,
        action,
        "facility",
        facility_id,
        facility_id,
        before=before,
        after=_snapshot(session, facility_id),
        # Bookkeeping fields change on every write; the audit row has its own time.
        ignore=("updated_at", "version"),
        reason=reason,
        keep_snapshots=True,
    )


def ensure_live(session: Session, facility_id: int, *, principal: Principal) -> None:
    """404 for an unknown facility or one the caller may not see, 410 for a deleted one."""
    deleted = repository.deleted_state(session, facility_id, visible=visible_clause(principal))
    if deleted is None:
        raise FacilityNotFound(facility_id=facility_id)
    if deleted:
        raise FacilityGone(facility_id=facility_id)


def _live(session: Session, facility_id: int) -> Facility:
    facility = repository.get_for_update(session, facility_id)
    if facility is None:
        raise FacilityNotFound(facility_id=facility_id)
    if facility.deleted_at is not None:
        raise FacilityGone(facility_id=facility_id)
    return facility


def _checked(data: FacilityCreate, *, given: set[str]) -> FacilityCreate:
    """Rules across fields; `given` names the fields this request set explicitly."""
    for rule in (
        rules.STANDALONE_TYPE,
        rules.WARTIME_SUBTYPE,
        rules.USABLE_AREA,
        rules.SHELTER_AREA,
    ):
        rule.check(data)
    if data.protection_units:
        rules.UNIT_NAMES.check(data)
        totals = {
            "shelter_area": round(sum(u.shelter_area for u in data.protection_units), 2),
            "capacity_persons": sum(u.capacity_persons for u in data.protection_units),
        }
        for field, total in totals.items():
            value = getattr(data, field)
            if field in given and value is not None and abs(value - total) > 0.005:
                raise InvalidInput.on(field, rules.UNIT_TOTAL(value=value, total=total))
        data = data.model_copy(update=totals)
        rules.SHELTER_AREA.check(data)
    rules.CAPACITY.check(data)
    rules.VERIFIED_AT.check(data)
    return data


def _apply(session: Session, facility: Facility, data: FacilityCreate, *, fields: set[str]) -> None:
    placement = divisions.resolve_divisions(
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


def _code_and_place(facility: Facility) -> tuple[str | None, ...]:
    return (facility.code, facility.province_code, facility.city_code, facility.district_code)


def _check_code(session: Session, facility: Facility) -> None:
    # Before the flush that names a duplicate code as such (_flush).
    with session.no_autoflush:
        rules.REGISTRY_CODE.check(
            session,
            code=facility.code,
            province=facility.province_code,
            city=facility.city_code,
            district=facility.district_code,
        )


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
    flush_or_raise(session, {"uq_facility_code": lambda: DuplicateCode(code=repr(code))})
