"""Population layers, shelter coverage and shelter assignment."""

import json
from collections import Counter
from typing import Any

import h3
import numpy as np
from sqlalchemy.orm import Session

from app.accounts.errors import Forbidden
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.alerts import service as alerts
from app.core.errors import Conflict, FieldError, InvalidInput, NotFound
from app.core.geo import CoordSys
from app.divisions.models import DivisionLevel
from app.divisions.service import known_level_or_none
from app.facilities.scope import EVERY_WORK, PUBLIC_WORKS, visible_clause, visible_sql
from app.planning import assignment, readers, repository
from app.planning.models import PopulationLayer
from app.planning.readers import PopulationFormat
from app.planning.schemas import (
    AssignmentRead,
    BlockAssignment,
    Placement,
    ShelterLoad,
)

DISTANCE_MEANING = (
    "straight-line geodesic distance on the WGS 84 ellipsoid from a point of the block "
    "to the shelter's location: a lower bound of the walking distance"
)


def get_layer(session: Session, layer_id: int) -> PopulationLayer:
    layer = repository.get_layer(session, layer_id)
    if layer is None:
        raise NotFound(f"population layer {layer_id} does not exist")
    return layer


def create_layer(
    session: Session,
    *,
    name: str,
    description: str | None,
    data: bytes,
    file_format: PopulationFormat,
    principal: Principal,
    coordsys: CoordSys = CoordSys.wgs84,
) -> PopulationLayer:
    if not name:
        raise InvalidInput.on("name", "must not be blank")
    rows = readers.read(data, file_format, coordsys)
    codes = {row.admin_code for row in rows if row.admin_code}
    unknown = codes - repository.known_codes(session, codes)
    if unknown:
        errors = [
            FieldError(
                field=f"row {row.row_no}.admin_code",
                message=f"{row.admin_code} is not a known GB/T 2260 division code",
            )
            for row in rows
            if row.admin_code in unknown
        ]
        raise InvalidInput(
            f"{len(errors)} row(s) name unknown division codes: {', '.join(sorted(unknown))}",
            errors=errors[: readers.REPORTED_ERRORS],
        )
    if repository.layer_named(session, name) is not None:
        raise Conflict(f"a population layer named {name!r} exists; delete it or pick a name")
    layer = PopulationLayer(
        name=name,
        description=description,
        source_format=file_format.value,
        features=len(rows),
        residents=sum(row.residents for row in rows),
        created_by=principal.actor,
    )
    session.add(layer)
    session.flush()
    repository.add_features(session, layer.id, rows)
    return layer


def delete_layer(session: Session, layer_id: int, principal: Principal) -> None:
    layer = get_layer(session, layer_id)
    if principal.role != Role.admin and layer.created_by != principal.actor:
        raise Forbidden("a manager deletes only the population layers its key uploaded")
    repository.delete_layer(session, layer_id)


def _sees(principal: Principal) -> repository.Sees:
    clause = visible_clause(principal)
    if clause is EVERY_WORK:
        return repository.Sees.every
    return repository.Sees.public if clause is PUBLIC_WORKS else repository.Sees.some


def _reach(
    session: Session,
    layer: PopulationLayer,
    principal: Principal,
    radius: float,
    admin_code: str | None,
) -> repository.Reach:
    return repository.Reach(
        layer.id,
        visible=visible_sql(principal),
        sees=_sees(principal),
        radius=radius,
        level=known_level_or_none(session, admin_code),
        admin_code=admin_code,
    )


def coverage(
    session: Session,
    layer_id: int,
    *,
    principal: Principal,
    radius: float,
    by: DivisionLevel,
    admin_code: str | None,
) -> dict[str, Any]:
    layer = get_layer(session, layer_id)
    reach = _reach(session, layer, principal, radius, admin_code)
    body = repository.coverage(session, reach, group=by)
    return {
        "layer_id": layer.id,
        "layer_name": layer.name,
        "radius_m": radius,
        "by": by.value,
        "area_norm_m2_per_person": repository.AREA_NORM_M2,
        **json.loads(body),
    }


def uncovered(
    session: Session,
    layer_id: int,
    *,
    principal: Principal,
    radius: float,
    admin_code: str | None,
    h3_resolution: int | None,
) -> dict[str, Any]:
    """A FeatureCollection of the uncovered parts, or of the H3 cells holding them."""
    layer = get_layer(session, layer_id)
    parts = repository.uncovered(session, _reach(session, layer, principal, radius, admin_code))
    if h3_resolution is None:
        features = [
            {
                "type": "Feature",
                "id": part["id"],
                "geometry": part["geometry"],
                "properties": {
                    "row_no": part["row_no"],
                    "district_code": part["code"],
                    "uncovered_residents": part["uncovered_residents"],
                },
            }
            for part in parts
        ]
    else:
        features = _hexagons(parts, h3_resolution)
    return {"type": "FeatureCollection", "radius_m": radius, "features": features}


def _hexagons(parts: list[dict[str, Any]], resolution: int) -> list[dict[str, Any]]:
    # Each uncovered part's residents go to the cell of a point inside it: exact for
    # points, an approximation for areas larger than a cell.
    cells: Counter[str] = Counter()
    for part in parts:
        cells[h3.latlng_to_cell(part["lat"], part["lon"], resolution)] += part[
            "uncovered_residents"
        ]
    return [
        {
            "type": "Feature",
            "id": cell,
            "geometry": {"type": "Polygon", "coordinates": [_ring(cell)]},
            "properties": {"h3": cell, "resolution": resolution, "uncovered_residents": n},
        }
        for cell, n in sorted(cells.items())
    ]


def _ring(cell: str) -> list[list[float]]:
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3.cell_to_boundary(cell)]
    return [*ring, ring[0]]


def assign(
    session: Session,
    layer_id: int,
    *,
    principal: Principal,
    max_distance: float,
    admin_code: str | None,
    stale_after_s: int,
    alert_id: int | None = None,
) -> AssignmentRead:
    """`alert_id`: the residents of that alert's area only. A shelter takes the free
    places of a fresh status report, else its capacity."""
    layer = get_layer(session, layer_id)
    level = known_level_or_none(session, admin_code)
    if alert_id is not None:
        alerts.get(session, alert_id)
    blocks = repository.blocks(
        session, layer.id, level=level, admin_code=admin_code, alert_id=alert_id
    )
    block_ids, shelter_ids, metres = repository.candidate_pairs(
        session,
        layer.id,
        visible=visible_sql(principal),
        max_distance=max_distance,
        level=level,
        admin_code=admin_code,
        alert_id=alert_id,
    )
    block_index = {block["id"]: i for i, block in enumerate(blocks)}
    shelter_list = repository.shelters(
        session, sorted(set(shelter_ids.tolist())), stale_after_s=stale_after_s
    )
    shelter_index = {shelter["id"]: j for j, shelter in enumerate(shelter_list)}
    residents = np.array([block["residents"] for block in blocks], dtype=np.int64)
    capacity = np.array([s["places"] for s in shelter_list], dtype=np.int64)
    pair_block = np.array([block_index[b] for b in block_ids.tolist()], dtype=np.int64)
    pair_shelter = np.array([shelter_index[s] for s in shelter_ids.tolist()], dtype=np.int64)
    solution = assignment.solve(residents, capacity, pair_block, pair_shelter, metres)

    placements: list[list[Placement]] = [[] for _ in blocks]
    for p in np.flatnonzero(solution.flow):
        placements[pair_block[p]].append(
            Placement(
                facility_id=shelter_list[pair_shelter[p]]["id"],
                residents=int(solution.flow[p]),
                distance_m=round(float(metres[p]), 1),
            )
        )
    load = np.bincount(pair_shelter, weights=solution.flow, minlength=len(shelter_list))
    total = int(residents.sum())
    return AssignmentRead(
        layer_id=layer.id,
        max_distance_m=max_distance,
        distance=DISTANCE_MEANING,
        solver=assignment.SOLVER,
        optimality_gap=0.0,
        residents=total,
        assigned=solution.assigned,
        unassigned=total - solution.assigned,
        total_distance_m=round(solution.distance, 1),
        mean_distance_m=round(solution.distance / solution.assigned, 1)
        if solution.assigned
        else None,
        blocks=[
            BlockAssignment(
                feature_id=block["id"],
                row_no=block["row_no"],
                residents=block["residents"],
                unassigned=block["residents"] - sum(p.residents for p in placed),
                shelters=sorted(placed, key=lambda p: p.distance_m),
            )
            for block, placed in zip(blocks, placements, strict=True)
        ],
        shelters=[
            ShelterLoad(
                facility_id=shelter["id"],
                code=shelter["code"],
                name=shelter["name"],
                capacity=shelter["capacity_persons"],
                places=shelter["places"],
                live=shelter["live"],
                load=int(load[j]),
            )
            for j, shelter in enumerate(shelter_list)
        ],
    )


def list_layers(session: Session) -> list[PopulationLayer]:
    return repository.list_layers(session)
