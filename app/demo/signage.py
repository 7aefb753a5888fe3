"""Demo signage telling the campaign of DOMAIN.md, with set-based SQL.

Facilities used for parking (design parking spaces recorded) that existed by the
campaign got every required sign between May 2021 and August 2022, on a ramp that
speeds up in 2022; later ones got theirs in their completion year. Other facilities are
signed more patchily: most complete, some missing or planned signs, a few damaged.
Draws hash the facility's place after `after_id` with the seed, so a load is deterministic
and parallel-safe, and draws the same whatever ids a registry had handed out before."""

from sqlalchemy import Connection, text

from app.demo.draws import draw

# One hash per sign, cut into four 8-bit draws: hashing is most of the SELECT's cost.
_SIGN_HASH = "hashtext((f.id - :after_id)::text || r.kind || n::text || :seed)"


def _bits(shift: int) -> str:
    return f"(((h >> {shift}) & 255)::float8 / 256.0)"


_SIGNS = f"""
WITH f AS MATERIALIZED (
    SELECT f.id, f.location, f.completion_year,
        f.peacetime_parking_spaces IS NOT NULL AS parking,
        (SELECT r.admin_code FROM signage_rule r
         WHERE r.admin_code IN (f.district_code, f.city_code, f.province_code)
         ORDER BY r.admin_code = f.district_code DESC, r.admin_code = f.city_code DESC
         LIMIT 1) AS locality,
        {draw("done")} AS done,
        {draw("complete")} AS complete
    FROM facility f
    WHERE f.id > :after_id AND f.deleted_at IS NULL
        AND f.status IN ('in_service', 'suspended')
), planned AS (
    SELECT f.id, f.location, r.kind, n, f.parking, f.complete,
        CASE
            -- the campaign: 487 days from 2021-05-01 to 2022-08-31, a ramp (sqrt) so
            -- that more facilities finish late, as campaigns do
            WHEN f.parking AND coalesce(f.completion_year, 2000) <= 2021
                THEN DATE '2021-05-01' + floor(sqrt(f.done) * 487)::int
            WHEN f.parking
                THEN least(current_date - 1,
                    make_date(f.completion_year, 1, 1) + floor(f.done * 364)::int)
            ELSE DATE '2017-01-01' + floor(f.done * (current_date - DATE '2017-01-01'))::int
        END AS finished_on,
        {_SIGN_HASH} AS h
    FROM f
    JOIN signage_rule r ON r.admin_code = f.locality
        AND (r.applies_to = 'all' OR (r.applies_to = 'parking' AND f.parking))
    CROSS JOIN LATERAL generate_series(1, r.min_count) AS n
), drawn AS (
    SELECT *, {_bits(0)} AS lead, {_bits(8)} AS state, {_bits(16)} AS dx, {_bits(24)} AS dy
    FROM planned
), shaped AS (
    SELECT *,
        CASE
            WHEN NOT parking AND complete >= 0.7 AND state < 0.5 THEN 'missing'
            WHEN NOT parking AND complete >= 0.7 AND state < 0.7 THEN 'planned'
            WHEN state > 0.985 THEN 'damaged'
            ELSE 'installed'
        END AS status,
        -- signs went up over the weeks before the facility's last one
        greatest(
            CASE WHEN parking THEN DATE '2021-05-01' ELSE DATE '2017-01-01' END,
            finished_on - floor(lead * 45)::int
        ) AS put_up
    FROM drawn
)
INSERT INTO sign (facility_id, kind, status, location, installed_on, inspected_on, description)
SELECT id, kind, status,
    ST_Translate(location, (dx - 0.5) * 0.001, (dy - 0.5) * 0.001),
    CASE WHEN status IN ('installed', 'damaged') THEN put_up END,
    CASE WHEN status IN ('installed', 'damaged')
        THEN least(current_date, put_up + floor(dy * 700)::int) END,
    CASE WHEN status = 'damaged' THEN '面板破损，待更换' END
FROM shaped
"""


def load(connection: Connection, *, seed: int, after_id: int = 0) -> int:
    """Signs for the facilities with id > after_id; returns how many were written."""
    result = connection.execute(text(_SIGNS), {"seed": str(seed), "after_id": after_id})
    return result.rowcount
