"""GPT-Live over real loopback sockets: ``/v1/live/sessions`` beside ``/v1/realtime`` with the
same limits, caps, auth and shutdown; hostile frames; the chat responder delegating to the
client; and the official SDK's ``client.live.connect()`` holding a session on real speech.
Every event received is checked against the SDK's Live server union (strict, no unknown key)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import websockets
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection

from realtime_widgets.audio.wav import read_wav
from realtime_widgets.protocol import live_events as live
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.live_engine import DELEGATE_TOOL, LiveEngine
from realtime_widgets.server.reply.chat import ChatResponder
from realtime_widgets.server.tts import Synthesizer
from tests.protocol.sdk_oracle import check_live_server_event
from tests.server.chat_endpoint import ChatEndpoint, Reply, text_chunks, tool_chunks
from tests.speech import HARVARD, Clip, b64, recorded_clip
from tests.waiting import MS

TIMEOUT = 30_000 * MS


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next server event, checked against the SDK's Live union."""
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    check_live_server_event(event)
    return event


async def until(ws: ClientConnection, kind: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    while True:
        event = await recv(ws)
        seen.append(event)
        if event["type"] == kind:
            return event


async def send(ws: ClientConnection, event: dict[str, Any] | str) -> None:
    await ws.send(event if isinstance(event, str) else json.dumps(event))


@contextlib.asynccontextmanager
async def live_session(
    server: LocalServer, **session: Any
) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
    """A connected Live session past its session.started (and its session object)."""
    async with websockets.connect(server.live_url, compression=None, max_size=None) as ws:
        await send(ws, {"type": "session.start", "session": {"model": "gpt-live-1", **session}})
        started = await recv(ws)
        assert started["type"] == "session.started", started
        yield ws, started["session"]


async def speak(ws: ClientConnection, samples: np.ndarray) -> None:
    for i in range(0, len(samples), 4800):  # 200 ms appends, as fast as the socket takes them
        await send(ws, {"type": "session.input_audio.append", "audio": b64(samples[i : i + 4800])})


@pytest.fixture(scope="module")
def hello() -> Clip:
    return recorded_clip(["Hello there, how are you today?"], ["marin"])


# ---- the path, its auth, caps and shutdown ------------------------------------------------------


@pytest.mark.asyncio
async def test_live_sessions_are_served_beside_realtime_with_the_token_required() -> None:
    async with LocalServer(token="sekret", speech=False, transcriber=None) as server:
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(server.live_url):
                pass
        assert info.value.response.status_code == 401
        headers = {"Authorization": "Bearer sekret"}
        async with (
            websockets.connect(server.live_url, additional_headers=headers) as live,
            websockets.connect(server.url, additional_headers=headers) as realtime,
        ):
            assert json.loads(await realtime.recv())["type"] == "session.created"
            await send(live, {"type": "session.start", "session": {"model": "gpt-live-1"}})
            started = await recv(live)
            assert started["type"] == "session.started"
            assert started["session"]["id"] in server.sessions
            assert isinstance(server.sessions[started["session"]["id"]], LiveEngine)
        assert "sekret" not in repr(server)


@pytest.mark.asyncio
async def test_live_and_realtime_sessions_share_the_session_cap() -> None:
    limits = ServerLimits(max_sessions=1)
    async with (
        LocalServer(speech=False, transcriber=None, limits=limits) as server,
        websockets.connect(server.url) as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "session.created"
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(server.live_url):
                pass
        assert info.value.response.status_code == 503
        assert b"max_sessions" in info.value.response.body


@pytest.mark.asyncio
async def test_an_oversize_frame_closes_1009_naming_the_limit() -> None:
    limits = ServerLimits(max_frame_bytes=64 * 1024)
    async with (
        LocalServer(speech=False, transcriber=None, limits=limits) as server,
        live_session(server) as (ws, _),
    ):
        await send(ws, {"type": "session.input_audio.append", "audio": "A" * 100_000})
        with pytest.raises(websockets.ConnectionClosedError) as info:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1009
        assert "max_frame_bytes" in info.value.rcvd.reason


@pytest.mark.asyncio
async def test_stopping_the_server_closes_live_sessions_1001() -> None:
    server = LocalServer(speech=False, transcriber=None)
    await server.__aenter__()
    try:
        async with live_session(server) as (ws, _):
            await server.__aexit__(None, None, None)
            with pytest.raises(websockets.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), TIMEOUT)
            assert info.value.rcvd is not None
            assert info.value.rcvd.code == 1001
    finally:
        await server.__aexit__(None, None, None)


# ---- hostile frames and the end of a session -------------------------------------------------------


@pytest.mark.asyncio
async def test_hostile_frames_get_errors_and_never_end_the_reader() -> None:
    async with (
        LocalServer(speech=False, transcriber=None) as server,
        websockets.connect(server.live_url, compression=None) as ws,
    ):
        await send(ws, {"type": "session.input_audio.mute", "event_id": "early"})
        early = await recv(ws)
        assert early["error"]["code"] == "session_not_started"
        assert early["error"]["client_event_id"] == "early"
        for frame in ("{nope", "[]", '{"type": "nope", "event_id": "n1"}', "[" * 10_000):
            await send(ws, frame)
            assert (await recv(ws))["type"] == "error"
        await ws.send(b'{"type": "session.start", "session": {"model": "gpt-live-1"}}')
        assert (await recv(ws))["type"] == "session.started"  # a binary frame is read as text
        await send(ws, {"type": "session.close", "event_id": "bye"})
        usage, closed = await recv(ws), await recv(ws)
        assert usage["type"] == "session.usage.updated"
        assert closed["type"] == "session.closed"
        assert closed["reason"] == "close_requested"
        assert closed["client_event_id"] == "bye"
        with pytest.raises(websockets.ConnectionClosedOK) as info:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1000


@pytest.mark.asyncio
async def test_a_bug_in_the_engine_is_a_live_server_error_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: LiveEngine, e: Any, now: float) -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    async with (
        LocalServer(speech=False, transcriber=None) as server,
        live_session(server) as (ws, _),
    ):
        engine = next(iter(server.sessions.values()))
        assert isinstance(engine, LiveEngine)
        monkeypatch.setitem(engine.handlers, live.InputAudioMuteEvent, broken.__get__(engine))
        await send(ws, {"type": "session.input_audio.mute", "event_id": "m1"})
        failure = await recv(ws)  # in Live's error shape (checked by recv)
        assert failure["error"]["code"] == "server_error"
        assert "RuntimeError" in failure["error"]["message"]
        await send(ws, {"type": "session.input_audio.unmute", "event_id": "u1"})
        assert (await recv(ws))["type"] == "session.input_audio.unmuted"


@pytest.mark.asyncio
async def test_a_long_fixture_is_read_off_the_loop_and_plays_whole() -> None:
    seconds = 20  # 960 kB of PCM16, 1.3 MB of base64: a frame the server reads off the loop
    tone = (np.sin(np.arange(seconds * 24000) * 2 * np.pi * 300 / 24000) * 6000).astype("<i2")
    async with (
        LocalServer(pace=0, speech=False, transcriber=None) as server,
        live_session(server, audio={"format": {"type": "audio/pcma", "rate": 8000}}) as (ws, _),
    ):
        audio = base64.b64encode(tone.tobytes()).decode()
        await send(ws, {"type": "session.output_audio.fixture.play", "audio": audio})
        seen: list[dict[str, Any]] = []
        await until(ws, "session.output_audio.fixture.played", seen)
    assert seen[0]["type"] == "session.output_audio.fixture.playing"
    played = b"".join(
        base64.b64decode(e["delta"]) for e in seen if e["type"] == "session.output_audio.delta"
    )
    assert len(played) == seconds * 8000  # every sample, as G.711 A-law at 8 kHz


# ---- the chat responder delegates to the client -----------------------------------------------------


@pytest.mark.asyncio
async def test_the_chat_responder_is_given_the_delegate_tool_and_the_client_answers(
    synth: Synthesizer, hello: Clip
) -> None:
    with ChatEndpoint() as endpoint:
        endpoint.queue(
            Reply(tool_chunks("delegate", '{"task": "book', ' a table"}')),
            Reply(text_chunks("Your table", " is booked for seven.")),
        )
        responder = ChatResponder(endpoint.url, "test-model")
        async with (
            LocalServer(
                responder=responder, pace=0, speech=synth, transcriber=lambda a: "book a table"
            ) as server,
            live_session(server, delegation={"type": "client"}) as (ws, _),
        ):
            await speak(ws, hello.samples)
            seen: list[dict[str, Any]] = []
            created = await until(ws, "session.delegation.created", seen)
            assert created["delegation"]["target"] == "client"
            first = endpoint.requests[0].body
            assert first["tools"][0]["function"]["name"] == DELEGATE_TOOL.name
            assert first["tools"][0]["function"]["parameters"] == DELEGATE_TOOL.parameters
            assert first["tool_choice"] == "auto"
            assert first["messages"][-1] == {"role": "user", "content": "book a table"}
            delegation_id = created["delegation"]["id"]
            await send(
                ws,
                {
                    "type": "session.commentary.append",
                    "content": "Table for two at 7 pm, confirmation 42.",
                    "delegation_id": delegation_id,
                },
            )
            said = ""
            while "seven." not in said:
                event = await recv(ws)
                seen.append(event)
                if event["type"] == "session.output_transcript.delta":
                    said += event["delta"]
            second = endpoint.requests[1].body["messages"]
            call = second[-2]["tool_calls"][0]
            assert call["id"] == delegation_id
            assert json.loads(call["function"]["arguments"]) == {"task": "book a table"}
            assert second[-1] == {
                "role": "tool",
                "tool_call_id": delegation_id,
                "content": "Table for two at 7 pm, confirmation 42.",
            }
    assert said.endswith("Your table is booked for seven.")
    assert "One moment" in said  # the acknowledgement, as the reply said nothing first
    assert any(e["type"] == "session.output_audio.delta" for e in seen)


# ---- the official SDK as a peer, on real speech -------------------------------------------------


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.fixture(scope="module")
def birch() -> np.ndarray:
    """ "The birch canoe slid on the smooth planks." read by a person (Debian's codec2-examples,
    LGPL-2.1), PCM16 at its own 16 kHz, then 1.5 s of silence."""
    if not HARVARD.exists():
        pytest.skip(f"{HARVARD} is absent: run scripts/system-packages (codec2-examples)")
    recording, info = read_wav(HARVARD)
    assert info.rate == 16000
    return np.concatenate([recording[: int(2.45 * 16000)], np.zeros(24000, np.int16)])


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_official_sdk_holds_a_live_session_on_real_speech(
    synth: Synthesizer, birch: np.ndarray
) -> None:
    pytest.importorskip("faster_whisper", reason="the offline extra (faster-whisper) is needed")
    sentence = birch
    async with LocalServer(pace=0, speech=synth, transcriber="whisper") as server:
        assert server.transcriber is not None, server.transcriber_note
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
        async with client.live.connect() as conn:
            await conn.session.start(
                session={
                    "model": "gpt-live-1.1",
                    "audio": {"format": {"type": "audio/pcm", "rate": 16000}},
                }
            )
            for i in range(0, len(sentence), 3200):  # 200 ms appends of PCM16 at 16 kHz
                await conn.session.input_audio.append(
                    audio=base64.b64encode(sentence[i : i + 3200].tobytes()).decode()
                )
            seen: list[Any] = []

            async def collect() -> None:
                said = ""
                async for event in conn:
                    seen.append(event)
                    if event.type == "session.output_transcript.delta":
                        said += event.delta
                        if said.rstrip().endswith("speed 1."):
                            return

            await asyncio.wait_for(collect(), TIMEOUT)
            await conn.session.close()
            async for event in conn:
                seen.append(event)
                if event.type == "session.closed":
                    break
    sequence = [e.type for e in seen]
    assert sequence[0] == "session.started"
    assert seen[0].session.audio.format.rate == 16000
    heard = "".join(e.delta for e in seen if e.type == "session.input_transcript.delta")
    # Whisper tiny.en on a person's voice: near-verbatim ("plank" for "planks" here).
    reference = words("The birch canoe slid on the smooth planks.")
    assert sum(w in words(heard) for w in reference) >= len(reference) - 1, heard
    said = "".join(e.delta for e in seen if e.type == "session.output_transcript.delta")
    assert said.startswith("I heard: ")
    assert {"birch", "canoe"} <= set(words(said))
    audio = b"".join(
        base64.b64decode(e.delta) for e in seen if e.type == "session.output_audio.delta"
    )
    assert len(audio) / 32 > 3000  # seconds of speech, PCM16 at 16 kHz
    assert sequence.index("session.input_transcript.delta") < sequence.index(
        "session.output_transcript.delta"
    )
    assert sequence[-2:] == ["session.usage.updated", "session.closed"]
    for event in seen:
        check_live_server_event(json.loads(event.model_dump_json(exclude_unset=True)))
