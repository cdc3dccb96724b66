"""Per-turn latency and cost.

A turn's timeline (monotonic seconds): speech stopped -> committed -> response.created ->
first audio (or text) delta -> response.done. Each turn also keeps what the server's turn
detection said of it: ``audio_end_ms`` of ``speech_stopped`` and the ``server_vad``
``silence_duration_ms`` in effect (from the last ``session.created`` / ``session.updated``), so
:func:`realtime_widgets.client.latency.stop_to_sound` can date the moment the person stopped
speaking. Costs come from ``response.done`` usage and an editable price table (US dollars per
1M tokens); the local server's usage is labelled as an estimate and so are the costs computed
from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.events import ServerEvent
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.protocol.transcription_config import TranscriptionConfig

__all__ = ["PRICES", "Metrics", "TurnTiming", "cost_of"]

# Dollars per 1M tokens. Edit to match your contract or a newer price list. ``cached_in`` is
# cached text input; ``cached_audio_in`` cached audio input (OpenAI's model pages price them
# apart: the same $0.40 for gpt-realtime, $0.06 and $0.30 for gpt-realtime-mini).
PRICES: dict[str, dict[str, float]] = {
    "gpt-realtime": {
        "text_in": 4.0,
        "cached_in": 0.4,
        "audio_in": 32.0,
        "cached_audio_in": 0.4,
        "text_out": 16.0,
        "audio_out": 64.0,
    },
    "gpt-realtime-1.5": {
        "text_in": 4.0,
        "cached_in": 0.4,
        "audio_in": 32.0,
        "cached_audio_in": 0.4,
        "text_out": 16.0,
        "audio_out": 64.0,
    },
    "gpt-realtime-mini": {
        "text_in": 0.6,
        "cached_in": 0.06,
        "audio_in": 10.0,
        "cached_audio_in": 0.3,
        "text_out": 2.4,
        "audio_out": 20.0,
    },
}


def cost_of(
    usage: dict[str, int], model: str, prices: dict[str, dict[str, float]] | None = None
) -> float | None:
    """Dollars for a usage total (``ConversationState.usage``); None for an unpriced model."""
    table = (prices or PRICES).get(model) or (prices or PRICES).get(model.rsplit("-", 1)[0])
    if table is None:
        return None
    cached = usage.get("input_cached_tokens", 0)
    text_in = max(0, usage.get("input_text_tokens", 0) - cached)
    return (
        text_in * table["text_in"]
        + cached * table["cached_in"]
        + usage.get("input_audio_tokens", 0) * table["audio_in"]
        + usage.get("output_text_tokens", 0) * table["text_out"]
        + usage.get("output_audio_tokens", 0) * table["audio_out"]
    ) / 1e6


@dataclass
class TurnTiming:
    """When each step of one turn happened (monotonic seconds; None if it did not)."""

    item_id: str | None = None
    speech_stopped: float | None = None
    committed: float | None = None
    response_created: float | None = None
    first_delta: float | None = None
    response_done: float | None = None
    response_id: str | None = None
    status: str | None = None
    first_audio: float | None = None  # the first response.output_audio.delta
    audio_end_ms: int | None = None  # speech_stopped's, on the connection's input timeline
    turn_detection: str | None = None  # "server_vad" / "semantic_vad" when speech stopped
    silence_ms: int | None = None  # server_vad's silence_duration_ms then

    @property
    def vad_wait_ms(self) -> float | None:
        """How long the server's VAD waited in silence before it said ``speech_stopped``:
        ``silence_duration_ms`` for ``server_vad`` (its ``audio_end_ms`` includes it, as
        OpenAI documents and the local server does); 0 for a turn ended by a commit; None for
        ``semantic_vad``, whose wait depends on what was said and is not reported."""
        if self.speech_stopped is None:
            return 0.0 if self.committed is not None else None
        if self.turn_detection == "server_vad" and self.silence_ms is not None:
            return float(self.silence_ms)
        return None

    def breakdown_ms(self) -> dict[str, float | None]:
        """Milliseconds of each step: what a latency bar chart shows."""

        def gap(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else round((b - a) * 1000, 1)

        start = self.speech_stopped if self.speech_stopped is not None else self.committed
        return {
            "commit": gap(self.speech_stopped, self.committed),
            "to_response": gap(self.committed, self.response_created),
            "first_delta": gap(self.response_created, self.first_delta),
            "generation": gap(self.first_delta, self.response_done),
            "total_to_first_delta": gap(start, self.first_delta),
        }


@dataclass
class Metrics:
    """Turn timings, fed by events as they arrive (``observe(type, data, now)``)."""

    turns: list[TurnTiming] = field(default_factory=list)
    _by_response: dict[str, TurnTiming] = field(default_factory=dict)
    # (type, silence_duration_ms) of the turn detection the server last reported
    _detection: tuple[str | None, int | None] = (None, None)

    def _current(self) -> TurnTiming:
        if not self.turns or self.turns[-1].response_done is not None:
            self.turns.append(TurnTiming())
        return self.turns[-1]

    def observe(self, event: ServerEvent, now: float) -> None:
        """Note the time of the steps of a turn this event marks."""
        if isinstance(event, _DELTAS):  # the most frequent events first
            found = self._by_response.get(event.response_id)
            if found is not None:
                if found.first_delta is None:
                    found.first_delta = now
                if found.first_audio is None and isinstance(event, ev.ResponseOutputAudioDelta):
                    found.first_audio = now
        elif isinstance(event, ev.SpeechStopped):
            turn = self._current()
            turn.speech_stopped, turn.item_id = now, event.item_id
            turn.audio_end_ms = event.audio_end_ms
            turn.turn_detection, turn.silence_ms = self._detection
        elif isinstance(event, ev.SessionCreated | ev.SessionUpdated):
            self._detection = _detection(event.session)
        elif isinstance(event, ev.InputAudioBufferCommitted):
            self._current().committed = now
        elif isinstance(event, ev.ResponseCreated):
            turn = self._current()
            turn.response_created, turn.response_id = now, event.response.id
            self._by_response[event.response.id] = turn
        elif isinstance(event, ev.ResponseDone):
            done = self._by_response.get(event.response.id)
            if done is not None:
                done.response_done, done.status = now, event.response.status

    def interrupted(self, response_id: str, now: float) -> None:
        """The connection dropped during this response: its turn ends as "interrupted"."""
        turn = self._by_response.get(response_id)
        if turn is not None and turn.response_done is None:
            turn.response_done, turn.status = now, "interrupted"


def _detection(session: dict[str, Any]) -> tuple[str | None, int | None]:
    """The turn detection type and ``server_vad`` silence a server reported (a realtime or a
    transcription session); (None, None) for none, or for a report that does not read."""
    model = TranscriptionConfig if session.get("type") == "transcription" else SessionConfig
    try:
        td = model.from_session(session).turn_detection
    except Exception:  # never let the metrics stop the session reading its events
        return None, None
    if isinstance(td, ServerVad):
        return td.type, td.silence_duration_ms
    if isinstance(td, SemanticVad):
        return td.type, None
    return None, None


_DELTAS = (
    ev.ResponseOutputAudioDelta,
    ev.ResponseOutputTextDelta,
    ev.ResponseOutputAudioTranscriptDelta,
    ev.FunctionCallArgumentsDelta,
)
