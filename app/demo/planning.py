"""A demo population layer: Hefei's urban residents as residential blocks (points), drawn
around the same built-up clusters as the demo facilities (app/demo/places.py), so coverage and
assignment have something to work on."""

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.demo.places import CITIES
from app.planning import repository
from app.planning.models import PopulationLayer
from app.planning.readers import PopulationRow

LAYER_NAME = "演示：合肥市常住人口（居住街坊）"
BLOCKS = 4000
_KM_PER_DEGREE_LAT = 110.574


def load(connection: Connection, *, seed: int) -> int:
    """Writes the layer unless one of its name exists; returns the blocks written."""
    with Session(connection) as session:
        if repository.layer_named(session, LAYER_NAME) is not None:
            return 0
        rows = blocks(seed)
        layer = PopulationLayer(
            name=LAYER_NAME,
            description="演示数据：按合肥市城区人口随机生成的居住街坊",
            source_format="demo",
            features=len(rows),
            residents=sum(row.residents for row in rows),
            created_by="demo",
        )
        session.add(layer)
        session.flush()
        repository.add_features(session, layer.id, rows)
        session.flush()
    return len(rows)


def blocks(seed: int, count: int = BLOCKS) -> list[PopulationRow]:
    """Hefei's urban residents as `count` residential blocks around its clusters."""
    hefei = next(city for city in CITIES if city.code == "340100")
    rng = np.random.default_rng([seed, 7])
    weights = np.array([cluster.weight for cluster in hefei.clusters])
    picked = rng.choice(len(hefei.clusters), count, p=weights / weights.sum())
    # Permanent urban residents, in 10,000s, spread over the blocks unevenly.
    shares = rng.gamma(2.0, 1.0, count)
    residents = np.floor(hefei.urban_population * 10_000 * shares / shares.sum()).astype(int)
    rows = []
    for number, (index, n) in enumerate(zip(picked, residents, strict=True), start=1):
        cluster = hefei.clusters[index]
        # Residents spread wider than the works, which follow the centres.
        north, east = rng.normal(0, cluster.sigma_km * 1.2, 2)
        lat = cluster.lat + north / _KM_PER_DEGREE_LAT
        lon = cluster.lon + east / (_KM_PER_DEGREE_LAT * np.cos(np.radians(cluster.lat)))
        rows.append(
            PopulationRow(
                number,
                int(n),
                cluster.district_code or hefei.code,
                f"SRID=4326;POINT({lon:.6f} {lat:.6f})",
            )
        )
    return rows
