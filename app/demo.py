"""A deterministic demo data set of Anhui's civil air defense works, bulk-loaded with COPY.

The figures it must reproduce are the province's published ones for the end of 2023:
710,000 public parking spaces in civil air defense works, 55,300 of them added by works
completed in 2023. The default size of 6,000 facilities plays the whole province; any
other size keeps realistic per-facility figures and scales the totals with it (see
`_parking_targets`).

Rows go through PostgreSQL COPY in the text format, never through the ORM: a million
facilities with their entrances and protection units load in well under two minutes on
two cores, most of it index maintenance and foreign-key checks in the server.
"""

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import psycopg
from sqlalchemy import Connection, text

from app.facilities.models import (
    CapacityBasis,
    ChemicalClass,
    ConstructionForm,
    ConventionalLevel,
    EntranceKind,
    FacilityStatus,
    NuclearLevel,
    StandaloneType,
    WartimeFunction,
    WartimeSubtype,
    default_visibility,
)

PROVINCE_CODE = "340000"
DEFAULT_SIZE = 6000
DEFAULT_SEED = 20231231
# Anhui, end of 2023: public parking spaces in civil air defense works, and those added
# by works completed in 2023. DEFAULT_SIZE facilities stand for the whole province.
PROVINCE_PARKING_SPACES = 710_000
PARKING_SPACES_COMPLETED_2023 = 55_300
PARKING_YEAR = 2023

_ROWS_PER_COPY_BLOCK = 20_000
_KM_PER_DEGREE_LAT = 110.574
_KM_PER_DEGREE_LON_AT_EQUATOR = 111.320


def _words(spaced: str) -> tuple[str, ...]:
    return tuple(spaced.split())


# --- geography -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Cluster:
    """A built-up area: facilities fall around it in a Gaussian of sigma_km."""

    lon: float
    lat: float
    sigma_km: float
    weight: float
    # The division the cluster's facilities belong to. Hefei's urban clusters leave it
    # empty: their points take the nearest of the four urban districts instead.
    district_name: str = ""
    district_code: str | None = None


@dataclass(frozen=True)
class _City:
    code: str
    name: str
    # Permanent urban residents at the end of 2023, in 10,000s (approximate): facility
    # counts are proportional to it.
    urban_population: int
    clusters: tuple[_Cluster, ...]
    streets: tuple[str, ...]
    # Hill country: tunnel works (坑道式) are dug into hills, rare on the plains.
    hilly: bool = False

    @property
    def short_name(self) -> str:
        return self.name.removesuffix("市")


_HEFEI_URBAN_DISTRICTS = (  # code, name, centre
    ("340102", "瑶海区", 117.31, 31.86),
    ("340103", "庐阳区", 117.26, 31.88),
    ("340104", "蜀山区", 117.22, 31.84),
    ("340111", "包河区", 117.31, 31.79),
)

# Centres are WGS 84 and kept a few sigma inside the city (and so the province): a
# cluster's points are drawn at most _MAX_SIGMAS from its centre.
_MAX_SIGMAS = 2.5
CITIES: tuple[_City, ...] = (
    _City(
        "340100",
        "合肥市",
        842,
        (
            _Cluster(117.285, 31.865, 4.0, 0.22),  # old city, Luyang and Yaohai
            _Cluster(117.225, 31.825, 3.5, 0.16),  # government district
            _Cluster(117.300, 31.745, 3.5, 0.12),  # Binhu new district
            _Cluster(117.140, 31.835, 3.0, 0.08),  # high-tech zone
            _Cluster(117.215, 31.775, 3.0, 0.08),  # economic development zone
            _Cluster(117.345, 31.905, 3.0, 0.07),  # Xinzhan
            _Cluster(117.255, 31.920, 3.0, 0.05),  # northern Luyang
            _Cluster(117.150, 32.450, 2.0, 0.04, "长丰县", "340121"),
            _Cluster(117.469, 31.888, 2.5, 0.05, "肥东县", "340122"),
            _Cluster(117.157, 31.706, 2.5, 0.06, "肥西县", "340123"),
            _Cluster(117.287, 31.256, 2.0, 0.03, "庐江县", "340124"),
            _Cluster(117.850, 31.620, 2.5, 0.04, "巢湖市", "340181"),
        ),
        _words(
            "长江西路 长江中路 长江东路 黄山路 望江西路 潜山路 金寨路 马鞍山路 徽州大道"
            " 繁华大道 怀宁路 蒙城路 阜阳路 临泉路 当涂路 明光路 胜利路 包河大道 紫云路 庐州大道"
            " 天鹅湖路 习友路 翡翠路 玉兰大道 芜湖路 宁国路 合作化路 史河路 淠河路 清溪路"
            " 南二环路 北一环路 方兴大道 云谷路 滨湖大道 蜀山大道 科学大道 创新大道 望湖城路"
            " 铜陵北路"
        ),
    ),
    _City(
        "340200",
        "芜湖市",
        275,
        (
            _Cluster(118.370, 31.330, 2.5, 0.45, "镜湖区"),
            _Cluster(118.385, 31.300, 2.0, 0.20, "弋江区"),
            _Cluster(118.400, 31.350, 1.8, 0.25, "鸠江区"),
            _Cluster(118.575, 31.135, 2.0, 0.10, "湾沚区"),
        ),
        _words(
            "中山路 北京路 银湖路 赭山路 九华山路 长江路 弋江路 中江大道 黄山路 文化路 花津路"
            " 赤铸山路"
        ),
    ),
    _City(
        "340300",
        "蚌埠市",
        204,
        (
            _Cluster(117.375, 32.930, 2.5, 0.45, "蚌山区"),
            _Cluster(117.425, 32.920, 2.0, 0.25, "龙子湖区"),
            _Cluster(117.330, 32.930, 2.0, 0.18, "禹会区"),
            _Cluster(117.365, 32.985, 2.0, 0.12, "淮上区"),
        ),
        _words("胜利路 中荣街 涂山路 延安路 解放路 淮河路 东海大道 燕山路 南山路 朝阳路 黄山大道"),
        hilly=False,
    ),
    _City(
        "340400",
        "淮南市",
        200,
        (
            _Cluster(117.000, 32.635, 2.5, 0.55, "田家庵区"),
            _Cluster(116.870, 32.595, 2.0, 0.15, "谢家集区"),
            _Cluster(117.050, 32.640, 1.5, 0.12, "大通区"),
            _Cluster(116.970, 32.510, 2.0, 0.18, "田家庵区"),  # Shannan new district
        ),
        _words("洞山路 朝阳路 国庆路 舜耕路 淮舜路 龙湖路 广场路 人民路 学院路 山南大道"),
        hilly=True,
    ),
    _City(
        "340500",
        "马鞍山市",
        159,
        (
            _Cluster(118.500, 31.685, 2.0, 0.45, "花山区"),
            _Cluster(118.495, 31.655, 2.0, 0.35, "雨山区"),
            _Cluster(118.497, 31.571, 1.5, 0.20, "当涂县"),
        ),
        _words("湖南路 湖北路 雨山路 佳山路 花山路 解放路 红旗路 九华路 印山路 太白大道"),
        hilly=True,
    ),
    _City(
        "340600",
        "淮北市",
        132,
        (
            _Cluster(116.790, 33.945, 1.6, 0.60, "相山区"),
            _Cluster(116.815, 33.900, 1.5, 0.20, "烈山区"),
            _Cluster(116.845, 33.975, 1.2, 0.20, "杜集区"),
        ),
        _words("淮海路 人民路 孟山路 相山路 古城路 梧桐路 长山路 南黎路"),
        hilly=True,
    ),
    _City(
        "340700",
        "铜陵市",
        79,
        (
            _Cluster(117.815, 30.930, 2.0, 0.70, "铜官区"),
            _Cluster(117.800, 30.955, 1.5, 0.30, "义安区"),
        ),
        _words("长江路 淮河路 石城路 义安大道 翠湖路 北京路 铜官大道 湖城路"),
        hilly=True,
    ),
    _City(
        "340800",
        "安庆市",
        223,
        (
            _Cluster(117.055, 30.545, 1.5, 0.45, "迎江区"),
            _Cluster(117.035, 30.555, 1.2, 0.25, "大观区"),
            _Cluster(117.075, 30.585, 2.0, 0.30, "宜秀区"),
        ),
        _words("人民路 湖心路 皖江大道 菱湖路 集贤路 华中路 光彩大道 纺织南路 龙山路 天柱山路"),
        hilly=True,
    ),
    _City(
        "341000",
        "黄山市",
        79,
        (
            _Cluster(118.330, 29.715, 2.0, 0.70, "屯溪区"),
            _Cluster(118.330, 29.810, 1.5, 0.30, "徽州区"),
        ),
        _words("黄山路 屯溪路 延安路 新安路 齐云大道 黄口路 华山路 前园路"),
        hilly=True,
    ),
    _City(
        "341100",
        "滁州市",
        242,
        (
            _Cluster(118.310, 32.310, 2.5, 0.55, "琅琊区"),
            _Cluster(118.345, 32.270, 2.0, 0.30, "南谯区"),
            _Cluster(118.270, 32.090, 1.5, 0.15, "全椒县"),
        ),
        _words("琅琊路 丰乐大道 会峰路 清流路 南谯路 紫薇路 龙蟠大道 花园路"),
        hilly=True,
    ),
    _City(
        "341200",
        "阜阳市",
        383,
        (
            _Cluster(115.815, 32.890, 3.0, 0.50, "颍州区"),
            _Cluster(115.860, 32.910, 2.5, 0.25, "颍东区"),
            _Cluster(115.805, 32.940, 2.5, 0.25, "颍泉区"),
        ),
        _words("颍州路 人民路 清河路 淮河路 三清路 颍淮大道 文峰路 颍河路 中清路 阜阳大道"),
    ),
    _City(
        "341300",
        "宿州市",
        248,
        (
            _Cluster(116.985, 33.635, 2.2, 0.80, "埇桥区"),
            _Cluster(117.010, 33.615, 2.0, 0.20, "埇桥区"),
        ),
        _words("汴河路 淮海路 银河路 拂晓路 人民路 胜利路 浍水路 光明路"),
    ),
    _City(
        "341500",
        "六安市",
        222,
        (
            _Cluster(116.515, 31.745, 2.5, 0.55, "金安区"),
            _Cluster(116.475, 31.730, 2.0, 0.30, "裕安区"),
            _Cluster(116.570, 31.770, 2.0, 0.15, "金安区"),
        ),
        _words("皖西路 梅山路 解放路 人民路 佛子岭路 振华路 紫竹林路 长江路"),
        hilly=True,
    ),
    _City(
        "341600",
        "亳州市",
        223,
        (
            _Cluster(115.790, 33.845, 2.5, 0.75, "谯城区"),
            _Cluster(115.835, 33.865, 2.0, 0.25, "谯城区"),
        ),
        _words("魏武大道 芍花路 汤王大道 希夷大道 药都路 光明路 人民路 杜仲路"),
    ),
    _City(
        "341700",
        "池州市",
        80,
        (
            _Cluster(117.505, 30.640, 1.3, 0.70, "贵池区"),
            _Cluster(117.540, 30.625, 1.5, 0.30, "贵池区"),
        ),
        _words("长江路 秋浦路 翠微路 九华路 清溪大道 百荷路 平天湖路 齐山大道"),
        hilly=True,
    ),
    _City(
        "341800",
        "宣城市",
        152,
        (
            _Cluster(118.755, 30.945, 2.0, 0.70, "宣州区"),
            _Cluster(118.790, 30.915, 1.5, 0.30, "宣州区"),
        ),
        _words("梅溪路 叠嶂路 鳌峰路 宣城大道 昭亭路 薰化路 敬亭路 锦城路"),
        hilly=True,
    ),
)

_COMMON_STREETS = _words(
    "人民路 解放路 中山路 建设路 文化路 和平路 胜利路 光明路 东风路 新华路 团结路 幸福路 健康路"
    " 长江路 淮河路 黄山路 学府路 工业路 站前路 滨河路"
)


# --- categories ----------------------------------------------------------------------
# Each list is (value, weight); weights need not add up to one.

_FUNCTIONS_ATTACHED = (
    (WartimeFunction.personnel_shelter, 0.82),
    (WartimeFunction.professional_team, 0.07),
    (WartimeFunction.supporting, 0.06),
    (WartimeFunction.medical_aid, 0.04),
    (WartimeFunction.command_post, 0.01),
)
_FUNCTIONS_STANDALONE = (
    (WartimeFunction.personnel_shelter, 0.45),
    (WartimeFunction.supporting, 0.25),
    (WartimeFunction.professional_team, 0.12),
    (WartimeFunction.medical_aid, 0.08),
    (WartimeFunction.command_post, 0.10),
)
_SUBTYPES: dict[WartimeFunction, tuple[tuple[WartimeSubtype, float], ...]] = {
    WartimeFunction.personnel_shelter: (
        (WartimeSubtype.class_2_shelter, 0.85),
        (WartimeSubtype.class_1_shelter, 0.15),
    ),
    WartimeFunction.medical_aid: (
        (WartimeSubtype.central_hospital, 0.10),
        (WartimeSubtype.emergency_hospital, 0.35),
        (WartimeSubtype.aid_station, 0.55),
    ),
    WartimeFunction.professional_team: (
        (WartimeSubtype.team_shelter, 0.55),
        (WartimeSubtype.equipment_shelter, 0.45),
    ),
    WartimeFunction.supporting: (
        (WartimeSubtype.power_station, 0.20),
        (WartimeSubtype.water_station, 0.10),
        (WartimeSubtype.supply_depot, 0.25),
        (WartimeSubtype.food_station, 0.10),
        (WartimeSubtype.evacuation_trunk, 0.10),
        (WartimeSubtype.connecting_passage, 0.15),
        (WartimeSubtype.alarm_station, 0.05),
        (WartimeSubtype.other, 0.05),
    ),
}
_FUNCTION_ORDER = tuple(WartimeFunction)
_SUBTYPE_ORDER = tuple(WartimeSubtype)
_NUCLEAR = ((NuclearLevel.n5, 0.15), (NuclearLevel.n6, 0.60), (NuclearLevel.n6b, 0.25))
_NUCLEAR_COMMAND = ((NuclearLevel.n5, 0.70), (NuclearLevel.n6, 0.30))
_NUCLEAR_ORDER = tuple(NuclearLevel)
_CONVENTIONAL_ORDER = tuple(ConventionalLevel)
_CHEMICAL_ORDER = tuple(ChemicalClass)
_CHEMICAL: dict[WartimeFunction | WartimeSubtype, tuple[float, float, float, float]] = {
    # weights of A, B, C, D (甲乙丙丁)
    WartimeSubtype.class_2_shelter: (0.0, 0.0, 0.35, 0.65),
    WartimeSubtype.class_1_shelter: (0.0, 0.40, 0.60, 0.0),
    WartimeFunction.command_post: (0.70, 0.30, 0.0, 0.0),
    WartimeFunction.medical_aid: (0.0, 0.60, 0.40, 0.0),
    WartimeFunction.professional_team: (0.0, 0.30, 0.50, 0.20),
    WartimeFunction.supporting: (0.0, 0.0, 0.50, 0.50),
}
_STANDALONE_TYPES = tuple(StandaloneType)
_CONVERSION_HOURS = (24, 48, 72, 168)
_CONVERSION_WEIGHTS: dict[WartimeFunction, tuple[float, float, float, float]] = {
    WartimeFunction.command_post: (0.80, 0.20, 0.0, 0.0),
    WartimeFunction.medical_aid: (0.40, 0.50, 0.10, 0.0),
    WartimeFunction.professional_team: (0.20, 0.50, 0.30, 0.0),
    WartimeFunction.personnel_shelter: (0.10, 0.25, 0.50, 0.15),
    WartimeFunction.supporting: (0.20, 0.40, 0.30, 0.10),
}
_STATUS_ORDER = tuple(FacilityStatus)
_BASIS_ORDER = tuple(CapacityBasis)

_FIRST_YEAR, _LAST_YEAR = 1995, 2025
# Relative number of works completed each year, 1995-2025: growing with the cities up
# to 2023 (about 8% of the works in service, as 55,300 is of 710,000 spaces), and fewer
# since, many of them not finished yet.
_YEAR_WEIGHTS = np.interp(
    np.arange(_FIRST_YEAR, _LAST_YEAR + 1),
    [1995, 2005, 2012, 2018, 2021, 2022, 2023, 2024, 2025],
    [0.3, 1.0, 2.8, 4.0, 4.6, 5.0, 5.6, 5.0, 4.4],
)
# Data as of the end of 2025: verification dates fall before it.
_SNAPSHOT = date(2025, 12, 15)
# City civil air defense offices became national defense mobilization offices in the
# 2022-2023 reform; records verified before this date name the old office.
_REFORM = date(2023, 1, 1)

# Site kinds: the civil building over an attached basement, or where a standalone work
# lies: a hill for a tunnel work, a park, square or street for the others.
_RESIDENTIAL, _MALL, _OFFICE, _SCHOOL, _HOSPITAL, _PUBLIC, _HILL = range(7)
_SITE_KINDS_ATTACHED = (
    (_RESIDENTIAL, 0.66),
    (_MALL, 0.08),
    (_OFFICE, 0.13),
    (_SCHOOL, 0.08),
    (_HOSPITAL, 0.05),
)

# --- words ---------------------------------------------------------------------------

_BRANDS = _words(
    "万科 保利 绿地 碧桂园 融创 中海 华润 龙湖 金地 招商 新城 旭辉 阳光城 蓝光 恒大 世茂 文一"
    " 安粮 高速 置地 祥源 华地 信达 海亮 伟星 和昌 元一 荣盛 中铁 城建 建发 国贸 大华 正荣 金科"
    " 滨湖 宝业 禹洲"
)
_SCENIC = _words(
    "天鹅湖 翡翠 锦绣 阳光 滨江 望湖 紫云 香樟 玉兰 桂花 梧桐 银杏 金色 蓝湾 水岸 世纪 东方"
    " 天悦 御景 尚城 春江 悦湖 云谷 湖畔 时代 印象 天玺 璞悦 观澜 林语 溪岸 江山 文华 学府 书香"
    " 中央 都会 星河 柏庄 丽景 清溪 翠湖 明珠 芙蓉 海棠 新都 名都 状元 青阳 长岗"
)
_RESIDENTIAL_SUFFIXES = _words(
    "小区 小区 花园 苑 家园 华庭 公馆 府 名邸 新村 嘉园 雅苑 名城 花园 小区 城"
)
_PHASES = ("", "", "", "", "一期", "二期", "三期", "东区", "西区", "南区", "北区")
_MALL_BRANDS = _words(
    "万达广场 银泰城 吾悦广场 宝龙广场 万象城 大悦城 百大购物中心 之心城 印象城 天街 砂之船奥莱"
    " 苏宁广场 国购广场 华联商厦 鼓楼商厦"
)
_OFFICE_SUFFIXES = _words(
    "大厦 大厦 国际中心 金融中心 科技园 商务中心 总部基地 广场写字楼 创新中心 中心"
)
_HOSPITAL_BUILDINGS = ("门诊楼", "住院楼", "医技楼", "新院区", "急诊综合楼", "")
_CHINESE_NUMERALS = _words("一 二 三 四 五 六 七 八 九 十")
_PLACE_SUFFIXES = ("公园", "广场", "", "体育公园")
_HILLS = _words(
    "凤凰山 狮子山 龙山 虎山 青龙山 白云山 卧龙山 笔架山 南山 北山 东山 西山 玉屏山 石门山"
)
_WORK_WORDS: dict[WartimeSubtype | WartimeFunction, str] = {
    WartimeSubtype.class_1_shelter: "一等人员掩蔽工程",
    WartimeSubtype.class_2_shelter: "人防工程",
    WartimeSubtype.central_hospital: "人防中心医院",
    WartimeSubtype.emergency_hospital: "人防急救医院",
    WartimeSubtype.aid_station: "人防救护站",
    WartimeSubtype.team_shelter: "防空专业队队员掩蔽部",
    WartimeSubtype.equipment_shelter: "防空专业队装备掩蔽部",
    WartimeSubtype.power_station: "人防区域电站",
    WartimeSubtype.water_station: "人防区域供水站",
    WartimeSubtype.supply_depot: "人防物资库",
    WartimeSubtype.food_station: "人防食品站",
    WartimeSubtype.evacuation_trunk: "人防疏散干道",
    WartimeSubtype.connecting_passage: "人防连接通道",
    WartimeSubtype.alarm_station: "人防警报站",
    WartimeSubtype.other: "人防配套工程",
    WartimeFunction.command_post: "人防指挥工程",
}
_CAR_PARK_WORK_WORDS = ("人防地下车库", "人防地下车库", "人防工程（地下车库）", "防空地下室")
_PROPERTY_MANAGERS = _words(
    "万科物业服务有限公司 保利物业服务股份有限公司 碧桂园智慧物业服务集团股份有限公司"
    " 绿城物业服务集团有限公司 长城物业集团股份有限公司 中海物业管理有限公司"
    " 华润万象生活有限公司 龙湖智创生活科技有限公司 招商积余物业管理有限公司"
    " 新城悦服务集团有限公司 安徽华邦物业服务有限公司 安徽省高速地产物业管理有限公司"
    " 安徽文一物业管理有限公司 合肥祥源物业服务有限公司 安徽伟星物业管理有限公司"
    " 安徽新地锐意物业管理有限公司 安徽省徽商物业管理有限公司"
)
_SURNAMES = _words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹"
    " 彭 曾 肖 田 董 袁 潘 汪 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 方 陶 葛 钱 章 储 疏 查"
)
_GIVEN_NAMES = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 涛 明 超 秀英 霞 平 刚 桂英 建华 文 华 红 建国 志强"
    " 海燕 晓东 婷 雪 鹏 浩 宇 俊 斌 辉 波 丹 玲 萍 燕 琳 欣 倩 凯 峰 亮 健 鑫 晨 阳 帆 颖 晓明"
    " 国庆 红梅 玉兰 春生 德胜 文静 思远 一鸣 家豪 子豪 雨桐 梦洁 立新 卫东 春华"
)
_MOBILE_PREFIXES = _words(
    "139 138 137 136 135 150 151 152 157 158 159 182 187 188 130 131 132 155 156 185 186 133"
    " 153 180 181 189 177 199 166 173"
)
_ENTRANCE_WORDS = {
    EntranceKind.vehicle: "号车行出入口",
    EntranceKind.pedestrian: "号人行出入口",
    EntranceKind.wartime: "号战时出入口",
}
_ENTRANCE_ORDER = tuple(EntranceKind)
# Ramps with a barrier-free path, stairs with a lift; wartime exits are never accessible.
_ACCESSIBLE_SHARE = {
    EntranceKind.vehicle: 0.20,
    EntranceKind.pedestrian: 0.45,
    EntranceKind.wartime: 0.0,
}


# --- public entry point --------------------------------------------------------------


def load(connection: Connection, *, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> int:
    """Write `size` demo facilities, with entrances and protection units, through COPY.

    The caller owns the transaction. Tables need not be empty: ids come from the
    identity sequence, and codes are RF-<division code>-<id as 7 digits>. The same seed
    and size give the same data, apart from ids and codes.
    """
    if size <= 0:
        return 0
    demo = _generate(size, seed)
    # Through SQLAlchemy first: that begins the caller's transaction (autobegin), so the
    # caller's commit() covers the COPYs below, sent on the same DBAPI connection.
    ids = _reserve_facility_ids(connection, size)
    raw: psycopg.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    with raw.cursor() as cursor:
        with cursor.copy(_COPY_FACILITY) as copy:
            for block in _facility_blocks(demo, ids):
                copy.write(block)
        with cursor.copy(_COPY_ENTRANCE) as copy:
            for block in _entrance_blocks(demo, ids, np.random.default_rng([seed, 1])):
                copy.write(block)
        with cursor.copy(_COPY_PROTECTION_UNIT) as copy:
            for block in _protection_unit_blocks(demo, ids, np.random.default_rng([seed, 2])):
                copy.write(block)
    # Autovacuum cannot see rows before the commit: fresh statistics now let the caller's
    # next queries (the use demo's triggers among them) plan well. Without them a table
    # that a vacuum left with pages but no live rows (after a rolled-back load) counts as
    # empty however much is written, and nested loops over it grow with the square of the
    # rows: minutes for the 6,000 default facilities. A rollback takes them back with
    # the rows.
    connection.execute(text("ANALYZE facility, entrance, protection_unit"))
    return size


_COPY_FACILITY = (
    "COPY facility (id, code, name, address, province_code, city_code, district_code,"
    " location, construction_form, standalone_type, wartime_function, wartime_subtype,"
    " nuclear_level, conventional_level, chemical_class, building_area, usable_area,"
    " shelter_area, capacity_persons, capacity_basis, floors_below_ground, completion_year,"
    " owner_unit, managing_unit, managing_authority, keyholder_name, keyholder_phone, status,"
    " visibility, conversion_hours, peacetime_parking_spaces, data_source, verified_at, verified_by)"
    " FROM STDIN"
)
_COPY_ENTRANCE = "COPY entrance (facility_id, kind, accessible, name, location) FROM STDIN"
_COPY_PROTECTION_UNIT = (
    "COPY protection_unit (facility_id, name, shelter_area, capacity_persons) FROM STDIN"
)


def _reserve_facility_ids(connection: Connection, count: int) -> np.ndarray:
    # nextval() is never rolled back nor handed out twice, so these ids are ours even with
    # other writers at work; they are usually, not necessarily, consecutive. The sequence
    # is looked up once (a sub-select), not per row. The lock first, as any insert takes
    # it before its ids: a first import's block of ids (imports.writing.reserve_ids)
    # is taken under its own lock on the table, which this then waits for.
    connection.execute(text("LOCK TABLE facility IN ROW EXCLUSIVE MODE"))
    reserved = connection.execute(
        text(
            "SELECT array_agg(nextval((SELECT pg_get_serial_sequence('facility', 'id'))::regclass))"
            " FROM generate_series(1, :count)"
        ),
        {"count": count},
    ).scalar_one()
    return np.array(reserved, dtype=np.int64)


# --- generation ----------------------------------------------------------------------


@dataclass
class _Demo:
    """The generated facilities, one array entry per facility."""

    city: np.ndarray  # index into CITIES
    district_name: list[str]
    district_code: list[str | None]
    lon: np.ndarray
    lat: np.ndarray
    standalone_type: np.ndarray  # index into _STANDALONE_TYPES, -1 for attached
    function: np.ndarray  # index into _FUNCTION_ORDER
    subtype: np.ndarray  # index into _SUBTYPE_ORDER, -1 for none
    site_kind: np.ndarray
    nuclear: np.ndarray  # index into _NUCLEAR_ORDER, -1 for class B works
    conventional: np.ndarray
    chemical: np.ndarray
    building_cents: np.ndarray  # areas in hundredths of a m²
    usable_cents: np.ndarray
    shelter_cents: np.ndarray
    capacity: np.ndarray
    basis: np.ndarray
    floors: np.ndarray
    year: np.ndarray
    status: np.ndarray
    conversion_hours: np.ndarray
    car_park: np.ndarray
    parking_spaces: np.ndarray  # meaningful where car_park
    verified_day: np.ndarray  # days since 1970-01-01
    verified_second: np.ndarray  # second of the day, Beijing time
    words: np.ndarray  # (size, 8) random picks into the word lists
    entrances: np.ndarray  # entrances per facility
    units: np.ndarray  # protection units per facility, 0 for none


def _generate(size: int, seed: int) -> _Demo:
    rng = np.random.default_rng(seed)
    city = np.repeat(
        np.arange(len(CITIES)),
        _apportion(size, np.array([c.urban_population for c in CITIES], dtype=float)),
    )
    lon, lat, district_name, district_code = _locations(rng, city)

    standalone = rng.random(size) < 0.15
    hilly = np.array([c.hilly for c in CITIES])[city]
    standalone_type = np.where(
        hilly,
        _pick(rng, size, (0.55, 0.20, 0.25)),
        _pick(rng, size, (0.65, 0.05, 0.30)),
    )
    standalone_type = np.where(standalone, standalone_type, -1)

    function = np.where(
        standalone,
        _pick_values(rng, size, _FUNCTIONS_STANDALONE, _FUNCTION_ORDER),
        _pick_values(rng, size, _FUNCTIONS_ATTACHED, _FUNCTION_ORDER),
    )
    subtype = np.full(size, -1)
    for wartime_function, choices in _SUBTYPES.items():
        mask = function == _FUNCTION_ORDER.index(wartime_function)
        subtype[mask] = _pick_values(rng, size, choices, _SUBTYPE_ORDER)[mask]

    site_kind = _pick_values(rng, size, _SITE_KINDS_ATTACHED, range(_HILL + 1))
    medical = function == _FUNCTION_ORDER.index(WartimeFunction.medical_aid)
    command = function == _FUNCTION_ORDER.index(WartimeFunction.command_post)
    site_kind[medical] = _HOSPITAL
    site_kind[command] = _OFFICE
    site_kind[standalone] = _PUBLIC
    site_kind[standalone_type == _STANDALONE_TYPES.index(StandaloneType.tunnel)] = _HILL

    cut_and_cover = standalone_type == _STANDALONE_TYPES.index(StandaloneType.cut_and_cover)
    nuclear, conventional, chemical = _protection(rng, function, subtype)
    building, usable, shelter, capacity, basis = _areas(rng, standalone, site_kind, function)

    floors = np.where(
        standalone,
        np.where(cut_and_cover, _pick(rng, size, (0.7, 0.3)) + 1, 1),
        _pick(rng, size, (0.5, 0.4, 0.1)) + 1,
    )
    year = _FIRST_YEAR + _pick(rng, size, _YEAR_WEIGHTS)
    status = _status(rng, year)
    conversion_hours = np.zeros(size, dtype=np.int64)
    for wartime_function, weights in _CONVERSION_WEIGHTS.items():
        mask = function == _FUNCTION_ORDER.index(wartime_function)
        conversion_hours[mask] = np.array(_CONVERSION_HOURS)[_pick(rng, size, weights)][mask]

    parking_draw = rng.random(size)
    car_park = (~standalone & (parking_draw < 0.92)) | (cut_and_cover & (parking_draw < 0.35))
    # A garage gives 55-90% of a basement's usable area to parking (the rest is plant
    # rooms and storage), at 28-38 m² a space with ramps and aisles.
    raw_spaces = usable / 100 * rng.uniform(0.55, 0.90, size) / rng.uniform(28, 38, size)
    parking_spaces = _scale_parking(raw_spaces, car_park, status, year, size)

    # Verified at some time since the later of completion and 2019, in office hours.
    first_day = (
        (np.maximum(year, 2019) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    ).astype(np.int64)
    last_day = (_SNAPSHOT - date(1970, 1, 1)).days
    verified_day = first_day + (rng.random(size) * (last_day - first_day)).astype(np.int64)
    verified_second = rng.integers(8 * 3600 + 1800, 17 * 3600 + 1800, size)

    large = building >= 500_000
    entrances = 2 + np.where(
        large, _pick(rng, size, (0.25, 0.45, 0.30)), _pick(rng, size, (0.60, 0.30, 0.10))
    )
    # Large works are split into protection units of about 2,000 m² (GB 50038); the
    # registry holds the split for some of them.
    with_units = (shelter >= 400_000) & (rng.random(size) < 0.5)
    units = np.where(with_units, np.clip(np.ceil(shelter / 200_000), 2, 12), 0).astype(np.int64)

    return _Demo(
        city=city,
        district_name=district_name,
        district_code=district_code,
        lon=lon,
        lat=lat,
        standalone_type=standalone_type,
        function=function,
        subtype=subtype,
        site_kind=site_kind,
        nuclear=nuclear,
        conventional=conventional,
        chemical=chemical,
        building_cents=building,
        usable_cents=usable,
        shelter_cents=shelter,
        capacity=capacity,
        basis=basis,
        floors=floors,
        year=year,
        status=status,
        conversion_hours=conversion_hours,
        car_park=car_park,
        parking_spaces=parking_spaces,
        verified_day=verified_day,
        verified_second=verified_second,
        words=rng.integers(0, 1 << 62, (size, 8)),
        entrances=entrances,
        units=units,
    )


def _pick(rng: np.random.Generator, size: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Indices drawn with the given relative weights."""
    cumulative = np.cumsum(weights, dtype=float)
    return np.searchsorted(cumulative / cumulative[-1], rng.random(size), side="right")


def _pick_values(
    rng: np.random.Generator,
    size: int,
    choices: Sequence[tuple[object, float]],
    order: Sequence[object],
) -> np.ndarray:
    """Indices into `order` of values drawn from (value, weight) pairs."""
    positions = np.array([order.index(value) for value, _ in choices])
    return positions[_pick(rng, size, [weight for _, weight in choices])]


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that add up to total (largest remainders)."""
    quotas = total * weights / weights.sum()
    counts = np.floor(quotas).astype(np.int64)
    # A stable sort keeps ties in index order, so the result is reproducible.
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _locations(
    rng: np.random.Generator, city: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str], list[str | None]]:
    size = len(city)
    clusters = [cluster for c in CITIES for cluster in c.clusters]
    cluster_city = np.array([i for i, c in enumerate(CITIES) for _ in c.clusters])
    cluster = np.empty(size, dtype=np.int64)
    for index in range(len(CITIES)):
        members = np.flatnonzero(city == index)
        first = int(np.flatnonzero(cluster_city == index)[0])
        weights = [k.weight for k in CITIES[index].clusters]
        cluster[members] = first + _pick(rng, len(members), weights)

    # Gaussian offsets in km, redrawn until within _MAX_SIGMAS of the centre.
    offsets = rng.standard_normal((size, 2))
    while True:
        far = np.flatnonzero(np.hypot(offsets[:, 0], offsets[:, 1]) > _MAX_SIGMAS)
        if not len(far):
            break
        offsets[far] = rng.standard_normal((len(far), 2))
    sigma = np.array([k.sigma_km for k in clusters])[cluster]
    centre_lat = np.array([k.lat for k in clusters])[cluster]
    centre_lon = np.array([k.lon for k in clusters])[cluster]
    lat = centre_lat + offsets[:, 1] * sigma / _KM_PER_DEGREE_LAT
    lon = centre_lon + offsets[:, 0] * sigma / (
        _KM_PER_DEGREE_LON_AT_EQUATOR * np.cos(np.radians(centre_lat))
    )
    # 7 decimals of a degree is about a centimetre.
    lon, lat = np.round(lon, 7), np.round(lat, 7)

    names = [k.district_name for k in clusters]
    codes = [k.district_code for k in clusters]
    district_name = [names[k] for k in cluster.tolist()]
    district_code = [codes[k] for k in cluster.tolist()]
    # Hefei's urban clusters: the nearest urban district centre names the district.
    urban_hefei = np.array(
        [
            CITIES[i].code == "340100" and k.district_code is None
            for i, k in zip(cluster_city, clusters, strict=True)
        ]
    )
    hefei = np.flatnonzero(urban_hefei[cluster])
    centres = np.array([(x, y) for _, _, x, y in _HEFEI_URBAN_DISTRICTS])
    east = (lon[hefei, None] - centres[None, :, 0]) * math.cos(math.radians(31.8))
    north = lat[hefei, None] - centres[None, :, 1]
    nearest = np.argmin(east**2 + north**2, axis=1)
    for row, district in zip(hefei.tolist(), nearest.tolist(), strict=True):
        district_code[row] = _HEFEI_URBAN_DISTRICTS[district][0]
        district_name[row] = _HEFEI_URBAN_DISTRICTS[district][1]
    return lon, lat, district_name, district_code


def _protection(
    rng: np.random.Generator, function: np.ndarray, subtype: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = len(function)
    command = function == _FUNCTION_ORDER.index(WartimeFunction.command_post)
    central = subtype == _SUBTYPE_ORDER.index(WartimeSubtype.central_hospital)
    class_a = (rng.random(size) < 0.70) | command | central
    nuclear = np.where(
        command,
        _pick_values(rng, size, _NUCLEAR_COMMAND, _NUCLEAR_ORDER),
        _pick_values(rng, size, _NUCLEAR, _NUCLEAR_ORDER),
    )
    nuclear = np.where(class_a, nuclear, -1)
    conventional = np.where(command, 0, _pick(rng, size, (0.30, 0.70)))
    chemical = np.empty(size, dtype=np.int64)
    for key, weights in _CHEMICAL.items():
        if isinstance(key, WartimeSubtype):
            mask = subtype == _SUBTYPE_ORDER.index(key)
        else:
            mask = function == _FUNCTION_ORDER.index(key)
        chemical[mask] = _pick(rng, size, weights)[mask]
    return nuclear, conventional, chemical


def _areas(
    rng: np.random.Generator, standalone: np.ndarray, site_kind: np.ndarray, function: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Building, usable and shelter areas in hundredths of a m², capacity and its basis."""
    size = len(function)
    # Log-normal, median 6,500 m² for basements (malls and towers larger), 3,000 m² for
    # standalone works; most fall between 2,000 and 30,000 m².
    median = np.where(standalone, 3000.0, 6500.0)
    median *= np.array([1.0, 2.2, 1.6, 0.8, 1.4, 1.0, 1.0])[site_kind]
    building_m2 = np.clip(median * np.exp(0.65 * rng.standard_normal(size)), 400, 80_000)
    building = np.round(building_m2 * 100).astype(np.int64)
    usable = np.floor(building * rng.uniform(0.80, 0.95, size)).astype(np.int64)

    shelter_share = np.select(
        [
            function == _FUNCTION_ORDER.index(WartimeFunction.personnel_shelter),
            function == _FUNCTION_ORDER.index(WartimeFunction.supporting),
        ],
        [rng.uniform(0.6, 0.9, size), rng.uniform(0.3, 0.6, size)],
        rng.uniform(0.5, 0.8, size),
    )
    shelter = np.floor(usable * shelter_share).astype(np.int64)
    shelter_m2 = shelter / 100

    personnel = function == _FUNCTION_ORDER.index(WartimeFunction.personnel_shelter)
    basis = np.where(
        personnel,
        _pick(rng, size, (0.70, 0.20, 0.10, 0.0)),
        _pick(rng, size, (0.0, 0.75, 0.10, 0.15)),
    )
    # Personnel shelters hold about a person per m² (GB 50038): exactly one on the area
    # norm, 0.9-1.1 by design or survey. Other works hold their crews, 3-8 m² each.
    persons_per_m2 = np.where(
        personnel,
        np.where(
            basis == _BASIS_ORDER.index(CapacityBasis.area_norm), 1.0, rng.uniform(0.9, 1.1, size)
        ),
        1 / rng.uniform(3, 8, size),
    )
    capacity = np.minimum(np.floor(shelter_m2 * persons_per_m2), np.floor(shelter_m2 * 1.5))
    return building, usable, shelter, capacity.astype(np.int64), basis


def _status(rng: np.random.Generator, year: np.ndarray) -> np.ndarray:
    size = len(year)
    index = {status: i for i, status in enumerate(_STATUS_ORDER)}
    order = [
        index[s]
        for s in (
            FacilityStatus.in_service,
            FacilityStatus.under_construction,
            FacilityStatus.planned,
            FacilityStatus.suspended,
            FacilityStatus.decommissioned,
        )
    ]
    order_array = np.array(order)
    established = order_array[_pick(rng, size, (0.97, 0.0, 0.0, 0.025, 0.005))]
    recent = order_array[_pick(rng, size, (0.60, 0.30, 0.10, 0.0, 0.0))]
    newest = order_array[_pick(rng, size, (0.25, 0.45, 0.30, 0.0, 0.0))]
    status = np.select(
        [year <= PARKING_YEAR, year == PARKING_YEAR + 1], [established, recent], newest
    )
    # Only old works are ever taken out of service for good.
    decommissioned = (status == index[FacilityStatus.decommissioned]) & (year >= 2010)
    status[decommissioned] = index[FacilityStatus.suspended]
    return status


def _parking_targets(size: int) -> tuple[float, float]:
    """The parking spaces of in-service car parks at the end of PARKING_YEAR, in all and
    completed in PARKING_YEAR.

    Rule: the province's published totals belong to DEFAULT_SIZE facilities, and scale
    linearly with size, so the average car park keeps a realistic 160 or so spaces and the
    shares (of 2023, of each city) stay the same at any size.
    """
    scale = size / DEFAULT_SIZE
    return PROVINCE_PARKING_SPACES * scale, PARKING_SPACES_COMPLETED_2023 * scale


def _scale_parking(
    raw: np.ndarray, car_park: np.ndarray, status: np.ndarray, year: np.ndarray, size: int
) -> np.ndarray:
    """Spaces per facility from raw estimates, rescaled so that the totals hit the targets.

    The targets are the end of PARKING_YEAR's: the in-service car parks completed in
    PARKING_YEAR and those completed before are scaled separately, each to its own target,
    and rounded by largest remainders so the sums come out exact. The works not counted
    (not in service, or completed after PARKING_YEAR) take the factor of their year group
    and plain rounding.
    """
    in_service = status == _STATUS_ORDER.index(FacilityStatus.in_service)
    target_all, target_year = _parking_targets(size)
    of_year = year == PARKING_YEAR
    spaces = np.zeros(len(raw), dtype=np.int64)
    for group, target in ((of_year, target_year), (~of_year, target_all - target_year)):
        counted = car_park & in_service & group & (year <= PARKING_YEAR)
        raw_sum = raw[counted].sum()
        factor = target / raw_sum if raw_sum > 0 else 1.0
        uncounted = car_park & group & ~counted
        spaces[uncounted] = np.maximum(np.round(raw[uncounted] * factor), 1)
        if counted.any():
            spaces[counted] = _apportion(round(target), raw[counted])
    return spaces


# --- COPY text -----------------------------------------------------------------------
# Text format: tab-separated, \N for NULL. No generated word holds a tab, a newline or
# a backslash, so nothing needs escaping.

_NULL = "\\N"
# Hex EWKB of a point: little-endian, type Point with the SRID flag, SRID 4326.
_EWKB_POINT_4326 = bytes.fromhex("0101000020E6100000")


# The text of each category index; index -1 (the last entry) is NULL where one is allowed.
_FORM_TEXT = (ConstructionForm.attached.value, ConstructionForm.standalone.value)
_STANDALONE_TYPE_TEXT = (*(t.value for t in _STANDALONE_TYPES), _NULL)
_FUNCTION_TEXT = tuple(f.value for f in _FUNCTION_ORDER)
_VISIBILITY_TEXT = tuple(default_visibility(f).value for f in _FUNCTION_ORDER)
_SUBTYPE_TEXT = (*(s.value for s in _SUBTYPE_ORDER), _NULL)
_NUCLEAR_TEXT = (*(n.value for n in _NUCLEAR_ORDER), _NULL)
_CONVENTIONAL_TEXT = tuple(c.value for c in _CONVENTIONAL_ORDER)
_CHEMICAL_TEXT = tuple(c.value for c in _CHEMICAL_ORDER)
_BASIS_TEXT = tuple(b.value for b in _BASIS_ORDER)
_STATUS_TEXT = tuple(s.value for s in _STATUS_ORDER)


def _ewkb_points(lon: np.ndarray, lat: np.ndarray) -> list[str]:
    record = np.empty(len(lon), dtype=[("head", "V9"), ("x", "<f8"), ("y", "<f8")])
    record["head"] = np.void(_EWKB_POINT_4326)
    record["x"] = lon
    record["y"] = lat
    text = record.tobytes().hex()
    width = 2 * record.itemsize
    return [text[i : i + width] for i in range(0, len(text), width)]


def _decimal_cents(cents: np.ndarray) -> list[str]:
    return [f"{value // 100}.{value % 100:02d}" for value in cents.tolist()]


def _blocks(start: int, stop: int) -> Iterator[tuple[int, int]]:
    for low in range(start, stop, _ROWS_PER_COPY_BLOCK):
        yield low, min(low + _ROWS_PER_COPY_BLOCK, stop)


def _facility_blocks(demo: _Demo, ids: np.ndarray) -> Iterator[str]:
    for low, high in _blocks(0, len(ids)):
        yield "".join("\t".join(row) + "\n" for row in _facility_rows(demo, ids, low, high))


def _facility_rows(demo: _Demo, ids: np.ndarray, low: int, high: int) -> Iterator[tuple[str, ...]]:
    part = slice(low, high)
    facility_id = ids[part].tolist()
    city_index = demo.city[part].tolist()
    district_name = demo.district_name[part]
    district_code = demo.district_code[part]
    location = _ewkb_points(demo.lon[part], demo.lat[part])
    standalone_type = demo.standalone_type[part].tolist()
    function = demo.function[part].tolist()
    subtype = demo.subtype[part].tolist()
    site_kind = demo.site_kind[part].tolist()
    nuclear = demo.nuclear[part].tolist()
    conventional = demo.conventional[part].tolist()
    chemical = demo.chemical[part].tolist()
    building = _decimal_cents(demo.building_cents[part])
    usable = _decimal_cents(demo.usable_cents[part])
    shelter = _decimal_cents(demo.shelter_cents[part])
    capacity = demo.capacity[part].tolist()
    basis = demo.basis[part].tolist()
    floors = demo.floors[part].tolist()
    year = demo.year[part].tolist()
    status = demo.status[part].tolist()
    conversion_hours = demo.conversion_hours[part].tolist()
    car_park = demo.car_park[part].tolist()
    spaces = demo.parking_spaces[part].tolist()
    verified_day = demo.verified_day[part].tolist()
    verified_at = np.datetime_as_string(
        demo.verified_day[part].astype("datetime64[D]")
        + demo.verified_second[part].astype("timedelta64[s]"),
        unit="s",
    ).tolist()
    words = demo.words[part].tolist()
    reform_day = (_REFORM - date(1970, 1, 1)).days

    for i in range(high - low):
        city = CITIES[city_index[i]]
        picks = words[i]
        site = _site_name(city, district_name[i], site_kind[i], picks)
        work = _work_word(function[i], subtype[i], car_park[i], picks[5])
        # Hospitals and schools may carry the city, or the county, in their own names.
        if site.startswith(city.name):
            where = ""
        elif site.startswith(district_name[i]):
            where = city.name
        else:
            where = city.name + district_name[i]
        street = _street(city, picks[6])
        number = 1 + picks[7] % 2999 if picks[7] % 3 else 1 + picks[7] % 299
        office = "人民防空办公室" if verified_day[i] < reform_day else "国防动员办公室"
        yield (
            str(facility_id[i]),
            f"RF-{district_code[i] or city.code}-{facility_id[i]:07d}",
            f"{where}{site}{work}",
            f"{city.name}{district_name[i]}{street}{number}号",
            PROVINCE_CODE,
            city.code,
            district_code[i] or _NULL,
            location[i],
            _FORM_TEXT[standalone_type[i] >= 0],
            _STANDALONE_TYPE_TEXT[standalone_type[i]],
            _FUNCTION_TEXT[function[i]],
            _SUBTYPE_TEXT[subtype[i]],
            _NUCLEAR_TEXT[nuclear[i]],
            _CONVENTIONAL_TEXT[conventional[i]],
            _CHEMICAL_TEXT[chemical[i]],
            building[i],
            usable[i],
            shelter[i],
            str(capacity[i]),
            _BASIS_TEXT[basis[i]],
            str(floors[i]),
            str(year[i]),
            _owner(city, district_name[i], site, site_kind[i], picks),
            _manager(city, site_kind[i], picks),
            city.name + office,
            _person(picks[3]),
            _mobile(picks[4]),
            _STATUS_TEXT[status[i]],
            _VISIBILITY_TEXT[function[i]],
            str(conversion_hours[i]),
            str(spaces[i]) if car_park[i] else _NULL,
            _data_source(int(verified_at[i][:4]), year[i], picks[2]),
            verified_at[i] + "+08:00",
            _person(picks[1] >> 32),
        )


def _site_name(city: _City, district_name: str, site_kind: int, words: list[int]) -> str:
    a, b, c = words[0], words[1], words[2]
    if site_kind == _RESIDENTIAL:
        brand = _BRANDS[a % len(_BRANDS)] if c % 3 == 0 else ""
        return (
            brand
            + _SCENIC[b % len(_SCENIC)]
            + _RESIDENTIAL_SUFFIXES[(c >> 8) % len(_RESIDENTIAL_SUFFIXES)]
            + _PHASES[(a >> 16) % len(_PHASES)]
        )
    if site_kind == _MALL:
        place = _SCENIC[b % len(_SCENIC)] if c % 2 else district_name.removesuffix("区")
        return place + _MALL_BRANDS[a % len(_MALL_BRANDS)]
    if site_kind == _OFFICE:
        prefix = _BRANDS[a % len(_BRANDS)] if c % 2 else _SCENIC[b % len(_SCENIC)]
        return prefix + _OFFICE_SUFFIXES[(c >> 8) % len(_OFFICE_SUFFIXES)]
    if site_kind == _SCHOOL:
        numeral = _CHINESE_NUMERALS[a % len(_CHINESE_NUMERALS)]
        return (
            f"{city.name}第{numeral}中学",
            f"{district_name.removesuffix('区')}实验小学",
            f"{_street(city, b)}小学",
            f"{_SCENIC[b % len(_SCENIC)]}学校",
        )[c % 4]
    if site_kind == _HOSPITAL:
        building = _HOSPITAL_BUILDINGS[(c >> 8) % len(_HOSPITAL_BUILDINGS)]
        return _hospital(city, district_name, words) + building
    if site_kind == _HILL:
        return _HILLS[b % len(_HILLS)]
    place = _PLACE_SUFFIXES[(c >> 8) % len(_PLACE_SUFFIXES)]
    if place:
        return _SCENIC[b % len(_SCENIC)] + place
    return _street(city, b)


def _hospital(city: _City, district_name: str, words: list[int]) -> str:
    numeral = _CHINESE_NUMERALS[words[0] % 5]
    return (
        f"{city.name}第{numeral}人民医院",
        f"{city.name}中医院",
        f"{district_name}人民医院",
        f"{city.name}妇幼保健院",
    )[words[2] % 4]


def _work_word(function: int, subtype: int, car_park: bool, word: int) -> str:
    if car_park and _FUNCTION_ORDER[function] is WartimeFunction.personnel_shelter:
        return _CAR_PARK_WORK_WORDS[word % len(_CAR_PARK_WORK_WORDS)]
    if subtype >= 0:
        return _WORK_WORDS[_SUBTYPE_ORDER[subtype]]
    return _WORK_WORDS[_FUNCTION_ORDER[function]]


def _street(city: _City, word: int) -> str:
    if word % 4:
        return city.streets[word % len(city.streets)]
    return _COMMON_STREETS[word % len(_COMMON_STREETS)]


def _person(word: int) -> str:
    surname = _SURNAMES[word % len(_SURNAMES)]
    return surname + _GIVEN_NAMES[(word >> 12) % len(_GIVEN_NAMES)]


def _mobile(word: int) -> str:
    return f"{_MOBILE_PREFIXES[(word >> 40) % len(_MOBILE_PREFIXES)]}{word % 100_000_000:08d}"


def _owner(city: _City, district_name: str, site: str, site_kind: int, words: list[int]) -> str:
    if site_kind == _RESIDENTIAL:
        return f"{city.short_name}{_BRANDS[words[0] % len(_BRANDS)]}置业有限公司"
    if site_kind == _MALL:
        return f"{city.short_name}{site}商业管理有限公司"
    if site_kind == _OFFICE:
        return f"{site}{('投资', '实业', '置业')[(words[2] >> 16) % 3]}有限公司"
    if site_kind == _SCHOOL:
        return site
    if site_kind == _HOSPITAL:
        return _hospital(city, district_name, words)
    return f"{city.name}人防工程建设管理中心"


def _manager(city: _City, site_kind: int, words: list[int]) -> str:
    if site_kind in (_SCHOOL, _HOSPITAL):
        return ("后勤服务中心", "总务处", "后勤保障处")[(words[3] >> 20) % 3]
    if site_kind in (_PUBLIC, _HILL):
        return f"{city.name}人防资产运营管理有限公司"
    return _PROPERTY_MANAGERS[(words[3] >> 20) % len(_PROPERTY_MANAGERS)]


def _data_source(verified_year: int, completion_year: int, word: int) -> str:
    if verified_year == 2023 and word % 10 < 7:
        return "2023年人防工程普查"
    if completion_year >= verified_year - 1 and (word >> 8) % 2:
        return "人防工程竣工验收备案"
    return f"{verified_year}年人防工程年度复核"


def _entrance_blocks(demo: _Demo, ids: np.ndarray, rng: np.random.Generator) -> Iterator[str]:
    counts = demo.entrances
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    car_park = demo.car_park[owner]
    # Car parks: a ramp first, then a stair, a wartime exit and a second ramp. Other
    # works: stairs and wartime exits in turn.
    vehicle, pedestrian, wartime = (
        _ENTRANCE_ORDER.index(k)
        for k in (EntranceKind.vehicle, EntranceKind.pedestrian, EntranceKind.wartime)
    )
    sequences = np.array(
        [[pedestrian, wartime, pedestrian, wartime], [vehicle, pedestrian, wartime, vehicle]]
    )
    kind = sequences[car_park.astype(int), position]
    accessible_share = np.array([_ACCESSIBLE_SHARE[k] for k in _ENTRANCE_ORDER])[kind]
    accessible = rng.random(total) < accessible_share
    distance_km = rng.uniform(0.05, 0.15, total)
    bearing = rng.uniform(0, 2 * np.pi, total)
    lat0 = demo.lat[owner]
    lat = np.round(lat0 + distance_km * np.cos(bearing) / _KM_PER_DEGREE_LAT, 7)
    lon = np.round(
        demo.lon[owner]
        + distance_km
        * np.sin(bearing)
        / (_KM_PER_DEGREE_LON_AT_EQUATOR * np.cos(np.radians(lat0))),
        7,
    )
    words = [_ENTRANCE_WORDS[k] for k in _ENTRANCE_ORDER]
    kind_values = [k.value for k in _ENTRANCE_ORDER]
    for low, high in _blocks(0, total):
        part = slice(low, high)
        rows = zip(
            ids[owner[part]].tolist(),
            kind[part].tolist(),
            accessible[part].tolist(),
            position[part].tolist(),
            _ewkb_points(lon[part], lat[part]),
            strict=True,
        )
        yield "".join(
            f"{facility_id}\t{kind_values[k]}\t{'t' if ok else 'f'}\t{n + 1}{words[k]}\t{point}\n"
            for facility_id, k, ok, n, point in rows
        )


def _protection_unit_blocks(
    demo: _Demo, ids: np.ndarray, rng: np.random.Generator
) -> Iterator[str]:
    counts = demo.units
    split = np.flatnonzero(counts)
    counts = counts[split]
    total = int(counts.sum())
    if not total:
        return
    owner = np.repeat(split, counts)
    first = np.cumsum(counts) - counts
    position = np.arange(total) - np.repeat(first, counts)
    # Shares of 0.8-1.2 each; each facility's area and capacity are split by them, and
    # its last unit takes the rounding remainder so the units add up exactly.
    share = rng.uniform(0.8, 1.2, total)
    share_sum = np.repeat(np.add.reduceat(share, first), counts)
    area = np.floor(demo.shelter_cents[owner] * share / share_sum).astype(np.int64)
    capacity = np.floor(demo.capacity[owner] * share / share_sum).astype(np.int64)
    last = first + counts - 1
    area[last] += demo.shelter_cents[split] - np.add.reduceat(area, first)
    capacity[last] += demo.capacity[split] - np.add.reduceat(capacity, first)
    for low, high in _blocks(0, total):
        part = slice(low, high)
        rows = zip(
            ids[owner[part]].tolist(),
            position[part].tolist(),
            _decimal_cents(area[part]),
            capacity[part].tolist(),
            strict=True,
        )
        yield "".join(
            f"{facility_id}\t第{n + 1}防护单元\t{shelter}\t{persons}\n"
            for facility_id, n, shelter, persons in rows
        )
