"""ConversationBar: type a message, ask for a response, cancel it, commit or clear the input
buffer.

The browser sends one small message per action (Enter or *Send*, *Create response*, *Commit*,
*Cancel*, *Clear input*); the kernel runs the session's public coroutine for it on the session's
loop (``session.submit``). A failure (not connected, an exception) is shown in the bar, never
raised into the browser's click. Items are deleted and played from the transcript's own per-item
menu (:class:`~realtime_widgets.widgets.transcript.TranscriptView`).

With turn detection off, audio sent and not yet committed (a WAV streamed in, a microphone)
is the user's turn: *Create response* commits it first (``input_audio_buffer.commit``, then
``response.create``), as OpenAI's Playground does, rather than answering the turn before it.
The bar counts that audio from the session's audio taps and history (``uncommitted_ms``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.history import HistoryEntry
from realtime_widgets.client.session import RealtimeSession
from realtime_widgets.widgets.listening import Listening

__all__ = ["ConversationBar"]

MIN_COMMIT_MS = 100  # the least audio a commit takes (OpenAI's minimum)
# Events after which no audio is waiting in the input buffer: ours, or the server's (its VAD).
_BUFFER_EMPTIED = {
    "out": ("input_audio_buffer.commit", "input_audio_buffer.clear"),
    "in": ("input_audio_buffer.committed", "input_audio_buffer.cleared"),
}


class ConversationBar(Listening, anywidget.AnyWidget):
    """Text input and the manual turn controls of a session (see the module docstring)."""

    _esm = Path(__file__).with_name("conversation.js")
    status = t.Unicode("").tag(sync=True)  # the last failure, shown in the bar ("" when fine)

    def __init__(self, session: RealtimeSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.actions: list[str] = []  # what was handed to the session, in order
        # Audio appended since the input buffer was last committed or cleared (session loop).
        self.uncommitted_ms = 0.0
        self.on_msg(self._on_browser)
        self._listen(
            session.add_audio_tap(self._appended),
            session.on_history(self._history),
        )

    def _appended(self, samples: Any, rate: int) -> None:
        self.uncommitted_ms += 1000 * len(samples) / rate

    def _history(self, entry: HistoryEntry) -> None:
        if entry.type in _BUFFER_EMPTIED.get(entry.direction, ()):
            self.uncommitted_ms = 0.0

    def _turn_detection_off(self) -> bool:
        config = self.session.effective or self.session.requested
        return config.turn_detection is None

    async def _respond(self) -> None:
        """response.create; with turn detection off and audio waiting, commit it first (so the
        reply answers the turn just spoken, not the one before it)."""
        s = self.session
        if self._turn_detection_off() and self.uncommitted_ms >= MIN_COMMIT_MS:
            await s.acommit()
        await s.acreate_response()

    def _actions(self) -> dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]]:
        s = self.session
        return {
            "send": lambda c: s.asend_text(str(c.get("text", "")), respond=True),
            "respond": lambda c: self._respond(),
            "commit": lambda c: s.acommit(),
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
