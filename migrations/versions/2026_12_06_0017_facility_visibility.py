"""Facility visibility: restricted works (command posts) do not exist for the public.

facility.visibility is `public` or `restricted`, filled from the wartime function: command
posts restricted, everything else public (DOMAIN.md, sensitive works). The column has no
default once filled: every writer decides, so that no work is published by omission.

What the database keeps for public readers follows it:
- use_search (nearby search, migration 0005) holds the uses of public works only, and
  never a wartime entrance: those are sealed in peacetime and shown to restricted readers
  only. A change of visibility rewrites the facility's rows.
- facility_figure (statistics, migrations 0006/0012/0015) carries the visibility, so that
  figures count the works their reader may see.
- the tile change log (migrations 0007/0013) notes a change of visibility, which adds a
  work to the public tiles or takes it off.
- ix_facility_restricted_id lists the few restricted works.
- audit_event.reason keeps why a visibility was changed.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = (
    "visibility varchar(32) NOT NULL DEFAULT 'public' CONSTRAINT ck_{table}_visibility "
    "CHECK (visibility IN ('public', 'restricted'))"
)


def _source(revision: str, name: str) -> str:
    """The SQL text `name` of an earlier revision (alembic's context knows them)."""
    module = context.script.get_revision(revision).module
    value = getattr(module, name)
    return value() if callable(value) else value


def _function(sql: str, name: str) -> str:
    """The statement that creates function `name` in `sql`, as CREATE OR REPLACE."""
    start = sql.index(f"FUNCTION {name}(")
    end = sql.index("$$;", start) + len("$$;")
    return f"CREATE OR REPLACE {sql[start:end]}"


def _replaced(sql: str, *pairs: tuple[str, str, int]) -> str:
    """`sql` with each (old, new, count): `old` must occur exactly `count` times."""
    for old, new, count in pairs:
        if sql.count(old) != count:
            raise ValueError(f"expected {count} of {old!r} in the earlier function")
        sql = sql.replace(old, new)
    return sql


def _earlier() -> dict[str, str]:
    """The functions this revision replaces, as the revisions before it made them."""
    nearby = _source("0005", "UPGRADE")
    tiles = _source("0013", "FUNCTIONS")
    return {
        "use_search_refresh": _function(nearby, "use_search_refresh"),
        "use_search_on_facility": _function(nearby, "use_search_on_facility"),
        "stats_refresh": _source("0015", "_refresh"),
        "stats_refresh_facility_update": _function(
            _source("0006", "REFRESH"), "stats_refresh_facility_update"
        ),
        "facility_tile_change": _function(tiles, "facility_tile_change"),
    }


def _current(earlier: dict[str, str]) -> list[str]:
    live = "f.deleted_at IS NULL AND f.status = 'in_service'"
    facility_columns = "{0}name, {0}address, {0}status, {0}deleted_at, {0}location"
    figure_columns = "capacity_persons, peacetime_parking_spaces, deleted_at"
    tile_columns = "{0}wartime_function, {0}wartime_subtype, {0}capacity_persons, {0}deleted_at"
    return [
        _replaced(
            earlier["use_search_refresh"],
            (live, f"{live} AND f.visibility = 'public'", 2),
            ("WHERE e.facility_id = f.id", "WHERE e.facility_id = f.id AND e.kind <> 'wartime'", 1),
        ),
        _replaced(
            earlier["use_search_on_facility"],
            *(
                (facility_columns.format(p), facility_columns.format(p) + f", {p}visibility", 1)
                for p in ("n.", "o.")
            ),
        ),
        _replaced(
            earlier["stats_refresh"],
            ("f.peacetime_parking_spaces,\n", "f.peacetime_parking_spaces, f.visibility,\n", 1),
            ("coalesce(r.open_reports, 0)\n", "coalesce(r.open_reports, 0), f.visibility\n", 1),
        ),
        _replaced(
            earlier["stats_refresh_facility_update"],
            (figure_columns, f"{figure_columns}, visibility", 2),
        ),
        _replaced(
            earlier["facility_tile_change"],
            *(
                (tile_columns.format(p), tile_columns.format(p) + f", {p}visibility", 1)
                for p in ("o.", "n.")
            ),
            # a work made public or restricted comes onto the public tiles or goes
            (
                "WHERE (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)",
                "WHERE (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)\n"
                "               OR o.visibility <> n.visibility",
                1,
            ),
        ),
    ]


def upgrade() -> None:
    earlier = _earlier()
    for table in ("facility", "facility_figure"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN {COLUMN.format(table=table)}")
    op.execute("ALTER TABLE audit_event ADD COLUMN reason text")
    op.execute(
        "CREATE INDEX ix_facility_restricted_id ON facility (id) WHERE visibility = 'restricted'"
    )
    for function in _current(earlier):
        op.execute(function)
    # Through the triggers just replaced: the search rows, figures and tiles follow.
    # app.facilities.models.RESTRICTED_FUNCTIONS as it stands at this revision.
    op.execute(
        "UPDATE facility SET visibility = 'restricted' WHERE wartime_function = 'command_post'"
    )
    # Public works whose only entrances were wartime ones led searches there.
    op.execute(
        "SELECT use_search_refresh(ARRAY("
        "SELECT DISTINCT facility_id FROM entrance WHERE kind = 'wartime'))"
    )
    for table in ("facility", "facility_figure"):
        op.execute(f"ALTER TABLE {table} ALTER COLUMN visibility DROP DEFAULT")


def downgrade() -> None:
    for function in _earlier().values():
        op.execute(function)
    op.execute("DROP INDEX ix_facility_restricted_id")
    op.execute("ALTER TABLE audit_event DROP COLUMN reason")
    for table in ("facility_figure", "facility"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN visibility")
    op.execute("SELECT use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM peacetime_use))")
