"""The protocol package imports one way: no module imports another that imports it back.

Imports under ``if TYPE_CHECKING:`` do not count (they never run). One pair is allowed, and
says why: SessionConfig's convenience methods (``to_session_update``, ``from_session``, ...)
delegate to wire.py, which is written against SessionConfig's fields.
"""

from __future__ import annotations

import ast
from pathlib import Path

import realtime_widgets.protocol

PROTOCOL = Path(realtime_widgets.protocol.__file__).parent
ALLOWED_CYCLES = {frozenset({"config", "wire"})}


def _runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("realtime_widgets.protocol."):
                found.add(node.module.rsplit(".", 1)[1])
            elif node.module == "realtime_widgets.protocol":
                found.update(a.name for a in node.names)
    return found - {path.stem}


def _graph() -> dict[str, set[str]]:
    return {p.stem: _runtime_imports(p) for p in PROTOCOL.glob("*.py") if p.stem != "__init__"}


def test_the_protocol_modules_import_one_way() -> None:
    graph = _graph()
    assert "export" in graph["config"]  # config uses the exporters ...
    assert "config" not in graph["export"]  # ... which know configs by type only
    assert "config" not in graph["seeds"]
    cycles = {
        frozenset({a, b}) for a, deps in graph.items() for b in deps if a in graph.get(b, set())
    }
    assert cycles <= ALLOWED_CYCLES


def test_the_walk_sees_function_level_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from realtime_widgets.protocol.config import X\n"
        "def f():\n    from realtime_widgets.protocol.wire import y\n"
    )
    assert _runtime_imports(sample) == {"wire"}
