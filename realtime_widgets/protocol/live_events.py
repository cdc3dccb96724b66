"""Client and server events of GPT-Live (``/v1/live/sessions``), and their JSON codec.

One model per event of the SDK's unions (``openai/types/live/client_event.py``, 15 events, and
``server_event.py``), named as the SDK names them and with its fields. The rules are
:mod:`.events`' for Realtime:

- client events reject unknown keys (what we send must validate against the SDK's types);
  ``session.start`` and ``session.update`` keep their ``session`` as a dict, judged by
  :class:`~.live_config.LiveConfig`'s strict readers, as Realtime's ``session.update`` is;
- server events keep unknown keys (a newer server may add fields), and an unknown ``type`` or
  a known one in a shape this version cannot read becomes an :class:`UnknownServerEvent` with
  ``problem`` set, never an exception.

Shapes that differ from Realtime: ``session.output_audio.delta`` has no ``event_id``; server
events link to the client's event through ``client_event_id``; the session object of
``session.started`` / ``updated`` / ``closed`` is a :class:`SessionResource` (``id``,
``expires_at``, ``model``, ``status`` required; its settings read by
:meth:`LiveConfig.from_session <.live_config.LiveConfig.from_session>`).

``parse_live_server_event``, ``parse_live_client_event`` and ``encode`` are the codec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
)

from realtime_widgets.errors import FieldProblem
from realtime_widgets.protocol.client_events import (
    MAX_JSON_DEPTH,
    client_event_problem,
    encode_with,
    load_event,
)
from realtime_widgets.protocol.events import UnknownServerEvent, read_server_event
from realtime_widgets.protocol.live_parts import (
    DecisionInputImage,
    DecisionInputJson,
    DecisionInputText,
)
from realtime_widgets.protocol.parts import REQUIRED_ON_WIRE, JsonObject

__all__ = [
    "LIVE_CLIENT_EVENT_CLASSES",
    "LIVE_CLIENT_EVENT_TYPES",
    "LIVE_SERVER_EVENT_CLASSES",
    "LIVE_SERVER_EVENT_TYPES",
    "MAX_JSON_DEPTH",
    "CommentaryAppendEvent",
    "CommentaryAppendedEvent",
    "ContextWindow",
    "DecisionAssistantMessage",
    "DecisionCompleted",
    "DecisionCreateEvent",
    "DecisionCustomToolCall",
    "DecisionCustomToolCallOutput",
    "DecisionDeveloperMessage",
    "DecisionEvent",
    "DecisionFunctionCall",
    "DecisionFunctionCallOutput",
    "DecisionItem",
    "DecisionItemCreateEvent",
    "DecisionItemCreatedEvent",
    "DecisionItemDeleteEvent",
    "DecisionItemDeletedEvent",
    "DecisionOutputText",
    "DecisionRefusal",
    "DecisionStoredItem",
    "DecisionSystemMessage",
    "DecisionUserMessage",
    "DelegationCreatedEvent",
    "DelegationRecord",
    "ErrorEvent",
    "InfoEvent",
    "InputAudioAppendEvent",
    "InputAudioMuteEvent",
    "InputAudioMutedEvent",
    "InputAudioUnmuteEvent",
    "InputAudioUnmutedEvent",
    "InputTranscriptDeltaEvent",
    "InstructionsAppendEvent",
    "InstructionsAppendedEvent",
    "LiveClientEvent",
    "LiveError",
    "LiveServerEvent",
    "OutputAudioDeltaEvent",
    "OutputAudioFixturePlayEvent",
    "OutputAudioFixturePlayedEvent",
    "OutputAudioFixturePlayingEvent",
    "OutputTranscriptDeltaEvent",
    "ResponseCreateEvent",
    "ResponseEvent",
    "ResponseItemCreateEvent",
    "SessionCloseEvent",
    "SessionClosedEvent",
    "SessionInputAudioAppend",
    "SessionResource",
    "SessionStartEvent",
    "SessionStartedEvent",
    "SessionUpdateEvent",
    "SessionUpdatedEvent",
    "SessionUsage",
    "SessionUsageUpdatedEvent",
    "ThinkingAppendEvent",
    "ThinkingAppendedEvent",
    "TransportAnswered",
    "TransportDtmfReceived",
    "TransportDtmfSend",
    "TransportDtmfSent",
    "TransportFailed",
    "TransportFailedError",
    "TransportRinging",
    "UnknownServerEvent",
    "dump_server_event",
    "encode",
    "live_client_event_problem",
    "parse_live_client_event",
    "parse_live_server_event",
]


# ---- client events: strict -----------------------------------------------------------------


class LiveClientEvent(BaseModel):
    """Base of every Live client event: strict (unknown keys are an error)."""

    model_config = ConfigDict(extra="forbid")
    type: str
    event_id: str | None = Field(None, max_length=512)


class SessionStartEvent(LiveClientEvent):
    """The first event of a session: the whole configuration (answered by session.started)."""

    type: Literal["session.start"] = "session.start"
    session: dict[str, Any]


class SessionUpdateEvent(LiveClientEvent):
    """Change the delegation or the triggers (nothing else changes after start)."""

    type: Literal["session.update"] = "session.update"
    session: dict[str, Any]


class InputAudioAppendEvent(LiveClientEvent):
    type: Literal["session.input_audio.append"] = "session.input_audio.append"
    audio: str = Field(description="Base64 audio in the session's audio.format.")


class InputAudioMuteEvent(LiveClientEvent):
    """Stop feeding input audio to the model (the session goes on)."""

    type: Literal["session.input_audio.mute"] = "session.input_audio.mute"


class InputAudioUnmuteEvent(LiveClientEvent):
    type: Literal["session.input_audio.unmute"] = "session.input_audio.unmute"


class OutputAudioFixturePlayEvent(LiveClientEvent):
    """Inject up to 30 s of 24 kHz PCM16 into the output (input is muted while it plays)."""

    type: Literal["session.output_audio.fixture.play"] = "session.output_audio.fixture.play"
    audio: str


class _Append(LiveClientEvent):
    content: str
    # "Required, nullable" (the SDK's *AppendEventParam): null is general context, an id
    # answers that client delegation. Always sent, so the wire has it even when null.
    delegation_id: Annotated[str | None, REQUIRED_ON_WIRE] = None


class InstructionsAppendEvent(_Append):
    """Append instructions to the context (append-only)."""

    type: Literal["session.instructions.append"] = "session.instructions.append"


class ThinkingAppendEvent(_Append):
    """Append silent context the model may use without saying it."""

    type: Literal["session.thinking.append"] = "session.thinking.append"


class CommentaryAppendEvent(_Append):
    """Give the model something to say (spoken, up to 500 tokens)."""

    type: Literal["session.commentary.append"] = "session.commentary.append"


class DecisionCreateEvent(LiveClientEvent):
    """Evaluate the session's Decisions questions now (``event_id`` is required)."""

    type: Literal["decision.create"] = "decision.create"
    event_id: str = Field(max_length=512)


# -- the items of decision.item.create (the Decision items shared by the session's questions)


class _StrictRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionOutputText(_StrictRecord):
    type: Literal["output_text"] = "output_text"
    text: str


class DecisionRefusal(_StrictRecord):
    type: Literal["refusal"] = "refusal"
    refusal: str


ItemStatus = Literal["in_progress", "completed", "incomplete"]


class _DecisionMessage(_StrictRecord):
    type: Literal["message"] | None = None
    id: str | None = None


class DecisionUserMessage(_DecisionMessage):
    role: Literal["user"] = "user"
    content: (
        str
        | list[
            Annotated[
                DecisionInputText | DecisionInputImage | DecisionInputJson,
                Field(discriminator="type"),
            ]
        ]
    )


class DecisionDeveloperMessage(_DecisionMessage):
    role: Literal["developer"] = "developer"
    content: str | list[DecisionInputText]


class DecisionSystemMessage(_DecisionMessage):
    role: Literal["system"] = "system"
    content: str | list[DecisionInputText]


class DecisionAssistantMessage(_DecisionMessage):
    role: Literal["assistant"] = "assistant"
    content: (
        str | list[Annotated[DecisionOutputText | DecisionRefusal, Field(discriminator="type")]]
    )
    phase: Literal["commentary", "final_answer"] | None = None


_ToolOutput = (
    str | list[Annotated[DecisionInputText | DecisionInputImage, Field(discriminator="type")]]
)


class DecisionFunctionCall(_StrictRecord):
    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    namespace: str | None = None
    status: ItemStatus | None = None


class DecisionFunctionCallOutput(_StrictRecord):
    type: Literal["function_call_output"] = "function_call_output"
    call_id: str
    output: _ToolOutput
    id: str | None = None
    status: ItemStatus | None = None


class DecisionCustomToolCall(_StrictRecord):
    type: Literal["custom_tool_call"] = "custom_tool_call"
    call_id: str
    name: str
    input: str
    id: str | None = None
    namespace: str | None = None
    status: ItemStatus | None = None


class DecisionCustomToolCallOutput(_StrictRecord):
    type: Literal["custom_tool_call_output"] = "custom_tool_call_output"
    call_id: str
    output: _ToolOutput
    id: str | None = None
    status: ItemStatus | None = None


_CALL_TYPES = (
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
)


def _decision_item_kind(value: Any) -> str | None:
    """A tool record by its ``type``, a message by its ``role`` (its ``type`` is optional)."""
    if isinstance(value, dict):
        kind, role = value.get("type"), value.get("role")
    else:
        kind, role = getattr(value, "type", None), getattr(value, "role", None)
    if kind in _CALL_TYPES:
        return str(kind)
    return role if isinstance(role, str) else None


DecisionItem = Annotated[
    Annotated[DecisionUserMessage, Tag("user")]
    | Annotated[DecisionDeveloperMessage, Tag("developer")]
    | Annotated[DecisionSystemMessage, Tag("system")]
    | Annotated[DecisionAssistantMessage, Tag("assistant")]
    | Annotated[DecisionFunctionCall, Tag("function_call")]
    | Annotated[DecisionFunctionCallOutput, Tag("function_call_output")]
    | Annotated[DecisionCustomToolCall, Tag("custom_tool_call")]
    | Annotated[DecisionCustomToolCallOutput, Tag("custom_tool_call_output")],
    Discriminator(_decision_item_kind),
]


class DecisionItemCreateEvent(LiveClientEvent):
    """Add an item to the context the session's Decisions questions see."""

    type: Literal["decision.item.create"] = "decision.item.create"
    item: DecisionItem


class DecisionItemDeleteEvent(LiveClientEvent):
    type: Literal["decision.item.delete"] = "decision.item.delete"
    item_id: str


class ResponseItemCreateEvent(LiveClientEvent):
    """Add a Responses input item (a tool's output, ...) to a delegated Responses task."""

    type: Literal["response.item.create"] = "response.item.create"
    item: JsonObject = Field(
        description="A Responses API input item, passed through (see coverage.NOT_MODELED)."
    )


class ResponseCreateEvent(LiveClientEvent):
    """Ask the delegated Responses backend to continue after response.item.create."""

    type: Literal["response.create"] = "response.create"


class SessionCloseEvent(LiveClientEvent):
    type: Literal["session.close"] = "session.close"


KnownLiveClientEvent = Annotated[
    SessionStartEvent
    | SessionUpdateEvent
    | InputAudioAppendEvent
    | InputAudioMuteEvent
    | InputAudioUnmuteEvent
    | OutputAudioFixturePlayEvent
    | InstructionsAppendEvent
    | ThinkingAppendEvent
    | CommentaryAppendEvent
    | DecisionCreateEvent
    | DecisionItemCreateEvent
    | DecisionItemDeleteEvent
    | ResponseItemCreateEvent
    | ResponseCreateEvent
    | SessionCloseEvent,
    Field(discriminator="type"),
]
_CLIENT = TypeAdapter[LiveClientEvent](KnownLiveClientEvent)
# Every client event class, in the SDK's union order.
LIVE_CLIENT_EVENT_CLASSES: tuple[type[LiveClientEvent], ...] = get_args(
    get_args(KnownLiveClientEvent)[0]
)
LIVE_CLIENT_EVENT_TYPES: tuple[str, ...] = tuple(
    str(m.model_fields["type"].default) for m in LIVE_CLIENT_EVENT_CLASSES
)
_CLIENT_BY_TYPE: dict[str, type[BaseModel]] = dict(
    zip(LIVE_CLIENT_EVENT_TYPES, LIVE_CLIENT_EVENT_CLASSES, strict=True)
)


# ---- server events: lenient ----------------------------------------------------------------


class _Open(BaseModel):
    """A record that keeps keys it does not know (servers add fields)."""

    model_config = ConfigDict(extra="allow")


class LiveServerEvent(_Open):
    """Base of every Live server event (``event_id`` is declared by the events that have one:
    ``session.output_audio.delta`` and ``session.input_audio.append`` have none)."""

    type: str


class _Acked(LiveServerEvent):
    """An event with an id that may answer a client event (``client_event_id``)."""

    event_id: str
    client_event_id: str | None = None


class SessionResource(_Open):
    """The session a server reports: its id, expiry, model and status, then its settings
    (kept as they came: :meth:`LiveConfig.from_session` reads them)."""

    id: str
    expires_at: int
    model: str
    status: Literal["active"]


class SessionUsage(_Open):
    """Billed duration so far, cumulative: never sum values across usage events."""

    seconds: float
    active_seconds: int | None = None
    paused_seconds: int | None = None


class ContextWindow(_Open):
    usage_ratio: float


class LiveError(_Open):
    """An error; ``client_event_id`` names the client event it answers, when one."""

    type: str
    code: str
    message: str
    param: str | None = None
    client_event_id: str | None = None


class SessionStartedEvent(_Acked):
    type: Literal["session.started"] = "session.started"
    session: SessionResource


class SessionUpdatedEvent(_Acked):
    type: Literal["session.updated"] = "session.updated"
    session: SessionResource


class SessionClosedEvent(_Acked):
    """The end of a session: why, the complete session object and the final usage."""

    type: Literal["session.closed"] = "session.closed"
    reason: Literal["close_requested", "expired", "content", "remote_hangup", "connection_lost"]
    session: SessionResource
    usage: SessionUsage


class InputAudioMutedEvent(_Acked):
    type: Literal["session.input_audio.muted"] = "session.input_audio.muted"


class InputAudioUnmutedEvent(_Acked):
    type: Literal["session.input_audio.unmuted"] = "session.input_audio.unmuted"


class OutputAudioFixturePlayingEvent(_Acked):
    type: Literal["session.output_audio.fixture.playing"] = "session.output_audio.fixture.playing"


class OutputAudioFixturePlayedEvent(_Acked):
    type: Literal["session.output_audio.fixture.played"] = "session.output_audio.fixture.played"


class _Span(_Acked):
    """An event placed on the session's audio timeline (milliseconds)."""

    start_ms: int
    end_ms: int


class InstructionsAppendedEvent(_Span):
    type: Literal["session.instructions.appended"] = "session.instructions.appended"


class ThinkingAppendedEvent(_Span):
    type: Literal["session.thinking.appended"] = "session.thinking.appended"


class CommentaryAppendedEvent(_Span):
    type: Literal["session.commentary.appended"] = "session.commentary.appended"


class SessionInputAudioAppend(LiveServerEvent):
    """Input audio reflected to a sideband observer (24 kHz PCM16); not on a primary socket."""

    type: Literal["session.input_audio.append"] = "session.input_audio.append"
    audio: str


class OutputAudioDeltaEvent(LiveServerEvent):
    """A chunk of the model's audio (no ``event_id``: the SDK has none)."""

    type: Literal["session.output_audio.delta"] = "session.output_audio.delta"
    delta: str
    start_ms: int | None = None
    end_ms: int | None = None


class InputTranscriptDeltaEvent(_Span):
    """Text of what the person said, by position (no done event follows)."""

    type: Literal["session.input_transcript.delta"] = "session.input_transcript.delta"
    delta: str


class OutputTranscriptDeltaEvent(_Span):
    """Text of what the model said, by position."""

    type: Literal["session.output_transcript.delta"] = "session.output_transcript.delta"
    delta: str


class DelegationRecord(_Open):
    """A task the Live model handed off, and who handles it."""

    type: Literal["delegation"] = "delegation"
    id: str
    target: Literal["client", "responses", "decisions"]
    response_id: str | None = None


class DelegationCreatedEvent(_Acked):
    type: Literal["session.delegation.created"] = "session.delegation.created"
    delegation: DelegationRecord
    offset_ms: int


class DecisionCompleted(_Open):
    """The inner event of ``decision.event``: the Decision API's answer, kept as it came."""

    type: Literal["decision.completed"] = "decision.completed"
    decision: dict[str, Any]


class DecisionEvent(LiveServerEvent):
    """A Decisions evaluation finished (for a trigger, a delegation or decision.create)."""

    type: Literal["decision.event"] = "decision.event"
    event_id: str
    event: DecisionCompleted
    delegation_id: str | None = None
    source_event_id: str | None = None
    source_event_type: (
        Literal["session.input_transcript.delta", "session.output_transcript.delta"] | None
    ) = None
    trigger_id: str | None = None


class DecisionStoredItem(_Open):
    """A Decision item as stored (its ``id`` always set): a message or a tool record, read
    into one open record (typed fields below; anything else kept by key)."""

    id: str
    type: str | None = None
    role: str | None = None
    content: Any = None
    phase: str | None = None
    call_id: str | None = None
    name: str | None = None
    namespace: str | None = None
    arguments: str | None = None
    input: str | None = None
    output: Any = None
    status: str | None = None


class DecisionItemCreatedEvent(_Acked):
    type: Literal["decision.item.created"] = "decision.item.created"
    item: DecisionStoredItem


class DecisionItemDeletedEvent(_Acked):
    type: Literal["decision.item.deleted"] = "decision.item.deleted"
    item_id: str


class ResponseEvent(_Acked):
    """A Responses API streaming event of a delegated task, wrapped as it came."""

    type: Literal["response.event"] = "response.event"
    event: dict[str, Any]
    delegation_id: str | None = None


class SessionUsageUpdatedEvent(_Acked):
    type: Literal["session.usage.updated"] = "session.usage.updated"
    usage: SessionUsage
    context_window: ContextWindow | None = None


class ErrorEvent(_Acked):
    type: Literal["error"] = "error"
    error: LiveError


class InfoEvent(_Acked):
    """Something worth knowing that is not an error (``code`` and ``message``)."""

    type: Literal["info"] = "info"
    code: str
    message: str


class TransportDtmfReceived(LiveServerEvent):
    """A SIP keypress from the caller (sideband observers only)."""

    type: Literal["transport.dtmf.received"] = "transport.dtmf.received"
    event_id: str
    event: str


class TransportDtmfSend(_Acked):
    """Legacy SIP DTMF delivery notification (sideband observers only)."""

    type: Literal["transport.dtmf.send"] = "transport.dtmf.send"
    event: str


class TransportDtmfSent(_Acked):
    """A SIP keypress sent to the trunk (sideband observers only)."""

    type: Literal["transport.dtmf.sent"] = "transport.dtmf.sent"
    event: str


class TransportRinging(LiveServerEvent):
    type: Literal["transport.ringing"] = "transport.ringing"
    event_id: str
    session_id: str


class TransportAnswered(LiveServerEvent):
    type: Literal["transport.answered"] = "transport.answered"
    event_id: str
    session_id: str


class TransportFailedError(_Open):
    type: Literal["call_error"] = "call_error"
    code: str
    message: str
    param: str | None = None


class TransportFailed(LiveServerEvent):
    """An outbound SIP call could not be set up (sideband observers only)."""

    type: Literal["transport.failed"] = "transport.failed"
    event_id: str
    session_id: str
    error: TransportFailedError


KnownLiveServerEvent = Annotated[
    SessionStartedEvent
    | SessionUpdatedEvent
    | InputAudioMutedEvent
    | InputAudioUnmutedEvent
    | OutputAudioFixturePlayingEvent
    | OutputAudioFixturePlayedEvent
    | InstructionsAppendedEvent
    | ThinkingAppendedEvent
    | CommentaryAppendedEvent
    | SessionInputAudioAppend
    | OutputAudioDeltaEvent
    | InputTranscriptDeltaEvent
    | OutputTranscriptDeltaEvent
    | DelegationCreatedEvent
    | DecisionEvent
    | DecisionItemCreatedEvent
    | DecisionItemDeletedEvent
    | ResponseEvent
    | SessionUsageUpdatedEvent
    | SessionClosedEvent
    | ErrorEvent
    | InfoEvent
    | TransportDtmfReceived
    | TransportDtmfSend
    | TransportDtmfSent
    | TransportRinging
    | TransportAnswered
    | TransportFailed,
    Field(discriminator="type"),
]
_SERVER = TypeAdapter[LiveServerEvent](KnownLiveServerEvent)
LIVE_SERVER_EVENT_CLASSES: tuple[type[LiveServerEvent], ...] = get_args(
    get_args(KnownLiveServerEvent)[0]
)
LIVE_SERVER_EVENT_TYPES: frozenset[str] = frozenset(
    str(m.model_fields["type"].default) for m in LIVE_SERVER_EVENT_CLASSES
)


# ---- the codec ------------------------------------------------------------------------------


def parse_live_server_event(
    data: str | bytes | Mapping[str, Any],
) -> LiveServerEvent | UnknownServerEvent:
    """A Live server event from its JSON text (or decoded object).

    Raises :class:`~realtime_widgets.errors.ProtocolError` only for text that is not a JSON
    object with a string ``type``; anything else unreadable becomes an
    :class:`UnknownServerEvent` (``problem`` set when the type is known but the shape is not).
    """
    return read_server_event(load_event(data), _SERVER, LIVE_SERVER_EVENT_TYPES)


def parse_live_client_event(data: str | bytes | Mapping[str, Any]) -> LiveClientEvent:
    """A Live client event from JSON text or a decoded object (the local server's reader).
    Raises :class:`~realtime_widgets.errors.ProtocolError` for text that is not a JSON object
    with a ``type``, ValidationError for an object that is not a well-formed Live client event
    (:func:`live_client_event_problem` says why in OpenAI's words)."""
    return _CLIENT.validate_python(load_event(data))


def live_client_event_problem(exc: ValidationError, raw: Mapping[str, Any]) -> FieldProblem:
    """The first problem of a malformed Live client event, in OpenAI's words (message, code,
    param)."""
    return client_event_problem(exc, raw, _CLIENT_BY_TYPE)


def encode(event: LiveClientEvent | Mapping[str, Any]) -> str:
    """JSON text of a Live client event, validated: a model as it is, a dict through the
    models (a bad one raises :class:`~realtime_widgets.errors.ConfigError` in OpenAI's words).
    Unset optionals are omitted; a ``session`` is kept verbatim."""
    return encode_with(event, _CLIENT, _CLIENT_BY_TYPE)


def dump_server_event(event: LiveServerEvent) -> dict[str, Any]:
    """A server event as the JSON object a server sends: unset optionals omitted, extra keys
    kept (the local server builds its Live events from these models)."""
    return json.loads(event.model_dump_json(exclude_none=True))  # type: ignore[no-any-return]
