"""Peacetime uses, with live parking occupancy and its history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:25:03.570598
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A use's location is its facility's, copied so that nearby search is a single KNN scan
# of one index; these triggers keep the copy true whatever writes the facility.
TRIGGERS = """
CREATE FUNCTION peacetime_use_take_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.location := (SELECT location::geography FROM facility WHERE id = NEW.facility_id);
    RETURN NEW;
END $$;
CREATE TRIGGER peacetime_use_take_location BEFORE INSERT OR UPDATE OF facility_id
    ON peacetime_use FOR EACH ROW EXECUTE FUNCTION peacetime_use_take_location();

CREATE FUNCTION facility_give_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE peacetime_use SET location = NEW.location::geography WHERE facility_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER facility_give_location AFTER UPDATE OF location ON facility FOR EACH ROW
    WHEN (OLD.location IS DISTINCT FROM NEW.location) EXECUTE FUNCTION facility_give_location();
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "parking_occupancy",
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("free_spaces", sa.Integer(), nullable=False),
        sa.Column("free_charging_piles", sa.Integer(), nullable=True),
        sa.Column(
            "opening_status",
            sa.Enum(
                "OPEN",
                "CLOSED",
                "UNKNOWN",
                name="openingstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "free_spaces >= 0 AND (free_charging_piles IS NULL OR free_charging_piles >= 0)",
            name=op.f("ck_parking_occupancy_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_parking_occupancy_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("facility_id", "observed_at", name=op.f("pk_parking_occupancy")),
    )
    op.create_table(
        "peacetime_use",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
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
                name="usetype",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("fee", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "total_spaces",
            sa.Integer(),
            sa.Computed("(attributes ->> 'total_spaces')::int", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "accessible_spaces",
            sa.Integer(),
            sa.Computed("(attributes ->> 'accessible_spaces')::int", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "ev_spaces",
            sa.Integer(),
            sa.Computed("(attributes ->> 'ev_spaces')::int", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "charging_piles",
            sa.Integer(),
            sa.Computed("(attributes ->> 'charging_piles')::int", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "charging_max_kw",
            sa.Numeric(),
            sa.Computed("(attributes ->> 'charging_max_kw')::numeric", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "height_limit_m",
            sa.Numeric(),
            sa.Computed("(attributes ->> 'height_limit_m')::numeric", persisted=True),
            nullable=True,
        ),
        sa.Column("realtime_free_spaces", sa.Integer(), nullable=True),
        sa.Column("realtime_free_charging_piles", sa.Integer(), nullable=True),
        sa.Column(
            "realtime_opening_status",
            sa.Enum(
                "OPEN",
                "CLOSED",
                "UNKNOWN",
                name="openingstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("realtime_observed_at", sa.DateTime(timezone=True), nullable=True),
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
            "realtime_free_spaces IS NULL OR realtime_free_spaces >= 0",
            name=op.f("ck_peacetime_use_free_spaces_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_peacetime_use_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peacetime_use")),
    )
    op.create_index(
        op.f("ix_peacetime_use_facility_id"), "peacetime_use", ["facility_id"], unique=False
    )
    op.create_index(
        "ix_peacetime_use_type_location",
        "peacetime_use",
        ["type", "location"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "uq_peacetime_use_parking_per_facility",
        "peacetime_use",
        ["facility_id"],
        unique=True,
        postgresql_where=sa.text("type = 'parking'"),
    )
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER facility_give_location ON facility")
    op.execute("DROP FUNCTION facility_give_location()")
    op.drop_index(
        "uq_peacetime_use_parking_per_facility",
        table_name="peacetime_use",
        postgresql_where=sa.text("type = 'parking'"),
    )
    op.drop_index(
        "ix_peacetime_use_type_location", table_name="peacetime_use", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_peacetime_use_facility_id"), table_name="peacetime_use")
    op.drop_table("peacetime_use")
    op.execute("DROP FUNCTION peacetime_use_take_location()")
    op.drop_table("parking_occupancy")
