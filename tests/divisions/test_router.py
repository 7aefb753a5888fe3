def test_list_children_of_hefei(client):
    response = client.get("/v1/divisions", params={"parent_code": "340100"})
    assert response.status_code == 200
    codes = [d["code"] for d in response.json()]
    assert codes[:4] == ["340102", "340103", "340104", "340111"]
    assert all(d["level"] == "district" for d in response.json())


def test_list_by_level(client):
    cities = client.get("/v1/divisions", params={"level": "city"}).json()
    assert len(cities) == 16
    assert {"code": "341800", "name": "宣城市"}.items() <= cities[-1].items()


def test_get_one(client):
    body = client.get("/v1/divisions/340104").json()
    assert body == {
        "code": "340104",
        "name": "蜀山区",
        "level": "district",
        "parent_code": "340100",
        "valid_from": "2011-08-22",
        "valid_to": None,
        "has_boundary": False,
    }


def test_unknown_and_malformed_codes(client):
    assert client.get("/v1/divisions/349999").status_code == 404
    assert client.get("/v1/divisions/34").status_code == 422
