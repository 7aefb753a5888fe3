"""SQL for alerts. Areas are built by PostGIS: circles on the ellipsoid (geography
buffers), division codes from their stored boundaries."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.alerts import cap
from app.alerts.models import Alert, AlertInfo
from app.alerts.rules import IN_FORCE
from app.alerts.schemas import InfoFields

CHANNEL = "rf_alerts"
# The columns of alert_info that a parsed info block fills as it is, and answers show.
INFO_COLUMNS = tuple(InfoFields.model_fields)

AREA = """
INSERT INTO alert_area (info_id, alert_id, description, admin_codes, geom)
SELECT :info_id, :alert_id, :description, CAST(:codes AS varchar[]), geom
FROM (
    SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(part)), 3)) AS geom
    FROM (
        SELECT ST_GeomFromText(wkt, 4326) AS part FROM unnest(CAST(:polygons AS text[])) AS wkt
        UNION ALL
        SELECT ST_Buffer(ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326)::geography, c.metres,
                         'quad_segs=16')::geometry
        FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]), CAST(:radii AS float8[]))
            AS c(lon, lat, metres)
        UNION ALL
        SELECT boundary FROM division WHERE code = ANY(CAST(:codes AS varchar[]))
    ) AS parts
) AS area
-- Shapes of no extent (a polygon whose points coincide) insert nothing.
WHERE NOT ST_IsEmpty(geom)
RETURNING id
"""


def get(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def by_identifier(session: Session, sender: str, identifier: str) -> Alert | None:
    return session.scalar(
        select(Alert).where(Alert.sender == sender, Alert.identifier == identifier)
    )


def divisions_without_boundary(session: Session, codes: list[str]) -> list[str]:
    """The codes among `codes` that name no division with a boundary to place an area by."""
    rows = session.execute(
        text("SELECT code FROM division WHERE code = ANY(:codes) AND boundary IS NOT NULL"),
        {"codes": codes},
    )
    return sorted(set(codes) - {row.code for row in rows})


def add_area(session: Session, *, info_id: int, alert_id: int, area: cap.Area) -> bool:
    """Stores the area; False when its shapes make no area (a polygon of no extent), and
    then stores nothing."""
    row = session.execute(
        text(AREA),
        {
            "info_id": info_id,
            "alert_id": alert_id,
            "description": area.description,
            "codes": area.admin_codes,
            "polygons": area.polygons,
            "lons": [c[0] for c in area.circles],
            "lats": [c[1] for c in area.circles],
            "radii": [c[2] for c in area.circles],
        },
    ).one_or_none()
    return row is not None


def end(session: Session, ids: list[int], *, by: int, at: datetime) -> list[int]:
    """Ends the messages `ids` at `at` (ahead, or now) unless they end sooner; returns
    those. A later message ending one sooner takes its end over."""
    rows = session.execute(
        text(
            "UPDATE alert SET ended_at = :at, ended_by = :by "
            "WHERE id = ANY(:ids) AND (ended_at IS NULL OR ended_at > :at) RETURNING id"
        ),
        {"ids": ids, "by": by, "at": at},
    )
    return sorted(row.id for row in rows)


def notify(session: Session, payload: dict[str, Any]) -> None:
    """Sent on commit, to every process that listens (alerts.stream); never on rollback."""
    session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": json.dumps(payload, ensure_ascii=False)},
    )


def in_force(
    session: Session, *, now: datetime, lon: float | None = None, lat: float | None = None
) -> list[int]:
    """Ids of the alerts in force at `now`, over the point when one is given."""
    where = IN_FORCE
    if lon is not None:
        where += (
            " AND EXISTS (SELECT FROM alert_area r WHERE r.alert_id = a.id AND "
            "ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)))"
        )
    rows = session.execute(
        text(f"SELECT a.id FROM alert a WHERE {where} ORDER BY a.sent DESC, a.id DESC LIMIT 500"),
        {"now": now, "lon": lon, "lat": lat},
    )
    return [row.id for row in rows]


# The moments ahead at which what is in force changes by time alone: a message taking
# effect (an Update or a Cancel then ends what it references), or one in force expiring.
# A message ended or expired before its moment never sees it: neither is told.
NEXT_CHANGES = """
SELECT id, change, at FROM (
    SELECT a.id, 'effective' AS change, a.effective_at AS at FROM alert a
    WHERE a.effective_at > :now
      AND (a.ended_at IS NULL OR a.ended_at > a.effective_at)
      AND (a.expires_at IS NULL OR a.expires_at > a.effective_at)
    UNION ALL
    SELECT a.id, 'expired', a.expires_at FROM alert a
    WHERE a.msg_type <> 'Cancel' AND a.expires_at > :now AND a.expires_at > a.effective_at
      AND (a.ended_at IS NULL OR a.ended_at > a.expires_at)
) AS coming
ORDER BY at, id
LIMIT 100
"""


def next_changes(session: Session, *, now: datetime) -> list[Any]:
    """(id, change, at) of the messages taking effect or expiring after `now`, soonest
    first."""
    return list(session.execute(text(NEXT_CHANGES), {"now": now}))


def ended_by(session: Session, ids: list[int]) -> dict[int, list[int]]:
    """The messages each of `ids` ends (or ended), by its id."""
    found: dict[int, list[int]] = {i: [] for i in ids}
    rows = session.execute(
        text("SELECT id, ended_by FROM alert WHERE ended_by = ANY(:ids) ORDER BY id"),
        {"ids": ids},
    )
    for row in rows:
        found[row.ended_by].append(row.id)
    return found


def in_force_among(session: Session, ids: list[int], *, now: datetime) -> set[int]:
    """Those of `ids` in force at `now`."""
    rows = session.execute(
        text(f"SELECT a.id FROM alert a WHERE a.id = ANY(:ids) AND {IN_FORCE}"),
        {"ids": ids, "now": now},
    )
    return {row.id for row in rows}


def documents(session: Session, ids: list[int]) -> list[Alert]:
    if not ids:
        return []
    alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(ids)))}
    return [alerts[i] for i in ids if i in alerts]


def infos(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The info blocks of alerts `ids` with their areas (GeoJSON), by alert id."""
    if not ids:
        return {}
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    info_rows = session.scalars(
        select(AlertInfo).where(AlertInfo.alert_id.in_(ids)).order_by(AlertInfo.position)
    ).all()
    areas: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(
        text(
            "SELECT info_id, description, admin_codes, ST_AsGeoJSON(geom, 6)::json AS geometry "
            "FROM alert_area WHERE alert_id = ANY(:ids) ORDER BY id"
        ),
        {"ids": ids},
    ).mappings():
        areas.setdefault(row["info_id"], []).append(
            {
                "description": row["description"],
                "admin_codes": list(row["admin_codes"]),
                "geometry": row["geometry"],
            }
        )
    for info in info_rows:
        found[info.alert_id].append(
            {
                **{name: getattr(info, name) for name in INFO_COLUMNS},
                "areas": areas.get(info.id, []),
            }
        )
    return found


def covering(session: Session, *, lon: float, lat: float, now: datetime) -> list[dict[str, Any]]:
    """Short summaries of the alerts in force over a WGS 84 point, for answers that change
    with them (nearby search, shelter finder); one indexed query."""
    sql = f"""
SELECT a.id, a.identifier, a.sender, a.sent, a.status, a.msg_type, a.air_raid,
       a.open_restricted, a.expires_at,
       (SELECT array_agg(DISTINCT i.event) FROM alert_info i WHERE i.alert_id = a.id) AS events,
       (SELECT i.headline FROM alert_info i WHERE i.alert_id = a.id
        ORDER BY i.position LIMIT 1) AS headline
FROM alert a
WHERE {IN_FORCE} AND a.id IN (
    SELECT r.alert_id FROM alert_area r
    WHERE ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)))
ORDER BY a.sent DESC, a.id DESC
LIMIT 20
"""
    rows = session.execute(text(sql), {"lon": lon, "lat": lat, "now": now}).mappings()
    return [dict(row) for row in rows]
