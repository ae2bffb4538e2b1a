"""Generates the `ruralpost.v1` stubs from `protos/`, and lints the protos with buf (offline).

`python -m ruralpost.protogen` is what `make` runs; setup.py runs `generate` too, so that a wheel
built from a clean clone carries the stubs of its own protos. `--lint` runs `buf lint` (STANDARD)
with the googleapis protos shipped by googleapis-common-protos, so no network is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def _googleapis_dir() -> Path:
    import google.rpc.status_pb2 as status

    return Path(status.__file__).resolve().parent.parent.parent


def _plugin(name: str, package: str) -> str:
    """A protoc plugin (of mypy-protobuf, of protoc-gen-connectrpc): beside this Python (a venv), else
    on PATH (pip's build env)."""
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        raise SystemExit(f"{name} not found: install {package}")
    return found


def generate(out: Path = ROOT) -> None:
    """Writes `out`/ruralpost/v1 afresh (no stubs of a proto since removed): the checkout, or a wheel's
    build folder."""
    import grpc_tools
    from grpc_tools import protoc

    target = out / "ruralpost" / "v1"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    wkt = Path(grpc_tools.__file__).resolve().parent / "_proto"
    # Typed stubs (.pyi) for messages and services come from mypy-protobuf's protoc plugins; the
    # Connect services and ASGI applications of the HTTP door (`*_connect.py`) from connectrpc's.
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.glob("ruralpost/v1/*.proto"))
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{_googleapis_dir()}",
        f"-I{wkt}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy', 'mypy-protobuf')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc', 'mypy-protobuf')}",
        f"--plugin=protoc-gen-connectrpc={_plugin('protoc-gen-connectrpc', 'protoc-gen-connectrpc')}",
        f"--python_out={out}",
        f"--mypy_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out={out}",
        f"--connectrpc_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (target / "__init__.py").touch()


def lint() -> int:
    buf = shutil.which("buf") or str(Path(sys.executable).parent / "buf")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(PROTOS, work / "protos")
        third = work / "third_party" / "google" / "rpc"
        third.mkdir(parents=True)
        shutil.copy(_googleapis_dir() / "google" / "rpc" / "status.proto", third)
        (work / "buf.yaml").write_text(
            "version: v2\nmodules:\n  - path: protos\n    lint:\n      use: [STANDARD]\n"
            "  - path: third_party\n    lint:\n      use: []\n"
        )
        done = subprocess.run([buf, "lint", "protos"], cwd=work)
        return done.returncode


if __name__ == "__main__":
    if "--lint" in sys.argv:
        sys.exit(lint())
    generate()
