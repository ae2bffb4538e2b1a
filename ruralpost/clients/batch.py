"""A station list through CheckStations: rows in, one `Item` per row out, in the file's order.

Rows are read lazily on gRPC's sending thread; what the main thread needs to report an answer
(row number, station id, township, kind) waits in a queue as long as the request is in flight, so
memory is bounded by flow control, not by the file. A row that cannot be read never reaches the
server: it becomes a BAD_ROW item in its place and the batch goes on. A row the server refuses
(INVALID_ARGUMENT for that item) is a BAD_ROW too, naming the field.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from google.protobuf import json_format

from ruralpost.clients import layout
from ruralpost.clients.client import RuralpostClient
from ruralpost.clients.errors import RuralpostError
from ruralpost.clients.labels import KIND_ZH, outcome_key
from ruralpost.clients.readers import Row, Rows
from ruralpost.clients.summary import Item
from ruralpost.v1 import station_pb2


@dataclass
class _Sent:
    row: int
    station_id: str
    township: str
    kind: str
    before: list[Item] = field(default_factory=list)   # bad rows just above it, reported first


class StationRows:
    """Turns a file's rows into stations; a flat row uses the column layout, JSON Lines may also
    hold a whole request as the examples do (`{"station": {...}, "asOf": ...}`)."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.unknown_columns: list[str] = []
        self._headers: dict[tuple[str, ...], layout.Header] = {}
        if rows.header is not None:
            self._header(tuple(rows.header))

    def _header(self, names: tuple[str, ...]) -> layout.Header:
        header = self._headers.get(names)
        if header is None:
            header = layout.resolve_header(names, layout.STATION_COLUMNS, "站点")
            self._headers[names] = header
            self.unknown_columns += [n for n in header.unknown if n not in self.unknown_columns]
        return header

    def station(self, row: Row) -> station_pb2.Station:
        """The row's station; raises CellError / LayoutError / ValueError for a bad row."""
        if isinstance(row.cells.get("station"), dict):
            request = json_format.ParseDict(row.cells, station_pb2.CheckStationRequest())
            return request.station
        return layout.station_from_row(row.cells, self._header(tuple(row.cells)))


    def identify(self, row: Row) -> tuple[str, str]:
        """Station id and township of a row that cannot be read, as far as they can be told."""
        nested = row.cells.get("station")
        if isinstance(nested, dict):
            return str(nested.get("stationId", nested.get("station_id", ""))), str(nested.get("township", ""))
        found = {"station_id": "", "township": ""}
        try:
            header = self._header(tuple(row.cells))
        except layout.LayoutError:
            return "", ""
        for name, column in header.columns.items():
            if column.key in found and row.cells.get(name) is not None:
                found[column.key] = str(row.cells[name]).strip()
        return found["station_id"], found["township"]


def bad_item(row: Row, error: Exception, stations: StationRows | None = None) -> Item:
    station_id, township = stations.identify(row) if stations and not row.problem else ("", "")
    column = error.column if isinstance(error, layout.CellError) else ""
    return Item(row=row.number, station_id=station_id, township=township, column=column, problem=str(error))


def check_rows(client: RuralpostClient, stations: StationRows, as_of: str = "",
               register: bool = False) -> Iterator[Item]:
    """Every row's Item, in file order, as the answers arrive."""
    sent: deque[_Sent] = deque()
    waiting: list[Item] = []             # bad rows not yet followed by a sent row
    lock = threading.Lock()              # guards `waiting` between the two threads

    def requests() -> Iterator[station_pb2.CheckStationsRequest]:
        for row in stations.rows.rows:
            try:
                if row.problem:
                    raise ValueError(row.problem)
                station = stations.station(row)
            except (ValueError, json_format.ParseError) as e:
                with lock:
                    waiting.append(bad_item(row, e, stations))
                continue
            with lock:
                before = waiting[:]
                waiting.clear()
            sent.append(_Sent(row.number, station.station_id, station.township,
                              KIND_ZH.get(station.kind, ""), before))
            yield station_pb2.CheckStationsRequest(station=station, as_of=as_of, register=register)

    for response in client.check_stations(requests()):
        meta = sent.popleft()
        yield from meta.before
        if response.HasField("verdict"):
            v = response.verdict
            yield Item(row=meta.row, station_id=meta.station_id, township=meta.township, kind=meta.kind,
                       outcome=outcome_key(v.outcome), reasons=list(v.reasons),
                       ruleset_version=v.ruleset_version, as_of=v.evaluated_as_of)
        else:
            error = RuralpostError.from_status(response.error)
            fields = [layout.column_for_field(v.field) for v in error.violations]
            problem = "；".join(f"{v.field}: {v.description}" for v in error.violations) or error.message
            yield Item(row=meta.row, station_id=meta.station_id, township=meta.township, kind=meta.kind,
                       column="、".join(fields), problem=f"服务端拒绝：{problem}")
    with lock:
        rest = waiting[:]
    yield from rest
