"""Nothing a session meets may silently end it: a bug outside the reader (the ticker releasing
a reply's events, a worker scheduling a reply) is a ``server_error`` event and the session goes
on; a session whose own loop dies anyway is logged and closed 1011 with a reason."""

from __future__ import annotations

import base64
import inspect
import json
import logging
import threading
from typing import Any

import numpy as np
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from realtime_widgets.server import connection
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.engine import SessionEngine
from realtime_widgets.server.limits import ServerLimits
from realtime_widgets.server.responses import Responses
from realtime_widgets.server.vad import SpeechProbability
from tests.server.sockets import recv, session
from tests.speech import Clip
from tests.waiting import MS, eventually_async

TIMEOUT = 30_000 * MS


async def text_turn(ws: ClientConnection) -> list[dict[str, Any]]:
    """A user message and a text response: every event up to its response.done."""
    await ws.send(
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "hello"}],
                },
            }
        )
    )
    await ws.send(
        json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
    )
    events = []
    while not events or events[-1]["type"] != "response.done":
        events.append(await recv(ws))
    return events


async def drain(ws: ClientConnection) -> None:
    """Read until the server closes the connection."""
    while True:
        await recv(ws)


def fail_once(monkeypatch: pytest.MonkeyPatch, owner: type, name: str, when: Any = None) -> None:
    """``owner.name`` raises ZeroDivisionError the first time ``when(*args)`` holds."""
    real = getattr(owner, name)
    failed = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        if not failed and (when is None or when(*args)):
            failed.append(True)
            raise ZeroDivisionError("a server bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, broken)


@pytest.mark.asyncio
async def test_a_bug_while_releasing_a_reply_is_a_server_error_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def late_in_the_reply(_self: Any, _r: Any, event: dict[str, Any], _now: float) -> bool:
        if event["type"] != "response.output_text.done":
            return False
        # Paced in real time, the reply's last events are released by the ticker.
        assert any(f.function == "_ticker" for f in inspect.stack())
        return True

    fail_once(monkeypatch, Responses, "_release", late_in_the_reply)
    async with LocalServer(pace=1.0, lead=0.0, speech=False) as server, session(server) as ws:
        first = await text_turn(ws)
        errors = [e for e in first if e["type"] == "error"]
        assert [e["error"]["type"] for e in errors] == ["server_error"]
        assert "ZeroDivisionError" in errors[0]["error"]["message"]
        assert first[-1]["response"]["status"] == "completed"
        assert ws.close_code is None
        assert (await text_turn(ws))[-1]["response"]["status"] == "completed"


@pytest.mark.asyncio
async def test_a_bug_scheduling_a_reply_fails_that_response_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fail_once(monkeypatch, SessionEngine, "reply_piece")
    async with LocalServer(pace=0, speech=False) as server, session(server) as ws:
        first = await text_turn(ws)
        kinds = [e["type"] for e in first]
        assert "error" in kinds
        error = first[kinds.index("error")]["error"]
        assert error["type"] == "server_error"
        done = first[-1]["response"]
        assert done["status"] == "failed"
        assert done["status_details"]["type"] == "failed"
        assert done["status_details"]["error"]["type"] == "server_error"
        # Not stuck with a response "in progress": the next one runs.
        assert (await text_turn(ws))[-1]["response"]["status"] == "completed"


@pytest.mark.asyncio
async def test_a_session_whose_loop_dies_is_logged_and_closed_1011_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def dead_keepalive(self: Any) -> None:
        raise RuntimeError("the keepalive broke")

    async with LocalServer(pace=0, speech=False) as server, session(server) as healthy:
        monkeypatch.setattr(connection.SessionConnection, "_keepalive", dead_keepalive)
        with caplog.at_level(logging.ERROR, logger="realtime_widgets.server"):
            async with websockets.connect(server.url) as ws:
                with pytest.raises(websockets.ConnectionClosedError) as info:
                    await drain(ws)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1011
        assert "RuntimeError" in info.value.rcvd.reason
        assert "server log" in info.value.rcvd.reason
        failed = [r for r in caplog.records if r.name == "realtime_widgets.server"]
        assert failed
        assert failed[0].levelno == logging.ERROR
        assert failed[0].exc_info is not None
        monkeypatch.undo()
        assert (await text_turn(healthy))[-1]["response"]["status"] == "completed"


@pytest.mark.asyncio
async def test_a_failed_vad_batch_is_an_error_event_and_every_turn_is_still_detected(
    three_turns: Clip,
) -> None:
    """The shared Silero batch fails once mid-speech (its third ONNX pass): the sessions that
    waited get an error event, and the windows it took are computed again by the next pass, so
    turn detection does not stick (every turn still starts and stops)."""
    async with LocalServer(pace=0, speech=False, transcriber=None) as server:
        batch = server.vad_batch
        real_compute, computes = batch.compute, []

        def compute(queue: Any) -> Any:
            computes.append(sum(len(q) for q in queue.values()))
            if len(computes) == 3:
                raise RuntimeError("simulated ONNX failure")
            return real_compute(queue)

        batch.compute = compute  # type: ignore[method-assign]
        async with session(server) as ws:
            vad = {"type": "server_vad", "create_response": False}
            update = {"type": "realtime", "audio": {"input": {"turn_detection": vad}}}
            await ws.send(json.dumps({"type": "session.update", "session": update}))
            while (await recv(ws))["type"] != "session.updated":
                pass
            x = np.concatenate([three_turns.samples, np.zeros(24000, np.int16)])
            for i in range(0, len(x), 960):
                chunk = base64.b64encode(x[i : i + 960].tobytes()).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
            # Events are answered in order: every append's turn events come before this.
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
            events = []
            while not events or events[-1]["type"] != "session.updated":
                events.append(await recv(ws))
    errors = [e["error"] for e in events if e["type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["type"] == "server_error"
    assert "RuntimeError" in errors[0]["message"]
    kinds = [e["type"] for e in events]
    turns = len(three_turns.truth)
    assert kinds.count("input_audio_buffer.speech_started") == turns
    assert kinds.count("input_audio_buffer.speech_stopped") == turns
    assert batch.pending == 0
    assert len(computes) > 3  # the failed windows were computed again


@pytest.mark.asyncio
async def test_a_vad_pass_that_does_not_answer_times_out_and_one_cancelled_gives_back(
    three_turns: Clip,
) -> None:
    """A wedged VAD thread: the wait ends at ServerLimits.vad_timeout_s (never a hang); the
    pass cancelled by the thread's shutdown gives its windows back, and a pass after the
    shutdown fails at once."""
    limits = ServerLimits(vad_timeout_s=0.2)
    async with LocalServer(speech=False, transcriber=None, limits=limits) as server:
        stream = SpeechProbability(server.vad_batch)
        start = int(three_turns.truth[0][0] * 24)
        stream.feed(three_turns.samples[start : start + 24000])  # a second of speech
        queued = server.vad_batch.pending
        assert queued > 0
        pool = server._vad
        assert pool is not None
        gate = threading.Event()
        pool.submit(gate.wait, TIMEOUT)  # the VAD thread is busy: the pass waits behind it
        with pytest.raises(TimeoutError):
            await server.vad_pass()
        assert server.vad_batch.pending == 0  # the windows are out
        pool.shutdown(wait=False, cancel_futures=True)  # the pass is cancelled before it ran
        gate.set()
        await eventually_async(lambda: server.vad_batch.pending == queued)
        assert stream.waiting == queued  # still waiting, in order, for the same windows
        with pytest.raises(RuntimeError, match="shutdown"):
            await server.vad_pass()
        assert server.vad_batch.pending == queued
        stream.close()
