"""The JSON documents of the OGC API: landing page, conformance, collections, queryables,
and the OpenAPI 3.0 description of /ogc."""

import copy
import json
import re
from typing import Any

from fastapi import Request
from sqlalchemy import ColumnElement

from app.ogc import cql2, crs, tiles
from app.ogc.collections import COLLECTIONS, Collection, Kind, visible_columns

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
REF = re.compile(r"#/components/schemas/([^\"]+)")


def base_url(request: Request) -> str:
    """The server's root as the client reached it, for absolute links."""
    return str(request.base_url).rstrip("/")


CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    *cql2.CONFORMANCE,
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    *tiles.CONFORMANCE,
]


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    found = {"href": href, "rel": rel, "type": type_}
    return {**found, "title": title} if title else found


def self_links(href: str, type_: str) -> list[dict[str, str]]:
    """`self` in JSON and `alternate` in HTML; `f` picks the format."""
    return [
        link(f"{href}?f=json", "self", type_, "This document"),
        link(f"{href}?f=html", "alternate", HTML, "This document as HTML"),
    ]


def landing(base: str) -> dict[str, Any]:
    root = f"{base}/ogc"
    return {
        "title": "Civil air defense registry: OGC API",
        "description": "Civil air defense works (人防工程), their entrances, car parks and "
        "signage as OGC API - Features (with CRS and CQL2 filtering) and vector tiles.",
        "links": [
            *self_links(root, JSON),
            link(f"{root}/api", "service-desc", OPENAPI, "The API definition"),
            link(f"{base}/docs", "service-doc", HTML, "The API documentation"),
            link(f"{root}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{root}/conformance", f"{REL}conformance", JSON, "Conformance classes"),
            link(f"{root}/collections", "data", JSON, "Collections"),
            link(f"{root}/collections", f"{REL}data", JSON, "Collections"),
            link(f"{root}/tileMatrixSets", f"{REL}tiling-schemes", JSON, "Tile matrix sets"),
        ],
    }


def conformance(base: str) -> dict[str, Any]:
    return {"links": self_links(f"{base}/ogc/conformance", JSON), "conformsTo": CONFORMANCE}


def collection(
    base: str, c: Collection, bbox: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    """`bbox`: the extent of the collection's features (CRS84), None while it has none."""
    href = f"{base}/ogc/collections/{c.id}"
    extent = {"extent": {"spatial": {"bbox": [list(bbox)], "crs": crs.CRS84.uri}}} if bbox else {}
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        **extent,
        "crs": list(crs.SUPPORTED),
        "storageCrs": crs.STORAGE.uri,
        "links": [
            *self_links(href, JSON),
            link(f"{href}/items?f=json", "items", GEOJSON, "Features"),
            link(f"{href}/items?f=html", "items", HTML, "Features as HTML"),
            link(f"{href}/queryables", f"{REL}queryables", SCHEMA, "Queryables"),
            link(f"{href}/schema", f"{REL}schema", SCHEMA, "Schema of the features"),
            *tiles.tileset_links(base, c.id),
        ],
    }


def collections(
    base: str, found: list[Collection], bboxes: dict[str, tuple[float, float, float, float] | None]
) -> dict[str, Any]:
    return {
        "links": self_links(f"{base}/ogc/collections", JSON),
        "collections": [collection(base, c, bboxes[c.id]) for c in found],
        "crs": list(crs.SUPPORTED),
    }


def queryables(base: str, c: Collection, restricted: bool | ColumnElement[bool]) -> dict[str, Any]:
    href = f"{base}/ogc/collections/{c.id}/queryables"
    properties: dict[str, Any] = {"geometry": {"title": "Location", **Kind.geometry.schema}}
    for name in visible_columns(c, restricted):
        column = c.columns[name]
        if column.kind.comparable:
            schema = {"title": column.title, **column.kind.schema}
            properties[name] = {**schema, "enum": list(column.enum)} if column.enum else schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": c.title,
        "properties": properties,
        "additionalProperties": False,
        "links": self_links(href, SCHEMA),
    }


def schema(base: str, c: Collection, restricted: bool | ColumnElement[bool]) -> dict[str, Any]:
    """The features' schema (OGC API - Features Part 5): every property the caller sees,
    with the roles of the id, the geometry and the update time."""
    href = f"{base}/ogc/collections/{c.id}/schema"
    properties: dict[str, Any] = {
        "id": {"title": "Identifier", "type": "integer", "x-ogc-role": "id", "readOnly": True},
        "geometry": {"title": "Location", **Kind.geometry.schema},
    }
    for name in visible_columns(c, restricted):
        column = c.columns[name]
        found = {"title": column.title, **column.kind.schema, "readOnly": True}
        if column.enum:
            found["enum"] = list(column.enum)
        if name == c.datetime:
            found["x-ogc-role"] = "primary-instant"
        properties[name] = found
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": c.title,
        "description": c.description,
        "properties": properties,
        "links": self_links(href, SCHEMA),
    }


ITEMS_PATH = "/collections/{collection_id}/items"


def openapi(full: dict[str, Any], equals: dict[str, dict[str, Kind]]) -> dict[str, Any]:
    """The app's OpenAPI document cut to /ogc, its paths relative to that server, in
    OpenAPI 3.0 terms (FastAPI writes 3.1, which older clients do not read): nullable
    instead of a null type. Each collection's items get a path of their own, with the
    properties that `equals` offers as plain query parameters: GDAL looks them up at
    /collections/{id}/items and then sends a `name = value` filter as `?name=value`."""
    paths = {
        path.removeprefix("/ogc") or "/": item
        for path, item in full["paths"].items()
        if path == "/ogc" or path.startswith("/ogc/")
    }
    generic = paths[ITEMS_PATH]["get"]
    for collection_id, properties in equals.items():
        operation = copy.deepcopy(generic)
        operation["operationId"] = f"{generic['operationId']}_{collection_id}"
        operation["summary"] = f"Features of {COLLECTIONS[collection_id].title}"
        operation["parameters"] = [p for p in operation["parameters"] if p["in"] != "path"] + [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"only features whose {name} is this value",
                "schema": _equals_schema(COLLECTIONS[collection_id], name, kind),
            }
            for name, kind in properties.items()
        ]
        paths[ITEMS_PATH.replace("{collection_id}", collection_id)] = {"get": operation}
    schemas = full.get("components", {}).get("schemas", {})
    used: set[str] = set()
    pending: Any = paths
    while new := set(REF.findall(json.dumps(pending))) - used:
        used |= new
        pending = [schemas[name] for name in new]
    components = {
        **full.get("components", {}),
        "schemas": {name: schemas[name] for name in sorted(used)},
    }
    document = {
        **full,
        "openapi": "3.0.3",
        "servers": [{"url": "/ogc"}],
        "paths": paths,
        "components": components,
    }
    return _as_30(copy.deepcopy(document))


def _equals_schema(c: Collection, name: str, kind: Kind) -> dict[str, Any]:
    column = c.columns[name]
    return {**kind.schema, "enum": list(column.enum)} if column.enum else dict(kind.schema)


def _as_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_as_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_30(value) for key, value in node.items() if key != "examples"}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        node.pop("anyOf")
        node.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        node["nullable"] = True
    return node
