"""The local server's transcription jobs over real loopback sockets: one session's jobs are
bounded (``ServerLimits.max_transcriptions_per_session``, counted until the recogniser thread
has really finished each, not when its wait timed out), and the recogniser serves the
sessions in turn."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.input_transcripts import Transcript
from realtime_widgets.server.limits import ServerLimits
from tests.server.sockets import recv
from tests.waiting import MS, eventually_async

TIMEOUT = 30_000 * MS
COMPLETED = "conversation.item.input_audio_transcription.completed"
FAILED = "conversation.item.input_audio_transcription.failed"


class GatedEars:
    """A recogniser that waits for its gate, and records the length of what it heard."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.heard: list[int] = []
        self.finished = 0

    def __call__(self, audio: np.ndarray) -> Transcript:
        self.heard.append(len(audio))
        assert self.gate.wait(TIMEOUT)
        self.finished += 1
        return Transcript(f"{len(audio)} samples")


@contextlib.asynccontextmanager
async def session(server: LocalServer) -> AsyncIterator[ClientConnection]:
    """A session with manual turns and input transcription on."""
    async with websockets.connect(server.url, compression=None) as ws:
        assert (await recv(ws))["type"] == "session.created"
        audio_in = {"turn_detection": None, "transcription": {"model": "whisper-1"}}
        update = {"type": "realtime", "audio": {"input": audio_in}}
        await ws.send(json.dumps({"type": "session.update", "session": update}))
        while (await recv(ws))["type"] != "session.updated":
            pass
        yield ws


async def commit(ws: ClientConnection, samples: int) -> str:
    """Append ``samples`` of a tone and commit them: the committed item's id."""
    tone = (3000 * np.sin(np.arange(samples) / 8)).astype(np.int16)
    audio = base64.b64encode(tone.tobytes()).decode()
    await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
    await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
    while (event := await recv(ws))["type"] != "input_audio_buffer.committed":
        pass
    return str(event["item_id"])


async def outcome(ws: ClientConnection, item_id: str) -> dict[str, Any]:
    """The completed or failed event of ``item_id``'s transcription."""
    while True:
        event = await recv(ws)
        if event["type"] in (COMPLETED, FAILED) and event["item_id"] == item_id:
            return event


@pytest.mark.asyncio
async def test_a_sessions_transcriptions_are_bounded_until_the_recogniser_has_finished() -> None:
    ears = GatedEars()
    # (1 s: the gate makes the first two time out whatever the bound; the fifth must be heard
    # within it, a hop to the recogniser's thread and back on a loaded machine)
    limits = ServerLimits(max_transcriptions_per_session=2, transcription_timeout_s=1.0)
    async with (
        LocalServer(pace=0, speech=False, transcriber=ears, limits=limits) as server,
        session(server) as ws,
    ):
        first, second = await commit(ws, 4800), await commit(ws, 4800)
        third = await commit(ws, 4800)  # past the limit: refused at once, naming it
        refused = await outcome(ws, third)
        assert refused["type"] == FAILED
        assert refused["error"]["code"] == "transcription_limit"
        assert "ServerLimits.max_transcriptions_per_session" in refused["error"]["message"]
        # The first two time out while the recogniser is still busy with the first...
        for item_id in (first, second):
            failed = await outcome(ws, item_id)
            assert failed["error"]["code"] == "transcription_timeout"
        assert ears.finished == 0
        # ...and still count: the recogniser has not finished them.
        fourth = await commit(ws, 4800)
        assert (await outcome(ws, fourth))["error"]["code"] == "transcription_limit"
        ears.gate.set()
        await eventually_async(lambda: ears.finished == 1)
        fifth = await commit(ws, 7200)  # the session's jobs are done: it is heard again
        heard = await outcome(ws, fifth)
        assert heard["type"] == COMPLETED
        assert heard["transcript"] == "7200 samples"
    # The second job's wait ended before it ran: it was never run.
    assert ears.heard == [4800, 7200]


@pytest.mark.asyncio
async def test_the_recogniser_serves_the_sessions_in_turn() -> None:
    ears = GatedEars()
    async with (
        LocalServer(pace=0, speech=False, transcriber=ears) as server,
        session(server) as busy,
        session(server) as other,
    ):
        busy_items = [await commit(busy, 4800 + 240 * k) for k in range(3)]
        await eventually_async(lambda: len(ears.heard) == 1)  # busy's first job runs
        other_item = await commit(other, 9600)
        ears.gate.set()
        for item_id in busy_items:
            assert (await outcome(busy, item_id))["type"] == COMPLETED
        assert (await outcome(other, other_item))["type"] == COMPLETED
    # The other session's job ran right after the job that was running, not after all of
    # the busy session's.
    assert ears.heard == [4800, 9600, 5040, 5280]
