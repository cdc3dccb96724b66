"""Typed client events: items and response parameters, validated as OpenAI validates them.

Every event these models produce validates strictly against the official SDK; every malformed
one is refused with OpenAI's message, code and param (what the local server answers, and what
``encode`` raises before anything is sent)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_widgets.errors import ConfigError
from realtime_widgets.protocol import client_events as ce
from realtime_widgets.protocol import events as ev

from .sdk_oracle import check_client_event


def user(*parts: Any) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": list(parts)}


def create(item: Any) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": item}


def respond(response: Any) -> dict[str, Any]:
    return {"type": "response.create", "response": response}


TEXT = {"type": "input_text", "text": "hi"}
VALID_ITEMS: list[dict[str, Any]] = [
    user(TEXT),
    user({"type": "input_audio", "audio": "AAAA", "transcript": "hi"}, TEXT),
    # A real 1x1 PNG: the local server reads an image's header to say what it received.
    user(
        {
            "type": "input_image",
            "image_url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==",
            "detail": "low",
        }
    ),
    {"type": "message", "role": "system", "content": [TEXT], "id": "item_sys"},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
    {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "object": "realtime.item",
        "content": [{"type": "output_audio", "transcript": "ok"}],
    },
    {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'},
    {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'},
    {"type": "mcp_approval_response", "id": "a1", "approval_request_id": "r1", "approve": True},
    {
        "type": "mcp_list_tools",
        "server_label": "docs",
        "tools": [{"name": "search", "input_schema": {"type": "object"}, "description": "d"}],
    },
    {
        "type": "mcp_call",
        "id": "m1",
        "server_label": "docs",
        "name": "search",
        "arguments": "{}",
        "output": "found",
    },
    {
        "type": "mcp_call",
        "id": "m2",
        "server_label": "docs",
        "name": "search",
        "arguments": "{}",
        "error": {"type": "protocol_error", "code": -32600, "message": "bad"},
    },
    {
        "type": "mcp_call",
        "id": "m3",
        "server_label": "docs",
        "name": "search",
        "arguments": "{}",
        "error": {"type": "tool_execution_error", "message": "failed"},
    },
    {
        "type": "mcp_approval_request",
        "id": "q1",
        "server_label": "docs",
        "name": "search",
        "arguments": "{}",
    },
]
VALID_RESPONSES: list[dict[str, Any]] = [
    {},
    {"output_modalities": ["text"], "instructions": "Be brief.", "max_output_tokens": 50},
    {"max_output_tokens": "inf", "conversation": "none", "metadata": {"topic": "weather"}},
    {
        "tools": [
            {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}},
            {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp"},
        ],
        "tool_choice": {"type": "function", "name": "f"},
        "parallel_tool_calls": False,
    },
    {"tool_choice": "required", "reasoning": {"effort": "low"}, "prompt": {"id": "pmpt_1"}},
    {"tool_choice": {"type": "mcp", "server_label": "docs"}},
    {"audio": {"output": {"voice": "marin", "format": {"type": "audio/pcm", "rate": 24000}}}},
    {"audio": {"output": {"voice": {"id": "voice_123"}, "format": {"type": "audio/pcmu"}}}},
    {"conversation": "none", "input": [user(TEXT), VALID_ITEMS[7]]},
]


@pytest.mark.parametrize("item", VALID_ITEMS, ids=lambda i: f"{i['type']}-{i.get('role', '')}")
def test_every_item_type_encodes_and_validates_against_the_sdk(item: dict[str, Any]) -> None:
    wire = json.loads(ce.encode(create(item)))
    assert wire == {"type": "conversation.item.create", "item": item}  # nothing added or lost
    check_client_event(wire)
    parsed = ev.parse_client_event(wire)
    assert isinstance(parsed, ce.ConversationItemCreate)
    assert json.loads(ce.encode(parsed)) == wire


@pytest.mark.parametrize("params", VALID_RESPONSES, ids=lambda r: ",".join(r) or "empty")
def test_every_response_parameter_encodes_and_validates_against_the_sdk(
    params: dict[str, Any],
) -> None:
    wire = json.loads(ce.encode(respond(params)))
    check_client_event(wire)
    assert isinstance(ev.parse_client_event(wire), ce.ResponseCreate)
    for key, value in params.items():
        if key != "tools":  # tools are sent whole, with their defaults filled in
            assert wire["response"][key] == value


def test_models_built_in_python_encode_with_their_tags() -> None:
    event = ce.ConversationItemCreate(
        item=ce.UserMessage(content=[ce.InputTextPart(text="hi")]), previous_item_id="root"
    )
    wire = json.loads(ce.encode(event))
    assert wire == {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}],
        },
        "previous_item_id": "root",
    }
    check_client_event(wire)
    response = ce.ResponseCreate(
        response=ce.ResponseParams(
            output_modalities=["text"],
            audio=ce.ResponseAudio(output=ce.ResponseAudioOutput(voice="cedar")),
        )
    )
    wire = json.loads(ce.encode(response))
    assert wire["response"] == {
        "output_modalities": ["text"],
        "audio": {"output": {"voice": "cedar"}},
    }
    check_client_event(wire)


def test_a_function_name_as_tool_choice_is_sent_as_the_object() -> None:
    wire = json.loads(ce.encode(respond({"tool_choice": "lookup"})))
    assert wire["response"]["tool_choice"] == {"type": "function", "name": "lookup"}
    check_client_event(wire)


INVALID: list[tuple[dict[str, Any], str, str, str]] = [
    # (event, message, code, param)
    (
        create({"role": "user", "content": [TEXT]}),
        "Missing required parameter: 'item.type'.",
        "missing_required_parameter",
        "item.type",
    ),
    (
        create({"type": "bogus"}),
        "Invalid value: 'bogus'. Supported values are: 'message', 'function_call', "
        "'function_call_output', 'mcp_approval_response', 'mcp_list_tools', 'mcp_call', and "
        "'mcp_approval_request'.",
        "invalid_value",
        "item.type",
    ),
    (
        create({"type": "message", "role": "bot", "content": [TEXT]}),
        "Invalid value: 'bot'. Supported values are: 'user', 'assistant', and 'system'.",
        "invalid_value",
        "item.role",
    ),
    (
        create({"type": "message", "content": [TEXT]}),
        "Missing required parameter: 'item.role'.",
        "missing_required_parameter",
        "item.role",
    ),
    (
        create(user({"type": "output_text", "text": "x"})),
        "Invalid value: 'output_text'. Supported values are: 'input_text', 'input_audio', and "
        "'input_image'.",
        "invalid_value",
        "item.content[0].type",
    ),
    (
        create({"type": "message", "role": "system", "content": [{"type": "input_audio"}]}),
        "Invalid value: 'input_audio'. Supported values are: 'input_text'.",
        "invalid_value",
        "item.content[0].type",
    ),
    (
        create({"type": "message", "role": "assistant", "content": [TEXT]}),
        "Invalid value: 'input_text'. Supported values are: 'output_text' and 'output_audio'.",
        "invalid_value",
        "item.content[0].type",
    ),
    (
        create(user(TEXT, {"type": "input_text"})),
        "Missing required parameter: 'item.content[1].text'.",
        "missing_required_parameter",
        "item.content[1].text",
    ),
    (
        create(user({"type": "input_image"})),
        "Missing required parameter: 'item.content[0].image_url'.",
        "missing_required_parameter",
        "item.content[0].image_url",
    ),
    (
        create(user()),
        "Invalid 'item.content': array too short. Expected an array with minimum length 1, but "
        "got an array with length 0 instead.",
        "array_below_min_length",
        "item.content",
    ),
    (
        create({**user(TEXT), "id": "x" * 65}),
        "Invalid 'item.id': string too long. Expected a string with maximum length 64, but got "
        "a string with length 65 instead.",
        "string_above_max_length",
        "item.id",
    ),
    (
        create({"type": "function_call_output", "output": "x"}),
        "Missing required parameter: 'item.call_id'.",
        "missing_required_parameter",
        "item.call_id",
    ),
    (
        create({"type": "function_call_output", "call_id": "c", "output": 5}),
        "Invalid type for 'item.output': expected a string, but got a number instead.",
        "invalid_type",
        "item.output",
    ),
    (
        create({"type": "function_call", "call_id": "c", "name": "f"}),
        "Missing required parameter: 'item.arguments'.",
        "missing_required_parameter",
        "item.arguments",
    ),
    (
        create({"type": "function_call_output", "call_id": "c", "output": "x", "foo": 1}),
        "Unknown parameter: 'item.foo'.",
        "unknown_parameter",
        "item.foo",
    ),
    (
        create({"type": "mcp_approval_response", "approval_request_id": "r", "approve": True}),
        "Missing required parameter: 'item.id'.",
        "missing_required_parameter",
        "item.id",
    ),
    (
        create("hello"),
        "Invalid type for 'item': expected an object, but got a string instead.",
        "invalid_type",
        "item",
    ),
    (
        respond({"foo": 1}),
        "Unknown parameter: 'response.foo'.",
        "unknown_parameter",
        "response.foo",
    ),
    (
        respond({"conversation": "mine"}),
        "Invalid value: 'mine'. Supported values are: 'auto' and 'none'.",
        "invalid_value",
        "response.conversation",
    ),
    (
        respond({"max_output_tokens": 9000}),
        "Invalid 'response.max_output_tokens': integer above maximum value. Expected a value <= "
        "4096, but got 9000 instead.",
        "integer_above_max_value",
        "response.max_output_tokens",
    ),
    (
        respond({"audio": "loud"}),
        "Invalid type for 'response.audio': expected an object, but got a string instead.",
        "invalid_type",
        "response.audio",
    ),
    (
        respond({"audio": {"output": {"voice": "Puck"}}}),
        "Invalid value: 'Puck'. Supported values are: 'alloy', 'ash', 'ballad', 'coral', 'echo', "
        "'sage', 'shimmer', 'verse', 'marin', and 'cedar'.",
        "invalid_value",
        "response.audio.output.voice",
    ),
    (
        respond({"audio": {"output": {"voice": 5}}}),
        "Invalid type for 'response.audio.output.voice': expected a string or an object, but got "
        "a number instead.",
        "invalid_type",
        "response.audio.output.voice",
    ),
    (
        respond({"audio": {"output": {"format": {"type": "audio/wav"}}}}),
        "Invalid value: 'audio/wav'. Supported values are: 'audio/pcm', 'audio/pcmu', and "
        "'audio/pcma'.",
        "invalid_value",
        "response.audio.output.format.type",
    ),
    (
        respond({"output_modalities": ["text", "audio"]}),
        "Invalid 'response.output_modalities': array too long. Expected an array with maximum "
        "length 1, but got an array with length 2 instead.",
        "array_above_max_length",
        "response.output_modalities",
    ),
    (
        respond({"tool_choice": {"type": "bogus"}}),
        "Invalid value: 'bogus'. Supported values are: 'function' and 'mcp'.",
        "invalid_value",
        "response.tool_choice.type",
    ),
    (
        respond({"input": [user({"type": "input_text"})]}),
        "Missing required parameter: 'response.input[0].content[0].text'.",
        "missing_required_parameter",
        "response.input[0].content[0].text",
    ),
    (
        {"type": "response.explode"},
        "Invalid value: 'response.explode'. Supported values are: 'session.update', "
        "'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', "
        "'conversation.item.create', 'conversation.item.truncate', 'conversation.item.delete', "
        "'conversation.item.retrieve', 'response.create', 'response.cancel', and "
        "'output_audio_buffer.clear'.",
        "invalid_value",
        "type",
    ),
    (
        {"event_id": "e1"},
        "Missing required parameter: 'type'.",
        "missing_required_parameter",
        "type",
    ),
    (
        {"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": -1},
        "Invalid 'audio_end_ms': integer below minimum value. Expected a value >= 0, but got -1 "
        "instead.",
        "integer_below_min_value",
        "audio_end_ms",
    ),
]


@pytest.mark.parametrize(("event", "message", "code", "param"), INVALID, ids=lambda x: "")
def test_encode_refuses_a_bad_event_in_openais_words(
    event: dict[str, Any], message: str, code: str, param: str
) -> None:
    with pytest.raises(ConfigError) as info:
        ce.encode(event)
    assert (info.value.problems[0].message, info.value.code, info.value.param) == (
        message,
        code,
        param,
    )
