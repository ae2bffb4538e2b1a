"""The reference data's versions in the database (table `reference_data`).

Each programme's versions are numbered from 1 and never changed: a new version is a new row, so
what a decision was made on stays readable. The newest is the active one, and every replica on
the same database reads the same newest (`newest_number` is one indexed look-up, cheap enough
to ask every few seconds). Two admins changing at once: the second insert meets the first's
primary key and is refused (`VersionConflict`), it never overwrites.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from ruralpost.service.store import tables
from ruralpost.service.store.outage import available


@dataclass(frozen=True)
class ReferenceVersion:
    programme: str
    version: int
    content_hash: str
    author: str
    reason: str
    created_at: dt.datetime
    tables: dict[str, Any] | None = None  # None in a history listing


class VersionConflict(Exception):
    """Another change took this version number first."""


class ReferenceVersions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def newest_number(self, programme: str) -> int:
        """The newest version's number, 0 when the programme has none yet."""
        t = tables.reference_data
        with available(), self.engine.connect() as conn:
            found = conn.execute(select(func.max(t.c.version)).where(t.c.programme == programme)).scalar()
        return int(found or 0)

    def get(self, programme: str, version: int = 0) -> ReferenceVersion | None:
        """A version with its tables (0: the newest), None when there is no such version."""
        t = tables.reference_data
        query = select(t).where(t.c.programme == programme)
        query = query.where(t.c.version == version) if version else query.order_by(t.c.version.desc()).limit(1)
        with available(), self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return ReferenceVersion(
            row["programme"], row["version"], row["content_hash"], row["author"], row["reason"],
            _utc(row["created_at"]), json.loads(row["tables"]),
        )  # fmt: skip

    def history(self, programme: str) -> list[ReferenceVersion]:
        """Every version, newest first, without its tables."""
        t = tables.reference_data
        query = (
            select(t.c.programme, t.c.version, t.c.content_hash, t.c.author, t.c.reason, t.c.created_at)
            .where(t.c.programme == programme)
            .order_by(t.c.version.desc())
        )
        with available(), self.engine.connect() as conn:
            return [ReferenceVersion(r[0], r[1], r[2], r[3], r[4], _utc(r[5])) for r in conn.execute(query)]

    def add(
        self, programme: str, version: int, content_hash: str, data: dict[str, Any], author: str, reason: str
    ) -> ReferenceVersion:
        """Stores `version` (the newest plus one); VersionConflict when another change stored it first."""
        stored = ReferenceVersion(programme, version, content_hash, author, reason, dt.datetime.now(dt.UTC), data)
        try:
            with available(), self.engine.begin() as conn:
                conn.execute(
                    insert(tables.reference_data).values(
                        programme=programme,
                        version=version,
                        content_hash=content_hash,
                        tables=json.dumps(data, ensure_ascii=False, sort_keys=True),
                        author=author,
                        reason=reason,
                        created_at=stored.created_at,
                    )
                )
        except IntegrityError:
            raise VersionConflict(f"version {version} of {programme} exists already") from None
        return stored


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; every time here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
