"""Facility managers: API keys and roles, audit trail, idempotency keys, photos, signage
with its rule sets per locality, the maintenance catalogue and records, public problem
reports, and a version on facilities for ETag / If-Match.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 18:33:44.807538
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# History is evidence: rows of these tables are never changed or removed by the
# application. Deleting a facility row (never done by the API, which soft-deletes)
# cascades to its maintenance records, so the guard lets a cascade through.
APPEND_ONLY = """
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER maintenance_record_append_only BEFORE UPDATE OR DELETE ON maintenance_record
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER maintenance_check_append_only BEFORE UPDATE OR DELETE ON maintenance_check
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
"""

# The catalogue follows the Zhejiang provincial maintenance standard (2023), as
# summarised in DOMAIN.md: six disciplines; routine maintenance at least quarterly and
# special maintenance at least yearly; doors and airtight valves monthly; fans run an
# hour a month; filters serviced every two years; generator and batteries half-yearly.
# (code, discipline, name, name_zh, interval in months, description)
MAINTENANCE_ITEMS = [
    (
        "civil.structure",
        "civil_works",
        "Structure: leaks and cracks",
        "结构渗漏与裂缝",
        3,
        "walls, slabs and joints inspected for water ingress and cracking",
    ),
    (
        "civil.entrances",
        "civil_works",
        "Wartime entrances and exits",
        "战时出入口",
        3,
        "openings, stairs, ramps and emergency exits clear and usable",
    ),
    (
        "civil.signage",
        "civil_works",
        "Signage",
        "标识标牌",
        3,
        "signs complete, correctly placed, firmly mounted and clean",
    ),
    (
        "civil.fire_safety",
        "civil_works",
        "Fire safety",
        "消防设施",
        3,
        "extinguishers, hydrants and fire separation",
    ),
    (
        "civil.special",
        "civil_works",
        "Special maintenance of the works",
        "工程专项维护",
        12,
        "yearly special maintenance of the whole work",
    ),
    (
        "protective.blast_doors",
        "protective_equipment",
        "Blast and airtight doors",
        "防护密闭门、密闭门",
        1,
        "opened and closed monthly; seals and hinges checked",
    ),
    (
        "protective.airtight_valves",
        "protective_equipment",
        "Airtight valves",
        "密闭阀门",
        1,
        "operated monthly",
    ),
    (
        "protective.blast_valves",
        "protective_equipment",
        "Blast valves",
        "防爆波活门",
        3,
        "checked with the routine maintenance",
    ),
    ("ventilation.fans", "ventilation", "Fans", "通风机", 1, "run for an hour each month"),
    (
        "ventilation.gas_filters",
        "ventilation",
        "Gas filters",
        "过滤吸收器",
        24,
        "kept sealed; serviced every two years",
    ),
    (
        "water.supply_drainage",
        "water_drainage_fuel",
        "Water supply and drainage",
        "给排水",
        3,
        "pumps, tanks and drains",
    ),
    (
        "water.fuel",
        "water_drainage_fuel",
        "Fuel storage",
        "储油设施",
        6,
        "diesel tanks and lines, with the generator",
    ),
    (
        "electrical.diesel_generator",
        "electrical",
        "Diesel generator",
        "柴油发电机组",
        6,
        "started and loaded every half year",
    ),
    (
        "electrical.batteries",
        "electrical",
        "Batteries",
        "蓄电池",
        6,
        "charged and tested every half year",
    ),
    (
        "electrical.lighting",
        "electrical",
        "Lighting and power",
        "照明与配电",
        3,
        "normal and emergency lighting, distribution boards",
    ),
    (
        "information.alarm_comms",
        "information_systems",
        "Alarm and communications",
        "警报与通信",
        3,
        "alarm receivers, telephones and monitoring",
    ),
]

# Rule sets per locality (DOMAIN.md): there is no national standard, so the province
# default is the common core, and two cities carry their own published variants.
# (admin_code, kind, applies_to, min_count, source)
_PROVINCE = "安徽省人防工程标识设置通用要求（本系统默认）"
_HEFEI = "合肥市人防工程标识标牌设置规范（示例）"
_WUHU = "芜湖市人防工程标识管理规定（示例）"
SIGNAGE_RULES = [
    ("340000", "identification_plaque", "all", 1, _PROVINCE),
    ("340000", "pedestrian_entrance", "all", 1, _PROVINCE),
    ("340000", "direction", "all", 1, _PROVINCE),
    ("340000", "wartime_evacuation", "all", 1, _PROVINCE),
    ("340000", "vehicle_entrance", "parking", 1, _PROVINCE),
    ("340000", "peacetime_use", "parking", 1, _PROVINCE),
    # Hefei: vehicle-entrance sign over the ramp, personnel-entrance sign, direction signs
    # about 100 m out and every 300 m after (two at least), and an overview board.
    ("340100", "identification_plaque", "all", 1, _HEFEI),
    ("340100", "pedestrian_entrance", "all", 1, _HEFEI),
    ("340100", "direction", "all", 2, _HEFEI),
    ("340100", "overview_board", "all", 1, _HEFEI),
    ("340100", "wartime_evacuation", "all", 1, _HEFEI),
    ("340100", "vehicle_entrance", "parking", 1, _HEFEI),
    ("340100", "peacetime_use", "parking", 1, _HEFEI),
    # Wuhu: the common core plus a maintenance-information board with a QR code and
    # peacetime-wartime conversion signs.
    ("340200", "identification_plaque", "all", 1, _WUHU),
    ("340200", "pedestrian_entrance", "all", 1, _WUHU),
    ("340200", "direction", "all", 1, _WUHU),
    ("340200", "wartime_evacuation", "all", 1, _WUHU),
    ("340200", "maintenance_board", "all", 1, _WUHU),
    ("340200", "conversion", "all", 1, _WUHU),
    ("340200", "vehicle_entrance", "parking", 1, _WUHU),
    ("340200", "peacetime_use", "parking", 1, _WUHU),
]


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "manager",
                "operator",
                "gis",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "admin_codes",
            postgresql.ARRAY(sa.String(length=6)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column(
            "facility_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'::bigint[]"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "changes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(
        "ix_audit_event_entity_entity_id", "audit_event", ["entity", "entity_id"], unique=False
    )
    op.create_index(
        "ix_audit_event_facility_id_id", "audit_event", ["facility_id", "id"], unique=False
    )
    op.create_table(
        "idempotency_record",
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("media_type", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "headers", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("owner", "key", name=op.f("pk_idempotency_record")),
    )
    op.create_index(
        op.f("ix_idempotency_record_created_at"), "idempotency_record", ["created_at"], unique=False
    )
    op.create_table(
        "maintenance_item",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column(
            "discipline",
            sa.Enum(
                "civil_works",
                "protective_equipment",
                "ventilation",
                "water_drainage_fuel",
                "electrical",
                "information_systems",
                name="discipline",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("interval_months", sa.SmallInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "interval_months >= 1", name=op.f("ck_maintenance_item_interval_positive")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_maintenance_item")),
    )
    op.create_table(
        "photo",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photo")),
    )
    op.create_table(
        "signage_rule",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("admin_code", sa.String(length=6), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "identification_plaque",
                "vehicle_entrance",
                "pedestrian_entrance",
                "direction",
                "peacetime_use",
                "conversion",
                "wartime_evacuation",
                "overview_board",
                "maintenance_board",
                name="signkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "applies_to",
            sa.Enum(
                "all",
                "parking",
                name="ruleappliesto",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("min_count", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.CheckConstraint("min_count >= 1", name=op.f("ck_signage_rule_min_count_positive")),
        sa.ForeignKeyConstraint(
            ["admin_code"], ["division.code"], name=op.f("fk_signage_rule_admin_code_division")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signage_rule")),
        sa.UniqueConstraint(
            "admin_code", "kind", "applies_to", name=op.f("uq_signage_rule_admin_code")
        ),
    )
    op.create_index(
        op.f("ix_signage_rule_admin_code"), "signage_rule", ["admin_code"], unique=False
    )
    op.create_table(
        "maintenance_record",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "inspection",
                "repair",
                "equipment_test",
                "drill",
                name="recordkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("performed_by", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("corrects_id", sa.BigInteger(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["maintenance_record.id"],
            name=op.f("fk_maintenance_record_corrects_id_maintenance_record"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_maintenance_record_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_record")),
        sa.UniqueConstraint("corrects_id", name=op.f("uq_maintenance_record_corrects_id")),
    )
    op.create_index(
        "ix_maintenance_record_facility_id_performed_on",
        "maintenance_record",
        ["facility_id", "performed_on"],
        unique=False,
    )
    op.create_table(
        "problem_report",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "locked",
                "closed",
                "missing_sign",
                "damaged_sign",
                "wrong_location",
                "bad_condition",
                "other",
                name="reportkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("photo", sa.String(length=64), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "acknowledged",
                "resolved",
                name="reportstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="open",
            nullable=False,
        ),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("reported_by", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status <> 'resolved' OR (resolved_at IS NOT NULL AND resolution_note IS NOT NULL)",
            name=op.f("ck_problem_report_resolved_has_note"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_problem_report_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["photo"], ["photo.sha256"], name=op.f("fk_problem_report_photo_photo")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_report")),
    )
    op.create_index(
        "ix_problem_report_facility_id_status",
        "problem_report",
        ["facility_id", "status"],
        unique=False,
    )
    op.create_table(
        "sign",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "identification_plaque",
                "vehicle_entrance",
                "pedestrian_entrance",
                "direction",
                "peacetime_use",
                "conversion",
                "wartime_evacuation",
                "overview_board",
                "maintenance_board",
                name="signkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "missing",
                "planned",
                "installed",
                "damaged",
                "removed",
                name="signstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "location",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column("inspected_on", sa.Date(), nullable=True),
        sa.Column(
            "photos",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status <> 'installed' OR installed_on IS NOT NULL",
            name=op.f("ck_sign_installed_has_date"),
        ),
        sa.CheckConstraint(
            "inspected_on IS NULL OR installed_on IS NULL OR inspected_on >= installed_on",
            name=op.f("ck_sign_inspected_after_installed"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_sign_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign")),
    )
    op.create_index("ix_sign_facility_id_kind", "sign", ["facility_id", "kind"], unique=False)
    op.create_table(
        "maintenance_check",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("item_code", sa.Text(), nullable=False),
        sa.Column(
            "result",
            sa.Enum(
                "ok",
                "defect",
                "not_checked",
                name="checkresult",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "none",
                "minor",
                "major",
                "serious",
                name="severity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("closes_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "result <> 'ok' OR severity = 'none'",
            name=op.f("ck_maintenance_check_ok_has_no_finding"),
        ),
        sa.ForeignKeyConstraint(
            ["closes_id"],
            ["maintenance_check.id"],
            name=op.f("fk_maintenance_check_closes_id_maintenance_check"),
        ),
        sa.ForeignKeyConstraint(
            ["item_code"],
            ["maintenance_item.code"],
            name=op.f("fk_maintenance_check_item_code_maintenance_item"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["maintenance_record.id"],
            name=op.f("fk_maintenance_check_record_id_maintenance_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_check")),
    )
    op.create_index(
        "ix_maintenance_check_closes_id", "maintenance_check", ["closes_id"], unique=False
    )
    op.create_index(
        "ix_maintenance_check_record_id", "maintenance_check", ["record_id"], unique=False
    )
    op.add_column(
        "facility", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.execute(APPEND_ONLY)
    _seed()


def _seed() -> None:
    item = sa.table(
        "maintenance_item",
        *(
            sa.column(name)
            for name in ("code", "discipline", "name", "name_zh", "interval_months", "description")
        ),
    )
    op.bulk_insert(
        item,
        [
            dict(
                zip(
                    ("code", "discipline", "name", "name_zh", "interval_months", "description"),
                    row,
                    strict=True,
                )
            )
            for row in MAINTENANCE_ITEMS
        ],
    )
    rule = sa.table(
        "signage_rule",
        *(sa.column(name) for name in ("admin_code", "kind", "applies_to", "min_count", "source")),
    )
    op.bulk_insert(
        rule,
        [
            dict(zip(("admin_code", "kind", "applies_to", "min_count", "source"), row, strict=True))
            for row in SIGNAGE_RULES
        ],
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER maintenance_check_append_only ON maintenance_check")
    op.execute("DROP TRIGGER maintenance_record_append_only ON maintenance_record")
    op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION refuse_change()")
    op.drop_column("facility", "version")
    op.drop_index("ix_maintenance_check_record_id", table_name="maintenance_check")
    op.drop_index("ix_maintenance_check_closes_id", table_name="maintenance_check")
    op.drop_table("maintenance_check")
    op.drop_index("ix_sign_facility_id_kind", table_name="sign")
    op.drop_table("sign")
    op.drop_index("ix_problem_report_facility_id_status", table_name="problem_report")
    op.drop_table("problem_report")
    op.drop_index("ix_maintenance_record_facility_id_performed_on", table_name="maintenance_record")
    op.drop_table("maintenance_record")
    op.drop_index(op.f("ix_signage_rule_admin_code"), table_name="signage_rule")
    op.drop_table("signage_rule")
    op.drop_table("photo")
    op.drop_table("maintenance_item")
    op.drop_index(op.f("ix_idempotency_record_created_at"), table_name="idempotency_record")
    op.drop_table("idempotency_record")
    op.drop_index("ix_audit_event_facility_id_id", table_name="audit_event")
    op.drop_index("ix_audit_event_entity_entity_id", table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_table("api_key")
