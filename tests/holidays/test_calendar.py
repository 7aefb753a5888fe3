from datetime import date

import pytest

from app.holidays.calendar import DayKind, kind_of
from app.holidays.models import Override


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2025, 10, 8), DayKind.holiday),  # inside the National Day break
        (date(2025, 10, 4), DayKind.holiday),  # a Saturday inside it
        (date(2025, 10, 11), DayKind.makeup),  # a Saturday worked
        (date(2025, 9, 28), DayKind.makeup),  # a Sunday worked
        (date(2025, 10, 12), DayKind.rest),
        (date(2025, 10, 9), DayKind.workday),
        (date(2026, 2, 16), DayKind.holiday),  # Spring Festival eve
    ],
)
def test_the_package_calendar(day, kind):
    assert kind_of(day) == kind


def test_declared_days_win():
    assert kind_of(date(2025, 10, 9), Override.holiday) == DayKind.holiday
    assert kind_of(date(2025, 10, 12), Override.workday) == DayKind.makeup
    assert kind_of(date(2025, 10, 8), Override.workday) == DayKind.workday


def test_a_year_the_package_does_not_know_falls_back_to_weekdays():
    assert kind_of(date(2099, 10, 1)) == DayKind.workday  # a Thursday
    assert kind_of(date(2099, 10, 3)) == DayKind.rest
    assert kind_of(date(2099, 10, 1), Override.holiday) == DayKind.holiday
