"""The local server's ears, measured: ``python benchmarks/bench_ears.py`` (needs the offline
extra and codec2-examples). Prints Whisper's per-call time on 2-4 s turns of real speech and its
real-time factor, the WER on speech_orig_16k.wav, and input_audio_buffer.committed ->
transcription.completed over a real socket with a 500 ms server VAD, with and without the
speculative early transcription. (For benchmarks/bench_offline.py to fold in.)"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime_widgets.audio.wav import read_wav
from realtime_widgets.server import vad
from realtime_widgets.server.app import LocalServer
from realtime_widgets.server.whisper import shared_whisper
from tests.server.test_whisper import CUTS, HARVARD, SENTENCES, wer
from tests.speech import b64

REPEATS = 3


def calls() -> None:
    x, _ = read_wav(HARVARD, rate=24000)
    t = time.perf_counter()
    whisper = shared_whisper()
    print(f"load (hash check + model): {time.perf_counter() - t:.2f} s")
    whisper(x[:24000])  # warm
    for i, (a, b) in enumerate(CUTS):
        turn = x[int(a * 24000) : int(b * 24000)]
        times, text = [], ""
        for _ in range(REPEATS):
            t = time.perf_counter()
            text = whisper(turn).text
            times.append(time.perf_counter() - t)
        best, med = min(times), statistics.median(times)
        print(
            f"turn {i + 1} ({b - a:.1f} s): median {med * 1000:.0f} ms, best {best * 1000:.0f} "
            f"ms, RTF {med / (b - a):.2f}, WER {wer(SENTENCES[i], text):.0%}: {text!r}"
        )
    t = time.perf_counter()
    text = whisper(x).text
    took = time.perf_counter() - t
    print(
        f"whole file (10.8 s): {took * 1000:.0f} ms, RTF {took / 10.8:.2f}, "
        f"WER {wer(' '.join(SENTENCES), text):.1%}"
    )


async def latency(speculate: bool) -> list[float]:
    pause = vad.PAUSE_MS
    if not speculate:
        vad.PAUSE_MS = 10**9  # the detector never reports a pause
    x, _ = read_wav(HARVARD, rate=24000)
    out: list[float] = []
    try:
        async with (
            LocalServer(pace=0, speech=False) as server,
            websockets.connect(server.url, compression=None) as ws,
        ):
            await ws.recv()
            session = {
                "type": "realtime",
                "audio": {
                    "input": {
                        "transcription": {"model": "whisper-1"},
                        "turn_detection": {
                            "type": "server_vad",
                            "silence_duration_ms": 500,
                            "create_response": False,
                        },
                    }
                },
            }
            await ws.send(json.dumps({"type": "session.update", "session": session}))
            committed_at: dict[str, float] = {}

            async def read() -> None:
                while True:
                    e = json.loads(await ws.recv())
                    if e["type"] == "input_audio_buffer.committed":
                        committed_at[e["item_id"]] = time.perf_counter()
                    elif e["type"].endswith("transcription.completed"):
                        out.append(time.perf_counter() - committed_at[e["item_id"]])

            reader = asyncio.create_task(read())
            try:
                for _ in range(REPEATS):
                    for a, b in CUTS:
                        turn = np.concatenate(
                            [x[int(a * 24000) : int(b * 24000)], np.zeros(36000, np.int16)]
                        )
                        for i in range(0, len(turn), 480):  # 20 ms appends in real time
                            chunk = b64(turn[i : i + 480])
                            await ws.send(
                                json.dumps({"type": "input_audio_buffer.append", "audio": chunk})
                            )
                            await asyncio.sleep(0.02)
                await asyncio.sleep(2)
            finally:
                reader.cancel()
    finally:
        vad.PAUSE_MS = pause
    return out


def main() -> None:
    calls()
    for speculate in (False, True):
        got = asyncio.run(latency(speculate))
        q = statistics.quantiles(got, n=10)
        print(
            f"committed -> completed, speculation {'on' if speculate else 'off'}: "
            f"p50 {statistics.median(got) * 1000:.0f} ms, p90 {q[-1] * 1000:.0f} ms "
            f"(n={len(got)})"
        )


if __name__ == "__main__":
    main()
