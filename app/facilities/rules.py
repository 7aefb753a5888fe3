"""The rules of a facility record, each written once and used by every path that writes
one: the API's models and service, and the importer, which runs them as set-based SQL
over all staged rows at once (imports.checks). A rule across fields carries its
predicate, its SQL form over a row `t` of the import's typed rows, and its message."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from app.core.errors import InvalidInput
from app.core.messages import Message
from app.facilities.models import SUBTYPES_BY_FUNCTION, ConstructionForm

# --- single values: the API's models and the importer's cell checks -----------------------

# The shape every registry code has, checked where a value arrives (the API's models, the
# importer's cells): letters, digits, Chinese characters of the basic CJK block, "-", "_".
# Which codes a work may carry depends on where it lies (REGISTRY_CODE below). The same in
# Python and PostgreSQL.
CODE_PATTERN = r"^[A-Za-z0-9一-鿿][A-Za-z0-9一-鿿_-]{2,39}$"
CODE_MESSAGE = (
    'must be 3 to 40 letters, digits, Chinese characters, "-" or "_", not beginning with "-" or "_"'
)
# As ledgers write them too: an area code in brackets, (0551)62881234 or （0551）..., and an
# extension after 转, ext or x: 0551-62881234转8001. The same in Python and PostgreSQL.
PHONE_PATTERN = (
    r"^\+?(\(0[0-9]{2,3}\)|（0[0-9]{2,3}）)?[0-9][0-9 -]{4,19}((转|ext\.? ?|x)[0-9]{1,6})?$"
)
PHONE_MESSAGE = "is not a phone number"
ADMIN_CODE_PATTERN = r"^[0-9]{6}$"
ADMIN_CODE_MESSAGE = "must be a six-digit GB/T 2260 code"
TEXT_MAX = 500
SHORT_TEXT_MAX = 200
AREA_MAX = 10_000_000  # m²
PERSONS_MAX = 1_000_000
COMPLETION_YEARS = (1949, 2100)
MAX_ENTRANCES = 50
MAX_PROTECTION_UNITS = 200

# GB 50038 sizes personnel shelters at about 1 m² per person; above 1.5 a capacity
# is not credible (audits found capacities inflated tenfold).
MAX_PERSONS_PER_M2 = 1.5

SUBTYPE_OF = {s.value: f.value for f, subtypes in SUBTYPES_BY_FUNCTION.items() for s in subtypes}


# --- rules across fields -------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    field: str
    message: Message
    broken: Callable[[Any], bool]  # of a FacilityCreate, or anything with its fields
    # The same test of a row `t`, NULL-safe where the import may lack a field; None for a
    # rule the importer checks its own way.
    broken_sql: str | None = None
    # Values that are not fields of the record: Python reads them here, SQL binds them.
    params: dict[str, Any] = field(default_factory=dict)

    def explain(self, record: Any) -> str:
        return self.message(
            **{
                n: self.params[n] if n in self.params else getattr(record, n)
                for n in self.message.names
            }
        )

    def check(self, record: Any) -> None:
        if self.broken(record):
            raise InvalidInput.on(self.field, self.explain(record))

    def when_sql(self, row: str = "t") -> str:
        """`WHEN broken THEN message` over the row `row`, for a CASE of this field."""
        assert self.broken_sql is not None
        values = {n: f":{n}" if n in self.params else f"{row}.{n}" for n in self.message.names}
        return f"WHEN {self.broken_sql} THEN {self.message.sql(**values)}"

    def sql_params(self) -> dict[str, Any]:
        return {
            name: json.dumps(value) if isinstance(value, dict) else value
            for name, value in self.params.items()
        }


def _not_above(smaller: str, larger: str) -> Rule:
    def broken(record: Any) -> bool:
        low, high = getattr(record, smaller), getattr(record, larger)
        return low is not None and high is not None and low > high

    return Rule(
        smaller,
        Message(f"{{{smaller}}} m² exceeds {larger} {{{larger}}} m²"),
        broken,
        f"t.{smaller} > t.{larger}",
    )


STANDALONE_TYPE = Rule(
    "standalone_type",
    Message("is required for a standalone work and must be empty for an attached one"),
    lambda r: (
        (r.construction_form == ConstructionForm.standalone) != (r.standalone_type is not None)
    ),
    "t.construction_form IS NOT NULL "
    "AND (t.construction_form = 'standalone') <> (t.standalone_type IS NOT NULL)",
)
WARTIME_SUBTYPE = Rule(
    "wartime_subtype",
    Message("{wartime_subtype} is not a kind of {wartime_function}"),
    lambda r: (
        bool(r.wartime_subtype)
        and r.wartime_subtype not in SUBTYPES_BY_FUNCTION[r.wartime_function]
    ),
    "t.wartime_subtype IS NOT NULL AND t.wartime_function IS NOT NULL "
    "AND CAST(:subtype_of AS jsonb) ->> t.wartime_subtype IS DISTINCT FROM t.wartime_function",
    {"subtype_of": SUBTYPE_OF},
)
USABLE_AREA = _not_above("usable_area", "building_area")
SHELTER_AREA = _not_above("shelter_area", "usable_area")
CAPACITY = Rule(
    "capacity_persons",
    Message(
        "{capacity_persons} persons on {shelter_area} m² of shelter area is over "
        "{ratio} persons per m²"
    ),
    lambda r: (
        bool(r.capacity_persons)
        and r.shelter_area is not None
        and r.capacity_persons > MAX_PERSONS_PER_M2 * r.shelter_area
    ),
    "t.capacity_persons > 0 AND t.shelter_area IS NOT NULL "
    "AND t.capacity_persons > :ratio * t.shelter_area",
    {"ratio": MAX_PERSONS_PER_M2},
)
VERIFIED_AT = Rule(
    "verified_at",
    Message("lies in the future"),
    lambda r: bool(r.verified_at) and r.verified_at > datetime.now(UTC),
    "t.verified_at > now()",
)


def repeated_names(units: Sequence[Any]) -> bool:
    names = [unit.name for unit in units]
    return len(set(names)) != len(names)


UNIT_NAMES = Rule(
    "protection_units",
    Message("unit names must be unique within a facility"),
    lambda r: repeated_names(r.protection_units),
)
# A total given with protection units must be their sum (the importer: imports.checks).
UNIT_TOTAL = Message("{value} disagrees with the sum over its protection units, {total}")

# Those the importer runs over its typed rows, in the order the API checks them.
ROW_RULES = (STANDALONE_TYPE, WARTIME_SUBTYPE, USABLE_AREA, SHELTER_AREA, CAPACITY, VERIFIED_AT)


# --- the registry code, by where the work lies ----------------------------------------------


@dataclass(frozen=True)
class RegistryCodeRule:
    """Which registry codes a work may carry. The national form is valid everywhere; a
    province, city or district may register its local form (肥人防2019-012 in Hefei) in
    the table registry_code_form, which admins edit (app.code_forms), and the form of a
    work's most specific division that has one is valid besides. One SQL expression serves
    the API (`check`, a query of one row) and the importer (over every staged row), so
    both test with PostgreSQL's regular expressions, the ones a form is checked with when
    an admin registers it."""

    field: str = "code"
    national: str = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$"
    national_only: Message = Message(
        "{code} is not in the national registry code form {national} (3 to 40 letters, "
        'digits, "-" or "_"), and {division} has no local form'
    )
    neither: Message = Message(
        "{code} matches neither the registry code form of {division}, {pattern} "
        "(e.g. {example}), nor the national form {national}"
    )

    def problem_sql(self, code: str, province: str, city: str, district: str) -> str:
        """A text expression: the reason the code `code` does not suit a work in these
        divisions (SQL expressions of their codes, NULL where not known), or NULL. Binds
        :national_code."""
        places = f"ARRAY[{district}, {city}, {province}]::text[]"
        named = "d.name || ' (' || d.code || ')'"
        return f"""(SELECT CASE WHEN form.pattern IS NULL
                      THEN {self.national_only.sql(code=code, national=":national_code", division=f"coalesce({named}, '-')")}
                      ELSE {self.neither.sql(code=code, national=":national_code", division="form.division", pattern="form.pattern", example="form.example")} END
            FROM (SELECT coalesce({district}, {city}, {province}) AS finest) AS here
            LEFT JOIN division d ON d.code = here.finest
            LEFT JOIN LATERAL (
                SELECT f.pattern, f.example, fd.name || ' (' || fd.code || ')' AS division
                FROM registry_code_form f JOIN division fd ON fd.code = f.admin_code
                WHERE f.admin_code = ANY({places})
                ORDER BY array_position({places}, CAST(f.admin_code AS text)) LIMIT 1
            ) AS form ON true
            WHERE {code} !~ :national_code AND NOT coalesce({code} ~ form.pattern, false))"""

    def params(self) -> dict[str, Any]:
        return {"national_code": self.national}

    def check(
        self, connection: Any, *, code: str, province: str, city: str | None, district: str | None
    ) -> None:
        """For one work about to be stored in these divisions (a Session or Connection)."""
        sql = self.problem_sql(
            "CAST(:code AS text)",
            "CAST(:province AS text)",
            "CAST(:city AS text)",
            "CAST(:district AS text)",
        )
        problem = connection.execute(
            text(f"SELECT {sql}"),
            {
                **self.params(),
                "code": code,
                "province": province,
                "city": city,
                "district": district,
            },
        ).scalar()
        if problem is not None:
            raise InvalidInput.on(self.field, problem)


REGISTRY_CODE = RegistryCodeRule()
