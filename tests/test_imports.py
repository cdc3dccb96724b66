"""Imports inside realtime_widgets run one way, and at the top of a module.

(a) No import cycle: the graph of every module's top-level imports (``import x``,
``from x import y``, ``from package import submodule``; also those under a top-level ``if`` or
``try``, but not under ``if TYPE_CHECKING:``, which never runs) has no strongly connected
component. Importing ``a.b.c`` runs the ``__init__`` of ``a`` and ``a.b`` too, but that edge is
not counted: a package's ``__init__`` re-exporting its modules is no circle.

(b) No import inside a function or method, unless it says why: a comment on the line above it
(or ending its line), e.g. ``# optional dependency: pandas`` or ``# lazy: the server only when
used``, or the function's docstring saying so (it mentions the import, or that it is lazy /
optional). A run of consecutive imports shares the comment above its first line.

(c) The protocol's configs import in the order parts -> configbase -> wire -> configs ->
{rules, seeds, export, presets}: a config needs no code generator, the wire no config.

Each offender is named as path:line (or by its modules, for a cycle).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import realtime_widgets
import realtime_widgets.protocol
from tests.module_ast import runtime_statements

PACKAGE = Path(realtime_widgets.__file__).parent
ROOT = PACKAGE.parent
# What a docstring says when it explains an import inside its function.
REASON_IN_DOCSTRING = re.compile(r"\b(imports?|imported|loaded|lazy|lazily|optional)\b", re.I)


# ---- reading a module ---------------------------------------------------------------------------


def module_name(path: Path, root: Path = ROOT) -> str:
    """``realtime_widgets/protocol/wire.py`` -> ``realtime_widgets.protocol.wire``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules(package: Path = PACKAGE, root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(p, root): p for p in sorted(package.rglob("*.py"))}


def _resolve(name: str, importer: str, is_package: bool, level: int) -> str:
    """An import's absolute module name (``from . import x`` inside ``a.b`` -> ``a.b``)."""
    if level == 0:
        return name
    base = importer.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def top_level_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports when it is imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.stem == "__init__"
    found: set[str] = set()
    for node in runtime_statements(tree.body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(node.module or "", name, is_package, node.level)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else source)
    return {m for m in found if m in modules and m != name}


def import_graph(package: Path = PACKAGE, root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package's modules it imports at its top level."""
    modules = all_modules(package, root)
    return {name: top_level_imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module that importing ``start`` imports, transitively."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


# ---- imports inside functions -------------------------------------------------------------------


def _comments(source: str) -> dict[int, bool]:
    """Line -> True if the line is a comment only, False if a comment ends code on it."""
    found: dict[int, bool] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and len(token.string.lstrip("#").strip()) > 2:
            found[token.start[0]] = token.line.strip().startswith("#")
    return found


def _docstring_says_why(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    docstring = ast.get_docstring(function) or ""
    return REASON_IN_DOCSTRING.search(docstring) is not None


def unexplained_function_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``path:line`` of each import inside a function or method that says not why."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    comments = _comments(source)
    where = path.relative_to(root).as_posix()
    offenders: list[str] = []

    def explained(node: ast.stmt) -> bool:
        return comments.get(node.lineno - 1) is True or node.lineno in comments

    def check_block(body: list[ast.stmt], function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        run_explained = False  # the current run of consecutive imports has its reason above
        previous: ast.stmt | None = None
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                follows = (
                    isinstance(previous, ast.Import | ast.ImportFrom)
                    and previous.end_lineno == node.lineno - 1
                )
                run_explained = explained(node) or (follows and run_explained)
                if not (run_explained or _docstring_says_why(function)):
                    offenders.append(f"{where}:{node.lineno}")
            previous = node
            for block in _blocks(node):
                check_block(block, function)

    def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return []  # visited on their own (a nested function has its own docstring)
        blocks = [
            getattr(node, name) for name in ("body", "orelse", "finalbody") if hasattr(node, name)
        ]
        blocks += [h.body for h in getattr(node, "handlers", [])]
        blocks += [c.body for c in getattr(node, "cases", [])]
        return [b for b in blocks if isinstance(b, list)]

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            check_block(node.body, node)
    return sorted(offenders, key=lambda o: int(o.rsplit(":", 1)[1]))


# ---- the package --------------------------------------------------------------------------------


def test_no_import_cycle_in_the_package() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the walk saw the whole package
    assert "realtime_widgets.protocol.configbase" in graph["realtime_widgets.protocol.wire"]
    found = cycles(graph)
    assert not found, "import cycles (each a set of modules importing each other): " + "; ".join(
        " <-> ".join(c) for c in found
    )


def test_no_unexplained_import_inside_a_function() -> None:
    offenders = [o for p in sorted(PACKAGE.rglob("*.py")) for o in unexplained_function_imports(p)]
    assert not offenders, (
        "imports inside functions without a reason (add '# lazy: ...' or "
        "'# optional dependency: ...' on the line above, or move them to the top): "
        + ", ".join(offenders)
    )


def test_the_protocol_configs_import_one_way() -> None:
    graph = import_graph()
    protocol = "realtime_widgets.protocol."
    order = [
        ["parts", "live_parts"],
        ["configbase"],
        ["wire"],
        ["config", "transcription_config", "live_config", "translation_config"],
        ["rules", "seeds", "export", "presets"],
    ]
    for i, layer in enumerate(order):
        later = {protocol + m for later in order[i + 1 :] for m in later}
        for module in layer:
            below = reaches(graph, protocol + module)
            assert not below & later, f"{module} imports {sorted(below & later)}"
            if i:  # each layer builds on the one below
                assert below & {protocol + m for m in order[i - 1]}, module
    # a config knows the wire and nothing of the code generators
    assert protocol + "wire" in graph[protocol + "config"]
    assert not {protocol + "export", protocol + "seeds"} & reaches(graph, protocol + "config")


# ---- the walk itself ----------------------------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_the_walk_finds_a_cycle_through_any_import_form(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "a.py": "from pkg import b\n",
            "b.py": "import pkg.c\n",
            "c.py": "from pkg.a import thing\n",
            "d.py": "from . import e\n",
            "e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\n",
            "f.py": "try:\n    from .g import x\nexcept ImportError:\n    pass\n",
            "g.py": "class G:\n    from pkg import f\n",
            "h.py": "def later():\n    from pkg import a\n",
        },
    )
    graph = import_graph(package, tmp_path)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.d"] == {"pkg.e"}
    assert graph["pkg.e"] == set()  # typing-only imports never run
    assert graph["pkg.h"] == set()  # a function's import is (b)'s business
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.f", "pkg.g"]]


def test_the_walk_names_each_unexplained_import(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "m.py": (
                "import json\n"  # 1: top level, fine
                "def bare():\n"
                "    import os\n"  # 3: offender
                "def commented():\n"
                "    # lazy: the server only when used\n"
                "    import os\n"  # 6
                "    import sys\n"  # 7: the same run
                "    x = 1\n"
                "    import re\n"  # 9: a new run, offender
                "def trailing():\n"
                "    import os  # optional dependency: os\n"  # 11
                "def documented():\n"
                '    """Loads PIL lazily: an optional dependency."""\n'
                "    import os\n"  # 14
                "class C:\n"
                "    def method(self):\n"
                "        try:\n"
                "            import pandas\n"  # 18: offender
                "        except ImportError:\n"
                "            pass\n"
            )
        },
    )
    assert unexplained_function_imports(package / "m.py", tmp_path) == [
        "pkg/m.py:3",
        "pkg/m.py:9",
        "pkg/m.py:18",
    ]


def test_the_protocol_table_lists_every_module_in_import_order() -> None:
    """protocol/__init__'s "where things live" table is in import order and complete."""

    rows = re.findall(
        r"^    ([a-z_]+(?:, [a-z_]+)*) {2,}", realtime_widgets.protocol.__doc__ or "", re.M
    )
    listed = [m for row in rows for m in row.split(", ")]
    modules = {p.stem for p in (PACKAGE / "protocol").glob("*.py")} - {"__init__"}
    assert sorted(listed) == sorted(modules)
    graph = import_graph()
    for i, module in enumerate(listed):
        imported = {
            m.rsplit(".", 1)[1]
            for m in graph[f"realtime_widgets.protocol.{module}"]
            if m.startswith("realtime_widgets.protocol.")
        }
        assert imported <= set(listed[:i]), f"{module} imports {sorted(imported - set(listed[:i]))}"
