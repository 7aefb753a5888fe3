import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import true
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.audit import service as audit
from app.core import dates
from app.core.errors import Conflict, InvalidInput
from app.core.formats import spreadsheet_text
from app.core.pagination import decode_key_cursor, encode_key_cursor, keyset_page
from app.divisions.service import known_level_or_none
from app.facilities import repository as facilities
from app.facilities.errors import FacilityNotFound
from app.facilities.service import ensure_live
from app.maintenance import repository
from app.maintenance.models import (
    CheckResult,
    MaintenanceCheck,
    MaintenanceItem,
    MaintenanceRecord,
    RecordKind,
    Severity,
)
from app.maintenance.schemas import (
    CheckRead,
    FindingRead,
    OverdueItem,
    OverduePage,
    RecordCreate,
    RecordRead,
)
from app.webhooks import outbox
from app.webhooks.models import Event


def list_items(session: Session) -> list[MaintenanceItem]:
    return repository.items(session)


def create_record(
    session: Session, facility_id: int, data: RecordCreate, *, principal: Principal
) -> RecordRead:
    ensure_live(session, facility_id, principal=principal)
    if data.performed_on > dates.today():
        raise InvalidInput.on("performed_on", "lies in the future")
    if data.corrects_id is not None:
        corrected = repository.get_record(session, data.corrects_id)
        if corrected is None or corrected.facility_id != facility_id:
            raise InvalidInput.on(
                "corrects_id", f"facility {facility_id} has no record {data.corrects_id}"
            )
        if repository.corrected(session, data.corrects_id):
            raise Conflict(
                f"corrects_id: record {data.corrects_id} was already corrected; "
                "correct the latest record instead"
            )
    codes = [check.item_code for check in data.checks]
    known = repository.known_items(session, codes)
    for index, check in enumerate(data.checks):
        field = f"checks.{index}"
        if check.item_code not in known:
            raise InvalidInput.on(
                f"{field}.item_code", f"{check.item_code} is not in the catalogue"
            )
        if check.result == CheckResult.ok and check.severity != Severity.none:
            raise InvalidInput.on(f"{field}.severity", "an ok result has no finding")
        if check.closes_id is not None:
            _check_closable(session, facility_id, data, check.closes_id, f"{field}.closes_id")
    closes = [c.closes_id for c in data.checks if c.closes_id is not None]
    if len(set(closes)) != len(closes):
        raise InvalidInput.on("checks", "closes the same finding twice")
    record = MaintenanceRecord(
        facility_id=facility_id,
        **data.model_dump(exclude={"checks"}),
        recorded_by=principal.actor,
    )
    session.add(record)
    session.flush()
    session.add_all(
        MaintenanceCheck(record_id=record.id, **check.model_dump()) for check in data.checks
    )
    session.flush()
    read = _read(session, record.id, facility_id)
    audit.record_write(
        session,
        principal.actor,
        "correct" if data.corrects_id else "create",
        "maintenance_record",
        record.id,
        facility_id,
        before=None,
        after=read.model_dump(exclude={"created_at", "corrected_by_id"}),
    )
    findings = [
        check.model_dump(exclude={"closes_id"})
        for check in read.checks
        if check.result == CheckResult.defect or check.severity != Severity.none
    ]
    if findings:
        outbox.enqueue(
            session,
            Event.maintenance_finding,
            {
                "record_id": read.id,
                "facility_id": facility_id,
                "kind": read.kind,
                "performed_on": read.performed_on,
                "corrects_id": read.corrects_id,
                "findings": findings,
            },
            facility_id=facility_id,
        )
    return read


def _check_closable(
    session: Session, facility_id: int, data: RecordCreate, check_id: int, field: str
) -> None:
    """Only a repair closes a finding, and only a serious, open one of the same facility.
    A correction of a repair may close again what the corrected repair closed."""
    if data.kind != RecordKind.repair:
        raise InvalidInput.on(field, "only a repair record closes a finding")
    found = repository.findings(
        session,
        facility_id,
        open_only=False,
        ignore_record_id=data.corrects_id,
        check_id=check_id,
    )
    if not found:
        raise InvalidInput.on(
            field, f"{check_id} is not a serious finding of facility {facility_id}"
        )
    if found[0]["closed_by_check_id"] is not None:
        raise InvalidInput.on(field, f"finding {check_id} is already closed")


def list_records(session: Session, facility_id: int) -> list[RecordRead]:
    rows = repository.records_of(session, facility_id)
    checks: dict[int, list[CheckRead]] = {}
    for check in repository.checks_of(session, [row["id"] for row in rows]):
        checks.setdefault(check.record_id, []).append(CheckRead.model_validate(check))
    return [RecordRead(**row, checks=checks.get(row["id"], [])) for row in rows]


def _read(session: Session, record_id: int, facility_id: int) -> RecordRead:
    return next(r for r in list_records(session, facility_id) if r.id == record_id)


def findings(session: Session, facility_id: int, *, open_only: bool) -> list[FindingRead]:
    _exists(session, facility_id)
    rows = repository.findings(session, facility_id, open_only=open_only)
    return [FindingRead(**row) for row in rows]


def overdue(
    session: Session,
    *,
    principal: Principal,
    admin_code: str | None,
    on: date,
    cursor: str | None,
    limit: int,
    due_from: date | None = None,
) -> tuple[list[OverdueItem], str | None]:
    """A page of the items overdue on `on`; with `due_from`, those fallen due since."""
    level = known_level_or_none(session, admin_code)
    after = decode_key_cursor(cursor, _overdue_key) if cursor else (0, "")
    rows = repository.overdue(
        session,
        principal=principal,
        level=level,
        admin_code=admin_code,
        on=on,
        after=after,
        limit=limit + 1,
        due_from=due_from,
    )
    page, next_cursor = keyset_page(
        rows, limit, lambda row: encode_key_cursor([row["facility_id"], row["item_code"]])
    )
    return [OverdueItem(**row) for row in page], next_cursor


def overdue_by_division(
    session: Session, *, principal: Principal, admin_code: str | None, on: date
) -> list[dict[str, Any]]:
    level = known_level_or_none(session, admin_code)
    return repository.overdue_by_division(
        session, principal=principal, level=level, admin_code=admin_code, on=on
    )


def _overdue_key(value: Any) -> tuple[int, str]:
    facility_id, item_code = value
    if not isinstance(facility_id, int) or not isinstance(item_code, str):
        raise ValueError(value)
    if not 0 <= facility_id < 2**63:
        raise ValueError(value)
    return facility_id, item_code


def _exists(session: Session, facility_id: int) -> None:
    if facilities.codes_of(session, facility_id, visible=true()) is None:
        raise FacilityNotFound(facility_id=facility_id)


def overdue_csv(page: OverduePage) -> str:
    """The items of an overdue page as CSV, a column per field."""
    columns = list(OverdueItem.model_fields)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {k: spreadsheet_text(v) for k, v in item.model_dump(mode="json").items()}
        for item in page.items
    )
    return buffer.getvalue()
