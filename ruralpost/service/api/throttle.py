"""Guessing tokens made slow: failed logins and bearer tokens counted per client address.

Each address has BURST failures to spend, one more earned back every EVERY seconds (a token
bucket). While an address has none left, every attempt from it is refused before its token is
looked at, a right one too: were right tokens let through, guessing would go on at full speed
with only the wrong answers slowed. A failure is logged at WARNING with the address (never the
token), and the start of a refusal once, so an attack cannot flood the log either.

The buckets live in the memory of one process: under `--workers N` the kernel spreads connections
over the workers, so an address gets up to N times the allowance (docs/security.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ruralpost.service.errors import ResourceExhausted

log = logging.getLogger(__name__)

BURST = 10  # failures an address may make at once (a person mistyping never gets near)
EVERY = 6.0  # seconds to earn one back: ten a minute, sustained
MAX_ADDRESSES = 10_000  # beyond this many, addresses that have earned all back are forgotten


def address(peer: str) -> str:
    """The client address of a peer as gRPC ("ipv4:10.0.0.7:5123", "ipv6:[::1]:5123") or WSGI
    ("10.0.0.7", "10.0.0.7:5123") gives it: the port goes, each connection has its own."""
    for prefix in ("ipv4:", "ipv6:"):
        peer = peer.removeprefix(prefix)
    if peer.startswith("["):
        return peer[1 : peer.find("]")] if "]" in peer else peer
    if peer.count(":") == 1:
        return peer.split(":", 1)[0]
    return peer


@dataclass
class _Bucket:
    level: float
    at: float
    refused: bool = False


class Throttle:
    def __init__(self, burst: int = BURST, every: float = EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.every, self.clock = burst, every, clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, where: str, now: float) -> _Bucket:
        bucket = self._buckets.get(where)
        if bucket is None:
            if len(self._buckets) >= MAX_ADDRESSES:
                self._forget(now)
            bucket = self._buckets[where] = _Bucket(float(self.burst), now)
        bucket.level = min(float(self.burst), bucket.level + (now - bucket.at) / self.every)
        bucket.at = now
        return bucket

    def _forget(self, now: float) -> None:
        for where, bucket in list(self._buckets.items()):
            if bucket.level + (now - bucket.at) / self.every >= self.burst:
                del self._buckets[where]

    def allow(self, peer: str, door: str) -> None:
        """Raises ResourceExhausted while the peer's address has no failures left to spend."""
        where = address(peer)
        with self._lock:
            bucket = self._bucket(where, self.clock())
            if bucket.level >= 1:
                bucket.refused = False
                return
            wait = (1 - bucket.level) * self.every
            first = not bucket.refused
            bucket.refused = True
        if first:
            log.warning("%s: too many failed attempts from %s, refused for now", door, where)
        raise ResourceExhausted(
            f"来自 {where} 的失败尝试太多，请 {wait:.0f} 秒后再试 "
            f"(too many failed attempts from {where}: try again in {wait:.0f} s)"
        )

    def failed(self, peer: str, door: str) -> None:
        """Counts a wrong token against the peer's address, and logs it."""
        where = address(peer)
        with self._lock:
            bucket = self._bucket(where, self.clock())
            bucket.level = max(0.0, bucket.level - 1)
        log.warning("%s: unknown token from %s", door, where)
