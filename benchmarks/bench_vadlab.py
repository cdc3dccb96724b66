"""VAD lab sweep throughput: clip-seconds processed per CPU-second (goal >= 50x real time per
core, with the VAD the local server uses), then the turn-taking bench (:mod:`realtime_widgets.evals`).

A sweep of 33 settings (silence_duration_ms 200..1200 x threshold 0.3/0.5/0.7) over each of the
five example clips, timed in process CPU time (all threads: Silero's runtime included).
Reference, measured in the same run: the same sweep done naively, recomputing the speech
signals (energy + Silero) for every setting with the streaming detector, as the live server
would if fed the clip 33 times. Also reported: the one-off analysis per clip.

The turn-taking bench (issue 20), ratios in one run:

- local sweep throughput: ``sweep(builtin_suite(), 12 settings)`` (the engine on a simulated
  clock, the agent's real reply audio, the turn-taking metrics), in audio-seconds per CPU-second
  of this process (Silero included: it runs on the calling thread). Reference, measured here:
  one short clip replayed through a ``LocalServer`` over a loopback socket in real time (20 ms
  appends paced by the monotonic clock), which is 1x real time by construction; its measured
  rate is printed beside the ratio (goal >= 500x real time per core);
- the same sweep on a Dask ``LocalCluster`` of 2 worker processes (1 thread each), wall time
  against the serial sweep's wall time (goal >= 1.6x). The cluster is started and warmed (Silero
  loaded in each worker) before the timing. On a shared machine the wall times are as loaded as
  the machine is: the load average is printed with them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import numpy as np

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.vad import TurnDetector
from realtime_widgets.vadlab import Analysis, example_clips
from realtime_widgets.vadlab.analysis import simulate, sweep_grid

GRID = {"silence_duration_ms": range(200, 1201, 100), "threshold": [0.3, 0.5, 0.7]}
EVAL_GRID: dict[str, list[float]] = {"threshold": [0.3, 0.5, 0.7], "silence_duration_ms": [300, 500, 800, 1200]}
SWEEP_GOAL_X = 500.0
DASK_GOAL_X = 1.6


def main() -> None:
    clips = list(example_clips().values())
    combos_per_clip = len(sweep_grid(SessionConfig(), GRID))
    clip_s = sum(c.duration_ms for c in clips) / 1000
    TurnDetector().close()  # load the model pool outside the timings

    t0 = time.process_time()
    analyses = [Analysis(c) for c in clips]
    analyse_cpu = time.process_time() - t0

    t0 = time.process_time()
    for analysis in analyses:
        for _, config in sweep_grid(SessionConfig(), GRID):
            analysis.run(config)
    sweep_cpu = time.process_time() - t0
    swept_s = clip_s * combos_per_clip

    # reference: every setting recomputes the signals (the live detector inside the engine)
    t0 = time.process_time()
    for clip in clips:
        for _, config in sweep_grid(SessionConfig(), GRID):
            simulate(clip, config)
    naive_cpu = time.process_time() - t0

    sweep_x = swept_s / sweep_cpu
    naive_x = swept_s / naive_cpu
    whole_x = swept_s / (sweep_cpu + analyse_cpu)
    print(f"clips: {len(clips)}, {clip_s:.1f} s of audio; {combos_per_clip} settings each")
    print(f"analysis once per clip:          {clip_s / analyse_cpu:8.0f}x real time per core")
    print(f"sweep (decisions, signals reused): {sweep_x:8.0f}x real time per core")
    print(f"sweep incl. the analysis:        {whole_x:8.0f}x real time per core "
          f"(goal 50x: {whole_x / 50:.1f}x the goal)")  # fmt: skip
    print(f"reference, signals per setting:  {naive_x:8.0f}x real time per core")
    print(f"ratio lab / reference:           {whole_x / naive_x:8.1f}x")

    evals()


async def _replay(samples: np.ndarray) -> tuple[float, float, int]:
    """``samples`` through a LocalServer in real time: (wall s, CPU s, events received)."""
    import websockets

    from realtime_widgets.server.app import LocalServer
    from tests.speech import b64

    step = 480  # 20 ms appends, as a browser microphone sends them
    async with (
        LocalServer(speech=False, transcriber=None) as server,
        websockets.connect(server.url, compression=None) as ws,
    ):
        await ws.recv()  # session.created
        update = SessionConfig().with_changes(output_modalities=["text"]).to_session_update()
        await ws.send(json.dumps(update))
        received = 0

        async def read() -> None:
            nonlocal received
            while True:
                await ws.recv()
                received += 1

        reader = asyncio.create_task(read())
        try:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for k, i in enumerate(range(0, len(samples), step)):
                event = {"type": "input_audio_buffer.append", "audio": b64(samples[i : i + step])}
                await ws.send(json.dumps(event))
                await asyncio.sleep(max(0.0, wall0 + (k + 1) * 0.02 - time.perf_counter()))
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    return wall, cpu, received


def evals() -> None:
    from realtime_widgets.evals.suite import builtin_suite
    from realtime_widgets.evals.sweep import sweep

    suite = builtin_suite()
    configs = len(sweep_grid(SessionConfig(), EVAL_GRID))
    audio_s = sum(c.duration_ms for c in suite) / 1000
    print(f"\nturn-taking bench: {suite.name}, {len(suite)} clips, {audio_s:.1f} s of audio; "
          f"{configs} settings each")  # fmt: skip

    sweep(suite[:1], {"threshold": [0.5]}, baseline=False)  # warm: models, reply audio
    wall0, cpu0 = time.perf_counter(), time.process_time()
    serial = sweep(suite, EVAL_GRID, baseline=False)
    serial_wall, serial_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    sweep_x = audio_s * configs / serial_cpu

    short = min(suite, key=lambda c: c.duration_ms)
    wall, cpu, events = asyncio.run(_replay(short.samples))
    replay_x = short.duration_ms / 1000 / wall
    print(f"reference: {short.id} ({short.duration_ms / 1000:.1f} s) through a LocalServer in "
          f"real time: {replay_x:.2f}x real time ({wall:.2f} s wall, {cpu:.2f} s CPU, "
          f"{events} events)")  # fmt: skip
    print(f"local sweep, turn-taking metrics: {sweep_x:8.0f}x real time per core "
          f"({audio_s * configs:.0f} audio-s in {serial_cpu:.2f} CPU-s, {serial_wall:.2f} s wall)")  # fmt: skip
    print(f"ratio sweep / real-time replay:   {sweep_x / replay_x:8.0f}x "
          f"(goal {SWEEP_GOAL_X:.0f}x: {sweep_x / replay_x / SWEEP_GOAL_X:.1f}x the goal)")  # fmt: skip

    try:
        import distributed
    except ImportError:
        print("Dask: distributed is not installed (pip install realtime-widgets[evals])")
        return
    import pandas as pd

    with (
        distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                 host="127.0.0.1", dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        sweep(suite[:2], {"threshold": [0.5]}, baseline=False, executor=client)  # warm workers
        load = os.getloadavg()[0]
        wall0 = time.perf_counter()
        spread = sweep(suite, EVAL_GRID, baseline=False, executor=client)
        dask_wall = time.perf_counter() - wall0
    pd.testing.assert_frame_equal(spread.table, serial.table)
    speedup = serial_wall / dask_wall
    print(f"Dask LocalCluster, 2 worker processes: {dask_wall:.2f} s wall against "
          f"{serial_wall:.2f} s serial: {speedup:.2f}x (goal {DASK_GOAL_X}x: "
          f"{speedup / DASK_GOAL_X:.2f}x the goal; same table; load average {load:.1f} "
          f"on {os.cpu_count()} cores)")  # fmt: skip


if __name__ == "__main__":
    main()
