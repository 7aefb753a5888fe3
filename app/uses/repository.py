from sqlalchemy import select
from sqlalchemy.orm import Session

from app.uses.models import PeacetimeUse, UseType


def list_for_facility(session: Session, facility_id: int) -> list[PeacetimeUse]:
    return list(
        session.scalars(
            select(PeacetimeUse)
            .where(PeacetimeUse.facility_id == facility_id)
            .order_by(PeacetimeUse.id)
        )
    )


def get(
    session: Session, facility_id: int, use_id: int, *, for_update: bool = False
) -> PeacetimeUse | None:
    query = select(PeacetimeUse).where(
        PeacetimeUse.facility_id == facility_id, PeacetimeUse.id == use_id
    )
    return session.scalars(query.with_for_update() if for_update else query).first()


def get_parking(
    session: Session, facility_id: int, *, for_update: bool = False
) -> PeacetimeUse | None:
    query = select(PeacetimeUse).where(
        PeacetimeUse.facility_id == facility_id, PeacetimeUse.type == UseType.parking
    )
    return session.scalars(query.with_for_update() if for_update else query).first()
