"""What every kind of local session shares: the session's lifecycle around its parts.

:class:`EngineCore` holds the session's id and :class:`~.emitter.SessionEmitter` (ids, events,
errors), the clock and the expiry, and the input part (:mod:`.turns`), which every kind has. It
answers a client event by parsing it (OpenAI's errors for bad JSON, a beta-shaped update, a
malformed event) and dispatching it through :attr:`EngineCore.handlers`, a table keyed by event
class; what a handler returns (events and outcomes, :mod:`.outcomes`) goes through
:meth:`EngineCore.route`, which looks each outcome up in :attr:`EngineCore.routes`, the table
where each kind says what an outcome does to its other parts.

The kinds: :class:`~.engine.SessionEngine` (Realtime: input, conversation, responses, input
transcripts) and :class:`~.transcription_engine.TranscriptionEngine` (``intent=transcription``:
input and input transcripts). A new kind is a new subclass composing the parts it needs, with
its own handler and route tables; no part learns about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.errors import ProtocolError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.transcription_config import TranscriptionConfig
from realtime_widgets.server.emitter import Event, SessionEmitter
from realtime_widgets.server.errors import UNPARSABLE_JSON, client_event_error
from realtime_widgets.server.frames import ImageRead, ReadFrame
from realtime_widgets.server.input_transcripts import (
    InputTranscripts,
    TranscriptionRequest,
    TranscriptionResult,
)
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import Outcome, Step
from realtime_widgets.server.reply.material import ReplyMaterial, ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import FunctionCall, ResponderError
from realtime_widgets.server.turns import InputTurns

__all__ = ["BETA_DISABLED", "EngineCore", "Events", "Handler", "Route"]

Events = list[Event]
# A client event's handler: the parsed event and the time in; events and outcomes out.
Handler = Callable[[Any, float], Iterable[Step]]
# An outcome's route: the outcome and the time in; the events of what it caused out.
Route = Callable[[Any, float], "Events"]
ConfigT = TypeVar("ConfigT", SessionConfig, TranscriptionConfig)

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
        self.input = InputTurns(self.out, self._read_config, options.limits, options.detector)
        self.transcripts = InputTranscripts(
            self.out,
            self._read_config,
            options.transcriber,
            unavailable=options.transcriber_note,
            always=self.hears_always,
        )
        self.handlers: dict[type[ev.ClientEvent], Handler] = {}
        # Every outcome class the kind's parts return has exactly one route (a kind fills it).
        self.routes: dict[type[Outcome], Route] = {}

    def _read_config(self) -> ConfigT:
        """The effective config, for the parts (read-only: only the engine replaces it)."""
        return self.config

    # ---- what a kind decides ------------------------------------------------------------------

    def session_object(self) -> dict[str, Any]:
        """The ``session`` of ``session.created`` / ``session.updated``: the full effective
        config and nothing else. The SDK types it as the create request (no ``id``,
        ``object`` or ``expires_at``), and the wire carries only what the SDK models."""
        return self.config.to_session()

    def beta_config(self) -> SessionConfig:
        """The config the legacy beta shape reports (:mod:`.beta`)."""
        raise NotImplementedError

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
        return [self.out.event(ev.SessionCreated, session=self.session_object())]

    def next_due(self) -> float | None:
        """When :meth:`tick` has work next (a paced event, or the session's end)."""
        due = self._started_at + self.options.limits.max_duration_s
        paced = self._paced_due()
        return due if paced is None else min(due, paced)

    def tick(self, now: float) -> Events:
        """Release the events whose time has come; end the session at its maximum duration."""
        if self.closed is None and now >= self._started_at + self.options.limits.max_duration_s:
            self.closed = (1001, "session_expired")
            return [
                self.out.error(
                    "Your session hit the maximum duration of 60 minutes.",
                    "session_expired",
                    None,
                    None,
                )
            ]
        return self._release_due(now)

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
        return self.route(self.transcripts.ready(request, result), now)

    def append_samples(self, samples: Int16Array, now: float) -> Events:
        """Append decoded input audio at the model's rate (what ``input_audio_buffer.append``
        does after base64 and format decoding; the VAD lab calls it directly)."""
        return self.route(self.input.append_samples(samples), now)

    @property
    def vad_pending(self) -> bool:
        """Turn decisions on the last append wait for the shared VAD batch (only with
        ``EngineOptions(detector=...)`` building detectors on a :class:`~.vad.WindowBatch`)."""
        return self.input.vad_pending

    def vad_ready(self, now: float) -> Events:
        """The batch has run: the rest of the last append's events (turns, a response). The
        engine also settles by itself before anything else it is asked, so a caller that never
        runs the batch gets the same events, only later."""
        return self.route(self.input.resume(), now)

    def close(self) -> None:
        """Release what the session holds (its speech stream)."""
        self.input.close()

    # ---- client events ------------------------------------------------------------------------

    def receive(self, text: str | bytes | ReadFrame, now: float) -> Events:
        """Answer one client event: a JSON text frame, or one already read off the event loop
        (:func:`~.frames.read_frame`, for big frames)."""
        self._events_in += 1
        # Decisions still waiting for the VAD batch come first.
        done: Events = self.route(self.input.settle(), now)
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
            return [*done, self.out.error(message, "invalid_json", None, None)]
        if not isinstance(raw, dict):
            message = f"{UNPARSABLE_JSON} (local server: an event must be a JSON object.)"
            return [*done, self.out.error(message, "invalid_json", None, None)]
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
                    *done,
                    self.out.error(BETA_DISABLED, "beta_api_shape_disabled", None, client_id),
                ]
        try:
            event = ev.parse_client_event(raw)
        except ValidationError as exc:
            return [*done, self.out.error_from(client_event_error(exc, raw))]
        return done + self.route(self._handle(event, now, images), now)

    def _adopt(self, merged: ConfigT) -> Events:
        """An accepted ``session.update``: ``merged`` becomes the config, the input part
        follows it (a new format, the turn detection), and ``session.updated`` reports it."""
        format_changed = merged.input_audio_format != self.config.input_audio_format
        self.config = merged
        if format_changed:
            self.input.reset_format()
        self.input.sync_detector()
        return [self.out.event(ev.SessionUpdated, session=self.session_object())]

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
