"""Campaigns of every kind: maintenance and conversion drills besides signage, each with
its rule set (campaign.rules, read by app/campaigns/schemas.py).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kinds(kinds: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_campaign_campaignkind"), "campaign", type_="check")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint("campaignkind", "campaign", f"kind IN ({listed})")


def upgrade() -> None:
    _kinds(("signage", "maintenance", "conversion_drill"))
    op.add_column(
        "campaign",
        sa.Column(
            "rules",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.execute("DELETE FROM campaign WHERE kind <> 'signage'")
    op.drop_column("campaign", "rules")
    _kinds(("signage",))
