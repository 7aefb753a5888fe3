"""XLSX exports: a workbook of one sheet per table, headed in Chinese as offices head
their ledgers. The facilities sheet comes first, with the headers and value spellings
(结建, 人员掩蔽工程, 在用 ...) the importer reads, so that a workbook imports back
unchanged; entrances, peacetime uses and signs follow, a row each, by registry code."""

import enum
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from app.core.geo import WGS84, Positions
from app.exports import repository
from app.imports import fields
from app.imports.fields import Kind

CHUNK_ROWS = 5_000
CJK = re.compile("[一-鿿]")
# Where the importer knows several headers for a field, the one to write.
PREFERRED = {"footprint": "占地范围"}


def _header(field: str) -> str:
    if field in PREFERRED:
        return PREFERRED[field]
    chinese = (h for h, f in fields.DEFAULT_HEADERS.items() if f == field and CJK.search(h))
    return next(chinese, field)


def _chinese_labels() -> dict[str, dict[str, str]]:
    """field -> stored value -> its first Chinese spelling, for the choice fields."""
    labels: dict[str, dict[str, str]] = {}
    for column in fields.COLUMNS:
        if column.kind == Kind.choice:
            spelled: dict[str, str] = {}
            for label, value in column.labels.items():
                spelled.setdefault(value, label)
            labels[column.name] = spelled
    return labels


NUMBERS = {c.name for c in fields.COLUMNS if c.kind in (Kind.decimal, Kind.integer)} | {
    "lon",
    "lat",
}


def _number(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() else number


FACILITY_HEADERS = tuple(_header(f) for f in repository.CSV_HEADER)
# Each sheet's rows, given the positions' system (entrances have positions; uses and
# signs do not).
SHEETS: tuple[tuple[str, tuple[str, ...], Callable[..., Iterator[list[tuple]]]], ...] = (
    (
        "出入口",
        ("工程编号", "出入口类型", "名称", "无障碍", "经度", "纬度"),
        repository.export_entrances,
    ),
    (
        "平时用途",
        ("工程编号", "用途类型", "名称", "开放时间", "联系人", "联系电话", "收费", "属性"),
        repository.export_uses,
    ),
    (
        "标识",
        ("工程编号", "标识类型", "状态", "说明", "安装日期", "检查日期"),
        repository.export_signs,
    ),
)


def write_xlsx(
    connection: Connection,
    where: Any,
    path: Path,
    *,
    positions: Positions = WGS84,
    progress: Callable[[int], None] | None = None,
) -> None:
    import openpyxl  # a second or two to import; only workbooks need it

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("设施")
    sheet.append(FACILITY_HEADERS)
    labels = _chinese_labels()
    columns = repository.CSV_HEADER
    for rows in repository.export_rows_as_text(connection, where, CHUNK_ROWS, positions):
        for row in rows:
            sheet.append(
                [
                    _text(sheet, _cell(name, value, labels))
                    for name, value in zip(columns, row, strict=True)
                ]
            )
        if progress is not None:
            progress(len(rows))
    for title, headers, query in SHEETS:
        sheet = book.create_sheet(title)
        sheet.append(headers)
        for rows in query(connection, where, CHUNK_ROWS, positions):
            for row in rows:
                sheet.append([_text(sheet, _plain(v)) for v in row])
    book.save(path)


def _cell(name: str, value: str | None, labels: dict[str, dict[str, str]]) -> Any:
    if value is None:
        return None
    if name in NUMBERS:
        return _number(value)
    if name in labels:
        return labels[name].get(value, value)
    return value


def _text(sheet: Any, value: Any) -> Any:
    """Text as a text cell: openpyxl would write a string that starts with = as a
    formula, which the reader's spreadsheet runs (a name like =HYPERLINK(...)) and which
    imports back empty."""
    if not isinstance(value, str) or not value.startswith("="):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool):
        return "是" if value else "否"
    return value
