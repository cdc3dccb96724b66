"""Every frame the local server sends, in a rich session driven by the official SDK's own
realtime client, validates strictly against the SDK's server-event union with no key left over.

The rule (DESIGN.md, "what OpenAI would send, nothing more"): whichever API it serves, the
local server emits nothing OpenAI would not, and the oracle (:mod:`tests.protocol.sdk_oracle`)
has no exemptions. The frames are read raw (``recv_bytes``), so nothing the SDK's parsing might
drop escapes the check.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
import pytest
from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection

from realtime_widgets.server.app import LocalServer
from tests.protocol.sdk_oracle import check_server_event
from tests.waiting import FACTOR

from .conftest import Clip

TIMEOUT = 60 * FACTOR
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


def _user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


class Wire:
    """The SDK's connection, with every raw server frame kept for the check at the end."""

    def __init__(self, conn: AsyncRealtimeConnection) -> None:
        self.conn = conn
        self.frames: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        await self.conn.send(event)  # type: ignore[arg-type]

    async def until(self, kind: str) -> dict[str, Any]:
        """Read frames until one of type ``kind`` arrives; return it."""

        async def read() -> dict[str, Any]:
            while True:
                frame = json.loads(await self.conn.recv_bytes())
                self.frames.append(frame)
                if frame["type"] == kind:
                    return dict(frame)

        return await asyncio.wait_for(read(), TIMEOUT)

    async def append(self, samples: np.ndarray) -> None:
        for i in range(0, len(samples), 960):
            audio = base64.b64encode(samples[i : i + 960].astype("<i2").tobytes()).decode()
            await self.send({"type": "input_audio_buffer.append", "audio": audio})

    async def error_for(self, event: dict[str, Any]) -> dict[str, Any]:
        await self.send(event)
        return (await self.until("error"))["error"]


def _check_all(frames: list[dict[str, Any]]) -> None:
    problems = []
    for frame in frames:
        try:
            check_server_event(frame)
        except Exception as exc:  # collect them all, to see every problem at once
            problems.append(f"{frame['type']}: {exc}")
    assert problems == []


@pytest.mark.asyncio
async def test_every_event_of_a_realtime_session_is_one_the_sdk_models(three_turns: Clip) -> None:
    first_turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    async with LocalServer(pace=0, transcriber=lambda audio: "hello there") as server:
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
        async with client.realtime.connect(model="gpt-realtime-1.5") as conn:
            w = Wire(conn)
            await w.until("session.created")
            await w.send(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "audio": {
                            "input": {"transcription": {"model": "gpt-4o-mini-transcribe"}},
                            "output": {"voice": "marin"},
                        },
                        "tools": [WEATHER],
                        "include": ["item.input_audio_transcription.logprobs"],
                    },
                }
            )
            await w.until("session.updated")
            # -- a text turn, answered in text
            await w.send({"type": "conversation.item.create", "item": _user_text("hi")})
            await w.until("conversation.item.done")
            await w.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
            text = (await w.until("response.done"))["response"]
            assert text["status"] == "completed"
            # -- a spoken turn: VAD commits it, the reply speaks, the turn is transcribed
            await w.append(first_turn)
            spoken = (await w.until("response.done"))["response"]
            assert spoken["output"][0]["content"][0]["type"] == "output_audio"
            # -- the listener heard only the first 200 ms of the reply
            await w.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": spoken["output"][0]["id"],
                    "content_index": 0,
                    "audio_end_ms": 200,
                }
            )
            await w.until("conversation.item.truncated")
            # -- a forced function call, its output, and the answer to it
            await w.send(
                {
                    "type": "response.create",
                    "response": {"tool_choice": {"type": "function", "name": "get_weather"}},
                }
            )
            called = (await w.until("response.done"))["response"]["output"][0]
            assert called["type"] == "function_call"
            await w.send(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "function_call_output",
                        "call_id": called["call_id"],
                        "output": '{"sky": "clear"}',
                    },
                }
            )
            await w.until("conversation.item.done")
            await w.send({"type": "response.create"})
            await w.until("response.done")
            # -- out of band, with its own input and metadata
            await w.send(
                {
                    "type": "response.create",
                    "response": {
                        "conversation": "none",
                        "input": [_user_text("summarise")],
                        "metadata": {"purpose": "summary"},
                        "output_modalities": ["text"],
                    },
                }
            )
            oob = (await w.until("response.done"))["response"]
            assert oob["conversation_id"] is None
            # -- a response cancelled by the client (or already done: either ends it)
            await w.send({"type": "response.create"})
            await w.until("response.created")
            await w.send({"type": "response.cancel"})
            await w.until("response.done")
            # -- items retrieved and deleted, the buffer cleared
            await w.send({"type": "conversation.item.retrieve", "item_id": called["id"]})
            await w.until("conversation.item.retrieved")
            await w.send({"type": "conversation.item.delete", "item_id": called["id"]})
            await w.until("conversation.item.deleted")
            await w.append(np.zeros(2400, dtype=np.int16))
            await w.send({"type": "input_audio_buffer.clear"})
            await w.until("input_audio_buffer.cleared")
            # -- errors, each in OpenAI's shape
            errors = [
                await w.error_for(event)
                for event in (
                    {"type": "session.update", "session": {"type": "realtime", "x": 1}},
                    {"type": "session.update", "session": {"type": "transcription"}},
                    {"type": "input_audio_buffer.commit"},
                    {"type": "response.cancel"},
                    {"type": "conversation.item.retrieve", "item_id": "item_none"},
                    {"type": "output_audio_buffer.clear"},
                    {"type": "no.such.event"},
                )
            ]
            assert all(e["type"] == "invalid_request_error" for e in errors)
    kinds = {f["type"] for f in w.frames}
    for kind in (
        "rate_limits.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_audio.delta",
        "response.output_audio_transcript.done",
        "response.function_call_arguments.done",
    ):
        assert kind in kinds
    _check_all(w.frames)


@pytest.mark.asyncio
async def test_every_event_of_a_transcription_session_is_one_the_sdk_models(
    three_turns: Clip,
) -> None:
    first_turn = three_turns.samples[: int((three_turns.truth[0][1] + 900) * 24)]
    async with LocalServer(pace=0, speech=False, transcriber=lambda audio: "hello") as server:
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
        async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
            w = Wire(conn)
            await w.until("session.created")
            await w.send(
                {
                    "type": "session.update",
                    "session": {
                        "type": "transcription",
                        "audio": {"input": {"transcription": {"model": "whisper-1"}}},
                    },
                }
            )
            await w.until("session.updated")
            await w.append(first_turn)
            await w.until("conversation.item.input_audio_transcription.completed")
            # Manual turns: VAD off, the client commits.
            await w.send(
                {
                    "type": "session.update",
                    "session": {
                        "type": "transcription",
                        "audio": {"input": {"turn_detection": None}},
                    },
                }
            )
            await w.until("session.updated")
            await w.append(first_turn[: 24 * 500])
            await w.send({"type": "input_audio_buffer.commit"})
            await w.until("conversation.item.input_audio_transcription.completed")
            for event in (
                {"type": "response.create"},
                {"type": "session.update", "session": {"type": "realtime"}},
                {"type": "input_audio_buffer.commit"},
            ):
                await w.error_for(event)
    kinds = {f["type"] for f in w.frames}
    assert {"input_audio_buffer.speech_started", "input_audio_buffer.committed"} <= kinds
    _check_all(w.frames)
