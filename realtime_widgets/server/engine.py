"""The local server's session engine: sans-I/O, deterministic, testable with a fake clock.

Client events and the time go in; server events come out::

    engine = SessionEngine(model="gpt-realtime-1.5")
    out = engine.start(now=0.0)                     # [session.created]
    out = engine.receive(text, now=0.5)             # events answering one client event
    for request in engine.take_requests():          # replies to compute (responder + speech)
        out += engine.reply_piece(request, piece, now=0.6)   # each piece as it is ready...
        out += engine.reply_end(request, now=0.9)            # ...then the end
    out += engine.tick(now=1.0)                     # paced audio deltas, expiry

(``reply_ready(request, material, now)`` is a reply computed whole: one piece and the end.)
The websockets layer (:mod:`.pipeline`) runs the responder and speaks its reply clause by
clause off the event loop, so a slow responder never blocks other sessions and the first audio
goes out while the rest is still being spoken. Everything OpenAI's server enforces
that a client can observe is enforced here: the session.update rules with OpenAI's errors, the
100 ms commit minimum, one response at a time, the voice lock after assistant audio, frozen
tracing, the session's maximum duration.

:class:`SessionEngine` is the Realtime session: a composition of parts that each own their
state and never call each other (:mod:`.engine_core` has the lifecycle every kind shares):

- :mod:`.turns` (``self.input``): input audio, turn detection, idle timeout, commit and clear;
- :mod:`.conversation`: the items and ``conversation.item.*``;
- :mod:`.responses`: ``response.create`` / ``cancel``, a response's lifecycle, paced events;
- :mod:`.input_transcripts` (``self.transcripts``): what a recogniser heard in a turn.

It alone routes what one part's outcome means for another (its ``routes`` table):
a barge-in cancels the reply, a turn becomes an item and maybe a response, a transcript
becomes the item's text, a reply's audio locks the voice and grows its item, a finished reply
sets where the idle timeout counts from. :func:`engine_for` picks the kind a URL asks for
(``?intent=transcription``: :class:`~.transcription_engine.TranscriptionEngine`;
``/v1/live/sessions``: :class:`~.live_engine.LiveEngine`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.client_events import ResponseParams
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.wire import check_rules, check_transition, validate_session_payload
from realtime_widgets.server.conversation import Conversation
from realtime_widgets.server.engine_core import BETA_DISABLED, EngineCore, Events, Handler
from realtime_widgets.server.errors import config_error, transition_error
from realtime_widgets.server.frames import ImageRead
from realtime_widgets.server.live_engine import LiveEngine
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import (
    ReplyAudioSent,
    ReplyExtended,
    ReplyFinished,
    ReplyItemDone,
    ReplyScheduled,
    ResponseRequested,
    SpeechStarted,
    Step,
    TranscriptReady,
    TurnEnded,
    TurnsDecided,
    UserAudioStored,
)
from realtime_widgets.server.reply.material import ReplyMaterial, ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import (
    DEFAULT_INSTRUCTIONS,
    FunctionCall,
    ResponderError,
)
from realtime_widgets.server.responses import Responses
from realtime_widgets.server.transcription_engine import TranscriptionEngine
from realtime_widgets.server.translation_engine import TranslationEngine
from realtime_widgets.server.turns import MIN_COMMIT_MS

__all__ = [
    "BETA_DISABLED",
    "MIN_COMMIT_MS",
    "EngineOptions",
    "Handler",
    "Intent",
    "ReplyMaterial",
    "ReplyPiece",
    "ReplyRequest",
    "SessionEngine",
    "engine_for",
]

Intent = Literal["realtime", "transcription", "translation", "live"]


class SessionEngine(EngineCore[SessionConfig]):
    """One Realtime session's behaviour (see the module docstring)."""

    hears_always = True  # the model hears every turn, input transcription on or off

    def __init__(
        self,
        *,
        model: str = "gpt-realtime-1.5",
        options: EngineOptions | None = None,
        session_id: str = "sess_local",
    ) -> None:
        options = options or EngineOptions()
        config = SessionConfig(model=model, instructions=DEFAULT_INSTRUCTIONS)
        super().__init__(config, options=options, session_id=session_id)
        self.voice_locked = False  # assistant audio was sent: the voice may not change
        self.conversation = Conversation(self.out, self._read_config, options.limits)
        self.responses = Responses(self.out, self._read_config, options)
        # Every client event class has exactly one handler (tests/server checks the union).
        self.handlers = {
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
        self.routes.update(
            {
                SpeechStarted: self._barge_in,
                TurnEnded: self._turn_ended,
                TurnsDecided: self._turns_decided,
                UserAudioStored: self._user_audio_stored,
                TranscriptReady: self._transcript_ready,
                ResponseRequested: self._response_requested,
                ReplyScheduled: self._reply_scheduled,
                ReplyExtended: self._reply_extended,
                ReplyAudioSent: self._reply_audio_sent,
                ReplyItemDone: self._reply_item_done,
                ReplyFinished: self._reply_finished,
            }
        )
        self.input.sync_detector()

    def beta_config(self) -> SessionConfig:
        return self.config

    # ---- routing between the parts ------------------------------------------------------------

    # Each outcome a part returns, and what it means for the others (the only place parts
    # meet): the table EngineCore.route looks up.

    def _barge_in(self, o: SpeechStarted, now: float) -> Events:
        """Speech cancels a reply in the conversation when the session says so."""
        td = self.config.turn_detection
        r = self.responses.active
        if td is not None and td.interrupt_response and r is not None and r.in_conversation:
            return self.route(self.responses.cancel("turn_detected", now), now)
        return []

    def _turn_ended(self, o: TurnEnded, now: float) -> Events:
        """A committed turn becomes an item; after a detected turn or an idle timeout a
        response follows when the session says so."""
        out = self.route(self.conversation.commit_user_audio(o.item_id, o.audio, o.client_id), now)
        td = self.config.turn_detection
        if o.trigger == "idle_timeout" or (
            o.trigger == "turn_detected"
            and td is not None
            and td.create_response
            and self.responses.active is None
        ):
            out += self._create_response(None, now, trigger=o.trigger)
        return out

    def _turns_decided(self, o: TurnsDecided, now: float) -> Events:
        replying = self.responses.active is not None
        return self.route(self.input.after_turns(replying=replying), now)

    def _user_audio_stored(self, o: UserAudioStored, now: float) -> Events:
        return self.route(self.transcripts.commit(o.item_id, o.audio), now)

    def _transcript_ready(self, o: TranscriptReady, now: float) -> Events:
        """What the model heard (the item's transcript when announced); a response that
        waited for it may now be computed."""
        if o.text is not None:
            self.conversation.set_transcript(o.item_id, o.text, announced=o.announced)
        self.responses.heard(o.item_id, o.text)
        return []

    def _response_requested(self, o: ResponseRequested, now: float) -> Events:
        return self._create_response(
            o.params, now, trigger="response.create", client_id=o.client_id
        )

    def _reply_scheduled(self, o: ReplyScheduled, now: float) -> Events:
        self.conversation.add_reply(o)
        return []

    def _reply_extended(self, o: ReplyExtended, now: float) -> Events:
        self.conversation.extend_reply(o)
        return []

    def _reply_audio_sent(self, o: ReplyAudioSent, now: float) -> Events:
        self.voice_locked = True
        if o.item_id is not None and o.heard is not None:
            self.conversation.grow_reply_audio(o.item_id, o.heard)
        return []

    def _reply_item_done(self, o: ReplyItemDone, now: float) -> Events:
        self.conversation.end_reply(o.item_id, o.item, o.words_kept)
        return []

    def _reply_finished(self, o: ReplyFinished, now: float) -> Events:
        self.conversation.reply_ended()
        if o.in_conversation:
            # The idle timeout counts from where the listener stops hearing the reply.
            self.input.idle_from(self.input.input_ms + o.audio_left_ms)
        return []

    def _create_response(
        self,
        params: ResponseParams | None,
        now: float,
        *,
        trigger: str,
        client_id: str | None = None,
    ) -> Events:
        context = self.conversation.context_for(params.input if params is not None else None)
        steps = self.responses.create(
            params,
            context,
            now,
            trigger=trigger,
            input_ms=self.input.input_ms,
            client_id=client_id,
            unheard=self.transcripts.pending,
        )
        return self.route(steps, now)

    def _handle(
        self, event: ev.ClientEvent, now: float, images: dict[int, ImageRead]
    ) -> Iterable[Step]:
        if images and isinstance(event, ev.ConversationItemCreate):
            return self.conversation.on_create(event, now, images)
        return self.handlers[type(event)](event, now)

    # ---- replies ------------------------------------------------------------------------------

    def _paced_due(self) -> float | None:
        return self.responses.next_due

    def _release_due(self, now: float) -> Events:
        return self.route(self.responses.release_due(now), now)

    def take_requests(self) -> list[ReplyRequest]:
        return self.responses.take_requests()

    def reply_piece(
        self, request: ReplyRequest, piece: ReplyPiece | FunctionCall, now: float
    ) -> Events:
        steps = self.responses.add_piece(request, piece, now, previous=self.conversation.last_id)
        if steps is None:
            return []
        return self.route(steps, now) + self.tick(now)

    def reply_end(
        self, request: ReplyRequest, now: float, failure: ResponderError | None = None
    ) -> Events:
        steps = self.responses.end(request, now, failure, previous=self.conversation.last_id)
        if steps is None:
            return []
        return self.route(steps, now) + self.tick(now)

    def wants_reply(self, request: ReplyRequest) -> bool:
        return self.responses.wants(request)

    def fail_reply(self, request: ReplyRequest, now: float) -> Events:
        """``request``'s reply could not be scheduled (the I/O layer met a bug in
        :meth:`reply_piece` or :meth:`reply_end`): its response ends ``failed`` with a
        server_error at once, so the session is not left with a response in progress for
        ever (what was sent stays sent). Nothing if it has ended meanwhile."""
        return self.route(self.responses.fail(request.response_id, now), now)

    # ---- session.update -----------------------------------------------------------------------

    def _on_session_update(self, e: ev.SessionUpdate, now: float) -> Events:
        beta = self.options.dialect == "beta"
        missing = None if beta else self._missing_type(e)
        if missing is not None:
            return [missing]
        try:
            if beta:
                update = SessionConfig.from_session(e.session, dialect="beta")
            else:
                update = validate_session_payload(e.session)
            merged = self.config.updated_by(update)
            check_rules(merged, self.options.rules_dialect)
        except ConfigError as exc:
            return [self.out.error_from(config_error(exc, e.event_id))]
        try:
            # Only a change the live session refuses gets the "cannot change" wording.
            check_transition(
                self.config,
                merged,
                assistant_has_spoken=self.voice_locked,
                dialect=self.options.rules_dialect,
            )
        except ConfigError as exc:
            return [self.out.error_from(transition_error(exc, e.event_id))]
        return self._adopt(merged)


def engine_for(
    intent: Intent = "realtime",
    *,
    model: str = "gpt-realtime-1.5",
    options: EngineOptions | None = None,
    session_id: str = "sess_local",
) -> SessionEngine | TranscriptionEngine | TranslationEngine | LiveEngine:
    """The engine of the session kind a URL asks for: ``?intent=transcription``, the
    translations path (``translation``), GPT-Live (``/v1/live/sessions``: ``live``, whose model
    comes in ``session.start``), or a Realtime session."""
    if intent == "live":
        return LiveEngine(options=options, session_id=session_id)
    if intent == "transcription":
        return TranscriptionEngine(model=model, options=options, session_id=session_id)
    if intent == "translation":
        return TranslationEngine(model=model, options=options, session_id=session_id)
    return SessionEngine(model=model, options=options, session_id=session_id)
