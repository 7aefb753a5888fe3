"""Excel workbooks (XLSX)."""

import math
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

from app.imports import fields
from app.imports.readers import common
from app.imports.readers.common import Batch, FileFormat, FileProblem, Source


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # Excel keeps every number as a float: 8000.0 persons is 8000.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


# Provincial workbooks carry a title, a date or a unit above the table: the header is the
# first of these rows in which at least two cells name fields.
HEADER_SEARCH_ROWS = 20
HEADER_MIN_FIELDS = 2
# Where a header may lie (also the bound of --header-row and header_row=), and how many
# of its columns are read. A sheet may declare itself 16,384 columns wide and a million
# rows long in a few bytes: rows are read only as wide as the header, so the gaps it
# claims cost a few cells each instead of 16,384.
HEADER_LAST_ROW = 1000
MAX_COLUMNS = 1000
# A workbook is a zip of XML, which offices' workbooks pack 5 to 20 times; deflate packs
# repeated text a thousand times, so a few megabytes could unpack to gigabytes of rows.
# Its members' declared sizes, which the zip reader holds them to, are bounded first.
UNPACK_RATIO = 100
UNPACK_FLOOR = 256 << 20


def _filled(values: tuple) -> bool:
    return any(v is not None and str(v).strip() for v in values)


def _find_header(
    rows: Iterator[tuple], mapping: dict[str, str], given: int | None
) -> tuple[int, list[str]]:
    """(the header's row number, its cells). With `given`, that row; else the first row
    naming fields, or the first row with anything in it."""
    read: list[tuple] = []
    first: int | None = None
    for number, values in enumerate(rows, start=1):
        if given is not None:
            if number == given:
                return number, [_cell_text(v) or "" for v in values] if _filled(values) else []
            continue
        read.append(values)
        if not _filled(values):
            continue
        first = first or number
        named = sum(
            1
            for v in values
            if v is not None and mapping.get(fields.normalise_header(_cell_text(v) or ""))
        )
        if named >= HEADER_MIN_FIELDS:
            return number, [_cell_text(v) or "" for v in values]
        if number - first + 1 >= HEADER_SEARCH_ROWS:
            break
    if given is not None:
        return given, []
    if first is None:
        return 0, []
    # No row names fields: the first with anything in it is the header, and the mapping
    # names its columns unknown (or missing), as for any file.
    return first, [_cell_text(v) or "" for v in read[first - 1]]


def read_xlsx(
    path: Path, mapping: dict[str, str], sheet: str | None, header_row: int | None = None
) -> Source:
    import openpyxl  # a second or two to import; only spreadsheets need it

    _check_unpacked(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    if sheet is not None and sheet not in book.sheetnames:
        raise FileProblem(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    if worksheet.max_row is None:
        # Workbooks written a row at a time (ours among them) do not say their size:
        # counted once, for the progress bar's total.
        worksheet.calculate_dimension(force=True)
    head = worksheet.iter_rows(max_row=HEADER_LAST_ROW, max_col=MAX_COLUMNS, values_only=True)
    try:
        header_row, headers = _find_header(head, mapping, header_row)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: malformed or truncated workbook ({exc})") from exc
    finally:
        head.close()
    if not headers:
        if header_row:
            raise FileProblem(f"{path.name}: row {header_row} of {worksheet.title!r} is empty")
        raise FileProblem(f"{path.name}: the sheet {worksheet.title!r} is empty")
    while headers and not headers[-1]:
        headers.pop()
    rows = worksheet.iter_rows(min_row=header_row + 1, max_col=len(headers), values_only=True)
    mapped, ignored = common.map_headers([h for h in headers if h], mapping)
    positions = [(i, mapped[h]) for i, h in enumerate(headers) if h in mapped]
    total = max((worksheet.max_row or header_row) - header_row, 0)

    def batches() -> Iterator[Batch]:
        batch = common.empty_batch(positions)
        row = header_row
        try:
            for values in rows:
                row += 1
                if not any(v is not None and str(v).strip() for v in values):
                    continue
                batch.rows.append(row)
                for index, name in positions:
                    batch.cells[name].append(
                        _cell_text(values[index]) if index < len(values) else None
                    )
                if len(batch.rows) >= common.BATCH_ROWS:
                    yield batch
                    batch = common.empty_batch(positions)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FileProblem(
                f"{path.name}: malformed or truncated workbook near row {row} ({exc})", row=row
            ) from exc
        finally:
            book.close()
        if batch.rows:
            yield batch

    return Source(FileFormat.xlsx, headers, mapped, ignored, total, batches())


def _check_unpacked(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    if unpacked > max(UNPACK_RATIO * path.stat().st_size, UNPACK_FLOOR):
        raise FileProblem(
            f"{path.name}: unpacks to {unpacked:,} bytes, over {UNPACK_RATIO} times its "
            "size, which no office's workbook does (a zip bomb)"
        )


def sheet_names(path: Path) -> list[str]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    try:
        return list(book.sheetnames)
    finally:
        book.close()
