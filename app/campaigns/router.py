from typing import Annotated

from fastapi import APIRouter, Path, status

from app.accounts.dependencies import AdminPrincipal, CurrentPrincipal
from app.campaigns import service
from app.campaigns.schemas import CampaignCreate, CampaignEvaluation, CampaignRead
from app.core.errors import problem_responses
from app.db.session import SessionDep

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])
CampaignId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post(
    "",
    response_model=CampaignRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
def create_campaign(
    session: SessionDep, principal: AdminPrincipal, data: CampaignCreate
) -> CampaignRead:
    """A campaign: its scope (divisions, parking only or not), the rule set it holds works
    to, and its start and target days. Admin only."""
    return CampaignRead.model_validate(service.create(session, data, principal=principal))


@router.get("", response_model=list[CampaignRead])
def list_campaigns(session: SessionDep, principal: CurrentPrincipal) -> list[CampaignRead]:
    return service.list_campaigns(session)


@router.get(
    "/{campaign_id}",
    response_model=CampaignEvaluation,
    responses=problem_responses(403, 404, 422),
)
def evaluate_campaign(
    session: SessionDep, principal: CurrentPrincipal, campaign_id: CampaignId
) -> CampaignEvaluation:
    """The campaign and its evaluation: completion at the target day (the works and signs
    as they stood then, from the audit trail) and today, the works still short and what
    they lack, and the monthly timeline of completions. Counts the works the caller may
    see; a maintenance or conversion drill campaign, whose records and plans are
    restricted, the works whose restricted fields the caller may read (admin, gis and
    manager keys)."""
    return service.evaluate(session, campaign_id, principal=principal)
