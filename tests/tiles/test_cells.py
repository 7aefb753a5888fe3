"""The cluster pyramid (tile_cell): cluster tiles drawn from it equal those drawn from the
rows, and the triggers keep it equal to a recomputation from the rows through every kind
of write."""

import math
import threading
import time
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import (
    Connection,
    Float,
    Integer,
    create_engine,
    func,
    literal,
    null,
    select,
    text,
    true,
)

from app import demo
from app.config import Settings
from app.core.geo import CoordSys
from app.demo import signage as signage_demo
from app.demo import uses as uses_demo
from app.facilities.rules import PERSONS_MAX
from app.ogc.tiles import repository
from app.ogc.tiles.layers import LAYERS
from app.ogc.tiles.matrix import DETAIL_ZOOM
from tests.conftest import run_migrations

PYRAMID = [layer for layer in LAYERS.values() if layer.pyramid]
TILED = [CoordSys.wgs84, CoordSys.gcj02]
KEY = ("layer", "coordsys", "level", "x", "y")
SUMS = ("count", "sum_1", "known_1", "sum_2", "known_2", "sum_3", "known_3")


def tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    phi = math.radians(lat)
    row = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * 2**z
    return int((lon + 180) / 360 * 2**z), int(row)


def features(connection: Connection, rows, z: int, x: int, y: int) -> list[tuple]:
    """The clusters of a tile as (count, sums..., x, y on the MVT's integer grid)."""
    drawn = rows.subquery()
    values = [c for c in drawn.c if c.key != "geom"]
    statement = select(*values, func.ST_X(drawn.c.geom), func.ST_Y(drawn.c.geom))
    params = repository.tile_params(z, x, y, True)
    rows = connection.execute(statement, params).all()
    return sorted(rows, key=lambda row: [-1 if value is None else value for value in row])


def typed(rows: list[tuple]) -> list[tuple]:
    return [tuple((type(value), value) for value in row) for row in rows]


def assert_tiles_agree(connection: Connection, positions: list[tuple[float, float]]) -> int:
    """Every zoom of clusters, at the tiles of `positions` and their neighbours, drawn from
    the pyramid and from the rows; returns the clusters compared."""
    compared = 0
    for layer in PYRAMID:
        for coordsys in TILED:
            for z in range(DETAIL_ZOOM):
                tiles = {
                    (x + dx, y + dy)
                    for x, y in (tile(lon, lat, z) for lon, lat in positions)
                    for dx in (-1, 0, 1)
                    for dy in (-1, 0, 1)
                    if 0 <= x + dx < 2**z and 0 <= y + dy < 2**z
                }
                for x, y in sorted(tiles):
                    cells = repository._cells(layer, coordsys)
                    rows = repository._clusters(layer, coordsys)
                    expected = features(connection, rows, z, x, y)
                    # typed: a numeric sum is written to the MVT as text, an integer not
                    assert typed(features(connection, cells, z, x, y)) == typed(expected), (
                        layer.id,
                        coordsys,
                        z,
                        x,
                        y,
                    )
                    compared += len(expected)
    return compared


def test_a_pyramid_layer_sums_at_most_three_values():
    signage = LAYERS["signage"]
    assert len(signage.sums) == 3
    with pytest.raises(TypeError, match="three sums, not the 4"):
        replace(signage, sums=(*signage.sums, "signs"))


def recomputed(connection: Connection) -> dict[tuple, tuple]:
    """The pyramid computed afresh from the layers' own rows (their `source`, the one
    definition of what a layer shows), by the cells of tile_cell_of."""
    world = func.ST_MakeEnvelope(-180, -90, 180, 90, 4326)
    cells: dict[tuple, tuple] = {}
    for layer in PYRAMID:
        rows = layer.source(world).subquery()
        at = func.tile_cell_of(func.ST_X(rows.c.location), func.ST_Y(rows.c.location))
        cell = at.table_valued("coordsys", "level", "x", "y", "px", "py").render_derived()
        sums = [rows.c[name] for name in layer.sums] + [null().cast(Integer)] * (
            3 - len(layer.sums)
        )
        statement = (
            select(
                literal(layer.id),
                cell.c.coordsys,
                cell.c.level,
                cell.c.x,
                cell.c.y,
                func.count(),
                func.coalesce(func.sum(sums[0]), 0),
                func.count(sums[0]),
                func.coalesce(func.sum(sums[1]), 0),
                func.count(sums[1]),
                func.coalesce(func.sum(sums[2]), 0),
                func.count(sums[2]),
                func.sum(cell.c.px.cast(Float)),
                func.sum(cell.c.py.cast(Float)),
            )
            .select_from(rows)
            .join(cell, true())
            .group_by(cell.c.coordsys, cell.c.level, cell.c.x, cell.c.y)
        )
        for row in connection.execute(statement):
            cells[tuple(row[:5])] = tuple(row[5:])
    return cells


def stored(connection: Connection) -> dict[tuple, tuple]:
    columns = ", ".join(KEY + SUMS + ("sum_px", "sum_py"))
    rows = connection.execute(text(f"SELECT {columns} FROM tile_cell"))
    return {tuple(row[:5]): tuple(row[5:]) for row in rows}


def assert_pyramid_exact(connection: Connection) -> None:
    expected, actual = recomputed(connection), stored(connection)
    assert actual.keys() == expected.keys(), (
        sorted(actual.keys() - expected.keys())[:5],
        sorted(expected.keys() - actual.keys())[:5],
    )
    for key, values in expected.items():
        assert actual[key][: len(SUMS)] == values[: len(SUMS)], key
        # sums of metres added in another order
        for mine, theirs in zip(actual[key][len(SUMS) :], values[len(SUMS) :], strict=True):
            assert math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-3), key


@pytest.fixture
def loaded(connection: Connection) -> list[tuple[float, float]]:
    """Demo works with their entrances, car parks and signs; returns a few of their
    positions."""
    after = connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()
    demo.load(connection, size=300, seed=11)
    uses_demo.load(connection, after_id=after)
    signage_demo.load(connection, seed=11, after_id=after)
    positions = connection.execute(
        text(
            "SELECT ST_X(location), ST_Y(location) FROM facility WHERE id > :after "
            "ORDER BY id LIMIT 3"
        ),
        {"after": after},
    )
    return [tuple(p) for p in positions]


def test_tiles_from_the_pyramid_equal_tiles_from_the_rows(connection, loaded):
    assert_pyramid_exact(connection)
    assert assert_tiles_agree(connection, loaded) > 1000


def test_the_tile_statement_reads_the_pyramid_of_its_layers(connection, loaded):
    """The switch: the pyramid's layers draw no cluster once tile_cell is empty."""
    x, y = tile(*loaded[0], 10)
    params = {**repository.tile_params(10, x, y, True), "shelter_stale_after_s": 60}

    def body(layer: str, coordsys: CoordSys) -> bytes:
        statement = repository.tile_statement(layer, True, coordsys)
        return bytes(connection.execute(statement, params).one()[0])

    assert all(body(layer.id, c) for layer in PYRAMID for c in CoordSys)
    connection.execute(text("DELETE FROM tile_cell"))
    for layer in PYRAMID:
        assert body(layer.id, CoordSys.wgs84) == b""
        assert body(layer.id, CoordSys.gcj02) == b""
        # BD-09 has no cells: drawn from the rows
        assert body(layer.id, CoordSys.bd09)


def test_clusters_at_the_east_edge_of_the_world_are_drawn(connection, loaded):
    """At zooms 1 and 2 the east column's box, widened by a cell, crossed the antimeridian
    and turned inside out: those tiles drew no cluster of the rows."""
    facilities = LAYERS["facilities"]
    shown = connection.execute(
        text("SELECT count(*) FROM facility WHERE deleted_at IS NULL AND visibility = 'public'")
    ).scalar_one()
    for z in (1, 2):
        x, y = tile(*loaded[0], z)
        assert x == 2**z - 1
        rows = features(connection, repository._clusters(facilities, CoordSys.wgs84), z, x, y)
        assert sum(row[0] for row in rows) == shown


def test_every_kind_of_write_keeps_the_pyramid_exact(connection, loaded):
    def run(sql: str) -> None:
        connection.execute(text(sql))
        assert_pyramid_exact(connection)

    latest = "SELECT id FROM facility ORDER BY id DESC"
    parked = "SELECT facility_id FROM peacetime_use WHERE type = 'parking' ORDER BY id DESC"
    # moves, within a cell and across cells
    run(
        f"UPDATE facility SET location = ST_Translate(location, 1e-7, 0) WHERE id IN ({latest} LIMIT 40)"
    )
    run(
        f"UPDATE facility SET location = ST_Translate(location, 0.03, -0.02) WHERE id IN ({latest} LIMIT 40)"
    )
    run(f"UPDATE facility SET status = 'decommissioned' WHERE id IN ({latest} LIMIT 30 OFFSET 10)")
    run(f"UPDATE facility SET status = 'in_service' WHERE id IN ({latest} LIMIT 10 OFFSET 30)")
    run(f"UPDATE facility SET visibility = 'restricted' WHERE id IN ({parked} LIMIT 15)")
    run(f"UPDATE facility SET visibility = 'public' WHERE id IN ({parked} LIMIT 5)")
    run(f"UPDATE facility SET deleted_at = now() WHERE id IN ({parked} LIMIT 8 OFFSET 20)")
    run(f"UPDATE facility SET deleted_at = NULL WHERE id IN ({parked} LIMIT 4 OFFSET 20)")
    run(f"UPDATE facility SET capacity_persons = NULL WHERE id IN ({latest} LIMIT 25)")
    run(f"UPDATE facility SET capacity_persons = 77 WHERE id IN ({latest} LIMIT 5)")
    # a write the layers do not show changes nothing, and costs no cell
    run(f"UPDATE facility SET keyholder_phone = '13900000001' WHERE id IN ({latest} LIMIT 40)")
    # car parks: their sums, type, facility, deletion
    run(
        "UPDATE peacetime_use SET attributes = attributes || "
        '\'{"total_spaces": 999, "charging_piles": null}\' '
        f"WHERE facility_id IN ({parked} LIMIT 10)"
    )
    parks = (
        connection.execute(
            text("SELECT id FROM peacetime_use WHERE type = 'parking' ORDER BY id DESC LIMIT 6")
        )
        .scalars()
        .all()
    )
    retyped, deleted = ",".join(map(str, parks[:3])), ",".join(map(str, parks[3:]))
    run(f"UPDATE peacetime_use SET type = 'warehouse' WHERE id IN ({retyped})")
    run(f"DELETE FROM peacetime_use WHERE id IN ({deleted})")
    run(f"UPDATE peacetime_use SET type = 'parking' WHERE id IN ({retyped})")
    # hard deletes, with car parks cascading; then a bulk insert
    run(f"DELETE FROM facility WHERE id IN ({parked} LIMIT 12 OFFSET 40)")
    run("DELETE FROM facility WHERE id IN (SELECT id FROM facility ORDER BY id DESC LIMIT 5)")
    after = connection.execute(text("SELECT max(id) FROM facility")).scalar_one()
    demo.load(connection, size=120, seed=12)
    uses_demo.load(connection, after_id=after)
    assert_pyramid_exact(connection)
    assert assert_tiles_agree(connection, loaded) > 1000


def test_entrance_and_sign_writes_keep_the_pyramid_exact(connection, loaded):
    def run(sql: str) -> None:
        connection.execute(text(sql))
        assert_pyramid_exact(connection)

    entrances = "SELECT id FROM entrance ORDER BY id DESC"
    signs = "SELECT id FROM sign ORDER BY id DESC"
    works = "SELECT id FROM facility ORDER BY id DESC"
    hidden, other = connection.execute(text(f"{works} LIMIT 2 OFFSET 50")).scalars().all()
    connection.execute(text(f"UPDATE facility SET visibility = 'restricted' WHERE id = {hidden}"))
    # entrances: moved within a cell and across cells, to and from wartime only, to a hidden
    # work and back to a shown one, a write the layer does not show, deleted, inserted
    run(
        "UPDATE entrance SET location = ST_Translate(location, 1e-7, 0) "
        f"WHERE id IN ({entrances} LIMIT 40)"
    )
    run(
        "UPDATE entrance SET location = ST_Translate(location, 0.03, -0.02) "
        f"WHERE id IN ({entrances} LIMIT 40)"
    )
    run(f"UPDATE entrance SET kind = 'wartime' WHERE id IN ({entrances} LIMIT 30 OFFSET 10)")
    run(f"UPDATE entrance SET kind = 'vehicle' WHERE id IN ({entrances} LIMIT 20 OFFSET 20)")
    run(f"UPDATE entrance SET facility_id = {hidden} WHERE id IN ({entrances} LIMIT 6)")
    run(f"UPDATE entrance SET facility_id = {other} WHERE id IN ({entrances} LIMIT 3)")
    run(f"UPDATE entrance SET accessible = NOT accessible WHERE id IN ({entrances} LIMIT 50)")
    run(f"DELETE FROM entrance WHERE id IN ({entrances} LIMIT 7 OFFSET 60)")
    run(
        "INSERT INTO entrance (facility_id, kind, location) "
        "SELECT id, 'pedestrian', ST_Translate(location, 0.002, 0.001) "
        f"FROM facility WHERE id IN ({works} LIMIT 60)"
    )
    # signs: into and out of the summed statuses and between them, to a hidden work and to
    # a shown one, a write the layer does not show, deleted, inserted
    run(f"UPDATE sign SET status = 'damaged' WHERE id IN ({signs} LIMIT 40)")
    run(f"UPDATE sign SET status = 'removed' WHERE id IN ({signs} LIMIT 20 OFFSET 30)")
    run(f"UPDATE sign SET status = 'missing' WHERE id IN ({signs} LIMIT 20 OFFSET 45)")
    run(
        "UPDATE sign SET status = 'installed', installed_on = '2022-05-01', inspected_on = NULL "
        f"WHERE id IN ({signs} LIMIT 30 OFFSET 5)"
    )
    run(f"UPDATE sign SET facility_id = {hidden} WHERE id IN ({signs} LIMIT 9 OFFSET 100)")
    run(f"UPDATE sign SET facility_id = {other} WHERE id IN ({signs} LIMIT 12 OFFSET 103)")
    run(f"UPDATE sign SET description = 'checked' WHERE id IN ({signs} LIMIT 50)")
    run(f"DELETE FROM sign WHERE id IN ({signs} LIMIT 25 OFFSET 200)")
    run(
        "INSERT INTO sign (facility_id, kind, status) "
        "SELECT id, 'direction', (ARRAY['missing', 'damaged', 'planned'])[id % 3 + 1] "
        f"FROM facility WHERE id IN ({works} LIMIT 80)"
    )
    # their works: shown again, hidden, moved, deleted softly and hard (entrances and signs
    # cascading), restored
    run(f"UPDATE facility SET visibility = 'public' WHERE id = {hidden}")
    run(f"UPDATE facility SET visibility = 'restricted' WHERE id IN ({works} LIMIT 10)")
    run(
        "UPDATE facility SET location = ST_Translate(location, -0.04, 0.01) "
        f"WHERE id IN ({works} LIMIT 30)"
    )
    run(f"UPDATE facility SET deleted_at = now() WHERE id IN ({works} LIMIT 20 OFFSET 10)")
    run(f"UPDATE facility SET deleted_at = NULL WHERE id IN ({works} LIMIT 5 OFFSET 10)")
    run(f"DELETE FROM facility WHERE id IN ({works} LIMIT 15 OFFSET 25)")
    run(f"DELETE FROM facility WHERE id IN ({works} LIMIT 3)")
    assert assert_tiles_agree(connection, loaded) > 1000


def test_many_works_at_one_position_sum_past_a_32_bit_integer(connection):
    """Rows are netted per position before they are placed: the capacities of an import's
    works at one point (a ledger's placeholder position), each within the API's bound,
    overflowed an integer there and failed the whole statement."""
    connection.execute(
        text(
            "INSERT INTO facility (code, name, address, province_code, location, "
            "construction_form, wartime_function, capacity_persons, status, visibility) "
            "SELECT 'RF-SAME-' || g, 'x', 'x', '340000', "
            "ST_SetSRID(ST_MakePoint(117.2831, 31.8612), 4326), 'attached', "
            "'personnel_shelter', :persons, 'in_service', 'public' "
            "FROM generate_series(1, 2200) AS g"
        ),
        {"persons": PERSONS_MAX},
    )
    assert_pyramid_exact(connection)
    capacity = text(
        "SELECT sum_1 FROM tile_cell WHERE layer = 'facilities' AND level = 20 "
        "AND coordsys = 'wgs84' AND count >= 2200"
    )
    assert connection.execute(capacity).scalar_one() >= 2200 * PERSONS_MAX
    connection.execute(
        text("UPDATE facility SET visibility = 'restricted' WHERE code LIKE 'RF-SAME-%'")
    )
    assert_pyramid_exact(connection)


def test_a_facility_through_the_api_counts_once(client, connection, create):
    before = stored(connection)
    facility = create()
    after = stored(connection)
    added = Counter()
    for key, values in after.items():
        added[key[:3]] += values[0] - before.get(key, (0,))[0]
    # at its position, one a level in two systems in the facilities, shelters and signage
    # layers; its two entrances at theirs
    levels = [(c, level) for c in ("wgs84", "gcj02") for level in repository.STORED_LEVELS]
    assert +added == {
        **{(layer, *at): 1 for layer in ("facilities", "shelters", "signage") for at in levels},
        **{("entrances", *at): 2 for at in levels},
    }
    response = client.delete(f"/v1/facilities/{facility['id']}", headers={"If-Match": "*"})
    assert response.status_code == 204, response.text
    assert counts(stored(connection)) == counts(before)


def test_writes_through_the_api_keep_the_pyramid_exact(client, connection, create):
    """The API's own writes of signs, entrances, position, visibility and deletion, each
    followed by a recomputation from the rows."""
    base = f"/v1/facilities/{create()['id']}"
    always = {"If-Match": "*"}

    def write(method: str, url: str, body: dict | None = None) -> dict:
        response = client.request(method, url, json=body, headers=always)
        assert response.status_code in (200, 201, 204), response.text
        assert_pyramid_exact(connection)
        return response.json() if response.content else {}

    sign = write("POST", f"{base}/signs", {"kind": "direction", "status": "missing"})
    write("POST", f"{base}/signs", {"kind": "direction", "status": "damaged"})
    write("PATCH", f"{base}/signs/{sign['id']}", {"status": "damaged"})
    write("PATCH", f"{base}/signs/{sign['id']}", {"status": "removed"})
    door = {"type": "Point", "coordinates": [117.2391, 31.8302]}
    write(
        "PATCH",
        base,
        {
            "entrances": [
                {"kind": "pedestrian", "location": door},
                {"kind": "wartime", "location": door},
            ]
        },
    )
    write("PATCH", base, {"location": {"type": "Point", "coordinates": [117.2401, 31.8311]}})
    write("PATCH", base, {"capacity_persons": 120, "status": "decommissioned"})
    hide = {"visibility": "restricted", "reason": "review"}
    write("PUT", f"{base}/visibility", hide)
    write("PATCH", f"{base}/signs/{sign['id']}", {"status": "missing"})
    write("PATCH", base, {"entrances": [{"kind": "vehicle", "location": door}]})
    write("PUT", f"{base}/visibility", {**hide, "visibility": "public"})
    write("DELETE", base)


def counts(cells: dict[tuple, tuple]) -> dict[tuple, tuple]:
    return {key: values[: len(SUMS)] for key, values in cells.items()}


@pytest.fixture(scope="module")
def scratch(make_database):
    engine = create_engine(Settings(database_url=make_database()).sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    yield engine
    engine.dispose()


INSERT_ONE = """
INSERT INTO facility (code, name, address, province_code, location, construction_form,
    wartime_function, capacity_persons, status, visibility)
VALUES (:code, 'x', 'x', '340000', ST_SetSRID(ST_MakePoint(117.2831, 31.8612), 4326),
    'attached', 'personnel_shelter', 10, 'in_service', 'public')
"""


WAITING = """
SELECT count(*) > 0 FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


def race(scratch, statement: str, first: dict, second: dict) -> None:
    """Runs `statement` in two transactions, the second while the first holds its rows:
    it must wait for them, and then add to them."""
    writer = scratch.connect()
    writer.begin()
    writer.execute(text(statement), first)

    def other() -> None:
        with scratch.begin() as connection:
            connection.execute(text(statement), second)

    thread = threading.Thread(target=other)
    thread.start()
    with scratch.connect() as watcher:
        # the second writer waits for the first's uncommitted rows
        while thread.is_alive() and not watcher.execute(text(WAITING)).scalar_one():
            watcher.rollback()  # a transaction keeps its first view of pg_stat_activity
            time.sleep(0.05)
    assert thread.is_alive()
    writer.commit()
    writer.close()
    thread.join()


def layer_cells(connection: Connection, layer: str) -> set[tuple]:
    columns = ", ".join(SUMS)
    statement = text(f"SELECT DISTINCT {columns} FROM tile_cell WHERE layer = :layer")
    return set(connection.execute(statement, {"layer": layer}).all())


def test_two_writers_in_one_cell_both_count(scratch):
    """The second writer's upsert waits for the first's new cell and then adds to it."""
    race(scratch, INSERT_ONE, {"code": "RF-RACE-1"}, {"code": "RF-RACE-2"})
    with scratch.begin() as connection:
        assert layer_cells(connection, "facilities") == {(2, 20, 2, 0, 0, 0, 0)}
        assert_pyramid_exact(connection)
        connection.execute(text("DELETE FROM facility WHERE code LIKE 'RF-RACE-%'"))
        assert stored(connection) == {}


INSERT_SIGN = """
INSERT INTO sign (facility_id, kind, status)
SELECT id, 'direction', :status FROM facility WHERE code = 'RF-RACE-3'
"""
INSERT_ENTRANCE = """
INSERT INTO entrance (facility_id, kind, location)
SELECT id, 'pedestrian', ST_Translate(location, :east, 0) FROM facility WHERE code = 'RF-RACE-3'
"""


def test_two_writers_of_signs_and_entrances_in_one_cell_both_count(scratch):
    """Signs of one work: the second writer waits for the first's update of the work's
    cells; entrances side by side: for the first's new cells."""
    with scratch.begin() as connection:
        connection.execute(text(INSERT_ONE), {"code": "RF-RACE-3"})
    race(scratch, INSERT_SIGN, {"status": "missing"}, {"status": "damaged"})
    race(scratch, INSERT_ENTRANCE, {"east": 1e-6}, {"east": 2e-6})
    with scratch.begin() as connection:
        assert layer_cells(connection, "signage") == {(1, 0, 1, 1, 1, 1, 1)}
        assert layer_cells(connection, "entrances") == {(2, 0, 0, 0, 0, 0, 0)}
        assert_pyramid_exact(connection)
        connection.execute(text("DELETE FROM facility WHERE code LIKE 'RF-RACE-%'"))
        assert stored(connection) == {}


# Works, some hidden or deleted or decommissioned, each with three entrances (one for
# wartime only) and five signs (one of each status), in plain SQL: written before 0035.
BEFORE_0035 = """
INSERT INTO facility (code, name, address, province_code, location, construction_form,
    wartime_function, capacity_persons, status, visibility, deleted_at)
SELECT 'RF-BACKFILL-' || g, 'x', 'x', '340000',
       ST_SetSRID(ST_MakePoint(117 + g * 0.013, 31.5 + g * 0.007), 4326), 'attached',
       'personnel_shelter', g * 10,
       CASE WHEN g % 5 = 0 THEN 'decommissioned' ELSE 'in_service' END,
       CASE WHEN g % 7 = 0 THEN 'restricted' ELSE 'public' END,
       CASE WHEN g % 11 = 0 THEN now() END
FROM generate_series(1, 40) AS g;
INSERT INTO entrance (facility_id, kind, location)
SELECT f.id, (ARRAY['vehicle', 'pedestrian', 'wartime'])[k],
       ST_Translate(f.location, k * 0.0004, 0)
FROM facility f, generate_series(1, 3) AS k;
INSERT INTO sign (facility_id, kind, status, installed_on)
SELECT f.id, 'direction', s, CASE WHEN s = 'installed' THEN DATE '2022-05-01' END
FROM facility f,
     unnest(ARRAY['missing', 'planned', 'installed', 'damaged', 'removed']) AS s;
"""


AFTER_DOWNGRADE = """
UPDATE facility SET visibility = 'restricted' WHERE id IN (SELECT id FROM facility ORDER BY id LIMIT 4);
UPDATE facility SET deleted_at = NULL WHERE code = 'RF-BACKFILL-11';
UPDATE sign SET status = 'damaged' WHERE status = 'missing';
DELETE FROM entrance WHERE id IN (SELECT id FROM entrance ORDER BY id DESC LIMIT 5);
DELETE FROM facility WHERE code = 'RF-BACKFILL-3';
"""


def test_migration_0035_fills_the_new_layers_without_rewriting_tile_cell(make_database):
    """The third sum is added in the catalogue (the heap keeps its file), and the
    backfill of entrances and signage equals a recomputation from the rows; after a
    downgrade and writes under the old triggers, the upgrade again."""
    engine = create_engine(Settings(database_url=make_database()).sqlalchemy_url)
    heap = text("SELECT pg_relation_filenode('tile_cell')")
    layers = text("SELECT DISTINCT layer FROM tile_cell ORDER BY 1")
    try:
        with engine.begin() as connection:
            run_migrations(connection, "0034")
            connection.execute(text(BEFORE_0035))
            before = connection.execute(heap).scalar_one()
            run_migrations(connection)
            assert connection.execute(heap).scalar_one() == before
            assert connection.execute(layers).scalars().all() == [
                "entrances",
                "facilities",
                "shelters",
                "signage",
            ]
            assert_pyramid_exact(connection)
            run_migrations(connection, "0034", down=True)
            assert connection.execute(layers).scalars().all() == ["facilities", "shelters"]
            # writes under 0034's triggers, then the upgrade again: exact from the rows
            connection.execute(text(AFTER_DOWNGRADE))
            run_migrations(connection)
            assert_pyramid_exact(connection)
    finally:
        engine.dispose()
