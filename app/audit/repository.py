from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, JSONPATH
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from app.audit.models import AuditEvent


def insert(session: Session, **values: Any) -> None:
    session.add(AuditEvent(**values))


def history(
    session: Session, facility_id: int, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    query: Select = select(AuditEvent).where(AuditEvent.facility_id == facility_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def for_entity(session: Session, entity: str, entity_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )


def snapshot_at(
    session: Session,
    facility_id: int,
    at: datetime,
    *,
    hidden: list[str],
    restricted: bool,
) -> tuple[bool, dict[str, Any] | None] | None:
    """The facility document as it was at `at`, from the first audited write after it
    (its `before`). (True, doc) when history answers, doc None when the facility did not
    exist yet; None when no write came after `at`, so the current document holds."""
    document: ColumnElement = AuditEvent.before
    if not restricted:
        # Filtering the stored document in SQL, like the live one: the hidden keys and the
        # wartime entrances never reach Python.
        public_entrances = func.coalesce(
            func.jsonb_path_query_array(
                AuditEvent.before["entrances"],
                cast(literal('$[*] ? (@.kind != "wartime")'), JSONPATH),
            ),
            cast(literal("[]"), JSONB),
        )
        document = case(
            (AuditEvent.before.is_(None), None),
            else_=func.jsonb_set(
                AuditEvent.before.op("-")(cast(literal(hidden), ARRAY(Text))),
                cast(literal(["entrances"]), ARRAY(Text)),
                public_entrances,
                type_=JSONB,
            ),
        )
    row = session.execute(
        select(document)
        .where(
            AuditEvent.facility_id == facility_id,
            AuditEvent.entity == "facility",
            AuditEvent.at > at,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
        .limit(1)
    ).first()
    return None if row is None else (True, row[0])
