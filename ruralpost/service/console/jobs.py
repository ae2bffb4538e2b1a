"""A folder per console job (an uploaded file and what came of it), for downloads and commits.

Folders live under `Config.console_dir`, shared by the pre-forked workers of one machine, named by
an unguessable id, owner-only on disk (private.py) and readable only by the caller who made them
through the console. A refused upload leaves no folder. Jobs older than `console_job_hours` are
removed when a new one starts. One caller runs at most `per_caller` uploads at once in a worker, so
no one caller holds every thread of the HTTP door.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruralpost.service import private

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
META = "job.json"


class Busy(Exception):
    """The caller already runs as many uploads as it may at once."""


class JobNotFound(Exception):
    """No such job for this caller (never said which: missing, expired or someone else's)."""


@dataclass(frozen=True)
class Job:
    id: str
    dir: Path
    meta: dict[str, Any]

    def path(self, name: str) -> Path:
        return self.dir / name

    def shown(self, text: str) -> str:
        """`text` with the job's folder on the server replaced by the name the user gave the file."""
        text = text.replace(str(self.dir.resolve()), str(self.dir))
        for upload in self.dir.glob("upload.*"):
            text = text.replace(str(upload), str(self.meta["filename"]))
        return text.replace(str(self.dir), "")


class Jobs:
    def __init__(self, root: Path, hours: float, per_caller: int = 2) -> None:
        self.root = root
        self.seconds = hours * 3600
        self.per_caller = per_caller
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def create(self, owner: str, kind: str, filename: str, **extra: Any) -> Job:
        self.prune()
        job_id = secrets.token_urlsafe(18)
        folder = private.folder(self.root) / job_id
        folder.mkdir(mode=private.FOLDER_MODE)
        meta = {"owner": owner, "kind": kind, "filename": filename, "created": time.time(), **extra}
        private.write(folder / META, json.dumps(meta, ensure_ascii=False).encode())
        return Job(job_id, folder, meta)

    def update(self, job: Job, **extra: Any) -> Job:
        meta = {**job.meta, **extra}
        private.write(job.dir / META, json.dumps(meta, ensure_ascii=False).encode())
        return Job(job.id, job.dir, meta)

    def remove(self, job: Job) -> None:
        """A refused upload's folder, gone with what it held."""
        shutil.rmtree(job.dir, ignore_errors=True)

    def take(self, who: str) -> None:
        """One of the caller's `per_caller` upload slots (give it back with `give`); Busy when all
        are taken."""
        with self._lock:
            if self._running.get(who, 0) >= self.per_caller:
                raise Busy(who)
            self._running[who] = self._running.get(who, 0) + 1

    def give(self, who: str) -> None:
        with self._lock:
            self._running[who] -= 1
            if not self._running[who]:
                del self._running[who]

    def open(self, job_id: str, owner: str, kind: str) -> Job:
        if not _ID.match(job_id):
            raise JobNotFound(job_id)
        folder = self.root / job_id
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise JobNotFound(job_id) from None
        if meta.get("owner") != owner or meta.get("kind") != kind:
            raise JobNotFound(job_id)
        return Job(job_id, folder, meta)

    def prune(self) -> None:
        if not self.root.is_dir():
            return
        cutoff = time.time() - self.seconds
        for folder in self.root.iterdir():
            try:
                if folder.is_dir() and (folder / META).stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue
