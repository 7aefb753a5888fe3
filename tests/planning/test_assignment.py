"""The transport solver against brute force, and the assignment endpoint end to end."""

import itertools

import numpy as np
import pytest

from app.planning import assignment

from .test_layers import SHELTER, north, upload


def _brute_force(residents, capacity, pair_block, pair_shelter, pair_distance):
    """Every integral flow: the most residents placed, then the least distance."""
    best = (0, 0.0)
    ranges = [
        range(min(residents[b], capacity[s]) + 1)
        for b, s in zip(pair_block, pair_shelter, strict=True)
    ]
    for flow in itertools.product(*ranges):
        flow = np.array(flow)
        sent = np.bincount(pair_block, weights=flow, minlength=len(residents))
        load = np.bincount(pair_shelter, weights=flow, minlength=len(capacity))
        if (sent > residents).any() or (load > capacity).any():
            continue
        placed, distance = int(flow.sum()), float(flow @ pair_distance)
        if placed > best[0] or (placed == best[0] and distance < best[1]):
            best = (placed, distance)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_solver_is_optimal_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    blocks, shelters = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    residents = rng.integers(0, 4, blocks)
    capacity = rng.integers(0, 4, shelters)
    pairs = [(b, s) for b in range(blocks) for s in range(shelters) if rng.random() < 0.7]
    pair_block = np.array([b for b, _ in pairs], dtype=np.int64)
    pair_shelter = np.array([s for _, s in pairs], dtype=np.int64)
    pair_distance = rng.uniform(10, 1000, len(pairs)).round(1)

    solution = assignment.solve(residents, capacity, pair_block, pair_shelter, pair_distance)
    placed, distance = _brute_force(residents, capacity, pair_block, pair_shelter, pair_distance)
    assert solution.assigned == placed
    assert solution.distance == pytest.approx(distance)
    load = np.bincount(pair_shelter, weights=solution.flow, minlength=shelters)
    assert (load <= capacity).all()


def test_a_nearer_shelter_is_left_to_whom_it_saves_most():
    # Block 0 is 100 m from A and 150 m from B; block 1 is 110 m from A and 900 m from B.
    # Greedy nearest-first puts block 0 in A and block 1 far away in B (1050 m in all);
    # the optimum puts block 1 in A and block 0 in B (260 m).
    solution = assignment.solve(
        np.array([1, 1]),
        np.array([1, 1]),
        np.array([0, 0, 1, 1]),
        np.array([0, 1, 0, 1]),
        np.array([100.0, 150.0, 110.0, 900.0]),
    )
    assert solution.assigned == 2
    assert solution.distance == pytest.approx(260.0)


def test_assignment_respects_capacity_and_distance(client, create):
    near = create(location=SHELTER, capacity_persons=50, shelter_area=60)
    create(location=north(0.0040), capacity_persons=1000, shelter_area=1000)  # ~445 m
    layer = upload(
        client,
        "lon,lat,residents\n"
        f"{SHELTER['coordinates'][0]},{north(0.0005)['coordinates'][1]},80\n"
        f"{SHELTER['coordinates'][0]},{north(0.0300)['coordinates'][1]},40\n",
    )
    response = client.get(
        f"/v1/planning/population-layers/{layer['id']}/assignment",
        params={"max_distance_m": 500},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["residents"], result["assigned"], result["unassigned"]) == (120, 80, 40)
    assert result["optimality_gap"] == 0
    first, far = result["blocks"]
    assert far["unassigned"] == 40 and far["shelters"] == []
    assert {p["facility_id"]: p["residents"] for p in first["shelters"]}[near["id"]] == 50
    assert all(p["distance_m"] <= 500 for p in first["shelters"])
    assert all(s["load"] <= s["capacity"] for s in result["shelters"])
    assert sum(s["load"] for s in result["shelters"]) == 80
    assert result["total_distance_m"] == pytest.approx(
        sum(p["residents"] * p["distance_m"] for p in first["shelters"]), abs=0.05 * 80
    )
