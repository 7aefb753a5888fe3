from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.accounts.dependencies import AdminPrincipal, CurrentPrincipal, StaffWriter
from app.accounts.principal import Principal
from app.core.errors import IF_MATCH_ERRORS, problem_responses
from app.core.formats import GEOJSON, JSON, OutputFormat, wants_geojson
from app.core.geo import CoordSys, CoordSysQuery, crs_header, from_coordsys
from app.core.openapi import alternative
from app.core.pagination import cursor_id, encode_cursor, keyset_page, next_link, splice_items
from app.core.schemas import Instant
from app.core.versioning import IfMatch, etag
from app.db.session import SessionDep
from app.facilities import qr, service
from app.facilities.dependencies import (
    LIVE_WRITE_ERRORS,
    FacilityFilterDep,
    FacilityId,
    FacilityWriter,
)
from app.facilities.qr import MEDIA_TYPES, QrFormat, QrTarget
from app.facilities.schemas import (
    FacilityCreate,
    FacilityFeature,
    FacilityFeatureCollection,
    FacilityPage,
    FacilityPublicRead,
    FacilityRead,
    FacilityUpdate,
    FacilityVerification,
    VisibilityChange,
)
from app.idempotency import service as idempotency
from app.idempotency.service import IdempotencyDep

router = APIRouter(prefix="/v1/facilities", tags=["facilities"])

FormatQuery = Annotated[
    OutputFormat | None,
    Query(description="geojson for RFC 7946 GeoJSON; Accept: application/geo+json does the same"),
]


@dataclass(frozen=True)
class FacilityAnswer:
    """Answers with one facility as the caller may see it, as JSON or GeoJSON (`f`, or
    Accept) and in the caller's coordinate system."""

    session: Session
    request: Request
    principal: Principal
    coordsys: CoordSys

    def __call__(
        self,
        facility_id: int,
        f: OutputFormat | None = None,
        *,
        status_code: int = status.HTTP_200_OK,
        as_of: datetime | None = None,
    ) -> Response:
        as_feature = wants_geojson(self.request, f)
        doc = service.get_document(
            self.session,
            facility_id,
            as_feature=as_feature,
            principal=self.principal,
            as_of=as_of,
            coordsys=self.coordsys,
        )
        response = Response(
            doc.body,
            status_code=status_code,
            media_type=GEOJSON if as_feature else JSON,
            headers=crs_header(self.coordsys),
        )
        if doc.version is not None:
            response.headers["ETag"] = etag(doc.version)
        # The body depends on the caller's key: shared caches must not hand it to others.
        response.headers["Vary"] = "Authorization, Accept"
        return response


def _facility_answer(
    session: SessionDep,
    request: Request,
    principal: CurrentPrincipal,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> FacilityAnswer:
    return FacilityAnswer(session, request, principal, coordsys)


FacilityAnswerDep = Annotated[FacilityAnswer, Depends(_facility_answer)]


READ_MODELS = FacilityRead | FacilityPublicRead


def _or_geojson(
    feature: type[BaseModel], *errors: int, status_code: int = 200
) -> dict[int | str, Any]:
    """A route's answers: its model, or `feature` for GeoJSON (`f`, or Accept), and the
    problems `errors`."""
    return {status_code: alternative(GEOJSON, feature), **problem_responses(*errors)}


@router.get(
    "",
    response_model=FacilityPage,
    responses=_or_geojson(FacilityFeatureCollection, 400, 422),
)
def list_facilities(
    session: SessionDep,
    request: Request,
    principal: CurrentPrincipal,
    where: FacilityFilterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=100, description="from the previous page's next link")
    ] = None,
    f: FormatQuery = None,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    as_feature = wants_geojson(request, f)
    rows = service.list_documents(
        session,
        where,
        after_id=cursor_id(cursor),
        limit=limit + 1,
        as_feature=as_feature,
        principal=principal,
        coordsys=coordsys,
    )
    page, next_cursor = keyset_page(rows, limit, lambda row: encode_cursor(row[0]))
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON if as_feature else JSON}]
    if next_cursor:
        links.append(
            {
                "rel": "next",
                "href": next_link(request.url, next_cursor),
                "type": GEOJSON if as_feature else JSON,
            }
        )
    docs = [doc.encode() for _, doc in page]
    if as_feature:
        body = splice_items({"type": "FeatureCollection", "links": links}, "features", docs)
    else:
        body = splice_items({"next_cursor": next_cursor, "links": links}, "items", docs)
    response = Response(
        body, media_type=GEOJSON if as_feature else JSON, headers=crs_header(coordsys)
    )
    response.headers["Vary"] = "Authorization, Accept"
    return response


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FacilityRead,
    responses=_or_geojson(
        FacilityFeature, 400, 403, 409, 413, 422, status_code=status.HTTP_201_CREATED
    ),
)
def create_facility(
    session: SessionDep,
    request: Request,
    principal: StaffWriter,
    idempotency_key: IdempotencyDep,
    data: FacilityCreate,
    answer: FacilityAnswerDep,
    f: FormatQuery = None,
) -> Response:
    """Admins anywhere; managers inside their scope (the division the facility lands in).
    Positions are read, and answered, in `coordsys`."""
    if (replay := idempotency.begin(session, idempotency_key, principal)) is not None:
        return replay
    data = from_coordsys(data, answer.coordsys)
    facility_id = service.create_facility(session, data, principal=principal)
    response = answer(facility_id, f, status_code=status.HTTP_201_CREATED)
    response.headers["Location"] = str(request.url_for("get_facility", facility_id=facility_id))
    return idempotency.finish(session, idempotency_key, principal, response)


@router.get(
    "/by-code/{code}",
    response_model=READ_MODELS,
    responses=_or_geojson(FacilityFeature, 404, 410, 422),
)
def get_facility_by_code(
    session: SessionDep,
    principal: CurrentPrincipal,
    code: Annotated[str, PathParam(min_length=1, max_length=40, description="registry code")],
    answer: FacilityAnswerDep,
    f: FormatQuery = None,
) -> Response:
    """The facility a plaque, QR code or paper ledger names by its registry code."""
    return answer(service.id_by_code(session, code, principal=principal), f)


@router.get(
    "/{facility_id}/qr",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in MEDIA_TYPES.values()}, "description": "the QR code"},
        **problem_responses(400, 404, 410, 422),
    },
)
def get_qr(
    session: SessionDep,
    request: Request,
    principal: CurrentPrincipal,
    facility_id: FacilityId,
    kind: Annotated[
        QrFormat, Query(alias="format", description="svg (print) or png")
    ] = QrFormat.svg,
    target: Annotated[
        QrTarget, Query(description="the public page, or the report form (RF_QR_REPORT_URL)")
    ] = QrTarget.page,
    scale: Annotated[int, Query(ge=1, le=40, description="pixels (SVG units) a module")] = 8,
) -> Response:
    """A QR code for the facility's plaque."""
    code = service.live_code(session, facility_id, principal=principal)
    settings = request.app.state.settings
    url = qr.target_url(
        target,
        base=settings.public_url or str(request.base_url),
        facility_id=facility_id,
        code=code,
        report_url=settings.qr_report_url,
    )
    return Response(
        qr.render(url, kind, scale=scale),
        media_type=MEDIA_TYPES[kind],
        headers={"X-QR-Content": quote(url, safe=":/?&=#%")},
    )


@router.get(
    "/{facility_id}",
    response_model=READ_MODELS,
    responses=_or_geojson(FacilityFeature, 404, 410, 422),
)
def get_facility(
    facility_id: FacilityId,
    answer: FacilityAnswerDep,
    f: FormatQuery = None,
    as_of: Annotated[
        Instant | None,
        Query(description="the facility as it was at this time, from the audit trail"),
    ] = None,
) -> Response:
    """Restricted fields (protection, layout, readiness, contacts) only for admin and gis
    keys, and manager keys in scope; everyone else gets FacilityPublicRead."""
    return answer(facility_id, f, as_of=as_of)


@router.patch(
    "/{facility_id}",
    response_model=FacilityRead,
    responses=_or_geojson(FacilityFeature, *LIVE_WRITE_ERRORS, 409, *IF_MATCH_ERRORS),
)
def update_facility(
    session: SessionDep,
    principal: FacilityWriter,
    facility_id: FacilityId,
    patch: Annotated[FacilityUpdate, Body()],
    answer: FacilityAnswerDep,
    if_match: IfMatch = None,
    f: FormatQuery = None,
) -> Response:
    service.update_facility(
        session,
        facility_id,
        from_coordsys(patch, answer.coordsys).model_dump(exclude_unset=True),
        principal=principal,
        if_match=if_match,
    )
    return answer(facility_id, f)


@router.delete(
    "/{facility_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 404, 410, 412, 422),
)
def delete_facility(
    session: SessionDep,
    principal: FacilityWriter,
    facility_id: FacilityId,
    if_match: IfMatch = None,
) -> Response:
    service.delete_facility(session, facility_id, principal=principal, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{facility_id}/verification",
    response_model=FacilityRead,
    responses=problem_responses(*LIVE_WRITE_ERRORS, 412),
)
def verify_facility(
    session: SessionDep,
    principal: FacilityWriter,
    facility_id: FacilityId,
    data: Annotated[FacilityVerification, Body()],
    answer: FacilityAnswerDep,
    if_match: IfMatch = None,
) -> Response:
    """Record that the facility was checked on site (last verified at/by): audited."""
    service.verify_facility(session, facility_id, data, principal=principal, if_match=if_match)
    return answer(facility_id)


@router.put(
    "/{facility_id}/visibility",
    response_model=FacilityRead,
    responses=problem_responses(*LIVE_WRITE_ERRORS, 412),
)
def set_visibility(
    session: SessionDep,
    principal: AdminPrincipal,
    facility_id: FacilityId,
    change: Annotated[VisibilityChange, Body()],
    answer: FacilityAnswerDep,
    if_match: IfMatch = None,
) -> Response:
    """Whether the public may know of the work (admins only): a restricted work is
    answered as missing to anyone who may not see it. Recorded in the facility's history
    with the reason. If-Match is honoured when sent."""
    service.set_visibility(session, facility_id, change, principal=principal, if_match=if_match)
    return answer(facility_id)
