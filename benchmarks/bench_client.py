"""CPU of one real-time duplex audio stream through RealtimeSession, as % of one core.

The client appends 24 kHz PCM16 in 40 ms chunks; a peer (its own process) answers each append
with an audio delta of the same size, so audio flows both ways at the real-time rate. Measured:
the client process's CPU time (all threads) over the run. Reference, in the same run: a bare
websockets client doing the same I/O with no session layer (no parsing into events, no state,
no metrics), sending compact JSON and reading every delta back. Goal: <= 2 % of a core and
<= 1.2x the bare client.

(Before 2026-12 the reference sent ``json.dumps`` with spaces, which the peer did not answer:
it measured half the I/O, so the old 1.62-1.78x ratios overstated the session layer.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

SECONDS = float(os.environ.get("BENCH_CLIENT_SECONDS", "20"))

PEER = r"""
import asyncio, json, sys
from websockets.asyncio.server import serve

async def handler(ws):
    await ws.send(json.dumps({"type": "session.created", "event_id": "e0",
        "session": {"type": "realtime", "id": "sess_bench", "expires_at": 2000000000}}))
    n = 0
    async for msg in ws:
        if msg.startswith('{"type":"input_audio_buffer.append"'):
            audio = json.loads(msg)["audio"]
            n += 1
            await ws.send('{"type":"response.output_audio.delta","event_id":"e%d","response_id":"r1",'
                          '"item_id":"i1","output_index":0,"content_index":0,"delta":"%s"}' % (n, audio))

async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


def chunks() -> list[np.ndarray]:
    t = np.arange(int(24000 * SECONDS)) / 24000
    x = (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16)
    return [x[i : i + 960] for i in range(0, len(x), 960)]


def run_session(port: int) -> tuple[float, int]:
    from realtime_widgets.client import Endpoint, RealtimeSession
    from realtime_widgets.protocol.config import SessionConfig

    received = 0

    def count(event: object) -> None:
        nonlocal received
        received += 1

    s = RealtimeSession(
        SessionConfig(),
        endpoint=Endpoint.local(f"ws://127.0.0.1:{port}/v1/realtime", "m"),
        reconnect=False,
    )
    s.connect()
    s.on("response.output_audio.delta", count)
    parts = chunks()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for i, chunk in enumerate(parts):
        s.stream_audio(chunk)  # the live-microphone path: no round trip per chunk
        time.sleep(max(0.0, t0 + (i + 1) * 0.04 - time.perf_counter()))
    cpu = time.process_time() - cpu0
    s.close()
    return cpu, received


def run_bare(port: int) -> tuple[float, int]:
    import websockets

    async def go() -> tuple[float, int]:
        received = 0
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/v1/realtime", compression=None, max_size=None
        ) as ws:
            await ws.recv()

            async def reader() -> None:
                nonlocal received
                async for _ in ws:
                    received += 1

            task = asyncio.create_task(reader())
            parts = chunks()
            cpu0, t0 = time.process_time(), time.perf_counter()
            for i, chunk in enumerate(parts):
                # Compact JSON, as a real client sends (and as the peer expects to answer it).
                await ws.send(
                    json.dumps(
                        {
                            "type": "input_audio_buffer.append",
                            "audio": base64.b64encode(chunk.tobytes()).decode(),
                        },
                        separators=(",", ":"),
                    )
                )
                await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.04 - time.perf_counter()))
            cpu = time.process_time() - cpu0
            task.cancel()
            return cpu, received

    return asyncio.run(go())


def main() -> None:
    peer = subprocess.Popen([sys.executable, "-c", PEER], stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout is not None
        port = int(re.sub(r"\D", "", peer.stdout.readline()))
        bare_cpu, bare_n = run_bare(port)
        cpu, n = run_session(port)
    finally:
        peer.terminate()
        peer.communicate(timeout=10)
    print(
        f"  {SECONDS:g} s of duplex 24 kHz audio, 40 ms chunks ({n} deltas received through the session, {bare_n} bare)"
    )
    print(f"  RealtimeSession: {cpu / SECONDS * 100:.2f} % of a core (goal <= 2 %)")
    print(f"  bare websockets client, same I/O: {bare_cpu / SECONDS * 100:.2f} % of a core")
    print(f"  ratio: the session layer costs {cpu / max(bare_cpu, 1e-9):.2f}x the bare client")


if __name__ == "__main__":
    main()
