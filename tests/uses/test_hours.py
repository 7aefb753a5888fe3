from datetime import datetime

import pytest

from app.holidays.calendar import DayKind
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


@pytest.mark.parametrize(
    ("hours", "moment", "expected"),
    [
        # 2025's National Day break runs 1-8 October: the 8th, a Wednesday, is a holiday
        # though the package that parses the syntax knows only the 1st.
        ("Mo-Fr 08:00-18:00; PH off", "2025-10-08 10:00", False),
        ("Mo-Su 08:00-18:00; PH 10:00-12:00", "2025-10-08 13:00", False),
        ("Mo-Su 08:00-18:00; PH 10:00-12:00", "2025-10-08 11:00", True),
        ("Mo-Fr 08:00-18:00; PH off", "2025-10-09 10:00", True),
        # Saturday 11 October and Sunday 28 September 2025 are make-up working days: an
        # expression that follows the calendar (mentions PH) reads them as Friday and Monday.
        ("Mo-Fr 08:00-18:00; PH off", "2025-10-11 10:00", True),
        ("Mo-Fr 08:00-18:00; PH off", "2025-09-28 10:00", True),
        ("Mo-Th 08:00-18:00; Fr 08:00-12:00; PH off", "2025-10-11 14:00", False),
        ("Mo 08:00-18:00; Tu-Fr 08:00-12:00; PH off", "2025-09-28 14:00", True),
        ("Mo-Fr 08:00-18:00; Sa 09:00-10:00; PH off", "2025-10-11 09:30", True),
        ("Mo-Fr 08:00-18:00; Sa 18:00-20:00; PH off", "2025-10-11 19:00", False),
        # An expression without PH is read by the weekday alone: a shop's Saturday.
        ("Mo-Fr 08:00-18:00", "2025-10-11 10:00", False),
        ("Mo-Fr 08:00-18:00", "2025-10-08 10:00", True),
        ("Sa 09:00-10:00", "2025-10-11 09:30", True),
        # An ordinary weekend stays one.
        ("Mo-Fr 08:00-18:00; PH off", "2025-10-12 10:00", False),
        # Spring Festival 2026: 15-23 February, with Saturday 14 and 28 February worked.
        ("Mo-Fr 08:00-18:00; PH off", "2026-02-16 10:00", False),
        ("Mo-Fr 08:00-18:00; PH off", "2026-02-14 10:00", True),
        # "PH" inside a comment is a comment.
        ('Mo-Fr 08:00-18:00 "closed on PH"', "2025-10-08 10:00", True),
    ],
)
def test_the_state_councils_calendar(hours, moment, expected):
    assert is_open(hours, at(moment)) is expected


def test_a_declared_day_kind_overrides_the_package():
    # A local holiday on an ordinary Thursday, and a Sunday an admin declared worked.
    assert is_open("Mo-Fr 08:00-18:00; PH off", at("2025-10-16 10:00"), DayKind.holiday) is False
    assert is_open("Mo-Fr 08:00-18:00; PH off", at("2025-10-19 10:00"), DayKind.makeup) is True
    assert is_open("Mo-Fr 08:00-18:00; PH off", at("2025-10-19 10:00"), DayKind.rest) is False


def test_a_reading_holds_for_its_minute_only():
    # Readings are kept per minute: the last second before closing and the first after
    # it, and the same minute on another day or of another kind, are read again.
    hours = "Mo-Fr 08:00-18:00"
    assert is_open(hours, at("2024-07-05 17:59:59.999")) is True
    assert is_open(hours, at("2024-07-05 18:00:00")) is False
    assert is_open(hours, at("2024-07-05 17:59:00")) is True
    assert is_open(hours, at("2024-07-06 17:59:30")) is False  # Saturday
    assert is_open(hours + "; PH off", at("2024-07-05 10:00:30"), DayKind.holiday) is False
    assert is_open(hours + "; PH off", at("2024-07-05 10:00:30"), DayKind.workday) is True
