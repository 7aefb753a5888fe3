"""Foundation: admin divisions, facilities, entrances and protection units.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 17:50:37.087282
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# GB/T 2260 codes of Anhui as laid out since the 2011 Chaohu reorganisation: the province,
# its 16 prefecture-level cities, and Hefei's districts and counties.
VALID_FROM = date(2011, 8, 22)
SEED_DIVISIONS = [
    ("340000", "安徽省", "province", None),
    ("340100", "合肥市", "city", "340000"),
    ("340200", "芜湖市", "city", "340000"),
    ("340300", "蚌埠市", "city", "340000"),
    ("340400", "淮南市", "city", "340000"),
    ("340500", "马鞍山市", "city", "340000"),
    ("340600", "淮北市", "city", "340000"),
    ("340700", "铜陵市", "city", "340000"),
    ("340800", "安庆市", "city", "340000"),
    ("341000", "黄山市", "city", "340000"),
    ("341100", "滁州市", "city", "340000"),
    ("341200", "阜阳市", "city", "340000"),
    ("341300", "宿州市", "city", "340000"),
    ("341500", "六安市", "city", "340000"),
    ("341600", "亳州市", "city", "340000"),
    ("341700", "池州市", "city", "340000"),
    ("341800", "宣城市", "city", "340000"),
    ("340102", "瑶海区", "district", "340100"),
    ("340103", "庐阳区", "district", "340100"),
    ("340104", "蜀山区", "district", "340100"),
    ("340111", "包河区", "district", "340100"),
    ("340121", "长丰县", "district", "340100"),
    ("340122", "肥东县", "district", "340100"),
    ("340123", "肥西县", "district", "340100"),
    ("340124", "庐江县", "district", "340100"),
    ("340181", "巢湖市", "district", "340100"),
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "division",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "province",
                "city",
                "district",
                name="divisionlevel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("parent_code", sa.String(length=6), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "boundary",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.CheckConstraint("code ~ '^[0-9]{6}$'", name=op.f("ck_division_code_six_digits")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_division_validity_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["division.code"], name=op.f("fk_division_parent_code_division")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_division")),
    )
    op.create_index(
        "ix_division_boundary", "division", ["boundary"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_division_parent_code"), "division", ["parent_code"], unique=False)
    op.create_table(
        "facility",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "footprint",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "construction_form",
            sa.Enum(
                "attached",
                "standalone",
                name="constructionform",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "standalone_type",
            sa.Enum(
                "cut_and_cover",
                "tunnel",
                "gallery",
                name="standalonetype",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "wartime_function",
            sa.Enum(
                "command_post",
                "medical_aid",
                "professional_team",
                "personnel_shelter",
                "supporting",
                name="wartimefunction",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "wartime_subtype",
            sa.Enum(
                "central_hospital",
                "emergency_hospital",
                "aid_station",
                "team_shelter",
                "equipment_shelter",
                "class_1_shelter",
                "class_2_shelter",
                "power_station",
                "water_station",
                "supply_depot",
                "food_station",
                "evacuation_trunk",
                "connecting_passage",
                "alarm_station",
                "other",
                name="wartimesubtype",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "nuclear_level",
            sa.Enum(
                "4",
                "4B",
                "5",
                "6",
                "6B",
                name="nuclearlevel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "conventional_level",
            sa.Enum(
                "5",
                "6",
                name="conventionallevel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "chemical_class",
            sa.Enum(
                "A",
                "B",
                "C",
                "D",
                name="chemicalclass",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("building_area", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("usable_area", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("shelter_area", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("capacity_persons", sa.Integer(), nullable=True),
        sa.Column(
            "capacity_basis",
            sa.Enum(
                "area_norm",
                "design",
                "survey",
                "estimate",
                name="capacitybasis",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("floors_below_ground", sa.SmallInteger(), nullable=True),
        sa.Column("completion_year", sa.SmallInteger(), nullable=True),
        sa.Column("owner_unit", sa.Text(), nullable=True),
        sa.Column("managing_unit", sa.Text(), nullable=True),
        sa.Column("managing_authority", sa.Text(), nullable=True),
        sa.Column("keyholder_name", sa.Text(), nullable=True),
        sa.Column("keyholder_phone", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "under_construction",
                "in_service",
                "suspended",
                "decommissioned",
                name="facilitystatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("conversion_hours", sa.Integer(), nullable=True),
        sa.Column("peacetime_parking_spaces", sa.Integer(), nullable=True),
        sa.Column("data_source", sa.Text(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
            "(construction_form = 'standalone') = (standalone_type IS NOT NULL)",
            name=op.f("ck_facility_standalone_type_iff_standalone"),
        ),
        sa.CheckConstraint(
            "building_area >= 0 AND usable_area >= 0 AND shelter_area >= 0",
            name=op.f("ck_facility_areas_non_negative"),
        ),
        sa.CheckConstraint("capacity_persons >= 0", name=op.f("ck_facility_capacity_non_negative")),
        sa.CheckConstraint(
            "completion_year BETWEEN 1949 AND 2100", name=op.f("ck_facility_completion_year_range")
        ),
        sa.CheckConstraint(
            "conversion_hours BETWEEN 0 AND 8760", name=op.f("ck_facility_conversion_hours_range")
        ),
        sa.CheckConstraint(
            "floors_below_ground BETWEEN 1 AND 10", name=op.f("ck_facility_floors_range")
        ),
        sa.CheckConstraint(
            "peacetime_parking_spaces >= 0", name=op.f("ck_facility_parking_spaces_non_negative")
        ),
        sa.CheckConstraint(
            "shelter_area <= usable_area", name=op.f("ck_facility_shelter_within_usable")
        ),
        sa.CheckConstraint(
            "usable_area <= building_area", name=op.f("ck_facility_usable_within_building")
        ),
        sa.ForeignKeyConstraint(
            ["city_code"], ["division.code"], name=op.f("fk_facility_city_code_division")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["division.code"], name=op.f("fk_facility_district_code_division")
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["division.code"], name=op.f("fk_facility_province_code_division")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility")),
        sa.UniqueConstraint("code", name=op.f("uq_facility_code")),
    )
    op.create_index("ix_facility_city_code_id", "facility", ["city_code", "id"], unique=False)
    op.create_index(
        "ix_facility_district_code_id", "facility", ["district_code", "id"], unique=False
    )
    op.create_index(
        "ix_facility_location", "facility", ["location"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_facility_search",
        "facility",
        [sa.literal_column("(name || ' ' || address) gin_trgm_ops")],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(op.f("ix_facility_status"), "facility", ["status"], unique=False)
    op.create_table(
        "entrance",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "vehicle",
                "pedestrian",
                "wartime",
                name="entrancekind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("accessible", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "location",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_entrance_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entrance")),
    )
    op.create_index(op.f("ix_entrance_facility_id"), "entrance", ["facility_id"], unique=False)
    op.create_index(
        "ix_entrance_location", "entrance", ["location"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "protection_unit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("facility_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("shelter_area", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("capacity_persons", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "shelter_area >= 0 AND capacity_persons >= 0",
            name=op.f("ck_protection_unit_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_protection_unit_facility_id_facility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_unit")),
        sa.UniqueConstraint("facility_id", "name", name=op.f("uq_protection_unit_facility_id")),
    )
    op.create_index(
        op.f("ix_protection_unit_facility_id"), "protection_unit", ["facility_id"], unique=False
    )
    division = sa.table(
        "division",
        sa.column("code"),
        sa.column("name"),
        sa.column("level"),
        sa.column("parent_code"),
        sa.column("valid_from", sa.Date),
    )
    op.bulk_insert(
        division,
        [
            {
                "code": code,
                "name": name,
                "level": level,
                "parent_code": parent,
                "valid_from": VALID_FROM,
            }
            for code, name, level, parent in SEED_DIVISIONS
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_protection_unit_facility_id"), table_name="protection_unit")
    op.drop_table("protection_unit")
    op.drop_index("ix_entrance_location", table_name="entrance", postgresql_using="gist")
    op.drop_index(op.f("ix_entrance_facility_id"), table_name="entrance")
    op.drop_table("entrance")
    op.drop_index(op.f("ix_facility_status"), table_name="facility")
    op.drop_index("ix_facility_search", table_name="facility", postgresql_using="gin")
    op.drop_index("ix_facility_location", table_name="facility", postgresql_using="gist")
    op.drop_index("ix_facility_district_code_id", table_name="facility")
    op.drop_index("ix_facility_city_code_id", table_name="facility")
    op.drop_table("facility")
    op.drop_index(op.f("ix_division_parent_code"), table_name="division")
    op.drop_index("ix_division_boundary", table_name="division", postgresql_using="gist")
    op.drop_table("division")
