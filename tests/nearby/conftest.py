"""Facilities with one peacetime use each, placed for nearby searches."""

import pytest

from tests.uses.test_router import PARKING, uses_url


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def place(client, create):
    """A facility at (lon, lat) with one use; returns the facility id."""

    def make(lon, lat, use=PARKING, *, attributes=None, entrances=None, **facility):
        created = create(
            location=point(lon, lat),
            entrances=entrances if entrances is not None else [],
            **facility,
        )
        body = {**use, "attributes": {**use["attributes"], **(attributes or {})}}
        response = client.post(uses_url(created["id"]), json=body)
        assert response.status_code == 201, response.text
        return created["id"]

    return make
