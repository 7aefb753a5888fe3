import json

import pytest

from app.core.errors import BadRequest
from app.core.pagination import decode_cursor, encode_cursor, splice_items


@pytest.mark.parametrize("last_id", [1, 42, 2**62])
def test_cursor_round_trip(last_id):
    assert decode_cursor(encode_cursor(last_id)) == last_id


@pytest.mark.parametrize("cursor", ["", "!!!", "aWQ6", "aWQ6LTE", "eDox", encode_cursor(2**63)])
def test_foreign_cursors_are_refused(cursor):
    with pytest.raises(BadRequest):
        decode_cursor(cursor)


def test_splice_items_builds_valid_json():
    body = splice_items(
        {"next_cursor": None, "links": []}, "items", [b'{"a": 1}', '{"名": "值"}'.encode()]
    )
    assert json.loads(body) == {"next_cursor": None, "links": [], "items": [{"a": 1}, {"名": "值"}]}
    assert json.loads(splice_items({}, "features", [])) == {"features": []}
