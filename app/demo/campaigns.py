"""The province's signage campaign of DOMAIN.md as a demo campaign: every civil air defense
car park signed, started in May 2021 and planned for two years (target end of April
2023); the demo signage (app/demo/signage.py) finishes it in August 2022."""

from datetime import date

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.campaigns import repository
from app.campaigns.models import Campaign, CampaignKind

NAME = "安徽省人防工程停车场标识标牌建设专项行动（2021—2023）"


def load(connection: Connection) -> int:
    """Writes the campaign unless one of its name exists; returns the campaigns written."""
    with Session(connection) as session:
        if repository.named(session, NAME) is not None:
            return 0
        session.add(
            Campaign(
                name=NAME,
                kind=CampaignKind.signage,
                description="演示数据：全省人防工程停车场按各地标识规范完成标识标牌设置，计划两年",
                admin_codes=["340000"],
                parking_only=True,
                rule_locality=None,
                starts_on=date(2021, 5, 1),
                target_on=date(2023, 4, 30),
                created_by="demo",
            )
        )
        session.flush()
    return 1
