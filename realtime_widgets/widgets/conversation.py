"""ConversationBar: type a message, ask for a response, cancel it, clear the input buffer.

The browser sends one small message per action (Enter or *Send*, *Create response*, *Cancel*,
*Clear input*); the kernel runs the session's public coroutine for it on the session's loop
(``session.submit``). A failure (not connected, an exception) is shown in the bar, never raised
into the browser's click. Items are deleted and played from the transcript's own per-item menu
(:class:`~realtime_widgets.widgets.transcript.TranscriptView`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.session import RealtimeSession

__all__ = ["ConversationBar"]


class ConversationBar(anywidget.AnyWidget):
    """Text input and the manual turn controls of a session (see the module docstring)."""

    _esm = Path(__file__).with_name("conversation.js")
    status = t.Unicode("").tag(sync=True)  # the last failure, shown in the bar ("" when fine)

    def __init__(self, session: RealtimeSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.actions: list[str] = []  # what was handed to the session, in order
        self.on_msg(self._on_browser)

    def _actions(self) -> dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]]:
        s = self.session
        return {
            "send": lambda c: s.asend_text(str(c.get("text", "")), respond=True),
            "respond": lambda c: s.acreate_response(),
            "cancel": lambda c: s.acancel_response(),
            "clear": lambda c: s.aclear_audio(),
        }

    def _on_browser(self, widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        kind = content.get("type")
        make = self._actions().get(str(kind))
        if make is None:
            return
        if kind == "send" and not str(content.get("text", "")).strip():
            self.status = "type a message first"
            return
        self.run(str(kind), make(content))

    def run(self, what: str, coro: Coroutine[Any, Any, Any]) -> Future[Any] | None:
        """Run one action's coroutine on the session's loop; its failure shows in the bar."""
        if not self.session.connected:
            coro.close()
            self.status = f"{what}: not connected"
            return None
        self.status = ""
        self.actions.append(what)
        future = self.session.submit(coro)
        future.add_done_callback(lambda f: self._done(what, f))
        return future

    def _done(self, what: str, future: Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.status = f"{what}: {type(exc).__name__}: {exc}"
