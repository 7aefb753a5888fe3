"""The tables a file may fill besides facilities: peacetime uses, signs and maintenance
records, each row naming its facility by registry code. Their columns, the headers
offices (and the XLSX export's sheets) give them, and the Chinese spellings of their
choices. The rules are the API's models' (imports.records)."""

import enum
from dataclasses import dataclass, field

from app.imports import fields
from app.maintenance.models import CheckResult, RecordKind, Severity
from app.signage.models import SignKind, SignStatus
from app.uses.models import UseType


class Table(enum.StrEnum):
    facilities = "facilities"
    uses = "uses"
    signs = "signs"
    maintenance = "maintenance"


@dataclass(frozen=True)
class TableColumn:
    name: str
    headers: tuple[str, ...]  # the first is the one the XLSX export writes
    choices: type[enum.StrEnum] | None = None
    labels: dict[str, str] = field(default_factory=dict)  # Chinese spelling -> value

    def value_of(self, cell: str) -> str | None:
        """The stored value a choice cell names, else None."""
        assert self.choices is not None
        spelled = cell.strip().lower()
        for member in self.choices:
            if member.value.lower() == spelled:
                return member.value
        return self.labels.get(cell.strip())


CODE = TableColumn("code", ("工程编号", "工程编码", "登记编号", "编号"))
LOCATION = (TableColumn("lon", ("经度", "x", "lng")), TableColumn("lat", ("纬度", "y")))

USE_COLUMNS = (
    CODE,
    TableColumn(
        "type",
        ("用途类型", "平时用途", "用途"),
        UseType,
        {
            "停车": "parking",
            "停车场": "parking",
            "地下停车场": "parking",
            "充电": "ev_charging",
            "充电站": "ev_charging",
            "健身": "gym",
            "健身房": "gym",
            "纳凉点": "cool_spot",
            "快递驿站": "express_delivery",
            "快递": "express_delivery",
            "文化活动室": "cultural_room",
            "便利店": "convenience_store",
            "农贸市场": "food_market",
            "菜市场": "food_market",
            "仓库": "warehouse",
            "仓储": "warehouse",
            "其他": "other",
        },
    ),
    TableColumn("name", ("名称", "用途名称")),
    TableColumn("opening_hours", ("开放时间", "营业时间")),
    TableColumn("contact_name", ("联系人",)),
    TableColumn("contact_phone", ("联系电话", "电话")),
    TableColumn("fee", ("收费", "收费标准")),
    TableColumn("attributes", ("属性",)),  # JSON, as the export writes it
)

SIGN_COLUMNS = (
    CODE,
    TableColumn(
        "kind",
        ("标识类型", "标识种类"),
        SignKind,
        {
            "标识牌": "identification_plaque",
            "工程标识牌": "identification_plaque",
            "车辆出入口": "vehicle_entrance",
            "车行出入口": "vehicle_entrance",
            "人员出入口": "pedestrian_entrance",
            "人行出入口": "pedestrian_entrance",
            "指引": "direction",
            "导向": "direction",
            "平时用途": "peacetime_use",
            "平战转换": "conversion",
            "战时疏散": "wartime_evacuation",
            "总览图": "overview_board",
            "维护信息": "maintenance_board",
        },
    ),
    TableColumn(
        "status",
        ("状态", "标识状态"),
        SignStatus,
        {
            "缺失": "missing",
            "计划": "planned",
            "拟设": "planned",
            "已安装": "installed",
            "已设置": "installed",
            "在用": "installed",
            "损坏": "damaged",
            "已拆除": "removed",
        },
    ),
    TableColumn("description", ("说明", "描述", "备注")),
    TableColumn("installed_on", ("安装日期", "设置日期")),
    TableColumn("inspected_on", ("检查日期", "巡查日期")),
    *LOCATION,
)

MAINTENANCE_COLUMNS = (
    CODE,
    TableColumn(
        "kind",
        ("记录类型", "维护类型"),
        RecordKind,
        {
            "巡检": "inspection",
            "巡查": "inspection",
            "检查": "inspection",
            "维修": "repair",
            "设备测试": "equipment_test",
            "试运行": "equipment_test",
            "演练": "drill",
        },
    ),
    TableColumn("performed_on", ("日期", "维护日期", "检查日期")),
    TableColumn("performed_by", ("执行人", "维护人", "检查人")),
    TableColumn("note", ("备注",)),
    # A code of the catalogue (GET /v1/maintenance/items) or its Chinese name.
    TableColumn("item_code", ("检查项目", "维护项目", "项目编码")),
    TableColumn(
        "result",
        ("检查结果", "结果"),
        CheckResult,
        {"正常": "ok", "合格": "ok", "缺陷": "defect", "不合格": "defect", "未检查": "not_checked"},
    ),
    TableColumn(
        "severity",
        ("严重程度", "问题等级"),
        Severity,
        {"无": "none", "轻微": "minor", "一般": "minor", "较重": "major", "严重": "serious"},
    ),
    TableColumn("finding", ("发现问题", "问题描述")),
)

COLUMNS: dict[Table, tuple[TableColumn, ...]] = {
    Table.uses: USE_COLUMNS,
    Table.signs: SIGN_COLUMNS,
    Table.maintenance: MAINTENANCE_COLUMNS,
}
# The XLSX export's sheet of each table, which an import of a workbook reads by default.
SHEETS = {Table.facilities: "设施", Table.uses: "平时用途", Table.signs: "标识"}
# Without these, a row cannot be told apart from the others of its facility.
REQUIRED = {
    Table.uses: ("code", "type"),
    Table.signs: ("code", "kind", "status"),
    Table.maintenance: ("code", "kind", "performed_on", "performed_by", "item_code", "result"),
}


def known_fields(table: Table) -> set[str]:
    if table == Table.facilities:
        return set(fields.STAGED) | set(fields.SOURCE_ONLY)
    return {c.name for c in COLUMNS[table]}


def header_mapping(table: Table, extra: dict[str, str] | None) -> dict[str, str]:
    """Normalised header -> field, as fields.header_mapping for facilities."""
    if table == Table.facilities:
        return fields.header_mapping(extra)
    mapping = {fields.normalise_header(c.name): c.name for c in COLUMNS[table]}
    for column in COLUMNS[table]:
        mapping.update({fields.normalise_header(h): column.name for h in column.headers})
    mapping.update({fields.normalise_header(k): v for k, v in (extra or {}).items()})
    return mapping
