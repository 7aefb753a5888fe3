"""The calendar as the registry uses it: the package's days under those admins declare."""

from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.core.errors import NotFound
from app.holidays.calendar import DayKind, kind_of
from app.holidays.models import CalendarDay
from app.holidays.schemas import CalendarDayRead, CalendarDayWrite


def day_kind(session: Session, day: date) -> DayKind:
    """One primary-key read: asked once per request, for the day of `now`."""
    override = session.scalar(select(CalendarDay.kind).where(CalendarDay.day == day))
    return kind_of(day, override)


def list_year(session: Session, year: int) -> list[CalendarDayRead]:
    """Every day of the year that is not an ordinary working day or weekend."""
    local = {
        row.day: row
        for row in session.scalars(
            select(CalendarDay).where(
                CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
            )
        )
    }
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        row = local.get(day)
        kind = kind_of(day, row.kind if row else None)
        if kind in (DayKind.holiday, DayKind.makeup):
            name = row.name if row else _package_name(day)
            days.append(
                CalendarDayRead(
                    day=day, kind=kind, name=name, source="local" if row else "state_council"
                )
            )
        day += timedelta(days=1)
    return days


def _package_name(day: date) -> str | None:
    try:
        return chinese_calendar.get_holiday_detail(day)[1]
    except NotImplementedError:
        return None


def put_day(session: Session, day: date, data: CalendarDayWrite, *, actor: str | None) -> bool:
    """Declares a day; True when it was not declared before."""
    row = session.get(CalendarDay, day)
    before = {"kind": row.kind.value, "name": row.name} if row else None
    created = row is None
    if row is None:
        row = CalendarDay(day=day)
        session.add(row)
    row.kind, row.name, row.updated_by = data.kind, data.name, actor
    session.flush()
    after = {"kind": data.kind.value, "name": data.name}
    audit.record(
        session,
        actor=actor,
        action="create" if created else "update",
        entity="calendar_day",
        entity_id=day.isoformat(),
        changes=audit.diff(before or {}, after),
        before=before,
        after=after,
    )
    return created


def delete_day(session: Session, day: date, *, actor: str | None) -> None:
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"no calendar day {day.isoformat()} was declared")
    before = {"kind": row.kind.value, "name": row.name}
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity="calendar_day",
        entity_id=day.isoformat(),
        changes=audit.diff(before, {}),
        before=before,
    )
