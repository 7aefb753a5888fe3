from typing import Annotated

from fastapi import Depends, Path, Query

from app.core.errors import InvalidInput
from app.core.geo import CHINA_BOUNDS
from app.db.session import SessionDep
from app.divisions.service import known_level
from app.facilities.models import ConstructionForm, FacilityStatus, Visibility, WartimeFunction
from app.facilities.repository import FacilityFilter


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


def facility_filter(
    session: SessionDep,
    bbox: Annotated[
        str | None,
        Query(
            description="west,south,east,north in WGS 84 degrees",
            examples=[",".join(map(str, CHINA_BOUNDS))],
        ),
    ] = None,
    admin_code: Annotated[
        str | None, Query(pattern=r"^[0-9]{6}$", description="GB/T 2260 code at any level")
    ] = None,
    wartime_function: WartimeFunction | None = None,
    construction_form: ConstructionForm | None = None,
    status: FacilityStatus | None = None,
    visibility: Visibility | None = None,
    min_capacity: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="text in the name or address")
    ] = None,
    include_deleted: bool = False,
) -> FacilityFilter:
    admin_level = None
    if admin_code is not None:
        admin_level = known_level(session, admin_code)
    return FacilityFilter(
        bbox=parse_bbox(bbox) if bbox else None,
        admin_level=admin_level,
        admin_code=admin_code,
        wartime_function=wartime_function,
        construction_form=construction_form,
        status=status,
        visibility=visibility,
        min_capacity=min_capacity,
        q=q.strip() or None if q else None,
        include_deleted=include_deleted,
    )


FacilityFilterDep = Annotated[FacilityFilter, Depends(facility_filter)]
FacilityId = Annotated[int, Path(ge=1, le=2**63 - 1, description="facility id")]
