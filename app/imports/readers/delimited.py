"""CSV files, read by Arrow's CSV reader."""

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.imports.readers import common
from app.imports.readers.common import (
    Batch,
    FileFormat,
    FileProblem,
    Source,
    check_encoding,
    empty_batch,
    map_headers,
)


def detect_encoding(head: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030, which
    reads GBK and GB2312 too. A file in neither is named as such, not garbled."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is not a fault.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:
            return "gb18030"
        raise FileProblem(
            f"{path.name}: neither UTF-8 nor GBK/GB18030 text (byte {exc.start}); "
            "pass --encoding with the right one"
        ) from exc


def read_csv(path: Path, encoding: str | None, mapping: dict[str, str]) -> Source:
    with path.open("rb") as raw:
        head = raw.read(1 << 20)
    if not head.strip():
        raise FileProblem(f"{path.name}: the file is empty")
    encoding = check_encoding(encoding or detect_encoding(head, path))
    sample = head.decode(encoding, errors="ignore")
    first_line = sample.split("\n", 1)[0]
    delimiter = max([",", "\t", ";", "|"], key=first_line.count)
    # Counting newlines is cheap and makes the ETA honest; quoted newlines only make it high.
    lines, ends_quoted = _scan(path)
    total = max(lines - 1, 0)

    handle = path.open(encoding=encoding, newline="", errors="strict")
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        headers = next(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise _csv_problem(path, exc, 1, encoding) from exc
    mapped, ignored = map_headers(headers, mapping)
    positions = [(i, mapped[h]) for i, h in enumerate(headers) if h in mapped]
    # Arrow reads the file when it can be trusted to read it as Python's csv module
    # would; a file that ends inside a quoted cell is truncated, which only the csv
    # module names (the count of quote bytes tells only where a quote is one byte no
    # other character has, as in UTF-8 and GBK, not UTF-16), and duplicate headers
    # cannot be given types by name. (Arrow, like Excel, reads text after a closing
    # quote as part of the cell, where the strict csv module refuses the row.)
    arrow = (
        b'"'.decode(encoding, errors="ignore") == '"'
        and not ends_quoted
        and len(set(headers)) == len(headers)
    )

    def batches() -> Iterator[Batch]:
        with handle:
            taken = 1  # the last row handed over by Arrow
            if arrow:
                from pyarrow import ArrowInvalid

                try:
                    for batch, last in _arrow_csv(path, encoding, delimiter, headers, positions):
                        taken = last
                        yield batch
                except (ArrowInvalid, UnicodeDecodeError):
                    # A row of the wrong width, or text not in the encoding: the csv
                    # module goes on from the first row not yet handed over, and names it.
                    pass
                else:
                    return
            batch = empty_batch(positions)
            row = 1
            while True:
                row += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError as exc:
                    raise _csv_problem(path, exc, row, encoding) from exc
                except csv.Error as exc:
                    raise _csv_problem(path, exc, row, encoding) from exc
                if row <= taken:
                    continue
                if not any(cells):
                    continue  # blank lines between records are common in hand-made files
                if len(cells) != len(headers):
                    batch.broken.append(
                        (row, f"has {len(cells)} fields where the header has {len(headers)}")
                    )
                    continue
                batch.rows.append(row)
                for index, name in positions:
                    batch.cells[name].append(cells[index])
                if len(batch.rows) >= common.BATCH_ROWS:
                    yield batch
                    batch = empty_batch(positions)
            if batch.rows or batch.broken:
                yield batch

    return Source(
        FileFormat.csv,
        headers,
        mapped,
        ignored,
        total,
        batches(),
        encoding=encoding,
        has_geometry=False,
    )


def _arrow_csv(
    path: Path,
    encoding: str,
    delimiter: str,
    headers: list[str],
    positions: list[tuple[int, str]],
) -> Iterator[tuple[Batch, int]]:
    """The rows as Python's csv module reads them, each batch with the number of its
    last row, parsed by Arrow's C++ reader on its own threads, not by the csv module on
    the reading thread. Raises ArrowInvalid
    (or UnicodeDecodeError) at the first batch it cannot read as such; the batches
    before it are right."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")  # Arrow drops a BOM
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            encoding="utf8" if utf8 else encoding,
            block_size=common.CSV_BLOCK_BYTES,
            use_threads=True,
        ),
        # A blank line is read as a row of empty cells and skipped below, as the csv
        # module does, so that the row numbers stay the file's.
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={header: pa.string() for header in headers}, strings_can_be_null=False
        ),
    )
    with reader:
        if reader.schema.names != headers:
            raise pa.ArrowInvalid("Arrow read other headers than the csv module")
        row, size = 1, 0  # the header's row; the rows pending
        pending: list[Any] = []
        for part in reader:
            pending.append(part)
            size += part.num_rows
            if size >= common.BATCH_ROWS:
                yield _arrow_batch(pa.Table.from_batches(pending), row, positions)
                row, size, pending = row + size, 0, []
        if pending:
            yield _arrow_batch(pa.Table.from_batches(pending), row, positions)


def _arrow_batch(table: Any, row: int, positions: list[tuple[int, str]]) -> tuple[Batch, int]:
    """The rows numbered from `row` + 1 on, without those whose cells are all empty."""
    import numpy as np
    import pyarrow.compute as pc

    table = table.combine_chunks()
    numbers = np.arange(row + 1, row + 1 + table.num_rows)
    blank = np.ones(table.num_rows, dtype=bool)
    for column in table.columns:
        blank &= pc.equal(pc.binary_length(column), 0).to_numpy(zero_copy_only=False)
    if blank.any():
        table, numbers = table.filter(pc.invert(blank)), numbers[~blank]
    cells = {name: table.column(index).combine_chunks() for index, name in positions}
    return Batch(rows=numbers.tolist(), cells=cells), row + len(blank)


def _csv_problem(path: Path, exc: Exception, row: int, encoding: str) -> FileProblem:
    if isinstance(exc, UnicodeDecodeError):
        return FileProblem(
            f"{path.name}: row {row} is not valid {encoding} text; the file is in another "
            "encoding (pass --encoding, e.g. gbk or utf-8)",
            row=row,
        )
    return FileProblem(f"{path.name}: malformed or truncated CSV at row {row}: {exc}", row=row)


def _scan(path: Path) -> tuple[int, bool]:
    """The file's lines, and whether it ends inside a quoted cell (an odd number of
    quote characters, each escaped quote being two)."""
    lines = quotes = 0
    last = b"\n"
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 24):
            lines += chunk.count(b"\n")
            quotes += chunk.count(b'"')
            last = chunk[-1:]
    return lines + (last != b"\n"), quotes % 2 == 1
