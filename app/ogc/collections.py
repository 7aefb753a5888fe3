"""The published collections, each with its columns: the one place that says what a GIS
client sees. A property is a SQL expression with a type; restricted ones are shown to
the roles that read restricted fields only (accounts.principal). Rows are those of the
works the caller may see (facilities.scope.visible_clause, applied by ogc.service)."""

import enum
import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    FromClause,
    Integer,
    Text,
    bindparam,
    case,
    func,
    literal,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.types import TypeEngine

from app.facilities.models import Entrance, EntranceKind, Facility, FacilityStatus, Visibility
from app.shelters.models import ShelterState
from app.shelters.status import (
    LATEST,
    LIVE_FREE_PLACES,
    LIVE_FRESH,
    LIVE_PERSONS,
    LIVE_STATE,
)
from app.signage.models import Sign, SignStatus
from app.uses.models import OpeningStatus, PeacetimeUse, UseType


class Kind(enum.Enum):
    """A property's type: its JSON Schema, its SQL type, and the Python values it takes."""

    string = ({"type": "string"}, Text(), (str,))
    # bigint: ids are, and a value binds cast to this type (an integer beyond int4 was a 422)
    integer = ({"type": "integer"}, BigInteger(), (int,))
    number = ({"type": "number"}, Float(), (int, float))
    boolean = ({"type": "boolean"}, Boolean(), (bool,))
    datetime = ({"type": "string", "format": "date-time"}, DateTime(timezone=True), (datetime,))
    date = ({"type": "string", "format": "date"}, Date(), (date,))
    # Nested JSON: shown, but neither filtered nor sorted on.
    array = ({"type": "array"}, JSON(), ())
    # The feature's geometry, `geometry` to the spatial functions.
    geometry = ({"format": "geometry-point", "x-ogc-role": "primary-geometry"}, Geometry(), ())

    def __init__(self, schema: dict, sql_type: TypeEngine, values: tuple[type, ...]) -> None:
        self.schema = schema
        self.sql_type = sql_type
        self.values = values

    @property
    def comparable(self) -> bool:
        return self not in (Kind.array, Kind.geometry)

    def accepts(self, value: object) -> bool:
        # bool is an int to Python, never to CQL2; a datetime is a date to Python.
        if isinstance(value, bool):
            return self is Kind.boolean
        if isinstance(value, datetime):
            return self is Kind.datetime
        return isinstance(value, self.values)


@dataclass(frozen=True)
class Column:
    expr: ColumnElement
    kind: Kind
    title: str
    restricted: bool = False
    enum: tuple[str, ...] = ()
    # What readers without restricted access see instead of `expr`, where that differs
    # (entrances without the wartime ones).
    public: ColumnElement | None = None

    def typed(self, *, restricted: bool = True) -> ColumnElement:
        """The expression with its declared type, so literals compared with it bind as that."""
        expr = self.expr if restricted or self.public is None else self.public
        return type_coerce(expr, self.kind.sql_type)


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    source: FromClause
    key: ColumnElement
    geometry: ColumnElement
    # The update time: what `datetime` selects on.
    datetime: str
    columns: dict[str, Column]
    where: tuple[ColumnElement[bool], ...] = field(default=())
    # Rows that only roles reading restricted fields see (wartime entrances).
    restricted_rows: ColumnElement[bool] | None = None
    # Where the extent is computed, where `source` joins what the geometry and the
    # conditions do not need (signage's per-facility counts).
    extent_from: FromClause | None = None

    @property
    def extent_source(self) -> FromClause:
        return self.source if self.extent_from is None else self.extent_from

    def __post_init__(self) -> None:
        for name in self.columns:
            if not NAME.match(name):
                raise ValueError(f"{self.id}: {name!r} is no property name")


# Property names become SQL string constants (ogc.repository): letters and underscores.
NAME = re.compile(r"^[a-z_]+$")


def _enum(values: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in values)


# The facility fields a collection may take, by name. Restricted ones follow
# facilities.repository.RESTRICTED_FIELDS.
FACILITY = {
    "code": Column(Facility.code, Kind.string, "Registry code"),
    "name": Column(Facility.name, Kind.string, "Name"),
    "address": Column(Facility.address, Kind.string, "Address"),
    "province_code": Column(Facility.province_code, Kind.string, "Province (GB/T 2260)"),
    "city_code": Column(Facility.city_code, Kind.string, "City (GB/T 2260)"),
    "district_code": Column(Facility.district_code, Kind.string, "District (GB/T 2260)"),
    "construction_form": Column(Facility.construction_form, Kind.string, "Construction form"),
    "standalone_type": Column(Facility.standalone_type, Kind.string, "Standalone type"),
    "wartime_function": Column(Facility.wartime_function, Kind.string, "Wartime function"),
    "wartime_subtype": Column(Facility.wartime_subtype, Kind.string, "Wartime subtype"),
    "nuclear_level": Column(Facility.nuclear_level, Kind.string, "Nuclear protection", True),
    "conventional_level": Column(
        Facility.conventional_level, Kind.string, "Conventional protection", True
    ),
    "chemical_class": Column(Facility.chemical_class, Kind.string, "Chemical protection", True),
    "building_area": Column(Facility.building_area, Kind.number, "Building area, m²"),
    "usable_area": Column(Facility.usable_area, Kind.number, "Usable area, m²"),
    "shelter_area": Column(Facility.shelter_area, Kind.number, "Shelter area, m²"),
    "capacity_persons": Column(Facility.capacity_persons, Kind.integer, "Sheltered persons"),
    "capacity_basis": Column(Facility.capacity_basis, Kind.string, "Basis of the capacity"),
    "floors_below_ground": Column(Facility.floors_below_ground, Kind.integer, "Floors below"),
    "completion_year": Column(Facility.completion_year, Kind.integer, "Year completed"),
    "owner_unit": Column(Facility.owner_unit, Kind.string, "Owner unit", True),
    "managing_unit": Column(Facility.managing_unit, Kind.string, "Managing unit", True),
    "managing_authority": Column(Facility.managing_authority, Kind.string, "Managing authority"),
    "keyholder_name": Column(Facility.keyholder_name, Kind.string, "Keyholder", True),
    "keyholder_phone": Column(Facility.keyholder_phone, Kind.string, "Keyholder phone", True),
    "status": Column(Facility.status, Kind.string, "Status", enum=_enum(FacilityStatus)),
    "visibility": Column(
        Facility.visibility, Kind.string, "Known to the public or not", enum=_enum(Visibility)
    ),
    "conversion_hours": Column(
        Facility.conversion_hours, Kind.integer, "Peacetime-to-wartime conversion, hours", True
    ),
    "peacetime_parking_spaces": Column(
        Facility.peacetime_parking_spaces, Kind.integer, "Designed parking spaces"
    ),
    "data_source": Column(Facility.data_source, Kind.string, "Data source"),
    "verified_at": Column(Facility.verified_at, Kind.datetime, "Last verified"),
    "verified_by": Column(Facility.verified_by, Kind.string, "Verified by", True),
    "created_at": Column(Facility.created_at, Kind.datetime, "Created"),
    "updated_at": Column(Facility.updated_at, Kind.datetime, "Last updated"),
}


def _facility(*names: str) -> dict[str, Column]:
    return {name: FACILITY[name] for name in names}


def _of_facility(facility_id: ColumnElement) -> dict[str, Column]:
    """The first properties of a facility's records (uses, entrances): which work."""
    return {
        "facility_id": Column(facility_id, Kind.integer, "Facility"),
        "facility_code": Column(Facility.code, Kind.string, "Facility registry code"),
    }


WARTIME = Entrance.kind == EntranceKind.wartime


def _entrances(*, wartime: bool) -> ColumnElement:
    entrance = func.json_build_object(
        literal("kind"),
        Entrance.kind,
        literal("accessible"),
        Entrance.accessible,
        literal("name"),
        Entrance.name,
        literal("lon"),
        func.ST_X(Entrance.location),
        literal("lat"),
        func.ST_Y(Entrance.location),
    )
    query = select(func.json_agg(aggregate_order_by(entrance, Entrance.id))).where(
        Entrance.facility_id == Facility.id
    )
    return (query if wartime else query.where(~WARTIME)).scalar_subquery()


def _entrance_count(*, wartime: bool) -> ColumnElement:
    query = select(func.count()).select_from(Entrance).where(Entrance.facility_id == Facility.id)
    return (query if wartime else query.where(~WARTIME)).scalar_subquery()


NOT_DELETED = Facility.deleted_at.is_(None)

# A stale occupancy figure is never shown as current (migration 0008).
FRESH = func.occupancy_fresh(
    PeacetimeUse.realtime_observed_at, bindparam("stale_after_s", type_=Integer), type_=Boolean
)


def _fresh(value: ColumnElement) -> ColumnElement:
    return case((FRESH, value))


SIGNS = (
    select(
        func.count().label("signs"),
        *(func.count().filter(Sign.status == status).label(status.value) for status in SignStatus),
        func.max(Sign.inspected_on).label("last_inspected_on"),
        func.max(Sign.updated_at).label("updated_at"),
    )
    .where(Sign.facility_id == Facility.id)
    .lateral("signs")
)

COLLECTIONS = {
    c.id: c
    for c in (
        Collection(
            id="facilities",
            title="Civil air defense works",
            description="Every registered work (人防工程), with all its fields.",
            source=Facility.__table__,
            key=Facility.id,
            geometry=Facility.location,
            datetime="updated_at",
            columns=FACILITY,
            where=(NOT_DELETED,),
        ),
        Collection(
            id="shelters",
            title="Shelters (wartime view)",
            description="Works not decommissioned, with wartime function, capacity, "
            "entrances and the live status a shelter reports during an alert or a drill "
            "(while fresh).",
            source=Facility.__table__.outerjoin(LATEST, true()),
            key=Facility.id,
            geometry=Facility.location,
            datetime="updated_at",
            columns={
                **_facility(
                    "code",
                    "name",
                    "address",
                    "district_code",
                    "wartime_function",
                    "wartime_subtype",
                    "capacity_persons",
                    "shelter_area",
                    "nuclear_level",
                    "conventional_level",
                    "chemical_class",
                    "conversion_hours",
                    "keyholder_name",
                    "keyholder_phone",
                    "status",
                ),
                "entrance_count": Column(
                    _entrance_count(wartime=True),
                    Kind.integer,
                    "Entrances",
                    public=_entrance_count(wartime=False),
                ),
                "entrances": Column(
                    _entrances(wartime=True),
                    Kind.array,
                    "Entrances (kind, lon, lat)",
                    public=_entrances(wartime=False),
                ),
                "shelter_state": Column(
                    LIVE_STATE,
                    Kind.string,
                    "Live status: open, closed, full (fresh reports only)",
                    enum=_enum(ShelterState),
                ),
                "persons_inside": Column(LIVE_PERSONS, Kind.integer, "Persons inside now"),
                "free_places": Column(LIVE_FREE_PLACES, Kind.integer, "Free places now"),
                "status_observed_at": Column(
                    LATEST.c.observed_at, Kind.datetime, "Live status observed"
                ),
                "status_stale": Column(
                    ~LIVE_FRESH, Kind.boolean, "No fresh live status (none, or too old)"
                ),
                "updated_at": FACILITY["updated_at"],
            },
            where=(NOT_DELETED, Facility.status != FacilityStatus.decommissioned),
        ),
        Collection(
            id="parking",
            title="Car parks (peacetime view)",
            description="Car parks in civil air defense works, with live availability where "
            "it is reported and fresh.",
            source=PeacetimeUse.__table__.join(
                Facility.__table__, Facility.id == PeacetimeUse.facility_id
            ),
            key=PeacetimeUse.id,
            geometry=Facility.location,
            datetime="updated_at",
            columns={
                **_of_facility(PeacetimeUse.facility_id),
                "name": Column(
                    func.coalesce(PeacetimeUse.name, Facility.name), Kind.string, "Name"
                ),
                "address": FACILITY["address"],
                "district_code": FACILITY["district_code"],
                "opening_hours": Column(PeacetimeUse.opening_hours, Kind.string, "Hours"),
                "fee": Column(PeacetimeUse.fee, Kind.string, "Fees"),
                "contact_phone": Column(PeacetimeUse.contact_phone, Kind.string, "Contact"),
                "total_spaces": Column(PeacetimeUse.total_spaces, Kind.integer, "Spaces"),
                "accessible_spaces": Column(
                    PeacetimeUse.accessible_spaces, Kind.integer, "Accessible spaces"
                ),
                "ev_spaces": Column(PeacetimeUse.ev_spaces, Kind.integer, "EV spaces"),
                "charging_piles": Column(
                    PeacetimeUse.charging_piles, Kind.integer, "Charging piles"
                ),
                "charging_max_kw": Column(
                    PeacetimeUse.charging_max_kw, Kind.number, "Fastest charging, kW"
                ),
                "height_limit_m": Column(
                    PeacetimeUse.height_limit_m, Kind.number, "Height limit, m"
                ),
                "realtime_free_capacity": Column(
                    _fresh(PeacetimeUse.realtime_free_spaces), Kind.integer, "Free spaces now"
                ),
                "realtime_free_charging_piles": Column(
                    _fresh(PeacetimeUse.realtime_free_charging_piles),
                    Kind.integer,
                    "Free charging piles now",
                ),
                "realtime_opening_status": Column(
                    func.coalesce(_fresh(PeacetimeUse.realtime_opening_status), "UNKNOWN"),
                    Kind.string,
                    "Open now",
                    enum=_enum(OpeningStatus),
                ),
                "realtime_data_updated_at": Column(
                    PeacetimeUse.realtime_observed_at, Kind.datetime, "Availability observed"
                ),
                "stale": Column(
                    func.coalesce(~FRESH, true()), Kind.boolean, "Availability is not current"
                ),
                "updated_at": Column(PeacetimeUse.updated_at, Kind.datetime, "Last updated"),
            },
            where=(PeacetimeUse.type == UseType.parking, NOT_DELETED),
        ),
        Collection(
            id="entrances",
            title="Entrances",
            description="Vehicle, pedestrian and wartime entrances of the works.",
            source=Entrance.__table__.join(Facility.__table__, Facility.id == Entrance.facility_id),
            key=Entrance.id,
            geometry=Entrance.location,
            datetime="updated_at",
            columns={
                **_of_facility(Entrance.facility_id),
                "facility_name": Column(Facility.name, Kind.string, "Facility name"),
                "kind": Column(Entrance.kind, Kind.string, "Kind"),
                "accessible": Column(Entrance.accessible, Kind.boolean, "Barrier-free"),
                "name": Column(Entrance.name, Kind.string, "Name"),
                "updated_at": Column(Facility.updated_at, Kind.datetime, "Facility updated"),
            },
            where=(NOT_DELETED,),
            restricted_rows=WARTIME,
        ),
        Collection(
            id="signage",
            title="Signage per facility",
            description="The state of each work's signs: counts by status and the last "
            "inspection. A work without signs shows zero signs.",
            source=Facility.__table__.join(SIGNS, true()),
            extent_from=Facility.__table__,
            key=Facility.id,
            geometry=Facility.location,
            datetime="updated_at",
            columns={
                **_facility("code", "name", "address", "district_code"),
                "signs": Column(SIGNS.c.signs, Kind.integer, "Signs"),
                **{
                    status.value: Column(SIGNS.c[status.value], Kind.integer, f"Signs {status}")
                    for status in SignStatus
                },
                "last_inspected_on": Column(
                    SIGNS.c.last_inspected_on, Kind.date, "Last inspection"
                ),
                "updated_at": Column(
                    func.coalesce(SIGNS.c.updated_at, Facility.updated_at),
                    Kind.datetime,
                    "Last sign update, else the facility's",
                ),
            },
            where=(NOT_DELETED,),
        ),
    )
}


def visible_columns(
    collection: Collection, restricted: bool | ColumnElement[bool]
) -> dict[str, ColumnElement]:
    """The properties a caller sees, typed: restricted ones for everyone who may read them
    (True), for no one (False), or per row (a manager's scope), where other rows read null
    (or the column's public form) so that a filter or sort on them tells nothing either. The answers for True and False
    are built once and shared by every request: read them, never change them."""
    if isinstance(restricted, bool):
        return _visible_to_all(collection.id, restricted)
    return _visible(collection, restricted)


@functools.cache
def _visible_to_all(collection_id: str, restricted: bool) -> dict[str, ColumnElement]:
    return _visible(COLLECTIONS[collection_id], restricted)


def _visible(
    collection: Collection, restricted: bool | ColumnElement[bool]
) -> dict[str, ColumnElement]:
    shown: dict[str, ColumnElement] = {}
    for name, column in collection.columns.items():
        if restricted is True:
            shown[name] = column.typed()
        elif restricted is False:
            if not column.restricted:
                shown[name] = column.typed(restricted=False)
        elif column.restricted or column.public is not None:
            # per row: the column in scope, else its public form (null for a restricted one)
            public = None if column.restricted else column.public
            shown[name] = type_coerce(
                case((restricted, column.expr), else_=public), column.kind.sql_type
            )
        else:
            shown[name] = column.typed()
    return shown
