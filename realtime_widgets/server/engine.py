"""The local server's session engine: sans-I/O, deterministic, testable with a fake clock.

Client events and the time go in; server events come out::

    engine = SessionEngine(model="gpt-realtime-1.5")
    out = engine.start(now=0.0)                     # [session.created]
    out = engine.receive(text, now=0.5)             # events answering one client event
    for request in engine.take_requests():          # replies to compute (responder + speech)
        out += engine.reply_ready(request, produce_reply(request), now=0.6)
    out += engine.tick(now=1.0)                     # paced audio deltas, expiry

The websockets layer (:mod:`.app`) runs ``produce_reply`` (:mod:`.reply`) in a worker thread,
so a slow responder never blocks other sessions. Everything OpenAI's server enforces that a
client can observe is enforced here: the session.update rules with OpenAI's errors, the 100 ms
commit minimum, one response at a time, the voice lock after assistant audio, frozen tracing,
the session's maximum duration.

This module holds the session itself (ids, config, ``session.update``, the clock, expiry) and
dispatches each parsed client event through :attr:`SessionEngine.handlers`, a table keyed by
event class, to the parts that own the state:

- :mod:`.turns`: input audio, turn detection, idle timeout, commit and clear;
- :mod:`.conversation`: the items and ``conversation.item.*``;
- :mod:`.responses`: ``response.create`` / ``cancel``, the reply's context, paced events, usage.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.errors import ConfigError, ProtocolError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import SemanticVad, ServerVad
from realtime_widgets.protocol.wire import check_rules, check_transition, validate_session_payload
from realtime_widgets.server.conversation import Conversation
from realtime_widgets.server.errors import (
    UNPARSABLE_JSON,
    client_event_error,
    config_error,
    error_event,
    transition_error,
)
from realtime_widgets.server.frames import ImageRead, ReadFrame
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.responses import (
    DEFAULT_INSTRUCTIONS,
    ActiveResponse,
    ReplyMaterial,
    ReplyRequest,
    Responses,
)
from realtime_widgets.server.transcription import (
    TRANSCRIPTION_EVENT_TYPES,
    Transcriber,
    TranscriptionSession,
)
from realtime_widgets.server.turns import MIN_COMMIT_MS, InputTurns
from realtime_widgets.server.vad import TurnDetector

__all__ = [
    "BETA_DISABLED",
    "MIN_COMMIT_MS",
    "EngineOptions",
    "Handler",
    "ReplyMaterial",
    "ReplyRequest",
    "SessionEngine",
]

Events = list[dict[str, Any]]
# A client event's handler: the parsed event and the time in, the answering events out.
Handler = Callable[[Any, float], Events]

# Top-level keys only the legacy beta session shape has: a GA session.update without "type"
# that carries one of them is a beta client, refused as OpenAI refuses it.
_BETA_KEYS = frozenset(
    p.beta.split(".")[0] for p in SessionConfig.PARAMS.values() if p.beta is not None
) - {p.ga.split(".")[0] for p in SessionConfig.PARAMS.values() if p.ga is not None}
BETA_DISABLED = (
    "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
)


@dataclass(frozen=True)
class EngineOptions:
    """Knobs of a local session. ``pace`` 1.0 streams audio deltas in real time, 0 sends a
    reply at once; ``lead``: each reply's events go out up to this many seconds ahead of
    real time (OpenAI "will produce audio faster than realtime", the SDK's docs of
    ``conversation.item.truncate``: a client buffers ahead and truncates at barge-in; 0 streams
    strictly in real time, the worst case for a client's jitter buffer); ``limits``: every
    limit (:class:`~.limits.ServerLimits`: OpenAI's 60-minute session, 15 MiB append, context
    size, and the local server's own caps)."""

    limits: ServerLimits = field(default_factory=ServerLimits)
    pace: float = 1.0
    lead: float = 0.5
    transcriber: Transcriber | None = None
    rate_limits: bool = True
    wall_clock: Callable[[], float] = time.time  # for expires_at (Unix seconds)
    dialect: str = "ga"  # "beta": accept the legacy flat session shape in session.update
    # How turn detection is built from the session's settings. The VAD lab passes one that
    # decides from a clip's precomputed signals (same decisions, no Silero per sweep point).
    detector: Callable[[ServerVad | SemanticVad], TurnDetector] = TurnDetector

    def __post_init__(self) -> None:
        for name, what in (("pace", "a speed factor"), ("lead", "seconds")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number >= 0 ({what}), got {value!r}")
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0 ({what}), got {value!r}")


class SessionEngine:
    """One Realtime session's behaviour (see the module docstring)."""

    def __init__(
        self,
        *,
        model: str = "gpt-realtime-1.5",
        options: EngineOptions | None = None,
        session_id: str = "sess_local",
        intent: Literal["realtime", "transcription"] = "realtime",
    ) -> None:
        self.options = options or EngineOptions()
        self.session_id = session_id
        self.config = SessionConfig(model=model, instructions=DEFAULT_INSTRUCTIONS)
        self.closed: tuple[int, str] | None = None
        self._ids: dict[str, int] = {}
        self._started_at = 0.0
        self._expires_at = 0
        self.voice_locked = False
        self.stats: dict[str, int] = {"appended_bytes": 0, "errors": 0, "events_in": 0}
        self.conversation = Conversation(self)
        self.responses = Responses(self)
        self.input = InputTurns(self)
        # Every client event class has exactly one handler (tests/server checks the union).
        self.handlers: dict[type[ev.ClientEvent], Handler] = {
            ev.SessionUpdate: self._on_session_update,
            ev.InputAudioBufferAppend: self.input.on_append,
            ev.InputAudioBufferCommit: self.input.on_commit,
            ev.InputAudioBufferClear: self.input.on_clear,
            ev.ConversationItemCreate: self.conversation.on_create,
            ev.ConversationItemTruncate: self.conversation.on_truncate,
            ev.ConversationItemDelete: self.conversation.on_delete,
            ev.ConversationItemRetrieve: self.conversation.on_retrieve,
            ev.ResponseCreate: self.responses.on_create,
            ev.ResponseCancel: self.responses.on_cancel,
            ev.OutputAudioBufferClear: self.responses.on_output_audio_clear,
        }
        # A transcription session (intent=transcription): see :mod:`.transcription`.
        self.transcription: TranscriptionSession | None = None
        if intent == "transcription":
            self.transcription = TranscriptionSession(self)
            self.handlers[ev.SessionUpdate] = self.transcription.on_session_update
            for kind in self.handlers:
                if kind.model_fields["type"].default not in TRANSCRIPTION_EVENT_TYPES:
                    self.handlers[kind] = self.transcription.refuse
        self.input.sync_detector()

    # ---- ids and helpers (used by the parts) --------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """A fresh id such as ``item_test000100003`` (per-prefix counters, deterministic)."""
        n = self._ids.get(prefix, 0) + 1
        self._ids[prefix] = n
        return f"{prefix}_{self.session_id.removeprefix('sess_')[-8:]}{n:05d}"

    def event(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A server event with its ``event_id`` (``type`` first, as OpenAI sends it)."""
        return {
            "type": payload["type"],
            "event_id": self.new_id("event"),
            **{k: v for k, v in payload.items() if k != "type"},
        }

    def error(
        self, message: str, code: str | None, param: str | None, client_id: str | None
    ) -> dict[str, Any]:
        """An ``error`` event in OpenAI's shape, counted in :attr:`stats`."""
        self.stats["errors"] += 1
        return self.event(error_event(message, code=code, param=param, client_event_id=client_id))

    @property
    def input_ms(self) -> float:
        """Milliseconds of audio appended since the session began (the input timeline)."""
        return self.input.input_ms

    @property
    def _order(self) -> list[str]:
        """The conversation's item ids in order (read by tests)."""
        return self.conversation.order

    @property
    def _response(self) -> ActiveResponse | None:
        """The response in progress (read by tests)."""
        return self.responses.current

    def session_object(self) -> dict[str, Any]:
        """The ``session`` of ``session.created`` / ``session.updated``: the full effective
        config and nothing else. The SDK types it as the create request (no ``id``,
        ``object`` or ``expires_at``), and the wire carries only what the SDK models."""
        if self.transcription is not None:
            return self.transcription.session_object()
        return self.config.to_session()

    def identity(self) -> dict[str, Any]:
        """The session's id, object and expiry, as the legacy beta shape reported them
        (:mod:`.beta` adds them; GA events carry none, see :meth:`session_object`)."""
        kind = "transcription_session" if self.transcription is not None else "session"
        return {"id": self.session_id, "object": f"realtime.{kind}", "expires_at": self._expires_at}

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self, now: float) -> Events:
        """The session begins: ``session.created`` with the full effective configuration."""
        self._started_at = now
        self._expires_at = int(self.options.wall_clock() + self.options.limits.max_duration_s)
        return [self.event({"type": "session.created", "session": self.session_object()})]

    def next_due(self) -> float | None:
        """When :meth:`tick` has work next (a paced event, or the session's end)."""
        due = self._started_at + self.options.limits.max_duration_s
        paced = self.responses.next_due
        return due if paced is None else min(due, paced)

    def tick(self, now: float) -> Events:
        """Release the events whose time has come; end the session at its maximum duration."""
        if self.closed is None and now >= self._started_at + self.options.limits.max_duration_s:
            self.closed = (1001, "session_expired")
            return [
                self.error(
                    "Your session hit the maximum duration of 60 minutes.",
                    "session_expired",
                    None,
                    None,
                )
            ]
        return self.responses.release_due(now)

    def take_requests(self) -> list[ReplyRequest]:
        """The replies to compute (responder + speech), each to come back via
        :meth:`reply_ready`."""
        taken = list(self.responses.requests)
        self.responses.requests.clear()
        return taken

    def reply_ready(self, request: ReplyRequest, material: ReplyMaterial, now: float) -> Events:
        """The computed reply for ``request``: schedule its events (ignored if cancelled)."""
        if not self.responses.schedule(request, material, now):
            return []
        return self.tick(now)

    def fail_reply(self, request: ReplyRequest, now: float) -> Events:
        """``request``'s reply could not be scheduled (the I/O layer met a bug in
        :meth:`reply_ready`): its response ends ``failed`` with a server_error, so the session
        is not left with a response in progress for ever. Nothing if it was cancelled meanwhile
        or its events are already scheduled (then they go on being released)."""
        r = self.responses.active
        if r is None or r.id != request.response_id or r.pending:
            return []
        details = {"type": "failed", "error": {"type": "server_error", "code": "server_error"}}
        return self.responses.finish(r, "failed", details, now)

    def append_samples(self, samples: Int16Array, now: float) -> Events:
        """Append decoded 24 kHz input audio (what ``input_audio_buffer.append`` does after
        base64 and format decoding; the VAD lab calls it directly)."""
        return self.input.append_samples(samples, now)

    @property
    def vad_pending(self) -> bool:
        """Turn decisions on the last append wait for the shared VAD batch (only with
        ``EngineOptions(detector=...)`` building detectors on a :class:`~.vad.WindowBatch`)."""
        return self.input.vad_pending

    def vad_ready(self, now: float) -> Events:
        """The batch has run: the rest of the last append's events (turns, a response). The
        engine also settles by itself before anything else it is asked, so a caller that never
        runs the batch gets the same events, only later."""
        return self.input.resume(now)

    def close(self) -> None:
        """Release what the session holds (its speech stream)."""
        self.input.close()

    # ---- client events ------------------------------------------------------------------------

    def receive(self, text: str | bytes | ReadFrame, now: float) -> Events:
        """Answer one client event: a JSON text frame, or one already read off the event loop
        (:func:`~.frames.read_frame`, for big frames)."""
        self.stats["events_in"] += 1
        out = self.input.settle(now)  # decisions still waiting for the VAD batch come first
        out += self.tick(now)
        if self.closed is not None:
            return out
        images: dict[int, ImageRead] = {}
        try:
            if not isinstance(text, ReadFrame):
                raw = ev.load_json(text, max_depth=self.options.limits.max_json_depth)
            elif text.problem is not None:
                raise text.problem
            else:
                raw, images = text.raw, text.images
        except ProtocolError as exc:
            message = f"{UNPARSABLE_JSON} (local server: {exc}.)"
            return [*out, self.error(message, "invalid_json", None, None)]
        if not isinstance(raw, dict):
            message = f"{UNPARSABLE_JSON} (local server: an event must be a JSON object.)"
            return [*out, self.error(message, "invalid_json", None, None)]
        client_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        if (
            raw.get("type") == "session.update"
            and isinstance(raw.get("session"), dict)
            and self.options.dialect == "ga"
        ):
            session = raw["session"]
            if "type" not in session and _BETA_KEYS & set(session):
                self.closed = (4000, "beta_api_shape_disabled")
                return [
                    *out,
                    self.error(BETA_DISABLED, "beta_api_shape_disabled", None, client_id),
                ]
        try:
            event = ev.parse_client_event(raw)
        except ValidationError as exc:
            self.stats["errors"] += 1
            return [*out, self.event(client_event_error(exc, raw))]
        # Images a big frame's item carries were read with it, off the loop: hand them over.
        self.conversation.images_read = images
        try:
            return out + self.handlers[type(event)](event, now)
        finally:
            self.conversation.images_read = {}

    def _on_session_update(self, e: ev.SessionUpdate, now: float) -> Events:
        beta = self.options.dialect == "beta"
        if "type" not in e.session and not beta:
            return [
                self.error(
                    "Missing required parameter: 'session.type'.",
                    "missing_required_parameter",
                    "session.type",
                    e.event_id,
                )
            ]
        try:
            if beta:
                update = SessionConfig.from_session(e.session, dialect="beta")
            else:
                update = validate_session_payload(e.session)
            merged = self.config.with_changes(
                {k: getattr(update, k) for k in update.model_fields_set}
            )
            check_rules(merged, "beta" if beta else "ga")
        except ConfigError as exc:
            self.stats["errors"] += 1
            return [self.event(config_error(exc, e.event_id))]
        try:
            # Only a change the live session refuses gets the "cannot change" wording.
            check_transition(
                self.config,
                merged,
                assistant_has_spoken=self.voice_locked,
                dialect="beta" if beta else "ga",
            )
        except ConfigError as exc:
            self.stats["errors"] += 1
            return [self.event(transition_error(exc, e.event_id))]
        format_changed = merged.input_audio_format != self.config.input_audio_format
        self.config = merged
        if format_changed:
            self.input.reset_format()
        self.input.sync_detector()
        return [self.event({"type": "session.updated", "session": self.session_object()})]
