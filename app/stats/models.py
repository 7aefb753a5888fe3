from decimal import Decimal

from sqlalchemy import Index, Numeric, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, synonym

from app.db.base import Base
from app.db.types import str_enum
from app.facilities.models import (
    ConstructionForm,
    FacilityKey,
    FacilityStatus,
    Visibility,
    WartimeFunction,
)


class FacilityFigure(Base):
    """What one live facility adds to the statistics, kept current by statement-level
    triggers on every table the figures come from (app/db/sql/functions/stats_refresh.sql).

    Signage completeness needs a facility's signs against its locality's rules, open
    findings its maintenance history: cheap for one facility at write time, seconds for
    a million at read time. Kept here per facility, the statistics are one scan of this
    narrow table, grouped any way, with no shared summary rows for writers to queue on.
    """

    __tablename__ = "facility_figure"
    __table_args__ = (
        Index("ix_facility_figure_city_code", "city_code"),
        Index("ix_facility_figure_district_code", "district_code"),
    )

    facility_id: Mapped[FacilityKey] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6))
    district_code: Mapped[str | None] = mapped_column(String(6))
    completion_year: Mapped[int | None] = mapped_column(SmallInteger)
    wartime_function: Mapped[WartimeFunction] = mapped_column(str_enum(WartimeFunction))
    construction_form: Mapped[ConstructionForm] = mapped_column(str_enum(ConstructionForm))
    status: Mapped[FacilityStatus] = mapped_column(str_enum(FacilityStatus))
    building_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    shelter_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    capacity_persons: Mapped[int | None]
    parking_spaces: Mapped[int]
    ev_spaces: Mapped[int]
    charging_piles: Mapped[int]
    # Which peacetime uses the facility hosts, one flag per UseType: flags, not an array,
    # because a million FILTER (WHERE flag) cost a third of a million ANY(array).
    use_parking: Mapped[bool]
    use_ev_charging: Mapped[bool]
    use_gym: Mapped[bool]
    use_cool_spot: Mapped[bool]
    use_express_delivery: Mapped[bool]
    use_cultural_room: Mapped[bool]
    use_convenience_store: Mapped[bool]
    use_food_market: Mapped[bool]
    use_warehouse: Mapped[bool]
    use_other: Mapped[bool]
    signage_complete: Mapped[bool]
    open_findings: Mapped[int]
    open_reports: Mapped[int]
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility))

    # The facility's id under its own name, so that the rules Principal writes over a
    # facility's columns (visible_clause) apply to these rows as they are.
    id: Mapped[int] = synonym("facility_id")
