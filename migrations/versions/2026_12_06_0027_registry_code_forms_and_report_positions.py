"""Local registry code forms per division (肥人防2019-012 in Hefei), valid there besides
the national form: see app.code_forms and facilities.rules.REGISTRY_CODE. And the position
a problem report points at (problem_report.location).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 19:30:00.000000
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_code_form",
        sa.Column("admin_code", sa.String(length=6), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "length(pattern) BETWEEN 3 AND 200", name=op.f("ck_registry_code_form_pattern_length")
        ),
        sa.CheckConstraint("example ~ pattern", name=op.f("ck_registry_code_form_example_matches")),
        sa.ForeignKeyConstraint(
            ["admin_code"],
            ["division.code"],
            name=op.f("fk_registry_code_form_admin_code_division"),
        ),
        sa.PrimaryKeyConstraint("admin_code", name=op.f("pk_registry_code_form")),
    )

    op.add_column(
        "problem_report",
        sa.Column(
            "location",
            geoalchemy2.types.Geometry(
                geometry_type="POINT", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT"
            ),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("problem_report", "location")
    op.drop_table("registry_code_form")
