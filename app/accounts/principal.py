"""Who is calling: a key's role and scope, or the anonymous public."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.dialects.postgresql.base import PGDialect

from app.accounts.models import Role
from app.facilities.models import Facility, Visibility

# Roles that read restricted fields and layers (protection, equipment, contacts, findings).
RESTRICTED_READERS = frozenset({Role.admin, Role.gis, Role.manager})
# Roles that see every restricted work; managers and operators see those in their scope.
# Any other role (and the anonymous public) sees public works only, also roles added later.
SEE_EVERY_WORK = frozenset({Role.admin, Role.gis})
SEE_WORKS_IN_SCOPE = frozenset({Role.manager, Role.operator})
# visible_clause's role-wide answers over Facility, built once: a statement built with one
# is the same for every caller of those roles, so the hot read paths reuse it.
EVERY_WORK: ColumnElement[bool] = true()
PUBLIC_WORKS: ColumnElement[bool] = Facility.visibility == Visibility.public
# Renders a clause for statements written as SQL text: `:name` parameters, no casts.
_TEXT_SQL = PGDialect(paramstyle="named")


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

    def scope_clause(self, facility: Any = Facility) -> ColumnElement[bool]:
        """The same scope as SQL over `facility` (Facility, an alias of it, or rows with
        its id and division codes), for per-row decisions in one query."""
        if self.role == Role.admin:
            return true()
        if self.role not in (Role.manager, Role.operator):
            return false()
        parts: list[ColumnElement[bool]] = []
        if self.facility_ids:
            parts.append(facility.id.in_(self.facility_ids))
        if self.admin_codes:
            codes = list(self.admin_codes)
            parts += [
                facility.province_code.in_(codes),
                facility.city_code.in_(codes),
                facility.district_code.in_(codes),
            ]
        return or_(*parts) if parts else false()

    def visible_clause(self, facility: Any = Facility) -> ColumnElement[bool]:
        """Which works this caller may know exist, as SQL over `facility` (as in
        scope_clause, with its visibility): admin and gis every work; managers and
        operators the public ones and the restricted ones in their scope; everyone else
        the public ones. The one definition of the rule: every path that reads works,
        what hangs off them, or figures about them filters by it. A work outside it is
        answered as missing (404), so that its id tells nothing."""
        if self.role in SEE_EVERY_WORK:
            return EVERY_WORK
        public = PUBLIC_WORKS if facility is Facility else facility.visibility == Visibility.public
        if self.role in SEE_WORKS_IN_SCOPE:
            return or_(public, self.scope_clause(facility))
        return public

    def visible_sql(self, facility: Any = Facility) -> tuple[str, dict[str, Any]]:
        """visible_clause for statements written as SQL text (signage, statistics): the
        same clause compiled, in parentheses, its values bound parameters, with those
        parameters."""
        compiled = self.visible_clause(facility).compile(
            dialect=_TEXT_SQL, compile_kwargs={"render_postcompile": True}
        )
        return f"({compiled})", dict(compiled.params)

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
