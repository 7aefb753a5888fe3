from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PopulationLayerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    source_format: str
    features: int
    residents: int
    created_at: datetime
    created_by: str | None


class CoverageArea(BaseModel):
    admin_code: str | None = Field(description="null: features no division places")
    admin_name: str | None
    features: int
    residents: int
    shelters: int = Field(description="personnel shelters in service in the division")
    shelter_capacity: int
    capacity_per_resident: float | None
    shelter_area_m2: float
    shelter_area_per_resident_m2: float | None
    meets_area_norm: bool | None = Field(description="at least 1 m² of shelter per resident")
    located_residents: int | None = Field(description="residents with a known place")
    covered_residents: int | None = Field(
        description="of those, within the service radius of a personnel shelter"
    )
    covered_share: float | None


class CoverageRead(BaseModel):
    layer_id: int
    layer_name: str
    radius_m: float
    by: str
    area_norm_m2_per_person: float
    areas: list[CoverageArea]
    total: CoverageArea


class Placement(BaseModel):
    facility_id: int
    residents: int
    distance_m: float


class BlockAssignment(BaseModel):
    feature_id: int
    row_no: int = Field(description="row or feature number in the uploaded file")
    residents: int
    unassigned: int
    shelters: list[Placement] = Field(description="nearest first; a block may be split")


class ShelterLoad(BaseModel):
    facility_id: int
    code: str
    name: str
    capacity: int
    places: int = Field(
        description="what this assignment may fill: the free places of a fresh status "
        "report (live), else the capacity"
    )
    live: bool
    load: int


class AssignmentRead(BaseModel):
    layer_id: int
    max_distance_m: float
    distance: str = Field(description="what the distances measure")
    solver: str
    optimality_gap: float = Field(
        description="0: the LP is totally unimodular, its optimum is the integer optimum"
    )
    residents: int
    assigned: int
    unassigned: int
    total_distance_m: float = Field(description="sum over residents of their distance")
    mean_distance_m: float | None
    blocks: list[BlockAssignment]
    shelters: list[ShelterLoad] = Field(description="every shelter within reach of a block")
