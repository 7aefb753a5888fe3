from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.accounts.dependencies import CurrentPrincipal, ensure_role
from app.accounts.principal import RESTRICTED_READERS
from app.audit.states import AsOfQuery
from app.core import dates
from app.core.errors import InvalidInput, problem_responses
from app.core.formats import CSV_ALTERNATIVE, XLSX, TableFormatQuery, table, wants_csv
from app.db.session import SessionDep
from app.facilities.dependencies import AdminCodeQuery
from app.facilities.models import ConstructionForm, FacilityStatus, WartimeFunction
from app.stats import service
from app.stats.repository import StatsFilter
from app.stats.schemas import ParkingYear, StatsRead
from app.stats.service import Dimension

router = APIRouter(prefix="/v1", tags=["statistics"])


def _stats_filter(
    session: SessionDep,
    principal: CurrentPrincipal,
    admin_code: AdminCodeQuery = None,
    wartime_function: WartimeFunction | None = None,
    construction_form: ConstructionForm | None = None,
    status: FacilityStatus | None = None,
) -> StatsFilter:
    return service.make_filter(
        session,
        principal=principal,
        admin_code=admin_code,
        wartime_function=wartime_function,
        construction_form=construction_form,
        status=status,
    )


StatsFilterDep = Annotated[StatsFilter, Depends(_stats_filter)]


async def _dimensions(
    by: Annotated[
        list[str] | None,
        Query(
            description="group by at most two of: a division level (province, city or "
            "district), year or decade (of completion), wartime_function, construction_form, "
            "protection_class (restricted); repeated or comma-separated (by=city,year)"
        ),
    ] = None,
) -> list[Dimension]:
    names = [name.strip() for value in by or [] for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in Dimension.__members__]
    if unknown:
        known = ", ".join(Dimension)
        raise InvalidInput.on("by", f"{unknown[0]!r} is not one of {known}")
    return [Dimension(name) for name in names]


async def _population_layer(
    principal: CurrentPrincipal,
    population_layer: Annotated[
        int | None,
        Query(
            ge=1,
            description="a population layer: residents per group's division (else of the "
            "filtered area) and shelter area and capacity per resident; for the roles that "
            "read layers (admin, gis, manager)",
        ),
    ] = None,
) -> int | None:
    """A layer's residents are read by those who may read the layer on /v1/planning,
    before anyone learns whether it exists."""
    if population_layer is not None:
        ensure_role(principal, RESTRICTED_READERS)
    return population_layer


@router.get(
    "/stats",
    response_model=StatsRead,
    responses={**CSV_ALTERNATIVE, **problem_responses(403, 422)},
)
def get_stats(
    session: SessionDep,
    request: Request,
    principal: CurrentPrincipal,
    where: StatsFilterDep,
    by: Annotated[list[Dimension], Depends(_dimensions)],
    f: TableFormatQuery = None,
    as_of: AsOfQuery = None,
    population_layer: Annotated[int | None, Depends(_population_layer)] = None,
) -> Response:
    """Counts, areas, wartime capacity, parking and EV figures, facilities per peacetime
    use, signage completion and open public reports of the live facilities matching the
    filters that the caller may see, grouped by a division level and/or completion year,
    with their total.
    Open maintenance findings appear for callers who may read those records."""
    restricted = service.reads_restricted(session, principal, where)
    document = service.get_figures(
        session, where, by=by, restricted=restricted, as_of=as_of, layer_id=population_layer
    )
    as_csv = wants_csv(request, f)
    body = service.figures_csv(document, restricted=restricted) if as_csv else document
    return table(body, as_csv=as_csv, name="stats")


@router.get(
    "/stats/parking-by-year",
    response_model=list[ParkingYear],
    responses={**CSV_ALTERNATIVE, **problem_responses(422)},
)
def get_parking_by_year(
    session: SessionDep,
    request: Request,
    where: StatsFilterDep,
    f: TableFormatQuery = None,
    as_of: AsOfQuery = None,
) -> Response:
    """Parking spaces added per year: the spaces of car parks in works completed that
    year, and the running total. Same filters as /v1/stats, and `as_of`."""
    document = service.get_parking_by_year(session, where, as_of=as_of)
    as_csv = wants_csv(request, f)
    body = service.parking_by_year_csv(document) if as_csv else document
    return table(body, as_csv=as_csv, name="parking-by-year")


@router.get(
    "/stats/survey",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(422),
    },
)
def get_survey(session: SessionDep, where: StatsFilterDep, as_of: AsOfQuery = None) -> Response:
    """The tables of the potential survey (人防工程潜力调查) as an .xlsx workbook with
    Chinese headers: a row per division from `admin_code` (default the whole registry)
    down to its districts, totals adding up level by level. Same filters as /v1/stats."""
    body = service.get_survey(session, where, as_of=as_of)
    name = f"survey-{where.admin_code or 'all'}-{(as_of or dates.today()).isoformat()}.xlsx"
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Authorization"},
    )
