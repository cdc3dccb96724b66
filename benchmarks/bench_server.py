"""Local server capacity and accuracy on this machine.

(a) Concurrent sessions, each streaming real-time 24 kHz audio (speech with pauses) in 40 ms
    chunks with server VAD on and spoken replies, against the server in its own process; every
    200 ms each session sends a probe (an item retrieve the server answers at once) and the
    probe round trip is the event latency. Reported: the largest session count whose p99 stays
    under 50 ms (goal >= 50).
(b) VAD throughput in x real time per core (the TurnDetector on a clip, one thread).
(c) End-of-speech event delay after the real end of speech (goal <= silence_duration_ms + 20).
(d) 50 sessions x 10 minutes of audio, time-compressed: bytes the server received == bytes sent,
    and 0 errors.
(e) Idle cost: the server process's RSS for 200 idle sessions (connected, nothing sent) over
    its RSS before them, per session (goal <= 1 MB), and what is left after they closed.
(f) Memory per hour of audio, the server (its own process) and the client (RealtimeSession in
    this process) measured separately: spoken turns with server VAD and spoken replies, audio
    time-compressed (each turn is sent at once, the next after the reply is done); the RSS
    growth between a checkpoint after the warm-up and the end, scaled to one hour of audio both
    ways (input + output). Goal for the client: <= 50 MB per hour.
The reference in each line is the goal from the issue; ratios are printed against it.
``BENCH_SERVER_PARTS=ea python -m benchmarks bench_server`` runs only (e) and (a).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

LEVELS = [int(x) for x in os.environ.get("BENCH_SESSIONS", "20,30,40,50,60").split(",")]
LEVEL_SECONDS = float(os.environ.get("BENCH_LEVEL_SECONDS", "10"))
SOAK_SESSIONS = int(os.environ.get("BENCH_SOAK_SESSIONS", "50"))
SOAK_MINUTES = float(os.environ.get("BENCH_SOAK_MINUTES", "10"))
IDLE_SESSIONS = int(os.environ.get("BENCH_IDLE_SESSIONS", "200"))
AUDIO_MINUTES = float(os.environ.get("BENCH_AUDIO_MINUTES", "120"))  # in + out


def speech_clip() -> tuple[np.ndarray, list[tuple[float, float]]]:
    from realtime_widgets.server.tts import default_synthesizer

    synth = default_synthesizer()
    parts, truth, pos = [np.zeros(12000, np.int16)], [], 500.0
    for text, voice in (
        ("Hello, could you help me with something?", "marin"),
        ("Thank you very much.", "ash"),
    ):
        s = synth.speak(text, voice, 1.0).samples
        env = np.abs(s[: len(s) // 24 * 24].astype(float)).reshape(-1, 24).max(axis=1)
        idx = np.nonzero(env > 327)[0]
        truth.append((pos + idx[0], pos + idx[-1] + 1))
        parts += [s, np.zeros(24000 * 2, np.int16)]
        pos += len(s) / 24 + 2000
    return np.concatenate(parts), truth


def chunks_b64(x: np.ndarray, ms: int = 40) -> list[str]:
    step = 24 * ms
    return [
        json.dumps(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(x[i : i + step].tobytes()).decode(),
            }
        )
        for i in range(0, len(x) - step + 1, step)
    ]


async def run_level(
    url: str, n: int, seconds: float, appends: list[str], setup: str | None = None
) -> list[float]:
    """Probe round trips of ``n`` sessions streaming ``appends`` in real time; ``setup``: a
    session.update each session sends first (e.g. input transcription on)."""
    import websockets

    latencies: list[float] = []
    connected = asyncio.Barrier(n)
    warmup = 1.0  # steady state only: connection setup (model loading) is not measured

    async def session(k: int) -> None:
        async with websockets.connect(url, compression=None, max_size=None) as ws:
            await ws.recv()
            if setup is not None:
                await ws.send(setup)
            await connected.wait()
            pending: dict[str, float] = {}

            async def reader() -> None:
                async for msg in ws:
                    if not msg.startswith('{"type":"error"'):
                        continue  # audio deltas etc.: the probe answers are all we time
                    event = json.loads(msg)
                    if event["error"].get("event_id") in pending:
                        sent_at = pending.pop(event["error"]["event_id"])
                        if sent_at - start >= warmup:
                            latencies.append(time.perf_counter() - sent_at)

            start = time.perf_counter()
            task = asyncio.create_task(reader())
            i = k * 7  # sessions start at different points of the clip
            sent = 0
            while time.perf_counter() - start < seconds + warmup:
                await ws.send(appends[i % len(appends)])
                i += 1
                sent += 1
                if sent % 5 == 0:
                    probe = f"probe_{k}_{sent}"
                    pending[probe] = time.perf_counter()
                    await ws.send(
                        json.dumps(
                            {
                                "type": "conversation.item.retrieve",
                                "item_id": "none",
                                "event_id": probe,
                            }
                        )
                    )
                next_at = start + sent * 0.04
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            task.cancel()

    await asyncio.gather(*(session(k) for k in range(n)))
    return latencies


async def recv_event(ws: Any) -> dict[str, Any]:
    """The next server event (60 s at most)."""
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 60))
    return event


async def first_audio_once(ws: Any, create: dict[str, Any]) -> float:
    """Milliseconds from sending ``create`` (a response.create) to its first audio delta; the
    response is then cancelled and read to its response.done."""
    t0 = time.perf_counter()
    await ws.send(json.dumps(create))
    while (await recv_event(ws))["type"] != "response.output_audio.delta":
        pass
    ms = (time.perf_counter() - t0) * 1000
    await ws.send(json.dumps({"type": "response.cancel"}))
    while (await recv_event(ws))["type"] != "response.done":
        pass
    return ms


def measure_level(
    pid: int, url: str, n: int, appends: list[str], setup: str | None = None
) -> tuple[list[float], float, float, float]:
    """One level of the capacity figure (a): ``n`` sessions for ``LEVEL_SECONDS`` against the
    server process ``pid``. The sorted probe round trips (s), their p50 and p99 (ms), and the
    server's CPU over the level (in cores)."""
    import psutil

    server = psutil.Process(pid)
    cpu0, t0 = sum(server.cpu_times()[:2]), time.perf_counter()
    lat = sorted(asyncio.run(run_level(url, n, LEVEL_SECONDS, appends, setup=setup)))
    cpu = (sum(server.cpu_times()[:2]) - cpu0) / (time.perf_counter() - t0)
    return lat, statistics.median(lat) * 1000, lat[int(len(lat) * 0.99) - 1] * 1000, cpu


def bench_concurrency() -> None:
    clip, _ = speech_clip()
    appends = chunks_b64(clip)
    proc, url = start_server(*cap_args(max(LEVELS)))  # the session cap above every level
    try:
        best = 0
        for n in LEVELS:
            lat, p50, p99, cpu = measure_level(proc.pid, url, n, appends)
            # Server CPU per session: what latency hides on a loaded machine.
            cpu_share = cpu / n
            ok = p99 < 50
            best = n if ok else best
            print(
                f"  (a) {n:3d} sessions: {len(lat):5d} probes, p50 {p50:6.1f} ms, p99 {p99:6.1f} ms "
                f"{'ok' if ok else 'over 50 ms'}; server CPU {cpu_share * 100:.2f} % of a core per session",
                flush=True,
            )
            if not ok:
                break
        print(
            f"  (a) largest count with p99 < 50 ms: {best} sessions (goal >= 50): {best / 50:.2f}x the goal"
        )
    finally:
        stop_server(proc)


def bench_vad() -> None:
    from realtime_widgets.protocol.parts import ServerVad
    from realtime_widgets.server.vad import TurnDetector

    clip, _ = speech_clip()
    clip = np.tile(clip, 6)
    td = TurnDetector(ServerVad())
    start = time.process_time()
    for i in range(0, len(clip), 960):
        td.feed(clip[i : i + 960])
    cpu = time.process_time() - start
    audio_s = len(clip) / 24000
    print(
        f"  (b) VAD: {audio_s:.0f} s of audio in {cpu:.2f} s CPU = {audio_s / cpu:.0f}x real time per core "
        f"(model ran on {td._prob.model_runs} of {td._prob.windows_done} windows)"
    )


def bench_end_delay() -> None:
    from realtime_widgets.server.app import LocalServer

    clip, truth = speech_clip()
    appends = chunks_b64(clip)

    async def go() -> list[tuple[float, float]]:
        import websockets

        out = []
        async with LocalServer(speech=False) as server, websockets.connect(server.url) as ws:
            await ws.recv()
            await ws.send(
                json.dumps(
                    {
                        "type": "session.update",
                        "session": {
                            "type": "realtime",
                            "audio": {
                                "input": {
                                    "turn_detection": {
                                        "type": "server_vad",
                                        "silence_duration_ms": 500,
                                        "create_response": False,
                                    }
                                }
                            },
                        },
                    }
                )
            )
            await ws.recv()
            sent_at: list[float] = []

            async def reader() -> None:
                async for msg in ws:
                    e = json.loads(msg)
                    if e["type"] == "input_audio_buffer.speech_stopped":
                        now = time.perf_counter()
                        true_end = truth[len(out)][1]
                        # Wall time since the chunk holding (true end + silence) was sent.
                        due_chunk = int((true_end + 500) // 40)
                        wall = (now - sent_at[min(due_chunk, len(sent_at) - 1)]) * 1000
                        out.append((e["audio_end_ms"] - true_end, wall))

            task = asyncio.create_task(reader())
            t0 = time.perf_counter()
            for i, a in enumerate(appends):
                await asyncio.sleep(max(0.0, t0 + i * 0.04 - time.perf_counter()))
                sent_at.append(time.perf_counter())
                await ws.send(a)
            await asyncio.sleep(0.5)
            task.cancel()
        return out

    for audio_delay, wall in asyncio.run(go()):
        print(
            f"  (c) speech_stopped at real end + {audio_delay:.0f} ms of audio (goal <= 500 + 20), "
            f"{wall:.0f} ms of wall time after that audio was sent"
        )


def bench_soak() -> None:
    from realtime_widgets.server.app import LocalServer

    clip, _ = speech_clip()
    n_chunks = int(SOAK_MINUTES * 60 / 0.1)
    appends = chunks_b64(clip, ms=100)

    async def go() -> tuple[int, int, int, int]:
        import websockets

        async with LocalServer(speech=False) as server:
            sent_total = errors = 0

            async def session(k: int) -> int:
                nonlocal errors
                async with websockets.connect(server.url, compression=None) as ws:
                    await ws.recv()
                    await ws.send(
                        json.dumps(
                            {
                                "type": "session.update",
                                "session": {
                                    "type": "realtime",
                                    "audio": {
                                        "input": {
                                            "turn_detection": {
                                                "type": "server_vad",
                                                "create_response": False,
                                            }
                                        }
                                    },
                                },
                            }
                        )
                    )
                    sent = 0
                    for i in range(n_chunks):
                        a = appends[(i + k) % len(appends)]
                        await ws.send(a)
                        sent += len(base64.b64decode(json.loads(a)["audio"]))
                        if i % 50 == 49:
                            # Flow control: stay at most 5 s of audio ahead of the server, as
                            # any client does, so pings are never queued behind minutes of audio.
                            await ws.send(
                                json.dumps(
                                    {
                                        "type": "conversation.item.retrieve",
                                        "item_id": "sync",
                                        "event_id": f"sync{i}",
                                    }
                                )
                            )
                            async for msg in ws:
                                if f'"event_id":"sync{i}"' in msg:
                                    break
                    await ws.send(
                        json.dumps(
                            {
                                "type": "conversation.item.retrieve",
                                "item_id": "end",
                                "event_id": "end",
                            }
                        )
                    )
                    async for msg in ws:
                        e = json.loads(msg)
                        if e["type"] == "error":
                            if e["error"].get("event_id") == "end":
                                break
                            if not str(e["error"].get("event_id", "")).startswith("sync"):
                                errors += 1
                    return sent

            received_before = {}

            sends = await asyncio.gather(*(session(k) for k in range(SOAK_SESSIONS)))
            sent_total = sum(sends)
            received = sum(
                s.stats["appended_bytes"] for s in server.sessions.values()
            ) + received_before.get("closed", 0)
            return sent_total, received, errors, len(sends)

    start = time.perf_counter()
    # Count bytes as sessions close: keep a tally on the server object.
    from realtime_widgets.server import engine as engine_module

    tally = {"bytes": 0, "errors": 0}
    original_close = engine_module.SessionEngine.close

    def counting_close(self: engine_module.SessionEngine) -> None:
        tally["bytes"] += self.stats["appended_bytes"]
        tally["errors"] += self.stats["errors"]
        original_close(self)

    engine_module.SessionEngine.close = counting_close  # type: ignore[method-assign]
    try:
        sent, _, client_errors, sessions = asyncio.run(go())
    finally:
        engine_module.SessionEngine.close = original_close  # type: ignore[method-assign]
    elapsed = time.perf_counter() - start
    audio_min = sent / 48000 / 60
    # The flow-control probes and each session's "end" probe are expected item_not_found
    # errors; anything beyond them is a real error.
    probes = sessions * (n_chunks // 50 + 1)
    server_errors = tally["errors"] - probes
    print(
        f"  (d) {sessions} sessions x {SOAK_MINUTES:g} min: sent {sent:,} bytes, server received "
        f"{tally['bytes']:,} ({'equal' if sent == tally['bytes'] else 'DIFFERENT'}), errors: client {client_errors}, "
        f"server {server_errors}; {audio_min:.0f} min of audio in {elapsed:.0f} s = {audio_min * 60 / elapsed:.0f}x real time"
    )


def start_server(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``realtime-widgets serve`` on a free port in its own process; returns it and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_widgets", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    found = re.search(r"ws://\S+", proc.stdout.readline())
    assert found, "the server did not start"
    return proc, found.group(0)


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.communicate(timeout=30)


def cap_args(sessions: int) -> list[str]:
    """Raise the session cap above ``sessions`` (a server older than the cap has none)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "realtime_widgets", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return ["--max-sessions", str(sessions + 8)] if "--max-sessions" in help_text else []


def rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 1e6


def bench_idle() -> None:
    import websockets

    proc, url = start_server("--pace", "0", "--no-speech", *cap_args(IDLE_SESSIONS))

    async def open_idle(n: int) -> list[websockets.ClientConnection]:
        async def one() -> websockets.ClientConnection:
            ws = await websockets.connect(url, compression=None, open_timeout=60)
            await asyncio.wait_for(ws.recv(), 60)  # session.created: the session exists
            return ws

        out: list[websockets.ClientConnection] = []
        for start in range(0, n, 25):  # 25 handshakes at a time, like a busy classroom
            out += await asyncio.gather(*(one() for _ in range(min(25, n - start))))
        return out

    async def go() -> tuple[float, float, float]:
        for ws in await open_idle(2):  # warm-up: first-use imports and caches are not sessions
            await ws.close()
        await asyncio.sleep(1.0)
        before = rss_mb(proc.pid)
        conns = await open_idle(IDLE_SESSIONS)
        await asyncio.sleep(1.0)
        idle = rss_mb(proc.pid)
        await asyncio.gather(*(ws.close() for ws in conns))
        await asyncio.sleep(3.0)
        return before, idle, rss_mb(proc.pid)

    try:
        before, idle, after = asyncio.run(go())
    finally:
        stop_server(proc)
    per = (idle - before) / IDLE_SESSIONS
    print(
        f"  (e) {IDLE_SESSIONS} idle sessions: server RSS {before:.0f} -> {idle:.0f} MB = {per:.2f} MB "
        f"per idle session (goal <= 1 MB): {per:.2f}x the goal; after they closed {after:.0f} MB "
        f"({after - before:+.0f} MB over the start)"
    )


def bench_audio_hour() -> None:
    import threading

    import psutil

    from realtime_widgets.client import Endpoint, RealtimeSession
    from realtime_widgets.protocol.config import SessionConfig

    clip, truth = speech_clip()
    # One turn = an utterance with its lead-in and 2 s of silence after it (VAD ends the turn).
    cuts = [0] + [int((end + 1000) * 24) for _, end in truth]
    turns = [clip[a:b] for a, b in itertools.pairwise(cuts)]
    proc, url = start_server("--pace", "0")
    me = psutil.Process()
    done = threading.Semaphore(0)
    out_samples = 0

    def on_done(event: object) -> None:
        done.release()

    def on_audio(item_id: str, samples: np.ndarray) -> None:
        nonlocal out_samples
        out_samples += len(samples)

    session = RealtimeSession(
        SessionConfig(), endpoint=Endpoint.local(url, "gpt-realtime-1.5"), reconnect=False
    )
    points: list[tuple[float, float, float]] = []  # (audio s both ways, server MB, client MB)
    in_samples = 0
    start = time.perf_counter()
    try:
        session.connect()
        session.on("response.done", on_done)
        session.add_output_audio_tap(on_audio)
        k = 0
        while in_samples + out_samples < AUDIO_MINUTES * 60 * 24000:
            turn = turns[k % len(turns)]
            session.append_audio(turn)
            in_samples += len(turn)
            if not done.acquire(timeout=60):
                raise TimeoutError("no response.done within 60 s")
            k += 1
            if k % 20 == 0:
                audio_s = (in_samples + out_samples) / 24000
                points.append((audio_s, rss_mb(proc.pid), me.memory_info().rss / 1e6))
    finally:
        session.close()
        stop_server(proc)
    elapsed = time.perf_counter() - start
    warm = points[min(2, len(points) - 2)]
    last = points[-1]
    hours = (last[0] - warm[0]) / 3600
    server_h = (last[1] - warm[1]) / hours
    client_h = (last[2] - warm[2]) / hours
    print(
        f"  (f) {k} spoken turns: {in_samples / 24000 / 60:.0f} min in + {out_samples / 24000 / 60:.0f} "
        f"min out of audio in {elapsed:.0f} s; server RSS {warm[1]:.0f} -> {last[1]:.0f} MB, "
        f"client RSS {warm[2]:.0f} -> {last[2]:.0f} MB"
    )
    print(
        f"  (f) per hour of audio (in + out): server {server_h:+.0f} MB, client {client_h:+.0f} MB "
        f"(client goal <= 50 MB: {client_h / 50:.2f}x the goal)"
    )
    # Once the conversation holds a full context (28,224 tokens: ~47 min of audio), the
    # server's truncation keeps it there: the second half of the run shows the plateau.
    mid = points[len(points) // 2]
    half_h = (last[0] - mid[0]) / 3600
    print(
        f"  (f) second half only ({half_h * 60:.0f} min of audio): server "
        f"{(last[1] - mid[1]) / half_h:+.0f} MB per hour, client {(last[2] - mid[2]) / half_h:+.0f} MB per hour"
    )


def main() -> None:
    parts = {
        "a": bench_concurrency,
        "b": bench_vad,
        "c": bench_end_delay,
        "d": bench_soak,
        "e": bench_idle,
        "f": bench_audio_hour,
    }
    for key in os.environ.get("BENCH_SERVER_PARTS", "bcaedf"):  # e.g. "ea": idle, then (a)
        parts[key]()


if __name__ == "__main__":
    main()
