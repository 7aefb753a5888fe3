"""The JSON documents of OGC API - Tiles and TileJSON: fixed per layer, so built here,
not by the database."""

from functools import cache
from typing import Any

import morecantile

from app.ogc.tiles.layers import Layer
from app.ogc.tiles.matrix import (
    DETAIL_ZOOM,
    MAX_ZOOM,
    MIN_ZOOM,
    TILE_MATRIX_SET,
    TILE_SETS,
    WEB_MERCATOR,
    TileSet,
)

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
TMS_URI = f"http://www.opengis.net/def/tilematrixset/OGC/1.0/{TILE_MATRIX_SET}"
# What WebMercatorQuad covers.
WORLD = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
TYPES = {"Number": "number", "String": "string", "Boolean": "boolean"}


def _link(href: str, rel: str, type_: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"href": href, "rel": rel, "type": type_, "title": title, **extra}


def _tileset_url(base: str, layer: Layer, tile_set: TileSet) -> str:
    return f"{base}/ogc/collections/{layer.id}/tiles/{tile_set.id}"


def _tms_uri(tile_set: TileSet) -> str | None:
    # The GCJ-02 set has no registered URI: it is described by its own document.
    return TMS_URI if tile_set == WEB_MERCATOR else None


def tile_matrix_sets(base: str) -> dict[str, Any]:
    return {
        "tileMatrixSets": [
            {
                "id": tile_set.id,
                "title": tile_set.title,
                **({"uri": uri} if (uri := _tms_uri(tile_set)) else {}),
                "links": [
                    _link(
                        f"{base}/ogc/tileMatrixSets/{tile_set.id}",
                        "self",
                        JSON,
                        "The tile matrix set",
                    )
                ],
            }
            for tile_set in TILE_SETS.values()
        ]
    }


@cache
def tile_matrix_set(tile_set_id: str = TILE_MATRIX_SET) -> dict[str, Any]:
    """WebMercatorQuad's definition; the GCJ-02 set is the same grid, over positions
    shifted to GCJ-02 (its CRS says so)."""
    document = morecantile.tms.get(TILE_MATRIX_SET).model_dump(mode="json", exclude_none=True)
    tile_set = TILE_SETS[tile_set_id]
    if tile_set != WEB_MERCATOR:
        document = {**document, "id": tile_set.id, "title": tile_set.title, "crs": tile_set.crs}
        document.pop("uri", None)
    return document


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


def _summary(base: str, layer: Layer, tile_set: TileSet) -> dict[str, Any]:
    url = _tileset_url(base, layer, tile_set)
    suffix = "" if tile_set == WEB_MERCATOR else " for GCJ-02 base maps (Amap, Tencent)"
    return {
        "title": f"{layer.title}: vector tiles{suffix}",
        "dataType": "vector",
        "crs": tile_set.crs,
        **({"tileMatrixSetURI": uri} if (uri := _tms_uri(tile_set)) else {}),
        "links": [
            _link(url, "self", JSON, "The tileset"),
            _link(
                f"{base}/ogc/tileMatrixSets/{tile_set.id}",
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
    return {
        "links": links,
        "tilesets": [_summary(base, layer, tile_set) for tile_set in TILE_SETS.values()],
    }


def _zooms(layer: Layer) -> list[tuple[str, dict[str, str], int, int]]:
    """Each vector layer of a tile: its name, fields and zooms."""
    if not layer.clustered:
        return [(layer.id, layer.fields, MIN_ZOOM, MAX_ZOOM)]
    return [
        (f"{layer.id}_clusters", layer.cluster_fields, MIN_ZOOM, DETAIL_ZOOM - 1),
        (layer.id, layer.fields, DETAIL_ZOOM, MAX_ZOOM),
    ]


def tileset(base: str, layer: Layer, tile_set: TileSet) -> dict[str, Any]:
    description = (
        f"Clusters per grid cell below zoom {DETAIL_ZOOM} (layer {layer.id}_clusters: count "
        f"and sums), single features from zoom {DETAIL_ZOOM} (layer {layer.id})"
        if layer.clustered
        else f"Outlines at every zoom (layer {layer.id})"
    )
    return {
        **_summary(base, layer, tile_set),
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


def tilejson(
    base: str, layer: Layer, tile_set: TileSet, bounds: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    """`bounds`: the layer's features' extent; the whole tile matrix set while it has none."""
    shifted = tile_set != WEB_MERCATOR
    return {
        "tilejson": "3.0.0",
        "name": f"{layer.id}{tile_set.key_suffix}",
        "description": layer.title
        + (": positions in GCJ-02, for Amap and Tencent base maps" if shifted else ""),
        "tiles": [f"{_tileset_url(base, layer, tile_set)}/{{z}}/{{x}}/{{y}}"],
        "scheme": "xyz",
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": list(bounds) if bounds else WORLD,
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
