import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.dates import instant_range_sql
from app.db.base import Base, IdentityKey, Timestamped, Version
from app.db.types import str_enum
from app.divisions.models import DivisionKey


class ConstructionForm(enum.StrEnum):
    attached = "attached"  # 结建: basement of a civil building
    standalone = "standalone"  # 单建


class StandaloneType(enum.StrEnum):
    cut_and_cover = "cut_and_cover"  # 掘开式
    tunnel = "tunnel"  # 坑道式
    gallery = "gallery"  # 地道式


class WartimeFunction(enum.StrEnum):
    command_post = "command_post"
    medical_aid = "medical_aid"
    professional_team = "professional_team"
    personnel_shelter = "personnel_shelter"
    supporting = "supporting"


class WartimeSubtype(enum.StrEnum):
    central_hospital = "central_hospital"
    emergency_hospital = "emergency_hospital"
    aid_station = "aid_station"
    team_shelter = "team_shelter"
    equipment_shelter = "equipment_shelter"
    class_1_shelter = "class_1_shelter"
    class_2_shelter = "class_2_shelter"
    power_station = "power_station"
    water_station = "water_station"
    supply_depot = "supply_depot"
    food_station = "food_station"
    evacuation_trunk = "evacuation_trunk"
    connecting_passage = "connecting_passage"
    alarm_station = "alarm_station"
    other = "other"


SUBTYPES_BY_FUNCTION: dict[WartimeFunction, frozenset[WartimeSubtype]] = {
    WartimeFunction.command_post: frozenset(),
    WartimeFunction.medical_aid: frozenset(
        {
            WartimeSubtype.central_hospital,
            WartimeSubtype.emergency_hospital,
            WartimeSubtype.aid_station,
        }
    ),
    WartimeFunction.professional_team: frozenset(
        {WartimeSubtype.team_shelter, WartimeSubtype.equipment_shelter}
    ),
    WartimeFunction.personnel_shelter: frozenset(
        {WartimeSubtype.class_1_shelter, WartimeSubtype.class_2_shelter}
    ),
    WartimeFunction.supporting: frozenset(
        {
            WartimeSubtype.power_station,
            WartimeSubtype.water_station,
            WartimeSubtype.supply_depot,
            WartimeSubtype.food_station,
            WartimeSubtype.evacuation_trunk,
            WartimeSubtype.connecting_passage,
            WartimeSubtype.alarm_station,
            WartimeSubtype.other,
        }
    ),
}


class NuclearLevel(enum.StrEnum):
    n4 = "4"
    n4b = "4B"
    n5 = "5"
    n6 = "6"
    n6b = "6B"


class ConventionalLevel(enum.StrEnum):
    c5 = "5"
    c6 = "6"


class ChemicalClass(enum.StrEnum):
    a = "A"  # 甲
    b = "B"  # 乙
    c = "C"  # 丙
    d = "D"  # 丁


class CapacityBasis(enum.StrEnum):
    area_norm = "area_norm"  # shelter area at 1 m² per person (GB 50038)
    design = "design"  # the approved design documents
    survey = "survey"  # counted on site
    estimate = "estimate"


class FacilityStatus(enum.StrEnum):
    planned = "planned"
    under_construction = "under_construction"
    in_service = "in_service"
    suspended = "suspended"
    decommissioned = "decommissioned"


class EntranceKind(enum.StrEnum):
    vehicle = "vehicle"
    pedestrian = "pedestrian"
    # Sealed in peacetime: shown only to roles that read restricted fields (DOMAIN.md,
    # sensitive works), like the internal layout it belongs to.
    wartime = "wartime"


class Visibility(enum.StrEnum):
    """Whether the public may know that a work exists (DOMAIN.md, sensitive works): a
    restricted work is answered as missing to everyone outside Principal.visible_clause."""

    public = "public"
    restricted = "restricted"


# Works whose location is not published unless an admin decides otherwise. DOMAIN.md adds
# communication hubs, which WartimeFunction and WartimeSubtype do not model yet: when they
# do, they belong here.
RESTRICTED_FUNCTIONS = frozenset({WartimeFunction.command_post})


def default_visibility(function: WartimeFunction) -> Visibility:
    return Visibility.restricted if function in RESTRICTED_FUNCTIONS else Visibility.public


class Facility(Timestamped, Base):
    __tablename__ = "facility"
    __table_args__ = (
        CheckConstraint(
            "(construction_form = 'standalone') = (standalone_type IS NOT NULL)",
            name="standalone_type_iff_standalone",
        ),
        CheckConstraint(
            "building_area >= 0 AND usable_area >= 0 AND shelter_area >= 0",
            name="areas_non_negative",
        ),
        CheckConstraint("usable_area <= building_area", name="usable_within_building"),
        CheckConstraint("shelter_area <= usable_area", name="shelter_within_usable"),
        CheckConstraint("capacity_persons >= 0", name="capacity_non_negative"),
        CheckConstraint("floors_below_ground BETWEEN 1 AND 10", name="floors_range"),
        CheckConstraint("completion_year BETWEEN 1949 AND 2100", name="completion_year_range"),
        CheckConstraint(instant_range_sql("verified_at"), name="verified_at_range"),
        CheckConstraint("conversion_hours BETWEEN 0 AND 8760", name="conversion_hours_range"),
        CheckConstraint("peacetime_parking_spaces >= 0", name="parking_spaces_non_negative"),
        Index("ix_facility_location", "location", postgresql_using="gist"),
        Index(
            "ix_facility_search",
            text("(name || ' ' || address) gin_trgm_ops"),
            postgresql_using="gin",
        ),
        Index("ix_facility_city_code_id", "city_code", "id"),
        Index("ix_facility_district_code_id", "district_code", "id"),
        # The few restricted works, for the list filter and for checks that look for them;
        # the public ones are nearly all rows, which no index would narrow.
        Index(
            "ix_facility_restricted_id",
            "id",
            postgresql_where=text("visibility = 'restricted'"),
        ),
    )

    id: Mapped[IdentityKey]
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    province_code: Mapped[DivisionKey]
    city_code: Mapped[DivisionKey | None]
    district_code: Mapped[DivisionKey | None]
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    footprint = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    construction_form: Mapped[ConstructionForm] = mapped_column(str_enum(ConstructionForm))
    standalone_type: Mapped[StandaloneType | None] = mapped_column(str_enum(StandaloneType))
    wartime_function: Mapped[WartimeFunction] = mapped_column(str_enum(WartimeFunction))
    wartime_subtype: Mapped[WartimeSubtype | None] = mapped_column(str_enum(WartimeSubtype))
    nuclear_level: Mapped[NuclearLevel | None] = mapped_column(str_enum(NuclearLevel))
    conventional_level: Mapped[ConventionalLevel | None] = mapped_column(
        str_enum(ConventionalLevel)
    )
    chemical_class: Mapped[ChemicalClass | None] = mapped_column(str_enum(ChemicalClass))
    building_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    usable_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    shelter_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    capacity_persons: Mapped[int | None]
    capacity_basis: Mapped[CapacityBasis | None] = mapped_column(str_enum(CapacityBasis))
    floors_below_ground: Mapped[int | None] = mapped_column(SmallInteger)
    completion_year: Mapped[int | None] = mapped_column(SmallInteger)
    owner_unit: Mapped[str | None] = mapped_column(Text)
    managing_unit: Mapped[str | None] = mapped_column(Text)
    managing_authority: Mapped[str | None] = mapped_column(Text)
    keyholder_name: Mapped[str | None] = mapped_column(Text)
    keyholder_phone: Mapped[str | None] = mapped_column(Text)
    status: Mapped[FacilityStatus] = mapped_column(str_enum(FacilityStatus), index=True)
    # No default: every writer decides (default_visibility), so none publishes by omission.
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility))
    conversion_hours: Mapped[int | None]
    # The design's peacetime parking spaces; live parking uses refine this figure.
    peacetime_parking_spaces: Mapped[int | None]
    data_source: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]
    version: Mapped[Version]

    entrances: Mapped[list["Entrance"]] = relationship(
        back_populates="facility",
        cascade="all, delete-orphan",
        lazy="raise",
        order_by="Entrance.id",
    )
    protection_units: Mapped[list["ProtectionUnit"]] = relationship(
        back_populates="facility",
        cascade="all, delete-orphan",
        lazy="raise",
        order_by="ProtectionUnit.id",
    )


def geography_index(name: str, where: str) -> Index:
    """A GiST index on the locations, as geography, of the works that `where` (SQL) holds:
    searches in metres on the ellipsoid over a few of the registry's works. Declared by
    the package whose searches it serves."""
    return Index(
        name,
        text("(location::geography)"),
        postgresql_using="gist",
        postgresql_where=text(where),
        _table=Facility.__table__,
    )


# The key of the work a row belongs to: the row goes with the work when it is deleted for good.
FacilityKey = Annotated[int, mapped_column(ForeignKey("facility.id", ondelete="CASCADE"))]


class Entrance(Base):
    __tablename__ = "entrance"
    __table_args__ = (Index("ix_entrance_location", "location", postgresql_using="gist"),)

    id: Mapped[IdentityKey]
    facility_id: Mapped[FacilityKey] = mapped_column(index=True)
    kind: Mapped[EntranceKind] = mapped_column(str_enum(EntranceKind))
    accessible: Mapped[bool] = mapped_column(server_default=text("false"))
    name: Mapped[str | None] = mapped_column(Text)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)

    facility: Mapped[Facility] = relationship(back_populates="entrances", lazy="raise")


class ProtectionUnit(Base):
    """防护单元: large works are split into units, each with its own area and capacity."""

    __tablename__ = "protection_unit"
    __table_args__ = (
        UniqueConstraint("facility_id", "name"),
        CheckConstraint("shelter_area >= 0 AND capacity_persons >= 0", name="non_negative"),
    )

    id: Mapped[IdentityKey]
    # Looked up through the unique (facility_id, name) index, which leads with it.
    facility_id: Mapped[FacilityKey]
    name: Mapped[str] = mapped_column(Text)
    shelter_area: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    capacity_persons: Mapped[int]

    facility: Mapped[Facility] = relationship(back_populates="protection_units", lazy="raise")
