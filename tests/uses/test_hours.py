from datetime import datetime

import pytest

from app.uses.hours import SHANGHAI, is_open, parse_opening_hours


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("hours", "moment", "expected"),
    [
        ("24/7", "2024-02-10 03:00", True),
        # A span past midnight belongs to the day it starts on.
        ("Mo-Su 22:00-02:00", "2024-07-02 01:30", True),
        ("Mo-Su 22:00-02:00", "2024-07-02 02:00", False),
        ("Fr 22:00-02:00", "2024-07-06 01:00", True),  # Saturday night, from Friday
        ("Fr 22:00-02:00", "2024-07-07 01:00", False),  # Sunday night
        ("Mo-Fr 08:00-18:00", "2024-07-06 10:00", False),  # a Saturday
        ("Mo-Fr 08:00-18:00; We off", "2024-07-03 10:00", False),
        ("Mo-Fr 08:00-18:00", "2024-07-05 17:59", True),
        ("Mo-Fr 08:00-18:00", "2024-07-05 18:00", False),
        # China's public holidays: National Day, 1 October 2024, was a Tuesday.
        ("Mo-Fr 08:00-18:00; PH off", "2024-10-01 10:00", False),
        ("Mo-Fr 08:00-18:00; PH off", "2024-10-08 10:00", True),
        ("Mo-Su 08:00-18:00; PH 10:00-14:00", "2024-10-01 15:00", False),
        ("Mo-Su 08:00-18:00; PH 10:00-14:00", "2024-10-01 11:00", True),
        ("Jun 01-Sep 30 08:00-22:00", "2024-08-15 21:00", True),
        ("Jun 01-Sep 30 08:00-22:00", "2024-10-15 21:00", False),
    ],
)
def test_open_at_the_edges(hours, moment, expected):
    assert is_open(hours, at(moment)) is expected


def test_times_in_other_zones_are_converted_to_shanghai():
    # 16:30 UTC is 00:30 the next day in Shanghai: inside the span past midnight.
    moment = datetime.fromisoformat("2024-07-01T16:30:00+00:00")
    assert is_open("Mo-Su 22:00-02:00", moment) is True
    assert is_open("Mo-Su 08:00-18:00", moment) is False


def test_unknown_and_absent_hours_are_none():
    assert is_open(None, at("2024-07-01 10:00")) is None
    assert is_open("Mo-Fr 08:00-18:00 unknown", at("2024-07-01 10:00")) is None


def test_bad_syntax_is_a_value_error():
    with pytest.raises(ValueError, match="opening_hours"):
        parse_opening_hours("Mo-Xx")
