from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.core.errors import FieldError, InvalidInput
from app.core.errors import validation_errors as field_errors
from app.core.schemas import from_attributes
from app.core.versioning import check_if_match
from app.db.base import bump_version
from app.db.session import flush_or_raise
from app.holidays.calendar import DayKind
from app.uses import repository
from app.uses.errors import SecondCarPark, UseNotFound
from app.uses.hours import is_open
from app.uses.models import OpeningStatus, PeacetimeUse, UseType
from app.uses.schemas import ATTRIBUTES, Availability, UseFields, UseRead


def availability(use: Any, *, now: datetime, stale_after_s: int) -> Availability | None:
    """From anything carrying a use's type and realtime_* values: the ORM row or a result row."""
    if use.type != UseType.parking:
        return None
    observed = use.realtime_observed_at
    if observed is None:
        return Availability(
            realtime_free_capacity=None,
            realtime_free_charging_piles=None,
            realtime_opening_status=OpeningStatus.unknown,
            realtime_data_updated_at=None,
            age_seconds=None,
            stale=True,
        )
    age = max(0, int((now - observed).total_seconds()))
    stale = age > stale_after_s
    return Availability(
        realtime_free_capacity=None if stale else use.realtime_free_spaces,
        realtime_free_charging_piles=None if stale else use.realtime_free_charging_piles,
        realtime_opening_status=OpeningStatus.unknown if stale else use.realtime_opening_status,
        realtime_data_updated_at=observed,
        age_seconds=age,
        stale=stale,
    )


def open_now(
    hours: str | None, availability: Availability | None, *, now: datetime, day: DayKind
) -> bool | None:
    """The hours' answer, unless a fresh live status says the place is closed: a gate
    system that reports CLOSED knows better than the timetable."""
    if availability is not None and availability.realtime_opening_status == OpeningStatus.closed:
        return False
    return is_open(hours, now, day)


def to_use_read(use: PeacetimeUse, *, now: datetime, stale_after_s: int, day: DayKind) -> UseRead:
    live = availability(use, now=now, stale_after_s=stale_after_s)
    open_at = open_now(use.opening_hours, live, now=now, day=day)
    return from_attributes(UseRead, use, open_now=open_at, availability=live)


def list_uses(session: Session, facility_id: int) -> list[PeacetimeUse]:
    return repository.list_for_facility(session, facility_id)


def get_use(session: Session, facility_id: int, use_id: int) -> PeacetimeUse:
    use = repository.get(session, facility_id, use_id)
    if use is None:
        raise UseNotFound(facility_id=facility_id, use_id=use_id)
    return use


def create_use(
    session: Session, facility_id: int, data: UseFields, *, actor: str | None
) -> PeacetimeUse:
    fields = data.model_dump(mode="json", exclude={"attributes"})
    use = PeacetimeUse(facility_id=facility_id, **fields, attributes=_attributes(data))
    if use.type == UseType.parking and repository.get_parking(session, facility_id):
        raise SecondCarPark(facility_id=facility_id)
    session.add(use)
    _flush(session, facility_id)
    session.refresh(use)
    _audit(session, actor, "create", use, before=None, after=_snapshot(use))
    return use


def update_use(
    session: Session,
    facility_id: int,
    use_id: int,
    patch: dict[str, Any],
    *,
    actor: str | None,
    if_match: str | None,
) -> PeacetimeUse:
    use = _locked(session, facility_id, use_id)
    check_if_match(if_match, use.version, required=True)
    before = _snapshot(use)
    if "attributes" in patch:
        attributes = patch.pop("attributes")
        if attributes is None:
            raise InvalidInput.on("attributes", "may not be null")
        use.attributes = _validated_attributes(use.type, attributes)
        if (
            use.type == UseType.parking
            and (use.realtime_free_spaces or 0) > use.attributes["total_spaces"]
        ):
            # The car park shrank below its last report: that figure cannot stand.
            use.realtime_free_spaces = use.realtime_free_charging_piles = None
            use.realtime_observed_at = use.realtime_opening_status = None
    for field, value in patch.items():
        setattr(use, field, value)
    use.updated_at = func.now()
    bump_version(use)
    session.flush()
    session.refresh(use)
    _audit(session, actor, "update", use, before=before, after=_snapshot(use))
    return use


def delete_use(
    session: Session, facility_id: int, use_id: int, *, actor: str | None, if_match: str | None
) -> None:
    use = _locked(session, facility_id, use_id)
    check_if_match(if_match, use.version, required=False)
    _audit(session, actor, "delete", use, before=_snapshot(use), after=None)
    session.delete(use)


def _locked(session: Session, facility_id: int, use_id: int) -> PeacetimeUse:
    use = repository.get(session, facility_id, use_id, for_update=True)
    if use is None:
        raise UseNotFound(facility_id=facility_id, use_id=use_id)
    return use


# What an editor changes; live occupancy has its own history (parking_occupancy).
AUDITED = ("type", "name", "opening_hours", "contact_name", "contact_phone", "fee", "attributes")


def _snapshot(use: PeacetimeUse) -> dict[str, Any]:
    return {field: getattr(use, field) for field in AUDITED}


def _audit(
    session: Session,
    actor: str | None,
    action: str,
    use: PeacetimeUse,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit.record_write(
        session, actor, action, "peacetime_use", use.id, use.facility_id, before=before, after=after
    )


def _attributes(data: UseFields) -> dict[str, Any]:
    return data.attributes.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]


def _validated_attributes(use_type: UseType, attributes: dict[str, Any]) -> dict[str, Any]:
    try:
        model = ATTRIBUTES[use_type].model_validate(attributes)
    except ValidationError as exc:
        errors = [
            FieldError(field=f"body.attributes.{e.field}".rstrip("."), message=e.message)
            for e in field_errors(list(exc.errors()))
        ]
        raise InvalidInput.of(errors) from exc
    return model.model_dump(mode="json", exclude_none=True)


def _flush(session: Session, facility_id: int) -> None:
    flush_or_raise(
        session,
        {"uq_peacetime_use_parking_per_facility": lambda: SecondCarPark(facility_id=facility_id)},
    )
