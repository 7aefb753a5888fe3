"""Real clients against a real server: GDAL's OGC API - Features driver (through pyogrio)
and OWSLib. They need a live HTTP server, and it needs a committed database of its own:
the per-test transaction of the other tests is invisible to another process."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pyogrio
import pyogrio.raw
import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import create_engine, text

from app.config import Settings
from tests.conftest import free_port, run_migrations
from tests.live import STARTUP_S

FACILITIES = 300
SEED = """
INSERT INTO facility (code, name, address, province_code, city_code, district_code, location,
                      construction_form, wartime_function, capacity_persons, status,
                      visibility, keyholder_phone)
SELECT 'RF-GIS-' || lpad(i::text, 6, '0'), '测试人防工程' || i, '合肥市蜀山区测试路' || i || '号',
       '340000', '340100', '340104',
       ST_SetSRID(ST_MakePoint(117.20 + (i % 20) * 0.002, 31.80 + (i / 20) * 0.002), 4326),
       'attached', 'personnel_shelter', i * 10,
       CASE WHEN i % 7 = 0 THEN 'suspended' ELSE 'in_service' END, 'public', '13900000000'
FROM generate_series(1, :count) AS i
"""
ENTRANCES = "INSERT INTO entrance (facility_id, kind, location) SELECT id, 'pedestrian', location FROM facility"


@pytest.fixture(scope="module")
def server(make_database) -> Iterator[str]:
    """uvicorn in a process of its own: GDAL holds the GIL while it reads the pages, so a
    server thread in this process would never answer it."""
    database_url = make_database()
    engine = create_engine(Settings(database_url=database_url).sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
        connection.execute(text(SEED), {"count": FACILITIES})
        connection.execute(text(ENTRANCES))
    engine.dispose()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while True:
        assert process.poll() is None, "the test server exited"
        assert time.monotonic() < deadline, "the test server did not start"
        try:
            if httpx.get(f"{base}/ogc", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    yield f"{base}/ogc"
    process.terminate()
    process.wait(timeout=10)


def test_gdal_lists_the_collections(server):
    layers = pyogrio.list_layers(f"OAPIF:{server}")
    assert sorted(layers[:, 0]) == sorted(
        ["facilities", "shelters", "parking", "entrances", "signage"]
    )


def test_gdal_reads_a_whole_collection_through_the_pages(server):
    # 37 a page: nine pages, the last one short.
    meta, fids, geometry, fields = pyogrio.raw.read(
        f"OAPIF:{server}", layer="facilities", PAGE_SIZE="37"
    )
    assert len(geometry) == FACILITIES
    names = list(meta["fields"])
    codes = fields[names.index("code")]
    assert len(set(codes)) == FACILITIES
    assert "keyholder_phone" not in names
    capacity = fields[names.index("capacity_persons")]
    assert sorted(capacity) == [i * 10 for i in range(1, FACILITIES + 1)]


def test_gdal_filters_by_attribute_and_box(server):
    *_, geometry, fields = pyogrio.raw.read(
        f"OAPIF:{server}", layer="shelters", where="status = 'suspended'", PAGE_SIZE="10"
    )
    assert len(geometry) == FACILITIES // 7
    *_, geometry, _ = pyogrio.raw.read(
        f"OAPIF:{server}", layer="facilities", bbox=(117.2039, 31.8019, 117.2061, 31.8041)
    )
    # Two columns by two rows of the 0.002-degree grid: facilities 22, 23, 42 and 43.
    assert len(geometry) == 4


def test_owslib_reads_collections_items_and_one_feature(server):
    api = Features(server)
    assert "facilities" in [c["id"] for c in api.collections()["collections"]]
    assert api.collection("parking")["id"] == "parking"
    assert "capacity_persons" in api.collection_queryables("facilities")["properties"]
    page = api.collection_items("facilities", limit=5)
    assert page["numberReturned"] == 5 and len(page["features"]) == 5
    assert any(link["rel"] == "next" for link in page["links"])
    first = page["features"][0]
    one = api.collection_item("facilities", str(first["id"]))
    assert one["properties"]["code"] == first["properties"]["code"]
    assert "conf/core" in " ".join(api.conformance()["conformsTo"])


def test_gdal_sends_a_simple_attribute_filter_to_the_server(server):
    # GDAL finds the property among the collection's parameters in /ogc/api and sends
    # `status = 'suspended'` as ?status=suspended instead of reading every page.
    result = subprocess.run(
        ["ogrinfo", "-ro", "-q", "-where", "status = 'suspended'", f"OAPIF:{server}", "shelters"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CPL_DEBUG": "ON"},
    )
    assert result.returncode == 0, result.stderr
    fetched = [line for line in result.stderr.splitlines() if "/collections/shelters/items" in line]
    assert fetched and all("status=suspended" in line for line in fetched[1:]), fetched
    assert "evaluated on client side" not in result.stderr
    assert result.stdout.count("OGRFeature(shelters)") == FACILITIES // 7


def test_owslib_reads_the_schema(server):
    schema = Features(server).collection_schema("facilities")
    assert schema["properties"]["capacity_persons"]["type"] == "integer"
    assert schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    assert "keyholder_phone" not in schema["properties"]
