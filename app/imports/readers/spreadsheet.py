"""Excel workbooks (XLSX)."""

import math
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

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


def read_xlsx(path: Path, mapping: dict[str, str], sheet: str | None) -> Source:
    import openpyxl  # a second or two to import; only spreadsheets need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    if sheet is not None and sheet not in book.sheetnames:
        raise FileProblem(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    rows = worksheet.iter_rows(values_only=True)
    header_row = 0
    headers: list[str] = []
    try:
        for values in rows:
            header_row += 1
            if any(v is not None and str(v).strip() for v in values):
                headers = [_cell_text(v) or "" for v in values]
                break
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: malformed or truncated workbook ({exc})") from exc
    if not headers:
        raise FileProblem(f"{path.name}: the sheet {worksheet.title!r} is empty")
    while headers and not headers[-1]:
        headers.pop()
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
