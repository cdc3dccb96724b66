"""The local server's offline ears and voice, measured in one run (issue 22's figures and goals).

Needs the ``offline`` extra and Debian's codec2-examples (scripts/system-packages). Each line
prints a ratio against a reference measured in the same run, and the issue's goal:

(1) Whisper tiny.en speed on 2-4 s turns of real speech (codec2's Harvard sentences), one CPU
    thread (as the server runs it): x real time per core. Reference: the turn's duration.
(2) WER of those turns and of the whole 10.8 s recording against the known text (goal <= 10 %).
(3) ``input_audio_buffer.committed`` -> ``...transcription.completed`` p50/p90 for those turns
    streamed in real time over a socket with a 500 ms server VAD, with the early
    (speculative) transcription, against the same without it (goal p50 <= 400 ms).
(4) ``response.create`` -> the first ``response.output_audio.delta`` with Piper, for a
    4-sentence reply, against the time Piper takes to render that reply whole (what the first
    delta waited for before replies streamed) (goal p50 <= 200 ms).
(5) bench_server (a)'s capacity figure (sessions streaming speech in real time, a probe's
    round trip p99 < 50 ms), every session with input transcription on, against the same server
    with no transcriber, both in their own process (goal >= 20 transcribing sessions).

``BENCH_OFFLINE_PARTS=45 python -m benchmarks bench_offline`` runs only (4) and (5);
``BENCH_SESSIONS`` sets the levels of (5) as for bench_server.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time

import numpy as np

from benchmarks import bench_ears
from benchmarks.bench_server import (
    cap_args,
    chunks_b64,
    first_audio_once,
    measure_level,
    recv_event,
    speech_clip,
    start_server,
    stop_server,
)
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.audio.wav import read_wav
from realtime_widgets.server.app import LocalServer
from tests.server.test_whisper import CUTS, HARVARD, SENTENCES, wer

PARTS = os.environ.get("BENCH_OFFLINE_PARTS", "12345")
LEVELS = [int(x) for x in os.environ.get("BENCH_SESSIONS", "10,20,30,40").split(",")]
RUNS = int(os.environ.get("BENCH_FIRST_AUDIO_RUNS", "12"))
REPLY = (
    "You spoke for 3.2 seconds. This local server has no language model, so it cannot tell "
    "what you meant, but it heard you clearly. Turn detection is server VAD, threshold 0.5, "
    "silence 500 milliseconds. Voice marin at speed 1."
)


def quantiles(xs: list[float]) -> tuple[float, float]:
    return statistics.median(xs), float(np.percentile(xs, 90))


def speed_and_wer() -> None:
    from realtime_widgets.server.whisper import shared_whisper

    x, _ = read_wav(HARVARD, rate=MODEL_RATE)
    whisper = shared_whisper()
    whisper(x[:MODEL_RATE])  # warm
    times, seconds, errors = [], [], []
    for (a, b), truth in zip(CUTS, SENTENCES, strict=True):
        turn = x[int(a * MODEL_RATE) : int(b * MODEL_RATE)]
        took = []
        for _ in range(3):
            t0 = time.perf_counter()
            text = whisper(turn).text
            took.append(time.perf_counter() - t0)
        times.append(statistics.median(took))
        seconds.append(b - a)
        errors.append(wer(truth, text))
    rtf = sum(times) / sum(seconds)
    print(
        f"  (1) Whisper tiny.en, 1 thread, {len(CUTS)} turns of {min(seconds):.1f}-"
        f"{max(seconds):.1f} s: median {statistics.median(times) * 1000:.0f} ms a turn, "
        f"{1 / rtf:.1f}x real time per core (reference: the turns' {sum(seconds):.1f} s)",
        flush=True,
    )
    t0 = time.perf_counter()
    whole = whisper(x).text
    took_whole = time.perf_counter() - t0
    whole_wer = wer(" ".join(SENTENCES), whole)
    print(
        f"  (2) WER per turn {', '.join(f'{e:.0%}' for e in errors)}; whole 10.8 s recording "
        f"{whole_wer:.1%} in {took_whole * 1000:.0f} ms ({10.8 / took_whole:.1f}x real time) "
        f"(goal <= 10 %: x{whole_wer / 0.10:.2f} of it)",
        flush=True,
    )


def committed_to_completed() -> None:
    off = asyncio.run(bench_ears.latency(False))
    on = asyncio.run(bench_ears.latency(True))
    (p50_off, p90_off), (p50_on, p90_on) = quantiles(off), quantiles(on)
    print(
        f"  (3) committed -> transcription.completed, {len(on)} turns: p50 {p50_on * 1000:.0f} "
        f"ms, p90 {p90_on * 1000:.0f} ms with early transcription; without it p50 "
        f"{p50_off * 1000:.0f} ms, p90 {p90_off * 1000:.0f} ms ({p50_on / p50_off:.2f}x); goal "
        f"400 ms: x{p50_on * 1000 / 400:.2f}",
        flush=True,
    )


async def first_audio(server: LocalServer) -> list[float]:
    import websockets

    out: list[float] = []
    async with websockets.connect(server.url, compression=None) as ws:
        assert (await recv_event(ws))["type"] == "session.created"
        for _ in range(RUNS + 1):  # the first run warms up
            out.append(await first_audio_once(ws, {"type": "response.create"}))
            await asyncio.sleep(1.5)  # the clause being spoken when cancelled finishes
    return out[1:]


def first_audio_delta() -> None:
    async def run() -> tuple[list[float], float, str]:
        async with LocalServer(responder=lambda ctx: REPLY, transcriber=None) as server:
            synth = server.synthesizer
            assert synth is not None, server.speech_note
            synth.speak(REPLY, "marin", 1.0)  # warm
            renders = []
            for _ in range(3):
                t0 = time.perf_counter()
                synth.speak(REPLY, "marin", 1.0)
                renders.append((time.perf_counter() - t0) * 1000)
            return await first_audio(server), statistics.median(renders), server.speech_note

    times, whole, note = asyncio.run(run())
    p50, p90 = quantiles(times)
    print(
        f"  (4) response.create -> first audio delta ({note}): p50 {p50:.0f} ms, p90 "
        f"{p90:.0f} ms over {RUNS} runs; the whole reply renders in {whole:.0f} ms "
        f"({p50 / whole:.2f}x of it); goal 200 ms: x{p50 / 200:.2f}",
        flush=True,
    )


def capacity(transcribe: bool, appends: list[str]) -> int:
    args = [*cap_args(max(LEVELS)), "--transcriber", "whisper" if transcribe else "none"]
    setup = None
    if transcribe:
        session = {
            "type": "realtime",
            "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
        }
        setup = json.dumps({"type": "session.update", "session": session})
    proc, url = start_server(*args)
    best = 0
    try:
        for n in LEVELS:
            _, p50, p99, cpu = measure_level(proc.pid, url, n, appends, setup=setup)
            ok = p99 < 50
            best = n if ok else best
            print(
                f"      transcription {'on ' if transcribe else 'off'} {n:3d} sessions: p50 "
                f"{p50:5.1f} ms, p99 {p99:6.1f} ms {'ok' if ok else 'over 50 ms'}; server CPU "
                f"{cpu * 100:.0f} % of a core",
                flush=True,
            )
            if not ok:
                break
    finally:
        stop_server(proc)
    return best


def sessions() -> None:
    clip, _ = speech_clip()
    appends = chunks_b64(clip)
    off = capacity(False, appends)
    on = capacity(True, appends)
    print(
        f"  (5) sessions at p99 < 50 ms: {on} with transcription on in every session, {off} "
        f"without ({on / max(off, 1):.2f}x); goal >= 20: x{on / 20:.2f}",
        flush=True,
    )


def main() -> None:
    for part, run in (
        ("1", speed_and_wer),
        ("3", committed_to_completed),
        ("4", first_audio_delta),
        ("5", sessions),
    ):
        if part in PARTS or (part == "1" and "2" in PARTS):
            run()


if __name__ == "__main__":
    main()
