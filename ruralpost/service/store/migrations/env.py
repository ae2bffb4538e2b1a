"""Alembic's environment: the store hands it the connection at start (store/migrate.py); a
developer's `alembic` command opens the database named by `-x db=` (a `--db` value)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from ruralpost.service.store import tables
from ruralpost.service.store.sql import database_url


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=tables.metadata)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    engine = create_engine(database_url(context.get_x_argument(as_dictionary=True).get("db", "var/ruralpost.db")))
    with engine.connect() as connection:
        run(connection)
    engine.dispose()
