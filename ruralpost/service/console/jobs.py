"""A folder per console job (an uploaded file and what came of it), for downloads and commits.

Folders live under `Config.console_dir`, shared by the pre-forked workers of one machine, named by
an unguessable id and readable only by the caller who made them. Jobs older than
`console_job_hours` are removed when a new one starts.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
META = "job.json"


class JobNotFound(Exception):
    """No such job for this caller (never said which: missing, expired or someone else's)."""


@dataclass(frozen=True)
class Job:
    id: str
    dir: Path
    meta: dict[str, Any]

    def path(self, name: str) -> Path:
        return self.dir / name


class Jobs:
    def __init__(self, root: Path, hours: float) -> None:
        self.root = root
        self.seconds = hours * 3600

    def create(self, owner: str, kind: str, filename: str, **extra: Any) -> Job:
        self.prune()
        job_id = secrets.token_urlsafe(18)
        folder = self.root / job_id
        folder.mkdir(parents=True)
        meta = {"owner": owner, "kind": kind, "filename": filename, "created": time.time(), **extra}
        (folder / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return Job(job_id, folder, meta)

    def update(self, job: Job, **extra: Any) -> Job:
        meta = {**job.meta, **extra}
        (job.dir / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return Job(job.id, job.dir, meta)

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
