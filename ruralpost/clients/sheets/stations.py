"""A station list through CheckStations: rows in, one `Item` per row out, in the file's order.

`StationBatch` makes the requests and reads the answers; who carries them between is the caller's
business (the CLI's gRPC client, or the console's in-process `Methods`). Rows are read lazily on the
sending thread; what the main thread needs to report an answer
(row number, station id, township, kind) waits in a queue as long as the request is in flight, so
memory is bounded by flow control, not by the file. A row that cannot be read never reaches the
server: it becomes a BAD_ROW item in its place and the batch goes on. A row the server refuses
(INVALID_ARGUMENT for that item) is a BAD_ROW too, naming the field.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ruralpost.clients.badrequest import violations_of
from ruralpost.clients.reports.labels import KIND_ZH, outcome_key
from ruralpost.clients.reports.summary import Item
from ruralpost.clients.sheets import layout, shapes
from ruralpost.clients.sheets.readers import Row, Rows
from ruralpost.v1 import station_pb2


@dataclass
class _Sent:
    row: int
    station_id: str
    township: str
    kind: str
    before: list[Item] = field(default_factory=list)  # bad rows just above it, reported first


class StationRows:
    """Turns a file's rows into check requests. A row is a station in either shape (shapes.py: the
    flat column layout, or proto JSON), or in JSON a whole request as the examples are
    (`{"station": {...}, "asOf": ...}`), whose own date is kept unless the command line gives one."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.parser = shapes.parser_for(station_pb2.Station, layout.STATION_COLUMNS, "站点", rows)
        self.register_asked = False  # a request in the file said `register`: only --register does

    @property
    def unknown_columns(self) -> list[str]:
        return self.parser.unknown_columns

    @property
    def missing_columns(self) -> str:
        """The note on required columns the spreadsheet's header lacks ("" when none, or JSON)."""
        return self.parser.fixed.missing_line() if self.parser.fixed else ""

    def request(self, row: Row) -> station_pb2.CheckStationRequest:
        """The row as a request; raises FieldError / LayoutError / ValueError for a bad row."""
        if isinstance(row.cells.get("station"), dict):
            request = shapes.parse_proto(row.cells, station_pb2.CheckStationRequest())
            self.register_asked |= request.register
            return request
        return station_pb2.CheckStationRequest(station=self.parser.parse(row.cells))

    def station(self, row: Row) -> station_pb2.Station:
        return self.request(row).station

    def identify(self, row: Row) -> tuple[str, str]:
        """Station id and township of a row that cannot be read, as far as they can be told."""
        nested = row.cells.get("station")
        cells = nested if isinstance(nested, dict) else row.cells
        if isinstance(nested, dict) or self.parser.is_proto(cells):
            return str(cells.get("stationId", cells.get("station_id", ""))), str(cells.get("township", ""))
        found = {"station_id": "", "township": ""}
        try:
            header = self.parser.fixed or self.parser.header(tuple(cells))
        except layout.LayoutError:
            return "", ""
        for name, column in header.columns.items():
            if column.key in found and cells.get(name) is not None:
                found[column.key] = str(cells[name]).strip()
        return found["station_id"], found["township"]


def bad_item(row: Row, error: Exception, stations: StationRows | None = None) -> Item:
    station_id, township = stations.identify(row) if stations and not row.problem else ("", "")
    column = error.column if isinstance(error, layout.FieldError) else ""
    return Item(row=row.number, station_id=station_id, township=township, column=column, problem=f"{error}{row.where}")


class StationBatch:
    """One pass over a file's stations: `requests()` to send, `items(answers)` for every row's Item
    in file order as the answers arrive. `as_of` (the command line's) wins over a request's own
    date in the file. The two may run on different threads (gRPC sends on its own)."""

    def __init__(self, stations: StationRows, as_of: str = "", register: bool = False) -> None:
        self.stations, self.as_of, self.register = stations, as_of, register
        self._sent: deque[_Sent] = deque()
        self._waiting: list[Item] = []  # bad rows not yet followed by a sent row
        self._lock = threading.Lock()  # guards `_waiting` between the two threads

    def requests(self) -> Iterator[station_pb2.CheckStationsRequest]:
        for row in self.stations.rows.rows:
            try:
                if row.problem:
                    raise ValueError(row.problem)
                request = self.stations.request(row)
            except ValueError as e:
                with self._lock:
                    self._waiting.append(bad_item(row, e, self.stations))
                continue
            with self._lock:
                before = self._waiting[:]
                self._waiting.clear()
            station = request.station
            self._sent.append(
                _Sent(row.number, station.station_id, station.township, KIND_ZH.get(station.kind, ""), before)
            )
            yield station_pb2.CheckStationsRequest(
                station=station, as_of=self.as_of or request.as_of, register=self.register
            )

    def items(self, answers: Iterable[station_pb2.CheckStationsResponse]) -> Iterator[Item]:
        for response in answers:
            meta = self._sent.popleft()
            yield from meta.before
            if response.HasField("verdict"):
                v = response.verdict
                yield Item(
                    row=meta.row,
                    station_id=meta.station_id,
                    township=meta.township,
                    kind=meta.kind,
                    outcome=outcome_key(v.outcome),
                    reasons=list(v.reasons),
                    ruleset_version=v.ruleset_version,
                    as_of=v.evaluated_as_of,
                )
            else:
                violations = violations_of(response.error)
                fields = [layout.column_for_field(v.field) for v in violations]
                problem = "；".join(f"{v.field}: {v.description}" for v in violations) or response.error.message
                yield Item(
                    row=meta.row,
                    station_id=meta.station_id,
                    township=meta.township,
                    kind=meta.kind,
                    column="、".join(fields),
                    problem=f"服务端拒绝：{problem}",
                )
        with self._lock:
            rest = self._waiting[:]
        yield from rest
