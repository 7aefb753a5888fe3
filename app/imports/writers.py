"""Writing the rows of uses, signs and maintenance records (imports.records) through the
API's models and services, a savepoint per row (or per maintenance record).

Matching, so that the same file twice changes nothing the second time and an export
imports back unchanged: a row stands for the stored use (sign) of its facility with the
same type and name (kind and description), else for one of the same type (kind) that no
other row took, in the order of their ids; else it adds one. A stored item no row stands
for is left alone. A column the file lacks leaves the stored values alone. Maintenance
records are append-only: a record equal to a stored one (same kind, day, person, note and
checks) is left alone, any other is added."""

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import AppError, validation_errors
from app.core.geo import CoordSys, position_to_wgs84
from app.imports.tables import Table
from app.maintenance import service as maintenance
from app.maintenance.models import MaintenanceItem
from app.maintenance.schemas import RecordCreate
from app.signage import repository as signs_repository
from app.signage import service as signage
from app.signage.models import Sign
from app.signage.schemas import SignCreate
from app.uses import repository as uses_repository
from app.uses import service as uses
from app.uses.models import PeacetimeUse, UseType
from app.uses.schemas import CREATE_MODELS

DAYS = ("installed_on", "inspected_on", "performed_on")
USE_FIELDS = ("name", "opening_hours", "contact_name", "contact_phone", "fee", "attributes")
SIGN_FIELDS = ("status", "description", "installed_on", "inspected_on", "location")
RECORD_FIELDS = ("kind", "performed_on", "performed_by", "note")
CHECK_FIELDS = ("item_code", "result", "severity", "finding")


class RowError(Exception):
    """(field, value, reason) lines of one row."""

    def __init__(self, lines: list[tuple[str, str | None, str]]) -> None:
        super().__init__(lines)
        self.lines = lines


class Writer:
    def __init__(
        self,
        session: Session,
        *,
        principal: Any,
        given: set[str],
        coordsys: CoordSys,
        errors: list[tuple],
    ) -> None:
        self.session = session
        self.principal = principal
        self.given = given
        self.coordsys = coordsys
        self.errors = errors
        self.inserted = self.updated = self.unchanged = 0

    @property
    def counts(self) -> tuple[int, int, int]:
        return self.inserted, self.updated, self.unchanged

    def write(self, table: Table, rows: list[Any]) -> None:
        for facility_id, mine in grouped(rows):
            if table == Table.uses:
                stored = uses_repository.list_for_facility(self.session, facility_id)
                for row, use in pair(mine, stored, "type", "name"):
                    self._row(row, lambda r=row, u=use: self._use(r, u))
            elif table == Table.signs:
                stored = signs_repository.signs_of(self.session, facility_id)
                for row, sign in pair(mine, stored, "kind", "description"):
                    self._row(row, lambda r=row, s=sign: self._sign(r, s))
            else:
                self._records(facility_id, mine)

    def _row(self, row: Any, write: Callable[[], str]) -> None:
        """One row in a savepoint: its outcome counted, or its errors reported."""
        try:
            with self.session.begin_nested():
                outcome = write()
        except RowError as exc:
            self.errors += [(row.number, *line) for line in exc.lines]
            return
        setattr(self, outcome, getattr(self, outcome) + 1)

    # --- peacetime uses ---------------------------------------------------------------

    def _use(self, row: Any, use: PeacetimeUse | None) -> str:
        values = {f: getattr(use, f) for f in USE_FIELDS} if use else {}
        values.update({f: row.cells.get(f) for f in USE_FIELDS if f in self.given})
        if isinstance(values.get("attributes"), str):
            values["attributes"] = _json_object(values["attributes"], row)
        elif values.get("attributes") is None:
            values.pop("attributes", None)
        model = CREATE_MODELS[UseType(row.cells["type"])]
        data = _valid(lambda: model.model_validate({"type": row.cells["type"], **values}), row)
        new = data.model_dump(mode="json", exclude={"type", "attributes"})
        new["attributes"] = data.attributes.model_dump(mode="json", exclude_none=True)
        if use is None:
            _service(
                lambda: uses.create_use(
                    self.session, row.facility_id, data, actor=self.principal.actor
                ),
                row,
            )
            return "inserted"
        stored = {f: getattr(use, f) for f in USE_FIELDS}
        stored["attributes"] = _as_model_reads(model, use.type, stored)
        patch = {f: new[f] for f in USE_FIELDS if new[f] != stored[f]}
        if not patch:
            return "unchanged"
        _service(
            lambda: uses.update_use(
                self.session,
                row.facility_id,
                use.id,
                patch,
                actor=self.principal.actor,
                if_match="*",
            ),
            row,
        )
        return "updated"

    # --- signs ------------------------------------------------------------------------

    def _sign(self, row: Any, sign: Sign | None) -> str:
        stored = signage.to_sign_read(sign).model_dump(mode="json") if sign else {}
        values = {f: stored[f] for f in SIGN_FIELDS} if sign else {}
        values.update({f: row.cells.get(f) for f in SIGN_FIELDS[:-1] if f in self.given})
        if {"lon", "lat"} <= self.given:
            values["location"] = _point(row, self.coordsys)
        body = {"kind": row.cells["kind"], **values, "photos": stored.get("photos", [])}
        data = _valid(lambda: SignCreate.model_validate(body), row)
        if sign is None:
            _service(
                lambda: signage.create_sign(
                    self.session, row.facility_id, data, principal=self.principal
                ),
                row,
            )
            return "inserted"
        new = data.model_dump(mode="json")
        changed = [f for f in SIGN_FIELDS if new[f] != stored[f]]
        if not changed:
            return "unchanged"
        # As a PATCH sends them: the position as GeoJSON, the rest as the model reads them.
        patch = {f: new[f] if f == "location" else getattr(data, f) for f in changed}
        _service(
            lambda: signage.update_sign(
                self.session,
                row.facility_id,
                sign.id,
                patch,
                principal=self.principal,
                if_match="*",
            ),
            row,
        )
        return "updated"

    # --- maintenance records ------------------------------------------------------------

    def _records(self, facility_id: int, rows: list[Any]) -> None:
        """Rows of the same kind, day, person and note make one record, a check a row."""
        by_record: dict[tuple, list[Any]] = {}
        for row in rows:
            by_record.setdefault(tuple(row.cells.get(f) for f in RECORD_FIELDS), []).append(row)
        stored = {
            _record_key(r.model_dump(mode="json"))
            for r in maintenance.list_records(self.session, facility_id)
            if r.corrected_by_id is None
        }
        names = self._item_names()
        for key, mine in by_record.items():
            checks = [
                {
                    **{f: r.cells.get(f) for f in CHECK_FIELDS if r.cells.get(f) is not None},
                    "item_code": names.get(r.cells["item_code"], r.cells["item_code"]),
                }
                for r in mine
            ]
            body = {**dict(zip(RECORD_FIELDS, key, strict=True)), "checks": checks}
            try:
                with self.session.begin_nested():
                    data = _valid(lambda b=body: RecordCreate.model_validate(b), mine[0])
                    if _record_key(data.model_dump(mode="json")) in stored:
                        self.unchanged += 1
                        continue
                    _service(
                        lambda d=data: maintenance.create_record(
                            self.session, facility_id, d, principal=self.principal
                        ),
                        mine[0],
                    )
            except RowError as exc:
                self.errors += _by_check(exc.lines, mine)
                continue
            self.inserted += 1

    def _item_names(self) -> dict[str, str]:
        """The catalogue's Chinese names, which ledgers write, to its codes."""
        rows = self.session.execute(select(MaintenanceItem.name_zh, MaintenanceItem.code))
        return {name: code for name, code in rows}


def grouped(rows: list) -> list[tuple[int, list]]:
    """Rows by facility, in the order the file first names each."""
    by_facility: dict[int, list] = {}
    for row in rows:
        by_facility.setdefault(row.facility_id, []).append(row)
    return list(by_facility.items())


def pair(rows: list, stored: list, kind: str, name: str) -> list[tuple[Any, Any]]:
    """Each row with the stored item it stands for (None for a new one): by kind and name,
    then by kind alone among the items left, in the order of their ids."""
    left = sorted(stored, key=lambda item: item.id)
    taken: dict[int, Any] = {}
    for loose in (False, True):
        for row in rows:
            if row.number in taken:
                continue
            for item in left:
                if getattr(item, kind) == row.cells[kind] and (
                    loose or getattr(item, name) == row.cells.get(name)
                ):
                    taken[row.number] = item
                    left.remove(item)
                    break
    return [(row, taken.get(row.number)) for row in rows]


def _record_key(record: dict[str, Any]) -> tuple:
    checks = sorted(tuple(str(c.get(f)) for f in CHECK_FIELDS) for c in record["checks"])
    return (*(record[f] for f in RECORD_FIELDS), tuple(checks))


def _by_check(lines: list[tuple], rows: list[Any]) -> list[tuple]:
    """A record's errors on the rows they concern: checks.N.field on the row of check N."""
    placed = []
    for field, value, reason in lines:
        parts = field.split(".")
        if (
            parts[0] == "checks"
            and len(parts) > 2
            and parts[1].isdigit()
            and int(parts[1]) < len(rows)
        ):
            row = rows[int(parts[1])]
            placed.append((row.number, parts[2], row.raw.get(parts[2]), reason))
        else:
            placed += [(row.number, field, value, reason) for row in rows]
    return placed


def _as_model_reads(model: Any, use_type: UseType, stored: dict[str, Any]) -> Any:
    """A stored use's attributes as the row's are compared: through the model, so that
    attributes stored without a defaulted one (written before it existed, or by the demo
    load) equal the same attributes exported and read back, which the model completes."""
    try:
        data = model.model_validate({"type": use_type, **stored})
    except ValidationError:
        return stored["attributes"]
    return data.attributes.model_dump(mode="json", exclude_none=True)


def _valid(build: Callable[[], Any], row: Any) -> Any:
    try:
        return build()
    except ValidationError as exc:
        lines = []
        for error in validation_errors(list(exc.errors())):
            top, _, rest = error.field.partition(".")
            lines.append(
                (top, row.raw.get(top), f"{rest}: {error.message}" if rest else error.message)
            )
        raise RowError(lines) from exc


def _service(call: Callable[[], Any], row: Any) -> None:
    try:
        call()
    except AppError as exc:
        lines = [(e.field, row.raw.get(e.field), e.message) for e in exc.errors or []]
        raise RowError(lines or [("", None, exc.detail)]) from exc
    except (IntegrityError, DataError) as exc:
        # A constraint the service does not word (the savepoint takes the row back).
        raise RowError([("", None, str(exc.orig).splitlines()[0])]) from exc


def _json_object(cell: str, row: Any) -> dict[str, Any]:
    try:
        value = json.loads(cell)
    except ValueError as exc:
        raise RowError([("attributes", cell, f"is not JSON: {exc}")]) from exc
    if not isinstance(value, dict):
        raise RowError([("attributes", cell, "must be a JSON object")])
    return value


def _point(row: Any, coordsys: CoordSys) -> dict[str, Any] | None:
    lon, lat = row.cells.get("lon"), row.cells.get("lat")
    if lon is None and lat is None:
        return None
    try:
        position = [float(lon or ""), float(lat or "")]
    except ValueError as exc:
        raise RowError([("location", f"{lon}/{lat}", "is not a pair of numbers")]) from exc
    return {"type": "Point", "coordinates": list(position_to_wgs84(*position, coordsys))}
