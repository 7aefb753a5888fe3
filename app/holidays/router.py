from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.accounts.dependencies import AdminPrincipal
from app.core.errors import InvalidInput, problem_responses
from app.core.openapi import DECLARED
from app.db.session import SessionDep
from app.holidays import service
from app.holidays.schemas import CalendarDayRead, CalendarDayWrite

router = APIRouter(prefix="/v1/calendar", tags=["calendar"])

Day = Annotated[date, Path(description="the date, YYYY-MM-DD (Beijing time)")]
FIRST, LAST = date(1990, 1, 1), date(2100, 12, 31)


@router.get("", response_model=list[CalendarDayRead], responses=problem_responses(422))
def list_days(
    session: SessionDep, year: Annotated[int, Query(ge=1990, le=2100)]
) -> list[CalendarDayRead]:
    """The public holidays and make-up working days (调休) of a year, as opening hours'
    `PH` rules read them: the State Council's calendar with the days admins declared."""
    return service.list_year(session, year)


@router.put("/{day}", responses={**DECLARED, **problem_responses(400, 403, 413, 422)})
def put_day(
    session: SessionDep,
    principal: AdminPrincipal,
    day: Day,
    data: CalendarDayWrite,
    response: Response,
) -> CalendarDayWrite:
    """Declare a local holiday, or a day of a year the package does not know yet."""
    _check_range(day)
    if service.put_day(session, day, data, actor=principal.actor):
        response.status_code = status.HTTP_201_CREATED
    return data


@router.delete(
    "/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 404, 422),
)
def delete_day(session: SessionDep, principal: AdminPrincipal, day: Day) -> Response:
    _check_range(day)
    service.delete_day(session, day, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _check_range(day: date) -> None:
    if not FIRST <= day <= LAST:
        raise InvalidInput.on("day", "must be between 1990-01-01 and 2100-12-31")
