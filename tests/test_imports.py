"""The import graph: contracts (pyproject.toml), no cycles, and client commands without the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    """Layers point down; no gRPC below api/; durable_rules in engine.py; the database in store/;
    clients never import service (contracts under [tool.importlinter] in pyproject.toml)."""
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("ruralpost", exclude_type_checking_imports=True)
    ours = {m for m in graph.modules if not m.startswith("ruralpost.v1")}
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if i in ours} for m in ours}
    assert _cycles(edges) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the check can fail


def test_client_commands_do_not_load_the_server() -> None:
    probe = (
        "import sys\n"
        "from ruralpost.cli import parser\n"
        "parser().parse_args(['rules', '--server', '127.0.0.1:1'])\n"
        "loaded = [m for m in sys.modules if m.startswith(('ruralpost.service.server', 'ruralpost.service.api',"
        " 'ruralpost.service.engine', 'ruralpost.service.web', 'ruralpost.service.console', 'durable_rules_engine',"
        " 'sqlalchemy', 'connectrpc', 'uvicorn'))]\n"
        "print(loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
