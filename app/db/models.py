"""Every mapped model, imported in one place for Alembic and the tests."""

from app.db.base import Base
from app.divisions.models import Division
from app.facilities.models import Entrance, Facility, ProtectionUnit
from app.uses.models import ParkingOccupancy, PeacetimeUse

__all__ = [
    "Base",
    "Division",
    "Entrance",
    "Facility",
    "ParkingOccupancy",
    "PeacetimeUse",
    "ProtectionUnit",
    "include_object",
]


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For autogenerate: PostGIS and other extensions own tables (spatial_ref_sys ...)."""
    return not (type_ == "table" and reflected and compare_to is None)
