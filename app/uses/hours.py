"""Opening hours in OpenStreetMap syntax, evaluated where the facilities are."""

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError

SHANGHAI = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=4096)
def parse_opening_hours(expression: str) -> OpeningHours:
    """Parsed once per distinct expression: a city has few, repeated on many facilities."""
    try:
        # country="CN" gives the parser China's public holidays for `PH` rules.
        return OpeningHours(expression, timezone=SHANGHAI, country="CN")
    except (ParserError, SyntaxError) as exc:
        raise ValueError(f"not valid opening_hours syntax: {str(exc).splitlines()[0]}") from exc


def is_open(expression: str | None, at: datetime) -> bool | None:
    """True or False, or None when the hours are not given or say 'unknown'."""
    if expression is None:
        return None
    hours = parse_opening_hours(expression)
    # The parser takes only zoneinfo zones; any aware time is moved to Shanghai first.
    local = at.astimezone(SHANGHAI)
    if hours.is_unknown(local):
        return None
    return hours.is_open(local)
