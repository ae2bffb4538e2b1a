"""The words the station and parcel forms use for enum values (中文 first), shared by the readers,
which accept them in cells, and the reports, which show them instead of the proto's names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ruralpost.v1 import claim_pb2, station_pb2


@dataclass(frozen=True)
class EnumSpec:
    prefix: str  # "STATION_KIND_"
    words: Mapping[str, int]  # extra spellings (Chinese) -> number
    names: Mapping[str, int]  # short name ("TOWNSHIP_STATION") -> number
    zh: Mapping[int, str]  # number -> the Chinese word a template writes


def _enum(enum_type: Any, prefix: str, zh: Mapping[str, Iterable[str]]) -> EnumSpec:
    names: dict[str, int] = {}
    for full, number in enum_type.items():
        if number:
            names[full.removeprefix(prefix)] = number
    words: dict[str, int] = {}
    first: dict[int, str] = {}
    for short, spellings in zh.items():
        for word in spellings:
            words[word] = names[short]
            first.setdefault(names[short], word)
    return EnumSpec(prefix, words, names, first)


KIND = _enum(
    station_pb2.StationKind,
    "STATION_KIND_",
    {
        "TOWNSHIP_STATION": ["乡镇快递综合服务站", "乡镇站", "乡镇综合服务站"],
        "VILLAGE_POINT": ["村级快递便民服务点", "村级点", "村点", "便民服务点"],
    },
)
MODE = _enum(
    station_pb2.OperationMode,
    "OPERATION_MODE_",
    {
        "SELF_OPERATED": ["自营"],
        "PARTNERED": ["合作开办", "合作"],
    },
)
PLACEMENT = _enum(
    station_pb2.SignPlacement,
    "SIGN_PLACEMENT_",
    {
        "ABOVE_DOOR": ["门外上方", "门上方"],
        "BESIDE_DOOR": ["门侧", "门旁"],
        "OUTER_WALL": ["门外墙面", "外墙", "墙面"],
        "NONE": ["无"],
    },
)
SERVICE = _enum(
    station_pb2.ServiceType,
    "SERVICE_TYPE_",
    {
        "SEND": ["寄件", "收寄"],
        "RECEIVE": ["收件", "取件"],
        "DELIVER": ["投递", "派送"],
    },
)
EQUIPMENT = _enum(
    station_pb2.Equipment,
    "EQUIPMENT_",
    {
        "RECEPTION_DESK": ["接待台席", "接待台"],
        "SHELVES": ["货架"],
        "BARCODE_SCANNER": ["巴枪", "扫描设备", "扫码枪"],
        "VIDEO_SURVEILLANCE": ["视频监控", "监控"],
        "FIRE_EXTINGUISHER": ["灭火器"],
    },
)
STATUS = _enum(
    station_pb2.StationStatus,
    "STATION_STATUS_",
    {
        "OPEN": ["营业", "正常营业", "营业中"],
        "SUSPENDED": ["暂停营业", "暂停", "停业"],
        "CLOSED": ["已关闭", "关闭", "撤销"],
    },
)
CLAIM_KIND = _enum(
    claim_pb2.ClaimKind,
    "CLAIM_KIND_",
    {
        "UPBOUND_AGRICULTURAL": ["农产品上行", "上行"],
        "DOWNBOUND_PARCEL": ["快件下行", "下行"],
    },
)
