"""Console logins: a random session id in the cookie, the session itself on the server.

A session is a file under `<console_dir>/sessions`, named by the sha256 of its id and holding the
caller's name and when it ends, so every pre-forked worker of the machine sees it (as they see the
console's jobs), a logout ends it everywhere at once, and an expired one is refused and removed.
The cookie carries nothing derived from the caller's token: knowing the auth file gives no way to
make a session, and a stolen cookie dies with its logout. A login lasts `seconds`, never more than
MAX_SECONDS whatever the settings say.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ruralpost.service import private

COOKIE = "ruralpost_session"
MAX_SECONDS = 12 * 3600.0  # a working day and then some: a longer login is a forgotten one
_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


class SessionError(Exception):
    """No usable session; `expired` tells a login that ran out from one that never was (or ended)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "missing")
        self.expired = expired


@dataclass(frozen=True)
class Session:
    caller: str  # the caller's name in the auth file
    expires: float  # unix time


class Sessions:
    def __init__(self, root: Path, seconds: float) -> None:
        self.root = root / "sessions"
        self.seconds = min(seconds, MAX_SECONDS)

    def _file(self, value: str) -> Path | None:
        if not _ID.match(value):
            return None
        return self.root / hashlib.sha256(value.encode()).hexdigest()

    def issue(self, caller: str, now: float | None = None) -> tuple[str, Session]:
        """A new session for `caller`: the cookie's value and the session."""
        now = time.time() if now is None else now
        self.prune(now)
        value = secrets.token_urlsafe(32)
        session = Session(caller, now + self.seconds)
        path = self._file(value)
        assert path is not None
        private.folder(self.root)
        private.write(path, json.dumps({"caller": caller, "expires": session.expires}).encode())
        return value, session

    def read(self, value: str, now: float | None = None) -> Session:
        path = self._file(value)
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise SessionError(expired=False)
        session = Session(str(data.get("caller", "")), float(data.get("expires", 0)))
        if session.expires <= (time.time() if now is None else now):
            self.revoke(value)
            raise SessionError(expired=True)
        return session

    def revoke(self, value: str) -> None:
        """Ends the session (a logout): no worker accepts its cookie again."""
        path = self._file(value)
        if path is not None:
            path.unlink(missing_ok=True)

    def prune(self, now: float) -> None:
        """Removes sessions that ended long ago (those that just ended still say "expired")."""
        if not self.root.is_dir():
            return
        for path in self.root.iterdir():
            try:
                if path.stat().st_mtime + self.seconds + MAX_SECONDS < now:
                    path.unlink(missing_ok=True)
            except OSError:
                continue


def cookie_value(header: str) -> str:
    """The session cookie's value from a Cookie header ("" when absent)."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""


def cookie(value: str, secure: bool) -> str:
    """The Set-Cookie header of a session, or (value "") of its end. A login's cookie has no Max-Age: the
    server ends the session, and then the page can say it expired rather than that it never was."""
    flags = ("; Secure" if secure else "") + ("" if value else "; Max-Age=0")
    return f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{flags}"
