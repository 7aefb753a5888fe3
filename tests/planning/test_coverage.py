"""Coverage of points reads the distance each point keeps to its nearest shelter
(population_feature.shelter_m and public_shelter_m, kept by triggers): its figures must be
those of a radius search around every point, for every caller, before and after shelters
come, move, change visibility, close and go."""

import random
from datetime import date

import pytest
from shapely.geometry import box
from sqlalchemy import text

from app.divisions.service import BoundaryFeature, load_boundaries
from app.planning.models import MAX_RADIUS_M
from tests.planning.test_layers import upload

RADII = (150, 400, 1000, 2500, MAX_RADIUS_M)
HEFEI, SHUSHAN, BAOHE = (
    box(117.0, 31.6, 117.5, 32.0),
    box(117.15, 31.8, 117.25, 31.9),
    box(117.25, 31.7, 117.35, 31.8),
)
SHELTER = (
    "s.wartime_function = 'personnel_shelter' AND s.status = 'in_service' AND s.deleted_at IS NULL"
)
# Per district, the residents of points with a shelter the caller sees within :radius:
# the radius search coverage made per point before it kept distances.
RADIUS_SEARCH = f"""
SELECT p.district_code, coalesce(sum(p.residents) FILTER (WHERE EXISTS (
    SELECT FROM facility s
    WHERE {SHELTER} AND (s.visibility = 'public' OR :every OR s.district_code = ANY(:scope))
      AND ST_DWithin(s.location::geography, p.geom::geography, :radius))), 0)
FROM population_feature p WHERE p.layer_id = :layer_id GROUP BY 1
"""
# Each point's distances as they should be: the least over every shelter, by brute force.
NEAREST = f"""
SELECT p.id, p.shelter_m, p.public_shelter_m,
    (SELECT min(ST_Distance(s.location::geography, p.geom::geography))
     FROM facility s WHERE {SHELTER}) AS any_m,
    (SELECT min(ST_Distance(s.location::geography, p.geom::geography))
     FROM facility s WHERE {SHELTER} AND s.visibility = 'public') AS public_m
FROM population_feature p WHERE p.layer_id = :layer_id ORDER BY p.id
"""


def place(rng: random.Random, area) -> tuple[float, float]:
    x0, y0, x1, y1 = area.bounds
    return round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6)


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def town(client, create, session):
    """Synthetic Hefei, Shushan and Baohe; 120 point blocks given the province's code, the
    city's, a district's or none; 14 personnel shelters in service (two restricted in
    Shushan, one in Baohe), a suspended one and a supply depot."""
    load_boundaries(
        session,
        [BoundaryFeature(c, None, g) for c, g in (("340100", HEFEI), ("340104", SHUSHAN))]
        + [BoundaryFeature("340111", None, BAOHE)],
        on=date.today(),
    )
    session.flush()
    rng = random.Random(26)

    def shelter(area, code: str, **fields) -> dict:
        lon, lat = place(rng, area)
        return create(
            location=point(lon, lat),
            admin_code=code,
            entrances=[{"kind": "pedestrian", "location": point(lon, round(lat + 1e-4, 6))}],
            **fields,
        )

    shelters = [shelter(SHUSHAN, "340104") for _ in range(6)]
    shelters += [shelter(BAOHE, "340111") for _ in range(5)]
    shelters += [shelter(HEFEI, "340100") for _ in range(3)]
    for restricted in (shelters[0], shelters[1], shelters[6]):
        change = {"visibility": "restricted", "reason": "改作指挥所配套"}
        url = f"/v1/facilities/{restricted['id']}/visibility"
        assert client.put(url, json=change).status_code == 200
    shelter(SHUSHAN, "340104", status="suspended")
    shelter(SHUSHAN, "340104", wartime_function="supporting", wartime_subtype="supply_depot")
    codes = ("340000", "340100", "340104", "340111", "")
    rows = []
    for number in range(120):
        lon, lat = place(rng, (SHUSHAN, BAOHE, HEFEI)[number % 3])
        rows.append(f"{lon},{lat},{rng.randint(1, 900)},{codes[number % len(codes)]}\n")
    layer = upload(client, "lon,lat,residents,admin_code\n" + "".join(rows))
    return {"layer": layer, "shelters": shelters}


def assert_distances_kept(session, layer_id: int) -> None:
    rows = session.execute(text(NEAREST), {"layer_id": layer_id}).all()
    assert rows
    for row in rows:
        kept = (row.shelter_m, row.public_shelter_m)
        assert kept == tuple(m if m is not None and m <= MAX_RADIUS_M else None
                             for m in (row.any_m, row.public_m)), row  # fmt: skip


def assert_coverage_is_the_radius_search(client_for, session, layer_id: int) -> None:
    callers = {
        "admin": (client_for("admin"), True, []),
        "gis": (client_for("gis"), True, []),
        "manager in Shushan": (client_for("manager", admin_codes=["340104"]), False, ["340104"]),
        "manager elsewhere": (client_for("manager", admin_codes=["340102"]), False, ["340102"]),
    }
    url = f"/v1/planning/population-layers/{layer_id}"
    seen = set()
    for name, (caller, every, scope) in callers.items():
        for radius in RADII:
            expected = dict(
                session.execute(
                    text(RADIUS_SEARCH),
                    {"layer_id": layer_id, "radius": radius, "every": every, "scope": scope},
                ).all()
            )
            body = caller.get(f"{url}/coverage", params={"radius_m": radius}).json()
            answered = {a["admin_code"]: a["covered_residents"] for a in body["areas"]}
            assert answered == expected, (name, radius)
            gaps = caller.get(f"{url}/uncovered", params={"radius_m": radius}).json()
            uncovered = sum(f["properties"]["uncovered_residents"] for f in gaps["features"])
            assert uncovered == body["total"]["residents"] - sum(expected.values()), (name, radius)
            seen.add(tuple(sorted(expected.items(), key=str)))
    # the radii and callers tell apart: a fixed answer would not pass
    assert len(seen) >= 8


def test_coverage_is_a_radius_search_per_point_for_every_caller(client_for, session, town):
    layer_id = town["layer"]["id"]
    assert_distances_kept(session, layer_id)
    codes = {
        row[0]
        for row in session.execute(
            text("SELECT DISTINCT district_code FROM population_feature WHERE layer_id = :id"),
            {"id": layer_id},
        )
    }
    assert codes == {"340104", "340111", None}
    assert_coverage_is_the_radius_search(client_for, session, layer_id)


def test_shelters_that_come_move_close_and_go_keep_the_distances_true(
    client, client_for, payload, session, town
):
    layer_id = town["layer"]["id"]
    shelters = town["shelters"]
    rng = random.Random(2026)
    steps = [
        lambda: client.post(
            "/v1/facilities",
            json=payload(
                code="RF-T-NEW",
                location=point(*place(rng, SHUSHAN)),
                admin_code="340104",
                entrances=[],
            ),
        ),  # fmt: skip
        lambda: client.patch(
            f"/v1/facilities/{shelters[2]['id']}",
            json={"location": point(*place(rng, SHUSHAN))},
            headers={"If-Match": "*"},
        ),
        lambda: client.put(
            f"/v1/facilities/{shelters[3]['id']}/visibility",
            json={"visibility": "restricted", "reason": "改作指挥所配套"},
        ),
        lambda: client.put(
            f"/v1/facilities/{shelters[0]['id']}/visibility",
            json={"visibility": "public", "reason": "恢复公开"},
        ),
        lambda: client.patch(
            f"/v1/facilities/{shelters[7]['id']}",
            json={"status": "suspended"},
            headers={"If-Match": "*"},
        ),
        lambda: client.delete(f"/v1/facilities/{shelters[8]['id']}", headers={"If-Match": "*"}),
        lambda: client.patch(  # no shelter changes: nothing to do
            f"/v1/facilities/{shelters[9]['id']}",
            json={"keyholder_phone": "13800000000"},
            headers={"If-Match": "*"},
        ),
    ]
    before = session.execute(text(NEAREST), {"layer_id": layer_id}).all()
    for step in steps:
        response = step()
        assert response.status_code < 300, response.text
        assert_distances_kept(session, layer_id)
    after = session.execute(text(NEAREST), {"layer_id": layer_id}).all()
    assert before != after
    assert_coverage_is_the_radius_search(client_for, session, layer_id)


def test_many_shelters_at_once_and_a_hard_delete(client_for, session, town):
    """Over 1,000 changed shelters in one statement every point is computed again; a row
    deleted outright (not soft-deleted) counts as gone."""
    layer_id = town["layer"]["id"]
    session.execute(
        text(
            """
INSERT INTO facility (code, name, address, province_code, location, construction_form,
    wartime_function, status, visibility)
SELECT 'RF-BULK-' || n, 'bulk', 'x', '340000',
    ST_SetSRID(ST_MakePoint(117.0 + (n % 50) * 0.01, 31.6 + (n / 50) * 0.01), 4326),
    'attached', 'personnel_shelter', 'in_service',
    CASE WHEN n % 3 = 0 THEN 'restricted' ELSE 'public' END
FROM generate_series(1, 1200) n
"""
        )
    )
    assert_distances_kept(session, layer_id)
    session.execute(text("DELETE FROM facility WHERE code LIKE 'RF-BULK-%' AND id % 2 = 0"))
    assert_distances_kept(session, layer_id)
    assert_coverage_is_the_radius_search(client_for, session, layer_id)


def test_a_point_beyond_the_largest_radius_keeps_no_distance(client, session, town):
    far = upload(client, "lon,lat,residents\n118.3,31.0,10\n", name="far")
    stored = session.execute(
        text("SELECT shelter_m, public_shelter_m FROM population_feature WHERE layer_id = :id"),
        {"id": far["id"]},
    ).one()
    assert tuple(stored) == (None, None)
