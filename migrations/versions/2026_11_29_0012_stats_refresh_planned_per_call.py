"""stats_refresh planned for the facilities at hand: set-wise for a million, by index for one.

The function of migration 0006 computed each facility's figures in LATERAL subqueries,
so a million facilities (a first import) cost a million rounds of a dozen lookups, 25 s
before writing a row. Now each source is aggregated once over the given facilities and
joined, and the statement is planned with the ids as a constant (EXECUTE ... USING), so
that the planner sees how many there are: hash joins for an import, index lookups for an
API write. The most specific locality with signage rules is found by hashed lookups of
the rule localities instead of a sort per facility, and signage is complete when no
applicable rule asks for more installed signs of its kind than the facility has (one
anti-join, not a row per facility and rule). The figures are the same; the tests of
tests/stats compare them with the API's own computations.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USES = (
    "parking",
    "ev_charging",
    "gym",
    "cool_spot",
    "express_delivery",
    "cultural_room",
    "convenience_store",
    "food_market",
    "warehouse",
    "other",
)

REFRESH = f"""
CREATE OR REPLACE FUNCTION stats_refresh(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM facility_figure WHERE facility_id = ANY(ids);
    EXECUTE $sql$
    WITH u AS (
        SELECT facility_id,
            sum(total_spaces) FILTER (WHERE type = 'parking') AS parking_spaces,
            sum(ev_spaces) FILTER (WHERE type = 'parking') AS ev_spaces,
            sum(charging_piles) AS charging_piles,
            {", ".join(f"bool_or(type = '{use}') AS use_{use}" for use in USES)}
        FROM peacetime_use WHERE facility_id = ANY($1)
        GROUP BY facility_id
    ), f AS (
        SELECT f.*, coalesce(u.use_parking, false) AS parks,
            CASE WHEN f.district_code IN (SELECT admin_code FROM signage_rule)
                 THEN f.district_code
                 WHEN f.city_code IN (SELECT admin_code FROM signage_rule) THEN f.city_code
                 WHEN f.province_code IN (SELECT admin_code FROM signage_rule)
                 THEN f.province_code END AS rule_code
        FROM facility f LEFT JOIN u ON u.facility_id = f.id
        WHERE f.id = ANY($1) AND f.deleted_at IS NULL
    ), g AS (
        SELECT facility_id, jsonb_object_agg(kind, n) AS installed
        FROM (
            SELECT facility_id, kind, count(*) AS n FROM sign
            WHERE facility_id = ANY($1) AND status = 'installed'
            GROUP BY facility_id, kind
        ) AS counted
        GROUP BY facility_id
    ), m AS (
        SELECT mr.facility_id, count(*) AS open_findings
        FROM maintenance_record mr JOIN maintenance_check c ON c.record_id = mr.id
        WHERE mr.facility_id = ANY($1) AND c.severity = 'serious'
          AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = mr.id)
          AND NOT EXISTS (
              SELECT FROM maintenance_check k JOIN maintenance_record kr ON kr.id = k.record_id
              WHERE k.closes_id = c.id AND kr.kind = 'repair'
                AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = kr.id))
        GROUP BY mr.facility_id
    ), r AS (
        SELECT facility_id, count(*) AS open_reports FROM problem_report
        WHERE facility_id = ANY($1) AND status <> 'resolved'
        GROUP BY facility_id
    )
    INSERT INTO facility_figure
    SELECT f.id, f.province_code, f.city_code, f.district_code, f.completion_year,
        f.wartime_function, f.construction_form, f.status, f.building_area, f.shelter_area,
        f.capacity_persons, coalesce(u.parking_spaces, f.peacetime_parking_spaces, 0),
        coalesce(u.ev_spaces, 0), coalesce(u.charging_piles, 0),
        {", ".join(f"coalesce(u.use_{use}, false)" for use in USES)},
        NOT EXISTS (
            SELECT FROM signage_rule rule
            WHERE rule.admin_code = f.rule_code
              AND (rule.applies_to = 'all' OR (rule.applies_to = 'parking'
                   AND (f.peacetime_parking_spaces IS NOT NULL OR f.parks)))
              AND rule.min_count > coalesce(CAST(g.installed ->> rule.kind AS integer), 0)),
        coalesce(m.open_findings, 0), coalesce(r.open_reports, 0)
    FROM f
    LEFT JOIN u ON u.facility_id = f.id
    LEFT JOIN g ON g.facility_id = f.id
    LEFT JOIN m ON m.facility_id = f.id
    LEFT JOIN r ON r.facility_id = f.id
    $sql$ USING ids;
END $$;
"""


def _planning_refresh() -> str:
    """stats_refresh as migration 0006 made it."""
    function = context.script.get_revision("0006").module.REFRESH.split("\n$$;\n")[0] + "\n$$;"
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.execute(REFRESH)


def downgrade() -> None:
    op.execute(_planning_refresh())
