"""LiveTranscriptView: one side of a GPT-Live session's transcript, streaming.

GPT-Live sends ``session.input_transcript.delta`` (what the person said) and
``session.output_transcript.delta`` (what the model said) with their span on the session's
timeline and no done event. :class:`~realtime_widgets.client.live_state.LiveState` makes turns
of them by position (:class:`~realtime_widgets.client.live_state.LiveTranscript`); this view
shows one side's turns, a row each, its time on the session's timeline beside it::

    LiveTranscriptView(session, role="user")        # the person (the input transcript)
    LiveTranscriptView(session, role="assistant")   # the model (the output transcript)

Each delta is one small custom message (O(delta): never the whole transcript); a turn's first
delta places its row among the others by position. ``snapshot`` (synced, at most once a second,
a second after the last delta and at ``session.closed``) re-renders a saved notebook. A row can
carry a note (:meth:`LiveTranscriptView.note`: "cut when you spoke"). It draws with the
transcription view's front end (``transcription_view.js``). Its state lives on the session's
I/O loop, where its listener runs (docs/architecture.md "The widgets").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import anywidget
import traitlets as t

from realtime_widgets.client.live import LiveSession
from realtime_widgets.client.live_state import LiveState, LiveTurn
from realtime_widgets.protocol import live_events as le
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.listening import Listening
from realtime_widgets.widgets.streamed_view import SettledView

__all__ = ["LiveTranscriptView"]

Role = Literal["user", "assistant"]
_DELTAS: dict[str, type[le.LiveServerEvent]] = {
    "user": le.InputTranscriptDeltaEvent,
    "assistant": le.OutputTranscriptDeltaEvent,
}


def _row_id(turn: LiveTurn) -> str:
    return f"turn-{turn.n}"


class LiveTranscriptView(SettledView, Listening, anywidget.AnyWidget):
    """One side of a Live session's transcript (see the module docstring)."""

    _esm = Path(__file__).with_name("transcription_view.js")
    snapshot = t.List(t.Dict()).tag(sync=True)
    height = t.Unicode("150px").tag(sync=True)

    def __init__(
        self, session: LiveSession | None = None, *, role: Role = "user", **kwargs: Any
    ) -> None:
        if role not in _DELTAS:
            raise ValueError(f"role must be one of {sorted(_DELTAS)}, got {role!r}")
        super().__init__(**kwargs)
        self.role: Role = role
        self.session = session
        self.state = session.state if session is not None else LiveState()
        self._start_stream()
        self._notes: dict[int, str] = {}  # turn number -> its note
        for turn in self._turns():  # (a view made after words came: it starts with them)
            self._known.add(_row_id(turn))
        self.snapshot = self._snapshot_rows()
        if session is not None:
            self._listen(session.on("*", self.observe_event))

    def _turns(self) -> list[LiveTurn]:
        return [turn for turn in self.state.transcript.ordered() if turn.role == self.role]

    def _row(self, turn: LiveTurn) -> dict[str, Any]:
        return {
            "id": _row_id(turn),
            # (a turn's first delta may lead with the space that joins it to the stream)
            "text": turn.text.lstrip(),
            "tokens": None,
            "state": "partial",
            "note": self._notes.get(turn.n, ""),
            "start_ms": turn.start_ms,
            "end_ms": turn.end_ms,
        }

    @property
    def text(self) -> str:
        """This side's transcript so far, a turn a line."""
        return "\n".join(turn.text.strip() for turn in self._turns())

    def note(self, turn: LiveTurn, note: str) -> None:
        """Show ``note`` on ``turn``'s row (on the session loop: the playground's listeners
        call it there)."""
        if turn.role != self.role:
            raise ValueError(f"a {turn.role} turn has no row in the {self.role} view")
        self._notes[turn.n] = note
        while len(self._notes) > len(self.state.transcript.turns):
            del self._notes[next(iter(self._notes))]
        if _row_id(turn) in self._known:
            self.messages_sent += 1
            self.send({"op": "done", **self._row(turn)})
        self._refresh()

    # ---- SettledView ------------------------------------------------------------------------

    def _ops(self, event: ServerEvent) -> list[dict[str, Any]]:
        if not isinstance(event, _DELTAS[self.role]):
            return []
        # The turn the delta joined or began: this side's newest (LiveTranscript.add).
        turn = next((t for t in reversed(self.state.transcript.turns) if t.role == self.role), None)
        if turn is None:
            return []
        row_id = _row_id(turn)
        if row_id in self._known:
            return [
                {"op": "delta", "id": row_id, "text": getattr(event, "delta", ""), "tokens": None}
            ]
        self._known.add(row_id)
        order = self._turns()
        index = next((i for i, t in enumerate(order) if t is turn), len(order))
        after = _row_id(order[index - 1]) if index > 0 else None
        return [{"op": "turn", "after": after, **self._row(turn)}]

    def _closes(self, event: ServerEvent) -> bool:
        return isinstance(event, le.SessionClosedEvent)

    def _snapshot_rows(self) -> list[dict[str, Any]]:
        return [self._row(turn) for turn in self._turns()]
