"""Opening hours in OpenStreetMap syntax, evaluated where the facilities are, on China's
calendar of public holidays and make-up working days.

The parser's own holiday list for China has only each holiday's first day, and no
make-up working days, so the calendar is applied here (app.holidays): an expression is
parsed without a country, and a day's kind decides how it is read.

- An expression that does not mention `PH` is read by the weekday alone.
- One that does follows the State Council's calendar: on a public holiday its `PH` rules
  apply; on a make-up working day (a Saturday or Sunday worked, 调休) it is read as the
  working day next to it, a Saturday as Friday and a Sunday as Monday, so `Mo-Fr` rules
  apply and `Sa`/`Su` rules do not.

The kind is that of the moment's own date: a span past midnight is read, after midnight,
by the kind of the day it runs into.
"""

import re
from datetime import datetime, timedelta
from functools import lru_cache

from opening_hours import OpeningHours, ParserError

from app.core.dates import SHANGHAI
from app.holidays.calendar import DayKind, kind_of

# `PH` outside the double-quoted comments the syntax allows.
PH_TOKEN = re.compile(r'"[^"]*"|\bPH\b')
# Saturday is read as Friday, Sunday as Monday.
MAKEUP_SHIFT = {5: timedelta(days=-1), 6: timedelta(days=1)}


def _parse(expression: str) -> OpeningHours:
    try:
        # No country: the parser then knows no holidays, and `PH` never matches by itself.
        return OpeningHours(
            expression, timezone=SHANGHAI, country=None, auto_country=False, auto_timezone=False
        )
    except (ParserError, SyntaxError) as exc:
        raise ValueError(f"not valid opening_hours syntax: {str(exc).splitlines()[0]}") from exc


class Hours:
    """An expression parsed twice: as written, where `PH` matches no day, and with `PH`
    matching every day, which is how it reads on a public holiday."""

    def __init__(self, expression: str) -> None:
        self.plain = _parse(expression)
        self.follows_calendar = any(m.group() == "PH" for m in PH_TOKEN.finditer(expression))
        self.holiday = (
            _parse(PH_TOKEN.sub(lambda m: "Mo-Su" if m.group() == "PH" else m.group(), expression))
            if self.follows_calendar
            else self.plain
        )

    def reading(self, local: datetime, kind: DayKind) -> tuple[OpeningHours, datetime]:
        if not self.follows_calendar:
            return self.plain, local
        if kind == DayKind.holiday:
            return self.holiday, local
        if kind == DayKind.makeup and local.weekday() in MAKEUP_SHIFT:
            return self.plain, local + MAKEUP_SHIFT[local.weekday()]
        return self.plain, local


@lru_cache(maxsize=4096)
def parse_opening_hours(expression: str) -> Hours:
    """Parsed once per distinct expression: a city has few, repeated on many facilities."""
    return Hours(expression)


def is_open(expression: str | None, at: datetime, kind: DayKind | None = None) -> bool | None:
    """True or False, or None when the hours are not given, say 'unknown', or cannot be
    read: the API and the import refuse such an expression, but psql can store one, and
    a place's hours unread are no reason to fail the answers that list it. `kind` is the
    kind of the moment's date in Shanghai (holidays.service.day_kind, which knows the days
    admins added); without it, the package's calendar alone decides."""
    if expression is None:
        return None
    # The parser takes only zoneinfo zones; any aware time is moved to Shanghai first.
    local = at.astimezone(SHANGHAI)
    kind = kind if kind is not None else kind_of(local.date())
    try:
        return _open_in_minute(expression, local.replace(second=0, microsecond=0), kind)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _open_in_minute(expression: str, minute: datetime, kind: DayKind) -> bool | None:
    """The syntax knows no unit finer than the minute, so one reading holds for the whole
    of it: a city's few expressions are evaluated once a minute, not once per answer."""
    hours, moment = parse_opening_hours(expression).reading(minute, kind)
    if hours.is_unknown(moment):
        return None
    return hours.is_open(moment)
