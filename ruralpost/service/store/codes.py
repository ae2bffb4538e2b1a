"""SQLite: which registered stations show each sign code, and to whom the county awarded a disputed
one, in memory, in step with the database file.

Every CheckStation asks the registry which stations show its sign code, and a station whose code
another operator shows asks whom the county awarded it. Asking SQLite each time cost about a tenth
of a whole check, nearly all of it entering the library rather than the query (an award read
through SQLAlchemy, more than the check itself). So the index answers from memory and reads from
SQLite only the registrations and awards appended since it last looked (neither is ever updated
or deleted), and only when the database has changed:
SQLite's WAL-index header, the first 48 bytes of the `-shm` file beside the database (the format
SQLite documents for its WAL mode), changes with every commit by any process, workers and other
servers on the same file included. The index maps those bytes read-only, so looking is a memory
read, not even a system call. Without that file (a database not in WAL mode) every call reads
SQLite.

Two things keep the map safe. The index holds its own SQLite connection open as long as it maps
the file: while any connection has it open, SQLite never truncates it (reading a truncated map
would kill the process). And the file's descriptor is opened once per process and path and
closed only after the last index on that path has closed: closing any descriptor of a file drops
every POSIX lock the process holds on it, SQLite's own locks on that file included.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import threading

Station = tuple[str, str]  # (operator, station id)
Code = tuple[str, str]  # (county, sign code)

_HEADER_BYTES = 48  # the WAL-index header: its change counter and last frame move on every commit
_REGISTRATIONS = (
    "SELECT id, operator, station_id, county, sign_code FROM station_registrations WHERE id > ? ORDER BY id"
)
_AWARDS = "SELECT id, county, sign_code, operator FROM sign_code_awards WHERE id > ? ORDER BY id"


class _Descriptors:
    """Read-only descriptors of `-shm` files, one per path in the process, counted by their users."""

    def __init__(self) -> None:
        self._open: dict[str, list[int]] = {}  # path -> [descriptor, users]
        self._lock = threading.Lock()

    def take(self, path: str) -> int | None:
        with self._lock:
            held = self._open.get(path)
            if held is None:
                try:
                    held = self._open[path] = [os.open(path, os.O_RDONLY | os.O_CLOEXEC), 0]
                except OSError:
                    return None
            held[1] += 1
            return held[0]

    def give(self, path: str) -> None:
        with self._lock:
            held = self._open.get(path)
            if held is not None:
                held[1] -= 1
                if held[1] <= 0:
                    del self._open[path]
                    os.close(held[0])


_SHM = _Descriptors()


class SignCodeIndex:
    """The current registrations' sign codes of one SQLite database file and the awards in force
    (see the module's text)."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._shm_path = f"{database}-shm"
        self._conn: sqlite3.Connection | None = None
        self._header: mmap.mmap | None = None
        self._stamp = b""
        self._seen = 0  # the highest registration id read
        self._by_code: dict[Code, dict[Station, None]] = {}
        self._code_of: dict[Station, Code] = {}  # each station's current code
        self._awards_seen = 0  # the highest award id read
        self._awarded: dict[Code, str] = {}  # the operator of each code's latest award
        self._lock = threading.Lock()

    def holders(self, county: str, sign_code: str) -> list[Station]:
        """(operator, station id) of the stations whose current registration shows the code, sorted.
        sqlite3.Error when the database cannot be read (the next call opens it again)."""
        with self._lock:
            self._follow()
            found = self._by_code.get((county, sign_code))
            return sorted(found) if found else []

    def award(self, county: str, sign_code: str) -> str:
        """The operator the county's latest decision awarded the code to, "" when it has not
        decided; sqlite3.Error as `holders`."""
        with self._lock:
            self._follow()
            return self._awarded.get((county, sign_code), "")

    def _follow(self) -> None:
        """Under the lock: reads what was appended when the database changed since last time."""
        try:
            if self._conn is None:
                self._open()
            stamp = self._header[:] if self._header is not None else b""
            if not stamp or stamp != self._stamp:
                self._catch_up()  # after reading the header: a commit in between is read next time
                self._stamp = stamp
        except sqlite3.Error:
            self._release()
            raise

    def _open(self) -> None:
        self._conn = sqlite3.connect(self._database, timeout=30, check_same_thread=False)
        self._catch_up()  # the first read opens SQLite's `-shm` file, which the map watches from then on
        fd = _SHM.take(self._shm_path)
        if fd is None:
            return
        try:
            self._header = mmap.mmap(fd, _HEADER_BYTES, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # a file shorter than the header: not SQLite's WAL index
            _SHM.give(self._shm_path)

    def _catch_up(self) -> None:
        assert self._conn is not None
        for row_id, operator, station_id, county, sign_code in self._conn.execute(_REGISTRATIONS, (self._seen,)):
            station, code = (operator, station_id), (county, sign_code)
            before = self._code_of.get(station)
            if before is not None and before != code:
                shown = self._by_code[before]
                del shown[station]
                if not shown:
                    del self._by_code[before]
            self._code_of[station] = code
            self._by_code.setdefault(code, {})[station] = None
            self._seen = row_id
        for row_id, county, sign_code, operator in self._conn.execute(_AWARDS, (self._awards_seen,)):
            self._awarded[(county, sign_code)] = operator
            self._awards_seen = row_id

    def _release(self) -> None:
        """Unmaps first, then closes the connection that kept the file whole, then the descriptor."""
        if self._header is not None:
            self._header.close()
            self._header = None
            had_map = True
        else:
            had_map = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if had_map:
            _SHM.give(self._shm_path)
        self._stamp = b""

    def close(self) -> None:
        with self._lock:
            self._release()
