"""The schema, brought up to date at start by the migrations shipped inside the package.

`upgrade` runs Alembic from code (no alembic.ini: an installed wheel upgrades its database as a
checkout does) on SQLite and PostgreSQL. A database at a revision this ruralpost does not know was
upgraded by a newer release: the server refuses to start on it rather than misread it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

# Alembic says at INFO what it sets up, on import and on every start: what changed is logged here.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import Connection, Engine  # noqa: E402

from ruralpost.service.config import StartupError  # noqa: E402

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# PostgreSQL: replicas starting together take this transaction lock, so one of them migrates and
# the others find the schema up to date (the key is any constant the service uses for nothing else).
MIGRATION_LOCK = 0x7275_7261_6C70_6F73
# Alembic's `op` and `context` are module globals: one migration at a time in a process.
_IN_PROCESS = threading.Lock()


class DatabaseTooNew(StartupError):
    """The database is at a revision this ruralpost does not know: a newer release upgraded it."""

    def __init__(self, revisions: list[str], head: str) -> None:
        found = ", ".join(revisions)
        super().__init__(
            f"数据库结构版本 {found} 比本程序新（本程序最高 {head}），请升级 ruralpost 后再启动",
            f"the database schema is at revision {found}, newer than this ruralpost knows (up to {head}): "
            "upgrade ruralpost to serve it",
        )
        self.revisions = revisions
        self.head = head


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def scripts() -> ScriptDirectory:
    """The revisions shipped with this ruralpost."""
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this ruralpost knows."""
    found = scripts().get_current_head()
    assert found is not None, "no migrations shipped"
    return found


def revisions_of(connection: Connection) -> list[str]:
    """The revisions the database says it is at (none for an empty database or one made before
    migrations, whose tables the first revision takes as they are)."""
    return sorted(MigrationContext.configure(connection).get_current_heads())


def upgrade(engine: Engine) -> None:
    """Upgrades the database to this ruralpost's newest revision, in one transaction where the
    database allows it (PostgreSQL); DatabaseTooNew when a newer ruralpost has upgraded it."""
    known = {s.revision for s in scripts().walk_revisions()}
    with _IN_PROCESS, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        current = revisions_of(connection)
        unknown = [r for r in current if r not in known]
        if unknown:
            raise DatabaseTooNew(unknown, head())
        command.upgrade(_config(connection), "head")
        after = revisions_of(connection)
    if after != current:
        log.info("database schema upgraded from %s to %s", ", ".join(current) or "nothing", ", ".join(after))
