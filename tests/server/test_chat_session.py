"""A LocalServer session answered by a ChatResponder over a real Chat Completions endpoint on
127.0.0.1 (tests/server/chat_endpoint.py). Every server event is checked against the official
SDK (tests/protocol/sdk_oracle.py).

These need the server to consume a streamed reply (contract 2) and to fail a response on a
ResponderError (contract 3): the ``stream`` branch. ChatResponder's own stream and errors are
tested without a server in test_chat_responder.py."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.reply.chat import ChatResponder
from tests.server import sockets
from tests.server.chat_endpoint import ChatEndpoint, Reply, dead_url, text_chunks, tool_chunks
from tests.server.sockets import recv
from tests.waiting import MS

TEXT = "Hello from the chat endpoint."
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def endpoint() -> Iterator[ChatEndpoint]:
    with ChatEndpoint() as e:
        yield e


async def send(ws: ClientConnection, event: dict[str, Any]) -> None:
    await ws.send(json.dumps(event))


@contextlib.asynccontextmanager
async def session(
    responder: ChatResponder, *, speech: bool = False, **update: Any
) -> AsyncIterator[ClientConnection]:
    """A session on a fresh LocalServer (unpaced; with ``speech``, replies are synthesised)
    with ``update`` applied to its config."""
    async with (
        LocalServer(responder=responder, pace=0, speech=speech) as server,
        sockets.session(server) as ws,
    ):
        if update:
            await send(ws, {"type": "session.update", "session": {"type": "realtime", **update}})
            assert (await recv(ws))["type"] == "session.updated"
        yield ws


async def say(ws: ClientConnection, text: str, **response: Any) -> list[dict[str, Any]]:
    """A typed user message and a response: every event up to its response.done."""
    await send(
        ws,
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        },
    )
    return await respond(ws, **response)


async def respond(ws: ClientConnection, **response: Any) -> list[dict[str, Any]]:
    await send(ws, {"type": "response.create", **({"response": response} if response else {})})
    events = [await recv(ws)]
    while events[-1]["type"] != "response.done":
        events.append(await recv(ws))
    return events


def of(kind: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


@pytest.mark.asyncio
async def test_typed_text_gets_the_chat_reply_as_text_deltas(endpoint: ChatEndpoint) -> None:
    responder = ChatResponder(endpoint.url, "test-model")
    async with session(responder, instructions="You are terse.") as ws:
        events = await say(ws, "Hi!", output_modalities=["text"])
    done = events[-1]["response"]
    assert done["status"] == "completed"
    deltas = [e["delta"] for e in of("response.output_text.delta", events)]
    assert "".join(deltas) == TEXT
    assert len(deltas) >= 3  # streamed as it came (the server may cut it finer, by words)
    assert of("response.output_text.done", events)[0]["text"] == TEXT
    assert done["output"][0]["content"][0] == {"type": "output_text", "text": TEXT}
    [request] = endpoint.requests
    assert request.body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi!"},
    ]


@pytest.mark.asyncio
async def test_an_audio_reply_streams_its_transcript_and_the_context_grows(
    endpoint: ChatEndpoint,
) -> None:
    responder = ChatResponder(endpoint.url, "test-model")
    async with session(responder, speech=True, tools=[WEATHER], max_output_tokens=50) as ws:
        first = await say(ws, "Hi!")
        second = await say(ws, "And you?")
    for events in (first, second):
        assert events[-1]["response"]["status"] == "completed"
        deltas = of("response.output_audio_transcript.delta", events)
        assert "".join(e["delta"] for e in deltas) == TEXT
        assert of("response.output_audio_transcript.done", events)[0]["transcript"] == TEXT
    body = endpoint.requests[1].body
    assert body["messages"][1:] == [
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": TEXT},
        {"role": "user", "content": "And you?"},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is False
    assert body["max_tokens"] == 50


@pytest.mark.asyncio
async def test_a_tool_call_is_a_function_call_item_and_its_output_feeds_the_next_request(
    endpoint: ChatEndpoint,
) -> None:
    endpoint.queue(Reply(tool_chunks("get_weather", '{"city":', ' "Paris"}')))
    responder = ChatResponder(endpoint.url, "test-model")
    async with session(responder, tools=[WEATHER], output_modalities=["text"]) as ws:
        calling = await say(ws, "Weather in Paris?")
        done = calling[-1]["response"]
        assert done["status"] == "completed"
        [call] = [item for item in done["output"] if item["type"] == "function_call"]
        assert (call["name"], call["arguments"]) == ("get_weather", '{"city": "Paris"}')
        assert of("response.function_call_arguments.done", calling)[0]["arguments"] == (
            '{"city": "Paris"}'
        )
        await send(
            ws,
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": '{"celsius": 21}',
                },
            },
        )
        answer = await respond(ws)
    assert answer[-1]["response"]["status"] == "completed"
    assert of("response.output_text.done", answer)[0]["text"] == TEXT
    messages = endpoint.requests[1].body["messages"]
    assert messages[-2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["call_id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["call_id"], "content": '{"celsius": 21}'},
    ]


@pytest.mark.parametrize(
    ("trouble", "code", "said"),
    [
        (Reply(text_chunks("late"), delay_s=60), "chat_timeout", "no first token within"),
        (
            Reply(status=500, error={"error": {"message": "model exploded"}}),
            "chat_http_error",
            "HTTP 500: model exploded",
        ),
    ],
    ids=["slow", "erroring"],
)
@pytest.mark.asyncio
async def test_a_slow_or_erroring_endpoint_fails_the_response_and_the_session_goes_on(
    endpoint: ChatEndpoint, trouble: Reply, code: str, said: str
) -> None:
    endpoint.queue(trouble)
    # The first token may take 3 s: the slow reply waits 60 s, while "Again?" must come in
    # time on a machine the other test worker loads (the clock starts with building the client).
    responder = ChatResponder(endpoint.url, "test-model", first_token_timeout_s=3000 * MS)
    async with session(responder, output_modalities=["text"]) as ws:
        failed = await say(ws, "Hi!")
        fine = await say(ws, "Again?")
    done = failed[-1]["response"]
    assert done["status"] == "failed"
    error = done["status_details"]["error"]
    assert error["code"] == code
    assert said in error["message"]
    assert f"chat endpoint {endpoint.url} (model test-model)" in error["message"]
    assert fine[-1]["response"]["status"] == "completed"
    assert of("response.output_text.done", fine)[0]["text"] == TEXT


@pytest.mark.asyncio
async def test_a_dead_endpoint_fails_each_response_and_the_session_goes_on() -> None:
    url = dead_url()
    async with session(ChatResponder(url, "test-model"), output_modalities=["text"]) as ws:
        first = await say(ws, "Hi!")
        second = await say(ws, "Anyone?")
        assert ws.close_code is None
    for events in (first, second):
        done = events[-1]["response"]
        assert done["status"] == "failed"
        assert done["status_details"]["error"]["code"] == "chat_unreachable"
        assert url in done["status_details"]["error"]["message"]
