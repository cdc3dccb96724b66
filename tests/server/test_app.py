"""The local server over real loopback sockets (port 0), with the official SDK as a client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest
import websockets
from openai import AsyncOpenAI

from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.vad import MODEL

from .conftest import Clip

TIMEOUT = float(os.environ.get("RW_TEST_TIMEOUT", "30"))


@pytest.mark.asyncio
async def test_official_sdk_completes_a_spoken_turn(three_turns: Clip) -> None:
    turn = three_turns.samples[: int((three_turns.truth[0][1] + 800) * 24)]
    async with LocalServer(pace=0) as server:
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
        async with client.realtime.connect(model="gpt-realtime-1.5") as conn:
            await conn.session.update(
                session={"type": "realtime", "audio": {"output": {"voice": "marin"}}}
            )
            for i in range(0, len(turn), 960):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(turn[i : i + 960].tobytes()).decode()
                )
            seen: list[str] = []
            audio = 0

            async def collect() -> str:
                nonlocal audio
                async for event in conn:
                    seen.append(event.type)
                    if event.type == "response.output_audio.delta":
                        audio += len(base64.b64decode(event.delta))
                    if event.type == "response.done":
                        return event.response.status or ""
                return ""

            status = await asyncio.wait_for(collect(), TIMEOUT)
    assert status == "completed"
    assert seen[0] == "session.created"
    for kind in (
        "session.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "response.created",
        "response.output_audio_transcript.delta",
    ):
        assert kind in seen
    assert audio > 24000 * 2  # at least half a second of speech came back


@pytest.mark.asyncio
async def test_beta_header_is_refused_with_4000() -> None:
    async with (
        LocalServer() as server,
        websockets.connect(
            server.url + "?model=gpt-realtime-1.5",
            additional_headers={"OpenAI-Beta": "realtime=v1"},
        ) as ws,
    ):
        msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert msg["error"]["code"] == "beta_api_shape_disabled"
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 4000


@pytest.mark.asyncio
async def test_beta_dialect_serves_old_clients() -> None:
    async with (
        LocalServer(dialect="beta", pace=0) as server,
        websockets.connect(server.url, additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws,
    ):
        created = json.loads(await ws.recv())
        assert created["type"] == "session.created"
        assert created["session"]["input_audio_format"] == "pcm16"
        # The beta session object kept its id, object and expiry (GA's, as the SDK models it,
        # has none).
        assert created["session"]["id"].startswith("sess_")
        assert created["session"]["object"] == "realtime.session"
        assert isinstance(created["session"]["expires_at"], int)
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"modalities": ["text"], "temperature": 0.9},
                }
            )
        )
        updated = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert updated["type"] == "session.updated"
        assert updated["session"]["modalities"] == ["text"]
        assert updated["session"]["temperature"] == 0.9
        await ws.send(
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "hi"}],
                    },
                }
            )
        )
        await ws.send(json.dumps({"type": "response.create"}))
        kinds = []
        while "response.done" not in kinds:
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["type"])
        assert "conversation.item.created" in kinds
        assert "response.text.delta" in kinds
        assert "conversation.item.done" not in kinds


@pytest.mark.asyncio
async def test_token_is_required_when_set() -> None:
    async with LocalServer(token="sekret") as server:
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(server.url):
                pass
        assert info.value.response.status_code == 401
        async with websockets.connect(
            server.url, additional_headers={"Authorization": "Bearer sekret"}
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
        assert "sekret" not in repr(server)


@pytest.mark.asyncio
async def test_unknown_path_is_404() -> None:
    async with LocalServer() as server:
        with pytest.raises(websockets.InvalidStatus) as info:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/v2/chat"):
                pass
        assert info.value.response.status_code == 404


@pytest.mark.asyncio
async def test_sessions_are_isolated() -> None:
    async with (
        LocalServer(pace=0) as server,
        websockets.connect(server.url) as a,
        websockets.connect(server.url) as b,
    ):
        await a.recv()
        await b.recv()
        await a.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "instructions": "A only"},
                }
            )
        )
        assert json.loads(await a.recv())["session"]["instructions"] == "A only"
        for junk in (
            "{",
            "[]",
            '{"type": 3}',
            '{"type": "input_audio_buffer.append", "audio": 5}',
        ):
            await a.send(junk)
            assert json.loads(await asyncio.wait_for(a.recv(), TIMEOUT))["type"] == "error"
        await b.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        session_b = json.loads(await asyncio.wait_for(b.recv(), TIMEOUT))["session"]
        assert session_b["instructions"] != "A only"
        assert len(server.sessions) == 2


def test_background_thread_start_stop_leaves_nothing_running() -> None:
    before = set(threading.enumerate())
    server = LocalServer(pace=0).start()
    try:
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/v1/realtime", server.url)

        async def talk() -> str:
            async with websockets.connect(server.url) as ws:
                return json.loads(await ws.recv())["type"]

        assert asyncio.run(talk()) == "session.created"
    finally:
        server.stop()
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == []


def test_cli_serves_until_terminated() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "realtime_widgets", "serve", "--port", "0", "--pace", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = re.search(r"ws://127\.0\.0\.1:\d+/v1/realtime", line)
            assert url, line

            async def talk() -> str:
                async with websockets.connect(url.group(0)) as ws:
                    return json.loads(await ws.recv())["type"]

            assert asyncio.run(talk()) == "session.created"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0


class _RecordingModel:
    """The shared Silero network, recording the thread of every run."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def load(self) -> Any:
        session = MODEL.load()
        threads = self.threads

        class Session:
            def run(self, *args: Any, **kwargs: Any) -> Any:
                threads.append(threading.current_thread().name)
                return session.run(*args, **kwargs)

        return Session()


@pytest.mark.asyncio
async def test_silero_never_runs_on_the_event_loop(three_turns: Clip) -> None:
    turn = three_turns.samples[: int((three_turns.truth[0][1] + 800) * 24)]
    async with LocalServer(pace=0, speech=False) as server:
        model = _RecordingModel()
        server.vad_batch._model = model  # type: ignore[assignment]
        loop_thread = threading.current_thread().name
        async with websockets.connect(server.url) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            # No reply: its unread events would only hold up the client's close.
            quiet = {"type": "server_vad", "create_response": False}
            update = {"type": "realtime", "audio": {"input": {"turn_detection": quiet}}}
            await ws.send(json.dumps({"type": "session.update", "session": update}))
            for i in range(0, len(turn), 960):
                chunk = base64.b64encode(turn[i : i + 960].tobytes()).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))

            async def until_stopped() -> None:
                while json.loads(await ws.recv())["type"] != "input_audio_buffer.speech_stopped":
                    pass

            await asyncio.wait_for(until_stopped(), TIMEOUT)
    assert len(model.threads) > 10  # the turn's windows ran through the recording model
    assert loop_thread not in model.threads
    assert set(model.threads) == {"realtime-vad_0"}
