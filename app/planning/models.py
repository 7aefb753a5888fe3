from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey, InsertedAt
from app.divisions.models import DivisionKey
from app.facilities.models import Facility, geography_index

# Shelters that count for coverage and assignment: personnel shelters (人员掩蔽工程) in
# service. Other wartime functions shelter their own teams, patients or equipment, not
# the residents around them.
SHELTER_CONDITION = (
    "wartime_function = 'personnel_shelter' AND status = 'in_service' AND deleted_at IS NULL"
)

# Radius searches around residents in metres on the ellipsoid: ST_DWithin on geography,
# served by this index over the (few) shelters rather than the whole registry.
geography_index("ix_facility_shelter_geography", SHELTER_CONDITION)
# Coverage's shelters per division, capacity and area, read from the index alone (an
# index-only scan): a city's shelters are a sixth of a million-work registry, and their
# rows scattered over the whole table. `id` and the codes serve a manager's scope.
Index(
    "ix_facility_shelter_division",
    "district_code",
    "city_code",
    "province_code",
    postgresql_include=["capacity_persons", "shelter_area", "visibility", "id"],
    postgresql_where=text(SHELTER_CONDITION),
    _table=Facility.__table__,
)
# The largest service radius coverage accepts: population features keep their nearest
# shelter only up to it (shelter_distance.sql restates it).
MAX_RADIUS_M = 5000


class PopulationLayer(Base):
    """A named population data set uploaded by planners: per district, or points or
    grid cells with a count each."""

    __tablename__ = "population_layer"

    id: Mapped[IdentityKey]
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(16))
    features: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[InsertedAt]
    created_by: Mapped[str | None] = mapped_column(Text)


class PopulationFeature(Base):
    """Residents at a point, in a polygon (a grid cell, a block), or in a whole division.
    The division codes are where the feature lies, at each level, for grouping."""

    __tablename__ = "population_feature"
    __table_args__ = (
        CheckConstraint("residents >= 0", name="residents_non_negative"),
        CheckConstraint("geom IS NOT NULL OR admin_code IS NOT NULL", name="placed"),
        Index("ix_population_feature_layer_id", "layer_id"),
        # Which points a shelter that comes or goes may be the nearest shelter of.
        Index(
            "ix_population_feature_point_geography",
            text("(geom::geography)"),
            postgresql_using="gist",
            postgresql_where=text("point"),
        ),
        # A layer's areas and division rows, none in a layer of points.
        Index(
            "ix_population_feature_area_layer_id",
            "layer_id",
            postgresql_where=text("point IS NOT TRUE"),
        ),
    )

    id: Mapped[IdentityKey]
    layer_id: Mapped[int] = mapped_column(ForeignKey("population_layer.id", ondelete="CASCADE"))
    # The row (CSV) or feature (GeoJSON) number in the uploaded file, from 1.
    row_no: Mapped[int] = mapped_column(Integer)
    admin_code: Mapped[DivisionKey | None]
    province_code: Mapped[str | None] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6))
    district_code: Mapped[str | None] = mapped_column(String(6))
    residents: Mapped[int] = mapped_column(Integer)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False))
    # Coverage counts points by the distances below and areas by the union of circles:
    # a column, so that each finds its rows by index and the planner knows how many.
    point: Mapped[bool | None] = mapped_column(
        Boolean, Computed("GeometryType(geom) = 'POINT'", persisted=True)
    )
    # A point's metres to the nearest personnel shelter in service, of any visibility
    # and of the public ones; NULL beyond MAX_RADIUS_M and for areas. Written by
    # triggers (shelter_distance.sql and the population_reach_* triggers), so that
    # coverage at any radius is a comparison, not a search.
    shelter_m: Mapped[float | None] = mapped_column(Double)
    public_shelter_m: Mapped[float | None] = mapped_column(Double)
