from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.core.schemas import CursorPage


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str | None
    action: str
    entity: str
    entity_id: str
    changes: dict[str, Any]
    reason: str | None


class HistoryPage(CursorPage):
    items: list[AuditEventRead]
