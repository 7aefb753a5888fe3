"""Demo maintenance records, with set-based SQL.

One facility in ten have a routine inspection on record, done up to
eight months ago and covering the whole catalogue, so monthly and quarterly items come
out overdue; about one check in a hundred found a serious defect, and half of those have
since been closed by a repair record. Draws hash the facility id with the seed."""

from sqlalchemy import Connection, text

from app.demo.draws import draw

_INSPECTIONS = f"""
INSERT INTO maintenance_record (facility_id, kind, performed_on, performed_by, note, recorded_by)
SELECT f.id, 'inspection', current_date - 1 - floor({draw("when")} * 240)::int,
    '物业维护班组', '季度例行维护检查', 'demo'
FROM facility f
WHERE f.id > :after_id AND f.deleted_at IS NULL AND f.status IN ('in_service', 'suspended')
    AND {draw("has")} < 0.1
"""

_CHECKS = """
INSERT INTO maintenance_check (record_id, item_code, result, severity, finding)
SELECT r.id, i.code,
    CASE WHEN d.x < 0.01 THEN 'defect' WHEN d.x < 0.06 THEN 'defect' ELSE 'ok' END,
    CASE WHEN d.x < 0.01 THEN 'serious' WHEN d.x < 0.06 THEN 'minor' ELSE 'none' END,
    CASE WHEN d.x < 0.01 THEN '严重缺陷：' || i.name_zh || '无法正常工作'
         WHEN d.x < 0.06 THEN '一般缺陷：' || i.name_zh || '需保养' END
FROM maintenance_record r
CROSS JOIN maintenance_item i
CROSS JOIN LATERAL (
    SELECT (hashtext(r.id::text || i.code || :seed) & 2147483647)::float8 / 2147483648.0 AS x
) d
WHERE r.facility_id > :after_id AND r.recorded_by = 'demo' AND r.kind = 'inspection'
"""

# Repairs close half of the serious findings, a few weeks after the inspection.
_REPAIRS = """
WITH serious AS (
    SELECT c.id AS check_id, c.item_code, r.facility_id, r.performed_on
    FROM maintenance_check c JOIN maintenance_record r ON r.id = c.record_id
    WHERE r.facility_id > :after_id AND r.recorded_by = 'demo' AND c.severity = 'serious'
        AND (hashtext(c.id::text || :seed || 'fixed') & 1) = 0
), repairs AS (
    INSERT INTO maintenance_record (facility_id, kind, performed_on, performed_by, note,
        recorded_by)
    SELECT facility_id, 'repair', least(current_date - 1, performed_on + 21), '设备维修单位',
        '修复严重缺陷 #' || check_id, 'demo'
    FROM serious
    RETURNING id, note
)
INSERT INTO maintenance_check (record_id, item_code, result, severity, finding, closes_id)
SELECT repairs.id, serious.item_code, 'ok', 'none', '已修复', serious.check_id
FROM repairs JOIN serious ON repairs.note = '修复严重缺陷 #' || serious.check_id
"""


def load(connection: Connection, *, seed: int, after_id: int = 0) -> int:
    """Records for the facilities with id > after_id; returns how many were written."""
    params = {"seed": str(seed), "after_id": after_id}
    written = connection.execute(text(_INSPECTIONS), params).rowcount
    connection.execute(text(_CHECKS), params)
    written += connection.execute(text(_REPAIRS), params).rowcount
    return written
