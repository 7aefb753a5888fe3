from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, create_model

from app.core.geo import Areal, Point
from app.core.schemas import ApiModel, CursorPage, Instant, partial_model
from app.facilities.models import (
    CapacityBasis,
    ChemicalClass,
    ConstructionForm,
    ConventionalLevel,
    EntranceKind,
    FacilityStatus,
    NuclearLevel,
    StandaloneType,
    Visibility,
    WartimeFunction,
    WartimeSubtype,
)
from app.facilities.repository import RESTRICTED_FIELDS
from app.facilities.rules import (
    ADMIN_CODE_PATTERN,
    AREA_MAX,
    CODE_PATTERN,
    COMPLETION_YEARS,
    MAX_ENTRANCES,
    MAX_PROTECTION_UNITS,
    PERSONS_MAX,
    PHONE_PATTERN,
    SHORT_TEXT_MAX,
    TEXT_MAX,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT_TEXT_MAX)
]
Phone = Annotated[str, StringConstraints(pattern=PHONE_PATTERN)]
AdminCode = Annotated[str, StringConstraints(pattern=ADMIN_CODE_PATTERN)]
RegistryCode = Annotated[
    str,
    StringConstraints(pattern=CODE_PATTERN),
    Field(
        description="Unique human-readable registry code, e.g. RF-340104-0001",
        examples=["RF-340104-0001"],
    ),
]
Area = Annotated[float, Field(ge=0, le=AREA_MAX, description="m²")]
Persons = Annotated[int, Field(ge=0, le=PERSONS_MAX)]


class EntranceIn(ApiModel):
    kind: EntranceKind
    accessible: bool = False
    name: ShortText | None = None
    location: Point


class ProtectionUnitIn(ApiModel):
    name: ShortText
    shelter_area: Area
    capacity_persons: Persons


Entrances = Annotated[list[EntranceIn], Field(max_length=MAX_ENTRANCES)]
ProtectionUnits = Annotated[list[ProtectionUnitIn], Field(max_length=MAX_PROTECTION_UNITS)]


class FacilityCreate(ApiModel):
    code: RegistryCode
    name: ShortText
    address: Text
    admin_code: AdminCode | None = Field(
        None,
        description="GB/T 2260 code of the facility's division, at any level. May be left out "
        "when loaded boundaries contain the location; a finer division is then derived from them.",
    )
    location: Point
    footprint: Areal | None = None
    entrances: Entrances = []
    protection_units: ProtectionUnits = []
    construction_form: ConstructionForm
    standalone_type: StandaloneType | None = None
    wartime_function: WartimeFunction
    wartime_subtype: WartimeSubtype | None = None
    nuclear_level: NuclearLevel | None = None
    conventional_level: ConventionalLevel | None = None
    chemical_class: ChemicalClass | None = None
    building_area: Area | None = None
    usable_area: Area | None = None
    shelter_area: Area | None = None
    capacity_persons: Persons | None = None
    capacity_basis: CapacityBasis | None = None
    floors_below_ground: Annotated[int, Field(ge=1, le=10)] | None = None
    completion_year: (
        Annotated[int, Field(ge=COMPLETION_YEARS[0], le=COMPLETION_YEARS[1])] | None
    ) = None
    owner_unit: ShortText | None = None
    managing_unit: ShortText | None = None
    managing_authority: ShortText | None = Field(
        None, description="e.g. 合肥市人民防空办公室 or, since the reform, 合肥市国防动员办公室"
    )
    keyholder_name: ShortText | None = None
    keyholder_phone: Phone | None = None
    status: FacilityStatus
    visibility: Visibility | None = Field(
        None,
        description="whether the public may know of the work; default: restricted for command "
        "posts, public otherwise. Only an admin gives another; later changes go through "
        "PUT /v1/facilities/{id}/visibility",
    )
    conversion_hours: Annotated[int, Field(ge=0, le=8760)] | None = Field(
        None, description="hours allowed for peacetime-to-wartime conversion"
    )
    peacetime_parking_spaces: Annotated[int, Field(ge=0, le=100_000)] | None = None
    data_source: ShortText | None = None
    verified_at: Instant | None = None
    verified_by: ShortText | None = None


FacilityUpdate = partial_model(
    FacilityCreate,
    name="FacilityUpdate",
    required={
        "code",
        "name",
        "address",
        "location",
        "construction_form",
        "wartime_function",
        "status",
        "entrances",
        "protection_units",
    },
    exclude=frozenset({"visibility"}),
)


class GeoJSONGeometry(BaseModel):
    type: str
    coordinates: list[Any]


class EntranceRead(BaseModel):
    id: int
    kind: EntranceKind
    accessible: bool
    name: str | None
    location: GeoJSONGeometry


class ProtectionUnitRead(ProtectionUnitIn):
    id: int


class FacilityRead(BaseModel):
    id: int
    code: str
    name: str
    address: str
    admin_code: str
    province_code: str
    city_code: str | None
    district_code: str | None
    location: GeoJSONGeometry
    footprint: GeoJSONGeometry | None
    entrances: list[EntranceRead]
    protection_units: list[ProtectionUnitRead]
    construction_form: ConstructionForm
    standalone_type: StandaloneType | None
    wartime_function: WartimeFunction
    wartime_subtype: WartimeSubtype | None
    nuclear_level: NuclearLevel | None
    conventional_level: ConventionalLevel | None
    chemical_class: ChemicalClass | None
    building_area: float | None
    usable_area: float | None
    shelter_area: float | None
    capacity_persons: int | None
    capacity_basis: CapacityBasis | None
    floors_below_ground: int | None
    completion_year: int | None
    owner_unit: str | None
    managing_unit: str | None
    managing_authority: str | None
    keyholder_name: str | None
    keyholder_phone: str | None
    status: FacilityStatus
    visibility: Visibility
    conversion_hours: int | None
    peacetime_parking_spaces: int | None
    data_source: str | None
    verified_at: datetime | None
    verified_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="raised by every write; the ETag of the facility")


# What anonymous callers and roles without restricted access get: the same document
# without the restricted fields (see repository.RESTRICTED_FIELDS).
FacilityPublicRead = create_model(
    "FacilityPublicRead",
    __base__=BaseModel,
    __doc__="A facility as the public sees it: no protection levels, internal layout, "
    "readiness or contacts.",
    **{
        name: (info.annotation, info)
        for name, info in FacilityRead.model_fields.items()
        if name not in RESTRICTED_FIELDS
    },
)


class FacilityVerification(ApiModel):
    """Records that the facility was checked against reality."""

    verified_at: Instant | None = Field(default=None, description="default: now")
    verified_by: ShortText | None = Field(default=None, description="default: the key's name")
    data_source: Text | None = None


class VisibilityChange(ApiModel):
    """An admin's decision whether the public may know of a work, and why (audited)."""

    visibility: Visibility
    reason: Text


class Link(BaseModel):
    rel: str
    href: str
    type: str | None = None


class FacilityPage(CursorPage):
    items: list[FacilityRead | FacilityPublicRead]
    links: list[Link]


class FacilityFeature(BaseModel):
    type: str = "Feature"
    id: int
    geometry: GeoJSONGeometry
    properties: dict[str, Any]


class FacilityFeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[FacilityFeature]
    links: list[Link]
