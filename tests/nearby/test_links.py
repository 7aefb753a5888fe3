from urllib.parse import quote, unquote

import pytest

from app.core.navigation import uri_component


@pytest.mark.parametrize(
    "text",
    [
        "".join(map(chr, range(128))),  # every ASCII character, reserved or not
        "合肥市蜀山区春江花园西区人防工程（地下车库）",
        "万达广场2号地下车库 B-1_停车场.~",
        "😀 rf-registry",
        "",
    ],
)
def test_names_are_percent_encoded_as_urllib_does(text):
    assert uri_component(text) == quote(text, safe="")
    assert unquote(uri_component(text)) == text
