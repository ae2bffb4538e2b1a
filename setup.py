"""The build hook: `ruralpost.v1` is generated from protos/ whenever the package is built.

The stubs are never committed (protos/ is the one source), so a wheel or an editable install makes
them with ruralpost/protogen.py, the generator `make` runs, and the grpcio-tools, mypy-protobuf and
protoc-gen-connectrpc (the HTTP door's `*_connect.py`) that [build-system] pins. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _protogen() -> ModuleType:
    """ruralpost/protogen.py by its path: the package cannot be imported before it is built."""
    spec = importlib.util.spec_from_file_location("_ruralpost_protogen", ROOT / "ruralpost" / "protogen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithStubs(build_py):
    """build_py, then the stubs: into the build folder for a wheel, into the checkout when editable."""

    def run(self) -> None:
        super().run()
        _protogen().generate(ROOT if self.editable_mode else Path(self.build_lib))


setup(cmdclass={"build_py": BuildPyWithStubs})
