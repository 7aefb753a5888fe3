"""The floor of a nearby answer under the API's own HTTP server and database driver:
uvicorn (as `rf serve` runs it) in one process and one held connection, sending the
search's statement as the API does (app/nearby/repository.py: through libpq itself, one
row of bytes, db.session.one_row) for the point in the query string, and sending its
items back as they come, their open_now left unwritten (five spaces where the value
belongs: not JSON until written, which nothing here reads). No routing, no validation,
no gate, no pool, no open_now, no envelope: what is left of an answer's CPU when the
API's own Python is taken away (scripts/bench_nearby).

    .venv/bin/python scripts/bench/nearby_floor.py PORT      (DATABASE_URL: the database)
"""

import sys
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import psycopg
import uvicorn

from app.config import Settings
from app.db.session import READ_OPTIONS, one_row
from app.nearby import repository

settings = Settings()
connection = psycopg.connect(
    settings.database_url.replace("postgresql+psycopg:", "postgresql:", 1),
    autocommit=True,
    client_encoding="UTF8",
    options=READ_OPTIONS,
)
STATEMENT = repository._statement((), True)
FIXED = {"radius": 3000.0, "use_type": "parking", "position": 1, "stale_after_s": 900}
FIXED |= {"min_free": None, "vehicle_height": None, "limit": 65, "offset": 0, "keep": 50}
FIXED |= {"amap_mode": "car", "tencent_mode": "drive", "baidu_mode": "driving"}
FIXED |= {"source": settings.app_source}
HEADERS = [(b"content-type", b"application/json")]


def body(query: bytes) -> bytes:
    point = dict(parse_qsl(query.decode()))
    now = datetime.now(UTC)
    params = {**FIXED, "lon": float(point["lon"]), "lat": float(point["lat"])}
    _, _, _, items, _, _ = one_row(connection, STATEMENT, params | {"now": now, "day": now.date()})
    return b'{"items":[' + (items or b"") + b"]}"


async def app(scope, receive, send):
    answer = body(scope["query_string"])
    length = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS + length})
    await send({"type": "http.response.body", "body": answer})


if __name__ == "__main__":
    # one process whatever WEB_CONCURRENCY says: CPU per answer is what is compared
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=1,
        lifespan="off",
        access_log=False,
        server_header=False,
    )
