"""ChatResponder against a real Chat Completions endpoint on 127.0.0.1 (tests/server/
chat_endpoint.py: stdlib HTTP, SSE chunks in OpenAI's format, every request recorded).

Its stream is iterated directly here (text deltas, then at most one FunctionCall; a
ResponderError with a documented code on failure); tests/server/test_chat_session.py drives it
through a LocalServer session."""

from __future__ import annotations

import json
import logging
import pickle
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_widgets.errors import ConfigError, RealtimeWidgetsError
from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.protocol.parts import FunctionTool, McpTool, ToolChoiceFunction, ToolChoiceMcp
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.reply.chat import (
    CHAT_ERROR_CODES,
    DEFAULT_CHAT_INSTRUCTIONS,
    NO_TOOL_OUTPUT,
    NOT_TRANSCRIBED,
    NOTHING_HEARD,
    ChatResponder,
    chat_messages,
)
from realtime_widgets.server.reply.responder import FunctionCall, ReplyContext, ResponderError
from tests.server.chat_endpoint import (
    ChatEndpoint,
    Reply,
    chunk,
    dead_url,
    text_chunks,
    tool_chunks,
)
from tests.waiting import MS, eventually_async

KEY = "sk-test-Very-Secret-0123456789"
WEATHER = FunctionTool(
    name="get_weather",
    description="The weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


@pytest.fixture
def endpoint() -> Iterator[ChatEndpoint]:
    with ChatEndpoint() as e:
        yield e


def user_text(text: str, item_id: str = "item_u1") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


def user_audio(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def context(
    conversation: list[dict[str, Any]] | None = None,
    *,
    instructions: str | None = "Be brief.",
    transcripts: dict[str, str] | None = None,
    **config: Any,
) -> ReplyContext:
    return ReplyContext(
        config=SessionConfig(**config),
        conversation=conversation if conversation is not None else [user_text("Hello?")],
        instructions=instructions,
        transcripts=transcripts or {},
    )


async def reply(responder: ChatResponder, ctx: ReplyContext) -> list[Any]:
    return [piece async for piece in await responder(ctx)]


async def failure(responder: ChatResponder, ctx: ReplyContext) -> tuple[list[Any], ResponderError]:
    """What the stream yielded before it failed, and its ResponderError."""
    got: list[Any] = []

    async def drain() -> None:
        async for piece in await responder(ctx):
            got.append(piece)

    with pytest.raises(ResponderError) as info:
        await drain()
    return got, info.value


# ---- the request ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_request_holds_instructions_the_conversation_in_order_and_the_settings(
    endpoint: ChatEndpoint,
) -> None:
    conversation = [
        user_text("What's the weather in Paris?", "item_1"),
        {
            "id": "item_2",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_audio", "transcript": "Let me check."}],
        },
        {
            "id": "item_3",
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"id": "item_4", "type": "function_call_output", "call_id": "call_1", "output": "21 C"},
        user_audio("item_5"),  # the server heard it (ctx.transcripts)
        user_audio("item_6", transcript="Thanks."),  # only its own transcript
        user_audio("item_7"),  # nothing transcribed it
        user_audio("item_8"),  # transcribed: no words
    ]
    ctx = context(
        conversation,
        instructions="You are a weather bot.",
        transcripts={"item_5": "And tomorrow?", "item_8": ""},
        tools=[WEATHER],
        tool_choice="required",
        max_output_tokens=200,
        temperature=0.8,
    )
    responder = ChatResponder(endpoint.url, "test-model")
    assert await reply(responder, ctx) == ["Hello", " from", " the chat endpoint."]
    [request] = endpoint.requests
    assert request.path == "/v1/chat/completions"
    body = request.body
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "21 C"},
        {"role": "user", "content": "And tomorrow?"},
        {"role": "user", "content": "Thanks."},
        {"role": "user", "content": NOT_TRANSCRIBED},
        {"role": "user", "content": NOTHING_HEARD},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": WEATHER.parameters,
            },
        }
    ]
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is False
    assert body["temperature"] == 0.8
    assert body["max_tokens"] == 200
    assert "max_completion_tokens" not in body


@pytest.mark.asyncio
async def test_max_output_tokens_inf_sends_no_limit_and_the_limit_field_is_chosen(
    endpoint: ChatEndpoint,
) -> None:
    await reply(ChatResponder(endpoint.url, "m"), context(max_output_tokens="inf"))
    newer = ChatResponder(endpoint.url, "m", max_tokens_param="max_completion_tokens")
    await reply(newer, context(max_output_tokens=64))
    first, second = (r.body for r in endpoint.requests)
    assert "max_tokens" not in first
    assert "max_completion_tokens" not in first
    assert "temperature" not in first  # the session has none (GA)
    assert second["max_completion_tokens"] == 64
    assert "max_tokens" not in second


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (
            ToolChoiceFunction(name="get_weather"),
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_tool_choice_is_mapped(choice: Any, sent: Any) -> None:
    responder = ChatResponder("http://127.0.0.1:9/v1", "m")
    body = responder.request(context(tools=[WEATHER], tool_choice=choice))
    assert body["tool_choice"] == sent
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]


def test_without_function_tools_no_tool_fields_are_sent() -> None:
    body = ChatResponder("http://127.0.0.1:9/v1", "m").request(context())
    assert set(body) == {"model", "messages"}


def test_mcp_tools_are_left_out_and_a_warning_names_them_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responder = ChatResponder("http://127.0.0.1:9/v1", "m")
    docs = McpTool(server_label="docs", server_url="https://mcp.example.com")
    with caplog.at_level(logging.WARNING, logger="realtime_widgets.server.chat"):
        body = responder.request(context(tools=[WEATHER, docs]))
        responder.request(context(tools=[WEATHER, docs]))
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
    warnings = [r.getMessage() for r in caplog.records if "MCP" in r.getMessage()]
    assert len(warnings) == 1
    assert "docs" in warnings[0]
    assert "not passed on" in warnings[0]


@pytest.mark.asyncio
async def test_a_forced_mcp_tool_fails_before_any_request(endpoint: ChatEndpoint) -> None:
    docs = McpTool(server_label="docs", server_url="https://mcp.example.com")
    responder = ChatResponder(endpoint.url, "m")
    with pytest.raises(ResponderError) as info:
        await responder(context(tools=[docs], tool_choice=ToolChoiceMcp(server_label="docs")))
    assert info.value.code == "chat_unsupported"
    assert info.value.type == "invalid_request_error"
    assert "'docs'" in info.value.message
    assert endpoint.requests == []


@pytest.mark.parametrize(
    ("instructions", "default", "system"),
    [
        ("Speak like a pirate.", DEFAULT_CHAT_INSTRUCTIONS, "Speak like a pirate."),
        (None, DEFAULT_CHAT_INSTRUCTIONS, DEFAULT_CHAT_INSTRUCTIONS),  # the server's default
        (None, None, None),  # default_instructions=None: no system message
        ("", DEFAULT_CHAT_INSTRUCTIONS, None),  # cleared by the client
    ],
)
def test_the_system_message(
    instructions: str | None, default: str | None, system: str | None
) -> None:
    messages = chat_messages(context(instructions=instructions), default_instructions=default)
    expected = [{"role": "system", "content": system}] if system else []
    assert messages == [*expected, {"role": "user", "content": "Hello?"}]


def test_calls_in_a_row_share_one_assistant_message_and_each_gets_its_tool_message() -> None:
    def call(n: int) -> dict[str, Any]:
        return {"type": "function_call", "call_id": f"c{n}", "name": "f", "arguments": ""}

    conversation = [
        user_text("go"),
        call(1),
        call(2),
        user_text("never mind"),  # before any output: the calls still get tool messages first
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "lost", "output": "orphan"},
    ]
    messages = chat_messages(context(conversation, instructions=None), default_instructions=None)
    assert messages == [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": NO_TOOL_OUTPUT},
        {"role": "user", "content": "never mind"},
        {"role": "user", "content": "[output of tool call lost] orphan"},
    ]


def test_images_are_a_note_unless_passed_on() -> None:
    url = "data:image/png;base64,iVBORw0KGgo="
    item = {
        "id": "item_i",
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": url},
        ],
    }
    text_only = chat_messages(context([item], instructions=""))
    assert text_only[0]["content"].startswith("What is this?\n[the user sent an image")
    vision = chat_messages(context([item], instructions=""), images=True)
    assert vision[0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url}},
    ]


# ---- the stream -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_text_deltas_come_as_sent_without_leading_whitespace_or_reasoning(
    endpoint: ChatEndpoint,
) -> None:
    endpoint.queue(
        Reply(
            [
                chunk({"role": "assistant", "content": ""}),
                chunk({"reasoning_content": "The user greets me."}),
                chunk({"content": "\n\n"}),
                chunk({"content": " Hi"}),
                chunk({"content": " there!"}),
                chunk({}, "stop"),
                {
                    "id": "u",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": "m",
                    "choices": [],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
                },
            ]
        )
    )
    assert await reply(ChatResponder(endpoint.url, "m"), context()) == ["Hi", " there!"]


@pytest.mark.asyncio
async def test_a_streamed_tool_call_comes_back_as_one_function_call_after_the_text(
    endpoint: ChatEndpoint,
) -> None:
    calling = tool_chunks("get_weather", '{"ci', 'ty": ', '"Paris"}')
    endpoint.queue(Reply([chunk({"role": "assistant", "content": "Checking."}), *calling]))
    got = await reply(ChatResponder(endpoint.url, "m"), context(tools=[WEATHER]))
    assert got == ["Checking.", FunctionCall("get_weather", '{"city": "Paris"}')]
    assert json.loads(got[-1].arguments_json()) == {"city": "Paris"}


@pytest.mark.asyncio
async def test_a_second_parallel_call_is_not_made_and_a_warning_says_so(
    endpoint: ChatEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    two = {
        "role": "assistant",
        "tool_calls": [
            {
                "index": 0,
                "id": "a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            },
            {
                "index": 1,
                "id": "b",
                "type": "function",
                "function": {"name": "get_time", "arguments": "{}"},
            },
        ],
    }
    endpoint.queue(Reply([chunk(two), chunk({}, "tool_calls")]))
    with caplog.at_level(logging.WARNING, logger="realtime_widgets.server.chat"):
        got = await reply(ChatResponder(endpoint.url, "m"), context(tools=[WEATHER]))
    assert got == [FunctionCall("get_weather", '{"city": "Oslo"}')]
    assert any("get_time" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_a_call_with_no_arguments_has_an_empty_object(endpoint: ChatEndpoint) -> None:
    endpoint.queue(Reply(tool_chunks("get_time")))
    assert await reply(ChatResponder(endpoint.url, "m"), context()) == [
        FunctionCall("get_time", "{}")
    ]


@pytest.mark.asyncio
async def test_a_reply_cut_short_closes_its_request(endpoint: ChatEndpoint) -> None:
    # A barge-in: the server stops reading the stream and closes it; the HTTP request ends.
    endpoint.queue(Reply(text_chunks(*(f"word{i} " for i in range(400))), gap_s=20 * MS))
    stream = await ChatResponder(endpoint.url, "m")(context())
    assert await anext(stream) == "word0 "
    await stream.aclose()  # type: ignore[attr-defined]
    await eventually_async(lambda: endpoint.disconnects == 1, timeout=30)
    assert not endpoint.finished.is_set()


# ---- failures ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_dead_endpoint_is_unreachable() -> None:
    url = dead_url()
    _, error = await failure(ChatResponder(url, "llama3.2"), context())
    assert error.code == "chat_unreachable"
    assert error.type == "server_error"
    assert error.message.startswith(f"chat endpoint {url} (model llama3.2): cannot connect")


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (500, {"error": {"message": "model exploded", "type": "server_error"}}, "model exploded"),
        # Ollama's answer for a model it does not have
        (
            404,
            {
                "error": {
                    "message": 'model "llama9" not found, try pulling it first',
                    "type": "api_error",
                }
            },
            'model "llama9" not found, try pulling it first',
        ),
        (503, {"detail": "loading"}, '{"detail": "loading"}'),  # not OpenAI's error shape
    ],
)
@pytest.mark.asyncio
async def test_an_http_error_carries_the_status_and_the_endpoints_message(
    endpoint: ChatEndpoint, status: int, body: dict[str, Any], said: str
) -> None:
    endpoint.queue(Reply(status=status, error=body))
    _, error = await failure(ChatResponder(endpoint.url, "llama9"), context())
    assert error.code == "chat_http_error"
    assert error.message == f"chat endpoint {endpoint.url} (model llama9): HTTP {status}: {said}"
    assert len(endpoint.requests) == 1  # no retry


@pytest.mark.parametrize(
    "slow",
    [
        Reply(text_chunks("late"), delay_s=60),  # not even the headers
        # the headers and a role chunk at once (vLLM does), then no token
        Reply([chunk({"role": "assistant", "content": ""}), *text_chunks("late")[1:]], gap_s=60),
    ],
    ids=["no-headers", "role-chunk-only"],
)
@pytest.mark.asyncio
async def test_no_first_token_in_time_is_a_timeout(endpoint: ChatEndpoint, slow: Reply) -> None:
    if slow.gap_s:  # the role chunk comes at once; then the long wait
        slow.chunks[0] = chunk({"role": "assistant", "content": ""})
    endpoint.queue(slow)
    responder = ChatResponder(endpoint.url, "m", first_token_timeout_s=300 * MS)
    got, error = await failure(responder, context())
    assert got == []
    assert error.code == "chat_timeout"
    assert error.message.endswith(f"no first token within {300 * MS:g} s")


@pytest.mark.asyncio
async def test_a_reply_that_does_not_finish_in_time_is_a_timeout(endpoint: ChatEndpoint) -> None:
    endpoint.queue(Reply(text_chunks(*(f"w{i} " for i in range(1000))), gap_s=10 * MS))
    responder = ChatResponder(
        endpoint.url, "m", timeout_s=1000 * MS, first_token_timeout_s=1000 * MS
    )
    got, error = await failure(responder, context())
    assert got[0] == "w0 "
    assert error.code == "chat_timeout"
    assert error.message.endswith(f"the reply did not finish within {1000 * MS:g} s")


@pytest.mark.asyncio
async def test_a_stream_broken_mid_way(endpoint: ChatEndpoint) -> None:
    endpoint.queue(Reply(text_chunks("Half", " a")[:-1], cut=True))
    got, error = await failure(ChatResponder(endpoint.url, "m"), context())
    assert got == ["Half", " a"]
    assert error.code == "chat_stream_broken"
    assert "the stream broke mid-way" in error.message


@pytest.mark.asyncio
async def test_a_stream_that_ends_without_finishing_is_broken(endpoint: ChatEndpoint) -> None:
    endpoint.queue(Reply(text_chunks("Half", " a")[:-1], done=False))  # EOF, no finish_reason
    got, error = await failure(ChatResponder(endpoint.url, "m"), context())
    assert got == ["Half", " a"]
    assert error.code == "chat_stream_broken"
    assert error.message.endswith("the stream ended without a finish_reason")


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("data: {not json", "a chunk is not JSON"),
        ('data: {"object": "chat.completion.chunk"}', "a chunk has no choices list"),
        ('data: {"choices": "none"}', "a chunk has no choices list"),
        ('data: {"choices": [{"index": 0}]}', "a choice has no delta"),
        (
            'data: {"choices": [{"index": 0, "delta": {"content": 7}}]}',
            "a delta's content is not text",
        ),
    ],
)
@pytest.mark.asyncio
async def test_a_malformed_chunk(endpoint: ChatEndpoint, line: str, said: str) -> None:
    endpoint.queue(Reply([chunk({"content": "Fine"}), line, chunk({}, "stop")]))
    got, error = await failure(ChatResponder(endpoint.url, "m"), context())
    assert got == ["Fine"]
    assert error.code == "chat_bad_chunk"
    assert said in error.message


@pytest.mark.asyncio
async def test_an_error_inside_the_stream(endpoint: ChatEndpoint) -> None:
    endpoint.queue(Reply([chunk({"content": "So"}), 'data: {"error": {"message": "overloaded"}}']))
    got, error = await failure(ChatResponder(endpoint.url, "m"), context())
    assert got == ["So"]
    assert error.code == "chat_endpoint_error"
    assert error.message.endswith("the endpoint sent an error: overloaded")


def test_every_code_raised_is_documented() -> None:
    source = sys.modules[ChatResponder.__module__].__doc__ or ""
    for code in CHAT_ERROR_CODES:
        assert f"``{code}``" in source


# ---- the key ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_key_goes_in_the_authorization_header_and_nowhere_else(
    endpoint: ChatEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    # OpenAI echoes a wrong key in its 401 message; the error must not carry it on.
    endpoint.queue(
        Reply(text_chunks("ok")),
        Reply(status=401, error={"error": {"message": f"Incorrect API key provided: {KEY}."}}),
    )
    responder = ChatResponder(endpoint.url, "gpt-4o-mini", api_key=KEY)
    with caplog.at_level(logging.DEBUG):
        assert await reply(responder, context()) == ["ok"]
        _, error = await failure(responder, context())
    assert endpoint.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert error.code == "chat_http_error"
    assert error.message.endswith("HTTP 401: Incorrect API key provided: ***.")
    assert KEY not in caplog.text
    assert KEY not in repr(responder)
    assert KEY not in str(vars(responder))
    assert repr(responder) == f"ChatResponder({endpoint.url!r}, 'gpt-4o-mini', api_key=<hidden>)"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(responder)


@pytest.mark.asyncio
async def test_without_a_key_nothing_from_the_environment_is_sent(
    endpoint: ChatEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-from-env")
    responder = ChatResponder(endpoint.url, "llama3.2")
    await reply(responder, context())
    headers = {k.lower(): v for k, v in endpoint.requests[0].headers.items()}
    assert "authorization" not in headers
    assert "openai-organization" not in headers
    assert "openai-project" not in headers
    assert KEY not in json.dumps(headers)
    assert repr(responder) == f"ChatResponder({endpoint.url!r}, 'llama3.2')"


# ---- making one -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "said"),
    [
        ({"base_url": "localhost:11434/v1"}, "base_url", "must be an http:// or https:// URL"),
        ({"base_url": "ftp://host/v1"}, "base_url", "must be an http:// or https:// URL"),
        ({"base_url": "http:///v1"}, "base_url", "with a host"),
        ({"model": " "}, "model", "model must name the endpoint's model"),
        ({"timeout_s": 0}, "timeout_s", "timeout_s must be a number of seconds > 0, got 0"),
        ({"first_token_timeout_s": float("inf")}, "first_token_timeout_s", "> 0"),
        (
            {"max_tokens_param": "max_len"},
            "max_tokens_param",
            "'max_tokens' or 'max_completion_tokens'",
        ),
        ({"api_key": ""}, "api_key", "non-empty string or None"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict[str, Any], field: str, said: str) -> None:
    args: dict[str, Any] = {"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.2", **kwargs}
    with pytest.raises(ConfigError) as info:
        ChatResponder(**args)
    assert info.value.field == field
    assert said in str(info.value)


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("ftp://me:hunter2@host/v1?api-key=abc123", "'ftp://host/v1'"),
        ("me:hunter2@localhost:11434/v1?api-key=abc123#x", "'localhost:11434/v1'"),
        ("http://me:hunter2@/v1?api-key=abc123", "'http:///v1'"),
    ],
)
def test_a_bad_url_is_named_without_its_credentials(base_url: str, shown: str) -> None:
    """The error may be shown in a synced status line: it shows the URL as ChatResponder's
    logs do, without user:password@ or a query."""
    with pytest.raises(ConfigError) as info:
        ChatResponder(base_url, "llama3.2")
    message = str(info.value)
    assert message.endswith(f"got {shown}")
    assert "hunter2" not in message
    assert "abc123" not in message
    with pytest.raises(ConfigError, match="got None"):
        ChatResponder(None, "llama3.2")  # type: ignore[arg-type]


def test_without_the_openai_package_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(RealtimeWidgetsError, match=r"pip install 'realtime-widgets\[chat\]'"):
        ChatResponder("http://127.0.0.1:11434/v1", "llama3.2")


def test_a_local_server_takes_it_as_its_responder() -> None:
    responder = ChatResponder("http://127.0.0.1:11434/v1/", "llama3.2")
    assert responder.base_url == "http://127.0.0.1:11434/v1"
    server = LocalServer(responder=responder, speech=False)
    assert server.responder is responder


@pytest.mark.asyncio
async def test_credentials_in_the_url_are_not_shown() -> None:
    plain = dead_url()
    responder = ChatResponder(
        plain.replace("http://", "http://user:hunter2@") + "?api-key=abc123", "m"
    )
    assert responder.shown_url == plain
    _, error = await failure(responder, context())
    assert error.code == "chat_unreachable"
    for shown in (repr(responder), error.message):
        assert "hunter2" not in shown
        assert "abc123" not in shown
