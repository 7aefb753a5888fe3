"""API keys: the `app` role (city-app backends, public data only) and a quota per key.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES = ("admin", "manager", "operator", "gis")


def _roles(roles: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_api_key_role"), "api_key", type_="check")
    listed = ", ".join(f"'{role}'" for role in roles)
    op.create_check_constraint("role", "api_key", f"role IN ({listed})")


def upgrade() -> None:
    _roles((*_ROLES, "app"))
    op.add_column("api_key", sa.Column("rate_per_minute", sa.Integer(), nullable=True))
    op.create_check_constraint(
        "rate_per_minute_range", "api_key", "rate_per_minute BETWEEN 1 AND 1000000"
    )


def downgrade() -> None:
    op.execute("UPDATE api_key SET revoked_at = now() WHERE role = 'app' AND revoked_at IS NULL")
    op.execute("UPDATE api_key SET role = 'gis' WHERE role = 'app'")
    op.drop_column("api_key", "rate_per_minute")
    _roles(_ROLES)
