"""The columns a file may carry, how Chinese headers and values map onto them, and the
column order of every export. The limits are facilities.rules', which the API's models
use as well; here they become set-based SQL over a million rows."""

import enum
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.core import jsonbody
from app.core.errors import BadRequest
from app.core.schemas import NUL, NUL_MESSAGE
from app.facilities.models import ConventionalLevel, Facility, NuclearLevel
from app.facilities.rules import (
    AREA_MAX,
    COMPLETION_YEARS,
    PERSONS_MAX,
    SHORT_TEXT_MAX,
    TEXT_MAX,
)


class Kind(enum.Enum):
    code = "code"
    text = "text"
    phone = "phone"
    admin_code = "admin_code"
    choice = "choice"
    decimal = "decimal"
    integer = "integer"
    timestamp = "timestamp"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    max_length: int = SHORT_TEXT_MAX
    low: float = 0
    high: float = 0
    choices: type[enum.StrEnum] | None = None
    # Chinese (and other) spellings of the enum values, matched case-insensitively.
    labels: dict[str, str] = field(default_factory=dict)


def _choice(name: str, labels: dict[str, str], **kw) -> Column:
    """A column of one of the values the facility table accepts in its column `name`."""
    choices = Facility.__table__.c[name].type.enum_class
    return Column(name, Kind.choice, choices=choices, labels=labels, **kw)


SUBTYPE_LABELS = {
    "中心医院": "central_hospital",
    "急救医院": "emergency_hospital",
    "救护站": "aid_station",
    "专业队队员掩蔽部": "team_shelter",
    "队员掩蔽部": "team_shelter",
    "专业队装备掩蔽部": "equipment_shelter",
    "装备掩蔽部": "equipment_shelter",
    "一等人员掩蔽所": "class_1_shelter",
    "一等人员掩蔽工程": "class_1_shelter",
    "一等人员掩蔽部": "class_1_shelter",
    "二等人员掩蔽所": "class_2_shelter",
    "二等人员掩蔽工程": "class_2_shelter",
    "二等人员掩蔽部": "class_2_shelter",
    "区域电站": "power_station",
    "区域供水站": "water_station",
    "物资库": "supply_depot",
    "食品站": "food_station",
    "疏散干道": "evacuation_trunk",
    "连接通道": "connecting_passage",
    "警报站": "alarm_station",
    "其他": "other",
}

# Facility columns in the order of the API document (less ids and row timestamps, which
# belong to one database and would make two exports of the same data differ).
COLUMNS: tuple[Column, ...] = (
    Column("code", Kind.code, required=True),
    Column("name", Kind.text, required=True),
    Column("address", Kind.text, required=True, max_length=TEXT_MAX),
    Column("admin_code", Kind.admin_code),
    _choice(
        "construction_form",
        {"结建": "attached", "附建": "attached", "防空地下室": "attached", "单建": "standalone"},
        required=True,
    ),
    _choice(
        "standalone_type",
        {"掘开式": "cut_and_cover", "坑道式": "tunnel", "地道式": "gallery"},
    ),
    _choice(
        "wartime_function",
        {
            "指挥工程": "command_post",
            "医疗救护工程": "medical_aid",
            "防空专业队工程": "professional_team",
            "人员掩蔽工程": "personnel_shelter",
            "配套工程": "supporting",
        },
        required=True,
    ),
    _choice("wartime_subtype", SUBTYPE_LABELS),
    _choice("nuclear_level", {f"核{v.value}".lower(): v.value for v in NuclearLevel}),
    _choice("conventional_level", {f"常{v.value}": v.value for v in ConventionalLevel}),
    _choice(
        "chemical_class",
        {
            **{k: v for k, v in zip("甲乙丙丁", "ABCD", strict=True)},
            **{f"{k}级": v for k, v in zip("甲乙丙丁", "ABCD", strict=True)},
        },
    ),
    Column("building_area", Kind.decimal, high=AREA_MAX),
    Column("usable_area", Kind.decimal, high=AREA_MAX),
    Column("shelter_area", Kind.decimal, high=AREA_MAX),
    Column("capacity_persons", Kind.integer, high=PERSONS_MAX),
    _choice(
        "capacity_basis",
        {
            "面积折算": "area_norm",
            "设计": "design",
            "实测": "survey",
            "核查": "survey",
            "估算": "estimate",
        },
    ),
    Column("floors_below_ground", Kind.integer, low=1, high=10),
    Column("completion_year", Kind.integer, low=COMPLETION_YEARS[0], high=COMPLETION_YEARS[1]),
    Column("owner_unit", Kind.text),
    Column("managing_unit", Kind.text),
    Column("managing_authority", Kind.text),
    Column("keyholder_name", Kind.text),
    Column("keyholder_phone", Kind.phone),
    _choice(
        "status",
        {
            "规划": "planned",
            "拟建": "planned",
            "在建": "under_construction",
            "在用": "in_service",
            "使用中": "in_service",
            "已建成": "in_service",
            "停用": "suspended",
            "报废": "decommissioned",
            "废弃": "decommissioned",
        },
        required=True,
    ),
    # Without this column a stored work keeps its visibility; an empty cell, or a new work
    # without the column, gets the default of its function (models.default_visibility).
    _choice(
        "visibility",
        {
            "公开": "public",
            "是": "public",
            "不公开": "restricted",
            "否": "restricted",
            "内部": "restricted",
            "涉密": "restricted",
        },
    ),
    Column("conversion_hours", Kind.integer, high=8760),
    Column("peacetime_parking_spaces", Kind.integer, high=100_000),
    Column("data_source", Kind.text),
    Column("verified_at", Kind.timestamp),
    Column("verified_by", Kind.text),
)
BY_NAME = {c.name: c for c in COLUMNS}

# Columns that are not facility fields but feed them.
LON, LAT, WKT = "lon", "lat", "wkt"
FOOTPRINT, ENTRANCES, UNITS = "footprint", "entrances", "protection_units"
PROTECTION = "protection"  # "核6/常6": nuclear and conventional level in one cell
COMPLETION_DATE = "completion_date"  # 竣工日期: its year is the completion year
SOURCE_ONLY = (LON, LAT, WKT, FOOTPRINT, ENTRANCES, UNITS, PROTECTION, COMPLETION_DATE)
# Derived by the registry, so an import reads past them (they are in every export).
DERIVED = ("id", "province_code", "city_code", "district_code", "created_at", "updated_at")
STAGED = tuple(c.name for c in COLUMNS) + (PROTECTION, COMPLETION_DATE)

# The headers offices use (from real registries' field lists), and the field names themselves.
DEFAULT_HEADERS: dict[str, str] = {
    **{name: name for name in (*STAGED, *SOURCE_ONLY)},
    "工程名称": "name",
    "项目名称": "name",
    "名称": "name",
    "工程编号": "code",
    "工程编码": "code",
    "登记编号": "code",
    "编号": "code",
    "地址": "address",
    "工程地址": "address",
    "详细地址": "address",
    "坐落位置": "address",
    "行政区划代码": "admin_code",
    "区划代码": "admin_code",
    "行政区划": "admin_code",
    "经度": "lon",
    "x": "lon",
    "longitude": "lon",
    "lng": "lon",
    "纬度": "lat",
    "y": "lat",
    "latitude": "lat",
    "geometry": "wkt",
    "几何": "wkt",
    "坐标": "wkt",
    "建设形式": "construction_form",
    "工程类型": "construction_form",
    "单建类型": "standalone_type",
    "单建形式": "standalone_type",
    "战时功能": "wartime_function",
    "战时用途": "wartime_function",
    "战时功能细类": "wartime_subtype",
    "工程类别": "wartime_subtype",
    "防护等级": "protection",
    "抗力等级": "protection",
    "核防护等级": "nuclear_level",
    "核抗力等级": "nuclear_level",
    "常规武器抗力等级": "conventional_level",
    "常防护等级": "conventional_level",
    "防化等级": "chemical_class",
    "防化级别": "chemical_class",
    "建筑面积": "building_area",
    "使用面积": "usable_area",
    "掩蔽面积": "shelter_area",
    "防护面积": "shelter_area",
    "掩蔽人数": "capacity_persons",
    "掩蔽容量": "capacity_persons",
    "人数核定依据": "capacity_basis",
    "容量依据": "capacity_basis",
    "地下层数": "floors_below_ground",
    "层数": "floors_below_ground",
    "竣工年份": "completion_year",
    "建成年份": "completion_year",
    "竣工日期": "completion_date",
    "竣工时间": "completion_date",
    "产权单位": "owner_unit",
    "权属单位": "owner_unit",
    "管理单位": "managing_unit",
    "使用管理单位": "managing_unit",
    "主管部门": "managing_authority",
    "主管单位": "managing_authority",
    "联系人": "keyholder_name",
    "钥匙保管人": "keyholder_name",
    "值班电话": "keyholder_phone",
    "联系电话": "keyholder_phone",
    "公开属性": "visibility",
    "是否公开": "visibility",
    "使用状态": "status",
    "工程状态": "status",
    "状态": "status",
    "平战转换时限": "conversion_hours",
    "转换时限": "conversion_hours",
    "停车位": "peacetime_parking_spaces",
    "车位数": "peacetime_parking_spaces",
    "停车泊位": "peacetime_parking_spaces",
    "数据来源": "data_source",
    "核查时间": "verified_at",
    "采集日期": "verified_at",
    "数据采集日期": "verified_at",
    "核查人": "verified_by",
    "采集人": "verified_by",
    "面积": "footprint",
    "占地范围": "footprint",
    "出入口": "entrances",
    "防护单元": "protection_units",
    # Derived, read past: every XLSX export carries them.
    "省级区划代码": "province_code",
    "市级区划代码": "city_code",
    "县级区划代码": "district_code",
}

# Units and notes in headers: 建筑面积(㎡), 掩蔽面积（平方米）, 转换时限/小时.
_HEADER_NOISE = re.compile(r"[(（\[【].*?[)）\]】]|/.*$|\s+")


def normalise_header(header: str) -> str:
    return _HEADER_NOISE.sub("", header.replace("\ufeff", "")).lower()


def read_mapping(path: Path, known: set[str] | None = None) -> dict[str, str]:
    """The entries of a JSON or TOML mapping file, checked (check_mapping)."""
    try:
        raw = path.read_bytes()
        extra = (
            tomllib.loads(raw.decode("utf-8-sig"))
            if path.suffix.lower() == ".toml"
            else jsonbody.loads(raw.decode("utf-8-sig"), what=f"mapping file {path}")
        )
    except (OSError, ValueError) as exc:
        raise BadRequest(f"mapping file {path}: {exc}") from exc
    return check_mapping(extra, source=f"mapping file {path}", known=known)


def check_mapping(extra: object, *, source: str, known: set[str] | None = None) -> dict[str, str]:
    """Mapping entries {"header": "field"} as given, where a field of "" ignores that
    column; anything else is a BadRequest that names `source` and what is wrong. `known`:
    the fields of the table imported, facilities' by default."""
    if not isinstance(extra, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
    ):
        raise BadRequest(f"{source}: must be an object of header -> field name")
    known = known or set(STAGED) | set(SOURCE_ONLY)
    for header, target in extra.items():
        # The mapping is kept with the import job.
        if NUL in header:
            raise BadRequest(f"{source}: {header!r} {NUL_MESSAGE}")
        if target and target not in known:
            raise BadRequest(
                f"{source}: {header!r} maps to {target!r}, which is not a field "
                f"(fields: {', '.join(sorted(known))})"
            )
    return extra


def header_mapping(extra: dict[str, str] | None) -> dict[str, str]:
    """Normalised header -> field: the default mapping, extended or overridden by checked
    entries."""
    mapping = {normalise_header(k): v for k, v in DEFAULT_HEADERS.items()}
    mapping.update({normalise_header(k): v for k, v in (extra or {}).items()})
    return mapping


def choice_labels(column: Column) -> dict[str, str]:
    """Lower-cased spelling -> stored value, for a JSON lookup in SQL."""
    assert column.choices is not None
    labels = {m.value.lower(): m.value for m in column.choices}
    labels.update({k.lower(): v for k, v in column.labels.items()})
    return labels
