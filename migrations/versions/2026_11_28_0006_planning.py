"""Planning: per-facility figures for statistics, kept by triggers; population layers for
shelter coverage and assignment.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHELTER_CONDITION = (
    "wartime_function = 'personnel_shelter' AND status = 'in_service' AND deleted_at IS NULL"
)

# Recomputes the figures of the given facilities from their sources, set-wise: one
# facility costs a few index lookups, a million about half a minute. Parking spaces are
# the registered car park's, else the design's (a car park use refines the design). The signage rule
# (most specific locality with rules, parking rules for car parks, installed signs
# only) is the one of app/signage/repository.py; tests hold the two to agreement.
REFRESH = """
CREATE FUNCTION stats_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
DELETE FROM facility_figure WHERE facility_id = ANY(ids);
INSERT INTO facility_figure
SELECT f.id, f.province_code, f.city_code, f.district_code, f.completion_year,
    f.wartime_function, f.construction_form, f.status, f.building_area, f.shelter_area,
    f.capacity_persons, coalesce(u.parking_spaces, f.peacetime_parking_spaces, 0),
    coalesce(u.ev_spaces, 0),
    coalesce(u.charging_piles, 0), u.use_parking, u.use_ev_charging, u.use_gym, u.use_cool_spot,
    u.use_express_delivery, u.use_cultural_room, u.use_convenience_store, u.use_food_market,
    u.use_warehouse, u.use_other, coalesce(sg.complete, true), m.open_findings, r.open_reports
FROM facility f
CROSS JOIN LATERAL (
    SELECT sum(total_spaces) FILTER (WHERE type = 'parking') AS parking_spaces,
        sum(ev_spaces) FILTER (WHERE type = 'parking') AS ev_spaces,
        sum(charging_piles) AS charging_piles,
        coalesce(bool_or(type = 'parking'), false) AS use_parking,
        coalesce(bool_or(type = 'ev_charging'), false) AS use_ev_charging,
        coalesce(bool_or(type = 'gym'), false) AS use_gym,
        coalesce(bool_or(type = 'cool_spot'), false) AS use_cool_spot,
        coalesce(bool_or(type = 'express_delivery'), false) AS use_express_delivery,
        coalesce(bool_or(type = 'cultural_room'), false) AS use_cultural_room,
        coalesce(bool_or(type = 'convenience_store'), false) AS use_convenience_store,
        coalesce(bool_or(type = 'food_market'), false) AS use_food_market,
        coalesce(bool_or(type = 'warehouse'), false) AS use_warehouse,
        coalesce(bool_or(type = 'other'), false) AS use_other
    FROM peacetime_use WHERE facility_id = f.id
) u
LEFT JOIN LATERAL (
    SELECT bool_and((
        SELECT count(*) FROM sign g
        WHERE g.facility_id = f.id AND g.kind = rule.kind AND g.status = 'installed'
    ) >= rule.min_count) AS complete
    FROM signage_rule rule
    WHERE rule.admin_code = (
        SELECT l.admin_code FROM signage_rule l
        WHERE l.admin_code IN (f.district_code, f.city_code, f.province_code)
        ORDER BY l.admin_code = f.district_code DESC, l.admin_code = f.city_code DESC
        LIMIT 1)
      AND (rule.applies_to = 'all' OR (rule.applies_to = 'parking'
           AND (f.peacetime_parking_spaces IS NOT NULL OR u.use_parking)))
) sg ON true
CROSS JOIN LATERAL (
    SELECT count(*) AS open_findings
    FROM maintenance_record mr JOIN maintenance_check c ON c.record_id = mr.id
    WHERE mr.facility_id = f.id AND c.severity = 'serious'
      AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = mr.id)
      AND NOT EXISTS (
          SELECT FROM maintenance_check k JOIN maintenance_record kr ON kr.id = k.record_id
          WHERE k.closes_id = c.id AND kr.kind = 'repair'
            AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = kr.id))
) m
CROSS JOIN LATERAL (
    SELECT count(*) AS open_reports FROM problem_report p
    WHERE p.facility_id = f.id AND p.status <> 'resolved'
) r
WHERE f.id = ANY(ids) AND f.deleted_at IS NULL;
$$;

-- Statement-level, with transition tables: a COPY of a million facilities refreshes
-- them in one set-wise statement, not a million times one.
CREATE FUNCTION stats_refresh_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('SELECT array_agg(DISTINCT %I) FROM new_rows', TG_ARGV[0]) INTO ids;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('SELECT array_agg(DISTINCT %I) FROM old_rows', TG_ARGV[0]) INTO ids;
    ELSE
        EXECUTE format('SELECT array_agg(DISTINCT x) FROM (SELECT %1$I AS x FROM new_rows'
                       ' UNION SELECT %1$I FROM old_rows) s', TG_ARGV[0]) INTO ids;
    END IF;
    PERFORM stats_refresh(ids);
    RETURN NULL;
END $$;

-- Facility updates that change no figure (verification, contacts, version) cost nothing.
-- EXCEPT, not a join of the two transition tables: they carry no statistics, and the
-- planner's nested loop over them took 34 s for 10,000 rows.
CREATE FUNCTION stats_refresh_facility_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_refresh(ARRAY(
        SELECT id FROM (
            SELECT id, province_code, city_code, district_code, completion_year,
                wartime_function, construction_form, status, building_area, shelter_area,
                capacity_persons, peacetime_parking_spaces, deleted_at
            FROM new_rows
            EXCEPT
            SELECT id, province_code, city_code, district_code, completion_year,
                wartime_function, construction_form, status, building_area, shelter_area,
                capacity_persons, peacetime_parking_spaces, deleted_at
            FROM old_rows) changed));
    RETURN NULL;
END $$;

CREATE FUNCTION stats_refresh_checks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_refresh(ARRAY(
        SELECT DISTINCT r.facility_id FROM maintenance_record r
        WHERE r.id IN (SELECT record_id FROM new_rows
                       UNION SELECT c.record_id FROM maintenance_check c
                       WHERE c.id IN (SELECT closes_id FROM new_rows))));
    RETURN NULL;
END $$;

-- A locality's rules change rarely and touch every facility in it.
CREATE FUNCTION stats_refresh_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    codes varchar[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        codes := ARRAY(SELECT admin_code FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        codes := ARRAY(SELECT admin_code FROM old_rows);
    ELSE
        codes := ARRAY(SELECT admin_code FROM new_rows UNION SELECT admin_code FROM old_rows);
    END IF;
    PERFORM stats_refresh(ARRAY(
        SELECT id FROM facility WHERE province_code = ANY(codes) OR city_code = ANY(codes)
            OR district_code = ANY(codes)));
    RETURN NULL;
END $$;
"""

# (table, id column, events): the generic statement trigger on each source table.
SOURCES = (
    ("facility", "id", ("INSERT",)),
    ("peacetime_use", "facility_id", ("INSERT", "UPDATE", "DELETE")),
    ("sign", "facility_id", ("INSERT", "UPDATE", "DELETE")),
    ("problem_report", "facility_id", ("INSERT", "UPDATE", "DELETE")),
    # Records and checks are append-only: a correction or a repair is a new row.
    ("maintenance_record", "facility_id", ("INSERT",)),
)
TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "NEW TABLE AS new_rows OLD TABLE AS old_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def _trigger(table: str, event: str, function: str, argument: str = "") -> str:
    return (
        f"CREATE TRIGGER stats_{event.lower()} AFTER {event} ON {table}"
        f" REFERENCING {TRANSITIONS[event]} FOR EACH STATEMENT"
        f" EXECUTE FUNCTION {function}({argument})"
    )


def _triggers() -> list[str]:
    statements = [
        _trigger(table, event, "stats_refresh_rows", f"'{column}'")
        for table, column, events in SOURCES
        for event in events
    ]
    statements.append(_trigger("facility", "UPDATE", "stats_refresh_facility_update"))
    statements.append(_trigger("maintenance_check", "INSERT", "stats_refresh_checks"))
    statements += [
        _trigger("signage_rule", event, "stats_refresh_rules")
        for event in ("INSERT", "UPDATE", "DELETE")
    ]
    return statements


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "facility_figure",
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("completion_year", sa.SmallInteger(), nullable=True),
        sa.Column(
            "wartime_function",
            _enum(
                "wartimefunction",
                "command_post",
                "medical_aid",
                "professional_team",
                "personnel_shelter",
                "supporting",
            ),
            nullable=False,
        ),
        sa.Column(
            "construction_form",
            _enum("constructionform", "attached", "standalone"),
            nullable=False,
        ),
        sa.Column(
            "status",
            _enum(
                "facilitystatus",
                "planned",
                "under_construction",
                "in_service",
                "suspended",
                "decommissioned",
            ),
            nullable=False,
        ),
        sa.Column("building_area", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("shelter_area", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("capacity_persons", sa.Integer(), nullable=True),
        sa.Column("parking_spaces", sa.Integer(), nullable=False),
        sa.Column("ev_spaces", sa.Integer(), nullable=False),
        sa.Column("charging_piles", sa.Integer(), nullable=False),
        sa.Column("use_parking", sa.Boolean(), nullable=False),
        sa.Column("use_ev_charging", sa.Boolean(), nullable=False),
        sa.Column("use_gym", sa.Boolean(), nullable=False),
        sa.Column("use_cool_spot", sa.Boolean(), nullable=False),
        sa.Column("use_express_delivery", sa.Boolean(), nullable=False),
        sa.Column("use_cultural_room", sa.Boolean(), nullable=False),
        sa.Column("use_convenience_store", sa.Boolean(), nullable=False),
        sa.Column("use_food_market", sa.Boolean(), nullable=False),
        sa.Column("use_warehouse", sa.Boolean(), nullable=False),
        sa.Column("use_other", sa.Boolean(), nullable=False),
        sa.Column("signage_complete", sa.Boolean(), nullable=False),
        sa.Column("open_findings", sa.Integer(), nullable=False),
        sa.Column("open_reports", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_facility_figure_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("facility_id", name=op.f("pk_facility_figure")),
    )
    op.create_index("ix_facility_figure_city_code", "facility_figure", ["city_code"])
    op.create_index("ix_facility_figure_district_code", "facility_figure", ["district_code"])
    op.execute(REFRESH)
    for statement in _triggers():
        op.execute(statement)
    op.execute("SELECT stats_refresh(ARRAY(SELECT id FROM facility))")

    op.create_index(
        "ix_facility_shelter_geography",
        "facility",
        [sa.text("CAST(location AS geography)")],
        postgresql_using="gist",
        postgresql_where=sa.text(SHELTER_CONDITION),
    )
    op.create_table(
        "population_layer",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column("residents", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_population_layer")),
        sa.UniqueConstraint("name", name=op.f("uq_population_layer_name")),
    )
    op.create_table(
        "population_feature",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("layer_id", sa.BigInteger(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("admin_code", sa.String(length=6), nullable=True),
        sa.Column("province_code", sa.String(length=6), nullable=True),
        sa.Column("city_code", sa.String(length=6), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.CheckConstraint(
            "residents >= 0", name=op.f("ck_population_feature_residents_non_negative")
        ),
        sa.CheckConstraint(
            "geom IS NOT NULL OR admin_code IS NOT NULL", name=op.f("ck_population_feature_placed")
        ),
        sa.ForeignKeyConstraint(
            ["admin_code"],
            ["division.code"],
            name=op.f("fk_population_feature_admin_code_division"),
        ),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["population_layer.id"],
            name=op.f("fk_population_feature_layer_id_population_layer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_population_feature")),
    )
    op.create_index("ix_population_feature_layer_id", "population_feature", ["layer_id"])


def downgrade() -> None:
    op.drop_table("population_feature")
    op.drop_table("population_layer")
    op.drop_index("ix_facility_shelter_geography", table_name="facility")
    for table, _, events in SOURCES:
        for event in events:
            op.execute(f"DROP TRIGGER stats_{event.lower()} ON {table}")
    op.execute("DROP TRIGGER stats_update ON facility")
    op.execute("DROP TRIGGER stats_insert ON maintenance_check")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER stats_{event} ON signage_rule")
    for function in (
        "stats_refresh_rules()",
        "stats_refresh_checks()",
        "stats_refresh_facility_update()",
        "stats_refresh_rows()",
        "stats_refresh(bigint[])",
    ):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("facility_figure")
