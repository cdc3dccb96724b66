"""Widget tests without a kernel: a comm that records every message (as ipywidgets' tests do)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import comm
import pytest
from ipywidgets import Widget


class RecordingComm:
    """Stands in for the kernel comm: keeps (data, buffers) of every message sent."""

    comm_id = "recording"
    kernel = "Truthy"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.messages: list[tuple[dict[str, Any], list[Any]]] = []
        self._handlers: list[Any] = []

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, callback: Any) -> None:
        self._handlers.append(callback)

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append((data or {}, list(buffers or [])))

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass

    def custom(self) -> list[tuple[dict[str, Any], list[Any]]]:
        """The custom (model.send) messages, as (content, buffers)."""
        return [(d["content"], b) for d, b in self.messages if d.get("method") == "custom"]


class _Manager:
    def register_comm(self, comm: Any) -> str:
        return "recording"

    def unregister_comm(self, comm: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm())
    monkeypatch.setattr(comm, "get_comm_manager", lambda **kw: _Manager())
    yield
    Widget.close_all()


def settled(session: Any) -> None:
    """Wait until everything already handed to the session's I/O loop has run: a browser
    message hops there (widgets keep their state on the session loop), so a test that plays the
    browser waits for it before looking at the widget."""

    async def nothing() -> None:
        return None

    session.submit(nothing()).result(10)
