"""pgbench scripts for scripts/bench_cells: the statement of a cluster tile of one layer,
from the cell pyramid or from the rows, at tiles drawn by pgbench within 0.3 degrees of
Anhui's 16 city centres (those of scripts/bench/ogc.lua).

    python scripts/bench/cells.py LAYER ZOOM pyramid|rows DIRECTORY
"""

import math
import re
import sys
from pathlib import Path

from sqlalchemy.dialects import postgresql

from app.core.geo import CoordSys
from app.ogc.tiles import repository
from app.ogc.tiles.layers import LAYERS

layer_id, zoom, source, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
lua = Path("scripts/bench/ogc.lua").read_text()
centres = [tuple(map(float, m)) for m in re.findall(r"\{(1[0-9.]+), ([0-9.]+)\}", lua)]
# the tile's numbers as pgbench draws them
DRAWN = {
    "x": ":x",
    "y": ":y",
    "first_column": "(:x * 64 - 1)",
    "last_column": "(:x * 64 + 64)",
    "first_row": "(:y * 64 - 1)",
    "last_row": "(:y * 64 + 64)",
}


def tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    phi = math.radians(lat)
    row = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * 2**z
    return int((lon + 180) / 360 * 2**z), int(row)


def literal(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


layer = LAYERS[layer_id]
rows = (repository._cells if source == "pyramid" else repository._clusters)(layer, CoordSys.wgs84)
statement = repository.mvt_statement(layer, rows, True)
compiled = statement.compile(dialect=postgresql.psycopg.dialect())
for i, (lon, lat) in enumerate(centres):
    x0, y0 = tile(lon - 0.3, lat + 0.3, zoom)
    x1, y1 = tile(lon + 0.3, lat - 0.3, zoom)
    values = {**compiled.params, **repository.tile_params(zoom, x0, y0, True)}
    params = {name: DRAWN.get(name, literal(value)) for name, value in values.items()}
    body = re.sub(r"%\((\w+)\)s", lambda m, p=params: p[m.group(1)], str(compiled))
    script = f"\\set x random({x0}, {x1})\n\\set y random({y0}, {y1})\n{body};\n"
    (out / f"{i}.sql").write_text(script)
