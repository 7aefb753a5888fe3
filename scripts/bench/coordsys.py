"""What answering in GCJ-02 or BD-09 costs PostgreSQL beside WGS 84, in the same run: the
statements behind a facility list page, an export and vector tiles, each run in turn in
the three systems (interleaved, so the machine's changing pace hits all alike). Prints
milliseconds per statement (median of the rounds) and the ratio to WGS 84."""

import os
import statistics
import sys
import time

import morecantile
from sqlalchemy import create_engine, func, select, true
from sqlalchemy.orm import Session

from app.core.geo import CoordSys, Positions
from app.divisions.models import DivisionLevel
from app.exports import repository as exports
from app.facilities import repository as facilities
from app.facilities.models import Facility
from app.facilities.repository import FacilityFilter
from app.ogc.tiles import repository as tiles
from app.ogc.tiles.layers import LAYERS

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
HEFEI = (117.2272, 31.8206)
WMQ = morecantile.tms.get("WebMercatorQuad")
SYSTEMS = (CoordSys.wgs84, CoordSys.gcj02, CoordSys.bd09)


def cases(session: Session):
    def page(coordsys):
        return facilities.list_documents(
            session,
            FacilityFilter(),
            facilities.Reader(true(), positions=Positions(coordsys)),
            after_id=None,
            limit=1000,
            as_feature=True,
        )

    def export(coordsys):
        where = FacilityFilter(admin_code="340100", admin_level=DivisionLevel.city)
        return sum(
            len(c)
            for c in exports.export_features(session.connection(), where, 5000, Positions(coordsys))
        )

    def tile(z, layer="facilities"):
        t = WMQ.tile(*HEFEI, z)

        def render(coordsys):
            # a tile set's system other than WGS 84 and GCJ-02 is not served: BD-09 as GCJ-02
            system = CoordSys.gcj02 if coordsys == CoordSys.bd09 else coordsys
            return tiles.render(
                session, LAYERS[layer], z, t.x, t.y, system, shelter_stale_after_s=600
            )

        return render

    return {
        "list page, 1000 GeoJSON features": page,
        "export, Hefei's facilities (GeoJSON)": export,
        "tile z12 (clusters)": tile(12),
        "tile z15 (features)": tile(15),
        "divisions tile z3 (outlines)": tile(3, "divisions"),
        "divisions tile z7 (outlines)": tile(7, "divisions"),
    }


def main() -> None:
    url = os.environ["DATABASE_URL"].replace("postgresql:", "postgresql+psycopg:", 1)
    engine = create_engine(url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Facility))
        print(f"{count} facilities, {ROUNDS} rounds")
        for name, run in cases(session).items():
            times = {system: [] for system in SYSTEMS}
            for system in SYSTEMS:
                run(system)  # warm
            for _ in range(ROUNDS):
                for system in SYSTEMS:
                    started = time.perf_counter()
                    run(system)
                    times[system].append(time.perf_counter() - started)
            base = statistics.median(times[CoordSys.wgs84])
            cells = [
                f"{system.value} {statistics.median(t) * 1000:.1f} ms ({statistics.median(t) / base:.2f})"
                for system, t in times.items()
            ]
            print(f"{name}: " + ", ".join(cells))


main()
