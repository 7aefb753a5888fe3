"""Wartime and emergencies: CAP alerts, live shelter status, conversion plans.

- alert, alert_info, alert_area: CAP 1.2 messages as received, their info blocks, and
  their areas as one WGS 84 geometry each (polygons, circles, GB/T 2260 divisions).
- shelter_status: every accepted status report of a shelter (open/closed/full, persons
  inside); the latest is the current one.
- conversion_task: the steps of a work's peacetime-to-wartime conversion, with hours and
  last drill.
- ix_facility_shelter_work_geography: the shelter finder's KNN index, over the works
  that take people in (app.shelters.models.SHELTER_WORK).
- api_key.role: the `alert_authority` role.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 16:00:00.000000
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ROLES = ("admin", "manager", "operator", "gis", "app")


def _roles(roles: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_api_key_role"), "api_key", type_="check")
    listed = ", ".join(f"'{role}'" for role in roles)
    op.create_check_constraint("role", "api_key", f"role IN ({listed})")


def upgrade() -> None:
    _roles((*_ROLES, "alert_authority"))
    op.create_table(
        "alert",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "Actual",
                "Exercise",
                "Test",
                name="alertstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "msg_type",
            sa.Enum(
                "Alert",
                "Update",
                "Cancel",
                name="msgtype",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column(
            "references",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("air_raid", sa.Boolean(), nullable=False),
        sa.Column("open_restricted", sa.Boolean(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.BigInteger(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("received_from", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ended_by"], ["alert.id"], name=op.f("fk_alert_ended_by_alert"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("sender", "identifier", name=op.f("uq_alert_sender")),
    )
    op.create_table(
        "alert_info",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("certainty", sa.String(length=16), nullable=False),
        sa.Column("effective", sa.DateTime(timezone=True), nullable=True),
        sa.Column("onset", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column(
            "parameters",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_info_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_info")),
        sa.UniqueConstraint("alert_id", "position", name=op.f("uq_alert_info_alert_id")),
    )
    op.create_table(
        "alert_area",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("info_id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "admin_codes",
            postgresql.ARRAY(sa.String(length=6)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name=op.f("ck_alert_area_geom_not_empty")),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_area_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["info_id"],
            ["alert_info.id"],
            name=op.f("fk_alert_area_info_id_alert_info"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_area")),
    )
    op.create_index(op.f("ix_alert_area_alert_id"), "alert_area", ["alert_id"], unique=False)
    op.create_index(
        "ix_alert_area_geom", "alert_area", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "conversion_task",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "block_openings",
                "install_doors",
                "clear_vehicles",
                "switch_ventilation",
                "switch_power",
                "other",
                name="conversionkind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("hours", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("drilled_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "drilled_on >= DATE '1949-10-01'", name=op.f("ck_conversion_task_drilled_on_range")
        ),
        sa.CheckConstraint(
            "hours > 0 AND hours <= 8760", name=op.f("ck_conversion_task_hours_range")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_conversion_task_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversion_task")),
        sa.UniqueConstraint(
            "facility_id", "kind", "name", name=op.f("uq_conversion_task_facility_id")
        ),
    )
    op.create_table(
        "shelter_status",
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "closed",
                "full",
                name="shelterstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("persons_inside", sa.Integer(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reported_by", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "observed_at >= TIMESTAMPTZ '1900-01-01T00:00:00+00:00' AND observed_at < TIMESTAMPTZ '2101-01-01T00:00:00+00:00'",
            name=op.f("ck_shelter_status_observed_at_range"),
        ),
        sa.CheckConstraint(
            "persons_inside >= 0", name=op.f("ck_shelter_status_persons_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_shelter_status_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("facility_id", "observed_at", name=op.f("pk_shelter_status")),
    )
    op.create_index(
        "ix_facility_shelter_work_geography",
        "facility",
        [sa.literal_column("(location::geography)")],
        unique=False,
        postgresql_using="gist",
        postgresql_where=sa.text(
            "(wartime_function = 'personnel_shelter' OR wartime_subtype = 'evacuation_trunk') AND status = 'in_service' AND deleted_at IS NULL"
        ),
    )


def downgrade() -> None:
    op.execute(
        "UPDATE api_key SET revoked_at = now() "
        "WHERE role = 'alert_authority' AND revoked_at IS NULL"
    )
    op.execute("UPDATE api_key SET role = 'app' WHERE role = 'alert_authority'")
    _roles(_ROLES)
    op.drop_index(
        "ix_facility_shelter_work_geography",
        table_name="facility",
        postgresql_using="gist",
        postgresql_where=sa.text(
            "(wartime_function = 'personnel_shelter' OR wartime_subtype = 'evacuation_trunk') AND status = 'in_service' AND deleted_at IS NULL"
        ),
    )
    op.drop_table("shelter_status")
    op.drop_table("conversion_task")
    op.drop_index("ix_alert_area_geom", table_name="alert_area", postgresql_using="gist")
    op.drop_index(op.f("ix_alert_area_alert_id"), table_name="alert_area")
    op.drop_table("alert_area")
    op.drop_table("alert_info")
    op.drop_table("alert")
