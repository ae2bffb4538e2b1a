"""Generates the `ruralpost.v1` stubs from `protos/`, and lints the protos with buf (offline).

`python -m ruralpost.protogen` is what `make` runs; `--lint` runs `buf lint` (STANDARD) with the
googleapis protos shipped by googleapis-common-protos, so no network is needed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT


def _googleapis_dir() -> Path:
    import google.rpc.status_pb2 as status

    return Path(status.__file__).resolve().parent.parent.parent


def generate() -> None:
    import grpc_tools
    from grpc_tools import protoc

    wkt = Path(grpc_tools.__file__).resolve().parent / "_proto"
    # Typed stubs (.pyi) for messages and services come from mypy-protobuf's protoc plugins; the
    # Connect services and WSGI applications of the HTTP door (`*_connect.py`) from connectrpc's.
    plugins = Path(sys.executable).parent
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.glob("ruralpost/v1/*.proto"))
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{_googleapis_dir()}",
        f"-I{wkt}",
        f"--plugin=protoc-gen-mypy={plugins / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={plugins / 'protoc-gen-mypy_grpc'}",
        f"--plugin=protoc-gen-connectrpc={plugins / 'protoc-gen-connectrpc'}",
        f"--python_out={OUT}",
        f"--mypy_out={OUT}",
        f"--grpc_python_out={OUT}",
        f"--mypy_grpc_out={OUT}",
        f"--connectrpc_out={OUT}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package in (OUT / "ruralpost", OUT / "ruralpost" / "v1"):
        (package / "__init__.py").touch()


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
