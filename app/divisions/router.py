from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from app.core.errors import NotFound, problem_responses
from app.db.session import SessionDep
from app.divisions import repository
from app.divisions.models import DivisionLevel

router = APIRouter(prefix="/v1/divisions", tags=["divisions"])
Code = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="GB/T 2260 code")]


class DivisionRead(BaseModel):
    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None
    valid_from: date
    valid_to: date | None
    has_boundary: bool


@router.get("", response_model=list[DivisionRead], responses=problem_responses(422))
def list_divisions(
    session: SessionDep,
    parent_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    level: DivisionLevel | None = None,
) -> list[dict]:
    """Administrative divisions (GB/T 2260), ordered by code."""
    return repository.summaries(session, parent_code=parent_code, level=level)


@router.get("/{code}", response_model=DivisionRead, responses=problem_responses(404, 422))
def get_division(session: SessionDep, code: Code) -> dict:
    found = repository.summaries(session, code=code)
    if not found:
        raise NotFound(f"division {code} does not exist")
    return found[0]
