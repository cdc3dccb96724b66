"""The local server under abuse, over real loopback sockets (issue 12's probes, one test each).

Every test checks the answer to the abuse (an ``error`` event or a clean refusal, never close
1011), that a healthy session beside it still completes a text turn, and that what the server
had already accepted is still there afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import psutil
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from realtime_widgets.protocol.parts import ServerVad
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.engine import EngineOptions, ReplyMaterial, SessionEngine
from realtime_widgets.server.input_transcripts import InputTranscripts
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.vad import MODEL, TurnDetector
from tests.waiting import MS, eventually_async

TIMEOUT = 30_000 * MS  # one event's wait; RW_TESTS_TIMEOUT_FACTOR scales it
UNPARSABLE = "We could not parse the JSON body of your request."


async def recv(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return data


async def until(ws: ClientConnection, kind: str, **match: Any) -> dict[str, Any]:
    """The next event of ``kind`` whose top-level fields equal ``match``."""
    while True:
        event = await recv(ws)
        if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
            return event


@contextlib.asynccontextmanager
async def session(server: LocalServer) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(server.url, compression=None, max_size=None) as ws:
        assert (await recv(ws))["type"] == "session.created"
        yield ws


async def add_text(ws: ClientConnection, item_id: str, text: str) -> None:
    await ws.send(
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
    )
    await until(ws, "conversation.item.done")


TURNS = itertools.count()


async def text_turn(ws: ClientConnection) -> str:
    """A healthy session's text turn: a user message, a text response, its status."""
    await add_text(ws, f"item_turn{next(TURNS)}", "hello")
    await ws.send(
        json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
    )
    done = await until(ws, "response.done")
    return str(done["response"]["status"])


async def retrieve(ws: ClientConnection, item_id: str) -> dict[str, Any]:
    """``conversation.item.retrieved``'s item, or the error if the server lost it."""
    await ws.send(
        json.dumps(
            {"type": "conversation.item.retrieve", "item_id": item_id, "event_id": f"get_{item_id}"}
        )
    )
    while True:
        event = await recv(ws)
        if event["type"] == "conversation.item.retrieved":
            item: dict[str, Any] = event["item"]
            return item
        if event["type"] == "error" and event["error"]["event_id"] == f"get_{item_id}":
            return event


def text_of(item: dict[str, Any]) -> str:
    return str(item["content"][0]["text"])


# ---- probe: 500 connections opened and left idle ---------------------------------------------


@pytest.mark.asyncio
async def test_sessions_past_the_cap_are_refused_with_503_naming_the_option() -> None:
    limits = ServerLimits(max_sessions=3)
    async with LocalServer(pace=0, speech=False, limits=limits) as server:
        async with session(server) as healthy, session(server), session(server):
            await add_text(healthy, "item_kept", "accepted before the cap was hit")
            for _ in range(2):  # refused every time, and the refusals cost nothing
                with pytest.raises(websockets.InvalidStatus) as info:
                    async with websockets.connect(server.url):
                        pass
                response = info.value.response
                assert response.status_code == 503
                body = response.body.decode()
                assert "3 sessions open" in body
                assert "max_sessions" in body
                assert "--max-sessions" in body
            assert server.refused_total == 2
            assert len(server.sessions) == 3
            assert await text_turn(healthy) == "completed"
            kept = await retrieve(healthy, "item_kept")
            assert text_of(kept) == "accepted before the cap was hit"
        # Closed sessions give their places back.
        await eventually_async(lambda: server.sessions == {}, timeout=10)
        async with session(server) as again:
            assert await text_turn(again) == "completed"


@pytest.mark.asyncio
async def test_a_handshake_that_fails_after_admission_gives_its_place_back() -> None:
    async with LocalServer(pace=0, speech=False, limits=ServerLimits(max_sessions=1)) as server:
        # A client that connects and vanishes mid-handshake: the request is read and admitted,
        # the response is never read.
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(
            b"GET /v1/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await writer.drain()
        assert (await asyncio.wait_for(reader.readline(), TIMEOUT)).startswith(b"HTTP/1.1 101")
        writer.close()
        await writer.wait_closed()
        await eventually_async(lambda: not server.sessions and not server._admitted, timeout=10)
        async with session(server) as ws:
            assert await text_turn(ws) == "completed"


@pytest.mark.asyncio
async def test_idle_sessions_cost_under_1_mb_each() -> None:
    """An idle session costs kilobytes, not a Silero model (~9.8 MB each before)."""
    process = psutil.Process()
    async with LocalServer(pace=0, speech=False) as server, session(server) as healthy:
        await add_text(healthy, "item_kept", "accepted before the crowd came")
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(2):  # warm-up: first-use caches are not sessions
                await stack.enter_async_context(session(server))
            before = process.memory_info().rss
            for _ in range(40):
                await stack.enter_async_context(session(server))
            grown = (process.memory_info().rss - before) / 40
            assert len(server.sessions) == 43
            assert grown < 1_000_000, f"{grown / 1e6:.2f} MB per idle session"
            assert await text_turn(healthy) == "completed"
        assert text_of(await retrieve(healthy, "item_kept")) == "accepted before the crowd came"
    assert MODEL.load() is MODEL.load()  # one ONNX session for the process


def test_shared_network_keeps_each_stream_its_own_state() -> None:
    """Two detectors fed interleaved give the probabilities each gives alone."""
    rng = np.random.default_rng(2)
    a = (rng.standard_normal(24000) * 4000).astype(np.int16)
    b = (np.sin(np.arange(24000) / 9) * 6000).astype(np.int16)
    alone = []
    for x in (a, b):
        d = TurnDetector(ServerVad())
        assert d._prob is not None
        alone.append([p for i in range(0, 24000, 2400) for p in d._prob.feed(x[i : i + 2400])])
    da, db = TurnDetector(ServerVad()), TurnDetector(ServerVad())
    assert da._prob is not None
    assert db._prob is not None
    mixed_a: list[float] = []
    mixed_b: list[float] = []
    for i in range(0, 24000, 2400):
        mixed_a += da._prob.feed(a[i : i + 2400])
        mixed_b += db._prob.feed(b[i : i + 2400])
    assert mixed_a == alone[0]
    assert mixed_b == alone[1]
    assert max(alone[0]) != pytest.approx(max(alone[1]), abs=1e-3)  # the streams do differ


# ---- probe: '[' x 100,000 in one text frame ---------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("bomb", ["[" * 100_000, '{"a":' * 100_000, "[" * 129 + "]" * 129])
async def test_deeply_nested_json_gets_an_error_event_and_the_session_stays(bomb: str) -> None:
    async with (
        LocalServer(pace=0, speech=False) as server,
        session(server) as ws,
        session(server) as healthy,
    ):
        await add_text(ws, "item_before", "accepted before the bomb")
        await ws.send(bomb)
        error = await until(ws, "error")
        assert error["error"]["type"] == "invalid_request_error"
        assert error["error"]["code"] == "invalid_json"
        assert error["error"]["message"].startswith(UNPARSABLE)
        assert "128 levels" in error["error"]["message"]
        assert text_of(await retrieve(ws, "item_before")) == "accepted before the bomb"
        assert await text_turn(ws) == "completed"
        assert await text_turn(healthy) == "completed"


@pytest.mark.asyncio
async def test_nesting_within_the_limit_is_accepted() -> None:
    """A tool schema 100 levels deep is legal: the limit is not hit by real payloads."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(45):  # each level adds two containers: {"properties": {"x": ...}}
        schema = {"type": "object", "properties": {"x": schema}}
    tool = {"type": "function", "name": "deep", "description": "d", "parameters": schema}
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        await ws.send(
            json.dumps({"type": "session.update", "session": {"type": "realtime", "tools": [tool]}})
        )
        updated = await until(ws, "session.updated")
        assert updated["session"]["tools"][0]["name"] == "deep"


# ---- probe: 1,000,000 appends of 3 bytes, as fast as possible -------------------------------


@pytest.mark.asyncio
async def test_a_flood_of_tiny_appends_is_honoured_without_starving_others() -> None:
    count = int(os.environ.get("RW_FLOOD_APPENDS", "100000"))
    # keepalive_s is short so that a keepalive which pinged a busy client would fail here.
    limits = ServerLimits(keepalive_s=0.5)
    async with (
        LocalServer(pace=0, speech=False, limits=limits) as server,
        session(server) as ws,
        session(server) as healthy,
    ):
        await add_text(ws, "item_before", "accepted before the flood")
        flooder = next(e for e in server.sessions.values() if "item_before" in e.conversation.items)
        append = json.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"})

        async def flood() -> None:
            for _ in range(count):
                await ws.send(append)

        sending = asyncio.create_task(flood())
        try:
            # While the flood is on, the healthy session's turns still complete.
            turns = 0
            while flooder.stats["appended_bytes"] < 3 * count // 4:
                assert await text_turn(healthy) == "completed"
                turns += 1
                await asyncio.sleep(200 * MS)  # a person's pace, not a second flood
            await asyncio.wait_for(sending, TIMEOUT * 4)
            assert turns >= 1
        finally:
            sending.cancel()
        # Every append was honoured: the server received each byte, and nothing else.
        probe = await retrieve(ws, "item_before")
        assert text_of(probe) == "accepted before the flood"
        assert flooder.stats["appended_bytes"] == 3 * count
        assert flooder.stats["errors"] == 0
        # 1.5 samples an append: joined into 100 ms chunks, not one record per append.
        assert len(flooder.input.buffer.chunks) <= count * 1.5 / 2400 + 2
        assert ws.close_code is None
        assert await text_turn(ws) == "completed"


# ---- probe: 200 MB of base64 appended, no commit ----------------------------------------


def no_vad() -> str:
    return json.dumps(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )


@pytest.mark.asyncio
async def test_the_uncommitted_buffer_is_capped_and_what_it_holds_is_kept() -> None:
    chunk = bytes(12 * 1024 * 1024)  # 250 s of 24 kHz PCM16 per append
    audio = base64.b64encode(chunk).decode()
    async with (
        LocalServer(pace=0, speech=False) as server,
        session(server) as ws,
        session(server) as healthy,
    ):
        await ws.send(no_vad())
        await until(ws, "session.updated")
        for _ in range(3):  # 750 s: under the default 900 s
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        await ws.send(
            json.dumps({"type": "input_audio_buffer.append", "audio": audio, "event_id": "over"})
        )
        error = await until(ws, "error")
        assert error["error"]["event_id"] == "over"
        assert error["error"]["code"] == "input_audio_buffer_full"
        assert error["error"]["param"] == "audio"
        assert "limit of 900 s" in error["error"]["message"]
        assert "max_buffer_s" in error["error"]["message"]
        assert ws.close_code is None
        assert await text_turn(healthy) == "completed"
        # The 750 s already buffered are all committed: nothing accepted was lost.
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        committed = await until(ws, "input_audio_buffer.committed")
        item = await retrieve(ws, committed["item_id"])
        assert len(base64.b64decode(item["content"][0]["audio"])) == 3 * len(chunk)
        # Committing emptied the buffer: appending works again.
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await until(ws, "input_audio_buffer.committed")
        assert await text_turn(ws) == "completed"


@pytest.mark.asyncio
async def test_an_append_over_15_mib_gets_openais_error() -> None:
    audio = base64.b64encode(bytes(15 * 1024 * 1024 + 2)).decode()
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        await add_text(ws, "item_before", "accepted before the big append")
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        error = await until(ws, "error")
        assert error["error"]["message"] == (
            "Invalid 'audio': the audio chunk exceeds the maximum size of 15 MiB."
        )
        assert text_of(await retrieve(ws, "item_before")) == "accepted before the big append"
        assert await text_turn(ws) == "completed"


# ---- probe: a 60-minute session with audio both ways --------------------------------------


def spoken_turns(engine: SessionEngine, turns: int, seconds: float) -> list[dict[str, Any]]:
    """``turns`` user turns of ``seconds`` of audio each, committed and answered (text)."""
    noise = (np.random.default_rng(3).standard_normal(int(24000 * seconds)) * 3000).astype(np.int16)
    out: list[dict[str, Any]] = []
    audio = base64.b64encode(noise.tobytes()).decode()
    for k in range(turns):
        out += engine.receive(json.dumps({"type": "input_audio_buffer.append", "audio": audio}), k)
        out += engine.receive(json.dumps({"type": "input_audio_buffer.commit"}), k)
        out += engine.receive(json.dumps({"type": "response.create"}), k)
        for request in engine.take_requests():
            out += engine.reply_ready(request, ReplyMaterial("noted"), k)
        out += engine.tick(k + 0.5)
    return out


def engine_with(limits: ServerLimits, truncation: Any = "auto") -> SessionEngine:
    engine = SessionEngine(options=EngineOptions(pace=0, limits=limits))
    engine.start(0.0)
    update = {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["text"],
            "truncation": truncation,
            "audio": {"input": {"turn_detection": None}},
        },
    }
    assert engine.receive(json.dumps(update), 0.0)[-1]["type"] == "session.updated"
    return engine


def test_auto_truncation_bounds_the_stored_audio_and_keeps_the_newest() -> None:
    # 1,000 tokens of context = 100 s of audio at 10 tokens/s; 60 turns of 10 s = 600 s.
    engine = engine_with(ServerLimits(context_tokens=1000))
    out = spoken_turns(engine, 60, 10.0)
    stored_s = (
        sum(len(i.audio) for i in engine.conversation.items.values() if i.audio is not None) / 24000
    )
    assert stored_s <= 100
    assert engine.conversation.held_tokens() <= 1000
    assert engine.conversation.dropped > 0
    done = [e["response"]["status"] for e in out if e["type"] == "response.done"]
    assert done == ["completed"] * 60  # every turn was answered
    assert not [e for e in out if e["type"] == "error"]
    # The newest turns are there, whole.
    newest = engine.conversation.ordered()[-2]
    assert newest.data["role"] == "user"
    assert newest.audio is not None
    assert len(newest.audio) == 240000
    engine.close()


def test_retention_ratio_truncates_to_its_fraction_at_once() -> None:
    """auto drops just enough; retention_ratio 0.5 drops down to half the budget at once."""
    held_after_first_cut = {}
    for name, truncation in (
        ("auto", "auto"),
        ("half", {"type": "retention_ratio", "retention_ratio": 0.5}),
    ):
        engine = engine_with(ServerLimits(context_tokens=1000), truncation)
        while engine.conversation.dropped == 0:
            spoken_turns(engine, 1, 10.0)  # 100 tokens a turn (plus a one-word reply)
        held_after_first_cut[name] = engine.conversation.held_tokens()
        engine.close()
    assert held_after_first_cut["auto"] > 850
    assert held_after_first_cut["half"] <= 500 + 110  # half, plus the newest turn kept whole


def test_disabled_truncation_refuses_what_does_not_fit_with_an_error() -> None:
    engine = engine_with(ServerLimits(context_tokens=1000), "disabled")
    first = spoken_turns(engine, 1, 10.0)
    first_item = next(e["item_id"] for e in first if e["type"] == "input_audio_buffer.committed")
    out = spoken_turns(engine, 20, 10.0)
    errors = [e["error"] for e in out if e["type"] == "error"]
    assert errors
    assert errors[0]["code"] == "context_length_exceeded"
    assert errors[0]["message"].startswith("This model's maximum context length is ")
    assert engine.conversation.held_tokens() <= 1000
    # Nothing accepted was taken away: the first turn is still there, with its audio.
    assert engine.conversation.dropped == 0
    kept = engine.conversation.items[first_item]
    assert kept.audio is not None
    assert len(kept.audio) == 240000
    assert engine.closed is None
    engine.close()


@pytest.mark.asyncio
async def test_a_long_spoken_session_keeps_the_server_bounded() -> None:
    """Over a socket: 40 turns of 30 s (20 minutes of audio) with a 3,000-token context."""
    limits = ServerLimits(context_tokens=3000)
    noise = (np.random.default_rng(4).standard_normal(24000 * 30) * 3000).astype(np.int16)
    audio = base64.b64encode(noise.tobytes()).decode()
    async with (
        LocalServer(pace=0, speech=False, limits=limits) as server,
        session(server) as ws,
        session(server) as healthy,
    ):
        await ws.send(no_vad())
        await until(ws, "session.updated")
        engine = next(iter(server.sessions.values()))
        for _ in range(40):
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            await ws.send(
                json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
            )
            done = await until(ws, "response.done")
            assert done["response"]["status"] == "completed"
        stored_s = (
            sum(len(i.audio) for i in engine.conversation.items.values() if i.audio is not None)
            / 24000
        )
        assert stored_s <= 300  # 3,000 tokens at 10 tokens/s
        assert await text_turn(healthy) == "completed"
        assert await text_turn(ws) == "completed"


# ---- probe: one 100 MB frame ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_oversize_frame_closes_1009_with_the_limit_in_the_reason() -> None:
    limits = ServerLimits(max_frame_bytes=1024 * 1024)
    async with (
        LocalServer(pace=0, speech=False, limits=limits) as server,
        session(server) as ws,
        session(server) as healthy,
    ):
        await add_text(healthy, "item_kept", "accepted beside the big frame")
        await ws.send("x" * (2 * 1024 * 1024))
        with pytest.raises(websockets.ConnectionClosed) as info:
            await until(ws, "never sent")
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1009
        assert "exceeds limit of 1048576 bytes" in info.value.rcvd.reason
        assert "max_frame_bytes" in info.value.rcvd.reason
        assert await text_turn(healthy) == "completed"
        assert text_of(await retrieve(healthy, "item_kept")) == "accepted beside the big frame"


@pytest.mark.asyncio
async def test_the_default_frame_limit_takes_a_full_15_mib_append() -> None:
    audio = base64.b64encode(bytes(15 * 1024 * 1024)).decode()
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
                }
            )
        )
        await until(ws, "session.updated")
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        committed = await until(ws, "input_audio_buffer.committed")
        item = await retrieve(ws, committed["item_id"])
        assert len(base64.b64decode(item["content"][0]["audio"])) == 15 * 1024 * 1024


# ---- never 1011 ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_server_bug_on_one_event_is_an_error_event_not_a_1011(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A bug in the engine's own code on a commit (a transcriber that raises is no bug of the
    # server's: that turn's transcription fails, tests/server/test_whisper.py).
    def broken(self: object, item_id: str, audio: np.ndarray) -> list[Any]:
        raise ZeroDivisionError("a server bug")

    monkeypatch.setattr(InputTranscripts, "commit", broken)
    async with (
        LocalServer(pace=0, speech=False, transcriber=lambda a: "") as server,
        session(server) as ws,
        session(server) as healthy,
    ):
        await add_text(ws, "item_before", "accepted before the bug")
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "audio": {
                            "input": {
                                "turn_detection": None,
                                "transcription": {"model": "whisper-1"},
                            }
                        },
                    },
                }
            )
        )
        await until(ws, "session.updated")
        audio = base64.b64encode(bytes(48000)).decode()  # 500 ms
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        error = await until(ws, "error")
        assert error["error"]["type"] == "server_error"
        assert "ZeroDivisionError" in error["error"]["message"]
        assert ws.close_code is None
        assert text_of(await retrieve(ws, "item_before")) == "accepted before the bug"
        assert await text_turn(ws) == "completed"
        assert await text_turn(healthy) == "completed"


@pytest.mark.asyncio
async def test_a_peer_that_never_answers_pings_is_closed_1001() -> None:
    limits = ServerLimits(keepalive_s=0.3)
    async with (
        LocalServer(pace=0, speech=False, limits=limits) as server,
        session(server) as healthy,
    ):
        # A raw client: completes the handshake, then reads frames and never answers.
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(
            b"GET /v1/realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        opcodes = []
        while True:
            head = await asyncio.wait_for(reader.readexactly(2), TIMEOUT)
            size = head[1] & 0x7F
            if size == 126:
                size = int.from_bytes(await reader.readexactly(2), "big")
            elif size == 127:
                size = int.from_bytes(await reader.readexactly(8), "big")
            payload = await reader.readexactly(size)
            opcodes.append(head[0] & 0x0F)
            if opcodes[-1] == 0x8:
                break
        writer.close()
        assert opcodes[0] == 0x1  # session.created
        assert 0x9 in opcodes  # a ping, unanswered
        assert int.from_bytes(payload[:2], "big") == 1001
        assert payload[2:] == b"keepalive ping timeout"
        assert await text_turn(healthy) == "completed"  # pinged too, and it answered


# ---- every limit is named in the CLI and the README ----------------------------------------


def test_every_limit_is_a_serve_flag_and_in_the_readme() -> None:
    import dataclasses
    from pathlib import Path

    help_text = subprocess.run(
        [sys.executable, "-m", "realtime_widgets", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    ).stdout
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    local_server = readme[readme.index("## The local server") :]
    local_server = local_server[: local_server.index("\n## ", 3)]
    for f in dataclasses.fields(ServerLimits):
        flag = "--" + f.name.replace("_", "-")
        assert flag in help_text, flag
        assert f"`{f.name}`" in local_server, f.name
    assert "(default 64)" in help_text


def test_limits_must_be_positive_and_name_the_field() -> None:
    with pytest.raises(
        ValueError, match=r"ServerLimits.max_sessions must be a positive number, got 0"
    ):
        ServerLimits(max_sessions=0)
