from datetime import datetime

from pydantic import BaseModel, ConfigDict


class PhotoRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    created_at: datetime
    url: str
