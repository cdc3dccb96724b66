"""What every kind of local session shares: the session's lifecycle around its parts.

:class:`EngineCore` holds the session's id and :class:`~.emitter.SessionEmitter` (ids, events,
errors), the clock and the expiry, and the input part (:mod:`.turns`), which every kind has. It
answers a client event by parsing it (OpenAI's errors for bad JSON, a beta-shaped update, a
malformed event) and dispatching it through :attr:`EngineCore.handlers`, a table keyed by event
class; what a handler returns (events and outcomes, :mod:`.outcomes`) goes through
:meth:`EngineCore.route`, which looks each outcome up in :attr:`EngineCore.routes`, the table
where each kind says what an outcome does to its other parts.

The kinds: :class:`~.engine.SessionEngine` (Realtime: input, conversation, responses, input
transcripts), :class:`~.transcription_engine.TranscriptionEngine` (``intent=transcription``:
input and input transcripts), :class:`~.translation_engine.TranslationEngine` (the
translations path: input and input transcripts on its own segmentation, translations through
the reply pipeline) and :class:`~.live_engine.LiveEngine` (GPT-Live, ``/v1/live/sessions``:
input, input transcripts and the model's output stream, on Live's own event unions). A new kind
is a new subclass composing the parts it needs, with its own handler and route tables; a kind
whose union is not the Realtime one overrides the hooks of the one :meth:`EngineCore.receive`:
:meth:`~EngineCore.parse_event` / :meth:`~EngineCore.event_error` (its union and its words for
a malformed event), :meth:`~EngineCore.error` / :meth:`~EngineCore.error_from` (its error
shape: GPT-Live's links to the client's event through ``client_event_id``),
:meth:`~EngineCore.refuse` (an event the session does not take yet: GPT-Live's before
``session.start``) and :meth:`~EngineCore.from_parts` (what the shared parts write, in its
words); and ``session_created`` / ``session_updated`` (translation), :meth:`EngineCore.start`,
:meth:`EngineCore.failure_event` and ``_expired`` / ``_release_due`` (GPT-Live, whose first
event is ``session.start`` and whose end is ``session.closed``). No part learns about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.errors import ProtocolError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.protocol.translation_config import TranslationConfig
from realtime_widgets.protocol.wire import json_type_name
from realtime_widgets.server.emitter import Event, SessionEmitter, build_event, stamp
from realtime_widgets.server.errors import UNPARSABLE_JSON, client_event_error, error_detail
from realtime_widgets.server.frames import ImageRead, ReadFrame
from realtime_widgets.server.input_transcripts import (
    InputTranscripts,
    TranscriptionRequest,
    TranscriptionResult,
)
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import Outcome, PauseVoided, SpeechPaused, Step
from realtime_widgets.server.reply.material import ReplyMaterial, ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import FunctionCall, ResponderError
from realtime_widgets.server.turns import InputSettings, InputTurns

__all__ = ["BETA_DISABLED", "EngineCore", "Events", "Handler", "Route"]

Events = list[Event]
# A client event's handler: the parsed event and the time in; events and outcomes out.
Handler = Callable[[Any, float], Iterable[Step]]
# An outcome's route: the outcome and the time in; the events of what it caused out.
Route = Callable[[Any, float], "Events"]
ConfigT = TypeVar("ConfigT", SessionConfig, TranscriptionConfig, TranslationConfig, LiveConfig)

# Top-level keys only the legacy beta session shape has: a GA session.update without "type"
# that carries one of them is a beta client, refused as OpenAI refuses it.
_BETA_KEYS = frozenset(
    p.beta.split(".")[0] for p in SessionConfig.PARAMS.values() if p.beta is not None
) - {p.ga.split(".")[0] for p in SessionConfig.PARAMS.values() if p.ga is not None}
BETA_DISABLED = (
    "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
)


class EngineCore(Generic[ConfigT]):
    """A session's lifecycle (module docstring); subclasses compose the parts of one kind.

    Public API, the same for every kind::

        out = engine.start(now)                     # [session.created]
        out = engine.receive(text, now)             # events answering one client event
        for request in engine.take_requests():      # replies to compute (none for some kinds)
            out += engine.reply_piece(request, piece, now)   # as each piece is ready
            out += engine.reply_end(request, now)
        for job in engine.take_transcriptions():    # turns to transcribe, off the loop
            out += engine.transcription_ready(job, run_transcriber(fn, job), now)
        out += engine.tick(now)                     # paced events, expiry
    """

    kind: ClassVar[str] = "session"  # the legacy beta shape's object: realtime.<kind>
    # The models of the session events a kind writes (its union's, when it has its own).
    session_created: ClassVar[type[ev.ServerEvent]] = ev.SessionCreated
    session_updated: ClassVar[type[ev.ServerEvent]] = ev.SessionUpdated
    # A GA session.update without "type" carrying a beta-only key is a beta client, refused
    # (a kind whose update has no "type" at all says False).
    refuses_beta_shape: ClassVar[bool] = True
    # Every committed turn is transcribed when the server can, transcription on or off (the
    # Realtime model hears it); else only when the session asks.
    hears_always: ClassVar[bool] = False

    def __init__(self, config: ConfigT, *, options: EngineOptions, session_id: str) -> None:
        self.options = options
        self.session_id = session_id
        self.config: ConfigT = config
        self.closed: tuple[int, str] | None = None
        self.out = SessionEmitter(session_id)
        self._events_in = 0
        self._started_at = 0.0
        self._expires_at = 0
        self.input = InputTurns(
            self.out,
            self._part_settings,
            options.limits,
            options.detector,
            wire_format=self._wire_format(),
        )
        self.transcripts = InputTranscripts(
            self.out,
            self._part_settings,
            options.transcriber,
            unavailable=options.transcriber_note,
            always=self.hears_always,
        )
        # Client event class (of the kind's union) -> its handler.
        self.handlers: dict[type[BaseModel], Handler] = {}
        # Every outcome class the kind's parts return has exactly one route: the pauses' are
        # every kind's, a kind adds the rest.
        self.routes: dict[type[Outcome], Route] = {
            SpeechPaused: self._speech_paused,
            PauseVoided: self._pause_voided,
        }

    def _read_config(self) -> ConfigT:
        """The effective config, for the parts (read-only: only the engine replaces it)."""
        return self.config

    def _part_settings(self) -> InputSettings:
        """What the input and input-transcript parts read: the effective config, whose input
        half they share. A kind whose config has no such half (translation: no turn detection
        a client sets; GPT-Live: turns are the server's, with fixed settings) overrides this with
        the settings it gives them."""
        config = self.config
        assert not isinstance(config, TranslationConfig | LiveConfig), "that kind overrides this"
        return config

    def _wire_format(self) -> Callable[[], tuple[str, int]] | None:
        """Where the input part reads the appended audio's wire format and rate (None: from
        :meth:`_part_settings`' ``input_audio_format``; GPT-Live's PCM may be 16 kHz)."""
        return None

    # ---- what a kind decides ------------------------------------------------------------------

    def session_object(self) -> dict[str, Any]:
        """The ``session`` of ``session.created`` / ``session.updated``: the full effective
        config and nothing else. The SDK types it as the create request (no ``id``,
        ``object`` or ``expires_at``), and the wire carries only what the SDK models."""
        return self.config.to_session()

    def beta_config(self) -> SessionConfig:
        """The config the legacy beta shape reports (:mod:`.beta`)."""
        raise NotImplementedError

    def failure_event(self, message: str, event_id: str) -> Event:
        """A ``server_error`` event saying ``message`` with ``event_id`` (the connection's own
        ids: a bug met outside the engine), in this kind's error shape (Realtime's here)."""
        detail = error_detail(message, code="server_error", type_="server_error")
        return stamp(build_event(ev.ErrorEvent, error=detail), event_id)

    def error(
        self, message: str, code: str, param: str | None = None, client_id: str | None = None
    ) -> Event:
        """An ``error`` event in this kind's shape (Realtime's here), counted: what the engine
        itself answers (a frame it cannot read, the session's end)."""
        return self.out.error(message, code, param, client_id)

    def error_from(self, detail: dict[str, Any]) -> Event:
        """The ``error`` event of a detail from :mod:`.errors` (``error_detail``,
        ``config_error``, :meth:`event_error`), in this kind's shape, counted."""
        return self.out.error_from(detail)

    def from_parts(self, steps: Iterable[Step]) -> Iterable[Step]:
        """What the shared parts returned, in this kind's words (as they are here: the shared
        parts speak Realtime; GPT-Live's engine rewrites them)."""
        return steps

    def refuse(self, event: Any) -> Event | None:
        """An error for a well-formed client event the session does not take now (None: it
        does; GPT-Live's session takes nothing before ``session.start``)."""
        return None

    def _release_due(self, now: float) -> Events:
        """The paced events whose time has come (none unless the kind paces any)."""
        return []

    def _paced_due(self) -> float | None:
        """When the next paced event is due (None: none is)."""
        return None

    def _handle(
        self, event: ev.ClientEvent, now: float, images: dict[int, ImageRead]
    ) -> Iterable[Step]:
        """The handler's steps for ``event``. ``images``: what a big frame's item carries, read
        with the frame off the event loop (content index -> what it holds); a kind whose
        handlers take images overrides this."""
        return self.handlers[type(event)](event, now)

    # ---- routing ------------------------------------------------------------------------------

    def route(self, steps: Iterable[Step], now: float) -> Events:
        """The events of ``steps``, each outcome routed (:attr:`routes`) where it stands,
        before the next step is taken from a lazy part."""
        out: Events = []
        routes = self.routes
        for step in steps:
            if isinstance(step, dict):
                out.append(step)
            else:
                out.extend(routes[type(step)](step, now))
        return out

    def _speech_paused(self, o: SpeechPaused, now: float) -> Events:
        """The input part heard a pause: the transcripts part may speculate on the turn so far
        (every kind's :attr:`routes` send :class:`SpeechPaused` here)."""
        return self.route(self.from_parts(self.transcripts.pause(o.item_id, o.audio)), now)

    def _pause_voided(self, o: PauseVoided, now: float) -> Events:
        """The speech went on after the pause: the transcripts part drops its speculation."""
        return self.route(self.from_parts(self.transcripts.void(o.item_id)), now)

    # ---- identity and counters ----------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """Bytes of audio appended, error events sent, client events received."""
        return {
            "appended_bytes": self.input.appended_bytes,
            "errors": self.out.errors,
            "events_in": self._events_in,
        }

    @property
    def input_ms(self) -> float:
        """Milliseconds of audio appended since the session began (the input timeline)."""
        return self.input.input_ms

    def identity(self) -> dict[str, Any]:
        """The session's id, object and expiry, as the legacy beta shape reported them
        (:mod:`.beta` adds them; GA events carry none, see :meth:`session_object`)."""
        return {
            "id": self.session_id,
            "object": f"realtime.{self.kind}",
            "expires_at": self._expires_at,
        }

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self, now: float) -> Events:
        """The session begins: ``session.created`` with the full effective configuration."""
        self._started_at = now
        self._expires_at = int(self.options.wall_clock() + self.options.limits.max_duration_s)
        return [self.out.event(self.session_created, session=self.session_object())]

    def next_due(self) -> float | None:
        """When :meth:`tick` has work next (a paced event, or the session's end)."""
        due = self._started_at + self.options.limits.max_duration_s
        paced = self._paced_due()
        return due if paced is None else min(due, paced)

    def tick(self, now: float) -> Events:
        """Release the events whose time has come; end the session at its maximum duration.
        A closed session sends nothing more."""
        if self.closed is not None:
            return []
        if now >= self._started_at + self.options.limits.max_duration_s:
            self.closed = (1001, "session_expired")
            return self._expired(now)
        return self._release_due(now)

    def _expired(self, now: float) -> Events:
        """What the session says as it ends at its maximum duration: OpenAI's error (``Your
        session hit the maximum duration of 60 minutes.``, with the local limit)."""
        limit = self.options.limits.max_duration_s
        length = f"{limit / 60:g} minutes" if limit % 60 == 0 else f"{limit:g} seconds"
        return [
            self.error(f"Your session hit the maximum duration of {length}.", "session_expired")
        ]

    def take_requests(self) -> list[ReplyRequest]:
        """The replies to compute (responder + speech), each to come back piece by piece via
        :meth:`reply_piece` and :meth:`reply_end` (or whole via :meth:`reply_ready`)."""
        return []

    def reply_piece(
        self, request: ReplyRequest, piece: ReplyPiece | FunctionCall, now: float
    ) -> Events:
        """A piece of ``request``'s reply is ready (a clause and its speech, or the function
        call that ends it): its events are scheduled after the pieces before it (ignored if
        the response no longer takes pieces: cancelled, cut, ended)."""
        return []

    def reply_end(
        self, request: ReplyRequest, now: float, failure: ResponderError | None = None
    ) -> Events:
        """``request``'s reply has no more pieces; ``failure``: the responder failed, and the
        response ends ``failed`` with its code and message once what it said is out."""
        return []

    def reply_ready(self, request: ReplyRequest, material: ReplyMaterial, now: float) -> Events:
        """A reply computed whole: one piece, then the end."""
        return self.reply_piece(request, material.as_piece(), now) + self.reply_end(request, now)

    def wants_reply(self, request: ReplyRequest) -> bool:
        """Whether ``request``'s response still takes pieces (the I/O layer stops computing a
        reply that is no longer wanted)."""
        return False

    def fail_reply(self, request: ReplyRequest, now: float) -> Events:
        """``request``'s reply could not be scheduled (the I/O layer met a bug in
        :meth:`reply_piece`): its response ends ``failed``."""
        return []

    def take_transcriptions(self) -> list[TranscriptionRequest]:
        """The transcription jobs to run off the event loop (:func:`~.input_transcripts.
        run_transcriber`), each to come back via :meth:`transcription_ready`."""
        return self.transcripts.take()

    def transcription_ready(
        self, request: TranscriptionRequest, result: TranscriptionResult, now: float
    ) -> Events:
        """A job's transcript (or why there is none): the transcription events of the items
        waiting for it, in OpenAI's order, and what it changes (a response waiting for it)."""
        return self.route(self.from_parts(self.transcripts.ready(request, result)), now)

    def append_samples(self, samples: Int16Array, now: float) -> Events:
        """Append decoded input audio at the model's rate (what ``input_audio_buffer.append``
        does after base64 and format decoding; the VAD lab calls it directly)."""
        return self.route(self.from_parts(self.input.append_samples(samples)), now)

    @property
    def vad_pending(self) -> bool:
        """Turn decisions on the last append wait for the shared VAD batch (only with
        ``EngineOptions(detector=...)`` building detectors on a :class:`~.vad.WindowBatch`)."""
        return self.input.vad_pending

    def vad_ready(self, now: float) -> Events:
        """The batch has run: the rest of the last append's events (turns, a response). The
        engine also settles by itself before anything else it is asked, so a caller that never
        runs the batch gets the same events, only later."""
        return self.route(self.from_parts(self.input.resume()), now)

    def close(self) -> None:
        """Release what the session holds (its speech stream)."""
        self.input.close()

    # ---- client events ------------------------------------------------------------------------

    def receive(self, text: str | bytes | ReadFrame, now: float) -> Events:
        """Answer one client event: a JSON text frame, or one already read off the event loop
        (:func:`~.frames.read_frame`, for big frames). The one reader of every kind: a frame
        that is not JSON, not an object, or has no string ``type`` gets OpenAI's error (naming
        ``type``) in the kind's shape (:meth:`error`), a malformed event the kind's words for
        it (:meth:`parse_event`, :meth:`event_error`); nothing a client sends raises here."""
        self._events_in += 1
        # Decisions still waiting for the VAD batch come first.
        done: Events = self.route(self.from_parts(self.input.settle()), now)
        done += self.tick(now)
        if self.closed is not None:
            return done
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
            return [*done, self.error(message, "invalid_json")]
        if not isinstance(raw, dict):
            message = f"{UNPARSABLE_JSON} (local server: an event must be a JSON object.)"
            return [*done, self.error(message, "invalid_json")]
        client_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        kind = raw.get("type")
        if not isinstance(kind, str):
            if kind is None:  # (missing, or null)
                problem = ("Missing required parameter: 'type'.", "missing_required_parameter")
            else:
                problem = (
                    "Invalid type for 'type': expected a string, but got "
                    f"{json_type_name(kind)} instead.",
                    "invalid_type",
                )
            return [*done, self.error(*problem, "type", client_id)]
        if (
            self.refuses_beta_shape
            and kind == "session.update"
            and isinstance(raw.get("session"), dict)
            and self.options.dialect == "ga"
        ):
            session = raw["session"]
            if "type" not in session and _BETA_KEYS & set(session):
                self.closed = (4000, "beta_api_shape_disabled")
                return [
                    *done,
                    self.error(BETA_DISABLED, "beta_api_shape_disabled", None, client_id),
                ]
        try:
            event = self.parse_event(raw)
        except ValidationError as exc:
            return [*done, self.error_from(self.event_error(exc, raw))]
        refused = self.refuse(event)
        if refused is not None:
            return [*done, refused]
        return done + self.route(self._handle(event, now, images), now)

    def parse_event(self, raw: dict[str, Any]) -> Any:
        """The client event ``raw`` (a JSON object with a string ``type``) is, in this kind's
        union (the Realtime one here); raises pydantic's ValidationError for one that is
        malformed."""
        return ev.parse_client_event(raw)

    def event_error(self, exc: ValidationError, raw: dict[str, Any]) -> dict[str, Any]:
        """OpenAI's error detail for a client event :meth:`parse_event` refused."""
        return client_event_error(exc, raw)

    def _adopt(self, merged: ConfigT) -> Events:
        """An accepted ``session.update``: ``merged`` becomes the config, the input part
        follows it (a new format, the turn detection), and ``session.updated`` reports it."""
        previous = self.config
        assert not isinstance(previous, LiveConfig), "a Live session has no session.update of this"
        assert not isinstance(merged, LiveConfig)
        format_changed = merged.input_audio_format != previous.input_audio_format
        self.config = merged
        if format_changed:
            self.input.reset_format()
        self.input.sync_detector()
        return [self.out.event(self.session_updated, session=self.session_object())]

    def _missing_type(self, e: ev.SessionUpdate) -> Event | None:
        """OpenAI's error for a GA ``session.update`` without ``session.type``."""
        if "type" in e.session:
            return None
        return self.out.error(
            "Missing required parameter: 'session.type'.",
            "missing_required_parameter",
            "session.type",
            e.event_id,
        )
