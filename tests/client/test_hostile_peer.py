"""What a broken or hostile server sends must never silently end the session's reader.

Each peer here is a real websockets server on 127.0.0.1 that sends chosen frames; the client
is a real RealtimeSession. A bad frame becomes a ``client.protocol_error`` event and reading
goes on; if the reader ends anyway, ``connected`` is False at once, ``session.disconnected``
says why, and every wait fails with that cause (not a timeout).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from realtime_widgets import ServerError
from realtime_widgets.client import Endpoint, RealtimeSession
from realtime_widgets.client.core import ClientCore
from realtime_widgets.protocol.events import ServerEvent
from tests.waiting import FACTOR, eventually

from .conftest import ThreadPeer

CREATED = json.dumps(
    {"type": "session.created", "event_id": "e0", "session": {"type": "realtime", "id": "s1"}}
)
DONE = json.dumps(
    {
        "type": "response.done",
        "event_id": "e9",
        "response": {"id": "resp_1", "object": "realtime.response", "status": "completed"},
    }
)


def answering(frames: list[str]) -> Callable[[ServerConnection], Any]:
    """A peer that creates a session, then answers every client message with ``frames``."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send(CREATED)
        async for _ in ws:
            for text in frames:
                await ws.send(text)

    return handler


def audio_delta(delta: str) -> str:
    return json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "e1",
            "response_id": "resp_1",
            "item_id": "item_a",
            "output_index": 0,
            "content_index": 0,
            "delta": delta,
        }
    )


def problems_of(session: RealtimeSession) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    session.on("client.protocol_error", lambda e: seen.append(dict(e.model_extra or {})))
    return seen


def test_a_non_json_frame_while_recording_is_reported_and_reading_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.jsonl"
    with ThreadPeer(answering(["this is not json", DONE])) as peer:
        s = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), reconnect=False, record=path)
        problems = problems_of(s)
        try:
            s.connect()
            mark = s.mark()
            s.clear_audio()
            done = s.wait_for("response.done", timeout=30, since=mark)
            assert done.response.id == "resp_1"  # type: ignore[attr-defined]
            assert s.connected
        finally:
            s.close()
    assert len(problems) == 1
    assert problems[0]["message"].startswith("not JSON: Expecting value")
    assert problems[0]["frame"] == "this is not json"
    # The recording keeps the frame as it came; a replay reports it as the live session did.
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert {"dir": "in", "raw": "this is not json"}.items() <= rows[2].items()
    replayed = RealtimeSession.replay(path, speed=0)
    seen: list[str] = []
    replayed.on("*", lambda e: seen.append(e.type))
    try:
        replayed.play()
    finally:
        replayed.close()
    assert seen[:3] == ["session.created", "client.protocol_error", "response.done"]


@pytest.mark.parametrize(
    ("delta", "cause"),
    [
        (
            "abcde",
            "not base64: Invalid base64-encoded string: "
            "number of data characters (5) cannot be 1 more than a multiple of 4",
        ),
        ("YWJj", "PCM16 data must have an even number of bytes (2 per sample), got 3"),
        ("\u00e9t\u00e9", "not base64: string argument should contain only ASCII characters"),
    ],
    ids=["bad-base64", "odd-byte-count", "not-ascii"],
)
def test_undecodable_output_audio_is_reported_and_reading_goes_on(delta: str, cause: str) -> None:
    with ThreadPeer(answering([audio_delta(delta), DONE])) as peer:
        s = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), reconnect=False)
        problems = problems_of(s)
        heard: list[int] = []
        s.add_output_audio_tap(lambda item_id, samples: heard.append(len(samples)))
        try:
            s.connect()
            mark = s.mark()
            s.clear_audio()
            s.wait_for("response.done", timeout=30, since=mark)
            assert s.connected
            assert any(e.type == "response.output_audio.delta" for e in s.events)  # logged
        finally:
            s.close()
    assert heard == []
    assert [p["message"] for p in problems] == [
        f"response.output_audio.delta of item item_a: {cause}"
    ]
    assert problems[0]["frame"] == audio_delta(delta)[:200]


class BuggyCore(ClientCore):
    """A core with a bug: a frame holding ``"boom"`` makes ``receive`` raise. It stands for any
    failure the per-frame guards did not foresee (the reader's last line of defence)."""

    def receive(self, text: str) -> ServerEvent | None:
        if '"boom"' in text:
            raise RuntimeError("a bug in the core")
        return super().receive(text)


class BuggySession(RealtimeSession):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.core = BuggyCore(self.core.requested)  # the core is the session's to choose


def test_a_reader_that_fails_disconnects_at_once_and_every_wait_fails_with_the_cause() -> None:
    boom = json.dumps({"type": "boom", "event_id": "e1"})
    with ThreadPeer(answering([boom])) as peer:
        s = BuggySession(endpoint=Endpoint.local(peer.url, "m"))  # reconnect on: still ends
        said: list[tuple[bool, dict[str, Any]]] = []
        s.on(
            "session.disconnected", lambda e: said.append((s.connected, dict(e.model_extra or {})))
        )
        try:
            s.connect()
            waiting = s.submit(s.await_event("response.done", timeout=600))
            with pytest.raises(ServerError, match="a bug in the core") as update_failed:
                s.update(voice="cedar")  # the peer answers the update with the fatal frame
            assert update_failed.value.code == "reader_failed"
            with pytest.raises(ServerError, match="RuntimeError: a bug in the core"):
                waiting.result(30)
            assert s.connected is False
            with pytest.raises(ServerError, match="a bug in the core"):
                s.send_text("anyone there?")  # at once, not after the session's timeout
            with pytest.raises(ServerError, match="a bug in the core"):
                s.wait_for("response.done", timeout=600)
        finally:
            s.close()
    assert said == [
        (
            False,
            {
                "code": None,
                "reason": "reader_failed",
                "message": "the session stopped reading server events: "
                "RuntimeError: a bug in the core",
            },
        )
    ]


def test_a_broken_handshake_on_reconnect_ends_the_session_loudly() -> None:
    connections = 0

    def process_request(ws: ServerConnection, request: Request) -> Response | None:
        nonlocal connections
        connections += 1
        if connections == 1:
            return None
        return Response(101, "Switching Protocols", Headers())  # no Upgrade: not a handshake

    async def handler(ws: ServerConnection) -> None:
        await ws.send(CREATED)
        async for _ in ws:
            await ws.close(1011, "gone")

    with ThreadPeer(handler, process_request=process_request) as peer:
        s = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"), max_reconnects=2)
        said: list[dict[str, Any]] = []
        s.on("session.disconnected", lambda e: said.append(dict(e.model_extra or {})))
        try:
            s.connect()
            waiting = s.submit(s.await_event("response.done", timeout=600))
            s.append_audio(np.zeros(240, np.int16))  # the peer drops us; reconnects meet junk
            with pytest.raises(ServerError, match=r"closed \(code 1011\) and was not reopened"):
                waiting.result(60)
            assert s.connected is False
        finally:
            s.close()
    assert connections == 3
    assert said[0]["code"] == 1011
    assert said[0]["reason"] == "connection_lost"
    with ThreadPeer(handler, process_request=lambda ws, r: Response(101, "?", Headers())) as peer:
        s = RealtimeSession(endpoint=Endpoint.local(peer.url, "m"))
        with pytest.raises(ServerError, match="invalid WebSocket handshake"):
            s.connect()
        s.close()


def test_a_peer_that_never_says_session_created_gets_its_socket_closed() -> None:
    """A peer that completes the handshake and then says nothing: connect times out, and the
    socket it opened is closed, not left behind (a reconnect would leak one per attempt)."""
    closed: list[bool] = []

    async def silent(ws: ServerConnection) -> None:
        await ws.wait_closed()
        closed.append(True)

    with ThreadPeer(silent) as peer:
        session = RealtimeSession(
            endpoint=Endpoint.local(peer.url, "m"), reconnect=False, timeout=0.5 * FACTOR
        )
        try:
            with pytest.raises(TimeoutError):
                session.connect()
            eventually(lambda: closed == [True], timeout=10)
        finally:
            session.close()
