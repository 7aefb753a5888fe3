"""stats_refresh finds the facilities short of signs in one set-wise join.

Migration 0012 gathered each facility's installed signs into a jsonb object of counts by
kind, and tested each facility against its rules in a subplan that read that object back.
For a whole registry (1M facilities, 5.5M signs) the objects took 15 s to build and the
subplan 8 s of a 97 s refresh. Now the counts stay rows, (facility, kind, n), and the
facilities short of some applicable rule's count come from one join of the facilities
with their applicable rules and those counts. The rule is the same: the most specific
locality with rules, parking rules for car parks, installed signs only; the tests of
tests/stats compare the figures with the API's own computations.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 02:45:00.000000
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The facilities are now read twice (the figures, the signage join), so the CTE that
# PostgreSQL then materializes keeps only the columns those two need.
_FIGURE_COLUMNS = (
    "f.id, f.province_code, f.city_code, f.district_code, f.completion_year, "
    "f.wartime_function, f.construction_form, f.status, f.building_area, f.shelter_area, "
    "f.capacity_persons, f.peacetime_parking_spaces"
)
_SIGNS = """    ), counted AS (
        SELECT facility_id, kind, count(*) AS n FROM sign
        WHERE facility_id = ANY($1) AND status = 'installed'
        GROUP BY facility_id, kind
    ), short AS (
        SELECT DISTINCT f.id FROM f
        JOIN signage_rule rule ON rule.admin_code = f.rule_code
        LEFT JOIN counted c ON c.facility_id = f.id AND c.kind = rule.kind
        WHERE (rule.applies_to = 'all' OR (rule.applies_to = 'parking'
               AND (f.peacetime_parking_spaces IS NOT NULL OR f.parks)))
          AND rule.min_count > coalesce(c.n, 0)
"""


def _spliced(text: str, start: str, end: str, new: str) -> str:
    """`text` with what runs from `start` up to `end` replaced by `new`."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + new + end + tail


def _before() -> str:
    """stats_refresh as migration 0012 made it (read when migrating: alembic's context
    knows the revisions)."""
    return context.script.get_revision("0012").module.REFRESH


def _refresh() -> str:
    refresh = _before()
    for start, end, new in (
        (
            "SELECT f.*, ",
            "coalesce(u.use_parking, false) AS parks,",
            f"SELECT {_FIGURE_COLUMNS},\n            ",
        ),
        ("    ), g AS (", "    ), m AS (", _SIGNS),
        (
            "        NOT EXISTS (\n            SELECT FROM signage_rule",
            "        coalesce(m.open",
            "        s.id IS NULL,\n",
        ),
        ("    LEFT JOIN g ON", "    LEFT JOIN m ON", "    LEFT JOIN short s ON s.id = f.id\n"),
    ):
        refresh = _spliced(refresh, start, end, new)
    return refresh


def upgrade() -> None:
    op.execute(_refresh())


def downgrade() -> None:
    op.execute(_before())
