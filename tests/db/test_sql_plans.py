"""The SQL functions given an array of ids join it as a set. A SQL function's statements
are planned without the parameter's value, so `x = ANY (ids)` searches the array from its
start for every row it tests: a million entrances inserted at once (a demo load, an
import) made use_search_refresh take time in the square of the rows. Each statement of
the function is planned here as the function plans it, generically, and no plan may
test rows against the array."""

import re

import pytest
from sqlalchemy import text


def statements(connection, function: str) -> list[str]:
    body = connection.execute(
        text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": function}
    ).scalar_one()
    return [s.strip() for s in body.split(";") if s.strip()]


@pytest.mark.parametrize("function", ["use_search_refresh"])
def test_an_array_of_ids_is_joined_not_searched_row_by_row(connection, function):
    found = statements(connection, function)
    assert len(found) == 2
    connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    for number, statement in enumerate(found):
        sql = re.sub(r"\bfacility_ids\b", "$1", statement)
        connection.exec_driver_sql(f"PREPARE probe_{number}(bigint[]) AS {sql}")
        plan = "\n".join(
            connection.exec_driver_sql(f"EXPLAIN EXECUTE probe_{number}('{{1,2}}')").scalars()
        )
        connection.exec_driver_sql(f"DEALLOCATE probe_{number}")
        assert "ANY" not in plan, plan
