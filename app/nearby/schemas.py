from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.alerts.schemas import AlertSummary
from app.core.geo import CoordSys
from app.core.navigation import Navigation, Position
from app.facilities.models import EntranceKind
from app.shelters.schemas import ShelterItem
from app.uses.models import UseType
from app.uses.schemas import Availability


class NearbyEntrance(BaseModel):
    id: int
    kind: EntranceKind
    accessible: bool
    name: str | None
    location: Position
    distance_m: float


class ParkingFigures(BaseModel):
    total_spaces: int | None
    accessible_spaces: int | None
    ev_spaces: int | None
    charging_piles: int | None
    charging_max_kw: float | None
    height_limit_m: float | None


class NearbyItem(BaseModel):
    use_id: int
    facility_id: int
    type: UseType
    name: str
    address: str
    location: Position
    distance_m: float = Field(description="geodesic distance on the WGS 84 ellipsoid, metres")
    entrance: NearbyEntrance | None
    opening_hours: str | None
    open_now: bool | None
    fee: str | None
    contact_phone: str | None
    attributes: dict[str, Any]
    parking: ParkingFigures | None = None
    availability: Availability | None = None
    navigation: Navigation


class NearbyAnswer(BaseModel):
    coordsys: CoordSys
    center: Position
    radius_m: float
    generated_at: datetime
    alert_mode: bool | None = Field(
        None, description="car parks: an Actual air-raid alert is in force over the point"
    )
    alerts: list[AlertSummary] | None = Field(
        None, description="car parks: the alerts in force over the point, drills included"
    )
    shelters: list[ShelterItem] | None = Field(
        None, description="in alert mode: the nearest shelters, before the car parks"
    )
    items: list[NearbyItem]
