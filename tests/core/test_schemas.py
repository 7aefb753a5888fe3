"""The shared request models: the Day and Instant types state their range."""

from typing import Annotated

import pytest
from pydantic import StringConstraints, ValidationError

from app.core.schemas import ApiModel, Day, Instant

Name = Annotated[str, StringConstraints(min_length=1, max_length=5)]


class Outer(ApiModel):
    name: Name
    day: Day | None = None
    at: Instant | None = None


def errors(data: dict) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [
        (
            {"name": "a", "day": "1899-12-31"},
            ("day",),
            "must lie between 1900-01-01 and 2100-12-31",
        ),
        (
            {"name": "a", "at": "0001-01-01T00:00:00+14:00"},
            ("at",),
            "must lie between 1900-01-01 and 2100-12-31 (UTC)",
        ),
        ({"name": "a", "at": "2024-01-01T00:00:00"}, ("at",), "Input should have timezone info"),
    ],
)
def test_days_and_instants_outside_the_range(data, loc, message):
    assert errors(data) == [(loc, message)]


def test_the_extremes_are_taken():
    taken = Outer.model_validate(
        {"name": "a", "day": "2100-12-31", "at": "1900-01-01T08:00:00+08:00"}
    )
    assert (taken.day.year, taken.at.year) == (2100, 1900)
