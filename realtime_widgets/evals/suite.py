"""Suites of labelled clips for the turn-taking bench, and the built-in suite of real speech.

A :class:`Suite` is a sequence of :class:`~realtime_widgets.evals.clip.Clip` in livekit/eot-bench's
row schema. Three ways in: :meth:`Suite.from_rows` (rows as eot-bench or a Hugging Face dataset
gives them), :meth:`Suite.from_folder` (one ``NAME.wav`` + ``NAME.json`` per clip; written by
:meth:`Suite.to_folder`), and the builders :func:`join` (real utterances separated by labelled
pauses) and :func:`overlay` (a backchannel, cough or interruption laid over the agent's turn at a
chosen SNR). :func:`builtin_suite` is the suite that ships with the package (real speech from
Debian's ``codec2-examples``, LGPL-2.1-or-later; see ``evals/data/README.md``), and
:func:`default_reply` the recording the local agent speaks as its reply in simulated runs.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import numpy.typing as npt

from realtime_widgets.audio.pcm import Int16Array
from realtime_widgets.audio.wav import read_wav
from realtime_widgets.evals.clip import RATE

__all__ = ["DATA", "default_reply", "speech_bounds"]

DATA = Path(__file__).parent / "data"  # the shipped audio, labels and licence note

_FRAME_MS = 10.0


def _frame_db(
    samples: npt.ArrayLike, rate: int, frame_ms: float = _FRAME_MS
) -> npt.NDArray[np.float64]:
    x = np.asarray(samples, dtype=np.float64)
    w = max(1, round(rate * frame_ms / 1000))
    n = len(x) // w
    if n == 0:
        return np.zeros(0)
    rms = np.sqrt((x[: n * w].reshape(n, w) ** 2).mean(axis=1))
    db: npt.NDArray[np.float64] = 20 * np.log10(rms + 1.0)
    return db


def speech_bounds(
    samples: npt.ArrayLike,
    rate: int = RATE,
    *,
    below_peak_db: float = 35.0,
    above_floor_db: float = 12.0,
) -> tuple[float, float] | None:
    """Where speech really starts and ends in ``samples``, in ms: ``None`` if it is all silence.

    Energy based, on 10 ms frames: a frame is speech when its RMS (dB re one int16 step) is above
    both ``peak - below_peak_db`` (the loudest frame sets the scale) and ``floor + above_floor_db``
    (the floor is the 10th percentile frame: a noisy recording's background hum stays out). The
    start is the first such frame's start, the end the last such frame's end, so the bounds are
    exact to one frame (10 ms) for a sound with sharp edges, and include a soft onset or decay
    as long as it is within ``below_peak_db`` of the peak.
    """
    db = _frame_db(samples, rate)
    if db.size == 0 or db.max() < 20.0:  # nothing above ~ -70 dBFS: silence
        return None
    threshold = max(db.max() - below_peak_db, float(np.percentile(db, 10)) + above_floor_db)
    loud = np.flatnonzero(db > threshold)
    if loud.size == 0:
        return None
    return float(loud[0] * _FRAME_MS), float((loud[-1] + 1) * _FRAME_MS)


@functools.cache
def _reply() -> Int16Array:
    samples, _ = read_wav(DATA / "reply.wav", rate=RATE)
    samples.setflags(write=False)
    return samples


def default_reply() -> Int16Array:
    """What the local agent says as its reply in simulated runs: 2-4 s of real speech.

    A sentence from codec2-examples' ``hts2a.wav`` (a speaker not in the built-in suite's user
    turns), trimmed to its speech with 20 ms margins and resampled to 24 kHz int16 (made by
    ``scripts/make_eval_suite.py``; LGPL-2.1-or-later). Its first sample is within 20 ms of the
    first speech, so time-to-first-audio measured from the reply channel is measured from real
    audio. Read-only, loaded once.
    """
    return _reply()
