"""The demo campaigns. The province's signage campaign of DOMAIN.md: every civil air
defense car park signed, started in May 2021 and planned for two years (target end of
April 2023); the demo signage (app/demo/signage.py) finishes it in August 2022. And
Hefei's quarterly inspection campaign over the demo maintenance records
(app/demo/maintenance.py, the last eight months): begun with those records, due a year
later, each work inspected within the last 92 days."""

from datetime import date, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.campaigns import repository
from app.campaigns.models import Campaign, CampaignKind
from app.core import dates

NAME = "安徽省人防工程停车场标识标牌建设专项行动（2021—2023）"
MAINTENANCE_NAME = "合肥市人防工程季度维护检查"


def _campaigns(today: date) -> list[Campaign]:
    starts_on = (today - timedelta(days=240)).replace(day=1)
    return [
        Campaign(
            name=NAME,
            kind=CampaignKind.signage,
            description="演示数据：全省人防工程停车场按各地标识规范完成标识标牌设置，计划两年",
            admin_codes=["340000"],
            parking_only=True,
            rule_locality=None,
            rules={},
            starts_on=date(2021, 5, 1),
            target_on=date(2023, 4, 30),
            created_by="demo",
        ),
        Campaign(
            name=MAINTENANCE_NAME,
            kind=CampaignKind.maintenance,
            description="演示数据：合肥市人防工程每季度至少一次例行维护检查",
            admin_codes=["340100"],
            parking_only=False,
            rule_locality=None,
            rules={"record_kinds": ["inspection"], "items": [], "within_days": 92},
            starts_on=starts_on,
            target_on=starts_on.replace(year=starts_on.year + 1),
            created_by="demo",
        ),
    ]


def load(connection: Connection, *, today: date | None = None) -> int:
    """Writes the campaigns none of whose name exists; returns the campaigns written."""
    written = 0
    with Session(connection) as session:
        for campaign in _campaigns(today or dates.today()):
            if repository.named(session, campaign.name) is None:
                session.add(campaign)
                written += 1
        session.flush()
    return written
