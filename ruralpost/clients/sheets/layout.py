"""The one column layout of station and parcel spreadsheets: headers (中文 / English), cell parsing.

Every reader (CSV, JSON Lines, Excel) hands rows here as `{header: cell}`; this module alone knows
which column is which Station or Parcel field and how a cell reads. An empty cell means "not given"
(the server then says the fact is missing); a cell that cannot be read is a `CellError` naming the
column, so the caller reports the row and goes on with the batch.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from google.protobuf.message import Message

from ruralpost.clients.reports.words import EQUIPMENT, KIND, MODE, PLACEMENT, SERVICE, STATUS, EnumSpec
from ruralpost.v1 import claim_pb2, station_pb2


class FieldError(ValueError):
    """A row that cannot be read because of one column or field; `column` names it as the file
    wrote it (a header, or a proto JSON path such as `signage.placement`)."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


class CellError(FieldError):
    """A cell that cannot be read; `column` is the header as the file wrote it."""

    def __init__(self, column: str, value: object, problem: str) -> None:
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:40] + "…"
        super().__init__(column, f"列“{column}”的值“{shown}”{problem}")
        self.value = shown
        self.problem = problem


class LayoutError(ValueError):
    """The file's header names no known column: it is not a list of this kind."""


# ---- enum cells: short name, full proto name, or a Chinese word people write


def parse_enum(spec: EnumSpec, text: str) -> int:
    """An enum number from a short name, a full name or a Chinese word; ValueError otherwise."""
    word = text.strip()
    upper = word.upper().replace(" ", "_")
    number = spec.words.get(word) or spec.names.get(upper) or spec.names.get(upper.removeprefix(spec.prefix))
    if not number:
        choices = "、".join([*spec.names, *spec.words])
        raise ValueError(f"不是可选值之一（{choices}）")
    return number


# ---- scalar cells

_TRUE = {"true", "t", "yes", "y", "1", "是", "有", "对", "√"}
_FALSE = {"false", "f", "no", "n", "0", "否", "无", "没有", "×"}
_LIST_SPLIT = re.compile(r"[;；,，、\n]")
_DATE_SLASH = re.compile(r"^(\d{4})[/.年](\d{1,2})[/.月](\d{1,2})日?$")
_AREA_UNITS = ("平方米", "㎡", "m²", "m2", "平米")


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("不是是/否（true/false）")


def parse_float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("不是数字")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        for unit in _AREA_UNITS:
            text = text.removesuffix(unit).strip()
        try:
            number = float(text)
        except ValueError:
            raise ValueError("不是数字") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError("不是有限的数字")
    return number


def parse_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("不是整数")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        number = value
    else:
        text = str(value).strip().removesuffix("天").strip().replace(",", "")
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise ValueError("不是整数") from None
    if not number.is_integer():
        raise ValueError("不是整数")
    return int(number)


def parse_count(value: object) -> int:
    """A whole number of pieces, not negative (日均业务量 120件)."""
    if isinstance(value, str):
        value = value.strip().removesuffix("件").strip()
    number = parse_int(value)
    if number < 0:
        raise ValueError("不能为负数")
    return number


def parse_fen(value: object) -> int:
    """An amount in fen (分): a whole number, not negative. A decimal point, 元 or ¥ says the
    amount was written in yuan; it is refused rather than read as fen a hundred times too small."""
    if isinstance(value, str):
        text = value.strip().removesuffix("分").strip()
        if any(mark in text for mark in (".", "元", "¥", "￥")):
            raise ValueError("不是以分为单位的整数（1元=100分，如 3元 填 300）")
        value = text
    number = parse_int(value)
    if number < 0:
        raise ValueError("不能为负数")
    return number


def parse_date(value: object) -> str:
    """YYYY-MM-DD; also 2023/5/2, 2023年5月2日 and Excel date cells."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    m = _DATE_SLASH.match(text)
    if m:
        text = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"
    if len(text) == 10:
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise ValueError("不是日期（YYYY-MM-DD）")


def parse_period(value: object) -> str:
    """YYYY-MM (a claim's month)."""
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip().replace("/", "-")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if not m or not 1 <= int(m[2]) <= 12:
        raise ValueError("不是月份（YYYY-MM）")
    return f"{m[1]}-{int(m[2]):02d}"


def parse_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns 0104 typed as a number into 104.0
    return str(value).strip()


def split_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in _LIST_SPLIT.split(str(value)) if part.strip()]


# ---- columns

Setter = Callable[[Message, object], None]
Getter = Callable[[Message], object]


@dataclass(frozen=True)
class Column:
    """One column: its names, the field it fills, how a cell is read and written back."""

    key: str  # English name: the request path below `station.` / `parcel.`
    zh: str  # Chinese header
    note: str  # for the template's 填写说明 sheet
    set: Setter
    get: Getter  # value for a template row, "" when not set
    aliases: tuple[str, ...] = ()

    @property
    def header(self) -> str:
        return f"{self.zh}/{self.key}"


def _sub(msg: Message, path: str) -> tuple[Message, str]:
    *parents, name = path.split(".")
    for parent in parents:
        msg = getattr(msg, parent)
    return msg, name


def _present(msg: Message, path: str) -> tuple[Message, str] | None:
    """The innermost message and field name, or None when the field is not set."""
    sub, name = _sub(msg, path)
    field = sub.DESCRIPTOR.fields_by_name[name]
    if field.has_presence:
        return (sub, name) if sub.HasField(name) else None
    value = getattr(sub, name)
    return (sub, name) if value else None


def text(path: str) -> tuple[Setter, Getter]:
    return scalar(path, parse_text)


def scalar(path: str, parse: Callable[[object], object]) -> tuple[Setter, Getter]:
    def set_(msg: Message, value: object) -> None:
        sub, name = _sub(msg, path)
        setattr(sub, name, parse(value))

    def get(msg: Message) -> object:
        found = _present(msg, path)
        return getattr(*found) if found else ""

    return set_, get


def boolean(path: str) -> tuple[Setter, Getter]:
    set_, _ = scalar(path, parse_bool)

    def get(msg: Message) -> object:
        found = _present(msg, path)
        return ("是" if getattr(*found) else "否") if found else ""

    return set_, get


def enum(path: str, spec: EnumSpec) -> tuple[Setter, Getter]:
    def set_(msg: Message, value: object) -> None:
        sub, name = _sub(msg, path)
        setattr(sub, name, parse_enum(spec, str(value)))

    def get(msg: Message) -> object:
        sub, name = _sub(msg, path)
        number = getattr(sub, name)
        return spec.zh.get(number, "") if number else ""

    return set_, get


def enum_list(path: str, spec: EnumSpec) -> tuple[Setter, Getter]:
    def set_(msg: Message, value: object) -> None:
        sub, name = _sub(msg, path)
        getattr(sub, name).extend(parse_enum(spec, word) for word in split_list(value))

    def get(msg: Message) -> object:
        sub, name = _sub(msg, path)
        return ";".join(spec.zh.get(n, "") for n in getattr(sub, name))

    return set_, get


def text_list(path: str) -> tuple[Setter, Getter]:
    def set_(msg: Message, value: object) -> None:
        sub, name = _sub(msg, path)
        getattr(sub, name).extend(split_list(value))

    def get(msg: Message) -> object:
        sub, name = _sub(msg, path)
        return ";".join(getattr(sub, name))

    return set_, get


def _col(key: str, zh: str, note: str, access: tuple[Setter, Getter], *aliases: str) -> Column:
    return Column(key, zh, note, access[0], access[1], aliases)


STATION_COLUMNS: tuple[Column, ...] = (
    _col("station_id", "站点编号", "运营企业自编的站点编号（登记时必填）", text("station_id"), "编号"),
    _col(
        "kind",
        "站点类型",
        "乡镇快递综合服务站 / 村级快递便民服务点（TOWNSHIP_STATION / VILLAGE_POINT）",
        enum("kind", KIND),
        "类型",
    ),
    _col("county", "所在县", "如 静乐县", text("county"), "县"),
    _col("township", "所在乡镇", "如 康家会镇", text("township"), "乡镇"),
    _col("village", "所在行政村", "村级点填写，如 康家会村", text("village"), "行政村", "村"),
    _col("operator", "运营企业", "如 山西壹公里信息科技有限公司", text("operator")),
    _col("mode", "经营方式", "自营 / 合作开办（SELF_OPERATED / PARTNERED）", enum("mode", MODE)),
    _col("fixed_premises", "固定经营场所", "是 / 否", boolean("fixed_premises"), "是否固定经营场所"),
    _col("services", "服务功能", "寄件;收件;投递（SEND;RECEIVE;DELIVER），用分号分隔", enum_list("services", SERVICE)),
    _col(
        "signage.present",
        "设置标识牌",
        "是 / 否（自营为门头标识牌，合作为外部标识）",
        boolean("signage.present"),
        "是否设置标识牌",
        "sign_present",
    ),
    _col(
        "signage.placement",
        "标识牌位置",
        "门外上方 / 门侧 / 门外墙面 / 无",
        enum("signage.placement", PLACEMENT),
        "sign_placement",
    ),
    _col(
        "signage.unified_design",
        "标识牌统一设计",
        "是 / 否",
        boolean("signage.unified_design"),
        "是否统一设计",
        "sign_unified_design",
    ),
    _col(
        "signage.obstructed", "标识牌被遮挡", "是 / 否", boolean("signage.obstructed"), "是否被遮挡", "sign_obstructed"
    ),
    _col("signage.fixed", "墙面标识牌固定", "是 / 否（标识牌在墙面时填写）", boolean("signage.fixed"), "sign_fixed"),
    _col("signage.text", "标识牌名称", "如 康家会镇快递综合服务站", text("signage.text"), "sign_text"),
    _col("signage.code", "标识牌编号", "乡镇站 XZ0001，村级点 C0001", text("signage.code"), "sign_code"),
    _col("filed_name", "备案名称", "在邮政管理部门备案的名称", text("filed_name")),
    _col("hours_sign_posted", "悬挂营业时间牌", "是 / 否", boolean("hours_sign_posted"), "是否悬挂营业时间牌"),
    _col("business_hours", "营业时间", "如 08:30-18:00", text("business_hours")),
    _col("area_m2", "面积（平方米）", "数字，如 24.5", scalar("area_m2", parse_float), "面积", "area"),
    _col("equipment", "设施设备", "接待台席;货架;巴枪;视频监控;灭火器，用分号分隔", enum_list("equipment", EQUIPMENT)),
    _col(
        "cctv_retention_days",
        "监控保存天数",
        "整数，如 30",
        scalar("cctv_retention_days", parse_int),
        "监控录像保存天数",
    ),
    _col("zones", "功能分区", "如 收寄区;待取件区，用分号分隔", text_list("zones")),
    _col(
        "daily_parcels",
        "日均业务量（件）",
        "平均每天收投快件数，整数，如 120（用于面积与业务量是否匹配）",
        scalar("daily_parcels", parse_count),
        "日均业务量",
        "日均件量",
    ),
    _col("filing.filed", "是否已备案", "是 / 否", boolean("filing.filed"), "已备案", "filed"),
    _col("filing.record_number", "备案编号", "如 晋忻备2023-0104", text("filing.record_number"), "record_number"),
    _col("filing.filed_on", "备案日期", "YYYY-MM-DD", scalar("filing.filed_on", parse_date), "filed_on"),
    _col(
        "filing.changed_on",
        "备案事项变更日期",
        "名称、地址或运营企业变更的日期，YYYY-MM-DD；未变更留空",
        scalar("filing.changed_on", parse_date),
        "变更日期",
        "changed_on",
    ),
    _col(
        "filing.refiled_on",
        "变更备案日期",
        "变更后重新备案的日期，YYYY-MM-DD（应在变更后10日内）",
        scalar("filing.refiled_on", parse_date),
        "refiled_on",
    ),
    _col("opened_on", "开业日期", "YYYY-MM-DD", scalar("opened_on", parse_date), "开办日期"),
    _col(
        "status",
        "经营状态",
        "营业 / 暂停营业 / 已关闭（OPEN / SUSPENDED / CLOSED）；留空视为营业",
        enum("status", STATUS),
        "状态",
    ),
    _col(
        "status_since",
        "状态起始日期",
        "暂停营业或关闭的起始日期，YYYY-MM-DD",
        scalar("status_since", parse_date),
        "关闭日期",
    ),
)

PARCEL_COLUMNS: tuple[Column, ...] = (
    _col("waybill", "运单号", "快递运单号", text("waybill")),
    _col("shipped_on", "寄出日期", "YYYY-MM-DD", scalar("shipped_on", parse_date), "发货日期"),
    _col("product_category", "产品类别", "上行：如 藜麦、杂粮、胡麻油、土豆", text("product_category"), "品类"),
    _col("platform", "电商平台", "上行：如 拼多多、淘宝、抖音、京东", text("platform"), "平台"),
    _col("origin_county", "寄出县", "如 静乐县", text("origin_county"), "始发县"),
    _col("destination_county", "目的县", "如 静乐县", text("destination_county")),
    _col("destination_township", "目的乡镇", "下行：如 康家会镇", text("destination_township")),
    _col("destination_village", "目的村", "下行：如 康家会村", text("destination_village")),
    _col("station_code", "交付站点编号", "下行：交付快件的站点标识牌编号 XZ…/C…", text("station_code")),
    _col(
        "delivered_to_address",
        "投递到户",
        "下行：是 / 否（空白视为未报投递结果，不予补贴）",
        boolean("delivered_to_address"),
    ),
    _col(
        "fee_charged_fen",
        "向收件人收费（分）",
        "下行：向收件人额外收取的费用，整数，单位分（3元填300）；未收费填0或留空",
        scalar("fee_charged_fen", parse_fen),
        "收费（分）",
        "收件人收费",
    ),
)


# The columns a file must have (rows are still checked without them, but every row then lacks the
# same facts): a station's identity, place, operator and area; a parcel's waybill and date.
STATION_REQUIRED = ("station_id", "kind", "county", "township", "operator", "area_m2")
PARCEL_REQUIRED = ("waybill", "shipped_on")
REQUIRED: dict[tuple[Column, ...], tuple[str, ...]] = {
    STATION_COLUMNS: STATION_REQUIRED,
    PARCEL_COLUMNS: PARCEL_REQUIRED,
}
WHAT_EN = {"站点": "station", "快件": "parcel"}


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", name).lower().replace("（", "(").replace("）", ")")


@dataclass(frozen=True)
class Header:
    """A file's header resolved to columns; unknown headers are kept to warn about once."""

    columns: dict[str, Column]  # header as written -> column
    unknown: list[str]
    missing: list[Column]  # required columns the header lacks

    def missing_line(self) -> str:
        """The file-level note on the required columns the header lacks ("" when none)."""
        if not self.missing:
            return ""
        names = "、".join(c.header for c in self.missing)
        return (
            f"缺少必需的列 missing required columns: {names}"
            " — 各行仍然核验，但都会缺这些项 (the rows are still checked, each lacking these)"
        )


def resolve_header(names: Iterable[str], columns: tuple[Column, ...], what: str) -> Header:
    """Maps headers (English, Chinese, or both as `站点编号/station_id`) to columns."""
    lookup: dict[str, Column] = {}
    for c in columns:
        for n in (c.key, c.zh, c.header, *c.aliases):
            lookup[_norm(n)] = c
    found: dict[str, Column] = {}
    unknown: list[str] = []
    for name in names:
        if not str(name).strip():
            continue
        n = _norm(str(name))
        column = lookup.get(n)
        if column is None:
            column = next((lookup[p] for p in re.split(r"[/|]", n) if p and p in lookup), None)
        if column is None:
            unknown.append(str(name))
        elif column in found.values():
            raise LayoutError(
                f"列“{column.header}”出现了两次（“{name}”）the column {column.header} appears twice ({name!r})"
            )
        else:
            found[str(name)] = column
    if not found:
        shown = "、".join(str(n).strip() for n in names if str(n).strip())[:200]
        raise LayoutError(
            f"表头里没有可识别的{what}列（{shown or '表头是空的'}）"
            f"(no known {WHAT_EN.get(what, what)} column in the header: {shown or 'it is empty'})"
        )
    present = {c.key for c in found.values()}
    required = REQUIRED.get(columns, ())
    missing = [c for c in columns if c.key in required and c.key not in present]
    return Header(found, unknown, missing)


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def fill(message: Message, row: Mapping[str, object], header: Header) -> None:
    """Sets the message's fields from one row; raises CellError on the first unreadable cell."""
    for name, column in header.columns.items():
        value = row.get(name)
        if blank(value):
            continue
        try:
            column.set(message, value)
        except ValueError as e:
            raise CellError(name, value, str(e)) from None


def station_from_row(row: Mapping[str, object], header: Header) -> station_pb2.Station:
    station = station_pb2.Station()
    fill(station, row, header)
    return station


def parcel_from_row(row: Mapping[str, object], header: Header) -> claim_pb2.Parcel:
    parcel = claim_pb2.Parcel()
    fill(parcel, row, header)
    return parcel


def to_row(message: Message, columns: tuple[Column, ...]) -> list[object]:
    """A template row: the message's values in column order (Chinese words for enums)."""
    return [c.get(message) for c in columns]


def column_for_field(field: str, columns: tuple[Column, ...] = STATION_COLUMNS) -> str:
    """The header a reason's field points to (`station.signage.code` -> 标识牌编号/signage.code)."""
    path = field.split("[")[0].removeprefix("station.").removeprefix("parcel.")
    for c in columns:
        if c.key == path:
            return c.header
    return field
