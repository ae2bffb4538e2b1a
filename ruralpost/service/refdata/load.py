"""Loading a programme's reference data: today from the YAML files shipped in the package.

`rules/reference/<programme>/` holds one file per table (operators.yaml, products.yaml,
platforms.yaml, rates.yaml; brands.yaml when present). Every problem is a RulebookError line
naming the file and the value, as for rule packs. Data kept elsewhere (a JSON export, a stored
version) goes through `from_mapping`, so it is checked the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ruralpost.service.refdata.lookup import ReferenceData
from ruralpost.service.refdata.model import Tables
from ruralpost.service.rulebook.schema import RulebookError, validated

TABLES = ("operators", "products", "platforms", "brands", "rates")
REQUIRED = ("operators", "products", "platforms", "rates")  # brands: read by the hub rules only
# the catalogue is a few thousand lines: libyaml reads it ten times faster, when it is there
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def reference_dir(rules_dir: Path, programme: str) -> Path:
    return rules_dir / "reference" / programme


def from_mapping(programme: str, data: Any, source: str) -> ReferenceData:
    """A version from its JSON form ({operators: [...], products: [...], …}), checked."""
    if not isinstance(data, dict):
        raise RulebookError(f"{source}: must be a mapping of tables ({', '.join(TABLES)})")
    tables = {k: v for k, v in data.items() if k != "version"}
    return ReferenceData(programme, validated(Tables, tables, source), source)


def load_reference(rules_dir: Path, programme: str) -> ReferenceData:
    """The programme's reference data shipped in the package (its first version)."""
    folder = reference_dir(rules_dir, programme)
    data: dict[str, Any] = {}
    for table in TABLES:
        path = folder / f"{table}.yaml"
        name = f"reference/{programme}/{table}.yaml"
        if not path.is_file():
            if table in REQUIRED:
                raise RulebookError(f"{name}: missing (the {table} table of the reference data)")
            continue
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise RulebookError(f"{name}: cannot read: {e}") from None
        if not isinstance(raw, dict) or set(raw) != {table}:
            raise RulebookError(f"{name}: must hold one key, {table}: a list of entries")
        data[table] = validated(Tables, {table: raw[table]}, name).model_dump(by_alias=True)[table]
    return from_mapping(programme, data, f"reference/{programme}")
