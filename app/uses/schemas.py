from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    create_model,
    field_validator,
    model_validator,
)

from app.core.schemas import ApiModel
from app.facilities.schemas import Phone, ShortText, Text
from app.uses.hours import parse_opening_hours
from app.uses.models import OpeningStatus, UseType

Count = Annotated[int, Field(ge=0, le=100_000)]
Area = Annotated[float, Field(ge=0, le=1_000_000, description="m²")]
MonthDay = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
Labels = Annotated[list[ShortText], Field(max_length=30)]


class FeeRules(ApiModel):
    """Parking tariff in yuan; `fee` beside it keeps the text a sign shows."""

    free_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    first_hour: Annotated[float, Field(ge=0, le=1000)] | None = None
    per_hour: Annotated[float, Field(ge=0, le=1000)] | None = None
    daily_cap: Annotated[float, Field(ge=0, le=10000)] | None = None
    monthly: Annotated[float, Field(ge=0, le=100000)] | None = None


class ParkingAttributes(ApiModel):
    total_spaces: Count
    accessible_spaces: Count = 0
    ev_spaces: Count = 0
    charging_piles: Count = 0
    charging_max_kw: Annotated[float, Field(gt=0, le=1000)] | None = None
    height_limit_m: Annotated[float, Field(ge=1.5, le=6)] | None = None
    fee_rules: FeeRules | None = None

    @model_validator(mode="after")
    def _within_total(self) -> "ParkingAttributes":
        for part in ("accessible_spaces", "ev_spaces"):
            if getattr(self, part) > self.total_spaces:
                raise ValueError(f"{part} exceeds total_spaces")
        if self.charging_piles and self.charging_max_kw is None:
            raise ValueError("charging_max_kw is required when there are charging_piles")
        return self


class EvChargingAttributes(ApiModel):
    charging_piles: Annotated[int, Field(ge=1, le=10_000)]
    charging_max_kw: Annotated[float, Field(gt=0, le=1000)]
    fast_piles: Count = 0
    operator: ShortText | None = None


class CoolSpotAttributes(ApiModel):
    """纳凉点: opened in the summer heat, usually June to September."""

    season_start: MonthDay
    season_end: MonthDay
    seats: Count
    air_conditioning: bool = False
    drinking_water: bool = False
    wifi: bool = False
    toilets: bool = False


class GymAttributes(ApiModel):
    area_m2: Area | None = None
    activities: Labels = []
    membership_required: bool = False


class ExpressDeliveryAttributes(ApiModel):
    operator: ShortText | None = Field(None, examples=["菜鸟驿站"])
    lockers: Count = 0


class CulturalRoomAttributes(ApiModel):
    area_m2: Area | None = None
    seats: Count = 0
    activities: Labels = []
    booking_required: bool = False


class ConvenienceStoreAttributes(ApiModel):
    brand: ShortText | None = None


class FoodMarketAttributes(ApiModel):
    stalls: Count = 0
    area_m2: Area | None = None


class WarehouseAttributes(ApiModel):
    area_m2: Area | None = None
    operator: ShortText | None = None


class OtherAttributes(ApiModel):
    description: Text | None = None


ATTRIBUTES: dict[UseType, type[ApiModel]] = {
    UseType.parking: ParkingAttributes,
    UseType.ev_charging: EvChargingAttributes,
    UseType.gym: GymAttributes,
    UseType.cool_spot: CoolSpotAttributes,
    UseType.express_delivery: ExpressDeliveryAttributes,
    UseType.cultural_room: CulturalRoomAttributes,
    UseType.convenience_store: ConvenienceStoreAttributes,
    UseType.food_market: FoodMarketAttributes,
    UseType.warehouse: WarehouseAttributes,
    UseType.other: OtherAttributes,
}


class UseFields(ApiModel):
    name: ShortText | None = None
    opening_hours: Annotated[
        str | None,
        Field(
            max_length=500,
            description="OpenStreetMap opening_hours syntax, evaluated in Asia/Shanghai with "
            "China's public holidays (PH)",
            examples=["Mo-Fr 07:00-22:00; Sa,Su 08:00-20:00; PH off", "24/7"],
        ),
    ] = None
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None
    fee: Text | None = Field(None, examples=["首小时5元，之后每小时2元，24小时封顶30元"])

    @field_validator("opening_hours")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_opening_hours(value)
        return value


def _create_model(use_type: UseType) -> type[UseFields]:
    attributes = ATTRIBUTES[use_type]
    required = any(f.is_required() for f in attributes.model_fields.values())
    return create_model(
        f"{attributes.__name__.removesuffix('Attributes')}UseCreate",
        __base__=UseFields,
        type=(Literal[use_type.value], ...),
        attributes=(attributes, ... if required else attributes()),
    )


CREATE_MODELS = {use_type: _create_model(use_type) for use_type in UseType}
# One model per type, told apart by `type`, so OpenAPI shows each type's attributes.
UseCreate = Annotated[Union[tuple(CREATE_MODELS.values())], Field(discriminator="type")]  # noqa: UP007


class UseUpdate(UseFields):
    """Fields sent replace the stored ones; `attributes`, when sent, is replaced whole."""

    attributes: dict[str, Any] | None = None


class Availability(BaseModel):
    """Live parking figures in ParkAPI's terms. A figure older than the staleness limit
    is never shown as current: the realtime fields are then null and `stale` is true."""

    realtime_free_capacity: int | None
    realtime_free_charging_piles: int | None
    realtime_opening_status: OpeningStatus
    realtime_data_updated_at: datetime | None
    age_seconds: int | None
    stale: bool


class UseRead(BaseModel):
    id: int
    facility_id: int
    type: UseType
    name: str | None
    opening_hours: str | None
    open_now: bool | None = Field(description="null when there are no opening hours")
    contact_name: str | None
    contact_phone: str | None
    fee: str | None
    attributes: dict[str, Any]
    availability: Availability | None = Field(description="parking only")
    version: int = Field(description="also the ETag; send it back in If-Match to change the use")
    created_at: datetime
    updated_at: datetime
