"""A row in either of its two shapes: the flat column layout, or the proto's own JSON mapping.

A spreadsheet row is always flat (layout.py: headers in Chinese or English, `signage.code`). A JSON
object may be either, and each row is judged on its own: nested objects (`signage`, `filing`) or a
camelCase field name as json_format writes it (`stationId`, `areaM2`) make it proto JSON. Proto JSON
is read field by field against the message, so a key the message does not have is an error naming
it, never a column silently ignored; an enum value may be the full name, the name without its
prefix, or one of the Chinese words layout.py knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from ruralpost.clients.reports import words
from ruralpost.clients.sheets import layout
from ruralpost.clients.sheets.readers import Row, Rows
from ruralpost.v1 import claim_pb2, station_pb2

M = TypeVar("M", bound=Message)
_AT = re.compile(r" at ([\w.\[\]]+?)\.?$")

# enum type -> the spellings the forms accept for it
ENUMS: dict[str, words.EnumSpec] = {
    station_pb2.StationKind.DESCRIPTOR.full_name: words.KIND,
    station_pb2.OperationMode.DESCRIPTOR.full_name: words.MODE,
    station_pb2.SignPlacement.DESCRIPTOR.full_name: words.PLACEMENT,
    station_pb2.ServiceType.DESCRIPTOR.full_name: words.SERVICE,
    station_pb2.Equipment.DESCRIPTOR.full_name: words.EQUIPMENT,
    station_pb2.StationStatus.DESCRIPTOR.full_name: words.STATUS,
    claim_pb2.ClaimKind.DESCRIPTOR.full_name: words.CLAIM_KIND,
}


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _enum_value(value: object, fd: Any, where: str) -> object:
    spec = ENUMS.get(fd.enum_type.full_name)
    if spec is None or not isinstance(value, str):
        return value  # a number, or an enum layout.py has no words for
    try:
        return layout.parse_enum(spec, value)
    except ValueError as e:
        raise layout.FieldError(where, f"字段“{where}”的值“{_shown(value)}”{e} (not a {fd.enum_type.name})") from None


def _normalised(data: Mapping[str, Any], descriptor: Any, path: str) -> dict[str, Any]:
    """`data` with enum words turned into numbers; FieldError for a key the message lacks.
    `descriptor` is a message Descriptor (pure Python or upb: typed Any for both)."""
    fields = {name: fd for fd in descriptor.fields for name in (fd.name, fd.json_name)}
    out: dict[str, Any] = {}
    seen: dict[str, str] = {}  # field name -> the key that gave it
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        fd = fields.get(key)
        if fd is None:
            raise layout.FieldError(
                where,
                f"未知字段“{where}”：{descriptor.name} 没有这个字段 "
                f"(unknown field {where!r}: {descriptor.name} has no such field)",
            )
        if fd.name in seen:
            raise layout.FieldError(
                where,
                f"字段“{where}”和“{seen[fd.name]}”是同一个字段，只能写一次 "
                f"(the same field twice: {seen[fd.name]!r} and {key!r})",
            )
        seen[fd.name] = key
        repeated = fd.is_repeated and isinstance(value, list)
        values = value if repeated else [value]
        if fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
            values = [
                _normalised(v, fd.message_type, f"{where}[{i}]" if repeated else where) if isinstance(v, dict) else v
                for i, v in enumerate(values)
            ]
        elif fd.enum_type is not None:
            values = [_enum_value(v, fd, where) for v in values]
        out[key] = values if repeated else values[0]
    return out


def parse_proto(data: Mapping[str, Any], message: M) -> M:
    """`message` filled from proto JSON (camelCase or snake_case names, enums with or without
    their prefix); FieldError names the field at fault."""
    try:
        json_format.ParseDict(_normalised(data, message.DESCRIPTOR, ""), message)
    except json_format.ParseError as e:
        first = str(e).splitlines()[0]
        at = _AT.search(first)  # "… at Station.signage.code": the field, below the type name
        column = at[1].partition(".")[2] if at else ""
        raise layout.FieldError(column, f"不是有效的 proto JSON：{first} (invalid proto JSON)") from None
    return message


class RowParser(Generic[M]):
    """Rows to messages of one type, either shape; flat headers resolved once per set of names.

    With the header of a spreadsheet every row is flat, and a header naming no known column is a
    LayoutError at once. JSON rows bring their own keys: a flat one naming no known column is a
    LayoutError for that row only."""

    def __init__(
        self, message_type: type[M], columns: tuple[layout.Column, ...], what: str, header: Sequence[str] | None
    ) -> None:
        self.message_type = message_type
        self.columns = columns
        self.what = what
        self.unknown_columns: list[str] = []  # flat headers the layout does not know, in order seen
        self._headers: dict[tuple[str, ...], layout.Header] = {}
        self._camel = frozenset(fd.json_name for fd in message_type.DESCRIPTOR.fields if fd.json_name != fd.name)
        self.fixed = self.header(tuple(header)) if header is not None else None

    def header(self, names: tuple[str, ...]) -> layout.Header:
        found = self._headers.get(names)
        if found is None:
            found = self._headers[names] = layout.resolve_header(names, self.columns, self.what)
            self.unknown_columns += [n for n in found.unknown if n not in self.unknown_columns]
        return found

    def is_proto(self, cells: Mapping[str, object]) -> bool:
        """Proto JSON rather than flat: a nested object, or a camelCase field name."""
        return self.fixed is None and any(isinstance(v, dict) or k in self._camel for k, v in cells.items())

    def parse(self, cells: Mapping[str, object]) -> M:
        """The row's message; FieldError / LayoutError / ValueError for a row that cannot be read."""
        if self.is_proto(cells):
            return parse_proto(cells, self.message_type())
        message = self.message_type()
        layout.fill(message, cells, self.fixed or self.header(tuple(cells)))
        return message


def _names_columns(row: Row | None, columns: tuple[layout.Column, ...]) -> bool:
    """True when most of the row's values are column names: the real header is below the first row."""
    if row is None:
        return False
    values = [str(v).strip() for v in row.cells.values() if v is not None and str(v).strip()]
    if not values:
        return False
    try:
        named = len(layout.resolve_header(values, columns, "").columns)
    except layout.LayoutError:
        return False
    return named * 2 >= len(values)


def parser_for(message_type: type[M], columns: tuple[layout.Column, ...], what: str, rows: Rows) -> RowParser[M]:
    """The parser of a file's rows. A spreadsheet whose column names are in its second row (group
    titles in merged cells above them) is refused as a whole, not read as rows of column names."""
    try:
        parser = RowParser(message_type, columns, what, rows.header)
    except layout.LayoutError:
        if rows.header is not None and _names_columns(rows.peek(), columns):
            raise layout.LayoutError(header_not_first(rows)) from None
        raise
    if rows.header is not None and _names_columns(rows.peek(), columns):
        raise layout.LayoutError(header_not_first(rows))
    return parser


def header_not_first(rows: Rows) -> str:
    first = rows.peek()
    number = first.number if first else 2
    return (
        f"{rows.path.name}: 表头须在第一行：第{number}行是列名，上面的行像是分组标题（合并单元格），"
        f"请删去上面的行后再提交 (the header must be the first row: row {number} holds the column names "
        "below group titles in merged cells; delete the rows above it)"
    )
