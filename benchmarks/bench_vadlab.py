"""VAD lab sweep throughput: clip-seconds processed per CPU-second (goal >= 50x real time per
core, with the VAD the local server uses), then the turn-taking bench
(:mod:`realtime_widgets.evals`).

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
- transcript metrics (``transcript_wer``): the same kind of sweep with input transcription on
  (``TRANSCRIPT_GRID`` over the built-in clips that have words), so the local server's Whisper
  tiny.en (loaded before the timing, one CPU thread) hears every turn, in audio-seconds per
  CPU-second of this process; printed beside the turn-taking rate, with their ratio (the issue:
  transcript metrics run at the transcriber's speed);
- a sweep of 24 settings (one task per clip, the longest first) on a Dask ``LocalCluster`` of
  2 worker processes (1 thread each), wall time against the same sweep run serially, the best
  of 3 each (goal >= 1.6x); and the workers' CPU time against the serial sweep's, the speedup
  two idle cores would give. The cluster is started and warmed (Silero and the reply loaded in each
  worker) before the timing. On a shared machine the wall times are as loaded as the machine
  is: the load average is printed with them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import numpy as np

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.vad import TurnDetector
from realtime_widgets.vadlab import Analysis, example_clips
from realtime_widgets.vadlab.analysis import simulate, sweep_grid

GRID = {"silence_duration_ms": range(200, 1201, 100), "threshold": [0.3, 0.5, 0.7]}
EVAL_GRID: dict[str, list[float]] = {
    "threshold": [0.3, 0.5, 0.7],
    "silence_duration_ms": [300, 500, 800, 1200],
}
# the Dask comparison: twice the work, one task per clip (11 tasks, the longest first)
DASK_GRID: dict[str, list[float]] = {
    "threshold": [0.3, 0.5, 0.7],
    "silence_duration_ms": [300, 400, 500, 600, 800, 1000, 1200, 1500],
}
# the transcript sweep: two settings over the clips with words (the Harvard sentences)
TRANSCRIPT_GRID: dict[str, list[float]] = {"silence_duration_ms": [500, 800]}
RUNS = 3


def _warm() -> None:
    """Load what a sweep task needs (Silero, the reply audio, the engine) in this process."""
    from realtime_widgets.evals.suite import builtin_suite
    from realtime_widgets.evals.sweep import sweep

    sweep(builtin_suite()[:1], {"threshold": [0.5]}, baseline=False)


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

    _warm()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    sweep(suite, EVAL_GRID, baseline=False)
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
    transcripts(sweep_x, replay_x)

    try:
        import distributed
    except ImportError:
        print("Dask: distributed is not installed (pip install realtime-widgets[evals])")
        return
    import pandas as pd

    def timed(**kwargs: Any) -> tuple[float, float, Any]:
        """The best wall time of RUNS sweeps of DASK_GRID (the load of a shared machine comes
        and goes), this process's CPU time of that run, and the result."""
        best, result = (float("inf"), 0.0), None
        for _ in range(RUNS):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            result = sweep(suite, DASK_GRID, baseline=False, **kwargs)
            best = min(best, (time.perf_counter() - wall0, time.process_time() - cpu0))
        return best[0], best[1], result

    serial_wall, serial_cpu, alone = timed()
    with (
        distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                 host="127.0.0.1", dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        client.run(_warm)  # every worker loads Silero and the reply before the timing
        load = os.getloadavg()[0]
        before = client.run(time.process_time)
        dask_wall, _, spread = timed(executor=client)
        after = client.run(time.process_time)
    # the workers' CPU per run: how evenly the tasks split (the speedup two idle cores allow)
    worker_cpu = [(after[w] - before[w]) / RUNS for w in before]
    bound = serial_cpu / max(worker_cpu)
    pd.testing.assert_frame_equal(spread.table, alone.table)
    speedup = serial_wall / dask_wall
    print(f"Dask LocalCluster, 2 worker processes ({len(alone.table)} settings, one task per "
          f"clip, best of {RUNS}): {dask_wall:.2f} s wall against "
          f"{serial_wall:.2f} s serial: {speedup:.2f}x (goal {DASK_GOAL_X}x: "
          f"{speedup / DASK_GOAL_X:.2f}x the goal; same table; load average {load:.1f} "
          f"on {os.cpu_count()} cores)")  # fmt: skip
    print(f"  CPU per worker per run: {', '.join(f'{c:.2f} s' for c in worker_cpu)} against "
          f"{serial_cpu:.2f} s serial: {bound:.2f}x on two idle cores (the split's balance "
          f"and Dask's overhead, without the machine's load)")  # fmt: skip


def transcripts(turn_taking_x: float, replay_x: float) -> None:
    """The transcript metric's speed: a sweep with input transcription on (module docstring)."""
    from realtime_widgets.evals.suite import builtin_suite
    from realtime_widgets.evals.sweep import sweep
    from realtime_widgets.protocol.parts import Transcription
    from realtime_widgets.server.whisper import TranscriberUnavailable, shared_whisper

    try:
        shared_whisper()  # loaded once, outside the timing
    except TranscriberUnavailable as exc:
        print(f"transcript metrics: no transcriber ({exc})")
        return
    clips = [c for c in builtin_suite() if c.words is not None]
    base = SessionConfig().with_changes(transcription=Transcription(model="whisper-1"))
    configs = len(sweep_grid(base, TRANSCRIPT_GRID))
    audio_s = sum(c.duration_ms for c in clips) / 1000 * configs
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = sweep(clips, TRANSCRIPT_GRID, base=base, baseline=False)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    x = audio_s / cpu
    wers = ", ".join(f"{w:.3f}" for w in result.table["transcript_wer"])
    print(f"local sweep, transcript metrics:  {x:8.1f}x real time per core "
          f"({len(clips)} clips with words x {configs} settings: {audio_s:.0f} audio-s in "
          f"{cpu:.2f} CPU-s, {wall:.2f} s wall; Whisper tiny.en; transcript_wer {wers})")  # fmt: skip
    print(f"ratio turn-taking / transcript:   {turn_taking_x / x:8.0f}x; "
          f"transcript sweep / real-time replay: {x / replay_x:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
