from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.accounts.dependencies import RestrictedReader, StaffWriter
from app.core.errors import InvalidInput, problem_responses
from app.core.formats import GEOJSON
from app.core.geo import CoordSys, CoordSysQuery, crs_header, geometries_in
from app.db.session import SessionDep
from app.divisions.models import DivisionLevel
from app.idempotency import service as idempotency
from app.idempotency.service import IdempotencyDep
from app.planning import service
from app.planning.models import MAX_RADIUS_M
from app.planning.readers import PopulationFormat
from app.planning.schemas import AssignmentRead, CoverageRead, PopulationLayerRead

# Population files have their own body limit (see main.py).
POPULATION_PATH = "/v1/planning/population-layers"
router = APIRouter(prefix="/v1/planning", tags=["planning"])

LayerId = Annotated[int, Path(ge=1, le=2**63 - 1, description="population layer id")]
AdminCode = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{6}$", description="only residents in this division (any level)"),
]
Radius = Annotated[
    float,
    Query(gt=0, le=MAX_RADIUS_M, description="service radius of a shelter, metres (GB 50038)"),
]
READ_ERRORS = problem_responses(403, 404, 422)
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            GEOJSON: {"schema": {"type": "object"}},
        },
    }
}
MEDIA_FORMATS = {
    "text/csv": PopulationFormat.csv,
    GEOJSON: PopulationFormat.geojson,
    "application/json": PopulationFormat.geojson,
}


def _file_format(request: Request, format: PopulationFormat | None) -> PopulationFormat:
    if format is not None:
        return format
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA_FORMATS:
        raise InvalidInput.on(
            "format", "send Content-Type text/csv or application/geo+json, or give format="
        )
    return MEDIA_FORMATS[media]


@router.post(
    "/population-layers",
    status_code=status.HTTP_201_CREATED,
    response_model=PopulationLayerRead,
    openapi_extra=FILE_BODY,
    responses=problem_responses(400, 403, 409, 413, 422),
)
async def create_population_layer(
    request: Request,
    session: SessionDep,
    principal: StaffWriter,
    idempotency_key: IdempotencyDep,
    name: Annotated[str, Query(min_length=1, max_length=200, description="unique name")],
    description: Annotated[str | None, Query(max_length=2000)] = None,
    format: Annotated[
        PopulationFormat | None, Query(description="when Content-Type does not tell")
    ] = None,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    """Upload residents as the raw body. CSV: a count column (`residents`, `count` or
    `population`) with `lon` and `lat` (in `coordsys`), or `admin_code`, or both. GeoJSON: a
    FeatureCollection of Points, Polygons (grid cells, blocks) or MultiPolygons, or of
    features without geometry naming an `admin_code`, each with a count property. A file
    with any bad row is refused whole, naming each row and field."""
    if (replay := idempotency.begin(session, idempotency_key, principal)) is not None:
        return replay
    layer = service.create_layer(
        session,
        name=name.strip(),
        description=description,
        data=await request.body(),
        file_format=_file_format(request, format),
        principal=principal,
        coordsys=coordsys,
    )
    response = JSONResponse(
        PopulationLayerRead.model_validate(layer).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"{router.prefix}/population-layers/{layer.id}"},
    )
    return idempotency.finish(session, idempotency_key, principal, response)


@router.get(
    "/population-layers",
    response_model=list[PopulationLayerRead],
    responses=problem_responses(403),
)
def list_population_layers(session: SessionDep, principal: RestrictedReader) -> Any:
    return service.list_layers(session)


@router.get(
    "/population-layers/{layer_id}", response_model=PopulationLayerRead, responses=READ_ERRORS
)
def get_population_layer(
    session: SessionDep, principal: RestrictedReader, layer_id: LayerId
) -> Any:
    return service.get_layer(session, layer_id)


@router.delete(
    "/population-layers/{layer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 404, 422),
)
def delete_population_layer(
    session: SessionDep, principal: StaffWriter, layer_id: LayerId
) -> Response:
    """Admins delete any layer; a manager the layers its key uploaded."""
    service.delete_layer(session, layer_id, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/population-layers/{layer_id}/coverage", response_model=CoverageRead, responses=READ_ERRORS
)
def get_coverage(
    session: SessionDep,
    principal: RestrictedReader,
    layer_id: LayerId,
    radius_m: Radius = 200,
    by: Annotated[
        DivisionLevel, Query(description="the division level areas are reported at")
    ] = DivisionLevel.district,
    admin_code: AdminCode = None,
) -> Any:
    """Per division: residents against the capacity and area of its personnel shelters in
    service (1 m² per person is the norm), and the share of residents within `radius_m`
    of one. A point counts whole or not at all; an area (a grid cell, a district by its
    loaded boundary) counts the share of it inside the shelters' circles."""
    return service.coverage(
        session, layer_id, principal=principal, radius=radius_m, by=by, admin_code=admin_code
    )


@router.get(
    "/population-layers/{layer_id}/uncovered",
    responses={200: {"content": {GEOJSON: {}}}, **READ_ERRORS},
)
def get_uncovered(
    session: SessionDep,
    principal: RestrictedReader,
    layer_id: LayerId,
    radius_m: Radius = 200,
    admin_code: AdminCode = None,
    h3_resolution: Annotated[
        int | None,
        Query(ge=0, le=15, description="bin the uncovered residents into H3 cells (9: ~0.1 km²)"),
    ] = None,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    """The gaps as GeoJSON: each uncovered point, or the part of an area outside every
    shelter's circle, with its uncovered residents; or, with `h3_resolution`, hexagons.
    Positions in `coordsys`, for a planner's Amap or Baidu base map."""
    collection = service.uncovered(
        session,
        layer_id,
        principal=principal,
        radius=radius_m,
        admin_code=admin_code,
        h3_resolution=h3_resolution,
    )
    collection["features"] = geometries_in(collection["features"], coordsys)
    return JSONResponse(collection, media_type=GEOJSON, headers=crs_header(coordsys))


@router.get(
    "/population-layers/{layer_id}/assignment",
    response_model=AssignmentRead,
    responses=READ_ERRORS,
)
def get_assignment(
    session: SessionDep,
    request: Request,
    principal: RestrictedReader,
    layer_id: LayerId,
    max_distance_m: Annotated[
        float, Query(gt=0, le=5000, description="no resident is sent further, metres")
    ] = 1000,
    admin_code: AdminCode = None,
    alert_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="only residents in this alert's area")
    ] = None,
) -> AssignmentRead:
    """Residents of each block (a point, or a point inside an area) to personnel shelters
    in service: as many as capacities allow within `max_distance_m`, and among those
    placements the least total straight-line distance. Exact (optimality gap 0); a
    block's residents may be split across shelters. A shelter with a fresh live status
    (PUT /v1/facilities/{id}/shelter/status) takes only its free places."""
    return service.assign(
        session,
        layer_id,
        principal=principal,
        max_distance=max_distance_m,
        admin_code=admin_code,
        stale_after_s=request.app.state.settings.shelter_status_stale_after_s,
        alert_id=alert_id,
    )
