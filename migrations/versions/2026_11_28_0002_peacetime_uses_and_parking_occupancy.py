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


# The forward shifts WGS 84 -> GCJ-02 -> BD-09 in SQL, so that hot read paths can write
# positions in a caller's system into JSON that PostgreSQL builds. Same formulas and region
# rule as app/core/geo.py (prcoords and the ChinaMapShift rectangles); tests hold the two
# to agreement. Reading a caller's position (the inverse) stays in Python.
COORDSYS_FUNCTIONS = """
CREATE FUNCTION gcj02_applies(lon float8, lat float8) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ((lon BETWEEN 79.4462 AND 96.33 AND lat BETWEEN 42.8899 AND 49.2204)
         OR (lon BETWEEN 109.6872 AND 135.0002 AND lat BETWEEN 39.3742 AND 54.1415)
         OR (lon BETWEEN 73.1246 AND 124.143255 AND lat BETWEEN 29.5297 AND 42.8899)
         OR (lon BETWEEN 82.9684 AND 97.0352 AND lat BETWEEN 26.7186 AND 29.5297)
         OR (lon BETWEEN 97.0253 AND 124.367395 AND lat BETWEEN 20.414096 AND 29.5297)
         OR (lon BETWEEN 107.975793 AND 111.744104 AND lat BETWEEN 17.871542 AND 20.414096))
    AND NOT ((lon BETWEEN 119.921265 AND 122.497559 AND lat BETWEEN 21.785006 AND 25.398623)
         OR (lon BETWEEN 101.8652 AND 106.665 AND lat BETWEEN 20.0988 AND 22.284)
         OR (lon BETWEEN 106.4525 AND 108.051 AND lat BETWEEN 20.4878 AND 21.5422)
         OR (lon BETWEEN 109.0323 AND 119.127 AND lat BETWEEN 50.3257 AND 55.8175)
         OR (lon BETWEEN 127.4568 AND 137.0227 AND lat BETWEEN 49.5574 AND 55.8175)
         OR (lon BETWEEN 131.2662 AND 137.0227 AND lat BETWEEN 42.5692 AND 44.8922))
$$;

-- Single expressions in SQL (not plpgsql), so that the planner inlines them: a call
-- then costs a few arithmetic operations, not a function invocation.
-- x = lon - 105 and y = lat - 35 are written out; 6378245 and 0.006693... are the
-- Krasovsky 1940 ellipsoid's semi-major axis and squared eccentricity.
CREATE FUNCTION wgs84_to_gcj02(lon float8, lat float8) RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN NOT gcj02_applies(lon, lat) THEN ARRAY[lon, lat] ELSE ARRAY[
        lon + (300 + (lon - 105) + 2 * (lat - 35) + 0.1 * (lon - 105) ^ 2
               + 0.1 * (lon - 105) * (lat - 35) + 0.1 * sqrt(abs(lon - 105))
               + (2 * sin((lon - 105) * 6 * pi()) + 2 * sin((lon - 105) * 2 * pi())
                  + 2 * sin((lon - 105) * pi()) + 4 * sin((lon - 105) / 3 * pi())
                  + 15 * sin((lon - 105) / 12 * pi()) + 30 * sin((lon - 105) / 30 * pi())) * 20 / 3)
            / radians(6378245 * cos(radians(lat))
                      / sqrt(1 - 0.00669342162296594323 * sin(radians(lat)) ^ 2)),
        lat + (-100 + 2 * (lon - 105) + 3 * (lat - 35) + 0.2 * (lat - 35) ^ 2
               + 0.1 * (lon - 105) * (lat - 35) + 0.2 * sqrt(abs(lon - 105))
               + (2 * sin((lon - 105) * 6 * pi()) + 2 * sin((lon - 105) * 2 * pi())
                  + 2 * sin((lat - 35) * pi()) + 4 * sin((lat - 35) / 3 * pi())
                  + 16 * sin((lat - 35) / 12 * pi()) + 32 * sin((lat - 35) / 30 * pi())) * 20 / 3)
            / radians(6378245 * (1 - 0.00669342162296594323)
                      / (1 - 0.00669342162296594323 * sin(radians(lat)) ^ 2) ^ 1.5)
    ] END
$$;

-- BD-09 from a GCJ-02 position, as Baidu defines it on top of GCJ-02. Only for positions
-- that were shifted: whether they were is decided on the WGS 84 position, by the caller.
CREATE FUNCTION gcj02_to_bd09(lon float8, lat float8) RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[
        (sqrt(lon * lon + lat * lat) + 0.00002 * sin(radians(lat) * 3000))
            * cos(atan2(lat, lon) + 0.000003 * cos(radians(lon) * 3000)) + 0.0065,
        (sqrt(lon * lon + lat * lat) + 0.00002 * sin(radians(lat) * 3000))
            * sin(atan2(lat, lon) + 0.000003 * cos(radians(lon) * 3000)) + 0.006
    ]
$$;
"""


def upgrade() -> None:
    op.execute(COORDSYS_FUNCTIONS)
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
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
        "ix_peacetime_use_location",
        "peacetime_use",
        ["location"],
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
    op.execute("DROP FUNCTION gcj02_to_bd09(float8, float8)")
    op.execute("DROP FUNCTION wgs84_to_gcj02(float8, float8)")
    op.execute("DROP FUNCTION gcj02_applies(float8, float8)")
    op.execute("DROP TRIGGER facility_give_location ON facility")
    op.execute("DROP FUNCTION facility_give_location()")
    op.drop_index(
        "uq_peacetime_use_parking_per_facility",
        table_name="peacetime_use",
        postgresql_where=sa.text("type = 'parking'"),
    )
    op.drop_index("ix_peacetime_use_location", table_name="peacetime_use", postgresql_using="gist")
    op.drop_index(op.f("ix_peacetime_use_facility_id"), table_name="peacetime_use")
    op.drop_table("peacetime_use")
    op.execute("DROP FUNCTION peacetime_use_take_location()")
    op.drop_table("parking_occupancy")
