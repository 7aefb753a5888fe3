from sqlalchemy import Connection, text

from app import demo
from app.demo import planning as planning_demo


def test_demo_layer_covers_hefei_and_loads_once(client, connection: Connection):
    demo.load(connection, size=600, seed=3)
    assert planning_demo.load(connection, seed=3) == planning_demo.BLOCKS
    assert planning_demo.load(connection, seed=3) == 0
    layer_id = connection.execute(
        text("SELECT id FROM population_layer WHERE name = :name"),
        {"name": planning_demo.LAYER_NAME},
    ).scalar_one()
    layer = client.get(f"/v1/planning/population-layers/{layer_id}").json()
    assert 8_300_000 <= layer["residents"] <= 8_420_000
    coverage = client.get(
        f"/v1/planning/population-layers/{layer_id}/coverage", params={"by": "city"}
    ).json()
    (hefei,) = coverage["areas"]
    assert hefei["admin_code"] == "340100" and hefei["shelters"] > 0
    assert 0 < hefei["covered_share"] < 1
