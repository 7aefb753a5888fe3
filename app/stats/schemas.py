from pydantic import BaseModel, Field


class StatsGroup(BaseModel):
    """Figures of live facilities (soft-deleted ones are left out) in one group."""

    admin_code: str | None = Field(None, description="the division grouped by, if any")
    admin_name: str | None = None
    completion_year: int | None = Field(None, description="when grouped by year")
    facilities: int
    building_area_m2: float
    shelter_area_m2: float
    capacity_persons: int = Field(description="wartime capacity, persons")
    parking_spaces: int = Field(description="spaces of the peacetime car parks")
    ev_spaces: int
    charging_piles: int = Field(description="piles of car parks and charging stations")
    facilities_by_use: dict[str, int] = Field(description="facilities hosting each use type")
    signage_standing: int = Field(description="works in service or suspended")
    signage_complete: int = Field(description="of those, carrying every required sign")
    signage_complete_share: float | None
    open_reports: int = Field(description="public problem reports not yet resolved")
    completion_decade: int | None = Field(None, description="when grouped by decade")
    wartime_function: str | None = Field(None, description="when grouped by it")
    construction_form: str | None = Field(None, description="when grouped by it")
    protection_class: str | None = Field(
        None, description="when grouped by it (restricted): nuclear and conventional, 核6/常6"
    )
    late_registrations: int | None = Field(
        None,
        description="with as_of: works registered after that day, completed by its year, "
        "counted with the first state the registry knew",
    )
    residents: int | None = Field(None, description="with population_layer")
    shelter_area_per_resident_m2: float | None = Field(None, description="with population_layer")
    capacity_per_resident: float | None = Field(None, description="with population_layer")
    open_maintenance_findings: int | None = Field(
        None,
        description="serious findings no repair has closed; only for callers who may read "
        "maintenance records of the whole group (admin, gis, a manager in scope)",
    )


class StatsRead(BaseModel):
    by: list[str]
    groups: list[StatsGroup]
    total: StatsGroup


class ParkingYear(BaseModel):
    year: int | None = Field(description="completion year of the works; null when unknown")
    car_parks: int
    new_spaces: int = Field(description="spaces of car parks in works completed that year")
    cumulative_spaces: int
    late_registrations: int | None = Field(
        None, description="with as_of: of these car parks, works registered after that day"
    )
