"""Each population point keeps its distance to the nearest personnel shelter in service,
of any visibility and of the public ones, so that coverage at any radius is a comparison
instead of a radius search per point (docs/planning.md#shelter-coverage).

- population_feature.shelter_m, .public_shelter_m: written by the row trigger
  population_reach (shelter_distance) and kept by the statement triggers
  population_reach_{insert,update,delete} on facility.
- population_feature.point: whether the feature is a point, for coverage's two branches.
- ix_population_feature_point_geography: the points a changed shelter may be nearest to;
  ix_population_feature_area_layer_id: a layer's areas.
- ix_facility_shelter_division: the shelters' capacity and area per division, index only.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.sql import apply_frozen

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    "functions/shelter_distance",
    "functions/population_reach_on_feature",
    "functions/population_reach_on_facility",
)
SHELTER = "wartime_function = 'personnel_shelter' AND status = 'in_service' AND deleted_at IS NULL"
TRIGGERS = (
    "triggers/population_feature/population_reach",
    "triggers/facility/population_reach_insert",
    "triggers/facility/population_reach_update",
    "triggers/facility/population_reach_delete",
)


def upgrade() -> None:
    op.add_column(
        "population_feature",
        sa.Column(
            "point", sa.Boolean(), sa.Computed("GeometryType(geom) = 'POINT'", persisted=True)
        ),
    )
    op.add_column("population_feature", sa.Column("shelter_m", sa.Double(), nullable=True))
    op.add_column("population_feature", sa.Column("public_shelter_m", sa.Double(), nullable=True))
    op.create_index(
        "ix_population_feature_point_geography",
        "population_feature",
        [sa.text("(geom::geography)")],
        postgresql_using="gist",
        postgresql_where=sa.text("point"),
    )
    op.create_index(
        "ix_population_feature_area_layer_id",
        "population_feature",
        ["layer_id"],
        postgresql_where=sa.text("point IS NOT TRUE"),
    )
    op.create_index(
        "ix_facility_shelter_division",
        "facility",
        ["district_code", "city_code", "province_code"],
        postgresql_include=["capacity_persons", "shelter_area", "visibility", "id"],
        postgresql_where=sa.text(SHELTER),
    )
    apply_frozen("0029", *FUNCTIONS, *TRIGGERS)
    # The points already uploaded: the row trigger computes them.
    op.execute("UPDATE population_feature SET geom = geom WHERE point")


def downgrade() -> None:
    for name in TRIGGERS:
        table, trigger = name.split("/")[1:]
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {name.split('/')[1]}")
    op.drop_index("ix_facility_shelter_division", table_name="facility")
    op.drop_index("ix_population_feature_area_layer_id", table_name="population_feature")
    op.drop_index("ix_population_feature_point_geography", table_name="population_feature")
    op.drop_column("population_feature", "public_shelter_m")
    op.drop_column("population_feature", "shelter_m")
    op.drop_column("population_feature", "point")
