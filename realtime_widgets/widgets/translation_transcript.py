"""TranslationTranscript: one side of a translation session's transcripts, streaming.

A translation session's text comes as deltas placed by position in the stream (``elapsed_ms``:
where the speech ended), the source (``session.input_transcript.delta``) and the translation
(``session.output_transcript.delta``) at the same positions. The view keeps a row per position,
in order, as :class:`~realtime_widgets.client.translation.TranslationState` does; each delta is
one small custom message (O(delta)); the ``snapshot`` trait re-renders a saved notebook. It
draws with the transcription view's front end (``transcription_view.js``): two of them, side by
side, are the :class:`~.translation_playground.TranslationPlayground`'s transcripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from realtime_widgets.client.translation import TranslationRow, TranslationSession, TranslationState
from realtime_widgets.protocol import translation_events as te
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.widgets.listening import Listening
from realtime_widgets.widgets.streamed_view import SettledView

__all__ = ["TRANSCRIPT_HEIGHT", "TranslationTranscript"]

# Each side's height (it scrolls to its newest row): at 1366x768 the playground fits
# JupyterLab's notebook panel.
TRANSCRIPT_HEIGHT = "150px"

_DELTAS = {
    "source": te.RealtimeTranslationInputTranscriptDeltaEvent,
    "translation": te.RealtimeTranslationOutputTranscriptDeltaEvent,
}
_POSITIONED = (
    te.RealtimeTranslationInputTranscriptDeltaEvent,
    te.RealtimeTranslationOutputTranscriptDeltaEvent,
    te.RealtimeTranslationOutputAudioDeltaEvent,
)


def _order(position: int | None) -> tuple[bool, int]:
    """Rows by position, those with none last (as :meth:`TranslationState.rows`)."""
    return (position is None, position or 0)


def _row_id(position: int | None) -> str:
    return "at-none" if position is None else f"at-{position}"


class TranslationTranscript(SettledView, Listening, anywidget.AnyWidget):
    """One side of a translation session's transcripts, streaming: ``side="source"`` (what was
    heard, ``session.input_transcript.delta``) or ``"translation"``
    (``session.output_transcript.delta``).

    A row per position in the stream (the deltas' ``elapsed_ms``, as
    :class:`~realtime_widgets.client.translation.TranslationState` keeps them; a delta without
    one goes to the latest row), placed in order, its time shown (where that speech ended in
    the stream). Each delta is one small message (O(delta), never the whole transcript);
    ``snapshot`` (synced, at most once a second and a second after the last delta) re-renders
    a saved notebook. It draws with the transcription view's front end."""

    _esm = Path(__file__).with_name("transcription_view.js")
    snapshot = t.List(t.Dict()).tag(sync=True)
    height = t.Unicode(TRANSCRIPT_HEIGHT).tag(sync=True)

    def __init__(
        self, session: TranslationSession | None = None, *, side: str = "source", **kwargs: Any
    ) -> None:
        if side not in _DELTAS:
            raise ValueError(f"side must be one of {sorted(_DELTAS)}, got {side!r}")
        super().__init__(**kwargs)
        self.side = side
        self.session = session
        self.state = session.state if session is not None else TranslationState()
        self._start_stream()
        self._positions: dict[str, int | None] = {}  # the rows the browser has -> position
        self._latest: int | None = None  # the state's latest position (deltas without one)
        for row in self.state.rows():  # (a view made after text came: it starts with it)
            if self._text(row):
                self._positions[_row_id(row.elapsed_ms)] = row.elapsed_ms
                self._known.add(_row_id(row.elapsed_ms))
            if row.elapsed_ms is not None:
                self._latest = max(self._latest or 0, row.elapsed_ms)
        self.snapshot = self._snapshot_rows()
        if session is not None:
            self._listen(session.on("*", self.observe_event))

    def _text(self, row: TranslationRow) -> str:
        return row.source if self.side == "source" else row.translation

    def _row(self, row: TranslationRow) -> dict[str, Any]:
        return {
            "id": _row_id(row.elapsed_ms),
            "text": self._text(row),
            "tokens": None,
            "state": "partial",
            "note": "",
            "start_ms": row.elapsed_ms,
            "end_ms": None,
        }

    def _ops(self, event: ServerEvent) -> list[dict[str, Any]]:
        if not isinstance(event, _POSITIONED):
            return []
        position = event.elapsed_ms if event.elapsed_ms is not None else self._latest
        if position is not None:
            self._latest = position if self._latest is None else max(self._latest, position)
        if not isinstance(event, _DELTAS[self.side]) or not event.delta:
            return []
        row_id = _row_id(position)
        if row_id in self._known:
            return [{"op": "delta", "id": row_id, "text": event.delta, "tokens": None}]
        row = next((r for r in self.state.rows() if r.elapsed_ms == position), None)
        if row is None:  # (not applied to this state: a view fed by hand without it)
            row = TranslationRow(position, event.delta, event.delta)
        earlier = [p for p in self._positions.items() if _order(p[1]) < _order(position)]
        after = max(earlier, key=lambda p: _order(p[1]))[0] if earlier else None
        self._positions[row_id] = position
        self._known.add(row_id)
        return [{"op": "turn", "after": after, **self._row(row)}]

    def _closes(self, event: ServerEvent) -> bool:
        return isinstance(event, te.RealtimeTranslationSessionClosedEvent)

    def _snapshot_rows(self) -> list[dict[str, Any]]:
        return [self._row(r) for r in self.state.rows() if self._text(r)]

    @property
    def text(self) -> str:
        """This side's transcript so far (the deltas joined)."""
        return self.state.input_text if self.side == "source" else self.state.output_text
