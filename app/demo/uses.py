"""Demo peacetime uses for the demo facilities, written with set-based SQL.

Every facility in service that records design parking spaces gets a car park of that size, so the
province's totals (710,000 spaces, 55,300 from 2023 completions) carry over from the
facilities. About a third of car parks have charging piles; most report live occupancy,
some of it stale. A few percent of facilities host another use. Choices are drawn from a
hash of the facility id, so the same facilities always get the same uses."""

from sqlalchemy import Connection, text

from app.demo.draws import draw

_PARKING = f"""
WITH drawn AS (
    SELECT f.id, f.peacetime_parking_spaces AS total, f.completion_year,
           {draw("ev", seeded=False)} AS ev,
           {draw("hours", seeded=False)} AS hours,
           {draw("live", seeded=False)} AS live,
           {draw("free", seeded=False)} AS free,
           {draw("height", seeded=False)} AS height
    FROM facility f
    WHERE f.peacetime_parking_spaces IS NOT NULL AND f.status = 'in_service' AND f.id > :after_id
      AND NOT EXISTS (SELECT FROM peacetime_use u WHERE u.facility_id = f.id AND u.type = 'parking')
), shaped AS (
    SELECT *,
           CASE WHEN ev < 0.35 THEN greatest(1, round(total * (0.05 + ev * 0.4)))::int ELSE 0 END AS piles
    FROM drawn
)
INSERT INTO peacetime_use (facility_id, type, name, opening_hours, contact_phone, fee, attributes,
                           realtime_free_spaces, realtime_free_charging_piles,
                           realtime_opening_status, realtime_observed_at)
SELECT id, 'parking', NULL,
       CASE WHEN hours < 0.6 THEN '24/7'
            WHEN hours < 0.85 THEN 'Mo-Su 06:00-23:00'
            ELSE 'Mo-Fr 07:00-22:00; Sa,Su,PH 08:00-21:00' END,
       '0551-' || lpad((6000000 + id % 999999)::text, 7, '0'),
       CASE WHEN hours < 0.3 THEN '首小时免费，之后每小时2元，24小时封顶20元'
            ELSE '首小时5元，之后每小时2元，24小时封顶30元' END,
       jsonb_build_object(
           'total_spaces', total,
           'accessible_spaces', greatest(1, total / 50),
           'ev_spaces', piles,
           'charging_piles', piles,
           'height_limit_m', round((2.0 + height * 0.5)::numeric, 1),
           'fee_rules', jsonb_build_object('free_minutes', 15, 'per_hour', 2, 'daily_cap', 30)
       ) || CASE WHEN piles > 0
                 THEN jsonb_build_object('charging_max_kw', CASE WHEN ev < 0.1 THEN 120 ELSE 60 END)
                 ELSE '{{}}'::jsonb END,
       CASE WHEN live < 0.7 THEN floor(total * free)::int END,
       CASE WHEN live < 0.7 AND piles > 0 THEN floor(piles * free)::int END,
       CASE WHEN live < 0.7 THEN 'OPEN' END,
       CASE WHEN live < 0.7 THEN now() - make_interval(secs => live * 1800) END
FROM shaped
"""

_HISTORY = """
INSERT INTO parking_occupancy (facility_id, observed_at, free_spaces, free_charging_piles, opening_status)
SELECT facility_id, realtime_observed_at, realtime_free_spaces, realtime_free_charging_piles,
       realtime_opening_status
FROM peacetime_use
WHERE type = 'parking' AND realtime_observed_at IS NOT NULL AND facility_id > :after_id
ON CONFLICT DO NOTHING
"""

_OTHER = f"""
WITH drawn AS (
    SELECT f.id, {draw("use", seeded=False)} AS pick, {draw("size", seeded=False)} AS size
    FROM facility f
    WHERE f.status = 'in_service' AND f.id > :after_id
)
INSERT INTO peacetime_use (facility_id, type, name, opening_hours, fee, attributes)
SELECT id, kind.type, kind.name, kind.hours, kind.fee, kind.attributes
FROM drawn
JOIN LATERAL (
    SELECT * FROM (VALUES
        (0.000, 0.015, 'cool_spot', '人防纳凉点', 'Jun 01-Sep 30 08:00-22:00', '免费',
         jsonb_build_object('season_start', '06-01', 'season_end', '09-30',
                            'seats', 20 + (size * 80)::int, 'air_conditioning', size < 0.5,
                            'drinking_water', true, 'toilets', true)),
        (0.015, 0.025, 'gym', '全民健身中心', 'Mo-Su 06:30-21:30', '月卡80元',
         jsonb_build_object('area_m2', 300 + (size * 900)::int,
                            'activities', jsonb_build_array('羽毛球', '乒乓球', '健身器械'))),
        (0.025, 0.040, 'express_delivery', '菜鸟驿站', 'Mo-Su 08:00-21:00', NULL,
         jsonb_build_object('operator', '菜鸟驿站', 'lockers', (size * 60)::int)),
        (0.040, 0.048, 'cultural_room', '社区文化活动室', 'Tu-Su 09:00-17:00; PH off', '免费',
         jsonb_build_object('seats', 30 + (size * 70)::int, 'activities', jsonb_build_array('书画', '棋牌'))),
        (0.048, 0.056, 'convenience_store', '便利店', '24/7', NULL,
         jsonb_build_object('brand', '快乐番薯')),
        (0.056, 0.061, 'food_market', '地下农贸市场', 'Mo-Su 06:00-19:00', NULL,
         jsonb_build_object('stalls', 40 + (size * 120)::int)),
        (0.061, 0.068, 'warehouse', '物资仓储', NULL, NULL,
         jsonb_build_object('area_m2', 500 + (size * 3000)::int)),
        (0.068, 0.078, 'ev_charging', '充电站', '24/7', '电费+服务费0.8元/度',
         jsonb_build_object('charging_piles', 4 + (size * 16)::int, 'charging_max_kw', 120,
                            'fast_piles', 2 + (size * 6)::int, 'operator', '特来电'))
    ) AS k(low, high, type, name, hours, fee, attributes)
    WHERE drawn.pick >= k.low AND drawn.pick < k.high
) AS kind ON true
"""


def load(connection: Connection, *, after_id: int = 0) -> int:
    """Uses for the facilities with id > after_id; returns how many were written."""
    params = {"after_id": after_id}
    written = connection.execute(text(_PARKING), params).rowcount
    connection.execute(text(_HISTORY), params)
    written += connection.execute(text(_OTHER), params).rowcount
    # The search rows in space order (migration 0011); nobody searches a registry yet
    # while its demo data loads.
    connection.execute(text("CLUSTER use_search"))
    return written
