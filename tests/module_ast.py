"""Reading a module's imports from its source: the statements that run when it is imported.

Shared by tests/test_imports.py (the package's import graph) and tests/test_layers.py (which
libraries a layer loads)."""

from __future__ import annotations

import ast


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements a module runs at import: its body, the branches of top-level ``if`` /
    ``try`` / ``with`` and class bodies, but no function body and no ``if TYPE_CHECKING:``."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, ast.If):
            if not is_type_checking(node.test):
                out.extend(runtime_statements(node.body))
            out.extend(runtime_statements(node.orelse))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                out.extend(runtime_statements(block))
            for handler in node.handlers:
                out.extend(runtime_statements(handler.body))
        elif isinstance(node, ast.With | ast.ClassDef):
            out.extend(runtime_statements(node.body))
    return out
