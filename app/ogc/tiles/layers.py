"""What each collection's tiles show. Tiles are public and cached, so they carry public
fields only, and few of them: a map styles by these and asks the items endpoint for more.
For the same reason they show public works only, and no wartime entrance, whoever asks:
one cache serves every caller (one tile per z/x/y, no key in it), so a tile may hold
only what anyone may see. Restricted readers find the rest through the items endpoint.
Live parking availability is left out: it changes every minute and goes stale with time
alone. A shelter's live status is shown, at the zooms of single features only (a cluster
tile holds thousands of works): a push evicts those tiles like any write (the trigger on
shelter_status), and a tile holding a fresh status is renewed when the first of them goes
stale (`Layer.expiry`, ogc.tiles.cache). The divisions layer is a tileset only (no OGC
collection): the outlines a map draws as its base when it has no other.

migrations/versions/2026_11_28_0007_vector_tiles.py compares the same columns to decide
whether a write changed any tile, and 0024 for divisions: keep them in step."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    true,
)

from app.accounts.principal import ANONYMOUS
from app.core.dates import TODAY_SQL
from app.divisions.models import Division
from app.facilities.models import Entrance, EntranceKind, Facility, FacilityStatus
from app.facilities.scope import visible_clause
from app.shelters.status import (
    LATEST,
    LIVE_FREE_PLACES,
    LIVE_FRESH,
    LIVE_FRESH_UNTIL,
    LIVE_PERSONS,
    LIVE_STATE,
)
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
    # the rows at the zooms of single features, where they carry more than clusters need
    detail: Callable[[ColumnElement], Select] | None = None
    # the attribute (Unix seconds) at which a feature's content goes stale by time alone:
    # a tile is kept no longer than its earliest
    expiry: str | None = None
    # Whether what it shows depends on China's date (divisions in force today): a tile is
    # kept no longer than the next midnight there, as no write marks that change.
    daily: bool = False
    # Whether its clusters are read from the cell pyramid (tile_cell, kept by triggers:
    # app/db/sql/functions/tile_cell_facility_layers.sql, entrance_tile_cell.sql and
    # sign_tile_cell.sql state the same membership as `source`) instead of from its rows:
    # at most three sums.
    pyramid: bool = False

    def __post_init__(self) -> None:
        if self.pyramid and len(self.sums) > 3:
            raise TypeError(f"tile_cell keeps three sums, not the {len(self.sums)} of {self.id}")

    @property
    def detail_source(self) -> Callable[[ColumnElement], Select]:
        return self.source if self.detail is None else self.detail

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


def _unix(instant: ColumnElement) -> ColumnElement:
    return cast(func.extract("epoch", instant), BigInteger)


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


def _shelters_live(box: ColumnElement) -> Select:
    return (
        _shelters(box)
        .add_columns(
            LIVE_STATE.label("shelter_state"),
            LIVE_PERSONS.label("persons_inside"),
            LIVE_FREE_PLACES.label("free_places"),
            _unix(LATEST.c.observed_at).label("status_observed_at"),
            (~LIVE_FRESH).label("status_stale"),
            _unix(LIVE_FRESH_UNTIL).label("status_fresh_until"),
        )
        .outerjoin(LATEST, true())
    )


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
    # integers: a cluster's sum of bigints would be numeric, which ST_AsMVT writes as text
    signs = (
        select(
            cast(func.count(), Integer).label("signs"),
            *(
                cast(func.count().filter(Sign.status == status), Integer).label(status.value)
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
    today = literal_column(TODAY_SQL)
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
            pyramid=True,
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
                "shelter_state": "String",
                "persons_inside": "Number",
                "free_places": "Number",
                "status_observed_at": "Number",
                "status_stale": "Boolean",
                "status_fresh_until": "Number",
            },
            ("capacity",),
            detail=_shelters_live,
            expiry="status_fresh_until",
            pyramid=True,
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
            pyramid=True,
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
            pyramid=True,
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
            pyramid=True,
        ),
        Layer(
            "divisions",
            "Administrative divisions (GB/T 2260)",
            _divisions,
            {"code": "String", "name": "String", "level": "String"},
            (),
            clustered=False,
            daily=True,
        ),
    )
}
