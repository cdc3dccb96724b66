"""Widgets use only the session's public API, and closing a widget removes its listeners."""

from __future__ import annotations

import ast
from pathlib import Path

import realtime_widgets
from realtime_widgets import SessionConfig, widgets
from realtime_widgets.client import Endpoint, RealtimeSession

PACKAGE = Path(realtime_widgets.__file__).parent
SESSION_NAMES = {"session", "sess", "s"}


def _private_session_uses(path: Path) -> list[str]:
    """`session._x`, `self.session._x` (and the like) in a module's code."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "realtime_widgets.client"
        ):
            found += [
                f"{path.name}:{node.lineno}: imports {a.name}"
                for a in node.names
                if a.name.startswith("_")
            ]
            continue
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        owner = node.value
        name = (
            owner.id
            if isinstance(owner, ast.Name)
            else owner.attr
            if isinstance(owner, ast.Attribute)
            else None
        )
        if name in SESSION_NAMES or (name or "").endswith("session"):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_widget_touches_a_private_name_of_the_session() -> None:
    modules = sorted((PACKAGE / "widgets").glob("*.py")) + sorted((PACKAGE / "vadlab").glob("*.py"))
    assert len(modules) > 10
    found = [use for path in modules for use in _private_session_uses(path)]
    assert found == []


def test_the_walk_finds_a_private_use(tmp_path: Path) -> None:
    # The guard itself: a private use in a snippet is found.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from realtime_widgets.client.session import _shared_local\n"
        "def f(self):\n    self.session._spawn(1)\n    session._send(2)\n"
    )
    assert len(_private_session_uses(sample)) == 3


def test_closed_widgets_are_no_longer_called_by_the_session() -> None:
    session = RealtimeSession(
        SessionConfig(), endpoint=Endpoint.local("ws://127.0.0.1:9/v1/realtime", "gpt-realtime")
    )

    own = session.core.listeners.count()  # the session's own: it feeds its timeline
    made = [
        widgets.TranscriptView(session),
        widgets.Waveform(session),
        widgets.EventLog(session),
        widgets.MetricsView(session),
        widgets.Speaker(session),
        widgets.ConfigPanel(session=session),
    ]

    def count() -> int:  # the widgets' listeners
        return session.core.listeners.count() - own

    assert count() >= 10
    for widget in made:
        widget.close()
    assert count() == 0
