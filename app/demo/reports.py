"""Demo public problem reports, with set-based SQL: about one facility in two hundred
has one, half of them "locked" (the commonest real complaint), in every state."""

from sqlalchemy import Connection, text

from app.demo.draws import draw

_REPORTS = f"""
WITH drawn AS (
    SELECT f.id, {draw("kind")} AS k, {draw("state")} AS s,
        {draw("age")} AS a
    FROM facility f
    WHERE f.id > :after_id AND f.deleted_at IS NULL AND {draw("has")} < 0.005
), shaped AS (
    SELECT id, now() - make_interval(hours => floor(a * 24 * 90)::int) AS created,
        CASE WHEN k < 0.5 THEN 'locked' WHEN k < 0.6 THEN 'closed'
             WHEN k < 0.72 THEN 'missing_sign' WHEN k < 0.8 THEN 'damaged_sign'
             WHEN k < 0.88 THEN 'wrong_location' WHEN k < 0.97 THEN 'bad_condition'
             ELSE 'other' END AS kind,
        CASE WHEN s < 0.3 THEN 'open' WHEN s < 0.5 THEN 'acknowledged' ELSE 'resolved' END
            AS status
    FROM drawn
)
INSERT INTO problem_report (facility_id, kind, description, status, created_at, updated_at,
    acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution_note)
SELECT id, kind,
    CASE kind WHEN 'locked' THEN '开放时间内入口上锁，无法进入'
              WHEN 'missing_sign' THEN '入口处找不到人防标识'
              ELSE '现场情况与登记信息不符' END,
    status, created, created,
    CASE WHEN status <> 'open' THEN created + interval '4 hours' END,
    CASE WHEN status <> 'open' THEN 'demo' END,
    CASE WHEN status = 'resolved' THEN created + interval '2 days' END,
    CASE WHEN status = 'resolved' THEN 'demo' END,
    CASE WHEN status = 'resolved' THEN '已联系管理单位处理' END
FROM shaped
"""


def load(connection: Connection, *, seed: int, after_id: int = 0) -> int:
    result = connection.execute(text(_REPORTS), {"seed": str(seed), "after_id": after_id})
    return result.rowcount
