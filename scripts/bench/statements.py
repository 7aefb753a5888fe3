"""The slowest legitimate requests of each kind beside their statement bounds (docs/
operations.md, Time bounds): the densest tiles of every layer, a GCJ-02 divisions tile, an
items page filtered on an unindexed column, nearby searches over the largest radius (with
open_now: batch after batch), the facility list's text search and the statistics. Runs
the app in this process on read-only connections, without its lifespan (which writes)."""

import math
import statistics
import sys
import time
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.replicas import Reads
from app.db.session import make_read_engine, make_sessionmaker
from app.main import create_app

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
READ_ONLY = {"options": "-c default_transaction_read_only=on -c jit=off"}
# The z15 tile holding the most facilities, from a 5 % sample.
DENSEST = """
WITH t AS (
  SELECT floor((ST_X(location) + 180) / 360 * 32768)::int AS x,
         floor((1 - ln(tan(radians(ST_Y(location))) + 1 / cos(radians(ST_Y(location)))) / pi())
               / 2 * 32768)::int AS y
  FROM facility TABLESAMPLE SYSTEM (5))
SELECT x, y FROM t GROUP BY x, y ORDER BY count(*) DESC LIMIT 1
"""


def main() -> None:
    settings = Settings(tile_cache_bytes=0, read_pool_timeout_s=600)
    engine = create_engine(settings.sqlalchemy_url, connect_args=READ_ONLY)
    with engine.connect() as connection:
        x, y = connection.execute(text(DENSEST)).one()
    lon = x / 32768 * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 32768))))
    app = create_app(settings)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    reads = make_read_engine(settings)
    app.state.reads = Reads(make_sessionmaker(reads))
    client = TestClient(app)
    layers = ("facilities", "shelters", "parking", "entrances", "signage")
    hot = [f"/ogc/collections/{layer}/tiles/WebMercatorQuad/15/{x}/{y}" for layer in layers]
    near = f"lon={lon:.4f}&lat={lat:.4f}&radius=50000&limit=50"
    hot += [
        "/ogc/collections/divisions/tiles/WebMercatorQuadGCJ02/6/52/26",
        "/ogc/collections/facilities/items?limit=1000",
        "/ogc/collections/facilities/items?limit=1000&filter=" + quote("name LIKE '%XYZ%'"),
        f"/v1/uses/nearby?type=cool_spot&{near}&open_now=true",
        f"/v1/parking/nearby?{near}&open_now=true",
        f"/v1/shelters/nearby?{near}",
    ]
    primary = ["/v1/facilities?limit=200&q=XYZ", "/v1/stats"]
    print(f"densest z15 tile {x}/{y}; {ROUNDS} rounds; bounds: hot reads "
          f"{settings.read_statement_timeout_s:g} s, requests {settings.statement_timeout_s:g} s")  # fmt: skip
    print(f"{'slowest ms':>10} {'median ms':>9} {'status':>6} {'of bound':>8}  request")
    for paths, bound in ((hot, settings.read_statement_timeout_s), (primary, settings.statement_timeout_s)):  # fmt: skip
        for path in paths:
            times, statuses = [], set()
            for _ in range(ROUNDS):
                start = time.perf_counter()
                statuses.add(client.get(path).status_code)
                times.append(time.perf_counter() - start)
            share = max(times) / bound
            status = ",".join(map(str, sorted(statuses)))
            print(f"{max(times) * 1000:10.0f} {statistics.median(times) * 1000:9.0f} "
                  f"{status:>6} {share:8.0%}  {path}")  # fmt: skip
    reads.dispose()
    engine.dispose()


if __name__ == "__main__":
    main()
