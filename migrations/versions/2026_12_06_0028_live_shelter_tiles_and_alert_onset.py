"""Live shelter status on the map; alerts take effect at their onset.

- shelter_status_tile_change (insert, update, delete): a status report evicts the
  shelters' tiles of single features at the shelter's position (app/ogc/tiles/cache.py),
  which now show the live status.
- alert.effective_at: from the earliest info block's `effective` (else `sent`), or its
  `onset` when later (app.alerts.rules.takes_effect), for the messages stored before.

Revision ID: 0028
Revises: 0023
Create Date: 2026-12-06 20:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from app.db.sql import apply_frozen

revision: str = "0028"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = [f"shelter_status_tile_change_{event}" for event in ("insert", "update", "delete")]


def _effective_at(start: str) -> None:
    op.execute(
        "UPDATE alert a SET effective_at = coalesce("
        f"(SELECT min({start}) FROM alert_info i WHERE i.alert_id = a.id), a.sent)"
    )


def upgrade() -> None:
    apply_frozen(
        "0028",
        "functions/shelter_status_tile_change",
        *(f"triggers/shelter_status/{name}" for name in TRIGGERS),
    )
    # greatest() passes over a null onset
    _effective_at("greatest(coalesce(i.effective, a.sent), i.onset)")


def downgrade() -> None:
    _effective_at("coalesce(i.effective, a.sent)")
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON shelter_status")
    op.execute("DROP FUNCTION shelter_status_tile_change()")
