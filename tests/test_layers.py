"""Imports run one way (DESIGN.md): protocol and audio load no I/O or widget libraries; the
server's engine is sans-I/O; the client never loads the server when it is imported; neither
the client nor the server loads the widgets.

Each check imports in a fresh interpreter and reads ``sys.modules`` (what an import really
loads, transitively), and the AST checks read each module's top-level imports (a lazy import
inside a function, such as the client's local-server helper, is allowed by design)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.module_ast import runtime_statements

PACKAGE = Path(__file__).parents[1] / "realtime_widgets"
HEAVY = ("websockets", "ipywidgets", "anywidget", "asyncio", "traitlets")
WIDGET_LIBS = ("ipywidgets", "anywidget", "traitlets", "realtime_widgets.widgets")
# The server's modules that must stay sans-I/O (everything but the websockets layer: app.py,
# connection.py, pipeline.py, a reply computed off the loop, and threads.py, the pools the
# models run on), subpackages included ("reply.material").
_IO_MODULES = ("__init__", "app", "connection", "pipeline", "threads")
ENGINE_MODULES = sorted(
    ".".join(p.relative_to(PACKAGE / "server").with_suffix("").parts)
    for p in (PACKAGE / "server").rglob("*.py")
    if p.stem not in _IO_MODULES
)


def loaded_after_import(module: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of ``candidates`` (modules or packages) are in sys.modules after importing."""
    code = (
        f"import sys, {module}\n"
        f"found = [c for c in {candidates!r} if any(m == c or m.startswith(c + '.') "
        "for m in sys.modules)]\n"
        "print(','.join(found))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when the module is imported (not inside functions; not under
    ``if TYPE_CHECKING:``, whose imports never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in runtime_statements(tree.body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize(
    "package", ["realtime_widgets.protocol", "realtime_widgets.audio", "realtime_widgets"]
)
def test_pure_layers_load_no_io_or_widget_libraries(package: str) -> None:
    assert loaded_after_import(package, HEAVY) == []


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_the_engine_modules_are_sans_io(module: str) -> None:
    assert loaded_after_import(f"realtime_widgets.server.{module}", HEAVY) == []


def test_the_engine_modules_import_no_io_at_top_level() -> None:
    io = ("asyncio", "websockets", "socket", "concurrent", "http", "urllib")  # locks are fine
    offenders = {
        name: sorted(
            m
            for m in top_level_imports(PACKAGE / "server" / f"{name.replace('.', '/')}.py")
            if any(_under(m, x) for x in io)
        )
        for name in ENGINE_MODULES
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # The check can fail: app.py, connection.py and pipeline.py (the I/O layer) are caught by it.
    assert "websockets.asyncio.server" in top_level_imports(PACKAGE / "server" / "app.py")
    assert "websockets.asyncio.server" in top_level_imports(PACKAGE / "server" / "connection.py")
    assert "asyncio" in top_level_imports(PACKAGE / "server" / "pipeline.py")
    assert "concurrent.futures" in top_level_imports(PACKAGE / "server" / "threads.py")


def test_the_server_loads_neither_the_client_nor_the_widgets() -> None:
    assert (
        loaded_after_import(
            "realtime_widgets.server.app", ("realtime_widgets.client", *WIDGET_LIBS)
        )
        == []
    )


def test_the_client_does_not_load_the_server_or_the_widgets_when_imported() -> None:
    assert (
        loaded_after_import("realtime_widgets.client", ("realtime_widgets.server", *WIDGET_LIBS))
        == []
    )


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("client", ("realtime_widgets.server", "realtime_widgets.widgets", "ipywidgets")),
        ("server", ("realtime_widgets.client", "realtime_widgets.widgets", "ipywidgets")),
        ("protocol", ("realtime_widgets.client", "realtime_widgets.server", "websockets")),
    ],
)
def test_no_module_of_a_layer_imports_what_it_must_not_at_top_level(
    layer: str, forbidden: tuple[str, ...]
) -> None:
    offenders = {
        path.name: sorted(
            m for m in top_level_imports(path) if any(_under(m, f) for f in forbidden)
        )
        for path in sorted((PACKAGE / layer).glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_ast_walk_sees_top_level_imports_but_not_lazy_ones(tmp_path: Path) -> None:
    # The guard itself must be able to fail, and must allow the client's lazy import.
    source = tmp_path / "m.py"
    source.write_text(
        "from __future__ import annotations\n"
        "import json\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from realtime_widgets.widgets import panel\n"
        "try:\n"
        "    import realtime_widgets.server.app\n"
        "except ImportError:\n"
        "    pass\n"
        "def f():\n"
        "    from realtime_widgets.server.app import LocalServer\n",
        encoding="utf-8",
    )
    assert top_level_imports(source) == {
        "__future__",
        "json",
        "typing",
        "realtime_widgets.server.app",
    }


# The widget packages: the only ones that may import ipywidgets, anywidget or traitlets.
# vadlab is one: VadLab, its views and ABTest are widgets (its analysis module is pure).
WIDGET_PACKAGES = ("widgets", "vadlab")
# Widget modules in a pure package, each alone in its module: the evals' progress widget
# (nothing else in evals imports it at top level; tests/evals/test_remote.py checks that).
WIDGET_MODULES = ("evals/progress.py",)


def test_only_the_widget_packages_import_widget_libraries() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in top_level_imports(path) if any(_under(m, lib) for lib in WIDGET_LIBS[:3])
        )
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in WIDGET_PACKAGES
        and path.relative_to(PACKAGE).as_posix() not in WIDGET_MODULES
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # ... and the check can fail: the panel is caught by it.
    assert "ipywidgets" in top_level_imports(PACKAGE / "widgets" / "panel.py")


def test_the_vad_lab_analysis_imports_no_widget_or_io_library() -> None:
    imports = top_level_imports(PACKAGE / "vadlab" / "analysis.py")
    assert sorted(m for m in imports if any(_under(m, lib) for lib in HEAVY)) == []
