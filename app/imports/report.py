"""An import's error report as its reader sees it: each field named by the file's own
column header (工程名称, not `name`), each reason in the chosen language; a CSV that no
spreadsheet runs a file's cell in."""

from collections.abc import Iterable, Iterator

from app.core.formats import spreadsheet_row
from app.core.i18n import catalogue, translate

HEADINGS = ("row", "field", "value", "reason")
# Fields the importer derives from several columns or a differently named one.
SOURCES = {"location": ("lon", "lat"), "nuclear_level": ("protection",)}
SOURCES["conventional_level"] = SOURCES["nuclear_level"]
SOURCES["completion_year"] = ("completion_date",)


def headers_by_field(columns: dict[str, str]) -> dict[str, str]:
    """field -> the file's header(s) for it, from the import's header -> field map."""
    by_field: dict[str, str] = {}
    for header, field in columns.items():
        by_field.setdefault(field, header)
    for field, sources in SOURCES.items():
        if field not in by_field and all(s in by_field for s in sources):
            by_field[field] = "/".join(by_field[s] for s in sources)
    return by_field


def lines(errors: Iterable[tuple], *, columns: dict[str, str], language: str) -> Iterator[tuple]:
    """The report's lines, headings first."""
    found = catalogue(language)
    by_field = headers_by_field(columns)
    yield tuple(translate(h, language) for h in HEADINGS)
    for row_no, field, value, reason in errors:
        named = by_field.get(field) or (found.label(field) if found else None) or field
        line = ("" if row_no is None else row_no, named, value, translate(reason, language))
        yield tuple(spreadsheet_row(line))
