"""Client and server events of the GA Realtime protocol, and their JSON codec.

Small records tagged with ``type: Literal[...]`` and one discriminated union per direction.
Server events keep unknown keys (a newer server may add fields) and an unknown ``type`` becomes
an :class:`UnknownServerEvent`, never an exception; beta names are normalised to GA names.
Client events reject unknown keys: what we send must validate against OpenAI's own types.

``parse_server_event(text)`` and ``encode(event)`` are the codec. The client events live in
:mod:`.client_events` (typed items and response parameters) and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from realtime_widgets.protocol.client_events import (
    CLIENT_EVENT_CLASSES,
    CLIENT_EVENT_TYPES,
    MAX_JSON_DEPTH,
    ClientEvent,
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemRetrieve,
    ConversationItemTruncate,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    OutputAudioBufferClear,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
    encode,
    load_event,
    load_json,
    parse_client_event,
)

__all__ = [
    "BETA_EVENT_NAMES",
    "CLIENT_EVENT_CLASSES",
    "CLIENT_EVENT_TYPES",
    "MAX_JSON_DEPTH",
    "ClientEvent",
    "ContentPart",
    "ConversationCreated",
    "ConversationItemAdded",
    "ConversationItemCreate",
    "ConversationItemDelete",
    "ConversationItemDeleted",
    "ConversationItemDone",
    "ConversationItemRetrieve",
    "ConversationItemRetrieved",
    "ConversationItemTruncate",
    "ConversationItemTruncated",
    "DtmfEventReceived",
    "ErrorDetail",
    "ErrorEvent",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "InputAudioBufferAppend",
    "InputAudioBufferClear",
    "InputAudioBufferCleared",
    "InputAudioBufferCommit",
    "InputAudioBufferCommitted",
    "InputAudioBufferTimeoutTriggered",
    "InputTranscriptionCompleted",
    "InputTranscriptionDelta",
    "InputTranscriptionFailed",
    "InputTranscriptionSegment",
    "Item",
    "LogProb",
    "OutputAudioBufferClear",
    "RateLimitsUpdated",
    "Response",
    "ResponseCancel",
    "ResponseContentPartAdded",
    "ResponseContentPartDone",
    "ResponseCreate",
    "ResponseCreated",
    "ResponseDone",
    "ResponseOutputAudioDelta",
    "ResponseOutputAudioDone",
    "ResponseOutputAudioTranscriptDelta",
    "ResponseOutputAudioTranscriptDone",
    "ResponseOutputItemAdded",
    "ResponseOutputItemDone",
    "ResponseOutputTextDelta",
    "ResponseOutputTextDone",
    "ServerEvent",
    "SessionCreated",
    "SessionUpdate",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "UnknownServerEvent",
    "Usage",
    "encode",
    "load_event",
    "load_json",
    "parse_client_event",
    "parse_server_event",
    "read_server_event",
]

_E = TypeVar("_E")  # a server event model of some API's union

# Beta (legacy) server event names -> GA names.
BETA_EVENT_NAMES: dict[str, str] = {
    "conversation.item.created": "conversation.item.added",
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
}
_BETA_PART_TYPES = {"audio": "output_audio", "text": "output_text"}


# ---- shared records ---------------------------------------------------------------------------


class _Open(BaseModel):
    """A record that keeps keys it does not know (servers add fields)."""

    model_config = ConfigDict(extra="allow")


class ContentPart(_Open):
    """One part of a message (input_text, input_audio, input_image, output_text, output_audio)."""

    type: str
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None


class Item(_Open):
    """A conversation item: a message, a function call or its output, or an MCP record."""

    id: str | None = None
    type: str
    object: str | None = None
    status: str | None = None
    role: Literal["user", "assistant", "system"] | None = None
    content: list[ContentPart] = Field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None


class Usage(_Open):
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_token_details: dict[str, Any] | None = None
    output_token_details: dict[str, Any] | None = None


class Response(_Open):
    id: str
    object: str | None = None
    status: Literal["in_progress", "completed", "cancelled", "failed", "incomplete"] = "in_progress"
    status_details: dict[str, Any] | None = None
    output: list[Item] = Field(default_factory=list)
    usage: Usage | None = None
    output_modalities: list[str] | None = None
    conversation_id: str | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    metadata: dict[str, Any] | None = None


class ErrorDetail(_Open):
    type: str = "invalid_request_error"
    code: str | None = None
    message: str = ""
    param: str | None = None
    event_id: str | None = None


# ---- server events ----------------------------------------------------------------------------


class ServerEvent(_Open):
    """Base of every server event."""

    type: str
    event_id: str = ""


class SessionCreated(ServerEvent):
    type: Literal["session.created"] = "session.created"
    session: dict[str, Any]


class SessionUpdated(ServerEvent):
    type: Literal["session.updated"] = "session.updated"
    session: dict[str, Any]


class ErrorEvent(ServerEvent):
    type: Literal["error"] = "error"
    error: ErrorDetail


class SpeechStarted(ServerEvent):
    type: Literal["input_audio_buffer.speech_started"] = "input_audio_buffer.speech_started"
    audio_start_ms: int
    item_id: str


class SpeechStopped(ServerEvent):
    type: Literal["input_audio_buffer.speech_stopped"] = "input_audio_buffer.speech_stopped"
    audio_end_ms: int
    item_id: str


class InputAudioBufferCommitted(ServerEvent):
    type: Literal["input_audio_buffer.committed"] = "input_audio_buffer.committed"
    item_id: str
    previous_item_id: str | None = None


class InputAudioBufferCleared(ServerEvent):
    type: Literal["input_audio_buffer.cleared"] = "input_audio_buffer.cleared"


class InputAudioBufferTimeoutTriggered(ServerEvent):
    type: Literal["input_audio_buffer.timeout_triggered"] = "input_audio_buffer.timeout_triggered"
    audio_start_ms: int = 0
    audio_end_ms: int = 0
    item_id: str = ""


class ConversationCreated(ServerEvent):
    type: Literal["conversation.created"] = "conversation.created"
    conversation: dict[str, Any] = Field(default_factory=dict)


class DtmfEventReceived(ServerEvent):
    """A telephone keypad press on a SIP call (0-9, *, #, A-D)."""

    type: Literal["input_audio_buffer.dtmf_event_received"] = (
        "input_audio_buffer.dtmf_event_received"
    )
    event: str
    received_at: int = 0


class ConversationItemAdded(ServerEvent):
    type: Literal["conversation.item.added"] = "conversation.item.added"
    item: Item
    previous_item_id: str | None = None


class ConversationItemDone(ServerEvent):
    type: Literal["conversation.item.done"] = "conversation.item.done"
    item: Item
    previous_item_id: str | None = None


class ConversationItemTruncated(ServerEvent):
    type: Literal["conversation.item.truncated"] = "conversation.item.truncated"
    item_id: str
    content_index: int = 0
    audio_end_ms: int


class ConversationItemDeleted(ServerEvent):
    type: Literal["conversation.item.deleted"] = "conversation.item.deleted"
    item_id: str


class ConversationItemRetrieved(ServerEvent):
    type: Literal["conversation.item.retrieved"] = "conversation.item.retrieved"
    item: Item


class LogProb(_Open):
    """One token of a transcript with its log probability (when ``include`` asks for them)."""

    token: str
    logprob: float
    bytes: list[int] = Field(default_factory=list)


class InputTranscriptionDelta(ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.delta"] = (
        "conversation.item.input_audio_transcription.delta"
    )
    item_id: str
    content_index: int = 0
    delta: str = ""
    logprobs: list[LogProb] | None = None


class InputTranscriptionCompleted(ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.completed"] = (
        "conversation.item.input_audio_transcription.completed"
    )
    item_id: str
    content_index: int = 0
    transcript: str
    usage: dict[str, Any] | None = None
    logprobs: list[LogProb] | None = None
    languages: list[dict[str, Any]] | None = None


class InputTranscriptionFailed(ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.failed"] = (
        "conversation.item.input_audio_transcription.failed"
    )
    item_id: str
    content_index: int = 0
    error: ErrorDetail


class InputTranscriptionSegment(ServerEvent):
    type: Literal["conversation.item.input_audio_transcription.segment"] = (
        "conversation.item.input_audio_transcription.segment"
    )
    item_id: str
    content_index: int = 0
    id: str = ""
    text: str = ""
    speaker: str | None = None
    start: float = 0.0
    end: float = 0.0


class ResponseCreated(ServerEvent):
    type: Literal["response.created"] = "response.created"
    response: Response


class ResponseDone(ServerEvent):
    type: Literal["response.done"] = "response.done"
    response: Response


class ResponseOutputItemAdded(ServerEvent):
    type: Literal["response.output_item.added"] = "response.output_item.added"
    response_id: str
    output_index: int = 0
    item: Item


class ResponseOutputItemDone(ServerEvent):
    type: Literal["response.output_item.done"] = "response.output_item.done"
    response_id: str
    output_index: int = 0
    item: Item


class ResponseContentPartAdded(ServerEvent):
    type: Literal["response.content_part.added"] = "response.content_part.added"
    response_id: str
    item_id: str
    output_index: int = 0
    content_index: int = 0
    part: ContentPart


class ResponseContentPartDone(ServerEvent):
    type: Literal["response.content_part.done"] = "response.content_part.done"
    response_id: str
    item_id: str
    output_index: int = 0
    content_index: int = 0
    part: ContentPart


class _Delta(ServerEvent):
    response_id: str
    item_id: str
    output_index: int = 0
    content_index: int = 0


class ResponseOutputAudioDelta(_Delta):
    type: Literal["response.output_audio.delta"] = "response.output_audio.delta"
    delta: str


class ResponseOutputAudioDone(_Delta):
    type: Literal["response.output_audio.done"] = "response.output_audio.done"


class ResponseOutputAudioTranscriptDelta(_Delta):
    type: Literal["response.output_audio_transcript.delta"] = (
        "response.output_audio_transcript.delta"
    )
    delta: str


class ResponseOutputAudioTranscriptDone(_Delta):
    type: Literal["response.output_audio_transcript.done"] = "response.output_audio_transcript.done"
    transcript: str = ""


class ResponseOutputTextDelta(_Delta):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    delta: str


class ResponseOutputTextDone(_Delta):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    text: str = ""


class FunctionCallArgumentsDelta(ServerEvent):
    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta"
    )
    response_id: str
    item_id: str
    output_index: int = 0
    call_id: str
    delta: str


class FunctionCallArgumentsDone(ServerEvent):
    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    response_id: str
    item_id: str
    output_index: int = 0
    call_id: str
    name: str = ""
    arguments: str


class RateLimitsUpdated(ServerEvent):
    type: Literal["rate_limits.updated"] = "rate_limits.updated"
    rate_limits: list[dict[str, Any]] = Field(default_factory=list)


class _ItemRef(ServerEvent):
    item_id: str = ""


class McpListToolsInProgress(_ItemRef):
    type: Literal["mcp_list_tools.in_progress"] = "mcp_list_tools.in_progress"


class McpListToolsCompleted(_ItemRef):
    type: Literal["mcp_list_tools.completed"] = "mcp_list_tools.completed"


class McpListToolsFailed(_ItemRef):
    type: Literal["mcp_list_tools.failed"] = "mcp_list_tools.failed"


class McpCallArgumentsDelta(_ItemRef):
    type: Literal["response.mcp_call_arguments.delta"] = "response.mcp_call_arguments.delta"
    response_id: str = ""
    output_index: int = 0
    delta: str = ""
    obfuscation: str | None = None


class McpCallArgumentsDone(_ItemRef):
    type: Literal["response.mcp_call_arguments.done"] = "response.mcp_call_arguments.done"
    response_id: str = ""
    output_index: int = 0
    arguments: str = ""


class McpCallInProgress(_ItemRef):
    type: Literal["response.mcp_call.in_progress"] = "response.mcp_call.in_progress"
    output_index: int = 0


class McpCallCompleted(_ItemRef):
    type: Literal["response.mcp_call.completed"] = "response.mcp_call.completed"
    output_index: int = 0


class McpCallFailed(_ItemRef):
    type: Literal["response.mcp_call.failed"] = "response.mcp_call.failed"
    output_index: int = 0


class OutputAudioBufferStarted(ServerEvent):
    type: Literal["output_audio_buffer.started"] = "output_audio_buffer.started"
    response_id: str = ""


class OutputAudioBufferStopped(ServerEvent):
    type: Literal["output_audio_buffer.stopped"] = "output_audio_buffer.stopped"
    response_id: str = ""


class OutputAudioBufferCleared(ServerEvent):
    type: Literal["output_audio_buffer.cleared"] = "output_audio_buffer.cleared"
    response_id: str = ""


class UnknownServerEvent(ServerEvent):
    """An event this version does not know, or a known type in a shape it could not read.

    ``problem`` says which, so nothing is silently lost.
    """

    problem: str | None = None


KnownServerEvent = Annotated[
    SessionCreated
    | SessionUpdated
    | ErrorEvent
    | SpeechStarted
    | SpeechStopped
    | InputAudioBufferCommitted
    | InputAudioBufferCleared
    | InputAudioBufferTimeoutTriggered
    | DtmfEventReceived
    | ConversationCreated
    | ConversationItemAdded
    | ConversationItemDone
    | ConversationItemTruncated
    | ConversationItemDeleted
    | ConversationItemRetrieved
    | InputTranscriptionDelta
    | InputTranscriptionCompleted
    | InputTranscriptionFailed
    | InputTranscriptionSegment
    | ResponseCreated
    | ResponseDone
    | ResponseOutputItemAdded
    | ResponseOutputItemDone
    | ResponseContentPartAdded
    | ResponseContentPartDone
    | ResponseOutputAudioDelta
    | ResponseOutputAudioDone
    | ResponseOutputAudioTranscriptDelta
    | ResponseOutputAudioTranscriptDone
    | ResponseOutputTextDelta
    | ResponseOutputTextDone
    | FunctionCallArgumentsDelta
    | FunctionCallArgumentsDone
    | RateLimitsUpdated
    | McpListToolsInProgress
    | McpListToolsCompleted
    | McpListToolsFailed
    | McpCallArgumentsDelta
    | McpCallArgumentsDone
    | McpCallInProgress
    | McpCallCompleted
    | McpCallFailed
    | OutputAudioBufferStarted
    | OutputAudioBufferStopped
    | OutputAudioBufferCleared,
    Field(discriminator="type"),
]
_SERVER = TypeAdapter[ServerEvent](KnownServerEvent)
SERVER_EVENT_TYPES: frozenset[str] = frozenset(
    m.model_fields["type"].default
    for m in ServerEvent.__subclasses__() + _Delta.__subclasses__() + _ItemRef.__subclasses__()
    if m.model_fields["type"].default not in ("", None) and m is not UnknownServerEvent
)


def _normalise_beta(data: dict[str, Any]) -> dict[str, Any]:
    ga = BETA_EVENT_NAMES.get(data.get("type", ""))
    if ga is None:
        return data
    data = {**data, "type": ga}
    item = data.get("item")
    if isinstance(item, dict) and item.get("role") == "assistant":
        parts = [
            {**p, "type": _BETA_PART_TYPES.get(str(p.get("type")), p.get("type"))}
            for p in item.get("content", [])
            if isinstance(p, dict)
        ]
        data["item"] = {**item, "content": parts}
    return data


def parse_server_event(data: str | bytes | dict[str, Any]) -> ServerEvent:
    """A server event from its JSON text (or decoded dict).

    Raises :class:`ProtocolError` only for text that is not a JSON object with a ``type``;
    anything else unreadable becomes an :class:`UnknownServerEvent` with ``problem`` set.
    """
    try:
        if isinstance(data, dict):
            return _SERVER.validate_python(data)
        return _SERVER.validate_json(data)
    except ValidationError:
        pass  # (a beta name, or a shape this version cannot read: judged below)
    return read_server_event(_normalise_beta(load_event(data)), _SERVER, SERVER_EVENT_TYPES)


def read_server_event(
    obj: dict[str, Any], union: TypeAdapter[_E], known: Collection[str]
) -> _E | UnknownServerEvent:
    """A decoded server event (a JSON object with a string ``type``) as its model in
    ``union`` (any API's: Realtime, translation, GPT-Live), whose types are ``known``; else an
    :class:`UnknownServerEvent`, with ``problem`` (the first three of pydantic's complaints)
    when the type is known but the shape is not. Every API's reader ends here."""
    if obj["type"] not in known:
        return UnknownServerEvent.model_validate(obj)
    try:
        return union.validate_python(obj)
    except ValidationError as exc:
        problem = "; ".join(
            f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors()[:3]
        )
        return UnknownServerEvent.model_validate({**obj, "problem": problem})
