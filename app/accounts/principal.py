"""Who is calling: a key's role and scope, or the anonymous public."""

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, true

from app.accounts.models import Role
from app.facilities.models import Facility

# Roles that read restricted fields and layers (protection, equipment, contacts, findings).
RESTRICTED_READERS = frozenset({Role.admin, Role.gis, Role.manager})


@dataclass(frozen=True)
class Principal:
    key_id: int | None = None
    name: str | None = None
    role: Role | None = None
    admin_codes: tuple[str, ...] = field(default_factory=tuple)
    facility_ids: tuple[int, ...] = field(default_factory=tuple)
    rate_per_minute: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def actor(self) -> str | None:
        """How the audit trail names this caller: stable id plus the name given at creation."""
        return None if self.anonymous else f"key:{self.key_id}:{self.name}"

    def covers(self, *, facility_id: int | None, codes: tuple[str | None, ...] = ()) -> bool:
        """Whether a facility (its id and province/city/district codes) lies in this scope."""
        if self.role == Role.admin:
            return True
        if self.role not in (Role.manager, Role.operator):
            return False
        if facility_id is not None and facility_id in self.facility_ids:
            return True
        return any(code in self.admin_codes for code in codes if code)

    def scope_clause(self) -> ColumnElement[bool]:
        """The same scope as SQL over `facility`, for per-row decisions in one query."""
        if self.role == Role.admin:
            return true()
        if self.role not in (Role.manager, Role.operator):
            return false()
        parts: list[ColumnElement[bool]] = []
        if self.facility_ids:
            parts.append(Facility.id.in_(self.facility_ids))
        if self.admin_codes:
            codes = list(self.admin_codes)
            parts += [
                Facility.province_code.in_(codes),
                Facility.city_code.in_(codes),
                Facility.district_code.in_(codes),
            ]
        return or_(*parts) if parts else false()

    def restricted_clause(self) -> ColumnElement[bool] | bool:
        """Which facilities this caller sees restricted fields of: admin and gis all of
        them; a manager only those in its scope, since a district office has no business
        with another district's keyholders; everyone else none."""
        if self.role in (Role.admin, Role.gis):
            return True
        if self.role == Role.manager:
            return self.scope_clause()
        return False


ANONYMOUS = Principal()
