"""A one-line progress bar on stderr, shown only when stderr is a terminal (quiet in pipes and CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ruralpost.limits import EVERY_SECONDS

WIDTH = 30


class ProgressBar:
    def __init__(
        self, total: int | None, label: str = "核验 checking", stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.label = label
        self.done = 0
        self.started = time.monotonic()
        self._shown = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.enabled and time.monotonic() - self._shown >= EVERY_SECONDS:
            self._draw()

    def _draw(self) -> None:
        self._shown = now = time.monotonic()
        rate = self.done / max(now - self.started, 1e-9)
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "█" * int(share * WIDTH) + "░" * (WIDTH - int(share * WIDTH))
            text = f"{self.label} [{bar}] {share:4.0%} {self.done:,}/{self.total:,} 行 rows"
        else:
            text = f"{self.label} {self.done:,} 行 rows"
        self.stream.write(f"\r{text}  {rate:,.0f} 行/秒 rows/s\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            if self.total is not None:
                self.total = max(self.total, self.done)
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
