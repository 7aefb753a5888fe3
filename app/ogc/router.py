"""OGC API - Features at /ogc: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 (CRS)
and Part 3 (CQL2 filtering), over the explicit collections of ogc.collections."""

import enum
import json
from dataclasses import fields
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.accounts.dependencies import CurrentPrincipal
from app.core.errors import BadRequest, NotFound, problem_responses
from app.core.pagination import splice_items
from app.core.query import query_parameters, read_query
from app.db.session import hot_read
from app.facilities.scope import PUBLIC_WORKS, restricted_clause, visible_clause
from app.ogc import crs as crs_
from app.ogc import documents, html, params, service
from app.ogc.collections import COLLECTIONS, Collection
from app.ogc.documents import GEOJSON, HTML, JSON, OPENAPI, SCHEMA, base_url, link

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"], route_class=params.OgcRoute)

# A larger limit is read as this one (/req/core/fc-limit-response-1).
MAX_LIMIT = 10_000
# The body depends on the caller's key and on content negotiation.
VARY = {"Vary": "Accept, Authorization"}


class Format(enum.StrEnum):
    json = "json"
    html = "html"


FormatQuery = Annotated[
    Format | None,
    Query(description="json (GeoJSON for features) or html; without it, the Accept header"),
]


def _wants_html(request: Request, f: Format | None) -> bool:
    """`f` wins; else HTML only for a client that asks for it (a browser): no Accept, or
    one without text/html, gets JSON."""
    if f is not None:
        return f == Format.html
    return HTML in request.headers.get("accept", "")


def _answer(
    request: Request, f: Format | None, title: str, document: dict[str, Any], media_type: str
) -> Response:
    if _wants_html(request, f):
        return Response(html.page(title, document), media_type=HTML, headers=VARY)
    return Response(json.dumps(document, ensure_ascii=False), media_type=media_type, headers=VARY)


async def _collection(collection_id: Annotated[str, Path(max_length=100)]) -> Collection:
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFound(f"no collection {collection_id!r}; see /ogc/collections")
    return found


CollectionDep = Annotated[Collection, Depends(_collection)]


def _responses(*types: str, errors: tuple[int, ...] = ()) -> dict[int | str, dict[str, Any]]:
    """The media types of a 200, and the problems: 400 for any malformed parameter."""
    content = {200: {"content": {media_type: {} for media_type in types}}}
    return {**content, **problem_responses(*sorted({400, *errors}))}


@router.get("", responses=_responses(JSON, HTML), response_class=Response)
async def landing_page(request: Request, f: FormatQuery = None) -> Response:
    """The landing page: links to the API definition, conformance and the collections."""
    return _answer(request, f, "OGC API", documents.landing(base_url(request)), JSON)


@router.get("/conformance", responses=_responses(JSON, HTML), response_class=Response)
async def conformance(request: Request, f: FormatQuery = None) -> Response:
    """The conformance classes implemented."""
    return _answer(request, f, "Conformance", documents.conformance(base_url(request)), JSON)


@router.get("/api", responses=_responses(OPENAPI, HTML), response_class=Response)
async def api(request: Request, f: FormatQuery = None) -> Response:
    """This API's OpenAPI 3.0 definition."""
    equals = {c.id: service.equals_properties(c) for c in COLLECTIONS.values()}
    document = documents.openapi(request.app.openapi(), equals)
    return _answer(request, f, "API definition", document, OPENAPI)


@router.get("/collections", responses=_responses(JSON, HTML), response_class=Response)
async def collections(request: Request, f: FormatQuery = None) -> Response:
    """The published collections."""
    bboxes = await service.extents(request.app.state).get(request.app.state, list(COLLECTIONS))
    document = documents.collections(base_url(request), list(COLLECTIONS.values()), bboxes)
    return _answer(request, f, "Collections", document, JSON)


@router.get(
    "/collections/{collection_id}",
    responses=_responses(JSON, HTML, errors=(404,)),
    response_class=Response,
)
async def collection(request: Request, c: CollectionDep, f: FormatQuery = None) -> Response:
    """One collection: its extent, CRSs and links to items, queryables and tiles."""
    bboxes = await service.extents(request.app.state).get(request.app.state, [c.id])
    document = documents.collection(base_url(request), c, bboxes[c.id])
    if _wants_html(request, f):
        return _html(request, c, c.title, document, await _sample(request, c))
    return _answer(request, f, c.title, document, JSON)


def _live(request: Request) -> dict[str, int]:
    """The ages after which the live figures a collection shows (parking occupancy,
    shelter status) are stale: the SQL parameters of every features query."""
    settings = request.app.state.settings
    return {
        "stale_after_s": settings.occupancy_stale_after_s,
        "shelter_stale_after_s": settings.shelter_status_stale_after_s,
    }


async def _sample(request: Request, c: Collection) -> list[bytes]:
    """The features a collection's HTML page draws: the first page of a thousand, public."""
    query = service.ItemsQuery(limit=html.MAP_FEATURES)
    live = _live(request)

    def run(session: Session) -> service.Page:
        return service.items(
            session,
            c,
            query,
            restricted=False,
            visible=PUBLIC_WORKS,
            crs=crs_.CRS84,
            sql_params=live,
        )

    return (await hot_read(request.app.state, run)).features


def _html(
    request: Request,
    c: Collection,
    title: str,
    document: dict[str, Any],
    features: list[bytes] | None = None,
    headers: dict[str, str] = VARY,
) -> Response:
    parsed = [json.loads(feature) for feature in features] if features is not None else None
    items_url = f"{base_url(request)}/ogc/collections/{c.id}/items"
    text = html.page(title, document, features=parsed, items_url=items_url)
    return Response(text, media_type=HTML, headers=headers)


@router.get(
    "/collections/{collection_id}/schema",
    responses=_responses(SCHEMA, HTML, errors=(404,)),
    response_class=Response,
)
async def schema(
    request: Request, c: CollectionDep, who: CurrentPrincipal, f: FormatQuery = None
) -> Response:
    """The features' properties as JSON Schema (OGC API - Features Part 5), restricted
    ones only for roles that read them."""
    document = documents.schema(base_url(request), c, restricted_clause(who))
    return _answer(request, f, f"Schema of {c.title}", document, SCHEMA)


@router.get(
    "/collections/{collection_id}/queryables",
    responses=_responses(SCHEMA, HTML, errors=(404,)),
    response_class=Response,
)
async def queryables(
    request: Request, c: CollectionDep, who: CurrentPrincipal, f: FormatQuery = None
) -> Response:
    """The properties a filter may use (JSON Schema); restricted ones only for roles that
    read them."""
    document = documents.queryables(base_url(request), c, restricted_clause(who))
    return _answer(request, f, f"Queryables of {c.title}", document, SCHEMA)


class ItemsParameters(BaseModel):
    """The items resource's parameters (core.query), besides property comparisons."""

    model_config = ConfigDict(extra="allow")

    limit: int = Field(
        10,
        ge=1,
        description=f"features a page, at most {MAX_LIMIT}: more reads as {MAX_LIMIT}",
        json_schema_extra={"maximum": MAX_LIMIT},
    )
    bbox: str | None = Field(
        None, max_length=1000, description="minx,miny,maxx,maxy (or 6 numbers), in bbox-crs"
    )
    bbox_crs: str | None = Field(None, alias="bbox-crs", max_length=200)
    datetime: str | None = Field(
        None, max_length=100, description="update time: an instant, or start/end with '..'"
    )
    crs: str | None = Field(None, max_length=200, description="CRS of the answer")
    filter: str | None = Field(None, max_length=20_000, description="a CQL2 filter")
    filter_lang: str | None = Field(
        None, alias="filter-lang", description="cql2-text (default) or cql2-json"
    )
    filter_crs: str | None = Field(None, alias="filter-crs", max_length=200)
    properties: str | None = Field(
        None, max_length=2000, description="comma-separated properties to return"
    )
    sortby: str | None = Field(
        None, max_length=2000, description="comma-separated, - for descending"
    )
    cursor: str | None = Field(None, max_length=4000, description="from a next or prev link")
    f: Format | None = Field(
        None, description="json (GeoJSON for features) or html; without it, the Accept header"
    )


# The items parameters that pass to the query as they were given.
_QUERY_FIELDS = {field.name for field in fields(service.ItemsQuery)} - {"limit", "equals"}


@router.get(
    "/collections/{collection_id}/items",
    responses=_responses(GEOJSON, HTML, errors=(400, 404)),
    response_class=Response,
    openapi_extra=query_parameters(ItemsParameters),
)
async def items(request: Request, c: CollectionDep, who: CurrentPrincipal) -> Response:
    """Features of the collection, in pages linked by next and prev. A public property
    given as a parameter (`?status=in_service`) selects the features with that value."""
    given = read_query(request, ItemsParameters)
    out_crs = crs_.parse(given.crs, field="crs")
    equals = params.single(request, service.ITEMS_PARAMETERS)
    query = service.ItemsQuery(
        **given.model_dump(include=_QUERY_FIELDS),
        limit=min(given.limit, MAX_LIMIT),
        equals=tuple(equals.items()),
    )
    f = given.f
    restricted, visible, live = restricted_clause(who), visible_clause(who), _live(request)

    def run(connection: Session | psycopg.Connection) -> service.Page:
        return service.items(
            connection,
            c,
            query,
            restricted=restricted,
            visible=visible,
            crs=out_crs,
            sql_params=live,
        )

    fast = service.fast(query, restricted, visible)
    page = await hot_read(request.app.state, run, inline=fast, raw=fast)
    as_html = _wants_html(request, f)
    links = _page_links(request, c, page, HTML if as_html else GEOJSON)
    envelope: dict[str, Any] = {"type": "FeatureCollection", "links": links}
    if page.number_matched is not None:
        envelope["numberMatched"] = page.number_matched
    envelope["numberReturned"] = len(page.features)
    body = splice_items(envelope, "features", page.features)
    headers = {**VARY, "Content-Crs": f"<{out_crs.uri}>"}
    if as_html:
        return _html(request, c, c.title, json.loads(body), headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)


def _page_links(
    request: Request, c: Collection, page: service.Page, type_: str
) -> list[dict[str, str]]:
    url = request.url
    if type_ == HTML:
        other = link(str(url.include_query_params(f="json")), "alternate", GEOJSON, "As GeoJSON")
    else:
        other = link(str(url.include_query_params(f="html")), "alternate", HTML, "As HTML")
    links = [
        link(str(url), "self", type_, "This page"),
        other,
        link(f"{base_url(request)}/ogc/collections/{c.id}", "collection", JSON, c.title),
    ]
    if page.next_cursor:
        links.append(
            link(str(url.include_query_params(cursor=page.next_cursor)), "next", type_, "Next")
        )
    if page.prev_cursor:
        links.append(
            link(str(url.include_query_params(cursor=page.prev_cursor)), "prev", type_, "Back")
        )
    return links


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    responses=_responses(GEOJSON, HTML, errors=(400, 404)),
    response_class=Response,
)
async def item(
    request: Request,
    c: CollectionDep,
    who: CurrentPrincipal,
    feature_id: Annotated[str, Path(max_length=30)],
    crs: Annotated[str | None, Query(max_length=200, description="CRS of the answer")] = None,
    properties: Annotated[str | None, Query(max_length=2000)] = None,
    f: FormatQuery = None,
) -> Response:
    """One feature."""
    unknown = params.single(request, service.ITEM_PARAMETERS)
    if unknown:
        name = next(iter(unknown))
        raise BadRequest(f"{name}: unknown query parameter; a feature takes crs, properties, f")
    out_crs = crs_.parse(crs, field="crs")
    if not feature_id.isdigit() or int(feature_id) >= 2**63:
        raise NotFound(f"no feature {feature_id!r} in {c.id}")
    restricted, visible, live = restricted_clause(who), visible_clause(who), _live(request)

    def run(session: Session) -> str | None:
        return service.item(
            session,
            c,
            int(feature_id),
            restricted=restricted,
            visible=visible,
            crs=out_crs,
            properties=properties,
            sql_params=live,
        )

    found = await hot_read(request.app.state, run)
    if found is None:
        raise NotFound(f"no feature {feature_id} in {c.id}")
    href = f"{base_url(request)}/ogc/collections/{c.id}/items/{feature_id}"
    links = [
        link(href, "self", GEOJSON, "This feature"),
        link(f"{href}?f=html", "alternate", HTML, "This feature as HTML"),
        link(f"{base_url(request)}/ogc/collections/{c.id}", "collection", JSON, c.title),
    ]
    body = f'{found[:-1]},"links":{json.dumps(links, ensure_ascii=False)}}}'
    headers = {**VARY, "Content-Crs": f"<{out_crs.uri}>"}
    if _wants_html(request, f):
        return _html(request, c, f"{c.title} {feature_id}", json.loads(body), headers=headers)
    return Response(body, media_type=GEOJSON, headers=headers)
