"""A transcription-only session (``?intent=transcription`` in the URL): its own composition.

:class:`TranscriptionEngine` composes the input part (:mod:`.turns`: the buffer events, VAD,
commit and clear) and input transcripts (:mod:`.input_transcripts`); there is no conversation
and no response. Its :class:`~realtime_widgets.protocol.transcription_config.TranscriptionConfig` is
the truth, read by both parts as it is; ``session.update`` must say ``type: transcription``.
OpenAI's sequence for a VAD turn: ``speech_started``, ``speech_stopped``, ``committed`` (with
``previous_item_id`` to order turns), then the transcription events. Events a transcription
session has no use for (conversation items, responses) get an ``error`` and the session
carries on.
"""

from __future__ import annotations

from typing import ClassVar

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.wire import validate_session_payload
from realtime_widgets.server.engine_core import EngineCore, Events
from realtime_widgets.server.errors import config_error
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import (
    SpeechStarted,
    TranscriptReady,
    TurnEnded,
    TurnsDecided,
)
from realtime_widgets.server.reply.responder import DEFAULT_INSTRUCTIONS

__all__ = ["INPUT_FIELDS", "TRANSCRIPTION_EVENT_TYPES", "TranscriptionEngine"]

# The client events a transcription session answers; the rest get an error.
TRANSCRIPTION_EVENT_TYPES = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)
# The SessionConfig fields a transcription session shares (the input half).
INPUT_FIELDS = ("input_audio_format", "noise_reduction", "transcription", "include")


class TranscriptionEngine(EngineCore[TranscriptionConfig]):
    """One transcription session's behaviour (see the module docstring)."""

    kind: ClassVar[str] = "transcription_session"

    def __init__(
        self,
        *,
        model: str = "gpt-realtime-1.5",
        options: EngineOptions | None = None,
        session_id: str = "sess_local",
    ) -> None:
        super().__init__(
            TranscriptionConfig(), options=options or EngineOptions(), session_id=session_id
        )
        self.model = model
        self.last_item_id: str | None = None  # the newest committed turn (its successor's previous)
        self.handlers = dict.fromkeys(ev.CLIENT_EVENT_CLASSES, self._refuse)
        self.handlers.update(
            {
                ev.SessionUpdate: self._on_session_update,
                ev.InputAudioBufferAppend: self.input.on_append,
                ev.InputAudioBufferCommit: self.input.on_commit,
                ev.InputAudioBufferClear: self.input.on_clear,
            }
        )
        self.routes.update(
            {
                TurnEnded: self._turn_ended,
                TurnsDecided: self._turns_decided,
                SpeechStarted: self._nothing,  # no reply to cancel
                TranscriptReady: self._nothing,  # no item to hold it
            }
        )
        self.input.sync_detector()

    def beta_config(self) -> SessionConfig:
        """The legacy beta shape reports a realtime config carrying this session's input half."""
        td = self.config.turn_detection
        if td is not None:
            td = td.model_copy(update={"create_response": False, "interrupt_response": False})
        changes = {name: getattr(self.config, name) for name in INPUT_FIELDS}
        base = SessionConfig(model=self.model, instructions=DEFAULT_INSTRUCTIONS)
        return base.with_changes(changes, turn_detection=td)

    def _turn_ended(self, o: TurnEnded, now: float) -> Events:
        """A turn is committed (in the chain of turns: no items here) and transcribed."""
        previous, self.last_item_id = self.last_item_id, o.item_id
        committed = self.out.event(
            ev.InputAudioBufferCommitted, previous_item_id=previous, item_id=o.item_id
        )
        return [committed, *self.route(self.transcripts.commit(o.item_id, o.audio), now)]

    def _turns_decided(self, o: TurnsDecided, now: float) -> Events:
        return self.route(self.input.after_turns(replying=False), now)

    def _nothing(self, o: SpeechStarted | TranscriptReady, now: float) -> Events:
        return []

    def _on_session_update(self, e: ev.SessionUpdate, now: float) -> Events:
        missing = self._missing_type(e)
        if missing is not None:
            return [missing]
        try:  # (another session.type too: validate_session_payload words it as OpenAI does)
            update = validate_session_payload(e.session, TranscriptionConfig)
            merged = self.config.updated_by(update)
        except ConfigError as exc:
            return [self.out.error_from(config_error(exc, e.event_id))]
        return self._adopt(merged)

    def _refuse(self, e: ev.ClientEvent, now: float) -> Events:
        """Conversation and response events: not part of a transcription session."""
        allowed = ", ".join(f"'{t}'" for t in TRANSCRIPTION_EVENT_TYPES)
        return [
            self.out.error(
                f"Invalid value: '{e.type}'. A transcription session has no conversation and "
                f"no responses; it supports: {allowed}.",
                "invalid_value",
                "type",
                e.event_id,
            )
        ]
