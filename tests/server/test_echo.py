"""The echo responder over real loopback sockets: the reply is the user's own committed audio."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

import numpy as np
import pytest
import websockets
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

from realtime_widgets.__main__ import main as cli_main
from realtime_widgets.audio.formats import decode
from realtime_widgets.audio.g711 import ulaw_encode
from realtime_widgets.audio.resample import resample
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.reply.responder import EchoResponder, LocalResponder

from .conftest import Clip, b64

TIMEOUT = float(os.environ.get("RW_TEST_TIMEOUT", "30"))
SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


class Peer:
    """A raw websocket client that keeps every event (each one checked by the SDK oracle)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def until(self, kind: str, count: int = 1) -> list[dict[str, Any]]:
        async def read() -> None:
            while sum(e["type"] == kind for e in self.events) < count:
                event = json.loads(await self.ws.recv())
                SERVER_EVENT.validate_python(event)
                self.events.append(event)

        await asyncio.wait_for(read(), TIMEOUT)
        return [e for e in self.events if e["type"] == kind]

    def audio(self, response_id: str | None = None) -> bytes:
        return b"".join(
            base64.b64decode(e["delta"])
            for e in self.events
            if e["type"] == "response.output_audio.delta"
            and (response_id is None or e["response_id"] == response_id)
        )

    async def append(self, samples: np.ndarray, chunk: int = 960) -> None:
        for i in range(0, len(samples), chunk):
            await self.send(
                {"type": "input_audio_buffer.append", "audio": b64(samples[i : i + chunk])}
            )


def first_turn(clip: Clip) -> np.ndarray:
    return clip.samples[: int((clip.truth[0][1] + 900) * 24)]


async def connect(server: LocalServer, session: dict[str, Any]) -> tuple[Any, Peer]:
    ws = await websockets.connect(server.url + "?model=gpt-realtime-1.5", max_size=2**25)
    peer = Peer(ws)
    await peer.until("session.created")
    await peer.send({"type": "session.update", "session": {"type": "realtime", **session}})
    await peer.until("session.updated")
    return ws, peer


@pytest.mark.asyncio
async def test_echo_of_a_manual_commit_is_the_committed_samples_exactly(three_turns: Clip) -> None:
    turn = first_turn(three_turns)
    async with LocalServer(responder="echo", pace=0) as server:
        ws, peer = await connect(server, {"audio": {"input": {"turn_detection": None}}})
        async with ws:
            await peer.append(turn)
            await peer.send({"type": "input_audio_buffer.commit"})
            await peer.until("input_audio_buffer.committed")
            await peer.send({"type": "response.create"})
            done = (await peer.until("response.done"))[0]["response"]
    assert done["status"] == "completed"
    echoed = np.frombuffer(peer.audio(), dtype="<i2")
    np.testing.assert_array_equal(echoed, turn)
    transcript = done["output"][0]["content"][0]["transcript"]
    assert transcript == f"echo of your {len(turn) / 24000:.1f} s of audio"


@pytest.mark.asyncio
async def test_echo_after_server_vad_is_the_turn_between_the_cut_points(three_turns: Clip) -> None:
    turn = first_turn(three_turns)
    async with LocalServer(responder="echo", pace=0) as server:
        ws, peer = await connect(server, {})
        async with ws:
            await peer.append(turn)
            await peer.append(np.zeros(24000, np.int16))
            done = (await peer.until("response.done"))[0]["response"]
    started = next(e for e in peer.events if e["type"] == "input_audio_buffer.speech_started")
    stopped = next(e for e in peer.events if e["type"] == "input_audio_buffer.speech_stopped")
    assert done["status"] == "completed"
    echoed = np.frombuffer(peer.audio(), dtype="<i2")
    a, b = started["audio_start_ms"] * 24, stopped["audio_end_ms"] * 24
    # The VAD's cut points are what the user hears: the echo is exactly that slice.
    padded = np.concatenate([turn, np.zeros(24000, np.int16)])
    np.testing.assert_array_equal(echoed, padded[a:b])
    assert a <= three_turns.truth[0][0] * 24
    assert b >= three_turns.truth[0][1] * 24


@pytest.mark.asyncio
async def test_echo_in_g711_correlates_with_the_input(three_turns: Clip) -> None:
    turn = first_turn(three_turns)
    narrow = np.asarray(resample(turn, 24000, 8000), dtype=np.int16)
    async with LocalServer(responder="echo", pace=0) as server:
        pcmu = {"type": "audio/pcmu"}
        ws, peer = await connect(
            server,
            {
                "audio": {
                    "input": {"format": pcmu, "turn_detection": None},
                    "output": {"format": pcmu},
                }
            },
        )
        async with ws:
            data = ulaw_encode(narrow)
            for i in range(0, len(data), 800):
                await peer.send(
                    {
                        "type": "input_audio_buffer.append",
                        "audio": base64.b64encode(data[i : i + 800]).decode(),
                    }
                )
            await peer.send({"type": "input_audio_buffer.commit"})
            await peer.send({"type": "response.create"})
            await peer.until("response.done")
    echoed = decode(peer.audio(), "audio/pcmu").astype(np.float64)
    source = decode(ulaw_encode(narrow), "audio/pcmu").astype(np.float64)
    # The server's streaming 8->24 kHz decoder still holds its last ~14 ms at the commit.
    assert 0 <= len(source) - len(echoed) <= 20 * 8
    n = min(len(echoed), len(source))
    corr = np.corrcoef(echoed[:n], source[:n])[0, 1]
    assert corr > 0.95, corr


@pytest.mark.asyncio
async def test_echo_follows_the_speed_setting(three_turns: Clip) -> None:
    turn = first_turn(three_turns)
    async with LocalServer(responder="echo", pace=0) as server:
        ws, peer = await connect(
            server, {"audio": {"input": {"turn_detection": None}, "output": {"speed": 1.5}}}
        )
        async with ws:
            await peer.append(turn)
            await peer.send({"type": "input_audio_buffer.commit"})
            await peer.send({"type": "response.create"})
            done = (await peer.until("response.done"))[0]["response"]
    echoed = np.frombuffer(peer.audio(), dtype="<i2")
    assert abs(len(echoed) - len(turn) / 1.5) <= 24
    assert done["output"][0]["content"][0]["transcript"].endswith("at speed 1.5")


@pytest.mark.asyncio
async def test_barge_in_on_an_echo_cancels_and_truncates_it(three_turns: Clip) -> None:
    turn = first_turn(three_turns)
    async with LocalServer(responder="echo", pace=1.0) as server:
        ws, peer = await connect(server, {})
        async with ws:
            await peer.append(turn)
            await peer.append(np.zeros(24000, np.int16))
            created = (await peer.until("response.created"))[0]["response"]
            await peer.until("response.output_audio.delta", 3)
            # The user talks over their own echo: the second utterance of the clip.
            a, b = (int(x * 24) for x in three_turns.truth[1])
            await peer.append(three_turns.samples[a - 4800 : b + 4800])
            done = (await peer.until("response.done"))[0]["response"]
            assert done["id"] == created["id"]
            assert done["status"] == "cancelled"
            assert done["status_details"]["reason"] == "turn_detected"
            item_id = done["output"][0]["id"]
            await peer.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": item_id,
                    "content_index": 0,
                    "audio_end_ms": 300,
                }
            )
            truncated = (await peer.until("conversation.item.truncated"))[0]
            await peer.send({"type": "conversation.item.retrieve", "item_id": item_id})
            item = (await peer.until("conversation.item.retrieved"))[0]["item"]
    assert truncated["audio_end_ms"] == 300
    kept = np.frombuffer(base64.b64decode(item["content"][0]["audio"]), dtype="<i2")
    started = next(e for e in peer.events if e["type"] == "input_audio_buffer.speech_started")
    start = started["audio_start_ms"] * 24
    # What remains of the echo is the first 300 ms of the user's own committed turn.
    np.testing.assert_array_equal(kept, turn[start : start + 300 * 24])


@pytest.mark.asyncio
async def test_a_text_turn_has_nothing_to_echo_and_says_so() -> None:
    async with LocalServer(responder="echo", pace=0, speech=False) as server:
        ws, peer = await connect(server, {"output_modalities": ["audio"]})
        async with ws:
            await peer.send(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "hello"}],
                    },
                }
            )
            await peer.send({"type": "response.create"})
            done = (await peer.until("response.done"))[0]["response"]
    assert done["status"] == "completed"
    part = done["output"][0]["content"][0]
    # No synthesiser here: the reply falls back to text, and says why there is no echo.
    assert part == {
        "type": "output_text",
        "text": "Nothing to echo: the last user turn has no audio.",
    }
    assert peer.audio() == b""


def test_responder_names_are_checked_and_local_stays_the_default() -> None:
    assert isinstance(LocalServer().responder, LocalResponder)
    assert isinstance(LocalServer(responder="echo").responder, EchoResponder)
    with pytest.raises(ValueError, match=r"responder must be .*\['echo', 'local'\], got 'parrot'"):
        LocalServer(responder="parrot")
    with pytest.raises(SystemExit):
        cli_main(["serve", "--responder", "parrot"])


def test_the_sans_io_path_echoes_like_the_server(driver: Any) -> None:
    """produce_reply_sync (the engine tests' and the VAD lab's path) uses a SpeakingResponder's
    own audio, as the server's pipeline does: the echo is the committed turn, not a voice."""
    driver.responder = EchoResponder()
    update = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
    driver.send({"type": "session.update", "session": update})
    turn = (np.sin(np.arange(24_000) * 2 * np.pi * 220 / 24_000) * 8_000).astype(np.int16)
    driver.send({"type": "input_audio_buffer.append", "audio": b64(turn)})
    driver.send({"type": "input_audio_buffer.commit"})
    driver.send({"type": "response.create"})
    driver.advance(5.0)
    audio = b"".join(base64.b64decode(e["delta"]) for e in driver.of("response.output_audio.delta"))
    assert np.array_equal(np.frombuffer(audio, np.int16), turn)
    transcript = driver.of("response.output_audio_transcript.done")[-1]["transcript"]
    assert transcript == "echo of your 1.0 s of audio"
