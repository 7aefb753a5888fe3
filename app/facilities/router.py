from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status

from app.core.errors import problem_responses
from app.core.formats import GEOJSON, JSON, OutputFormat, wants_geojson
from app.core.pagination import decode_cursor, encode_cursor, next_link, splice_items
from app.db.session import SessionDep
from app.facilities import service
from app.facilities.dependencies import FacilityFilterDep, FacilityId
from app.facilities.schemas import FacilityCreate, FacilityPage, FacilityRead, FacilityUpdate

router = APIRouter(prefix="/v1/facilities", tags=["facilities"])

FormatQuery = Annotated[
    OutputFormat | None,
    Query(description="geojson for RFC 7946 GeoJSON; Accept: application/geo+json does the same"),
]


def _geojson_alternative(schema: str) -> dict[str, Any]:
    return {"content": {GEOJSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _one(
    session: SessionDep,
    request: Request,
    facility_id: int,
    f: OutputFormat | None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    as_feature = wants_geojson(request, f)
    body = service.get_document(session, facility_id, as_feature=as_feature)
    return Response(body, status_code=status_code, media_type=GEOJSON if as_feature else JSON)


@router.get(
    "",
    response_model=FacilityPage,
    responses={
        200: _geojson_alternative("FacilityFeatureCollection"),
        **problem_responses(400, 422),
    },
)
def list_facilities(
    session: SessionDep,
    request: Request,
    where: FacilityFilterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=100, description="from the previous page's next link")
    ] = None,
    f: FormatQuery = None,
) -> Response:
    as_feature = wants_geojson(request, f)
    after_id = decode_cursor(cursor) if cursor else None
    rows = service.list_documents(
        session, where, after_id=after_id, limit=limit + 1, as_feature=as_feature
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][0]) if len(rows) > limit else None
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON if as_feature else JSON}]
    if next_cursor:
        links.append(
            {
                "rel": "next",
                "href": next_link(request.url, next_cursor),
                "type": GEOJSON if as_feature else JSON,
            }
        )
    docs = [doc for _, doc in page]
    if as_feature:
        body = splice_items({"type": "FeatureCollection", "links": links}, "features", docs)
    else:
        body = splice_items({"next_cursor": next_cursor, "links": links}, "items", docs)
    return Response(body, media_type=GEOJSON if as_feature else JSON)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FacilityRead,
    responses={
        201: _geojson_alternative("FacilityFeature"),
        **problem_responses(400, 409, 413, 422),
    },
)
def create_facility(
    session: SessionDep, request: Request, data: FacilityCreate, f: FormatQuery = None
) -> Response:
    facility_id = service.create_facility(session, data)
    response = _one(session, request, facility_id, f, status.HTTP_201_CREATED)
    response.headers["Location"] = str(request.url_for("get_facility", facility_id=facility_id))
    return response


@router.get(
    "/{facility_id}",
    response_model=FacilityRead,
    responses={200: _geojson_alternative("FacilityFeature"), **problem_responses(404, 422)},
)
def get_facility(
    session: SessionDep, request: Request, facility_id: FacilityId, f: FormatQuery = None
) -> Response:
    return _one(session, request, facility_id, f)


@router.patch(
    "/{facility_id}",
    response_model=FacilityRead,
    responses={
        200: _geojson_alternative("FacilityFeature"),
        **problem_responses(400, 404, 409, 410, 413, 422),
    },
)
def update_facility(
    session: SessionDep,
    request: Request,
    facility_id: FacilityId,
    patch: Annotated[FacilityUpdate, Body()],
    f: FormatQuery = None,
) -> Response:
    service.update_facility(session, facility_id, patch.model_dump(exclude_unset=True))
    return _one(session, request, facility_id, f)


@router.delete(
    "/{facility_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 410, 422),
)
def delete_facility(session: SessionDep, facility_id: FacilityId) -> Response:
    service.delete_facility(session, facility_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
