"""OGC API - Tiles: vector tiles (MVT) of the OGC collections, rendered by PostGIS.

layers.py says what each collection's tiles show, repository.py renders them,
matrix.py holds the WebMercatorQuad arithmetic, cache.py the server-side cache and how
writes invalidate exactly the tiles they touch, in every process."""

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
]


def tileset_links(base_url: str, collection_id: str) -> list[dict]:
    """Links a collection document carries to its vector tilesets."""
    href = f"{base_url}/ogc/collections/{collection_id}/tiles"
    return [
        {
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
            "type": "application/json",
            "title": "Vector tilesets",
            "href": href,
        }
    ]
