"""GIS formats through GDAL: GeoJSON, GeoPackage, Shapefile, FlatGeobuf."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from app.imports.readers import common
from app.imports.readers.common import (
    WGS84_LIKE,
    Batch,
    FileFormat,
    FileProblem,
    Source,
    first_line,
    map_headers,
)


def _dbf_encoding(path: Path) -> str | None:
    """A Shapefile without a .cpg: Chinese offices save the .dbf in GBK as often as in
    UTF-8, and GDAL would assume Latin-1. The records decide."""
    if path.suffix.lower() != ".shp" or path.with_suffix(".cpg").exists():
        return None
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if dbf is None:
        return None
    data = dbf.read_bytes()
    return "UTF-8" if _is_utf8(data) else "GB18030"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def read_gis(
    path: Path, kind: FileFormat, encoding: str | None, mapping: dict[str, str], layer: str | None
) -> Source:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyogrio
    import pyogrio.raw

    target = str(path)
    if kind == FileFormat.shp and path.suffix.lower() == ".zip":
        target = f"/vsizip/{path}"
    encoding = encoding or _dbf_encoding(path)
    # Opened once: GDAL reads a whole GeoJSON file to learn its fields before the first
    # feature, so a separate look at the layer (read_info) would cost one more full pass.
    stream = ExitStack()
    try:
        meta, reader = stream.enter_context(
            pyogrio.raw.open_arrow(
                target,
                layer=layer,
                encoding=encoding,
                batch_size=common.BATCH_ROWS,
                datetime_as_string=True,
                use_pyarrow=True,
            )
        )
    except UnicodeDecodeError as exc:  # the field names
        raise FileProblem(f"{path.name}: field names are not UTF-8 text; {_SAVE_AS_UTF8}") from exc
    except Exception as exc:  # pyogrio raises a family of GDAL errors
        raise FileProblem(
            f"{path.name}: cannot be read as {kind.value} ({first_line(exc)})"
        ) from exc
    headers = [str(h) for h in meta["fields"]]
    try:
        crs = meta.get("crs")
        if crs and crs.upper() not in WGS84_LIKE:
            raise FileProblem(f"{path.name}: coordinates in {crs}; reproject to EPSG:4326 first")
        mapped, ignored = map_headers(headers, mapping)
    except FileProblem:
        stream.close()
        raise
    geometry_name = meta.get("geometry_name") or "wkb_geometry"

    def batches() -> Iterator[Batch]:
        row = 0
        try:
            with stream:
                for table in reader:
                    count = table.num_rows
                    cells: dict[str, Any] = {}
                    for header, name in mapped.items():
                        column = table.column(header)
                        if not pa.types.is_string(column.type) and not pa.types.is_large_string(
                            column.type
                        ):
                            column = pc.cast(column, pa.string())
                        _check_utf8(column, path, header, row, count)
                        # Kept as Arrow: the cells go to COPY as Arrow-written CSV, so a
                        # million rows never become Python strings. Geometry-bearing and
                        # nested columns are read in Python, by whoever needs them.
                        cells[name] = (
                            column.combine_chunks()
                            if isinstance(column, pa.ChunkedArray)
                            else column
                        )
                    geometry = (
                        table.column(geometry_name).to_numpy(zero_copy_only=False)
                        if geometry_name in table.column_names
                        else None
                    )
                    yield Batch(
                        rows=list(range(row + 1, row + count + 1)),
                        cells=cells,
                        geometry=geometry,
                    )
                    row += count
        except FileProblem:
            raise
        except Exception as exc:
            raise FileProblem(
                f"{path.name}: malformed or truncated {kind.value} after feature {row} "
                f"({first_line(exc)})",
                row=row + 1,
            ) from exc

    return Source(
        kind,
        headers,
        mapped,
        ignored,
        _feature_count(target, path, kind, layer),
        batches(),
        encoding=encoding,
        has_geometry=meta.get("geometry_type") is not None,
    )


def _check_utf8(column: Any, path: Path, header: str, row: int, count: int) -> None:
    """GDAL hands text on as the file has it, also as the text of its JSON-typed columns: a
    GeoJSON file saved in GBK, or a Shapefile read with the wrong encoding, gives bytes
    that are not UTF-8, which nothing after this could take."""
    import pyarrow as pa

    try:
        column.validate(full=True)
    except pa.ArrowInvalid as exc:
        raise FileProblem(
            f"{path.name}: {header} in features {row + 1} to {row + count} is not UTF-8 "
            f"text; {_SAVE_AS_UTF8}",
            row=row + 1,
        ) from exc


_SAVE_AS_UTF8 = "save the file as UTF-8 (a Shapefile: pass its --encoding)"


def _feature_count(target: str, path: Path, kind: FileFormat, layer: str | None) -> int | None:
    """For the progress bar. GeoJSON and NDJSON have no count but their "Feature" tokens,
    which a byte scan finds at disk speed; other formats keep one (or GDAL counts fast)."""
    import pyogrio

    if kind not in (FileFormat.geojson, FileFormat.ndjson):
        count = pyogrio.read_info(target, layer=layer)["features"]
        return int(count) if count >= 0 else None
    token = b'"Feature"'
    count = 0
    tail = b""
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 24):
            data = tail + chunk
            count += data.count(token)
            # The last bytes again with the next chunk, for a token cut in two; never a
            # whole token, which would be counted twice.
            tail = data[-(len(token) - 1) :]
    return count
