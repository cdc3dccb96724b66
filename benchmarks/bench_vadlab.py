"""VAD lab sweep throughput: clip-seconds processed per CPU-second (goal >= 50x real time per
core, with the VAD the local server uses).

A sweep of 33 settings (silence_duration_ms 200..1200 x threshold 0.3/0.5/0.7) over each of the
five example clips, timed in process CPU time (all threads: Silero's runtime included).
Reference, measured in the same run: the same sweep done naively, recomputing the speech
signals (energy + Silero) for every setting with the streaming detector, as the live server
would if fed the clip 33 times. Also reported: the one-off analysis per clip.
"""

from __future__ import annotations

import time

from realtime_widgets.protocol.config import SessionConfig
from realtime_widgets.server.vad import TurnDetector
from realtime_widgets.vadlab import Analysis, example_clips
from realtime_widgets.vadlab.analysis import simulate, sweep_grid

GRID = {"silence_duration_ms": range(200, 1201, 100), "threshold": [0.3, 0.5, 0.7]}


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


if __name__ == "__main__":
    main()
