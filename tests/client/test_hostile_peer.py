"""What a broken or hostile server sends must never silently end the session's reader.

Each peer here is a real websockets server on 127.0.0.1 that sends chosen frames; the client
is a real RealtimeSession. A bad frame becomes a ``client.protocol_error`` event and reading
goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from realtime_widgets.client import Endpoint, RealtimeSession

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
