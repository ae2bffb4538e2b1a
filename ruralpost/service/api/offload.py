"""The pool for work that may wait (a database round trip, a commit, a reload), awaited from the
one event loop every door runs on; `Methods` decides what goes there."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Executor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Offload:
    def __init__(self, pool: Executor) -> None:
        self.pool = pool

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args)` on the pool, in the caller's context (its current call), awaited on the loop."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self.pool, lambda: context.run(fn, *args, **kwargs))
