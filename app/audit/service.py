"""The audit trail. Every write calls `record` in its own transaction, so the change and
its record commit or vanish together.

    record(session, *, actor, action, entity, entity_id, changes, facility_id=None,
           before=None, after=None, reason=None) -> None

`changes` is {field: {"old": ..., "new": ...}}; `diff(before, after)` builds it from two
dicts. Values must be JSON-serialisable (use `jsonable(...)` on ORM values)."""

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from app.audit import repository
from app.audit.models import AuditEvent


def record(
    session: Session,
    *,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: object,
    changes: dict[str, Any],
    facility_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    if facility_id is None and entity == "facility":
        facility_id = int(entity_id)
    repository.insert(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        facility_id=facility_id,
        changes=jsonable(changes),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        reason=reason,
    )
    session.flush()


def record_write(
    session: Session,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: object,
    facility_id: int | None,
    *,
    before: Any,
    after: Any,
    ignore: Collection[str] = (),
    reason: str | None = None,
    keep_snapshots: bool = False,
) -> None:
    """`record` for a write whose before and after snapshots are dicts or pydantic models
    (None for a create's before or a delete's after): the changes are their difference,
    less the fields in `ignore`; `keep_snapshots` stores the two snapshots as well."""
    audit_before, audit_after = _snapshot(before), _snapshot(after)
    changes = diff(audit_before, audit_after)
    for field in ignore:
        changes.pop(field, None)
    record(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        facility_id=facility_id,
        changes=changes,
        before=audit_before if keep_snapshots else None,
        after=audit_after if keep_snapshots else None,
        reason=reason,
    )


def _snapshot(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return dict(value)


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(jsonable_encoder(value), ensure_ascii=False))


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Fields whose value differs, as {field: {"old": ..., "new": ...}}."""
    old, new = jsonable(before or {}), jsonable(after or {})
    return {
        key: {"old": old.get(key), "new": new.get(key)}
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    }


def history(
    session: Session, facility_id: int, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    return repository.history(session, facility_id, before_id=before_id, limit=limit)


def for_entity(session: Session, entity: str, entity_id: str) -> list[AuditEvent]:
    return repository.for_entity(session, entity, entity_id)


def snapshot_at(
    session: Session, facility_id: int, at: datetime, *, hidden: list[str], restricted: bool
) -> tuple[bool, dict[str, Any] | None] | None:
    return repository.snapshot_at(session, facility_id, at, hidden=hidden, restricted=restricted)
