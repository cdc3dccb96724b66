"""Conversation items and the client events that edit a conversation, built from typed records.

Every builder here returns a client event as a JSON-ready dict, validated twice: by the typed
record of what it carries (unknown keys, bad values and sizes are a :class:`ConfigError` naming
the field) and by our client-event model. The records mirror the GA item types one to one, so
their ``model_dump`` is the wire object (the test suite checks each against the official SDK).

Items::

    user_text("Hi")                              # message, role user, input_text
    user_image(fig, detail="low", text="What is this?")   # input_image as a data URL
    user_audio(pcm16_bytes)                      # input_audio, base64
    system_text("Be brief."), assistant_text("Sure.")
    function_call_output("call_1", '{"ok": true}')
    mcp_approval_response("mcpr_1", approve=True)

Events::

    create_item(user_text("Hi"), previous_item_id="item_3")   # "root" puts it first
    retrieve_item("item_3"), delete_item("item_3"), truncate_item("item_4", 1500)
    create_response(conversation="none", metadata={"topic": "x"}, input=[user_text("Sum up")])
    approve_mcp("mcpr_1", approve=False, reason="not now")
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError, field_validator

from realtime_widgets.errors import ConfigError, FieldProblem
from realtime_widgets.protocol import events as ev
from realtime_widgets.protocol.client_events import (
    AssistantMessage,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudioPart,
    InputImagePart,
    InputTextPart,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpListToolsItem,
    OutputAudioPart,
    OutputTextPart,
    ResponseParams,
    SystemMessage,
    UserMessage,
)
from realtime_widgets.protocol.configbase import plain
from realtime_widgets.protocol.images import image_data_url
from realtime_widgets.protocol.problems import problems_from_validation_error

__all__ = [
    "AssistantMessage",
    "ClientItem",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "InputAudioPart",
    "InputImagePart",
    "InputTextPart",
    "McpApprovalRequestItem",
    "McpApprovalResponseItem",
    "McpCallItem",
    "McpListToolsItem",
    "OutputAudioPart",
    "OutputTextPart",
    "ResponseOverrides",
    "ResponseParams",
    "SystemMessage",
    "UserMessage",
    "approve_mcp",
    "assistant_text",
    "create_item",
    "create_response",
    "delete_item",
    "function_call_output",
    "mcp_approval_response",
    "retrieve_item",
    "system_text",
    "truncate_item",
    "user_audio",
    "user_image",
    "user_text",
]

# OpenAI's metadata limits: 16 pairs, keys up to 64 characters, values up to 512.
METADATA_MAX_PAIRS = 16
METADATA_MAX_KEY = 64
METADATA_MAX_VALUE = 512


R = TypeVar("R", bound=BaseModel)

# The records are the client events' own (one definition of each GA item and part); this module
# adds the builders, the checks OpenAI makes that a schema does not state, and errors that name
# the field.
ClientItem = (
    SystemMessage
    | UserMessage
    | AssistantMessage
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpApprovalRequestItem
    | McpApprovalResponseItem
    | McpCallItem
    | McpListToolsItem
)
"""Any item a client may put into the conversation (``conversation.item.create``)."""

_ITEM_CLASSES: dict[str, type[BaseModel]] = {
    "message:system": SystemMessage,
    "message:user": UserMessage,
    "message:assistant": AssistantMessage,
    "function_call": FunctionCallItem,
    "function_call_output": FunctionCallOutputItem,
    "mcp_approval_request": McpApprovalRequestItem,
    "mcp_approval_response": McpApprovalResponseItem,
    "mcp_call": McpCallItem,
    "mcp_list_tools": McpListToolsItem,
}


def _item_kind(value: Any) -> str | None:
    """Union tag: messages by role, everything else by type."""
    if isinstance(value, dict):
        kind, role = value.get("type"), value.get("role")
    else:
        kind, role = getattr(value, "type", None), getattr(value, "role", None)
    if kind == "message":
        return f"message:{role}"
    return kind if isinstance(kind, str) else None


def _under(where: str, problem: FieldProblem) -> FieldProblem:
    """The problem with its field (and the message's leading path) inside ``where``."""
    message = problem.message
    if message.startswith(problem.field):
        message = f"{where}.{message}"
    return dataclasses.replace(problem, field=f"{where}.{problem.field}", message=message)


def _validated(cls: type[R], data: Any, where: str) -> R:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, cls)
        raise ConfigError([_under(where, p) for p in problems]) from None


def as_item(item: BaseModel | dict[str, Any], where: str = "item") -> BaseModel:
    """A typed item from a record or a plain dict; :class:`ConfigError` names the bad field."""
    if isinstance(item, BaseModel) and type(item) in _ITEM_CLASSES.values():
        return item
    data = item.model_dump() if isinstance(item, BaseModel) else item
    kind = _item_kind(data)
    cls = _ITEM_CLASSES.get(kind or "")
    if cls is None:
        allowed = ", ".join(sorted(_ITEM_CLASSES))
        raise ConfigError.single(
            f"{where}.type",
            f"{where}: unknown item kind {kind!r}; items are: {allowed}",
            allowed=allowed,
        )
    return _validated(cls, data, where)


# ---- item builders ----------------------------------------------------------------------------


def user_text(text: str, *, id: str | None = None) -> UserMessage:
    """A user message with typed text."""
    return _validated(
        UserMessage, {"content": [{"type": "input_text", "text": text}], "id": id}, "item"
    )


def system_text(text: str, *, id: str | None = None) -> SystemMessage:
    """A system message (instructions placed in the conversation)."""
    return _validated(
        SystemMessage, {"content": [{"type": "input_text", "text": text}], "id": id}, "item"
    )


def assistant_text(text: str, *, id: str | None = None) -> AssistantMessage:
    """An assistant message with text, e.g. to seed a conversation with an example answer."""
    return _validated(
        AssistantMessage, {"content": [{"type": "output_text", "text": text}], "id": id}, "item"
    )


def user_audio(
    audio: bytes | str, *, transcript: str | None = None, id: str | None = None
) -> UserMessage:
    """A user message with audio: raw bytes in the session's input format, or base64 text."""
    encoded = base64.b64encode(audio).decode("ascii") if isinstance(audio, bytes) else audio
    part: dict[str, Any] = {"type": "input_audio", "audio": encoded, "transcript": transcript}
    return _validated(UserMessage, {"content": [part], "id": id}, "item")


def user_image(
    image: Any,
    *,
    detail: Literal["auto", "low", "high"] = "auto",
    text: str | None = None,
    id: str | None = None,
) -> UserMessage:
    """A user message with an image (figure, PIL image, array, path or bytes; see
    :func:`~.images.image_data_url`), optionally followed by a question about it."""
    url, _info = image_data_url(image)
    content: list[dict[str, Any]] = [{"type": "input_image", "image_url": url, "detail": detail}]
    if text:
        content.append({"type": "input_text", "text": text})
    return _validated(UserMessage, {"content": content, "id": id}, "item")


def function_call_output(
    call_id: str, output: str, *, id: str | None = None
) -> FunctionCallOutputItem:
    """The result of a function call, to send before asking for the next response."""
    return _validated(
        FunctionCallOutputItem, {"call_id": call_id, "output": output, "id": id}, "item"
    )


def new_item_id() -> str:
    """A fresh client-side item id (``item_`` + 20 hex digits, within OpenAI's 32)."""
    return "item_" + uuid.uuid4().hex[:20]


def mcp_approval_response(
    approval_request_id: str,
    approve: bool,
    *,
    reason: str | None = None,
    id: str | None = None,
) -> McpApprovalResponseItem:
    """The answer to an ``mcp_approval_request`` item: run the tool call (or not)."""
    if not isinstance(approve, bool):
        raise ConfigError.single(
            "item.approve",
            f"item.approve must be True or False, got {approve!r}",
            code="invalid_type",
            allowed="True, False",
        )
    data = {
        "id": id or new_item_id(),
        "approval_request_id": approval_request_id,
        "approve": approve,
        "reason": reason,
    }
    return _validated(McpApprovalResponseItem, data, "item")


# ---- response parameters ------------------------------------------------------------------------


class ResponseOverrides(ResponseParams):
    """:class:`~.client_events.ResponseParams` with the limits OpenAI states in words: metadata
    (16 pairs, keys up to 64 characters, values up to 512) and the token limit's range, each
    refused with a message that names the field and the allowed values.

    ``conversation="none"`` makes an out-of-band response: not added to the conversation (its
    items stay out of the transcript), with ``input`` as its own context.
    """

    @field_validator("metadata")
    @classmethod
    def _metadata_limits(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        if len(value) > METADATA_MAX_PAIRS:
            raise ValueError(f"at most {METADATA_MAX_PAIRS} pairs, got {len(value)}")
        for key, text in value.items():
            if len(key) > METADATA_MAX_KEY:
                raise ValueError(
                    f"key {key[:20]!r}... is longer than {METADATA_MAX_KEY} characters"
                )
            if len(text) > METADATA_MAX_VALUE:
                raise ValueError(f"value of {key!r} is longer than {METADATA_MAX_VALUE} characters")
        return value

    @field_validator("max_output_tokens", mode="before")
    @classmethod
    def _tokens(cls, value: Any) -> Any:
        if value is None or value == "inf":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
            raise ValueError(f"must be an integer from 1 to 4096 or 'inf', got {value!r}")
        return value

    @field_validator("input", mode="before")
    @classmethod
    def _typed_items(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [as_item(v, f"input[{i}]").model_dump() for i, v in enumerate(value)]
        return value


# ---- client events ------------------------------------------------------------------------------


def _event(model: ev.ClientEvent) -> dict[str, Any]:
    wire: dict[str, Any] = json.loads(ev.encode(model))
    return wire


def create_item(
    item: BaseModel | dict[str, Any],
    *,
    previous_item_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """``conversation.item.create``: add ``item`` after ``previous_item_id`` (``"root"``: at
    the start; ``None``: at the end)."""
    typed = as_item(item)
    return _event(
        ev.ConversationItemCreate(
            item=plain(typed), previous_item_id=previous_item_id, event_id=event_id
        )
    )


def retrieve_item(item_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.retrieve``: the server answers with the item (audio included)."""
    return _event(ev.ConversationItemRetrieve(item_id=item_id, event_id=event_id))


def delete_item(item_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    """``conversation.item.delete``: remove an item from the conversation."""
    return _event(ev.ConversationItemDelete(item_id=item_id, event_id=event_id))


def truncate_item(
    item_id: str, audio_end_ms: int, *, content_index: int = 0, event_id: str | None = None
) -> dict[str, Any]:
    """``conversation.item.truncate``: cut an assistant item's audio (and transcript) at
    ``audio_end_ms``, the point the listener actually heard."""
    try:
        model = ev.ConversationItemTruncate(
            item_id=item_id,
            audio_end_ms=audio_end_ms,
            content_index=content_index,
            event_id=event_id,
        )
    except ValidationError as exc:
        raise ConfigError(
            problems_from_validation_error(exc, ev.ConversationItemTruncate)
        ) from None
    return _event(model)


def create_response(
    *,
    conversation: Literal["auto", "none"] | None = None,
    metadata: dict[str, str] | None = None,
    input: list[BaseModel | dict[str, Any]] | None = None,
    event_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """``response.create`` with per-response overrides (``instructions``, ``output_modalities``,
    ``tools``, ``tool_choice``, ``max_output_tokens``, ``audio``, ...) and out-of-band options.

    ``create_response(conversation="none", metadata={"purpose": "summary"}, input=[...])`` asks
    for a response outside the conversation; :class:`ConversationState` keeps it apart.
    """
    fields = {
        "conversation": conversation,
        "metadata": metadata,
        "input": input,
        **overrides,
    }
    given = {k: v for k, v in fields.items() if v is not None}
    if not given:
        return _event(ev.ResponseCreate(event_id=event_id))
    params = _validated(ResponseOverrides, given, "response")
    return _event(ev.ResponseCreate(response=plain(params), event_id=event_id))


def approve_mcp(
    approval_request_id: str,
    approve: bool = True,
    *,
    reason: str | None = None,
    previous_item_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The ``conversation.item.create`` that answers an MCP approval request."""
    item = mcp_approval_response(approval_request_id, approve, reason=reason)
    return create_item(item, previous_item_id=previous_item_id, event_id=event_id)
