"""Model threads run below the event loop's priority (server/threads.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import threading
from typing import Any

import numpy as np
import pytest
import websockets

from realtime_widgets.server.threads import BACKGROUND_NICE, background_pool


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_background_pool_runs_below_the_callers_priority() -> None:
    mine = _nice()
    pool = background_pool(2, "test-background")
    try:
        seen = {pool.submit(_nice).result(timeout=10) for _ in range(4)}
        names = {pool.submit(lambda: threading.current_thread().name).result(timeout=10)}
    finally:
        pool.shutdown(wait=True)
    assert seen == {min(19, mine + BACKGROUND_NICE)}
    assert _nice() == mine  # the caller's own priority is untouched
    assert all(name.startswith("test-background") for name in names)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
@pytest.mark.asyncio
async def test_the_server_speaks_and_hears_below_its_event_loops_priority() -> None:
    from realtime_widgets.server.app import LocalServer

    seen: dict[str, int] = {}

    class Voice:
        description = "a voice that records its thread's priority"

        def speak(self, text: str, voice: str, speed: float) -> Any:
            seen["speak"] = _nice()
            from realtime_widgets.server.speech import Speech

            return Speech(np.zeros(2400, np.int16), 24000, (0.0,) * len(text.split()))

    def hear(samples: Any) -> str:
        seen["hear"] = _nice()
        return "hello there"

    loop_nice = _nice()
    async with (
        LocalServer(pace=0, speech=Voice(), transcriber=hear) as server,
        websockets.connect(server.url) as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "session.created"
        update = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        await ws.send(json.dumps({"type": "session.update", "session": update}))
        audio = base64.b64encode(np.ones(4800, np.int16).tobytes()).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await ws.send(json.dumps({"type": "response.create"}))

        async def until_done() -> None:
            while json.loads(await ws.recv())["type"] != "response.done":
                pass

        await asyncio.wait_for(until_done(), 30)
    assert _nice() == loop_nice
    assert seen == {
        "speak": min(19, loop_nice + BACKGROUND_NICE),
        "hear": min(19, loop_nice + BACKGROUND_NICE),
    }
