"""Database outages become UNAVAILABLE, so clients retry instead of seeing INTERNAL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, OperationalError

from ruralpost.service.errors import Unavailable


class StoreUnavailable(Unavailable):
    """The database cannot be reached or is locked: the call may be retried."""


@contextmanager
def available() -> Iterator[None]:
    """Database outages become UNAVAILABLE, so clients retry instead of seeing INTERNAL."""
    try:
        yield
    except OperationalError as e:
        raise StoreUnavailable(f"数据库暂不可用 (database unavailable): {str(e.orig)[:200]}") from e
    except DBAPIError as e:
        if e.connection_invalidated:
            raise StoreUnavailable(f"数据库连接中断 (database connection lost): {str(e.orig)[:200]}") from e
        raise
