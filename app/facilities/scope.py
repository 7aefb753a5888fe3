"""Which works a caller may see, edit and read the restricted fields of, as SQL.

The rule is the facility domain's: accounts knows who the caller is (Principal.covers),
this module turns that into clauses over a facility's columns."""

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.dialects.postgresql.base import PGDialect

from app.accounts.models import Role
from app.accounts.principal import SEE_EVERY_WORK, SEE_WORKS_IN_SCOPE, Principal
from app.facilities.models import Facility, Visibility

# visible_clause's role-wide answers over Facility, built once: a statement built with one
# is the same for every caller of those roles, so the hot read paths reuse it.
EVERY_WORK: ColumnElement[bool] = true()
PUBLIC_WORKS: ColumnElement[bool] = Facility.visibility == Visibility.public
# Renders a clause for statements written as SQL text: `:name` parameters, no casts.
_TEXT_SQL = PGDialect(paramstyle="named")


def scope_clause(principal: Principal, facility: Any = Facility) -> ColumnElement[bool]:
    """The principal's scope as SQL over `facility` (Facility, an alias of it, or rows
    with its id and division codes), for per-row decisions in one query."""
    if principal.role == Role.admin:
        return true()
    if principal.role not in (Role.manager, Role.operator):
        return false()
    parts: list[ColumnElement[bool]] = []
    if principal.facility_ids:
        parts.append(facility.id.in_(principal.facility_ids))
    if principal.admin_codes:
        codes = list(principal.admin_codes)
        parts += [
            facility.province_code.in_(codes),
            facility.city_code.in_(codes),
            facility.district_code.in_(codes),
        ]
    return or_(*parts) if parts else false()


def visible_clause(principal: Principal, facility: Any = Facility) -> ColumnElement[bool]:
    """Which works this caller may know exist, as SQL over `facility` (as in
    scope_clause, with its visibility): admin and gis every work; managers and
    operators the public ones and the restricted ones in their scope; everyone else
    the public ones. The one definition of the rule: every path that reads works,
    what hangs off them, or figures about them filters by it. A work outside it is
    answered as missing (404), so that its id tells nothing."""
    if principal.role in SEE_EVERY_WORK:
        return EVERY_WORK
    public = PUBLIC_WORKS if facility is Facility else facility.visibility == Visibility.public
    if principal.role in SEE_WORKS_IN_SCOPE:
        return or_(public, scope_clause(principal, facility))
    return public


def visible_sql(principal: Principal, facility: Any = Facility) -> tuple[str, dict[str, Any]]:
    """visible_clause for statements written as SQL text (signage, statistics): the
    same clause compiled, in parentheses, its values bound parameters, with those
    parameters."""
    compiled = visible_clause(principal, facility).compile(
        dialect=_TEXT_SQL, compile_kwargs={"render_postcompile": True}
    )
    return f"({compiled})", dict(compiled.params)


def restricted_clause(principal: Principal, facility: Any = Facility) -> ColumnElement[bool] | bool:
    """Which facilities this caller sees restricted fields of: admin and gis all of
    them; a manager only those in its scope, since a district office has no business
    with another district's keyholders; everyone else none."""
    if principal.role in (Role.admin, Role.gis):
        return True
    if principal.role == Role.manager:
        return scope_clause(principal, facility)
    return False


def restricted_sql(principal: Principal, facility: Any = Facility) -> tuple[str, dict[str, Any]]:
    """restricted_clause for statements written as SQL text over `facility`, as
    visible_sql gives visible_clause."""
    clause = restricted_clause(principal, facility)
    if isinstance(clause, bool):
        return ("true" if clause else "false"), {}
    compiled = clause.compile(dialect=_TEXT_SQL, compile_kwargs={"render_postcompile": True})
    return f"({compiled})", dict(compiled.params)
