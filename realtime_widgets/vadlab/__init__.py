"""The VAD lab: what turn-detection settings do to a clip, before anyone speaks.

``VadLab(clip)`` shows the local server's turn detection on a clip for the current settings,
recomputed as the sliders move; ``lab.sweep(...)`` tabulates hits, false triggers, cut-offs and
end-of-turn delay over a grid of settings; ``ABTest`` feeds the same audio to two sessions.
The lab shows the *local* VAD (Silero + an energy track), which approximates OpenAI's but is not
it; with a key, an A/B test against OpenAI shows the real thing on the same clip.
"""

from __future__ import annotations

from realtime_widgets.vadlab.ab import ABTest
from realtime_widgets.vadlab.analysis import Analysis, LabResult, Measures, score, simulate
from realtime_widgets.vadlab.clips import LabClip, Segment, example_clips, load_clip
from realtime_widgets.vadlab.lab import VadLab

__all__ = [
    "ABTest",
    "Analysis",
    "LabClip",
    "LabResult",
    "Measures",
    "Segment",
    "VadLab",
    "example_clips",
    "load_clip",
    "score",
    "simulate",
]
