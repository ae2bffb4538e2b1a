"""Console logins: a signed cookie naming the caller's token hash and when the login ends.

Nothing is kept on the server, so a login is good on every pre-forked worker (they share the
signing key of the parent's Config) and ends with a restart. The token itself never leaves the
login request: the cookie holds its sha256, as the auth file does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

COOKIE = "ruralpost_session"


class SessionError(Exception):
    """No usable session; `expired` tells a login that ran out from one that never was."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "missing")
        self.expired = expired


@dataclass(frozen=True)
class Session:
    digest: str  # sha256 of the caller's token
    expires: float  # unix time


class Sessions:
    def __init__(self, secret: bytes, seconds: float) -> None:
        self._secret = secret
        self.seconds = seconds

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def issue(self, digest: str, now: float | None = None) -> tuple[str, Session]:
        session = Session(digest, (time.time() if now is None else now) + self.seconds)
        payload = f"{digest}.{int(session.expires)}"
        return f"{payload}.{self._sign(payload)}", session

    def read(self, value: str, now: float | None = None) -> Session:
        digest, _, rest = value.partition(".")
        expires, _, signature = rest.partition(".")
        payload = f"{digest}.{expires}"
        if not expires.isdigit() or not hmac.compare_digest(self._sign(payload), signature):
            raise SessionError(expired=False)
        if float(expires) <= (time.time() if now is None else now):
            raise SessionError(expired=True)
        return Session(digest, float(expires))


def cookie_value(header: str) -> str:
    """The session cookie's value from a Cookie header ("" when absent)."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""
