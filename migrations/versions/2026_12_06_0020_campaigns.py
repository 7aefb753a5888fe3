"""Campaigns: a signage (or later another) campaign as data, evaluated on request.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "signage", name="campaignkind", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("admin_codes", sa.ARRAY(sa.String(length=6)), nullable=False),
        sa.Column("parking_only", sa.Boolean(), nullable=False),
        sa.Column("rule_locality", sa.String(length=6), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.CheckConstraint("target_on > starts_on", name=op.f("ck_campaign_dates_ordered")),
        sa.CheckConstraint(
            "cardinality(admin_codes) BETWEEN 1 AND 50", name=op.f("ck_campaign_scope_size")
        ),
        sa.ForeignKeyConstraint(
            ["rule_locality"], ["division.code"], name=op.f("fk_campaign_rule_locality_division")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("name", name=op.f("uq_campaign_name")),
    )


def downgrade() -> None:
    op.drop_table("campaign")
