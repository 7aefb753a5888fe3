"""The shared request models: no NUL in any string, PATCH twins keep the rules, and the
Day and Instant types state their range."""

from typing import Annotated

import pytest
from pydantic import Field, StringConstraints, ValidationError

from app.core.schemas import ApiModel, Day, Instant, partial_model

Name = Annotated[str, StringConstraints(min_length=1, max_length=5)]


class Inner(ApiModel):
    name: Name


class Outer(ApiModel):
    name: Name
    labels: list[str] = []
    extra: dict[str, object] = {}
    inners: Annotated[list[Inner], Field(max_length=2)] = []
    day: Day | None = None
    at: Instant | None = None


def errors(data: dict, model: type[ApiModel] = Outer) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


NUL = "contains a NUL character (\\u0000), which text cannot hold"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "a\x00"}, [(("name",), NUL)]),
        ({"name": "a", "labels": ["ok", "b\x00"]}, [(("labels",), f"{NUL} (at 1)")]),
        (
            {"name": "a", "extra": {"k": ["x", {"deep": "\x00"}]}},
            [(("extra",), f"{NUL} (at k.1.deep)")],
        ),
        (
            {"name": "a", "inners": [{"name": "ok"}, {"name": "\x00"}]},
            [(("inners", 1, "name"), NUL)],
        ),
    ],
)
def test_a_nul_anywhere_is_named(data, expected):
    assert errors(data) == expected


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


def test_a_patch_twin_keeps_every_rule_of_its_create_model():
    OuterUpdate = partial_model(Outer, name="OuterUpdate", required={"name"})
    assert OuterUpdate.model_validate({}).model_fields_set == set()
    for data in (
        {"name": "toolong"},
        {"name": None},
        {"inners": [{"name": "a"}] * 3},
        {"day": "2101-01-01"},
        {"labels": ["\x00"]},
    ):
        assert errors(data, OuterUpdate), data
