"""A GPT-Live session (``/v1/live/sessions``, ``client.live.connect()``): its own composition.

:class:`LiveEngine` composes the parts every kind has, input (:mod:`.turns`: decoding, the
turn detector) and input transcripts (:mod:`.input_transcripts`: the server's recogniser, off
the loop), with GPT-Live's own output stream (:mod:`.live_output`), fed by the reply pipeline
(:mod:`.pipeline`: the responder, the chat responder when configured, and the voice). It reads
and writes GPT-Live's events (:mod:`realtime_widgets.protocol.live_events`, the SDK's unions);
the shared parts speak Realtime, so what they write passes :meth:`LiveEngine.from_parts`: an
error becomes a Live error, their turn events stay inside (GPT-Live reports none).

**The session.** The first client event must be ``session.start``; anything else before it gets
an ``error`` (``client_event_id`` when the event had an ``event_id``). ``session.started``
carries the complete session object (:meth:`LiveConfig.to_session_resource
<realtime_widgets.protocol.live_config.LiveConfig.to_session_resource>`). ``session.update``
changes only ``delegation`` and ``triggers``; a start-only field is refused with an error
naming it. What the local server cannot run is refused at start with an error naming the field
and what it supports, never pretended: ``responses`` and ``decisions`` delegation (no
Responses or Decisions backend), Decisions ``triggers``, ``store: true`` (nothing is stored).
``session.close`` answers ``session.usage.updated`` then ``session.closed`` (reason, the
complete session, the usage) and closes the socket (1000); the session's maximum duration ends
it the same way with reason ``expired`` (1001).

**Turns are the server's** (as at OpenAI, where the model owns turn-taking): the turn detector
runs with fixed settings (:data:`LIVE_TURN_DETECTION`, server VAD at its defaults; nothing on a
WebSocket session tunes it). Speech starting while the model's output is queued, being computed
or playing stops it (barge-in, the model's way: no truncate event; the rest is not sent, and the
context keeps the words the listener heard). A turn's transcript (one
``session.input_transcript.delta`` per turn, spanning the turn's audio, no done event) is what
the responder answers; a turn the recogniser made no words of is not answered.

**Steering.** ``session.input_audio.mute`` / ``unmute``: muted input is heard as silence (the
timeline goes on). ``session.output_audio.fixture.play``: up to :data:`MAX_FIXTURE_S` of 24 kHz
PCM16 replaces the model's speech, input muted while it plays (``fixture.playing`` at once,
``fixture.played`` when its last audio is out). ``session.commentary.append`` is said as it is
by the voice; ``session.thinking.append`` goes into the context silently (a system message);
``session.instructions.append`` is added to the instructions the responder sees. Each is
answered by its ``*.appended`` event, and is refused while a fixture plays or over
:data:`MAX_APPEND_TOKENS` tokens.

**Delegation to the client** (``delegation`` null or ``client``). The responder is given one
function tool, :data:`DELEGATE_TOOL` (``delegate``, with the task in words), and decides: a
chat responder's model calls it when a task needs the application; the default
:class:`~.reply.responder.LocalResponder` calls a tool whose name the user said (its rule for
every tool), so saying "delegate" hands the request over. A call emits
``session.delegation.created`` (target ``client``) and, unless the reply said something first
or the client answers within ``acknowledgement_delay_ms`` (0 by default), the voice says
:data:`ACKNOWLEDGEMENT`. The client answers the SDK's way: an append with the delegation's id.
``session.commentary.append`` (a result to say) puts it in the context as the call's output and
the responder replies from it; ``session.thinking.append`` puts it there silently; an
``instructions.append`` with the id adds instructions. Any commentary or thinking cancels the
pending acknowledgements.

**Usage** (``session.usage.updated``, every :data:`USAGE_INTERVAL_S` seconds of session time
and at close; cumulative, whole seconds from ``session.started``): ``seconds`` only. The SDK's
``SessionUsage``: "Eligible WebRTC sessions also report the active and paused breakdown", and
paused time is inference paused by a WebRTC session's idle timeout ("the idle timeout pauses
inference in a Live WebRTC session": ``wake_policy`` and ``idle_timeout_s``, media sessions
only), which a WebSocket session has not; a mute sends silence, and the seconds go on. So a
WebSocket session reports no ``active_seconds`` or ``paused_seconds``, as OpenAI's does not.
``context_window.usage_ratio`` is the context's tokens (the local estimate) over
``ServerLimits.context_tokens``; past that the oldest context is dropped, as Live compacts.

**The session timeline** (``start_ms``, ``end_ms``, ``offset_ms``): milliseconds since
``session.started`` on the server's clock; an input transcript spans its turn on the input
audio's timeline (milliseconds of audio received since the start), the same when the client
streams in real time, as a Live client does.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ValidationError

from realtime_widgets.audio.pcm import Int16Array, bytes_to_int16
from realtime_widgets.audio.rate import MODEL_RATE, samples_to_ms
from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import live_events as live
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.live_config import LiveConfig
from realtime_widgets.protocol.live_parts import ClientDelegation, LiveAudioFormat
from realtime_widgets.protocol.parts import BUILTIN_VOICES, FunctionTool, ServerVad
from realtime_widgets.server.emitter import Event, LiveEmitter
from realtime_widgets.server.engine_core import EngineCore, Events
from realtime_widgets.server.errors import config_error, problem_error
from realtime_widgets.server.input_transcripts import (
    NO_TRANSCRIBER,
)
from realtime_widgets.server.live_output import LiveOutput, UtteranceKind
from realtime_widgets.server.options import EngineOptions
from realtime_widgets.server.outcomes import (
    OutputSpoken,
    SpeechStarted,
    Step,
    StepStream,
    TranscriptReady,
    TurnEnded,
    TurnsDecided,
)
from realtime_widgets.server.reply.material import NO_SYNTHESISER, ReplyPiece, ReplyRequest
from realtime_widgets.server.reply.responder import FunctionCall, ReplyContext, ResponderError
from realtime_widgets.server.reply.usage import estimate_text_tokens, item_text_tokens
from realtime_widgets.server.turns import TURN_EVENTS, InputSettings, WireFormat

__all__ = [
    "ACKNOWLEDGEMENT",
    "DELEGATE_TOOL",
    "LIVE_TURN_DETECTION",
    "MAX_APPEND_TOKENS",
    "MAX_FIXTURE_S",
    "USAGE_INTERVAL_S",
    "LiveEngine",
]

# The server's own turn detection: server VAD at its defaults (threshold 0.5, 300 ms of prefix,
# 500 ms of silence). A WebSocket Live session has no setting for it.
LIVE_TURN_DETECTION = ServerVad()
# How often session.usage.updated goes out (seconds of session time); OpenAI documents none.
USAGE_INTERVAL_S = 5.0
# "at most 30 seconds" of 24 kHz PCM16 (output_audio_fixture_play_event.py).
MAX_FIXTURE_S = 30.0
MAX_FIXTURE_BYTES = int(MAX_FIXTURE_S * MODEL_RATE) * 2
# "limited to 500 tokens" (commentary, thinking and instructions appends; by the local estimate).
MAX_APPEND_TOKENS = 500
# The tool the responder may call to hand a task to the client (module docstring).
DELEGATE_TOOL = FunctionTool(
    name="delegate",
    description=(
        "Hand a task you cannot do yourself (looking something up, acting in the user's "
        "application) to the application. Its answer comes back as this tool's output."
    ),
    parameters={
        "type": "object",
        "properties": {"task": {"type": "string", "description": "The task, in the user's words."}},
        "required": ["task"],
    },
)
# What the voice says when a task is delegated and nothing else is said in time.
ACKNOWLEDGEMENT = "One moment, I am looking into that."
# What the input and input-transcript parts read: fixed turn detection, no transcription events
# of Realtime's (a Live session writes its own transcript deltas).
_HEARING = SessionConfig(turn_detection=LIVE_TURN_DETECTION)
_AppendEvent = live.CommentaryAppendEvent | live.ThinkingAppendEvent | live.InstructionsAppendEvent
_NO_BACKEND = {"responses": "Responses", "decisions": "Decisions"}


class _Say:
    """A responder that says ``text`` as it is (commentary, an acknowledgement)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, ctx: ReplyContext) -> str:
        return self.text


@dataclass
class _Turn:
    """A user turn being transcribed: its span on the input timeline (ms) and its audio."""

    start_ms: int
    end_ms: int
    audio: Int16Array


class LiveEngine(EngineCore[LiveConfig]):
    """One GPT-Live session's behaviour (see the module docstring)::

    engine = LiveEngine(options=EngineOptions(...))
    engine.start(now)                      # [] (nothing until session.start)
    engine.receive(text, now)              # session.started, errors, *.appended, ...
    engine.take_requests() / reply_piece() / reply_end()   # replies, commentary
    engine.take_transcriptions() / transcription_ready()   # what was heard
    engine.tick(now)                       # paced output, acknowledgements, usage, expiry
    """

    kind: ClassVar[str] = "live_session"
    hears_always = True  # every turn is transcribed: the responder answers what it heard
    refuses_beta_shape = False  # (its session.update has no "type": there is no beta shape)

    def __init__(
        self, *, options: EngineOptions | None = None, session_id: str = "sess_local"
    ) -> None:
        super().__init__(LiveConfig(), options=options or EngineOptions(), session_id=session_id)
        self.live = LiveEmitter(self.out)
        self.output = LiveOutput(self.live, self._audio_format, self.options, self._position)
        self.started = False
        self.live_start = 0.0  # clock time of session.started: the session timeline's 0
        self.muted = False
        self.fixture: str | None = None  # the fixture playing (the input is silenced meanwhile)
        self.requests: deque[ReplyRequest] = deque()
        # What the responder sees: items in the Realtime GA shape (append-only, the oldest
        # dropped past ServerLimits.context_tokens), what was heard in each user turn, the
        # instructions appended, and the assistant items still being said (key -> item).
        self.context: list[dict[str, Any]] = []
        self.heard: dict[str, str] = {}
        self.appended_instructions: list[str] = []
        self._said: dict[str, dict[str, Any]] = {}
        self._spoke: set[str] = set()  # replies that said a word (no acknowledgement then)
        self._turn_starts: dict[str, int] = {}
        self._turns: dict[str, _Turn] = {}
        self._last_turn: tuple[str | None, _Turn] | None = None
        self.delegations: set[str] = set()
        self.acks: list[tuple[float, str]] = []  # (due, delegation id) acknowledgements
        self._next_usage: float | None = None
        self._heard_a_word = False
        self._told: set[str] = set()  # info codes said once per session
        self._view = _HEARING  # the Realtime view of the config a responder reads
        self.handlers = {
            live.SessionStartEvent: self._on_start,
            live.SessionUpdateEvent: self._on_update,
            live.InputAudioAppendEvent: self._on_append,
            live.InputAudioMuteEvent: self._on_mute,
            live.InputAudioUnmuteEvent: self._on_unmute,
            live.OutputAudioFixturePlayEvent: self._on_fixture,
            live.InstructionsAppendEvent: self._on_instructions,
            live.ThinkingAppendEvent: self._on_thinking,
            live.CommentaryAppendEvent: self._on_commentary,
            live.DecisionCreateEvent: self._no_backend,
            live.DecisionItemCreateEvent: self._no_backend,
            live.DecisionItemDeleteEvent: self._no_backend,
            live.ResponseItemCreateEvent: self._no_backend,
            live.ResponseCreateEvent: self._no_backend,
            live.SessionCloseEvent: self._on_close,
        }
        self.routes.update(
            {
                SpeechStarted: self._barge_in,
                TurnEnded: self._turn_ended,
                TurnsDecided: self._turns_decided,
                TranscriptReady: self._transcript_ready,
                OutputSpoken: self._spoken,
            }
        )

    # ---- what the shared parts read, and what they write ----------------------------------------

    def _part_settings(self) -> InputSettings:
        return _HEARING

    def _wire_format(self) -> Callable[[], WireFormat]:
        return lambda: (self.config.audio_format.type, self.config.audio_format.rate)

    def _audio_format(self) -> LiveAudioFormat:
        return self.config.audio_format

    def from_parts(self, steps: Iterable[Step]) -> StepStream:
        """The shared parts' steps in Live's words: their errors as Live errors (already
        counted), their turn events kept inside, outcomes as they are."""
        for step in steps:
            if not isinstance(step, dict):
                yield step
            elif step["type"] == "error":
                yield self.error_from(step["error"], counted=False)
            elif step["type"] not in TURN_EVENTS:
                raise AssertionError(f"a Realtime event reached a Live session: {step['type']}")

    def error(
        self, message: str, code: str, param: str | None = None, client_id: str | None = None
    ) -> Event:
        return self.live.error(message, code, param, client_id)

    def error_from(self, detail: dict[str, Any], *, counted: bool = True) -> Event:
        """A Realtime-shaped error detail (:mod:`.errors`) as a Live error: its
        ``event_id`` becomes ``client_event_id``. ``counted``: False for one a shared part
        already counted."""
        return self.live.error(
            detail["message"],
            detail.get("code") or "invalid_value",
            detail.get("param"),
            detail.get("event_id"),
            type_=detail.get("type") or "invalid_request_error",
            counted=counted,
        )

    def failure_event(self, message: str, event_id: str) -> Event:
        return self.live.error(
            message, "server_error", type_="server_error", counted=False, event_id=event_id
        )

    def parse_event(self, raw: dict[str, Any]) -> live.LiveClientEvent:
        return live.parse_live_client_event(raw)

    def event_error(self, exc: ValidationError, raw: dict[str, Any]) -> dict[str, Any]:
        return problem_error(live.live_client_event_problem(exc, raw), raw)

    def refuse(self, event: live.LiveClientEvent) -> Event | None:
        """Nothing but ``session.start`` before the session has started."""
        if self.started or isinstance(event, live.SessionStartEvent):
            return None
        message = (
            f"The session has not started: the first event of a Live session is "
            f"session.start (with its model and settings), not '{event.type}'."
        )
        return self.live.error(message, "session_not_started", "type", event.event_id)

    def session_object(self) -> dict[str, Any]:
        """The complete session (SessionResource): id, expiry, model, status, settings."""
        return self.config.to_session_resource(
            session_id=self.session_id, expires_at=self._expires_at
        )

    def _position(self, clock: float) -> int:
        """Milliseconds on the session timeline at clock time ``clock``."""
        return max(0, round((clock - self.live_start) * 1000))

    # ---- the lifecycle -------------------------------------------------------------------------

    def start(self, now: float) -> Events:
        """The connection is open: nothing is said until the client's ``session.start``."""
        self._started_at = now
        self._expires_at = int(self.options.wall_clock() + self.options.limits.max_duration_s)
        return []

    def _paced_due(self) -> float | None:
        """The output's next event, the next acknowledgement, the next usage report."""
        due = [t for t, _ in self.acks]
        if self.output.next_due is not None:
            due.append(self.output.next_due)
        if self._next_usage is not None:
            due.append(self._next_usage)
        return min(due, default=None)

    def _expired(self, now: float) -> Events:
        """The maximum duration: ``session.closed`` (reason ``expired``) once started, else
        OpenAI's error."""
        if not self.started:
            return super()._expired(now)
        return self._closing(now, "expired", None)

    def _release_due(self, now: float) -> Events:
        """The output's events whose time has come, acknowledgements due, the periodic
        usage."""
        out = self.route(self.output.release_due(now), now)
        due = [d for t, d in self.acks if t <= now]
        if due:
            self.acks = [(t, d) for t, d in self.acks if t > now]
            self._say(ACKNOWLEDGEMENT, "acknowledgement")
        if self._next_usage is not None and now >= self._next_usage:
            out.append(self._usage_event(now))
            while self._next_usage <= now:
                self._next_usage += USAGE_INTERVAL_S
        return out

    def _closing(self, now: float, reason: str, client_id: str | None) -> Events:
        """The last usage and ``session.closed``; nothing more goes out."""
        self.route(self.output.stop(now), now)  # (what it cut is not said any more)
        self.requests.clear()
        self.acks.clear()
        usage = self._usage_event(now)
        closed = self.live.event(
            live.SessionClosedEvent,
            reason=reason,
            session=self.session_object(),
            usage=usage["usage"],
            client_event_id=client_id,
        )
        self._next_usage = None
        return [usage, closed]

    # ---- session.start, session.update, session.close -------------------------------------------

    def _refusal(self, config: LiveConfig, client_id: str | None) -> Event | None:
        """An error for what the local server cannot run (never pretended), or None."""
        d = config.delegation
        if d is not None and d.type != "client":
            return self.live.error(
                f"The local server cannot run '{d.type}' delegation: it has no "
                f"{_NO_BACKEND[d.type]} backend. It supports delegation null or "
                "{'type': 'client'}: your application handles session.delegation.created "
                "and answers with session.commentary.append (or thinking) and its "
                "delegation_id.",
                "invalid_value",
                "session.delegation.type",
                client_id,
            )
        if config.triggers:
            return self.live.error(
                "The local server cannot run Decisions triggers: it has no Decisions backend. "
                "Send no triggers (or [] to switch them off).",
                "invalid_value",
                "session.triggers",
                client_id,
            )
        if config.store:
            return self.live.error(
                "The local server stores no session (no recording download, no forking): "
                "send store false or leave it out.",
                "invalid_value",
                "session.store",
                client_id,
            )
        return None

    def _config_problem(self, exc: ConfigError, client_id: str | None) -> Event:
        return self.error_from(config_error(exc, client_id))

    def _on_start(self, e: live.SessionStartEvent, now: float) -> Events:
        if self.started:
            return [
                self.live.error(
                    "The session has already started: session.start comes once, first. Use "
                    "session.update to change delegation or triggers.",
                    "session_already_started",
                    "type",
                    e.event_id,
                )
            ]
        try:
            config = LiveConfig.validate_start_payload(e.session)
        except ConfigError as exc:
            return [self._config_problem(exc, e.event_id)]
        refusal = self._refusal(config, e.event_id)
        if refusal is not None:
            return [refusal]
        self.config = config
        self.started = True
        self.live_start = now
        self._next_usage = now + USAGE_INTERVAL_S
        self.input.sync_detector()
        voice = self._voice_name()
        self._view = SessionConfig(
            model=config.model,
            turn_detection=LIVE_TURN_DETECTION,
            tools=[DELEGATE_TOOL],
            tool_choice="auto",
            voice=voice if voice in BUILTIN_VOICES else "marin",
        )
        for item in config.input or []:
            text = item.content[0].text
            if item.role == "assistant":
                self._remember(_message("assistant", "output_text", text))
            else:
                role = "system" if item.role == "developer" else "user"
                self._remember(_message(role, "input_text", text))
        started = self.live.event(
            live.SessionStartedEvent, session=self.session_object(), client_event_id=e.event_id
        )
        return [started]

    def _on_update(self, e: live.SessionUpdateEvent, now: float) -> Events:
        try:
            merged = self.config.updated_by(LiveConfig.validate_update_payload(e.session))
        except ConfigError as exc:
            return [self._config_problem(exc, e.event_id)]
        refusal = self._refusal(merged, e.event_id)
        if refusal is not None:
            return [refusal]
        self.config = merged
        return [
            self.live.event(
                live.SessionUpdatedEvent, session=self.session_object(), client_event_id=e.event_id
            )
        ]

    def _on_close(self, e: live.SessionCloseEvent, now: float) -> Events:
        out = self._closing(now, "close_requested", e.event_id)
        self.closed = (1000, "session closed")
        return out

    def _no_backend(self, e: live.LiveClientEvent, now: float) -> Events:
        """Decisions and Responses delegation events: the local server runs neither."""
        return [
            self.live.error(
                f"The local server cannot answer '{e.type}': it needs a Responses or Decisions "
                "backend, which the local server does not have (it runs delegation null or "
                "'client' only, and no triggers).",
                "invalid_value",
                "type",
                e.event_id,
            )
        ]

    # ---- usage ----------------------------------------------------------------------------------

    def _usage(self, now: float) -> dict[str, Any]:
        """Cumulative whole seconds since session.started; no active/paused breakdown (a
        WebSocket session's report: module docstring)."""
        return {"seconds": float(int(max(0.0, now - self.live_start)))}

    def _usage_event(self, now: float) -> Event:
        ratio = self._context_tokens() / self.options.limits.context_tokens
        return self.live.event(
            live.SessionUsageUpdatedEvent,
            usage=self._usage(now),
            context_window={"usage_ratio": round(min(ratio, 1.0), 6)},
        )

    # ---- input audio --------------------------------------------------------------------------

    def _on_append(self, e: live.InputAudioAppendEvent, now: float) -> StepStream:
        return self.from_parts(self.input.on_append(e, now))

    def _on_mute(self, e: live.InputAudioMuteEvent, now: float) -> Events:
        self.muted = True
        self.input.silenced = True
        return [self.live.event(live.InputAudioMutedEvent, client_event_id=e.event_id)]

    def _on_unmute(self, e: live.InputAudioUnmuteEvent, now: float) -> Events:
        self.muted = False
        self.input.silenced = self.fixture is not None
        return [self.live.event(live.InputAudioUnmutedEvent, client_event_id=e.event_id)]

    # ---- turns and what was heard ---------------------------------------------------------------

    def _barge_in(self, o: SpeechStarted, now: float) -> Events:
        """Speech: the model stops what it is saying or about to say."""
        self._turn_starts[o.item_id] = o.audio_start_ms
        self.requests.clear()
        return self.route(self.output.stop(now), now)

    def _turns_decided(self, o: TurnsDecided, now: float) -> Events:
        return self.route(self.from_parts(self.input.after_turns(replying=False)), now)

    def _turn_ended(self, o: TurnEnded, now: float) -> Events:
        heard_from = int(self.input.input_ms - samples_to_ms(len(o.audio)))
        start = self._turn_starts.pop(o.item_id, heard_from)
        turn = _Turn(start, start + round(samples_to_ms(len(o.audio))), o.audio)
        if not self.transcripts.enabled:  # no recogniser: the turn is answered unheard
            out = self._tell_once(
                "input_transcription_unavailable",
                "The local server has no speech recogniser"
                + (f" ({self.options.transcriber_note})" if self.options.transcriber_note else "")
                + ", so it sends no input transcript and its replies cannot say what was said. "
                + NO_TRANSCRIBER,
            )
            self._last_turn = (None, turn)
            self._remember({**_message("user", "input_audio", None), "id": o.item_id})
            return out + self._reply("turn_detected")
        self._turns[o.item_id] = turn
        return self.route(self.from_parts(self.transcripts.commit(o.item_id, o.audio)), now)

    def _transcript_ready(self, o: TranscriptReady, now: float) -> Events:
        """A turn's transcript: its delta, then the responder's reply to it."""
        turn = self._turns.pop(o.item_id, None)
        if turn is None:
            return []
        if o.text is None:
            return [
                self.live.error(
                    f"The local server could not transcribe a turn ({o.why or 'no reason given'}); "
                    "it is not answered.",
                    "input_transcription_failed",
                    type_="server_error",
                )
            ]
        text = o.text.strip()
        if not text:
            return []  # the recogniser made out no words: a sound, not a turn to answer
        delta = f" {text}" if self._heard_a_word else text
        self._heard_a_word = True
        event = self.live.event(
            live.InputTranscriptDeltaEvent,
            delta=delta,
            start_ms=turn.start_ms,
            end_ms=turn.end_ms,
        )
        self.heard[o.item_id] = text
        self._last_turn = (text, turn)
        self._remember({**_message("user", "input_audio", text), "id": o.item_id})
        return [event, *self._reply("turn_detected")]

    # ---- the context ----------------------------------------------------------------------------

    def _remember(self, item: dict[str, Any]) -> dict[str, Any]:
        """Append ``item`` to the context; past ``ServerLimits.context_tokens`` the oldest
        items go (the newest always stays)."""
        item.setdefault("id", self.live.new_id("item"))
        self.context.append(item)
        budget = self.options.limits.context_tokens
        # Counted once, then less each item that goes (it was counted over the whole context
        # again for every item dropped: quadratic in a long session).
        tokens = self._context_tokens()
        while len(self.context) > 1 and tokens > budget:
            gone = self.context.pop(0)
            tokens -= item_text_tokens(gone)
            self.heard.pop(str(gone["id"]), None)
        return item

    def _context_tokens(self) -> int:
        instructions = estimate_text_tokens(self._instructions() or "")
        return instructions + sum(item_text_tokens(item) for item in self.context)

    def _instructions(self) -> str | None:
        parts = [self.config.instructions or "", *self.appended_instructions]
        joined = "\n\n".join(p.strip() for p in parts if p.strip())
        return joined or None

    def _reply_context(self, trigger: str) -> ReplyContext:
        last = self._last_turn
        newest = self.context[-1] if self.context else {}
        tool = None
        if newest.get("type") == "function_call_output":
            tool = (DELEGATE_TOOL.name, str(newest.get("output", "")))
        return ReplyContext(
            config=self._view,
            conversation=copy.deepcopy(self.context),
            instructions=self._instructions(),
            last_user_text=None if last is None else last[0],
            last_user_speech_ms=None if last is None else samples_to_ms(len(last[1].audio)),
            last_user_audio=None if last is None else last[1].audio,
            last_tool_output=tool,
            trigger=trigger,
            measurements={"input_ms": self.input.input_ms, "turn_detection": "server_vad"},
            transcripts=dict(self.heard),
            voice_name=self._voice_name(),
        )

    def _voice_name(self) -> str:
        voice = self.config.voice
        return voice if isinstance(voice, str) else voice.id

    # ---- what the model says ----------------------------------------------------------------

    def _request(self, kind: UtteranceKind, trigger: str, responder: _Say | None) -> ReplyRequest:
        key = self.live.new_id("out")
        voice = self.config.voice
        request = ReplyRequest(
            key,
            self._reply_context(trigger),
            ["audio"],
            voice if isinstance(voice, str) else "marin",
            1.0,
            responder=responder,
        )
        self.output.open(key, kind)
        self._said[key] = self._remember(_message("assistant", "output_audio", ""))
        self.requests.append(request)
        return request

    def _reply(self, trigger: str) -> Events:
        """The responder answers the context as it stands."""
        self._request("reply", trigger, None)
        return []

    def _say(self, text: str, kind: UtteranceKind) -> None:
        """The voice says ``text`` as it is (commentary, an acknowledgement)."""
        self._request(kind, kind, _Say(text))

    def take_requests(self) -> list[ReplyRequest]:
        taken = [r for r in self.requests if self.output.wants(r.response_id)]
        self.requests.clear()
        return taken

    def wants_reply(self, request: ReplyRequest) -> bool:
        return self.output.wants(request.response_id)

    def reply_piece(
        self, request: ReplyRequest, piece: ReplyPiece | FunctionCall, now: float
    ) -> Events:
        key = request.response_id
        if not self.output.wants(key):
            return []
        out: Events = []
        if isinstance(piece, FunctionCall):
            out += self._delegate(request, piece, now)
        else:
            if piece.speech is None and piece.note:
                out += self._tell_once(
                    "output_audio_unavailable",
                    f"The local server's speech has no audio: {NO_SYNTHESISER}. Install the "
                    "'voice' extra (Piper) or eSpeak NG for session.output_audio.delta.",
                )
            if piece.text.strip():
                self._spoke.add(key)
            self.output.add(key, piece, now)
        return out + self.tick(now)

    def reply_end(
        self, request: ReplyRequest, now: float, failure: ResponderError | None = None
    ) -> Events:
        key = request.response_id
        if not self.output.wants(key):
            return []
        self.output.end(key, now)
        out: Events = []
        if failure is not None:
            out.append(
                self.live.error(
                    f"The local server's responder could not answer: {failure.message}",
                    failure.code,
                    type_=failure.type,
                )
            )
        return out + self.tick(now)

    def fail_reply(self, request: ReplyRequest, now: float) -> Events:
        self.output.end(request.response_id, now)
        return [
            self.live.error(
                "The local server failed while scheduling what the model says.",
                "server_error",
                type_="server_error",
            )
        ]

    def _spoken(self, o: OutputSpoken, now: float) -> Events:
        """An utterance left the output: the context keeps what the listener heard of it; a
        fixture's end unmutes the input (``fixture.played`` when it played whole)."""
        self._spoke.discard(o.key)
        item = self._said.pop(o.key, None)
        if item is not None:
            item["content"] = [{"type": "output_audio", "transcript": o.text}]
        if o.kind != "fixture" or o.key != self.fixture:
            return []
        self.fixture = None
        self.input.silenced = self.muted
        if not o.complete:
            return []
        return [self.live.event(live.OutputAudioFixturePlayedEvent, client_event_id=o.client_id)]

    def _tell_once(self, code: str, message: str) -> Events:
        if code in self._told:
            return []
        self._told.add(code)
        return [self.live.event(live.InfoEvent, code=code, message=message)]

    # ---- delegation -----------------------------------------------------------------------------

    def _delegate(self, request: ReplyRequest, call: FunctionCall, now: float) -> Events:
        """The responder handed a task to the client: ``session.delegation.created``, the call
        in the context, and an acknowledgement unless the reply said something first."""
        key = request.response_id
        said = key in self._spoke
        self.output.end(key, now)
        delegation_id = self.live.new_id("deleg")
        self.delegations.add(delegation_id)
        self._remember(
            {
                "type": "function_call",
                "call_id": delegation_id,
                "name": call.name,
                "arguments": call.arguments_json(),
                "status": "completed",
            }
        )
        if not said:
            d = self.config.delegation
            delay = d.acknowledgement_delay_ms if isinstance(d, ClientDelegation) else None
            self.acks.append((now + (delay or 0) / 1000, delegation_id))
        return [
            self.live.event(
                live.DelegationCreatedEvent,
                delegation={"type": "delegation", "id": delegation_id, "target": "client"},
                offset_ms=self._position(now),
            )
        ]

    # ---- appends -----------------------------------------------------------------------------

    def _append_problem(self, e: _AppendEvent) -> Event | None:
        if self.fixture is not None:
            return self.live.error(
                f"'{e.type}' is rejected while an audio fixture is active; send it after "
                "session.output_audio.fixture.played.",
                "fixture_active",
                "type",
                e.event_id,
            )
        tokens = estimate_text_tokens(e.content)
        if tokens > MAX_APPEND_TOKENS:
            return self.live.error(
                f"Invalid 'content': about {tokens} tokens (the local estimate, four characters "
                f"a token); {e.type} takes at most {MAX_APPEND_TOKENS}.",
                "invalid_value",
                "content",
                e.event_id,
            )
        if e.delegation_id is not None and e.delegation_id not in self.delegations:
            return self.live.error(
                f"Invalid 'delegation_id': this session has no delegation "
                f"'{e.delegation_id}' (the ids come in session.delegation.created).",
                "invalid_value",
                "delegation_id",
                e.event_id,
            )
        return None

    def _appended(
        self, kind: type[live.LiveServerEvent], client_id: str | None, now: float
    ) -> Event:
        at = self._position(now)
        return self.live.event(kind, start_ms=at, end_ms=at, client_event_id=client_id)

    def _answer(self, delegation_id: str, content: str) -> None:
        """The client's answer to a delegation, as the call's output in the context."""
        self._remember(
            {"type": "function_call_output", "call_id": delegation_id, "output": content}
        )

    def _on_commentary(self, e: live.CommentaryAppendEvent, now: float) -> Events:
        problem = self._append_problem(e)
        if problem is not None:
            return [problem]
        self.acks.clear()
        if e.delegation_id is not None:  # a delegation's result: the responder says it
            self._answer(e.delegation_id, e.content)
            self._reply("delegation")
        else:
            self._say(e.content, "commentary")
        return [self._appended(live.CommentaryAppendedEvent, e.event_id, now)]

    def _on_thinking(self, e: live.ThinkingAppendEvent, now: float) -> Events:
        problem = self._append_problem(e)
        if problem is not None:
            return [problem]
        self.acks.clear()
        if e.delegation_id is not None:
            self._answer(e.delegation_id, e.content)
        else:
            self._remember(_message("system", "input_text", e.content))
        return [self._appended(live.ThinkingAppendedEvent, e.event_id, now)]

    def _on_instructions(self, e: live.InstructionsAppendEvent, now: float) -> Events:
        problem = self._append_problem(e)
        if problem is not None:
            return [problem]
        self.appended_instructions.append(e.content)
        budget = self.options.limits.context_tokens
        while (
            len(self.appended_instructions) > 1
            and estimate_text_tokens("".join(self.appended_instructions)) > budget
        ):
            self.appended_instructions.pop(0)
        return [self._appended(live.InstructionsAppendedEvent, e.event_id, now)]

    # ---- fixtures -----------------------------------------------------------------------------

    def _on_fixture(self, e: live.OutputAudioFixturePlayEvent, now: float) -> Events:
        if self.fixture is not None:
            return [
                self.live.error(
                    "Only one fixture can be active: wait for "
                    "session.output_audio.fixture.played before playing another.",
                    "fixture_active",
                    "type",
                    e.event_id,
                )
            ]
        limit = (
            f"at most {MAX_FIXTURE_S:g} s of raw mono PCM16 at 24 kHz "
            f"({MAX_FIXTURE_BYTES:,} bytes, no WAV header)"
        )
        data = b""
        problem = None
        if len(e.audio) > -(-(MAX_FIXTURE_BYTES + MODEL_RATE * 2) // 3) * 4:  # (> 31 s)
            problem = f"Invalid 'audio': the fixture is longer than the limit: {limit}."
        else:
            try:
                data = base64.b64decode(e.audio, validate=True)
            except (binascii.Error, ValueError):
                problem = f"Invalid 'audio'. Expected base64-encoded audio: {limit}."
        if problem is None and not data:
            problem = f"Invalid 'audio': the fixture is empty; it takes {limit}."
        elif problem is None and len(data) % 2:
            problem = (
                f"Invalid 'audio': {len(data):,} bytes is not whole PCM16 samples (two bytes "
                f"each); a fixture is {limit}."
            )
        elif problem is None and len(data) > MAX_FIXTURE_BYTES:
            seconds = len(data) / 2 / MODEL_RATE
            problem = f"Invalid 'audio': the fixture is {seconds:.1f} s; a fixture is {limit}."
        if problem is not None:
            return [self.live.error(problem, "invalid_value", "audio", e.event_id)]
        out = self.route(self.output.stop(now), now)  # the model's speech is interrupted
        self.requests.clear()
        key = self.live.new_id("fixture")
        self.fixture = key
        self.input.silenced = True
        self.output.open(key, "fixture", e.event_id)
        self.output.add(key, bytes_to_int16(data).copy(), now)
        self.output.end(key, now)
        out.append(self.live.event(live.OutputAudioFixturePlayingEvent, client_event_id=e.event_id))
        return out + self.tick(now)

    # ---- the legacy beta shape (GPT-Live has none) --------------------------------------------

    def beta_config(self) -> SessionConfig:
        raise NotImplementedError("GPT-Live has no beta shape")


def _message(role: str, part: str, text: str | None) -> dict[str, Any]:
    """A message item of the context (the Realtime GA shape the responders read)."""
    key = "transcript" if part.endswith("audio") else "text"
    return {"type": "message", "role": role, "content": [{"type": part, key: text}]}
