"""response.create -> first response.output_audio.delta on the local server (issue 22's goal:
p50 <= 200 ms with Piper), for a multi-sentence reply, with each synthesiser installed: eSpeak
NG and Piper (en_US-joe-medium), each loaded as the server loads it (``LocalServer(speech=...)``).

A client on a real loopback socket sends ``response.create`` (audio), times the first audio
delta, cancels the response, waits for its ``response.done`` and PAUSE_S more; RUNS times per
synthesiser. Also
printed, for reference: how long each synthesiser takes to render the reply's first clause and
the whole reply (what the first delta waited for before replies streamed: 2.9-3.2 s with Piper,
measured with this script's earlier form on the commit before streaming).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from benchmarks.bench_server import first_audio_once, recv_event
from realtime_widgets.audio.rate import MODEL_RATE
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.speech import Speech, SpeechSynthesizer, SynthesisUnavailable
from realtime_widgets.server.tts import choose_synthesizer

RUNS = int(os.environ.get("BENCH_FIRST_AUDIO_RUNS", "15"))
GOAL_MS = 200.0
PAUSE_S = 2.0  # between runs
AUDIO_RESPONSE = {"type": "response.create", "response": {"output_modalities": ["audio"]}}
REPLY = (
    "You spoke for 3.2 seconds. This local server has no language model, so it cannot tell "
    "what you meant, but it heard you clearly. Turn detection is server VAD, threshold 0.5, "
    "silence 500 milliseconds. Voice marin at speed 1."
)
FIRST_CLAUSE = "You spoke for 3.2 seconds."

Speak = Callable[[str, str, float], Speech]


def synthesisers() -> dict[str, SpeechSynthesizer]:
    """The server's own voices, each by name (as ``LocalServer(speech=...)`` loads them)."""
    found: dict[str, SpeechSynthesizer] = {}
    for name, engine in (("eSpeak NG", "espeak"), ("Piper joe-medium", "piper")):
        try:
            synth = choose_synthesizer(engine).synthesizer
        except SynthesisUnavailable as exc:
            print(f"{name}: not installed ({exc})")
            continue
        assert synth is not None
        found[name] = synth
    return found


def render_ms(speak: Speak, text: str, runs: int = 5) -> float:
    speak(text, "marin", 1.0)  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        speak(text, "marin", 1.0)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


async def first_audio_ms(synth: SpeechSynthesizer, runs: int) -> tuple[list[float], list[float]]:
    import websockets

    speak = synth.speak
    async with (
        LocalServer(responder=lambda ctx: REPLY, speech=synth, transcriber=None) as server,
        websockets.connect(server.url, compression=None) as ws,
    ):
        assert (await recv_event(ws))["type"] == "session.created"
        out: list[float] = []
        renders: list[float] = []  # the first clause rendered just before, same load
        for _ in range(runs + 1):  # the first run warms up
            t0 = time.perf_counter()
            await asyncio.to_thread(speak, FIRST_CLAUSE, "marin", 1.0)
            renders.append((time.perf_counter() - t0) * 1000)
            out.append(await first_audio_once(ws, AUDIO_RESPONSE))
            # A cancelled reply's clause still being spoken finishes in its thread (it
            # cannot be interrupted): let it, so each run starts on a quiet machine.
            await asyncio.sleep(PAUSE_S)
        return out[1:], renders[1:]


def main() -> None:
    for name, synth in synthesisers().items():
        speak = synth.speak
        first = render_ms(speak, FIRST_CLAUSE)
        whole = render_ms(speak, REPLY)
        audio_s = len(speak(REPLY, "marin", 1.0).samples) / MODEL_RATE
        times, renders = asyncio.run(first_audio_ms(synth, RUNS))
        p50 = statistics.median(times)
        p90 = float(np.percentile(times, 90))
        over = statistics.median(t - r for t, r in zip(times, renders, strict=True))
        print(
            f"{name}: reply of {audio_s:.1f} s audio renders in {whole:.0f} ms, its first "
            f"clause in {first:.0f} ms; response.create -> first audio delta p50 {p50:.0f} ms, "
            f"p90 {p90:.0f} ms over {RUNS} runs (goal {GOAL_MS:.0f} ms: x{p50 / GOAL_MS:.2f}); "
            f"the first clause rendered alone just before each run: p50 "
            f"{statistics.median(renders):.0f} ms (first delta minus it: p50 {over:.0f} ms)",
            flush=True,
        )


if __name__ == "__main__":
    main()
