"""Local registry code forms, which admins declare per division; the rule that applies
them is facilities.rules.REGISTRY_CODE."""

from sqlalchemy import select, text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.code_forms.models import RegistryCodeForm
from app.code_forms.schemas import CodeFormRead, CodeForms, CodeFormWrite
from app.core.errors import InvalidInput, NotFound
from app.divisions.models import Division
from app.facilities.rules import REGISTRY_CODE


def list_forms(session: Session) -> CodeForms:
    rows = session.execute(
        select(RegistryCodeForm, Division.name)
        .join(Division, Division.code == RegistryCodeForm.admin_code)
        .order_by(RegistryCodeForm.admin_code)
    )
    return CodeForms(
        national=REGISTRY_CODE.national,
        forms=[
            CodeFormRead(
                admin_code=form.admin_code,
                division=name,
                pattern=form.pattern,
                example=form.example,
                note=form.note,
            )
            for form, name in rows
        ],
    )


def put_form(session: Session, admin_code: str, data: CodeFormWrite, *, actor: str | None) -> bool:
    """Declares or replaces a division's form; True when it had none. Codes already issued
    stay valid: the form applies to works registered, or moved, after."""
    if session.get(Division, admin_code) is None:
        raise InvalidInput.on("admin_code", f"{admin_code} is not a known GB/T 2260 division code")
    _check_pattern(session, data)
    row = session.get(RegistryCodeForm, admin_code)
    before = _snapshot(row) if row else None
    if row is None:
        row = RegistryCodeForm(admin_code=admin_code)
        session.add(row)
    row.pattern, row.example, row.note, row.updated_by = (
        data.pattern,
        data.example,
        data.note,
        actor,
    )
    session.flush()
    _audit(
        session, actor, "create" if before is None else "update", admin_code, before, _snapshot(row)
    )
    return before is None


def delete_form(session: Session, admin_code: str, *, actor: str | None) -> None:
    row = session.get(RegistryCodeForm, admin_code)
    if row is None:
        raise NotFound(f"division {admin_code} has no registry code form")
    before = _snapshot(row)
    session.delete(row)
    session.flush()
    _audit(session, actor, "delete", admin_code, before, None)


def _check_pattern(session: Session, data: CodeFormWrite) -> None:
    """With PostgreSQL's regular expressions, which every check of a code uses."""
    try:
        with session.begin_nested():
            matches = session.execute(
                text("SELECT CAST(:example AS text) ~ CAST(:pattern AS text)"),
                {"example": data.example, "pattern": data.pattern},
            ).scalar_one()
    except DataError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid"
        raise InvalidInput.on("pattern", f"is not a regular expression: {reason}") from exc
    if not matches:
        raise InvalidInput.on(
            "example", f"{data.example} does not match the pattern {data.pattern}"
        )


def _snapshot(row: RegistryCodeForm) -> dict[str, str | None]:
    return {"pattern": row.pattern, "example": row.example, "note": row.note}


def _audit(
    session: Session,
    actor: str | None,
    action: str,
    admin_code: str,
    before: dict | None,
    after: dict | None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="registry_code_form",
        entity_id=admin_code,
        changes=audit.diff(before or {}, after or {}),
        before=before,
        after=after,
    )
