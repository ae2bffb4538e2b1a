"""Reproducible installs: constraints.txt pins the whole dev tree, the grpcio family at one version,
every dependency pyproject.toml names within its range, and `make setup` installs exactly that."""

from __future__ import annotations

import importlib.metadata
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import ROOT

GRPC_FAMILY = ["grpcio", "grpcio-tools", "grpcio-health-checking", "grpcio-reflection", "grpcio-status"]


def pins() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and version.strip(), f"constraints.txt: {line!r} is not name==version"
        pinned[canonicalize_name(name)] = version.strip()
    return pinned


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    named = [*project["dependencies"], *(d for ds in project["optional-dependencies"].values() for d in ds)]
    return [Requirement(d) for d in named]


def test_the_grpcio_family_is_pinned_at_one_version() -> None:
    pinned = pins()
    versions = {name: pinned.get(name) for name in GRPC_FAMILY}
    assert None not in versions.values(), f"not pinned: {versions}"
    assert len(set(versions.values())) == 1, f"the grpcio family is skewed: {versions}"


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req} (pyproject.toml) is not pinned in constraints.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {name}=={pinned[name]}, outside pyproject.toml's {req}"
        )
        if "binary" in req.extras:  # psycopg[binary] installs psycopg-binary
            assert canonicalize_name(f"{req.name}-binary") in pinned, f"{req}: {req.name}-binary is not pinned"


def test_the_generator_and_the_stubs_are_pinned_in_pyproject() -> None:
    dev = {canonicalize_name(r.name): r for r in declared()}
    for name in ("grpcio-tools", "types-protobuf", "types-pyyaml", "grpc-stubs", "mypy-protobuf"):
        assert str(dev[name].specifier).startswith("=="), f"{dev[name]} is not pinned in pyproject.toml"


def test_make_installs_with_the_constraints_and_the_venv_matches_them() -> None:
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text(encoding="utf-8")
    pinned = pins()
    for req in declared():
        name = canonicalize_name(req.name)
        assert importlib.metadata.version(req.name) == pinned[name], f"{name} installed is not the pinned version"
