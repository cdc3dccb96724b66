"""Transcription: input transcripts for every session, and transcription-only sessions.

Part of :class:`~.engine.SessionEngine` (sans-I/O).

:func:`transcribe_turn` answers a committed user turn with OpenAI's
``conversation.item.input_audio_transcription.*`` events: with no recogniser, one ``failed``
naming why (the local server never invents a transcript); with ``LocalServer(transcriber=fn)``,
the transcript streamed as word deltas and then ``completed``, with log probabilities when the
session's ``include`` asks for them and the recogniser gives them (:class:`Transcript`).

:class:`TranscriptionSession` makes an engine a transcription session (``?intent=transcription``
in the URL): its :class:`~.transcription.TranscriptionConfig` is the truth, ``session.update``
must say ``type: transcription``, and the input machinery of :mod:`.turns` runs unchanged (the
buffer events, VAD, commit and clear) except that a turn makes no conversation item and no
response. OpenAI's sequence for a VAD turn: ``speech_started``, ``speech_stopped``,
``committed`` (with ``previous_item_id`` to order turns), then the transcription events. Events
a transcription session has no use for (conversation items, responses) get an ``error`` and the
session carries on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.wire import validate_session_payload
from realtime_widgets.server.errors import config_error

if TYPE_CHECKING:
    from realtime_widgets.server.engine import SessionEngine

__all__ = [
    "INPUT_FIELDS",
    "TRANSCRIPTION_EVENT_TYPES",
    "Transcriber",
    "Transcript",
    "TranscriptionSession",
    "transcribe_turn",
]

Events = list[dict[str, Any]]
# The client events a transcription session answers; the rest get an error.
TRANSCRIPTION_EVENT_TYPES = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)
LOGPROBS = "item.input_audio_transcription.logprobs"
# The SessionConfig fields a transcription session shares (the input half).
INPUT_FIELDS = ("input_audio_format", "noise_reduction", "transcription", "include")


@dataclass(frozen=True)
class Transcript:
    """What a recogniser may return instead of plain text: the words with log probabilities
    (natural log, as OpenAI reports them), e.g. from faster-whisper's word probabilities."""

    text: str
    tokens: list[tuple[str, float]] = field(default_factory=list)


Transcriber = Callable[[Int16Array], "str | Transcript"]


def _pieces(text: str) -> list[str]:
    """The transcript cut into streaming deltas: each word with the space that follows it."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _logprobs(tokens: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"token": t, "logprob": float(p), "bytes": list(t.encode("utf-8"))} for t, p in tokens]


def transcribe_turn(engine: SessionEngine, item_id: str, audio: Int16Array) -> Events:
    """The transcription events for one committed turn (none when transcription is off)."""
    config = engine.config
    tr = config.transcription
    if tr is None:
        return []
    base = {"item_id": item_id, "content_index": 0}
    transcriber = engine.options.transcriber
    if transcriber is None:
        return [
            engine.event(
                {
                    "type": "conversation.item.input_audio_transcription.failed",
                    **base,
                    "error": {
                        "type": "transcription_error",
                        "code": "transcription_unavailable",
                        "param": None,
                        "message": "The local server has no offline speech recogniser "
                        f"for {tr.model!r}: it returns no transcript rather than an invented "
                        "one. Pass LocalServer(transcriber=...) to use your own.",
                    },
                }
            )
        ]
    result = transcriber(audio)
    transcript = result if isinstance(result, Transcript) else Transcript(str(result))
    text = transcript.text
    item = engine.conversation.items.get(item_id)
    if item is not None:
        item.data["content"][0]["transcript"] = text
        engine.conversation.recount(item)  # its text counts in the context now
    with_logprobs = bool(config.include and LOGPROBS in config.include and transcript.tokens)
    out: Events = []
    if with_logprobs:
        # One delta per recognised token, carrying its log probability.
        for token, logprob in transcript.tokens:
            out.append(
                engine.event(
                    {
                        "type": "conversation.item.input_audio_transcription.delta",
                        **base,
                        "delta": token,
                        "logprobs": _logprobs([(token, logprob)]),
                    }
                )
            )
    else:
        for piece in _pieces(text):
            out.append(
                engine.event(
                    {
                        "type": "conversation.item.input_audio_transcription.delta",
                        **base,
                        "delta": piece,
                    }
                )
            )
    completed: dict[str, Any] = {
        "type": "conversation.item.input_audio_transcription.completed",
        **base,
        "transcript": text,
        "usage": {"type": "duration", "seconds": round(len(audio) / 24000, 3)},
    }
    if with_logprobs:
        completed["logprobs"] = _logprobs(transcript.tokens)
    out.append(engine.event(completed))
    return out


class TranscriptionSession:
    """Turns a :class:`~.engine.SessionEngine` into a transcription session (module docstring).

    The engine's ``config`` stays a SessionConfig, mirroring this session's input settings,
    so :mod:`.turns` reads them as it always does; ``create_response`` is never on.
    """

    def __init__(self, engine: SessionEngine) -> None:
        self.engine = engine
        self.config = TranscriptionConfig()
        self.last_item_id: str | None = None  # the newest committed turn (its successor's previous)
        engine.input.conversational = False
        self._mirror()

    def _mirror(self) -> None:
        td = self.config.turn_detection
        if td is not None:
            td = td.model_copy(update={"create_response": False, "interrupt_response": False})
        changes = {name: getattr(self.config, name) for name in INPUT_FIELDS}
        self.engine.config = self.engine.config.with_changes(changes, turn_detection=td)

    def session_object(self) -> dict[str, Any]:
        """The ``session`` of ``session.created`` / ``session.updated`` (the effective config
        only: see :meth:`~.engine.SessionEngine.session_object`)."""
        return self.config.to_session()

    def on_session_update(self, e: ev.SessionUpdate, now: float) -> Events:
        engine = self.engine
        if "type" not in e.session:
            return [
                engine.error(
                    "Missing required parameter: 'session.type'.",
                    "missing_required_parameter",
                    "session.type",
                    e.event_id,
                )
            ]
        try:  # (another session.type too: validate_session_payload words it as OpenAI does)
            update = validate_session_payload(e.session, TranscriptionConfig)
            merged = self.config.with_changes(
                {k: getattr(update, k) for k in update.model_fields_set}
            )
        except ConfigError as exc:
            engine.stats["errors"] += 1
            return [engine.event(config_error(exc, e.event_id))]
        format_changed = merged.input_audio_format != self.config.input_audio_format
        self.config = merged
        self._mirror()
        if format_changed:
            engine.input.reset_format()
        engine.input.sync_detector()
        return [engine.event({"type": "session.updated", "session": engine.session_object()})]

    def refuse(self, e: ev.ClientEvent, now: float) -> Events:
        """Conversation and response events: not part of a transcription session."""
        allowed = ", ".join(f"'{t}'" for t in TRANSCRIPTION_EVENT_TYPES)
        return [
            self.engine.error(
                f"Invalid value: '{e.type}'. A transcription session has no conversation and "
                f"no responses; it supports: {allowed}.",
                "invalid_value",
                "type",
                e.event_id,
            )
        ]

    def next_previous(self, item_id: str) -> str | None:
        """The ``previous_item_id`` of a newly committed turn (and remember this one)."""
        previous, self.last_item_id = self.last_item_id, item_id
        return previous
