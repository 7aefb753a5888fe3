"""Who is calling: a key's role and scope, or the anonymous public."""

from dataclasses import dataclass, field

from app.accounts.models import Role

# Roles that read restricted fields and layers (protection, equipment, contacts, findings).
RESTRICTED_READERS = frozenset({Role.admin, Role.gis, Role.manager})
# Roles that see every restricted work; managers and operators see those in their scope.
# Any other role (and the anonymous public) sees public works only, also roles added later.
SEE_EVERY_WORK = frozenset({Role.admin, Role.gis})
SEE_WORKS_IN_SCOPE = frozenset({Role.manager, Role.operator})


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


ANONYMOUS = Principal()
