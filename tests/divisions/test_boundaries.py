import json
from datetime import date, datetime, timedelta

import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from app.core import dates
from app.core.errors import BadRequest
from app.core.geo import CoordSys
from app.divisions import readers
from app.divisions.repository import finest_covering
from app.divisions.service import BoundaryFeature, load_boundaries
from app.facilities import repository as facilities

# Synthetic squares, not the real outlines: Hefei around its centre, two districts inside.
HEFEI = box(117.0, 31.6, 117.5, 32.0)
SHUSHAN = box(117.15, 31.8, 117.25, 31.9)
BAOHE = box(117.25, 31.7, 117.35, 31.8)
IN_SHUSHAN = [117.2, 31.85]
IN_BAOHE = [117.3, 31.75]
IN_HEFEI_ONLY = [117.45, 31.65]


@pytest.fixture
def boundaries(session):
    result = load_boundaries(
        session,
        [
            BoundaryFeature("340100", None, HEFEI),
            BoundaryFeature("340104", None, SHUSHAN),
            BoundaryFeature("340111", None, BAOHE),
        ],
        on=date.today(),
    )
    session.flush()
    return result


def point(coordinates):
    return {"type": "Point", "coordinates": coordinates}


def test_loading_sets_boundaries_of_known_codes(boundaries):
    assert (boundaries.updated, boundaries.added, boundaries.skipped) == (3, 0, [])


def test_a_division_is_in_force_on_chinas_day_whatever_the_sessions_zone(connection, boundaries):
    """current_date is the date in the database session's zone (a server's default, often
    UTC): a division in force on China's today alone is found in a session a day apart."""
    hour = datetime.now(dates.SHANGHAI).hour
    connection.exec_driver_sql(
        f"SET LOCAL TIME ZONE '{'Etc/GMT+12' if hour < 20 else 'Etc/GMT-14'}'"
    )
    today = dates.today()
    assert connection.exec_driver_sql("SELECT current_date").scalar() != today
    connection.exec_driver_sql(
        "UPDATE division SET valid_from = %s, valid_to = %s WHERE code = '340104'",
        (today, today + timedelta(days=1)),
    )
    point = f"ST_SetSRID(ST_MakePoint({IN_SHUSHAN[0]}, {IN_SHUSHAN[1]}), 4326)"
    assert connection.exec_driver_sql(f"SELECT {finest_covering(point)}").scalar() == "340104"


def test_loading_adds_unknown_divisions_under_known_parents(session, connection):
    result = load_boundaries(
        session,
        [
            BoundaryFeature("340202", "镜湖区", box(118.3, 31.3, 118.4, 31.4)),
            BoundaryFeature("350102", "鼓楼区", box(119.2, 26.0, 119.3, 26.1)),
            BoundaryFeature("340203", None, box(118.4, 31.3, 118.5, 31.4)),
            BoundaryFeature("34A", "坏代码", box(118.4, 31.3, 118.5, 31.4)),
        ],
        on=date.today(),
    )
    assert (result.updated, result.added) == (0, 1)
    assert len(result.skipped) == 3
    row = connection.exec_driver_sql(
        "SELECT name, level, parent_code, ST_GeometryType(boundary) FROM division WHERE code = '340202'"
    ).one()
    assert tuple(row) == ("镜湖区", "district", "340200", "ST_MultiPolygon")


def test_district_is_derived_from_the_location(client, payload, boundaries):
    response = client.post(
        "/v1/facilities", json=payload(admin_code=None, location=point(IN_BAOHE), entrances=[])
    )
    assert response.status_code == 201, response.text
    assert response.json()["admin_code"] == "340111"
    response = client.post(
        "/v1/facilities",
        json=payload(code="RF-T-2", admin_code="340100", location=point(IN_SHUSHAN), entrances=[]),
    )
    assert response.json()["district_code"] == "340104"


def test_a_location_contradicting_the_code_is_rejected(client, payload, boundaries):
    response = client.post(
        "/v1/facilities",
        json=payload(admin_code="340111", location=point(IN_SHUSHAN), entrances=[]),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "location"
    assert "340104" in response.json()["detail"]


def test_a_location_outside_the_given_division_is_rejected(client, payload, boundaries):
    response = client.post(
        "/v1/facilities",
        json=payload(admin_code="340100", location=point([118.4, 31.3]), entrances=[]),
    )
    assert response.status_code == 422
    assert "outside 合肥市" in response.json()["detail"]


def test_without_code_a_location_in_no_boundary_is_rejected(client, payload, boundaries):
    response = client.post(
        "/v1/facilities", json=payload(admin_code=None, location=point([118.4, 31.3]), entrances=[])
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "admin_code"


def test_a_city_level_location_keeps_no_district(client, payload, boundaries):
    response = client.post(
        "/v1/facilities", json=payload(admin_code=None, location=point(IN_HEFEI_ONLY), entrances=[])
    )
    assert (response.json()["city_code"], response.json()["district_code"]) == ("340100", None)


def test_existing_facilities_are_placed_when_boundaries_arrive(client, payload, session):
    created = client.post(
        "/v1/facilities", json=payload(admin_code="340100", location=point(IN_BAOHE), entrances=[])
    ).json()
    assert created["district_code"] is None
    load_boundaries(session, [BoundaryFeature("340111", None, BAOHE)], on=date.today())
    assert facilities.place_in_loaded_boundaries(session) == 1
    session.commit()
    assert client.get(f"/v1/facilities/{created['id']}").json()["district_code"] == "340111"


def _write(path, driver, geometries, codes, names):
    pyogrio.raw.write(
        path,
        geometry=np.array([shapely.to_wkb(g) for g in geometries], dtype=object),
        field_data=[np.array(codes, dtype=object), np.array(names, dtype=object)],
        fields=["adcode", "name"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver=driver,
    )


@pytest.mark.parametrize(("suffix", "driver"), [("geojson", "GeoJSON"), ("gpkg", "GPKG")])
def test_read_boundaries_from_vector_files(tmp_path, suffix, driver):
    path = tmp_path / f"districts.{suffix}"
    _write(path, driver, [SHUSHAN, BAOHE], ["340104", "340111"], ["蜀山区", "包河区"])
    features = readers.read_boundaries(path, code_field="adcode", name_field="name")
    assert [(f.code, f.name) for f in features] == [("340104", "蜀山区"), ("340111", "包河区")]
    assert features[0].geometry.equals(SHUSHAN)


def test_read_boundaries_converts_gcj02(tmp_path):
    path = tmp_path / "gcj.geojson"
    _write(path, "GeoJSON", [SHUSHAN], ["340104"], ["蜀山区"])
    wgs = readers.read_boundaries(
        path, code_field="adcode", name_field="name", coordsys=CoordSys.gcj02
    )
    shift = np.subtract(SHUSHAN.exterior.coords, wgs[0].geometry.exterior.coords)
    # GCJ-02 moves Hefei by roughly 500 m: about +0.005° in longitude, -0.002° in latitude.
    assert np.all((shift[:, 0] > 0.004) & (shift[:, 0] < 0.007))
    assert np.all((shift[:, 1] < -0.001) & (shift[:, 1] > -0.004))


def test_read_boundaries_names_a_missing_field(tmp_path):
    path = tmp_path / "d.geojson"
    _write(path, "GeoJSON", [SHUSHAN], ["340104"], ["蜀山区"])
    with pytest.raises(BadRequest, match="no field 'code'"):
        readers.read_boundaries(path, code_field="code", name_field="name")


def test_read_boundaries_rejects_a_broken_file(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feat"}]})[:30])
    with pytest.raises(BadRequest, match="cannot be read"):
        readers.read_boundaries(path, code_field="code", name_field="name")


def test_cnmaps_boundaries_place_a_known_landmark(client, payload, session):
    features = readers.cnmaps_boundaries("340104")
    assert [(f.code, f.name) for f in features] == [("340104", "蜀山区")]
    load_boundaries(session, features, on=date.today())
    session.commit()
    # Hefei's Swan Lake (天鹅湖), WGS 84: in Shushan district.
    response = client.post(
        "/v1/facilities",
        json=payload(admin_code=None, location=point([117.2281, 31.8262]), entrances=[]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["district_code"] == "340104"
