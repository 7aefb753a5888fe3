"""What kind of day a date is in China: the State Council's calendar of public holidays
and make-up working days (调休), from the chinese-calendar package, under the days admins
declare themselves (models.CalendarDay)."""

import enum
import functools
from datetime import date

import chinese_calendar

from app.holidays.models import Override


class DayKind(enum.StrEnum):
    workday = "workday"  # Monday to Friday, worked
    rest = "rest"  # Saturday or Sunday, not worked
    holiday = "holiday"  # a public holiday (also a weekend day inside a holiday break)
    makeup = "makeup"  # a Saturday or Sunday worked instead of a holiday (调休)


# The package's calendar is fixed for the process: asked once per answer by the searches.
@functools.lru_cache(maxsize=256)
def kind_of(day: date, override: Override | None = None) -> DayKind:
    weekend = day.weekday() >= 5
    if override == Override.holiday:
        return DayKind.holiday
    if override == Override.workday:
        return DayKind.makeup if weekend else DayKind.workday
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        # A year the package does not know yet: weekdays alone, until an admin adds the
        # year's days or the package is upgraded.
        on_holiday, name = weekend, None
    if on_holiday and name is not None:
        return DayKind.holiday
    if weekend:
        return DayKind.rest if on_holiday else DayKind.makeup
    return DayKind.workday
