"""Client events of the GA Realtime protocol: typed, strict, judged as OpenAI judges them.

Every event a client sends is one of these models; what they accept is what OpenAI's server
accepts and what the official SDK's types validate (tests/protocol/sdk_oracle.py)::

    event = encode({"type": "conversation.item.create", "item": {...}})   # JSON text, or
    # ConfigError naming the param in OpenAI's words ("Missing required parameter: 'item.call_id'.")

``conversation.item.create`` carries a typed :data:`ConversationItem` (a message by role with
its content parts, a function call or its output, an MCP record) and ``response.create`` typed
:class:`ResponseParams`; ``session.update`` keeps its ``session`` as a dict, judged by
:func:`~.wire.validate_session_payload` (so an explicit ``null`` that switches a feature off
reaches the wire). :func:`client_event_problem` turns a validation error into OpenAI's message,
code and param; the local server answers with it, :func:`encode` raises it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from realtime_widgets.errors import ConfigError, FieldProblem, ProtocolError
from realtime_widgets.protocol.configbase import plain
from realtime_widgets.protocol.introspect import tagged_members
from realtime_widgets.protocol.parts import (
    AudioFormat,
    Prompt,
    Reasoning,
    Tool,
    ToolChoice,
    Voice,
    WireRequired,
    deeper_than,
)
from realtime_widgets.protocol.problems import TYPE_WORDS, field_path, place_of, tag_problem
from realtime_widgets.protocol.wire import json_type_name

__all__ = [
    "CLIENT_EVENT_CLASSES",
    "CLIENT_EVENT_TYPES",
    "MAX_JSON_DEPTH",
    "AssistantMessage",
    "ClientEvent",
    "ConversationItem",
    "ConversationItemCreate",
    "ConversationItemDelete",
    "ConversationItemRetrieve",
    "ConversationItemTruncate",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "InputAudioBufferAppend",
    "InputAudioBufferClear",
    "InputAudioBufferCommit",
    "InputAudioPart",
    "InputImagePart",
    "InputTextPart",
    "McpApprovalRequestItem",
    "McpApprovalResponseItem",
    "McpCallItem",
    "McpListToolsItem",
    "OutputAudioBufferClear",
    "OutputAudioPart",
    "OutputTextPart",
    "ResponseAudio",
    "ResponseAudioOutput",
    "ResponseCancel",
    "ResponseCreate",
    "ResponseParams",
    "SessionUpdate",
    "SystemMessage",
    "UserMessage",
    "client_event_problem",
    "dump_event",
    "encode",
    "encode_with",
    "load_event",
    "load_json",
    "parse_client_event",
]


class _Strict(BaseModel):
    """Client-side records reject unknown keys, as OpenAI does ("Unknown parameter")."""

    model_config = ConfigDict(extra="forbid")


# ---- content parts of a message -------------------------------------------------------------


class InputTextPart(_Strict):
    type: Literal["input_text"] = "input_text"
    text: str


class InputAudioPart(_Strict):
    type: Literal["input_audio"] = "input_audio"
    audio: str | None = Field(None, description="Base64 audio in the session's input format.")
    transcript: str | None = None


class InputImagePart(_Strict):
    type: Literal["input_image"] = "input_image"
    image_url: str = Field(description="A data URL (base64 PNG or JPEG).")
    detail: Literal["auto", "low", "high"] | None = None


class OutputTextPart(_Strict):
    type: Literal["output_text"] = "output_text"
    text: str


class OutputAudioPart(_Strict):
    type: Literal["output_audio"] = "output_audio"
    audio: str | None = None
    transcript: str | None = None


UserPart = Annotated[InputTextPart | InputAudioPart | InputImagePart, Field(discriminator="type")]
AssistantPart = Annotated[OutputTextPart | OutputAudioPart, Field(discriminator="type")]


# ---- conversation items ---------------------------------------------------------------------

ItemId = Annotated[str, Field(min_length=1, max_length=64)]
ItemStatus = Literal["completed", "incomplete", "in_progress"]


class _Message(_Strict):
    id: ItemId | None = None
    type: Literal["message"] = "message"
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


class UserMessage(_Message):
    """What the user said or showed: text, audio (with an optional transcript), images."""

    role: Literal["user"] = "user"
    content: list[UserPart] = Field(min_length=1)


class AssistantMessage(_Message):
    """A reply of the assistant (text, or an audio transcript) placed in the history."""

    role: Literal["assistant"] = "assistant"
    content: list[AssistantPart] = Field(min_length=1)


class SystemMessage(_Message):
    """An instruction in the conversation (text only)."""

    role: Literal["system"] = "system"
    content: list[InputTextPart] = Field(min_length=1)


Message = Annotated[UserMessage | AssistantMessage | SystemMessage, Field(discriminator="role")]


class FunctionCallItem(_Strict):
    """A call of a function tool (e.g. replayed history); its result is a
    :class:`FunctionCallOutputItem` with the same ``call_id``."""

    id: ItemId | None = None
    type: Literal["function_call"] = "function_call"
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None
    call_id: str
    name: str
    arguments: str = Field(description="The arguments as JSON text.")


class FunctionCallOutputItem(_Strict):
    """A function tool's result, answering the call with ``call_id``."""

    id: ItemId | None = None
    type: Literal["function_call_output"] = "function_call_output"
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None
    call_id: str
    output: str = Field(description="The result as text (often JSON).")


class McpApprovalResponseItem(_Strict):
    """The user's answer to an ``mcp_approval_request``."""

    id: ItemId
    type: Literal["mcp_approval_response"] = "mcp_approval_response"
    approval_request_id: str
    approve: bool
    reason: str | None = None


class McpListedTool(_Strict):
    name: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any] | None = None
    description: str | None = None


class McpListToolsItem(_Strict):
    """The tools an MCP server offers (replayed history)."""

    id: ItemId | None = None
    type: Literal["mcp_list_tools"] = "mcp_list_tools"
    server_label: str
    tools: list[McpListedTool]


class McpProtocolError(_Strict):
    type: Literal["protocol_error"] = "protocol_error"
    code: int
    message: str


class McpToolExecutionError(_Strict):
    type: Literal["tool_execution_error"] = "tool_execution_error"
    message: str


class McpHttpError(_Strict):
    type: Literal["http_error"] = "http_error"
    code: int
    message: str


McpError = Annotated[
    McpProtocolError | McpToolExecutionError | McpHttpError, Field(discriminator="type")
]


class McpCallItem(_Strict):
    """A call of an MCP server's tool, with its output or error (replayed history)."""

    id: ItemId
    type: Literal["mcp_call"] = "mcp_call"
    server_label: str
    name: str
    arguments: str
    approval_request_id: str | None = None
    output: str | None = None
    error: McpError | None = None


class McpApprovalRequestItem(_Strict):
    """A request to approve an MCP tool call (replayed history)."""

    id: ItemId
    type: Literal["mcp_approval_request"] = "mcp_approval_request"
    server_label: str
    name: str
    arguments: str


ConversationItem = Annotated[
    Message
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpApprovalResponseItem
    | McpListToolsItem
    | McpCallItem
    | McpApprovalRequestItem,
    Field(discriminator="type"),
]


# ---- per-response parameters ----------------------------------------------------------------


class ResponseAudioOutput(_Strict):
    format: AudioFormat | None = None
    voice: Voice | None = None


class ResponseAudio(_Strict):
    output: ResponseAudioOutput | None = None


class ResponseParams(_Strict):
    """``response.create``'s ``response``: overrides for this response only.

    The fields named like :class:`~.config.SessionConfig` fields take the same values; ``audio``
    holds the voice and output format; ``conversation="none"`` makes an out-of-band response
    (not added to the conversation), ``input`` its own context.
    """

    output_modalities: list[Literal["audio", "text"]] | None = Field(
        None, min_length=1, max_length=1
    )
    instructions: str | None = None
    max_output_tokens: Annotated[int, Field(ge=1, le=4096)] | Literal["inf"] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    prompt: Prompt | None = None
    reasoning: Reasoning | None = None
    audio: ResponseAudio | None = None
    conversation: Literal["auto", "none"] | None = None
    metadata: dict[str, str] | None = Field(None, max_length=16)
    input: list[ConversationItem] | None = None

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _function_by_name(cls, value: Any) -> Any:
        # As in SessionConfig: a string that is not a mode names the function to force.
        if isinstance(value, str) and value not in ("auto", "none", "required"):
            return {"type": "function", "name": value}
        return value


# ---- the events -----------------------------------------------------------------------------


class ClientEvent(BaseModel):
    """Base of every client event: strict (unknown keys are an error)."""

    model_config = ConfigDict(extra="forbid")
    type: str
    event_id: str | None = Field(None, max_length=512)


class SessionUpdate(ClientEvent):
    type: Literal["session.update"] = "session.update"
    session: dict[str, Any]


class InputAudioBufferAppend(ClientEvent):
    type: Literal["input_audio_buffer.append"] = "input_audio_buffer.append"
    audio: str = Field(description="Base64 audio in the session's input format.")


class InputAudioBufferCommit(ClientEvent):
    type: Literal["input_audio_buffer.commit"] = "input_audio_buffer.commit"


class InputAudioBufferClear(ClientEvent):
    type: Literal["input_audio_buffer.clear"] = "input_audio_buffer.clear"


class ConversationItemCreate(ClientEvent):
    type: Literal["conversation.item.create"] = "conversation.item.create"
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemTruncate(ClientEvent):
    type: Literal["conversation.item.truncate"] = "conversation.item.truncate"
    item_id: str
    content_index: int = Field(0, ge=0)
    audio_end_ms: int = Field(ge=0)


class ConversationItemDelete(ClientEvent):
    type: Literal["conversation.item.delete"] = "conversation.item.delete"
    item_id: str


class ConversationItemRetrieve(ClientEvent):
    type: Literal["conversation.item.retrieve"] = "conversation.item.retrieve"
    item_id: str


class ResponseCreate(ClientEvent):
    type: Literal["response.create"] = "response.create"
    response: ResponseParams | None = None


class ResponseCancel(ClientEvent):
    type: Literal["response.cancel"] = "response.cancel"
    response_id: str | None = None


class OutputAudioBufferClear(ClientEvent):
    type: Literal["output_audio_buffer.clear"] = "output_audio_buffer.clear"


KnownClientEvent = Annotated[
    SessionUpdate
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | ConversationItemCreate
    | ConversationItemTruncate
    | ConversationItemDelete
    | ConversationItemRetrieve
    | ResponseCreate
    | ResponseCancel
    | OutputAudioBufferClear,
    Field(discriminator="type"),
]
_CLIENT = TypeAdapter[ClientEvent](KnownClientEvent)
# Every client event class, in the order OpenAI's error lists their types.
CLIENT_EVENT_CLASSES: tuple[type[ClientEvent], ...] = get_args(get_args(KnownClientEvent)[0])
CLIENT_EVENT_TYPES: tuple[str, ...] = tuple(
    str(m.model_fields["type"].default) for m in CLIENT_EVENT_CLASSES
)
_BY_TYPE: dict[str, type[ClientEvent]] = dict(
    zip(CLIENT_EVENT_TYPES, CLIENT_EVENT_CLASSES, strict=True)
)


# ---- the codec ------------------------------------------------------------------------------


# Deeper than any real event (a tool's JSON schema rarely nests 20 levels), far below Python's
# recursion limit: the local server's ServerLimits.max_json_depth defaults to it.
MAX_JSON_DEPTH = 128


def load_json(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode one frame's JSON. Raises :class:`ProtocolError` (never ``RecursionError``) for
    text that is not JSON or nests deeper than ``max_depth`` arrays/objects."""
    too_deep = (
        f"not JSON this local peer accepts: arrays/objects nested more than {max_depth} levels deep"
    )
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    except RecursionError:  # '[[[[...': the decoder itself gives up
        raise ProtocolError(too_deep) from None
    brackets = (
        data.count("[") + data.count("{")
        if isinstance(data, str)
        else data.count(b"[") + data.count(b"{")
    )
    if brackets > max_depth and deeper_than(obj, max_depth):
        raise ProtocolError(too_deep)
    return obj


def load_event(
    data: str | bytes | Mapping[str, Any], *, max_depth: int = MAX_JSON_DEPTH
) -> dict[str, Any]:
    """Decode one event's JSON into a dict with a string ``type``, or :class:`ProtocolError`
    (see :func:`load_json`)."""
    obj = dict(data) if isinstance(data, Mapping) else load_json(data, max_depth=max_depth)
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ProtocolError("an event must be a JSON object with a string 'type'")
    return obj


def parse_client_event(data: str | bytes | Mapping[str, Any]) -> ClientEvent:
    """A client event from JSON text or a decoded object (the local server's reader). Raises
    :class:`ProtocolError` for text that is not a JSON object with a ``type``, ValidationError
    for an object that is not a well-formed client event (:func:`client_event_problem` says
    why in OpenAI's words)."""
    return _CLIENT.validate_python(dict(data) if isinstance(data, Mapping) else load_event(data))


def encode(event: ClientEvent | Mapping[str, Any]) -> str:
    """JSON text of a client event, validated: a model as it is, a dict through the models.

    Unset optionals are omitted (but a field marked ``REQUIRED_ON_WIRE`` is sent even as
    ``null``); ``session.update``'s ``session`` is kept verbatim (so an
    explicit ``null`` that switches a feature off survives). A dict that is not a valid client
    event raises :class:`ConfigError` with OpenAI's message, code and param.
    """
    return encode_with(event, _CLIENT, _BY_TYPE)


def encode_with(
    event: BaseModel | Mapping[str, Any],
    union: TypeAdapter[Any],
    events: Mapping[str, type[BaseModel]],
) -> str:
    """:func:`encode` for the client events of any API: ``union`` validates a dict, ``events``
    (type -> class) are its models (GPT-Live's :mod:`.live_events` uses it)."""
    model: BaseModel
    if isinstance(event, BaseModel):
        if type(event) not in events.values():
            raise TypeError(f"{type(event).__name__} is not a client event of this API")
        model = event
    else:
        raw = dict(event)
        try:
            model = union.validate_python(raw)
        except ValidationError as exc:
            raise ConfigError([client_event_problem(exc, raw, events)]) from None
    return dump_event(model)


def dump_event(event: BaseModel) -> str:
    """JSON text of a client event model (of any API's union), ``type`` first: an empty
    optional left out, a required nullable one (``WireRequired``) sent as null, records as JSON
    data (:func:`~.configbase.plain`)."""
    # (any API's base: BaseModel itself has no ``type``)
    out: dict[str, Any] = {"type": getattr(event, "type")}  # noqa: B009
    for name, info in type(event).model_fields.items():
        if name == "type":
            continue
        value = getattr(event, name)
        if value is None and not any(isinstance(m, WireRequired) for m in info.metadata):
            continue
        out[name] = plain(value)  # records as JSON data
    return json.dumps(out, separators=(",", ":"))


# ---- OpenAI's words for a malformed client event --------------------------------------------


def _listing(values: list[str]) -> str:
    """``'a', 'b', and 'c'`` (OpenAI's "Supported values are: ..." style)."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _quoted(text: str) -> list[str]:
    """The values in pydantic's ``"'a', 'b' or 'c'"``."""
    return re.findall(r"'((?:[^'\\]|\\.)*)'", text)


def client_event_problem(
    exc: ValidationError,
    raw: Mapping[str, Any],
    events: Mapping[str, type[BaseModel]] | None = None,
) -> FieldProblem:
    """The first problem of a client event as OpenAI reports it: message, code and param
    (``item.content[0].type``), e.g. ``Missing required parameter: 'item.call_id'.``
    ``events`` (type -> class) are the API's client events, the Realtime ones by default."""
    err = exc.errors(include_url=False)[0]
    kind = err["type"]
    value = err.get("input")
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    by_type: Mapping[str, type[BaseModel]] = _BY_TYPE if events is None else events
    root = by_type.get(str(raw.get("type")))
    path = field_path(root, tuple(err["loc"]), kind) if root is not None else ""

    def problem(
        message: str, code: str, param: str, allowed: list[str] | None = None
    ) -> FieldProblem:
        shown = _listing(allowed) if allowed else None
        return FieldProblem(
            param or "type", message, code, param=param or None, allowed=shown, value=value
        )

    if kind in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", ""))
        by_key = disc.startswith("'")  # else a callable: "a name or an object", "a mode or..."
        info = place_of(root, tuple(err["loc"]), kind) if root is not None else None
        annotation = info.annotation if info is not None else None
        at_fault = tag_problem(annotation, disc, value)
        if at_fault is not None and not by_key:
            # A callable over several keys (a decision item: ``type`` for a tool record,
            # ``role`` for a message): name the key at fault and what it may be.
            param = f"{path}.{at_fault.key}" if path else at_fault.key
            supported = f"Supported values are: {_listing(at_fault.allowed)}."
            if at_fault.given is None:
                return problem(
                    f"Missing required parameter: '{param}'. {supported}",
                    "missing_required_parameter",
                    param,
                    at_fault.allowed,
                )
            return problem(
                f"Invalid value: '{at_fault.given}'. {supported}",
                "invalid_value",
                param,
                at_fault.allowed,
            )
        key = disc.strip("'") if by_key else "type"
        param = f"{path}.{key}" if path else key
        if not by_key and not isinstance(value, dict):
            members = [m for _, m in tagged_members(annotation)]
            objects_only = bool(members) and all(
                isinstance(m, type) and issubclass(m, BaseModel) for m in members
            )
            wanted = "an object" if objects_only else "a string or an object"
            return problem(
                f"Invalid type for '{path}': expected {wanted}, but got "
                f"{json_type_name(value)} instead.",
                "invalid_type",
                path,
            )
        if kind == "union_tag_not_found":
            known = at_fault.allowed if at_fault is not None else None
            return problem(
                f"Missing required parameter: '{param}'.",
                "missing_required_parameter",
                param,
                known,
            )
        tags = list(by_type) if not path else _quoted(str(ctx["expected_tags"]))
        tags = tags if by_key else [t for t in tags if t != "mode"]  # the string member's tag
        return problem(
            f"Invalid value: '{ctx.get('tag')}'. Supported values are: {_listing(tags)}.",
            "invalid_value",
            param,
            tags,
        )
    if kind == "missing":
        return problem(f"Missing required parameter: '{path}'.", "missing_required_parameter", path)
    if kind == "extra_forbidden":
        return problem(f"Unknown parameter: '{path}'.", "unknown_parameter", path)
    if kind == "literal_error":
        allowed = _listing(_quoted(str(ctx.get("expected", ""))))
        return problem(
            f"Invalid value: '{value}'. Supported values are: {allowed}.", "invalid_value", path
        )
    if kind in TYPE_WORDS:
        return problem(
            f"Invalid type for '{path}': expected {TYPE_WORDS[kind]}, but got "
            f"{json_type_name(value)} instead.",
            "invalid_type",
            path,
        )
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        number = "integer" if isinstance(value, int) and not isinstance(value, bool) else "decimal"
        above = kind.startswith("less")
        limit = next(ctx[k] for k in ("ge", "gt", "le", "lt") if k in ctx)
        sign = (
            ("<=" if kind.endswith("equal") else "<")
            if above
            else (">=" if kind.endswith("equal") else ">")
        )
        return problem(
            f"Invalid '{path}': {number} {'above maximum' if above else 'below minimum'} value. "
            f"Expected a value {sign} {limit}, but got {value} instead.",
            f"{number}_{'above_max' if above else 'below_min'}_value",
            path,
        )
    if kind in ("string_too_short", "string_too_long", "too_short", "too_long"):
        what = "string" if kind.startswith("string") else "array"
        short = kind.endswith("short")
        bound = ctx.get("min_length" if short else "max_length")
        length = len(value) if isinstance(value, str | list | dict) else ctx.get("actual_length")
        return problem(
            f"Invalid '{path}': {what} too {'short' if short else 'long'}. Expected "
            f"{'a string' if what == 'string' else 'an array'} with "
            f"{'minimum' if short else 'maximum'} length {bound}, but got "
            f"{'a string' if what == 'string' else 'an array'} with length {length} instead.",
            f"{what}_{'below_min' if short else 'above_max'}_length",
            path,
        )
    message = str(ctx.get("error", err["msg"]))
    return problem(f"Invalid value for '{path}': {message}.", "invalid_value", path)
