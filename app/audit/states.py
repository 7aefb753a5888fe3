"""Facilities, their car parks and signs as they stood at a past moment, read back from the
audit trail: SQL for statements that count "as of" a date (statistics, signage progress,
campaigns).

A row's state at `:as_of_at` is the old value of the first audited write after that
moment, else its value now. Rows written without an audit event (the demo's COPY, rows
older than the trail) count as they are. A facility is registered at that moment when
its row was created before it and the first facility write after it, if any, is not its
creation; one registered later whose completion year is not after the
moment's year is a late registration: it existed, and counts, with the first state the
registry knew. A sign counts as installed when it was installed then and its
installation date is not after the day; a sign damaged now with no recorded change of
status stood undamaged until the inspection that found it (its inspected_on). Car parks and signs deleted since are not
brought back (their last state is in the trail, not in the tables counted here).

Statements take `:as_of_at` (timestamptz), `:as_of_day` (date) and `:rule_locality` (the
division whose signage rules every work is held to, NULL for each work's own locality)
parameters: `parameters()`.
"""

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Annotated

from fastapi import Query

from app.core.dates import SHANGHAI, today
from app.core.errors import InvalidInput
from app.core.schemas import Day

AsOfQuery = Annotated[
    Day | None,
    Query(
        description="count the works as they stood at the end of this day (Beijing time), "
        "from the audit trail; works registered later but completed by that year count, "
        "and late_registrations says how many"
    ),
]


def check_as_of(as_of: date | None) -> None:
    """Today in Beijing may be asked for (its end is still to come); tomorrow may not."""
    if as_of is not None and as_of > today():
        raise InvalidInput.on("query.as_of", f"{as_of} lies in the future")


def end_of(day: date) -> datetime:
    """Days end in Beijing time: "end of 2023" is 2023-12-31 24:00 +08:00."""
    return datetime.combine(day, time.max, tzinfo=SHANGHAI)


def parameters(day: date, *, rule_locality: str | None = None) -> dict[str, object]:
    return {"as_of_at": end_of(day), "as_of_day": day, "rule_locality": rule_locality}


def _doc(field: str, cast: str) -> str:
    return f"CASE WHEN f.doc IS NULL THEN f.{field} ELSE CAST(f.doc->>'{field}' AS {cast}) END"


def _first_old(entity: str, field: str, cast: str) -> str:
    """Per row of `entity`, the old value of `field` at its first audited change after the
    moment (creations aside: a row created later has no earlier value)."""
    return f"""(
    SELECT DISTINCT ON (entity_id) CAST(entity_id AS bigint) AS row_id,
        CAST(changes->'{field}'->>'old' AS {cast}) AS old
    FROM audit_event
    WHERE entity = '{entity}' AND at > :as_of_at AND action <> 'create' AND changes ? '{field}'
    ORDER BY entity_id, at, id)"""


# The columns of facility_figure that a facility's audited document gives, with their types.
_DOC_COLUMNS = (
    ("province_code", "varchar"),
    ("city_code", "varchar"),
    ("district_code", "varchar"),
    ("completion_year", "smallint"),
    ("wartime_function", "varchar"),
    ("construction_form", "varchar"),
    ("nuclear_level", "varchar"),
    ("conventional_level", "varchar"),
    ("status", "varchar"),
    ("building_area", "numeric"),
    ("shelter_area", "numeric"),
    ("capacity_persons", "integer"),
    ("peacetime_parking_spaces", "integer"),
    ("wartime_subtype", "varchar"),
    ("conversion_hours", "integer"),
)


def _state_columns() -> str:
    return ",\n        ".join(f"{_doc(name, cast)} AS {name}" for name, cast in _DOC_COLUMNS)


def ctes(uses: Iterable[str]) -> str:
    """The CTEs a statement starts with. `facility_then` has the columns of facility_figure
    (a flag per use in `uses`), as they were, plus `late`; its rows are the works that
    existed at the moment (live then, registered or late). `sign_then` has the installed
    signs per facility and kind."""
    flags = ", ".join(f"coalesce('{use}' = ANY(u.types), false) AS use_{use}" for use in uses)
    return f"""
facility_later AS MATERIALIZED (
    -- a creation's `before` is JSON null, not SQL NULL
    SELECT DISTINCT ON (facility_id) facility_id,
        nullif(before, 'null'::jsonb) AS before, nullif(after, 'null'::jsonb) AS after
    FROM audit_event WHERE entity = 'facility' AND at > :as_of_at
    ORDER BY facility_id, at, id
), facility_known AS MATERIALIZED (
    SELECT f.*, coalesce(l.before, l.after) AS doc,
        -- A later write that is not the creation shows that the row stood before it, not
        -- that it stood at the moment: a bulk-loaded row (no creation audited) edited
        -- since was still loaded after the moment.
        f.created_at <= :as_of_at AND (l.facility_id IS NULL OR l.before IS NOT NULL)
            AS registered
    FROM facility f LEFT JOIN facility_later l ON l.facility_id = f.id
), facility_state AS MATERIALIZED (
    SELECT f.id, f.code, f.name, f.registered, f.visibility,
        {_state_columns()},
        CASE WHEN f.doc IS NULL THEN f.deleted_at IS NOT NULL
             ELSE coalesce(CAST(f.doc->>'deleted' AS boolean), false) END AS deleted
    FROM facility_known f
), facility_existing AS MATERIALIZED (
    SELECT * FROM facility_state
    WHERE NOT deleted AND (registered
        OR completion_year <= extract(year FROM CAST(:as_of_day AS date)))
), use_then AS (
    SELECT u.facility_id, u.type,
        CASE WHEN a.row_id IS NULL THEN u.total_spaces
             ELSE CAST(a.old->>'total_spaces' AS integer) END AS total_spaces,
        CASE WHEN a.row_id IS NULL THEN u.ev_spaces
             ELSE CAST(a.old->>'ev_spaces' AS integer) END AS ev_spaces,
        CASE WHEN a.row_id IS NULL THEN u.charging_piles
             ELSE CAST(a.old->>'charging_piles' AS integer) END AS charging_piles
    FROM peacetime_use u
    LEFT JOIN {_first_old("peacetime_use", "attributes", "jsonb")} a ON a.row_id = u.id
    WHERE NOT EXISTS (
        SELECT FROM audit_event c
        WHERE c.entity = 'peacetime_use' AND c.entity_id = CAST(u.id AS text)
            AND c.action = 'create' AND c.at > :as_of_at)
), uses_then AS (
    SELECT facility_id,
        sum(total_spaces) FILTER (WHERE type = 'parking') AS parking_spaces,
        sum(ev_spaces) FILTER (WHERE type = 'parking') AS ev_spaces,
        sum(charging_piles) AS charging_piles,
        array_agg(DISTINCT type) AS types
    FROM use_then GROUP BY facility_id
), sign_then AS (
    SELECT g.facility_id, g.kind, count(*) AS installed, max(g.installed_on) AS last_installed
    FROM (
        SELECT g.facility_id, g.kind,
            CASE WHEN s.row_id IS NOT NULL THEN s.old
                 -- found damaged at its last inspection, with no recorded change: it
                 -- stood undamaged before that day
                 WHEN g.status = 'damaged' AND g.inspected_on > :as_of_day THEN 'installed'
                 ELSE g.status END AS status,
            CASE WHEN i.row_id IS NULL THEN g.installed_on ELSE i.old END AS installed_on
        FROM sign g
        LEFT JOIN {_first_old("sign", "status", "varchar")} s ON s.row_id = g.id
        LEFT JOIN {_first_old("sign", "installed_on", "date")} i ON i.row_id = g.id
    ) g
    WHERE g.status = 'installed' AND g.installed_on <= :as_of_day
    GROUP BY g.facility_id, g.kind
), signage_then AS (
    -- The signage rule of facility_figure (app/db/sql/functions/stats_refresh.sql): the
    -- most specific locality with rules, parking rules for car parks, installed signs.
    SELECT f.id,
        coalesce(bool_and(coalesce(h.installed, 0) >= r.min_count), true) AS complete
    FROM facility_existing f
    LEFT JOIN uses_then u ON u.facility_id = f.id
    LEFT JOIN signage_rule r ON r.admin_code = coalesce(CAST(:rule_locality AS varchar), (
            SELECT x.admin_code FROM signage_rule x
            WHERE x.admin_code IN (f.district_code, f.city_code, f.province_code)
            ORDER BY x.admin_code = f.district_code DESC, x.admin_code = f.city_code DESC
            LIMIT 1))
        AND (r.applies_to = 'all' OR (r.applies_to = 'parking'
             AND (f.peacetime_parking_spaces IS NOT NULL OR 'parking' = ANY(u.types))))
    LEFT JOIN sign_then h ON h.facility_id = f.id AND h.kind = r.kind
    GROUP BY f.id
), reports_then AS (
    SELECT facility_id, count(*) AS open_reports FROM problem_report
    WHERE created_at <= :as_of_at AND (resolved_at IS NULL OR resolved_at > :as_of_at)
    GROUP BY facility_id
), facility_then AS (
    SELECT f.*, f.id AS facility_id, NOT f.registered AS late,
        coalesce(u.parking_spaces, f.peacetime_parking_spaces, 0) AS parking_spaces,
        coalesce(u.ev_spaces, 0) AS ev_spaces, coalesce(u.charging_piles, 0) AS charging_piles,
        {flags},
        s.complete AS signage_complete, coalesce(r.open_reports, 0) AS open_reports,
        NULL::integer AS open_findings
    FROM facility_existing f
    LEFT JOIN uses_then u ON u.facility_id = f.id
    LEFT JOIN signage_then s ON s.id = f.id
    LEFT JOIN reports_then r ON r.facility_id = f.id
)"""


def relation(alias: str, uses: Iterable[str]) -> str:
    """The works as they stood, as a relation named `alias` with facility_figure's columns."""
    return f"(WITH {ctes(uses)} SELECT * FROM facility_then) AS {alias}"
