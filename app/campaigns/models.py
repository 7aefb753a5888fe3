import enum
from datetime import date

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Date,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey, InsertedAt
from app.db.types import JsonObject, str_enum
from app.divisions.models import DivisionKey


class CampaignKind(enum.StrEnum):
    # Each work against a rule set: signage from its signs; maintenance from its records;
    # conversion_drill from its conversion plan's drills.
    signage = "signage"
    maintenance = "maintenance"
    conversion_drill = "conversion_drill"


class Campaign(Base):
    """A campaign as data: what it asks of which works, from when and by when. Its
    evaluation (GET /v1/campaigns/{id}) reads the works, their signs, maintenance records or
    conversion plans, and the audit trail."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("target_on > starts_on", name="dates_ordered"),
        CheckConstraint("cardinality(admin_codes) BETWEEN 1 AND 50", name="scope_size"),
    )

    id: Mapped[IdentityKey]
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[CampaignKind] = mapped_column(str_enum(CampaignKind))
    description: Mapped[str | None] = mapped_column(Text)
    # Divisions of any level; a work is in scope when any of its codes is listed.
    admin_codes: Mapped[list[str]] = mapped_column(ARRAY(String(6)))
    parking_only: Mapped[bool]
    # The locality whose signage rules every work in scope is held to; None for each
    # work's own (the most specific division with rules).
    rule_locality: Mapped[DivisionKey | None]
    # The rule set of the other kinds, as their schema in app/campaigns/schemas.py has it.
    rules: Mapped[JsonObject]
    starts_on: Mapped[date] = mapped_column(Date)
    target_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[InsertedAt]
    created_by: Mapped[str | None] = mapped_column(Text)
