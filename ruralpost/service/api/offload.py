"""Where a gRPC call's work runs: on the event loop when it only computes, on the pool when it may wait.

The gRPC door is a grpc.aio server: one event-loop thread receives every call. Work that only
computes (a station check against SQLite reads a local file, and WAL readers never wait for a
writer) runs right there: no hand-off to a pool thread and back, which under load cost more than
the check itself (docs/performance.md). Work that may wait (a PostgreSQL round trip, a write, a claim
commit, a rule reload, a progress report over the whole registry) runs on the pool, so the loop
keeps serving while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Offload:
    def __init__(self, pool: Executor) -> None:
        self.pool = pool

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args)` on the pool, awaited on the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: fn(*args, **kwargs))
