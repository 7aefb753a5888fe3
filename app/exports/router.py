import os
from collections.abc import Generator, Iterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.accounts.dependencies import RestrictedReader
from app.core.errors import problem_responses
from app.core.geo import CoordSys, CoordSysQuery, Positions, crs_header
from app.db.session import AdmittedStream, SessionDep, bounded
from app.exports import service as exports
from app.exports.service import FILE_FORMATS, MEDIA_TYPES, Export, ExportFilter, ExportFormat
from app.facilities.dependencies import FacilityFilterDep
from app.facilities.scope import restricted_clause

router = APIRouter(prefix="/v1/export", tags=["export"])


@router.get(
    "",
    responses={
        200: {
            "description": "the facilities as a file",
            "content": {media: {} for media in MEDIA_TYPES.values()},
        },
        **problem_responses(400, 403, 422),
    },
)
def export_facilities(
    request: Request,
    session: SessionDep,
    where: FacilityFilterDep,
    principal: RestrictedReader,
    format: Annotated[ExportFormat, Query(description="file format")] = ExportFormat.geojson,
    coordsys: CoordSysQuery = CoordSys.wgs84,
    crs: Annotated[
        str | None,
        Query(
            max_length=100,
            description="gpkg and fgb only: a CGCS2000 3-degree Gauss-Krüger zone, "
            "EPSG:4513 to EPSG:4554 (Hefei: EPSG:4548)",
        ),
    ] = None,
):
    """All facilities matching the filters of GET /v1/facilities, as one file, in the
    order of their registry codes. Exports carry restricted fields, so they need a role
    that reads them; a manager exports its own scope. The text formats stream as they
    are read; GeoPackage and FlatGeobuf are built first, then sent."""
    positions = exports.positions_for(format, coordsys, crs)
    restricted = restricted_clause(principal)
    scoped = ExportFilter(where, None if restricted is True else restricted)
    # Once before streaming: a filter PostgreSQL refuses (an integer out of its range)
    # must be a 422 here, not a broken stream after a 200.
    exports.probe(session, scoped)
    name = f"facilities{format.suffix}"
    # No byte ranges: an export is built for its request from a snapshot of that moment,
    # so a second range would be cut from another build (GeoPackage stamps its build time),
    # which is how GDAL's /vsicurl/ stitched files together. Keeping builds to serve ranges
    # from would need an identity for every row and scope an export reads; a client that
    # wants random access downloads the file first (docs/import.md).
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Accept-Ranges": "none"}
    if positions.srid == 4326:
        headers |= crs_header(coordsys)
    # Each batch of the rows is a statement of its own, bound by export_statement_timeout_s:
    # a whole export takes minutes, more than a request's statement_timeout_s allows.
    bound = request.app.state.settings.export_statement_timeout_s
    if format in FILE_FORMATS:
        session.rollback()  # the request's connection back to the pool, for the build's own
        with bounded(request.app.state.sessionmaker, bound) as building:
            path = exports.to_temp_file(building.connection(), Export(scoped, format, positions))
            building.rollback()
        # Off the disk at once: its space comes back when it is sent or the client leaves.
        built = path.open("rb")
        path.unlink()
        return StreamingResponse(
            _blocks(built),
            media_type=MEDIA_TYPES[format],
            headers={**headers, "Content-Length": str(os.fstat(built.fileno()).st_size)},
        )
    return AdmittedStream(
        request.app.state,
        _stream(request, scoped, format, positions, bound),
        media_type=MEDIA_TYPES[format],
        headers=headers,
    )


def _blocks(built: BinaryIO) -> Iterator[bytes]:
    with built:
        while block := built.read(1 << 20):
            yield block


def _stream(
    request: Request,
    where: ExportFilter,
    file_format: ExportFormat,
    positions: Positions,
    bound: float,
) -> Generator[bytes]:
    # Its own session: the request's has committed and gone by the time the body streams.
    with bounded(request.app.state.sessionmaker, bound) as session:
        connection = session.connection()
        exports.prepare(connection)
        yield from exports.stream_text(connection, Export(where, file_format, positions))
        session.rollback()
