"""Every mapped model, imported in one place for Alembic and the tests."""

from app.accounts.models import ApiKey
from app.alerts.models import Alert, AlertArea, AlertInfo
from app.audit.models import AuditEvent
from app.campaigns.models import Campaign
from app.code_forms.models import RegistryCodeForm
from app.db.base import Base
from app.divisions.models import Division, DivisionPart
from app.facilities.models import Entrance, Facility, ProtectionUnit
from app.holidays.models import CalendarDay
from app.idempotency.models import IdempotencyRecord
from app.imports.models import ImportJob, ImportJobError
from app.maintenance.models import MaintenanceCheck, MaintenanceItem, MaintenanceRecord
from app.media.models import Photo
from app.ogc.tiles.models import TileChange, TileChangeHorizon
from app.parking.models import ParkingOccupancy
from app.planning.models import PopulationFeature, PopulationLayer
from app.reports.models import ProblemReport
from app.shelters.models import ConversionTask, ShelterStatus
from app.signage.models import Sign, SignageRule
from app.stats.models import FacilityFigure
from app.uses.models import PeacetimeUse
from app.webhooks.models import (
    WebhookDelivery,
    WebhookEpisode,
    WebhookOutbox,
    WebhookSubscription,
)

__all__ = [
    "Alert",
    "AlertArea",
    "AlertInfo",
    "ConversionTask",
    "ShelterStatus",
    "ApiKey",
    "AuditEvent",
    "Campaign",
    "CalendarDay",
    "RegistryCodeForm",
    "Base",
    "IdempotencyRecord",
    "ImportJob",
    "ImportJobError",
    "MaintenanceCheck",
    "MaintenanceItem",
    "MaintenanceRecord",
    "Photo",
    "PopulationFeature",
    "PopulationLayer",
    "ProblemReport",
    "Sign",
    "SignageRule",
    "TileChange",
    "TileChangeHorizon",
    "Division",
    "DivisionPart",
    "Entrance",
    "Facility",
    "FacilityFigure",
    "ParkingOccupancy",
    "PeacetimeUse",
    "ProtectionUnit",
    "WebhookDelivery",
    "WebhookEpisode",
    "WebhookOutbox",
    "WebhookSubscription",
    "include_object",
]


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For autogenerate: PostGIS and other extensions own tables (spatial_ref_sys ...)."""
    return not (type_ == "table" and reflected and compare_to is None)
