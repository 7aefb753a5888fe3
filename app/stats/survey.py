"""The potential survey (人防工程潜力调查) as an .xlsx workbook: one sheet per table, a row per
division from the requested one down to its districts, Chinese headers.

The survey's forms are not published in full; the tables follow what it is known to
count (DOMAIN.md, Statistics): works by division, wartime function, construction form
and peacetime use, with their areas and capacity. Every figure comes from one ROLLUP over
the per-facility figures, so a city's row is the sum of its district rows, the row of
works placed in no district included, and a province's the sum of its cities'."""

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core import dates
from app.divisions.models import DivisionLevel
from app.facilities.models import ConstructionForm, WartimeFunction
from app.stats import repository
from app.stats.repository import StatsFilter
from app.uses.models import UseType

FUNCTION_NAMES = {
    WartimeFunction.command_post: "指挥工程",
    WartimeFunction.medical_aid: "医疗救护工程",
    WartimeFunction.professional_team: "防空专业队工程",
    WartimeFunction.personnel_shelter: "人员掩蔽工程",
    WartimeFunction.supporting: "配套工程",
}
FORM_NAMES = {ConstructionForm.attached: "结建（防空地下室）", ConstructionForm.standalone: "单建"}
USE_NAMES = {
    UseType.parking: "停车",
    UseType.ev_charging: "充电",
    UseType.gym: "健身",
    UseType.cool_spot: "纳凉点",
    UseType.express_delivery: "快递驿站",
    UseType.cultural_room: "文化活动室",
    UseType.convenience_store: "便利店",
    UseType.food_market: "农贸市场",
    UseType.warehouse: "仓储",
    UseType.other: "其他",
}
LEVEL_NAMES = {"province": "省", "city": "市", "district": "县（区）"}
UNPLACED = "（未落到下级区划）"


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    columns: tuple[str, ...]  # keys of a rollup row, after code, name and level


TABLES = (
    Table(
        "表1 人防工程总量",
        (
            "工程数量（处）",
            "建筑面积（㎡）",
            "掩蔽面积（㎡）",
            "掩蔽人数（人）",
            "停车位（个）",
            "充电桩（个）",
        ),
        ("works", "building_area", "shelter_area", "capacity", "parking_spaces", "charging_piles"),
    ),
    Table(
        "表2 按战时功能分类（处）",
        tuple(FUNCTION_NAMES.values()),
        tuple(f"function_{f.value}" for f in FUNCTION_NAMES),
    ),
    Table(
        "表3 按战时功能的掩蔽面积（㎡）",
        tuple(FUNCTION_NAMES.values()),
        tuple(f"area_{f.value}" for f in FUNCTION_NAMES),
    ),
    Table(
        "表4 按建设形式分类",
        tuple(f"{name}（处）" for name in FORM_NAMES.values())
        + tuple(f"{name}建筑面积（㎡）" for name in FORM_NAMES.values()),
        tuple(f"form_{f.value}" for f in FORM_NAMES)
        + tuple(f"form_area_{f.value}" for f in FORM_NAMES),
    ),
    Table(
        "表5 平时利用情况（处）",
        tuple(USE_NAMES.values()),
        tuple(f"use_{u.value}" for u in USE_NAMES),
    ),
)


def _rollup(session: Session, where: StatsFilter, *, as_of: date | None) -> list[dict[str, Any]]:
    condition, params = where.where()
    relation, source_params = repository.source(as_of=as_of)
    figures = [
        "count(*) AS works",
        "coalesce(sum(building_area), 0) AS building_area",
        "coalesce(sum(shelter_area), 0) AS shelter_area",
        "coalesce(sum(capacity_persons), 0) AS capacity",
        "coalesce(sum(parking_spaces), 0) AS parking_spaces",
        "coalesce(sum(charging_piles), 0) AS charging_piles",
        *(
            f"count(*) FILTER (WHERE wartime_function = '{f}') AS function_{f}"
            for f in FUNCTION_NAMES
        ),
        *(
            f"coalesce(sum(shelter_area) FILTER (WHERE wartime_function = '{f}'), 0) AS area_{f}"
            for f in FUNCTION_NAMES
        ),
        *(f"count(*) FILTER (WHERE construction_form = '{f}') AS form_{f}" for f in FORM_NAMES),
        *(
            f"coalesce(sum(building_area) FILTER (WHERE construction_form = '{f}'), 0)"
            f" AS form_area_{f}"
            for f in FORM_NAMES
        ),
        *(f"count(*) FILTER (WHERE use_{u}) AS use_{u}" for u in USE_NAMES),
    ]
    sql = f"""
SELECT province_code, city_code, district_code,
    GROUPING(city_code) = 1 AS city_total, GROUPING(district_code) = 1 AS district_total,
    {", ".join(figures)}
FROM {relation}
WHERE {condition}
GROUP BY ROLLUP (province_code, city_code, district_code)
HAVING GROUPING(province_code) = 0
"""
    rows = session.execute(text(sql), {**params, **source_params}).mappings()
    return [dict(row) for row in rows]


def _ordered(rows: list[dict[str, Any]], names: dict[str, str]) -> list[tuple[str, str, str, dict]]:
    """(code, name, level, row): each province, its cities each followed by its districts;
    works placed in no finer division under the coarser one's code and UNPLACED."""
    out = []

    def key(row: dict) -> tuple:
        return (
            row["province_code"],
            not row["city_total"],
            row["city_code"] or "~",
            not row["district_total"],
            row["district_code"] or "~",
        )

    for row in sorted(rows, key=key):
        if row["city_total"]:
            code, level = row["province_code"], "province"
            out.append((code, names.get(code, code), LEVEL_NAMES[level], row))
        elif row["district_total"]:
            code = row["city_code"]
            if code is None:
                out.append((row["province_code"], UNPLACED, LEVEL_NAMES["city"], row))
            else:
                out.append((code, names.get(code, code), LEVEL_NAMES["city"], row))
        elif row["city_code"] is not None:
            code = row["district_code"]
            if code is None:
                out.append((row["city_code"], UNPLACED, LEVEL_NAMES["district"], row))
            else:
                out.append((code, names.get(code, code), LEVEL_NAMES["district"], row))
    return out


def workbook(session: Session, where: StatsFilter, *, as_of: date | None) -> bytes:
    """The survey tables for the divisions `where` selects (its admin_code and below)."""
    rows = _rollup(session, where, as_of=as_of)
    names = {code: name for code, name in session.execute(text("SELECT code, name FROM division"))}
    ordered = _ordered(rows, names)
    if where.level is not None and where.level != DivisionLevel.province:
        # Asked for a city or a district: its own row and below, not its province's.
        start = next((i for i, (code, *_) in enumerate(ordered) if code == where.admin_code), 0)
        ordered = ordered[start:]
    book = Workbook()
    book.remove(book.active)
    day = (as_of or dates.today()).isoformat()
    for table in TABLES:
        sheet = book.create_sheet(table.title.split(" ")[0])
        sheet.append([table.title, f"统计时点：{day}"])
        sheet.append(["行政区划代码", "行政区划名称", "级别", *table.headers])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for code, name, level, row in ordered:
            sheet.append([code, name, level, *(_number(row[c]) for c in table.columns)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _number(value: Any) -> int | float:
    return int(value) if value == int(value) else float(value)
