"""Synthetic speech with known boundaries, shared by the server and client tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from realtime_widgets.server.tts import Synthesizer


def speech_bounds(x: np.ndarray, level: float = 0.01) -> tuple[float, float]:
    """True start/end (ms) of speech in a clean clip: first/last 1 ms with |x| above 1 % FS."""
    env = np.abs(x[: len(x) // 24 * 24].astype(np.float64)).reshape(-1, 24).max(axis=1)
    idx = np.nonzero(env > level * 32768)[0]
    return float(idx[0]), float(idx[-1] + 1)


@dataclass
class Clip:
    samples: np.ndarray
    truth: list[tuple[float, float]]  # (start_ms, end_ms) of each utterance


def make_clip(
    synth: Synthesizer, texts: list[str], voices: list[str], gap_ms: int = 1500, lead_ms: int = 1000
) -> Clip:
    parts = [np.zeros(lead_ms * 24, np.int16)]
    truth, pos = [], lead_ms
    for text, voice in zip(texts, voices, strict=True):
        speech = synth.speak(text, voice, 1.0).samples
        a, b = speech_bounds(speech)
        truth.append((pos + a, pos + b))
        parts += [speech, np.zeros(gap_ms * 24, np.int16)]
        pos += len(speech) / 24 + gap_ms
    return Clip(np.concatenate(parts), truth)


THREE_TURNS = (
    [
        "Hello there, how are you today?",
        "I would like to book a table for two.",
        "Thanks, that is all.",
    ],
    ["marin", "ash", "coral"],
)


def b64(samples: np.ndarray) -> str:
    return base64.b64encode(np.asarray(samples, dtype="<i2").tobytes()).decode()
