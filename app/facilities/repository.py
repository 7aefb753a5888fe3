"""SQL for facilities. Read documents are built as JSON by PostgreSQL, not in Python."""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased, selectinload

from app.core.geo import WGS84, Positions
from app.divisions.models import Division, DivisionLevel, DivisionPart
from app.facilities.models import (
    ConstructionForm,
    Entrance,
    EntranceKind,
    Facility,
    FacilityStatus,
    ProtectionUnit,
    Visibility,
    WartimeFunction,
)

EMPTY_ARRAY = text("'[]'::json")
# Columns copied into the document under their own names, in API order.
PLAIN_COLUMNS = (
    "construction_form",
    "standalone_type",
    "wartime_function",
    "wartime_subtype",
    "nuclear_level",
    "conventional_level",
    "chemical_class",
    "building_area",
    "usable_area",
    "shelter_area",
    "capacity_persons",
    "capacity_basis",
    "floors_below_ground",
    "completion_year",
    "owner_unit",
    "managing_unit",
    "managing_authority",
    "keyholder_name",
    "keyholder_phone",
    "status",
    "visibility",
    "conversion_hours",
    "peacetime_parking_spaces",
    "data_source",
    "verified_at",
    "verified_by",
    "created_at",
    "updated_at",
    "version",
)
# Shown only to roles that read restricted data (DOMAIN.md: protection classes, internal
# layout, wartime equipment and readiness, contacts of owners, managers and keyholders).
# The public sees where a shelter is, how many it takes and how to get in.
RESTRICTED_FIELDS = (
    "nuclear_level",
    "conventional_level",
    "chemical_class",
    "protection_units",
    "conversion_hours",
    "owner_unit",
    "managing_unit",
    "keyholder_name",
    "keyholder_phone",
    "verified_by",
)


def geojson(column: ColumnElement, positions: Positions = WGS84) -> ColumnElement:
    return positions.geojson(column)


def json_object(pairs: Iterable[tuple[str, ColumnElement]]) -> ColumnElement:
    args: list[ColumnElement] = []
    for key, value in pairs:
        args += [literal(key, String), value]
    return func.json_build_object(*args)


def entrances_json(
    *, with_ids: bool = True, wartime: bool = True, positions: Positions = WGS84
) -> ColumnElement:
    """The facility's entrances as a JSON array; exports leave out the database's ids,
    readers without restricted access the wartime entrances."""
    fields = [
        ("kind", Entrance.kind),
        ("accessible", Entrance.accessible),
        ("name", Entrance.name),
        ("location", geojson(Entrance.location, positions)),
    ]
    entrance = json_object([("id", Entrance.id), *fields] if with_ids else fields)
    query = select(
        func.coalesce(func.json_agg(aggregate_order_by(entrance, Entrance.id)), EMPTY_ARRAY)
    ).where(Entrance.facility_id == Facility.id)
    if not wartime:
        query = query.where(Entrance.kind != EntranceKind.wartime)
    return query.scalar_subquery()


def protection_units_json(*, with_ids: bool = True) -> ColumnElement:
    fields = [
        ("name", ProtectionUnit.name),
        ("shelter_area", ProtectionUnit.shelter_area),
        ("capacity_persons", ProtectionUnit.capacity_persons),
    ]
    unit = json_object([("id", ProtectionUnit.id), *fields] if with_ids else fields)
    return (
        select(
            func.coalesce(func.json_agg(aggregate_order_by(unit, ProtectionUnit.id)), EMPTY_ARRAY)
        )
        .where(ProtectionUnit.facility_id == Facility.id)
        .scalar_subquery()
    )


def _properties(*, restricted: bool, positions: Positions) -> list[tuple[str, ColumnElement]]:
    return [
        ("id", Facility.id),
        ("code", Facility.code),
        ("name", Facility.name),
        ("address", Facility.address),
        (
            "admin_code",
            func.coalesce(Facility.district_code, Facility.city_code, Facility.province_code),
        ),
        ("province_code", Facility.province_code),
        ("city_code", Facility.city_code),
        ("district_code", Facility.district_code),
        ("footprint", geojson(Facility.footprint, positions)),
        ("entrances", entrances_json(wartime=restricted, positions=positions)),
        ("protection_units", protection_units_json()),
        *((name, getattr(Facility, name)) for name in PLAIN_COLUMNS),
    ]


def document(
    *,
    as_feature: bool,
    restricted: bool | ColumnElement[bool] = True,
    positions: Positions = WGS84,
) -> ColumnElement:
    """The facility as JSON text: a plain object, or a GeoJSON Feature around its location.
    `restricted` chooses the columns: True all, False the public ones, or a SQL condition
    deciding per row (a manager sees restricted fields inside its scope only). The
    public variant never selects the restricted columns, so no later step can leak them."""
    if isinstance(restricted, bool):
        return _document(as_feature=as_feature, restricted=restricted, positions=positions)
    return case(
        (restricted, _document(as_feature=as_feature, restricted=True, positions=positions)),
        else_=_document(as_feature=as_feature, restricted=False, positions=positions),
    )


# Built once per variant: a new tree per request cost more Python than the facility's
# whole answer, mostly SQLAlchemy's cache key, which it memoizes on each element.
@functools.lru_cache(maxsize=256)
def _document(*, as_feature: bool, restricted: bool, positions: Positions) -> ColumnElement:
    properties = _properties(restricted=restricted, positions=positions)
    if not restricted:
        properties = [(key, value) for key, value in properties if key not in RESTRICTED_FIELDS]
    if as_feature:
        doc = func.json_build_object(
            "type",
            "Feature",
            "id",
            Facility.id,
            "geometry",
            geojson(Facility.location, positions),
            "properties",
            json_object(properties),
        )
    else:
        # "location" goes after the division codes, as in the API models.
        doc = json_object(
            [*properties[:8], ("location", geojson(Facility.location, positions)), *properties[8:]]
        )
    return cast(doc, Text)


@dataclass(frozen=True)
class FacilityFilter:
    bbox: tuple[float, float, float, float] | None = None
    admin_level: DivisionLevel | None = None
    admin_code: str | None = None
    wartime_function: WartimeFunction | None = None
    construction_form: ConstructionForm | None = None
    status: FacilityStatus | None = None
    visibility: Visibility | None = None
    min_capacity: int | None = None
    q: str | None = None
    code: str | None = None
    include_deleted: bool = False

    def clauses(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if not self.include_deleted:
            where.append(Facility.deleted_at.is_(None))
        if self.bbox:
            where.append(Facility.location.intersects(func.ST_MakeEnvelope(*self.bbox, 4326)))
        if self.admin_code and self.admin_level:
            column = {
                DivisionLevel.province: Facility.province_code,
                DivisionLevel.city: Facility.city_code,
                DivisionLevel.district: Facility.district_code,
            }[self.admin_level]
            where.append(column == self.admin_code)
        if self.wartime_function:
            where.append(Facility.wartime_function == self.wartime_function)
        if self.construction_form:
            where.append(Facility.construction_form == self.construction_form)
        if self.status:
            where.append(Facility.status == self.status)
        if self.visibility:
            where.append(Facility.visibility == self.visibility)
        if self.min_capacity is not None:
            where.append(Facility.capacity_persons >= self.min_capacity)
        if self.code:
            where.append(Facility.code == self.code)
        if self.q:
            # Same expression as the trigram index ix_facility_search, so the index serves it.
            searchable = Facility.name + " " + Facility.address
            where.append(searchable.ilike(f"%{_escape_like(self.q)}%", escape="\\"))
        return where


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class FoundDocument:
    deleted: bool
    version: int
    created_at: datetime
    document: str


@dataclass(frozen=True)
class Reader:
    """What a caller reads of the works: the `visible` ones, with the fields `restricted`
    chooses (see document), in the coordinates of `positions`."""

    visible: ColumnElement[bool]
    restricted: bool | ColumnElement[bool] = True
    positions: Positions = WGS84

    def document(self, *, as_feature: bool) -> ColumnElement:
        return document(as_feature=as_feature, restricted=self.restricted, positions=self.positions)


def get_document(
    session: Session, facility_id: int, reader: Reader, *, as_feature: bool
) -> FoundDocument | None:
    """One facility's document with its state, or None when there is no such id among
    the works the reader sees."""
    row = session.execute(
        select(
            Facility.deleted_at.is_not(None),
            Facility.version,
            Facility.created_at,
            reader.document(as_feature=as_feature),
        ).where(Facility.id == facility_id, reader.visible)
    ).first()
    return FoundDocument(*row) if row else None


def list_documents(
    session: Session,
    where: FacilityFilter,
    reader: Reader,
    *,
    after_id: int | None,
    limit: int,
    as_feature: bool,
) -> list[tuple[int, str]]:
    """A keyset page of the works the reader sees, ordered by id: rows with id > after_id,
    at most `limit`."""
    query: Select = select(Facility.id, reader.document(as_feature=as_feature)).where(
        *where.clauses(), reader.visible
    )
    if after_id is not None:
        query = query.where(Facility.id > after_id)
    return [tuple(row) for row in session.execute(query.order_by(Facility.id).limit(limit))]


def get_for_update(session: Session, facility_id: int) -> Facility | None:
    return session.scalars(
        select(Facility)
        .where(Facility.id == facility_id)
        .options(selectinload(Facility.entrances), selectinload(Facility.protection_units))
        .with_for_update()
    ).first()


def codes_of(
    session: Session, facility_id: int, *, visible: ColumnElement[bool]
) -> tuple[str, str | None, str | None] | None:
    """(province, city, district) codes of a facility, for scope checks; None if unknown,
    or not among the `visible` works."""
    row = session.execute(
        select(Facility.province_code, Facility.city_code, Facility.district_code).where(
            Facility.id == facility_id, visible
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


def code_taken(session: Session, code: str, *, except_id: int | None = None) -> bool:
    query = select(Facility.id).where(Facility.code == code)
    if except_id is not None:
        query = query.where(Facility.id != except_id)
    return session.scalar(query) is not None


def place_in_loaded_boundaries(session: Session) -> int:
    """Give facilities without a district the loaded district boundary that covers them."""
    district = aliased(Division)
    result = session.execute(
        update(Facility)
        .where(
            Facility.district_code.is_(None),
            district.level == DivisionLevel.district,
            district.parent_code == Facility.city_code,
            DivisionPart.code == district.code,
            func.ST_Covers(DivisionPart.part, Facility.location),
        )
        .values(district_code=district.code)
    )
    return result.rowcount


def deleted_state(
    session: Session, facility_id: int, *, visible: ColumnElement[bool]
) -> bool | None:
    """None when there is no such facility among the `visible` works, else whether it is
    (soft-)deleted."""
    return session.scalar(
        select(Facility.deleted_at.is_not(None)).where(Facility.id == facility_id, visible)
    )


def find_by_code(
    session: Session, code: str, visible: ColumnElement[bool]
) -> tuple[int, bool] | None:
    """(id, deleted) of the facility with this registry code that the caller may see."""
    row = session.execute(
        select(Facility.id, Facility.deleted_at.is_not(None)).where(Facility.code == code, visible)
    ).first()
    return None if row is None else (row[0], row[1])


def visible_code(
    session: Session, facility_id: int, visible: ColumnElement[bool]
) -> tuple[str, bool] | None:
    """(code, deleted) of the facility, if the caller may see it."""
    row = session.execute(
        select(Facility.code, Facility.deleted_at.is_not(None)).where(
            Facility.id == facility_id, visible
        )
    ).first()
    return None if row is None else (row[0], row[1])
