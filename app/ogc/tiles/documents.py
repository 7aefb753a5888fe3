"""The JSON documents of OGC API - Tiles and TileJSON: fixed per layer, so built here,
not by the database."""

from functools import cache
from typing import Any

import morecantile

from app.ogc.tiles.layers import Layer
from app.ogc.tiles.matrix import DETAIL_ZOOM, MAX_ZOOM, MIN_ZOOM, TILE_MATRIX_SET

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
TMS_URI = f"http://www.opengis.net/def/tilematrixset/OGC/1.0/{TILE_MATRIX_SET}"
CRS = "http://www.opengis.net/def/crs/EPSG/0/3857"
# What WebMercatorQuad covers.
WORLD = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
TYPES = {"Number": "number", "String": "string", "Boolean": "boolean"}


def _link(href: str, rel: str, type_: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"href": href, "rel": rel, "type": type_, "title": title, **extra}


def _tileset_url(base: str, layer: Layer) -> str:
    return f"{base}/ogc/collections/{layer.id}/tiles/{TILE_MATRIX_SET}"


def tile_matrix_sets(base: str) -> dict[str, Any]:
    href = f"{base}/ogc/tileMatrixSets/{TILE_MATRIX_SET}"
    return {
        "tileMatrixSets": [
            {
                "id": TILE_MATRIX_SET,
                "title": "Google Maps Compatible for the World",
                "uri": TMS_URI,
                "links": [_link(href, "self", JSON, "The tile matrix set")],
            }
        ]
    }


@cache
def tile_matrix_set() -> dict[str, Any]:
    return morecantile.tms.get(TILE_MATRIX_SET).model_dump(mode="json", exclude_none=True)


def _limits() -> list[dict[str, Any]]:
    return [
        {
            "tileMatrix": str(z),
            "minTileRow": 0,
            "maxTileRow": 2**z - 1,
            "minTileCol": 0,
            "maxTileCol": 2**z - 1,
        }
        for z in range(MIN_ZOOM, MAX_ZOOM + 1)
    ]


def _properties(fields: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": TYPES[kind]} for name, kind in fields.items()},
    }


def _summary(base: str, layer: Layer) -> dict[str, Any]:
    url = _tileset_url(base, layer)
    return {
        "title": f"{layer.title}: vector tiles",
        "dataType": "vector",
        "crs": CRS,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            _link(url, "self", JSON, "The tileset"),
            _link(
                f"{base}/ogc/tileMatrixSets/{TILE_MATRIX_SET}",
                f"{REL}tiling-scheme",
                JSON,
                "The tile matrix set",
            ),
            # WebMercatorQuad's matrix/column/row are the z/x/y of web maps
            _link(
                f"{url}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}",
                "item",
                MVT,
                "A tile",
                templated=True,
            ),
            _link(f"{url}/tilejson.json", "describedby", JSON, "TileJSON"),
        ],
    }


def tilesets(base: str, layer: Layer) -> dict[str, Any]:
    links = [_link(f"{base}/ogc/collections/{layer.id}/tiles", "self", JSON, "Tilesets")]
    if layer.clustered:  # the point layers are OGC collections too; divisions only tiles
        links.append(_link(f"{base}/ogc/collections/{layer.id}", "collection", JSON, layer.title))
    return {"links": links, "tilesets": [_summary(base, layer)]}


def _zooms(layer: Layer) -> list[tuple[str, dict[str, str], int, int]]:
    """Each vector layer of a tile: its name, fields and zooms."""
    if not layer.clustered:
        return [(layer.id, layer.fields, MIN_ZOOM, MAX_ZOOM)]
    return [
        (f"{layer.id}_clusters", layer.cluster_fields, MIN_ZOOM, DETAIL_ZOOM - 1),
        (layer.id, layer.fields, DETAIL_ZOOM, MAX_ZOOM),
    ]


def tileset(base: str, layer: Layer) -> dict[str, Any]:
    description = (
        f"Clusters per grid cell below zoom {DETAIL_ZOOM} (layer {layer.id}_clusters: count "
        f"and sums), single features from zoom {DETAIL_ZOOM} (layer {layer.id})"
        if layer.clustered
        else f"Outlines at every zoom (layer {layer.id})"
    )
    return {
        **_summary(base, layer),
        "description": f"{description}; beyond zoom {MAX_ZOOM}, overzoom. An empty tile is 204.",
        "tileMatrixSetLimits": _limits(),
        "layers": [
            {
                "id": name,
                "dataType": "vector",
                "geometryDimension": 0 if layer.clustered else 2,
                "minTileMatrix": str(low),
                "maxTileMatrix": str(high),
                "propertiesSchema": _properties(fields),
            }
            for name, fields, low, high in _zooms(layer)
        ],
    }


def tilejson(base: str, layer: Layer) -> dict[str, Any]:
    return {
        "tilejson": "3.0.0",
        "name": layer.id,
        "description": layer.title,
        "tiles": [f"{_tileset_url(base, layer)}/{{z}}/{{x}}/{{y}}"],
        "scheme": "xyz",
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": WORLD,
        "vector_layers": [
            {
                "id": name,
                "description": layer.title
                + (": clusters per grid cell" if name.endswith("_clusters") else ""),
                "fields": fields,
                "minzoom": low,
                "maxzoom": high,
            }
            for name, fields, low, high in _zooms(layer)
        ],
    }
