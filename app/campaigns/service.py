"""Campaigns: create, list, and evaluate against the works, their signs, maintenance records
or conversion plans, and the audit trail."""

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.dependencies import ensure_role
from app.accounts.principal import RESTRICTED_READERS, Principal
from app.campaigns import repository
from app.campaigns.models import Campaign, CampaignKind
from app.campaigns.schemas import (
    CampaignCreate,
    CampaignEvaluation,
    CampaignMonth,
    CampaignRead,
    Completion,
    MaintenanceCampaignCreate,
    ShortWork,
    SignageCampaignCreate,
)
from app.core import dates
from app.core.errors import Conflict, FieldError, InvalidInput, NotFound
from app.db.session import flush_or_raise
from app.facilities.scope import restricted_sql, visible_sql
from app.maintenance import repository as maintenance
from app.planning.repository import known_codes
from app.signage.repository import F

# Works listed as still short in one answer: the counts cover all of them.
SHORT_LIMIT = 500


def create(session: Session, data: CampaignCreate, *, principal: Principal) -> Campaign:
    if data.target_on <= data.starts_on:
        raise InvalidInput.on("body.target_on", "must come after starts_on")
    unknown = sorted(set(data.admin_codes) - known_codes(session, set(data.admin_codes)))
    if unknown:
        raise InvalidInput.of(
            [
                FieldError(field="body.admin_codes", message=f"{code} is not a known division code")
                for code in unknown
            ]
        )
    rules: dict[str, Any] = {}
    if isinstance(data, SignageCampaignCreate):
        if data.rule_locality is not None and data.rule_locality not in (
            repository.rule_localities(session)
        ):
            raise InvalidInput.on(
                "body.rule_locality", f"{data.rule_locality} has no signage rules to hold works to"
            )
    else:
        rules = data.rules.model_dump(mode="json")
    if isinstance(data, MaintenanceCampaignCreate):
        unknown = sorted(set(data.rules.items) - maintenance.known_items(session, data.rules.items))
        if unknown:
            raise InvalidInput.on(
                "body.rules.items", f"{', '.join(unknown)}: not in the maintenance catalogue"
            )
    campaign = Campaign(
        **data.model_dump(exclude={"admin_codes", "rules"}),
        admin_codes=sorted(set(data.admin_codes)),
        rules=rules,
        created_by=principal.actor,
    )
    session.add(campaign)
    flush_or_raise(
        session, {"uq_campaign_name": lambda: Conflict(f"a campaign named {data.name!r} exists")}
    )
    return campaign


def get(session: Session, campaign_id: int) -> Campaign:
    campaign = repository.get(session, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return campaign


def list_campaigns(session: Session) -> list[CampaignRead]:
    return [CampaignRead.model_validate(c) for c in repository.list_all(session)]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluate(
    session: Session, campaign_id: int, *, principal: Principal, today: date | None = None
) -> CampaignEvaluation:
    """Completion at the target day (as the works then stood) and today, the works still
    short and what they lack, and the monthly timeline; over the works the caller may see."""
    campaign = get(session, campaign_id)
    today = today or dates.today()
    visible = visible_sql(principal, F)
    if campaign.kind != CampaignKind.signage:
        # Maintenance records and conversion plans are restricted: their campaigns count
        # the works whose restricted fields the caller may read.
        ensure_role(principal, RESTRICTED_READERS)
        visible = restricted_sql(principal, F)
    totals, short, timeline = repository.now(
        session, campaign, visible=visible, today=today, limit=SHORT_LIMIT + 1
    )
    at_target = None
    if campaign.target_on <= today:
        then = repository.at(session, campaign, visible=visible, day=campaign.target_on)
        at_target = Completion(
            on=campaign.target_on,
            works=then["works"],
            complete=then["complete"],
            ratio=_ratio(then["complete"], then["works"]),
            late_registrations=then["late_registrations"],
        )
    return CampaignEvaluation(
        campaign=CampaignRead.model_validate(campaign),
        at_target=at_target,
        today=Completion(
            on=today,
            works=totals["works"],
            complete=totals["complete"],
            ratio=_ratio(totals["complete"], totals["works"]),
        ),
        short=[ShortWork(**work) for work in short[:SHORT_LIMIT]],
        short_truncated=len(short) > SHORT_LIMIT,
        timeline=[CampaignMonth(**month) for month in timeline],
    )
