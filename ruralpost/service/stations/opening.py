"""Whether a registered station was open on a day: the one meaning of "open" in the service.

A station's latest registration holds its facts, and their dates decide what counts as of a day.
Whoever reads the registry as of a date uses this (claims: the station that delivered a parcel,
SUB-DOWN-STATION), so every reader means the same by "open". The station rule STN-CLOSED says the
same in rules/stations.yaml: closed or suspended from `status_since` on; a closed or suspended
station without that date is not taken to be open.
"""

from __future__ import annotations

import datetime as dt

from ruralpost.service.dates import date_or_none
from ruralpost.v1 import station_pb2

NOT_RUNNING = frozenset({station_pb2.STATION_STATUS_SUSPENDED, station_pb2.STATION_STATUS_CLOSED})


def open_on(station: station_pb2.Station, day: dt.date) -> bool:
    """Opened on or before `day`, and neither closed nor suspended by then."""
    opened = date_or_none(station.opened_on)
    if opened is None or opened > day:
        return False
    if station.status in NOT_RUNNING:
        since = date_or_none(station.status_since)
        return since is not None and day < since
    return True
