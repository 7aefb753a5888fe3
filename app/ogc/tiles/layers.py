"""What each collection's tiles show. Tiles are public and cached, so they carry public
fields only, and few of them: a map styles by these and asks the items endpoint for more.
For the same reason they show public works only, and no wartime entrance, whoever asks:
one cache serves every caller (one tile per z/x/y, no key in it), so a tile may hold
only what anyone may see. Restricted readers find the rest through the items endpoint.
Live parking availability is left out too: it changes every minute and goes stale with
time alone, which a cached tile cannot follow. The divisions layer is a tileset only (no
OGC collection): the outlines a map draws as its base when it has no other.

migrations/versions/2026_11_28_0007_vector_tiles.py compares the same columns to decide
whether a write changed any tile, and 0024 for divisions: keep them in step."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Select, and_, cast, func, or_, select, true

from app.accounts.principal import ANONYMOUS
from app.divisions.models import Division
from app.facilities.models import Entrance, EntranceKind, Facility, FacilityStatus
from app.facilities.scope import visible_clause
from app.signage.models import Sign, SignStatus
from app.uses.models import PeacetimeUse, UseType


@dataclass(frozen=True)
class Layer:
    id: str
    title: str
    # (box) -> the visible rows whose `location` (EPSG:4326) falls in the box
    source: Callable[[ColumnElement], Select]
    # attribute -> TileJSON type, at zooms of single features
    fields: dict[str, str]
    # attributes summed in a cluster, which also carries `count`
    sums: tuple[str, ...]
    # Points are clustered below DETAIL_ZOOM; outlines are shown whole at every zoom,
    # ST_AsMVTGeom snapping them to the tile's grid.
    clustered: bool = True

    @property
    def cluster_fields(self) -> dict[str, str]:
        return {"count": "Number"} | {name: "Number" for name in self.sums}


def _in(location: ColumnElement, box: ColumnElement) -> ColumnElement:
    return location.op("&&")(box)


VISIBLE = and_(Facility.deleted_at.is_(None), visible_clause(ANONYMOUS))


def _facilities(box: ColumnElement) -> Select:
    return select(
        Facility.id,
        Facility.code,
        Facility.name,
        Facility.status,
        Facility.construction_form,
        Facility.wartime_function,
        Facility.capacity_persons.label("capacity"),
        Facility.location,
    ).where(VISIBLE, _in(Facility.location, box))


def _shelters(box: ColumnElement) -> Select:
    return select(
        Facility.id,
        Facility.name,
        Facility.wartime_function,
        Facility.wartime_subtype,
        Facility.capacity_persons.label("capacity"),
        Facility.status,
        Facility.location,
    ).where(VISIBLE, Facility.status != FacilityStatus.decommissioned, _in(Facility.location, box))


def _parking(box: ColumnElement) -> Select:
    return (
        select(
            PeacetimeUse.id,
            PeacetimeUse.facility_id,
            func.coalesce(PeacetimeUse.name, Facility.name).label("name"),
            PeacetimeUse.total_spaces,
            PeacetimeUse.accessible_spaces,
            PeacetimeUse.charging_piles,
            cast(PeacetimeUse.height_limit_m, Float).label("height_limit_m"),
            Facility.location,
        )
        .select_from(Facility)
        .join(PeacetimeUse, PeacetimeUse.facility_id == Facility.id)
        .where(VISIBLE, PeacetimeUse.type == UseType.parking, _in(Facility.location, box))
    )


def _entrances(box: ColumnElement) -> Select:
    return (
        select(
            Entrance.id,
            Entrance.facility_id,
            Entrance.kind,
            Entrance.accessible,
            Entrance.name,
            Entrance.location,
        )
        .join(Facility, Facility.id == Entrance.facility_id)
        .where(VISIBLE, Entrance.kind != EntranceKind.wartime, _in(Entrance.location, box))
    )


def _signage(box: ColumnElement) -> Select:
    signs = (
        select(
            func.count().label("signs"),
            *(
                func.count().filter(Sign.status == status).label(status.value)
                for status in (SignStatus.installed, SignStatus.damaged, SignStatus.missing)
            ),
        )
        .where(Sign.facility_id == Facility.id)
        .lateral("signs")
    )
    return (
        select(
            Facility.id,
            Facility.name,
            signs.c.signs,
            signs.c.installed,
            signs.c.damaged,
            signs.c.missing,
            Facility.location,
        )
        .join(signs, true())
        .where(VISIBLE, _in(Facility.location, box))
    )


def _divisions(box: ColumnElement) -> Select:
    # Divisions in force today with a boundary; "location" is the layers' geometry name.
    today = func.current_date()
    return select(
        Division.code,
        Division.name,
        Division.level,
        Division.boundary.label("location"),
    ).where(
        Division.boundary.is_not(None),
        Division.valid_from <= today,
        or_(Division.valid_to.is_(None), Division.valid_to > today),
        _in(Division.boundary, box),
    )


LAYERS = {
    layer.id: layer
    for layer in (
        Layer(
            "facilities",
            "Civil air defense works",
            _facilities,
            {
                "id": "Number",
                "code": "String",
                "name": "String",
                "status": "String",
                "construction_form": "String",
                "wartime_function": "String",
                "capacity": "Number",
            },
            ("capacity",),
        ),
        Layer(
            "shelters",
            "Shelters (wartime view)",
            _shelters,
            {
                "id": "Number",
                "name": "String",
                "wartime_function": "String",
                "wartime_subtype": "String",
                "capacity": "Number",
                "status": "String",
            },
            ("capacity",),
        ),
        Layer(
            "parking",
            "Car parks (peacetime view)",
            _parking,
            {
                "id": "Number",
                "facility_id": "Number",
                "name": "String",
                "total_spaces": "Number",
                "accessible_spaces": "Number",
                "charging_piles": "Number",
                "height_limit_m": "Number",
            },
            ("total_spaces", "charging_piles"),
        ),
        Layer(
            "entrances",
            "Entrances",
            _entrances,
            {
                "id": "Number",
                "facility_id": "Number",
                "kind": "String",
                "accessible": "Boolean",
                "name": "String",
            },
            (),
        ),
        Layer(
            "signage",
            "Signage per facility",
            _signage,
            {
                "id": "Number",
                "name": "String",
                "signs": "Number",
                "installed": "Number",
                "damaged": "Number",
                "missing": "Number",
            },
            ("installed", "damaged", "missing"),
        ),
        Layer(
            "divisions",
            "Administrative divisions (GB/T 2260)",
            _divisions,
            {"code": "String", "name": "String", "level": "String"},
            (),
            clustered=False,
        ),
    )
}
