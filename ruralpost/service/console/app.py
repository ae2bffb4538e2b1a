"""Placeholder."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ruralpost.service.api.gate import Gate
from ruralpost.service.api.methods import Methods
from ruralpost.service.config import Config


class Console:
    def __init__(self, config: Config, methods: Methods, gate: Gate) -> None:
        self.config = config

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
