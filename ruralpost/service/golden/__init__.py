"""Golden cases: the rule packs' own tests, run by `make test` and before a reload activates."""

from __future__ import annotations

import copy
from typing import Any


def merge(base: Any, override: Any) -> Any:
    """Deep merge of mappings; lists and scalars in `override` replace; None deletes a key."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(override)
