"""What the service writes is for its own user only: folders 0700, files 0600.

The SQLite database holds every registered station and paid waybill; the console's folders hold
uploads and results. Another local user must not read them, whatever the umask of whoever started
the server. (SQLite gives its -wal and -shm files the mode of the database file.)
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def folder(path: Path) -> Path:
    """`path` made (with its missing parents) and kept owner-only."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    path.chmod(FOLDER_MODE)
    return path


def write(path: Path, data: bytes) -> None:
    """`data` as the owner-only file `path` (created or replaced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    path.chmod(FILE_MODE)


def database(db: str) -> None:
    """A SQLite `--db` file made owner-only before SQLite opens it (a URL is left alone)."""
    if "://" in db or db.startswith(":"):
        return
    path = Path(db)
    if not path.parent.exists():
        folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    path.chmod(FILE_MODE)
